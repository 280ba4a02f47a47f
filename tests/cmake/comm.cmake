# comm: the bucketed gradient all-reduce (MPI path) and the engine interface
# the NCCL engine plugs into, on 1, 2 and 4 ranks.
ftune_mpi_test(test_comm 2 ${FTUNE_TEST_DIR}/unit/test_comm.c)
foreach(ranks 1 4)
  add_test(NAME test_comm_${ranks} COMMAND ${FTUNE_MPIEXEC} -n ${ranks} $<TARGET_FILE:test_comm>)
  set_tests_properties(test_comm_${ranks} PROPERTIES LABELS mpi SKIP_RETURN_CODE 77)
endforeach()
