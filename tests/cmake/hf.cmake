# Hugging Face model folders (src/hf): config.json rules and round trips,
# loading the fixtures of tests/fixtures/model/ (transformers' classes made
# them: tests/reference/make_model_fixtures.py; logits against theirs) and
# exporting back. The exported folders read back by transformers
# (test_hf_export_torch) need the reference environment: registered in
# reference.cmake.
ftune_unit_test(test_hf_config ${FTUNE_TEST_DIR}/unit/test_hf_config.c)
ftune_unit_test(test_hf_model ${FTUNE_TEST_DIR}/unit/test_hf_model.c)
