# safetensors reading/writing (src/st) and Hugging Face config.json (src/hf),
# against tests/reference/make_safetensors_fixtures.py.
ftune_unit_test(test_st ${FTUNE_TEST_DIR}/unit/test_st.c)
