# shard (HDF5 shard files, manifest.json, the split plan), dataset (reading
# raw labelled text in parts) and the ftune-shard program.
ftune_unit_test(test_shard ${FTUNE_TEST_DIR}/unit/test_shard.c)
ftune_unit_test(test_shard_plan ${FTUNE_TEST_DIR}/unit/test_shard_plan.c)
ftune_unit_test(test_shard_split ${FTUNE_TEST_DIR}/unit/test_shard_split.c)
ftune_unit_test(test_dataset ${FTUNE_TEST_DIR}/unit/test_dataset.c)
ftune_unit_test(test_shard_lm ${FTUNE_TEST_DIR}/unit/test_shard_lm.c)

# ftune-shard end to end under mpiexec (tests/integration/shard_cli.sh): one
# CTest test per case; label mpi (they run mpiexec with up to 4 ranks).
foreach(case ranks-jsonl ranks-bpe ranks-csv ranks-tsv ranks-folder ranks-json
        bad skip-bad overwrite test-file usage inspect)
  add_test(NAME shard_cli_${case}
           COMMAND bash ${FTUNE_TEST_DIR}/integration/shard_cli.sh ${CMAKE_BINARY_DIR} ${case})
  set(env "MPIEXEC=${MPIEXEC_EXECUTABLE}")
  if(FTUNE_SANITIZE) # see tests/cmake/metrics.cmake: LSan must unwind through Open MPI
    list(APPEND env "LSAN_OPTIONS=suppressions=${FTUNE_TEST_DIR}/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0")
  endif()
  set(labels mpi)
  if(FTUNE_SANITIZE) # 20-140 s each under ASan (MPI start-up, LSan unwinding): also slow
    set(labels "mpi;slow")
  endif()
  set_tests_properties(shard_cli_${case} PROPERTIES LABELS "${labels}" TIMEOUT 300 ENVIRONMENT "${env}")
endforeach()

# ftune-shard --task causal_lm end to end (tests/integration/shard_sft.sh) on
# the committed SotU prompt/completion fixture (tests/fixtures/sft, made by
# data_prep/recipes/sotu_sft.sh): one CTest test per case; label mpi (up to 4
# ranks). "fixture" also compares every row with TRL's tokenization where the
# reference python has transformers and h5py.
foreach(case fixture ranks truncation formats chat bad usage)
  add_test(NAME shard_sft_${case}
           COMMAND bash ${FTUNE_TEST_DIR}/integration/shard_sft.sh ${CMAKE_BINARY_DIR} ${case})
  set(env "MPIEXEC=${MPIEXEC_EXECUTABLE}")
  if(FTUNE_SANITIZE)
    list(APPEND env "LSAN_OPTIONS=suppressions=${FTUNE_TEST_DIR}/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0")
  endif()
  set(labels mpi)
  if(FTUNE_SANITIZE)
    set(labels "mpi;slow")
  endif()
  set_tests_properties(shard_sft_${case} PROPERTIES LABELS "${labels}" TIMEOUT 300 ENVIRONMENT "${env}")
endforeach()

# The SpamAssassin recipe on the real corpus: an unpacked copy named by
# FTUNE_SPAMASSASSIN_DIR, or one an earlier npm fetch left in the build
# folder's npm-cache; skipped (77) with the reason otherwise, since the npm
# registry is no longer reachable. About 15 s; label integration.
add_test(NAME shard_spamassassin
         COMMAND bash ${FTUNE_TEST_DIR}/integration/shard_spamassassin.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_BINARY_DIR}/npm-cache)
set_tests_properties(shard_spamassassin PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300
                     ENVIRONMENT "MPIEXEC=${MPIEXEC_EXECUTABLE}")

# The Jane Austen recipe on the real corpus (Debian's r-cran-janeaustenr,
# fetched once with apt-get download into the build folder's deb-cache, read
# by the recipe's python3 reader): exact paragraph counts per book, a
# stratified 2-rank shard and --inspect; skipped (77) with the reason where
# the .deb cannot be fetched. About 10 s; label integration.
add_test(NAME shard_austen
         COMMAND bash ${FTUNE_TEST_DIR}/integration/shard_austen.sh ${CMAKE_BINARY_DIR})
set_tests_properties(shard_austen PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300
                     ENVIRONMENT "MPIEXEC=${MPIEXEC_EXECUTABLE}")
