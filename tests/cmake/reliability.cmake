# Allocation failure (issue 16): each program's main path run once per
# allocation with that allocation failing (tests/reliability/alloc_fail.sh).
# Needs the FTUNE_ALLOC_FAIL_AT hook of a test build; the leak check needs
# LeakSanitizer, so env/test.sh runs these in build-asan/ (stage 2) and leaves
# them out of stage 1. Hundreds of runs each: label slow as well.
if(NOT FTUNE_TEST_HOOKS)
  return()
endif()
foreach(case tokenize shard train eval predict)
  add_test(NAME alloc_fail_${case}
           COMMAND bash ${FTUNE_TEST_DIR}/reliability/alloc_fail.sh ${CMAKE_BINARY_DIR} ${case})
  set_tests_properties(alloc_fail_${case} PROPERTIES LABELS "reliability;slow" TIMEOUT 900
                       SKIP_RETURN_CODE 77)
endforeach()
