# CPU back-end kernels (src/ops/ops_cpu*.c): vectorised Philox, dropout masks,
# fused attention, GELU/exp/Φ, LayerNorm, AdamW against plain references.
ftune_unit_test(test_ops_cpu ${FTUNE_TEST_DIR}/unit/test_ops_cpu.c)
# White-box: it tests the private SIMD helpers of src/ops/ops_cpu_simd.h.
target_include_directories(test_ops_cpu PRIVATE ${PROJECT_SOURCE_DIR}/src/ops)
