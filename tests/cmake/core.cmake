ftune_unit_test(test_rng ${FTUNE_TEST_DIR}/unit/test_rng.c)
ftune_unit_test(test_cfg ${FTUNE_TEST_DIR}/unit/test_cfg.c)
ftune_unit_test(test_fs ${FTUNE_TEST_DIR}/unit/test_fs.c)
