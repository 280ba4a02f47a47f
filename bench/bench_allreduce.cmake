# bench_allreduce: the gradient all-reduce's share of a training step at 1, 2
# and 4 ranks (src/comm + src/model, the path ftune-train uses); run by
# bench_allreduce.sh. A build target only, no CTest test.
add_executable(bench_allreduce ${CMAKE_CURRENT_SOURCE_DIR}/bench_allreduce.c)
target_compile_options(bench_allreduce PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(bench_allreduce PRIVATE ftune)
