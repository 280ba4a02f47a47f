# Fuzz targets (tests/fuzz, issue 16): one LLVMFuzzerTestOneInput per parser
# of outside bytes. Always built as replay programs over their committed
# seed corpora (tests/fuzz/corpus/TARGET), label unit, so every build and the
# sanitizer stage of env/test.sh replay the corpora and the crashes found
# so far with any compiler; with FTUNE_FUZZ=ON (clang) also as libFuzzer
# programs fuzz_TARGET, built by the target ftune_fuzzers
# (tests/fuzz/run_fuzzers.sh runs them).
set(FTUNE_FUZZ_DIR ${FTUNE_TEST_DIR}/fuzz)
set(FTUNE_FUZZ_TARGETS)

# ftune_fuzz_target(name extra_source...): fuzz_replay_NAME and, with
# FTUNE_FUZZ, fuzz_NAME from tests/fuzz/fuzz_NAME.c.
function(ftune_fuzz_target name)
  set(sources ${FTUNE_FUZZ_DIR}/fuzz_${name}.c ${FTUNE_FUZZ_DIR}/fuzz_util.c)
  foreach(extra ${ARGN})
    list(APPEND sources ${FTUNE_FUZZ_DIR}/${extra})
  endforeach()
  add_executable(fuzz_replay_${name} ${sources} ${FTUNE_FUZZ_DIR}/fuzz_replay_main.c)
  target_compile_options(fuzz_replay_${name} PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
  target_include_directories(fuzz_replay_${name} PRIVATE ${FTUNE_FUZZ_DIR})
  target_link_libraries(fuzz_replay_${name} PRIVATE ftune)
  add_test(NAME fuzz_replay_${name}
           COMMAND fuzz_replay_${name} ${FTUNE_FUZZ_DIR}/corpus/${name})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS unit)
  if(FTUNE_FUZZ)
    add_executable(fuzz_${name} ${sources})
    target_compile_options(fuzz_${name} PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
    target_include_directories(fuzz_${name} PRIVATE ${FTUNE_FUZZ_DIR})
    target_link_libraries(fuzz_${name} PRIVATE ftune)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    set(FTUNE_FUZZ_TARGETS ${FTUNE_FUZZ_TARGETS} fuzz_${name} PARENT_SCOPE)
  endif()
endfunction()

ftune_fuzz_target(st)
ftune_fuzz_target(hf_config)
ftune_fuzz_target(tok_json fuzz_tok_common.c)
ftune_fuzz_target(tok_vocab_txt fuzz_tok_common.c)
ftune_fuzz_target(tok_bpe fuzz_tok_common.c)
ftune_fuzz_target(dataset)
ftune_fuzz_target(manifest)
ftune_fuzz_target(shard fuzz_h5.c)
ftune_fuzz_target(ckpt fuzz_h5.c)
ftune_fuzz_target(cfg)

if(FTUNE_FUZZ)
  add_custom_target(ftune_fuzzers DEPENDS ${FTUNE_FUZZ_TARGETS})
endif()

# The runner's usage (and that it parses its arguments) without building.
add_test(NAME fuzz_run_fuzzers_help COMMAND bash ${FTUNE_FUZZ_DIR}/run_fuzzers.sh -h)
set_tests_properties(fuzz_run_fuzzers_help PROPERTIES LABELS integration
                     PASS_REGULAR_EXPRESSION "Usage: tests/fuzz/run_fuzzers.sh")
