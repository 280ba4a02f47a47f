# Hugging Face model folders (src/hf): config.json rules and round trips,
# loading the PyTorch-made fixtures of tests/fixtures/model/ (logits against
# tests/reference/make_model_fixtures.py) and exporting back.
ftune_unit_test(test_hf_config ${FTUNE_TEST_DIR}/unit/test_hf_config.c)
ftune_unit_test(test_hf_model ${FTUNE_TEST_DIR}/unit/test_hf_model.c)
# The exported folders read back by PyTorch (tests/reference/check_hf_export.py:
# strict load_state_dict into the reference modules, logits); skipped (77),
# with the reason on one line, where python3-torch is not installed.
add_test(NAME test_hf_export_torch
         COMMAND sh -c "/usr/bin/python3 -c 'import torch' 2>/dev/null || { \
echo 'test_hf_export_torch: /usr/bin/python3 cannot import torch (python3-torch not installed): skipped'; \
exit 77; }; \
d=$(mktemp -d) && FTUNE_HF_EXPORT_TO=\"$d\" \"$0\" && /usr/bin/python3 \"$1\" \"$d\"; \
rc=$?; rm -rf \"$d\"; exit $rc"
                 $<TARGET_FILE:test_hf_model> ${FTUNE_TEST_DIR}/reference/check_hf_export.py)
set_tests_properties(test_hf_export_torch PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
