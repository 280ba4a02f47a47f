# ops, model (BERT, GPT-2) and optim against the PyTorch reference dumps of
# tests/reference/make_model_fixtures.py.
ftune_unit_test(test_model ${FTUNE_TEST_DIR}/unit/test_model.c)
# The same two tests with oneDNN held below AVX-512, where it has no bf16
# matmul: the bf16 products then take ops_cpu_bf16.c's float32 emulation
# (as under valgrind, which hides AVX-512, and on AVX2-only CPUs).
foreach(t test_model test_ops_cpu)
  add_test(NAME ${t}_bf16_emulated COMMAND ${t})
  set_tests_properties(${t}_bf16_emulated PROPERTIES LABELS "unit;emulated"
                       ENVIRONMENT "ONEDNN_MAX_CPU_ISA=AVX2")
endforeach()
