# comm: the bucketed gradient all-reduce (MPI path) and the engine interface
# the NCCL engine plugs into, on 1, 2 and 4 ranks.
ftune_mpi_test(test_comm 2 ${FTUNE_TEST_DIR}/unit/test_comm.c)
foreach(ranks 1 4)
  add_test(NAME test_comm_${ranks} COMMAND ${FTUNE_MPIEXEC} -n ${ranks} $<TARGET_FILE:test_comm>)
  set_tests_properties(test_comm_${ranks} PROPERTIES LABELS mpi SKIP_RETURN_CODE 77)
  ftune_mpi_session(test_comm_${ranks})
endforeach()
# Under the sanitizers LSan must unwind through Open MPI (see metrics.cmake).
if(FTUNE_SANITIZE)
  set_property(TEST test_comm test_comm_1 test_comm_4 APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${FTUNE_TEST_DIR}/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0")
endif()
