# ftune-eval and ftune-predict (src/eval, src/tools/eval_main.c, predict_main.c).
#
# eval_fixture builds a small random-init BERT exported as a Hugging Face
# folder and a prepared dataset of synthetic texts (shard_write_file +
# manifest.json); test_eval_ranks.sh then runs ftune-eval on 1, 2, 3 and 4
# ranks over a split of 101 rows (a multiple of none of them) and checks
# report.json and predictions.jsonl, ftune-predict against them, and the
# input errors (exit 2).
add_executable(eval_fixture ${FTUNE_TEST_DIR}/integration/eval_fixture.c)
target_compile_options(eval_fixture PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_compile_definitions(eval_fixture PRIVATE FTUNE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(eval_fixture PRIVATE ftune)

ftune_unit_test(test_eval ${FTUNE_TEST_DIR}/unit/test_eval.c)

add_test(NAME eval_ranks
         COMMAND bash ${FTUNE_TEST_DIR}/integration/test_eval_ranks.sh ${CMAKE_BINARY_DIR}
                 ${FTUNE_MPIEXEC})
set_tests_properties(eval_ranks PROPERTIES LABELS integration TIMEOUT 300)

# jobs/pipeline.sh on the local Slurm cluster (skips until shard, finetune and
# their programs exist). Training the demo takes minutes: label slow too. The
# properties are those of ftune_slurm_test (tests/cmake/slurm.cmake, included
# after this file, so its function is not defined yet here).
add_test(NAME slurm_pipeline
         COMMAND bash ${FTUNE_TEST_DIR}/slurm/test_pipeline.sh ${CMAKE_BINARY_DIR})
set_tests_properties(slurm_pipeline PROPERTIES LABELS "slurm;slow" TIMEOUT 1200
                     FIXTURES_REQUIRED ftune_slurm RESOURCE_LOCK ftune_slurm
                     SKIP_RETURN_CODE 77
                     ENVIRONMENT "FTUNE_TEST_WORK=${CMAKE_CURRENT_BINARY_DIR}/slurm-work")

# A decoder LLM's perplexity (issue 18): lm_eval_fixture builds a tiny random
# Llama folder with models/gpt2-tiny's tokenizer; test_eval_lm.sh shards
# tests/fixtures/sft/sotu_sft.jsonl (ftune-shard --task causal_lm), runs
# ftune-eval on 1, 2 and 4 ranks (loss, perplexity and counts the same bytes
# in report.json), checks the refusals (task mismatches both ways, packed
# rows, ftune-predict on a decoder); eval_lm_reference recomputes the mean
# token loss with transformers (skips without the reference venv).
add_executable(lm_eval_fixture ${FTUNE_TEST_DIR}/integration/lm_eval_fixture.c)
target_compile_options(lm_eval_fixture PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(lm_eval_fixture PRIVATE ftune)

add_test(NAME eval_lm_ranks
         COMMAND bash ${FTUNE_TEST_DIR}/integration/test_eval_lm.sh ranks ${CMAKE_BINARY_DIR}
                 ${FTUNE_MPIEXEC})
set_tests_properties(eval_lm_ranks PROPERTIES LABELS integration TIMEOUT 300)
add_test(NAME eval_lm_reference
         COMMAND bash ${FTUNE_TEST_DIR}/integration/test_eval_lm.sh reference ${CMAKE_BINARY_DIR}
                 ${FTUNE_MPIEXEC})
set_tests_properties(eval_lm_reference PROPERTIES LABELS "integration;reference" TIMEOUT 300
                     SKIP_RETURN_CODE 77)
