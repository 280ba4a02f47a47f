# ops, model (BERT, GPT-2) and optim against the PyTorch reference dumps of
# tests/reference/make_model_fixtures.py.
ftune_unit_test(test_model ${FTUNE_TEST_DIR}/unit/test_model.c)
