# The module boundaries of src/ (tests/support/check_includes.sh): no
# relative include across modules, every public header named by its module.
add_test(NAME style_includes
         COMMAND bash ${FTUNE_TEST_DIR}/support/check_includes.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(style_includes PROPERTIES LABELS unit)
