# Tests against the real Hugging Face stack (label reference; issue 15), run
# by the python of env/reference.sh's environment. Where it is missing each
# prints one line and skips (77); env/test.sh makes it first where PyPI is
# reachable.
if(DEFINED ENV{FTUNE_REF_VENV})
  set(ftune_ref_default "$ENV{FTUNE_REF_VENV}/bin/python")
else()
  set(ftune_ref_default "$ENV{HOME}/.cache/ftune-ref/bin/python")
endif()
set(FTUNE_REF_PYTHON "${ftune_ref_default}" CACHE FILEPATH
    "python of the reference environment (bash env/reference.sh makes it)")
set(ftune_ref_run ${FTUNE_TEST_DIR}/reference/run_reference.sh ${FTUNE_REF_PYTHON})

# ftune-tokenize id for id (and decode) against tokenizers (Rust) and
# transformers' slow and fast BERT (uncased, cased) and GPT-2 tokenizers.
add_test(NAME reference_tokenizers
         COMMAND ${ftune_ref_run} ${FTUNE_TEST_DIR}/reference/test_tokenizers_real.py
                 $<TARGET_FILE:ftune-tokenize> ${PROJECT_SOURCE_DIR})
set_tests_properties(reference_tokenizers PROPERTIES LABELS reference TIMEOUT 600
                     SKIP_RETURN_CODE 77)

# The committed model fixtures (tests/fixtures/model, made by transformers'
# BertForSequenceClassification and GPT2ForSequenceClassification in
# make_model_fixtures.py) recomputed from the fixture folders alone
# (from_pretrained): logits, loss, every gradient, 3 AdamW steps, the frozen
# and bf16 variants, and sdpa attention against the eager reference.
add_test(NAME reference_fixtures_transformers
         COMMAND ${ftune_ref_run} ${FTUNE_TEST_DIR}/reference/check_fixtures_with_transformers.py)
set_tests_properties(reference_fixtures_transformers PROPERTIES LABELS reference TIMEOUT 300
                     SKIP_RETURN_CODE 77)

# ftune's hf_model_export of the fixture models (test_hf_model with
# FTUNE_HF_EXPORT_TO) read back by transformers (check_hf_export.py: the
# bytes by hand, strict load_state_dict into the class the exported
# config.json names, logits against the fixture's within 1e-5).
add_test(NAME test_hf_export_torch
         COMMAND sh -c "[ -x \"$0\" ] || { \
echo \"test_hf_export_torch: no reference environment at $0: run bash env/reference.sh: skipped\"; \
exit 77; }; \
d=$(mktemp -d) && FTUNE_HF_EXPORT_TO=\"$d\" \"$1\" && \"$0\" \"$2\" \"$d\"; \
rc=$?; rm -rf \"$d\"; exit $rc"
                 ${FTUNE_REF_PYTHON} $<TARGET_FILE:test_hf_model>
                 ${FTUNE_TEST_DIR}/reference/check_hf_export.py)
set_tests_properties(test_hf_export_torch PROPERTIES LABELS reference SKIP_RETURN_CODE 77)

# Folders both ways: transformers' save_pretrained (odd shapes, 1/2/7 labels,
# id2label, problem_type) read by ftune-predict, logits within 1e-5; a
# pytorch_model.bin-only folder and problem_type regression refused; ftune's
# exported final/ read by AutoModelForSequenceClassification + AutoTokenizer.
add_test(NAME reference_hf_roundtrip
         COMMAND ${ftune_ref_run} ${FTUNE_TEST_DIR}/reference/test_hf_roundtrip.py
                 ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(reference_hf_roundtrip PROPERTIES LABELS reference TIMEOUT 600
                     SKIP_RETURN_CODE 77)
