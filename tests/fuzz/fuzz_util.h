/* fuzz_util: what the fuzz targets of tests/fuzz share.
 *
 * Every target is one LLVMFuzzerTestOneInput; it runs under libFuzzer
 * (-fsanitize=fuzzer, FTUNE_FUZZ=ON) and, compiled with any compiler, under
 * fuzz_replay_main.c, which feeds it every file of its seed corpus (CTest,
 * label unit). A target returns 0 for every input: a bad input is a status
 * and a message, never a crash; a broken promise of a parser (an invariant
 * the target checks on what an accepted input gave) is fuzz_require, which
 * aborts so libFuzzer saves the input.
 *
 * Most parsers take a path, not a buffer: fuzz_write_file puts the input
 * into a per-process folder under $TMPDIR when set, else /dev/shm (memory,
 * so no disk I/O per run), else /tmp; created on first use and removed at
 * exit (libFuzzer ends a timed run with _Exit, which skips that, so
 * run_fuzzers.sh points TMPDIR at a folder it removes itself).
 *
 * Not here: corpus generation (make_corpus.py), running the fuzzers
 * (run_fuzzers.sh). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The entry point every target defines (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The per-process scratch folder (aborts when none can be made). */
const char *fuzz_temp_dir(void);

/* Write data to fuzz_temp_dir()/name (replacing it); the path, owned by the
 * caller. Aborts on an I/O failure (not the input's fault). */
char *fuzz_write_file(const char *name, const void *data, size_t size);

/* A NUL-terminated copy of data[0..size) (caller frees). */
char *fuzz_strndup(const void *data, size_t size);

/* Abort with what when cond is false: an invariant broken by the code under
 * test for this input, which libFuzzer then saves as a crash. */
void fuzz_require(int cond, const char *what);

#endif
