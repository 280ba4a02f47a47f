# The simulated device back end (tests/support/ops_devsim_backend.*) and the
# model on a back end other than the CPU's (tests/unit/test_model_backend.c).
#
# ftune_devsim: the CUDA back end's kernel bodies on the host with memory
# that host code cannot touch (mprotect), plain C++ like
# test_cuda_kernels_host, so it builds and runs in every build (ASan and
# valgrind stages included). test_model_backend_devsim: label unit.
# test_model_backend_cuda: the same checks on a GPU (label gpu; CUDA
# builds only; exits 77, reported skipped, where no GPU is visible).
add_library(ftune_devsim STATIC ${FTUNE_TEST_DIR}/support/ops_devsim_backend.cpp)
target_include_directories(ftune_devsim PUBLIC ${FTUNE_TEST_DIR}/support
                           PRIVATE ${PROJECT_SOURCE_DIR}/src/cuda)
target_link_libraries(ftune_devsim PUBLIC ftune)
target_compile_options(ftune_devsim PRIVATE -Wall -Wextra -Werror -std=c++17)

add_executable(test_model_backend ${FTUNE_TEST_DIR}/unit/test_model_backend.c)
target_compile_options(test_model_backend PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_include_directories(test_model_backend PRIVATE ${FTUNE_TEST_DIR}/unit)
target_link_libraries(test_model_backend PRIVATE ftune_devsim ftune)
target_compile_definitions(test_model_backend PRIVATE FTUNE_FIXTURES="${FTUNE_FIXTURES}")
# Symbol names in the SIGSEGV reporter's backtrace.
set_target_properties(test_model_backend PROPERTIES ENABLE_EXPORTS ON)

add_test(NAME test_model_backend_devsim COMMAND test_model_backend devsim)
# 10-20 s alone; under valgrind (env/test.sh stage 3) on a busy 2-core
# machine it took over 300 s once: the limit is a hang guard, not a speed test.
set_tests_properties(test_model_backend_devsim PROPERTIES LABELS unit SKIP_RETURN_CODE 77
                     TIMEOUT 900)
if(FTUNE_HAVE_CUDA)
  add_test(NAME test_model_backend_cuda COMMAND test_model_backend cuda)
  set_tests_properties(test_model_backend_cuda PROPERTIES LABELS gpu SKIP_RETURN_CODE 77
                       TIMEOUT 120)
endif()
