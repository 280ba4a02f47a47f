# metrics (against scikit-learn fixtures of tests/reference/make_metrics_fixtures.py,
# and the exact reduction over 2 and 4 ranks) and report (writers, HTML checks).
# test_metrics calls MPI_Init, so even its one-rank run is labelled mpi: it
# runs in the sanitizer stage, and stays out of the valgrind (-L unit) stage,
# where Open MPI's own init allocations would read as leaks.
ftune_mpi_test(test_metrics 1 ${FTUNE_TEST_DIR}/unit/test_metrics.c)
ftune_mpi_test(test_metrics_mpi2 2 ${FTUNE_TEST_DIR}/unit/test_metrics.c)
ftune_mpi_test(test_metrics_mpi4 4 ${FTUNE_TEST_DIR}/unit/test_metrics.c)
ftune_unit_test(test_report ${FTUNE_TEST_DIR}/unit/test_report.c)

# Integration: a small program writes a full sample report, then the HTML is
# parsed (check_html.py, standard library only) and rendered in headless
# Chromium (skipped, exit 77, where /usr/bin/chromium is not installed).
add_executable(report_write_sample ${FTUNE_TEST_DIR}/integration/report_write_sample.c)
target_compile_options(report_write_sample PRIVATE $<$<COMPILE_LANGUAGE:C>:${FTUNE_C_WARNINGS}>)
target_link_libraries(report_write_sample PRIVATE ftune)
set(FTUNE_REPORT_SAMPLE ${CMAKE_CURRENT_BINARY_DIR}/report_sample)
add_test(NAME report_sample_write
         COMMAND report_write_sample ${FTUNE_REPORT_SAMPLE})
set_tests_properties(report_sample_write PROPERTIES LABELS integration
                     FIXTURES_SETUP report_sample)
find_program(FTUNE_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(FTUNE_PYTHON3 NAMES python3)
if(FTUNE_PYTHON3)
  add_test(NAME report_html_check
           COMMAND ${FTUNE_PYTHON3} ${FTUNE_TEST_DIR}/integration/check_html.py
                   ${FTUNE_REPORT_SAMPLE}/report.html --svgs 3
                   --expect-text "<script>alert(1)</script>"
                   --expect-text "<img src=x onerror=alert(2)>")
  set_tests_properties(report_html_check PROPERTIES LABELS integration
                       FIXTURES_REQUIRED report_sample)
else()
  message(STATUS "python3 not found: the report_html_check test is not registered")
endif()
add_test(NAME report_chromium
         COMMAND bash ${FTUNE_TEST_DIR}/integration/report_chromium.sh
                 ${FTUNE_REPORT_SAMPLE}/report.html ${FTUNE_REPORT_SAMPLE}/report.png)
set_tests_properties(report_chromium PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                     FIXTURES_REQUIRED report_sample TIMEOUT 180)
add_test(NAME report_chromium_detects_errors
         COMMAND bash ${FTUNE_TEST_DIR}/integration/report_chromium.sh --expect-console-errors
                 ${FTUNE_TEST_DIR}/integration/report_chromium_bad.html)
set_tests_properties(report_chromium_detects_errors PROPERTIES LABELS integration
                     SKIP_RETURN_CODE 77 TIMEOUT 180)

# Under the sanitizers, LeakSanitizer must unwind through Open MPI's frames
# (fast_unwind_on_malloc=0) for tests/lsan.supp to match MPI_Init's own
# allocations; a bare MPI_Init/MPI_Finalize program "leaks" 117 kB otherwise.
if(FTUNE_SANITIZE)
  set_property(TEST test_metrics test_metrics_mpi2 test_metrics_mpi4 APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${FTUNE_TEST_DIR}/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0")
endif()
