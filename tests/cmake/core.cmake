ftune_unit_test(test_rng ${FTUNE_TEST_DIR}/unit/test_rng.c)
ftune_unit_test(test_cfg ${FTUNE_TEST_DIR}/unit/test_cfg.c)
ftune_unit_test(test_fs ${FTUNE_TEST_DIR}/unit/test_fs.c)

# Every shell script shellcheck clean (STYLE.md); skipped without shellcheck.
add_test(NAME shellcheck_scripts
         COMMAND bash ${FTUNE_TEST_DIR}/integration/shellcheck_all.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(shellcheck_scripts PROPERTIES LABELS integration SKIP_RETURN_CODE 77)
