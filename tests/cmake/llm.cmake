# The decoder LLMs (Llama, Qwen2, Mistral, Phi-3: src/model/llama*.c,
# src/hf/hf_llm.c) against the dumps of tests/reference/make_llm_fixtures.py
# (transformers' own *ForCausalLM classes), hostile configs, and a back end
# without the decoder operations.
ftune_unit_test(test_model_llm ${FTUNE_TEST_DIR}/unit/test_model_llm.c)
# White-box: it reads the decoder plan's size from src/model/llama_impl.h.
target_include_directories(test_model_llm PRIVATE ${PROJECT_SOURCE_DIR}/src/model)

# The committed fixtures against make_llm_fixtures.py run again by the
# reference environment's python (label reference; exits 77, reported
# skipped, where that environment is missing). This file is read before
# reference.cmake, so the python is found the same way here.
if(DEFINED FTUNE_REF_PYTHON)
  set(ftune_llm_ref_python "${FTUNE_REF_PYTHON}")
elseif(DEFINED ENV{FTUNE_REF_VENV})
  set(ftune_llm_ref_python "$ENV{FTUNE_REF_VENV}/bin/python")
else()
  set(ftune_llm_ref_python "$ENV{HOME}/.cache/ftune-ref/bin/python")
endif()
add_test(NAME reference_llm_fixtures
         COMMAND ${FTUNE_TEST_DIR}/reference/run_reference.sh ${ftune_llm_ref_python}
                 ${FTUNE_TEST_DIR}/reference/make_llm_fixtures.py --check)
set_tests_properties(reference_llm_fixtures PROPERTIES LABELS reference TIMEOUT 300
                     SKIP_RETURN_CODE 77)

# Decoder folders out (hf_model_export) and checked (hf_model_check_weights):
# each fixture exported, reloaded, logits bit for bit; broken folders named.
ftune_unit_test(test_hf_llm_export ${FTUNE_TEST_DIR}/unit/test_hf_llm_export.c)

# The exports of test_hf_llm_export loaded by transformers'
# AutoModelForCausalLM / AutoConfig (label reference; 77 without the
# reference environment).
add_test(NAME reference_llm_export
         COMMAND ${FTUNE_TEST_DIR}/reference/run_reference.sh ${ftune_llm_ref_python}
                 ${FTUNE_TEST_DIR}/reference/test_llm_export.py
                 $<TARGET_FILE:test_hf_llm_export> ${FTUNE_FIXTURES}/llm)
set_tests_properties(reference_llm_export PROPERTIES LABELS reference TIMEOUT 300
                     SKIP_RETURN_CODE 77)
