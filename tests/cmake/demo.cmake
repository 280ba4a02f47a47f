# The bundled decoder demo (issue 18): `bash jobs/pipeline.sh --local --demo sft`
# on a reduced setting (tests/integration/test_demo_sft.sh: every 4th chunk,
# 40 steps): recipe -> ftune-shard --task causal_lm -> the untrained model's
# perplexity -> ftune-train of models/llama-tiny from scratch -> ftune-eval;
# final/ and both reports exist and the perplexity falls below a tenth of the
# untrained model's.
add_test(NAME demo_sft
         COMMAND bash ${FTUNE_TEST_DIR}/integration/test_demo_sft.sh ${CMAKE_BINARY_DIR})
set_tests_properties(demo_sft PROPERTIES LABELS integration TIMEOUT 300)
ftune_mpi_session(demo_sft)
