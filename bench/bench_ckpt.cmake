# bench_ckpt: one checkpoint write or read through src/ckpt (BERT-base +
# AdamW moments), set against dd by bench_ckpt.sh. A build target only.
add_executable(bench_ckpt ${CMAKE_CURRENT_SOURCE_DIR}/bench_ckpt.c)
target_compile_options(bench_ckpt PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(bench_ckpt PRIVATE ftune)
