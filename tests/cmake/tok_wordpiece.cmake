# tok (WordPiece, dispatcher): test_tok_wordpiece compares every text of
# tests/fixtures/tokenizer/corpus.jsonl with the references written by
# tests/reference/make_wordpiece_fixtures.py (Hugging Face tokenizers) and
# make_wordpiece_python_fixtures.py.
ftune_unit_test(test_tok_wordpiece ${FTUNE_TEST_DIR}/unit/test_tok_wordpiece.c)

# ftune-tokenize on a few lines, both ways (see tests/integration/tokenize_cli.sh).
add_test(NAME tokenize_cli
         COMMAND ${FTUNE_TEST_DIR}/integration/tokenize_cli.sh $<TARGET_FILE:ftune-tokenize>
                 ${FTUNE_FIXTURES}/tokenizer/bert)
set_tests_properties(tokenize_cli PROPERTIES LABELS integration)
