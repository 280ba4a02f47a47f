# bench_train_step: ftune's training step (forward, backward, clipping, AdamW)
# on BERT-base / GPT-2 small shapes; bench_train_step.sh compares with PyTorch.
add_executable(bench_train_step ${CMAKE_CURRENT_SOURCE_DIR}/bench_train_step.c)
target_compile_options(bench_train_step PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(bench_train_step PRIVATE ftune)
