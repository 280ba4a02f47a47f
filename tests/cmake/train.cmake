# Training: sampler, checkpoints, comm, and ftune-train end to end.
ftune_unit_test(test_sampler ${FTUNE_TEST_DIR}/unit/test_sampler.c)
ftune_unit_test(test_ckpt ${FTUNE_TEST_DIR}/unit/test_ckpt.c)
target_compile_definitions(test_ckpt PRIVATE _GNU_SOURCE)

# The tiny model + prepared dataset the ftune-train tests train on.
add_executable(train_testdata ${FTUNE_TEST_DIR}/mpi/train_testdata.c)
target_compile_options(train_testdata PRIVATE ${FTUNE_C_WARNINGS})
target_link_libraries(train_testdata PRIVATE ftune)

# A decoder folder's logits through hf_model_load (tests/mpi/test_train_lm.sh hf).
add_executable(lm_logits ${FTUNE_TEST_DIR}/mpi/lm_logits.c)
target_compile_options(lm_logits PRIVATE ${FTUNE_C_WARNINGS})
target_link_libraries(lm_logits PRIVATE ftune)

# jobs/finetune.slurm on the local Slurm cluster, requeued mid-run.
if(COMMAND ftune_slurm_test)
  ftune_slurm_test(slurm_finetune_requeue 420
                   bash ${FTUNE_SLURM_TESTS}/test_finetune_requeue.sh ${CMAKE_BINARY_DIR})
endif()

# The end-to-end ftune-train tests below stop, crash or corrupt a run at an
# exact point through the fault-injection hooks (src/core/include/core/ft_hook.h), which
# only a test build has: env/test.sh runs them in build-test/ and build-asan/.
if(NOT FTUNE_TEST_HOOKS)
  message(STATUS "  FTUNE_TEST_HOOKS=OFF: the fault-injection tests of ftune-train are not registered")
  return()
endif()

# ftune-train end to end on 2 ranks (tests/mpi/test_train_resume.sh).
# identity, lock: issue 16 defect 4 (one run per output_dir); diskfull: a
# checkpoint that does not fit (needs mount permission for a tmpfs: else 77).
foreach(mode exact crash ranks badcfg evalstop best bf16 fp16 identity lock diskfull)
  add_test(NAME test_train_${mode}
           COMMAND bash ${FTUNE_TEST_DIR}/mpi/test_train_resume.sh ${CMAKE_BINARY_DIR} ${mode})
  set_tests_properties(test_train_${mode} PROPERTIES LABELS mpi TIMEOUT 300 SKIP_RETURN_CODE 77)
endforeach()

# Bad data or a failure on one rank: every rank exits 2 within seconds, the
# message on stderr (tests/mpi/test_train_failure.sh; it times a hang out at 60 s).
# kill9: a rank killed mid-step ends the job; the next run resumes exactly.
foreach(mode badid badcrc rankfail kill9)
  add_test(NAME test_train_${mode}
           COMMAND bash ${FTUNE_TEST_DIR}/mpi/test_train_failure.sh ${CMAKE_BINARY_DIR} ${mode})
  set_tests_properties(test_train_${mode} PROPERTIES LABELS mpi TIMEOUT 120)
endforeach()

# Decoder LLMs (a tiny random Llama on the SotU prompt/completion fixture,
# tests/mpi/test_train_lm.sh): loss falls on 2 ranks, packed or not (and a packed
# step equals the unpacked one), Trainer's token normalisation across accumulation and ranks,
# exact resume, bf16 with gradient checkpointing and freezing; hf: final/ in transformers (label reference, 77 without the
# reference python).
foreach(mode loss accum exact bf16)
  add_test(NAME test_train_lm_${mode}
           COMMAND bash ${FTUNE_TEST_DIR}/mpi/test_train_lm.sh ${CMAKE_BINARY_DIR} ${mode})
  set_tests_properties(test_train_lm_${mode} PROPERTIES LABELS mpi TIMEOUT 120)
endforeach()
if(DEFINED FTUNE_REF_PYTHON)
  set(ftune_lm_ref_python "${FTUNE_REF_PYTHON}")
elseif(DEFINED ENV{FTUNE_REF_VENV})
  set(ftune_lm_ref_python "$ENV{FTUNE_REF_VENV}/bin/python")
else()
  set(ftune_lm_ref_python "$ENV{HOME}/.cache/ftune-ref/bin/python")
endif()
add_test(NAME test_train_lm_hf
         COMMAND bash ${FTUNE_TEST_DIR}/mpi/test_train_lm.sh ${CMAKE_BINARY_DIR} hf
                 ${ftune_lm_ref_python})
set_tests_properties(test_train_lm_hf PROPERTIES LABELS "mpi;reference" TIMEOUT 300
                     SKIP_RETURN_CODE 77)
