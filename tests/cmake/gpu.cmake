# GPU tests (label gpu): built only in a CUDA build; on a machine without a
# GPU they exit 77 and CTest reports them skipped, never passed. The NCCL
# tests need a GPU per rank: with fewer GPUs than ranks on the node (one
# H200, 2 ranks) the 2-rank variants skip and the 1-rank ones still run.
# mpiexec runs through tests/gpu/mpi_gpu_run.sh, so that a skip prints the
# ranks' one-line reason without Open MPI's "job aborted" banner.
if(FTUNE_HAVE_CUDA)
  set(FTUNE_GPU_MPIEXEC bash ${FTUNE_TEST_DIR}/gpu/mpi_gpu_run.sh ${FTUNE_MPIEXEC})
  # ftune_gpu_test(name ranks source): an MPI test on GPUs, label gpu.
  function(ftune_gpu_test name ranks source)
    set(FTUNE_MPIEXEC ${FTUNE_GPU_MPIEXEC}) # seen by ftune_mpi_test, this call only
    ftune_mpi_test(${name} ${ranks} ${source})
    target_link_libraries(${name} PRIVATE ftune_cuda)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Werror>)
    set_tests_properties(${name} PROPERTIES LABELS gpu TIMEOUT 120)
  endfunction()
  # The same executable on another rank count.
  function(ftune_gpu_test_ranks name exe ranks)
    add_test(NAME ${name} COMMAND ${FTUNE_GPU_MPIEXEC} -n ${ranks} $<TARGET_FILE:${exe}>)
    set_tests_properties(${name} PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 120)
  endfunction()

  ftune_gpu_test(test_gpu_device 2 ${FTUNE_TEST_DIR}/unit/test_gpu_device.c)
  ftune_gpu_test(test_gpu_nccl 2 ${FTUNE_TEST_DIR}/unit/test_gpu_nccl.cu)
  ftune_gpu_test_ranks(test_gpu_nccl_1 test_gpu_nccl 1)
  ftune_gpu_test(test_gpu_buckets 2 ${FTUNE_TEST_DIR}/unit/test_gpu_buckets.cu)
  ftune_gpu_test_ranks(test_gpu_buckets_1 test_gpu_buckets 1)

  # ftune-train on the GPU against the CPU, and exact resume on the GPU.
  add_test(NAME test_train_gpu
           COMMAND bash ${FTUNE_TEST_DIR}/gpu/test_train_gpu.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(test_train_gpu PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
