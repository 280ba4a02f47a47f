# bench_tokenize: ftune's tokenizers on one core; bench_tokenize.sh compares
# with PyPI's Rust `tokenizers` (bench_tokenize.py, the reference python).
add_executable(bench_tokenize ${CMAKE_CURRENT_SOURCE_DIR}/bench_tokenize.c)
target_compile_options(bench_tokenize PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(bench_tokenize PRIVATE ftune)
