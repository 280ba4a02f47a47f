# The documentation: every relative link and #anchor in README.md and docs/*.md
# resolves, every docs/*.md is linked from README.md, and README.md stays a
# guide of at most 300 lines (tests/support/check_doc_links.py). Reads only the
# source tree, so label unit; skipped (77) without python3.
find_program(FTUNE_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(FTUNE_PYTHON3 NAMES python3)
if(FTUNE_PYTHON3)
  add_test(NAME docs_links
           COMMAND ${FTUNE_PYTHON3} ${FTUNE_TEST_DIR}/support/check_doc_links.py ${PROJECT_SOURCE_DIR})
else()
  add_test(NAME docs_links COMMAND sh -c "echo 'docs_links: no python3: skipped'; exit 77")
endif()
set_tests_properties(docs_links PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
