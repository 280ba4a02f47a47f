# chat (issue 18): test_chat renders the chat templates of Llama 2/3,
# Mistral, Phi-3, Qwen2.5 and DeepSeek-R1-Distill-Qwen on 50 conversations
# each and compares byte for byte with transformers' apply_chat_template
# (tests/fixtures/chat, made by tests/reference/make_chat_fixtures.py), runs
# the jinja2 snippets of snippets.json, and hostile templates.
ftune_unit_test(test_chat ${FTUNE_TEST_DIR}/unit/test_chat.c)

# reference.cmake (read after this file) sets FTUNE_REF_PYTHON the same way.
if(NOT DEFINED FTUNE_REF_PYTHON)
  if(DEFINED ENV{FTUNE_REF_VENV})
    set(ftune_chat_ref "$ENV{FTUNE_REF_VENV}/bin/python")
  else()
    set(ftune_chat_ref "$ENV{HOME}/.cache/ftune-ref/bin/python")
  endif()
  set(FTUNE_REF_PYTHON "${ftune_chat_ref}" CACHE FILEPATH
      "python of the reference environment (bash env/reference.sh makes it)")
endif()

# The committed fixtures made again by transformers + jinja2 into a temporary
# folder and compared with the committed ones (label reference; skips with
# 77 where the reference environment is missing).
add_test(NAME reference_chat_fixtures
         COMMAND sh -c "[ -x \"$0\" ] || { \
echo \"reference_chat_fixtures: no reference environment at $0: run bash env/reference.sh: skipped\"; \
exit 77; }; \
d=$(mktemp -d) && \"$0\" \"$1\" --out \"$d\" >/dev/null && diff -r -x templates \"$2\" \"$d\"; \
rc=$?; rm -rf \"$d\"; exit $rc"
                 ${FTUNE_REF_PYTHON} ${FTUNE_TEST_DIR}/reference/make_chat_fixtures.py
                 ${FTUNE_TEST_DIR}/fixtures/chat)
set_tests_properties(reference_chat_fixtures PROPERTIES LABELS reference SKIP_RETURN_CODE 77)
