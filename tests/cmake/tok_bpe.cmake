# tok (GPT-2 byte-level BPE): test_tok_bpe compares every text of
# tests/fixtures/tokenizer/corpus.jsonl (and hand cases) with the ids of
# tests/reference/make_bpe_fixtures.py (Hugging Face tokenizers and OpenAI's
# encoder.py), through vocab.json + merges.txt and
# tokenizer.json, and opens hostile files.
ftune_unit_test(test_tok_bpe ${FTUNE_TEST_DIR}/unit/test_tok_bpe.c)

# ftune-tokenize on a GPT-2 folder (see tests/integration/tokenize_cli.sh).
add_test(NAME tokenize_cli_gpt2
         COMMAND ${FTUNE_TEST_DIR}/integration/tokenize_cli.sh $<TARGET_FILE:ftune-tokenize>
                 ${PROJECT_SOURCE_DIR}/models/gpt2-tiny)
set_tests_properties(tokenize_cli_gpt2 PROPERTIES LABELS integration)
