# The job-script launcher (jobs/lib.sh) and the one-node Slurm cluster
# (env/local-slurm.sh): label slurm for tests that submit to the cluster, label
# integration for the same launcher path without Slurm (mpirun).
#
# The cluster is a CTest fixture: slurm_start brings it up (installing the
# packages when missing), slurm_stop takes it down again if slurm_start started
# it. One CTest run at a time holds the cluster (tests/slurm/fixture_holder.sh:
# a record under flock, machine-wide): a second run started meanwhile, on this
# build folder or another, skips its slurm tests with a line saying so and
# never stops the first run's cluster. RESOURCE_LOCK ftune_slurm keeps the slurm tests from overlapping: they
# share one node of 4 CPUs and assert on timings of their own jobs. Every test
# has its own internal deadlines as well as a CTest TIMEOUT, so none can hang.
set(FTUNE_SLURM_TESTS ${FTUNE_TEST_DIR}/slurm)
set(FTUNE_SLURM_PROGRAMS ${CMAKE_CURRENT_BINARY_DIR}/slurm-programs)
set(FTUNE_SLURM_ENV FTUNE_TEST_WORK=${CMAKE_CURRENT_BINARY_DIR}/slurm-work)

foreach(program mpi_hello sig_checkpoint)
  set(ftune_slurm_target slurm_${program})
  add_executable(${ftune_slurm_target} ${FTUNE_SLURM_TESTS}/${program}.c)
  target_compile_options(${ftune_slurm_target} PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
  target_compile_definitions(${ftune_slurm_target} PRIVATE _POSIX_C_SOURCE=200809L)
  target_link_libraries(${ftune_slurm_target} PRIVATE MPI::MPI_C)
  # Stand-ins that test the launchers, not memory handling: under FTUNE_SANITIZE
  # LeakSanitizer would report Open MPI's unloaded components (unsymbolizable,
  # so tests/lsan.supp cannot name them) and fail every launch.
  if(FTUNE_SANITIZE)
    target_compile_options(${ftune_slurm_target} PRIVATE -fno-sanitize=all)
    target_link_options(${ftune_slurm_target} PRIVATE -fno-sanitize=all)
  endif()
  # Job scripts find their programs by name in one folder (FTUNE_BUILD_DIR).
  set_target_properties(${ftune_slurm_target} PROPERTIES OUTPUT_NAME ${program}
                        RUNTIME_OUTPUT_DIRECTORY ${FTUNE_SLURM_PROGRAMS})
endforeach()

# -- without Slurm --------------------------------------------------------------
add_test(NAME slurm_launcher_local
         COMMAND bash ${FTUNE_SLURM_TESTS}/test_local.sh ${FTUNE_SLURM_PROGRAMS})
set_tests_properties(slurm_launcher_local PROPERTIES LABELS integration TIMEOUT 300
                     ENVIRONMENT "${FTUNE_SLURM_ENV}")

# -- the cluster fixture ----------------------------------------------------------
add_test(NAME slurm_start COMMAND bash ${FTUNE_SLURM_TESTS}/cluster_fixture.sh start)
add_test(NAME slurm_stop COMMAND bash ${FTUNE_SLURM_TESTS}/cluster_fixture.sh stop)
set_tests_properties(slurm_start PROPERTIES FIXTURES_SETUP ftune_slurm LABELS slurm TIMEOUT 300
                     RESOURCE_LOCK ftune_slurm SKIP_RETURN_CODE 77)
set_tests_properties(slurm_stop PROPERTIES FIXTURES_CLEANUP ftune_slurm LABELS slurm TIMEOUT 150
                     RESOURCE_LOCK ftune_slurm)

# ftune_slurm_test(name timeout_s command...): a test that needs the cluster.
function(ftune_slurm_test name timeout_s)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS slurm TIMEOUT ${timeout_s}
                       FIXTURES_REQUIRED ftune_slurm RESOURCE_LOCK ftune_slurm
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${FTUNE_SLURM_ENV}")
endfunction()

ftune_slurm_test(slurm_hello 120
                 bash ${FTUNE_SLURM_TESTS}/test_hello.sh ${FTUNE_SLURM_PROGRAMS})
foreach(mode usr1 term sbatch preempt)
  ftune_slurm_test(slurm_requeue_${mode} 240
                   bash ${FTUNE_SLURM_TESTS}/test_requeue.sh ${FTUNE_SLURM_PROGRAMS} ${mode})
endforeach()
# Slurm's own time-limit warning: up to about a minute of waiting.
ftune_slurm_test(slurm_requeue_timelimit 300
                 bash ${FTUNE_SLURM_TESTS}/test_requeue.sh ${FTUNE_SLURM_PROGRAMS} timelimit)
ftune_slurm_test(slurm_shard_job 420
                 bash ${FTUNE_SLURM_TESTS}/test_shard_job.sh ${CMAKE_BINARY_DIR})
# jobs/finetune.slurm stopped mid-run (issue 16): a USR1 request and a
# preemption checkpoint and requeue once; a plain scancel cancels (no requeue,
# no continuation job). The outside `scontrol requeue` mode of the same script
# is slurm_finetune_requeue (tests/cmake/train.cmake). They run ftune-train.
foreach(mode usr1 preempt cancel)
  ftune_slurm_test(slurm_finetune_${mode} 300
                   bash ${FTUNE_SLURM_TESTS}/test_finetune_requeue.sh ${CMAKE_BINARY_DIR} ${mode})
endforeach()
# kill9: a rank killed mid-step fails the job at once; the next sbatch resumes
# (the kill is a test hook: test builds only).
if(FTUNE_TEST_HOOKS)
  ftune_slurm_test(slurm_finetune_kill9 300
                   bash ${FTUNE_SLURM_TESTS}/test_finetune_requeue.sh ${CMAKE_BINARY_DIR} kill9)
endif()
