# GPU tests: built only in a CUDA build; on a machine without a GPU they exit
# 77 and CTest reports them as skipped.
if(FTUNE_HAVE_CUDA)
  ftune_mpi_test(test_gpu_device 2 ${FTUNE_TEST_DIR}/unit/test_gpu_device.c)
  target_link_libraries(test_gpu_device PRIVATE ftune_cuda)
  set_tests_properties(test_gpu_device PROPERTIES LABELS gpu)
  ftune_mpi_test(test_gpu_nccl 2 ${FTUNE_TEST_DIR}/unit/test_gpu_nccl.cu)
  target_link_libraries(test_gpu_nccl PRIVATE ftune_cuda)
  set_tests_properties(test_gpu_nccl PROPERTIES LABELS gpu)
endif()
