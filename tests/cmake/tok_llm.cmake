# tok (decoder-LLM tokenizers: Llama 3 and Qwen2 byte-level BPE):
# test_tok_llm compares every text of tests/fixtures/tokenizer/corpus.jsonl,
# chat-formatted texts and hand cases with the ids and decodes of Hugging
# Face `tokenizers` (tests/reference/make_llm_tokenizers.py, which builds the
# small tokenizer.json files under tests/fixtures/tokenizer/llm/), and opens
# hostile tokenizer.json files.
ftune_unit_test(test_tok_llm ${FTUNE_TEST_DIR}/unit/test_tok_llm.c)
