# bench_shard: ftune-shard throughput at 1 and 2 ranks on a 200,000-example
# synthetic JSONL (bench_shard.sh). `make bench_shard` runs it; it is not part
# of the default build or of CTest.
add_custom_target(bench_shard
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_shard.sh ${CMAKE_BINARY_DIR}
  DEPENDS ftune-shard USES_TERMINAL
  COMMENT "ftune-shard throughput at 1 and 2 ranks")
