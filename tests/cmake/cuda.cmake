# The CUDA back end (src/cuda/ops_cuda*.cu, kern_*.cuh).
#
# test_cuda_kernels_host runs the kernel bodies on the CPU through the host
# runner and compares them with the CPU back end. It is plain C++ (the
# bodies compile without nvcc), so it needs no CUDA and runs in every build,
# including the ASan and valgrind stages.
set_source_files_properties(${FTUNE_TEST_DIR}/unit/test_cuda_kernels_host.cu
                            PROPERTIES LANGUAGE CXX)
ftune_unit_test(test_cuda_kernels_host ${FTUNE_TEST_DIR}/unit/test_cuda_kernels_host.cu)
# The host runner (tests/support/kern_host_runner.h) is shared with the
# simulated device back end (tests/cmake/devsim.cmake).
target_include_directories(test_cuda_kernels_host PRIVATE ${PROJECT_SOURCE_DIR}/src/cuda
                           ${FTUNE_TEST_DIR}/support)
target_compile_options(test_cuda_kernels_host PRIVATE
                       $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Werror -std=c++17>)

# test_ops_cuda: every operation on a GPU against the CPU back end (label
# gpu; exits 77, reported skipped, where no GPU is visible).
if(FTUNE_HAVE_CUDA AND EXISTS ${FTUNE_TEST_DIR}/unit/test_ops_cuda.cu)
  ftune_unit_test(test_ops_cuda ${FTUNE_TEST_DIR}/unit/test_ops_cuda.cu)
  target_include_directories(test_ops_cuda PRIVATE ${FTUNE_TEST_DIR}/support)
  target_compile_options(test_ops_cuda PRIVATE
                         $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Werror>)
  set_tests_properties(test_ops_cuda PROPERTIES LABELS gpu)
endif()
