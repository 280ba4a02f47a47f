/* fuzz_tok_bpe: GPT-2's vocab.json + merges.txt (src/tok/tok_bpe.c). The
 * input is both files: the bytes before the first NUL byte are vocab.json,
 * the bytes after it merges.txt (all vocab.json, and an empty merges.txt,
 * when there is no NUL). They are written into a model folder without a
 * tokenizer.json or vocab.txt and opened with tok_open, then used
 * (fuzz_tok_common.h). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_tok_common.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = size ? memchr(data, 0, size) : NULL;
    size_t vocab_len = nul ? (size_t)(nul - data) : size;
    free(fuzz_write_file("vocab.json", data, vocab_len));
    free(fuzz_write_file("merges.txt", nul ? nul + 1 : data, nul ? size - vocab_len - 1 : 0));
    fuzz_tok_open_dir(fuzz_temp_dir());
    return 0;
}
