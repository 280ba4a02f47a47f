# sampler_order: ftune-train's batches, for bench/pretrained_vs_trainer.py.
add_executable(sampler_order ${CMAKE_CURRENT_SOURCE_DIR}/sampler_order.c)
target_compile_options(sampler_order PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(sampler_order PRIVATE ftune)
