# bench_sgemm: the cblas_sgemm ceiling on BERT-base training shapes (NT/NN/TN),
# run by bench_train_step.sh in the same invocation as the training steps.
add_executable(bench_sgemm ${CMAKE_CURRENT_SOURCE_DIR}/bench_sgemm.c)
target_compile_options(bench_sgemm PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(bench_sgemm PRIVATE ftune)
