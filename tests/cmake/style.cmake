# The module boundaries of src/ (tests/support/check_includes.sh): no
# relative include across modules, every public header named by its module.
add_test(NAME style_includes
         COMMAND bash ${FTUNE_TEST_DIR}/support/check_includes.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(style_includes PROPERTIES LABELS unit)

# The source layout of .clang-format (tests/support/check_format.sh), checked
# in CI like any other test; clang-format 14 (env/setup.sh installs it).
add_test(NAME style_format
         COMMAND bash ${FTUNE_TEST_DIR}/support/check_format.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(style_format PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
