/* fuzz_tok_vocab_txt: a BERT vocab.txt (src/tok/tok_wordpiece.c), one
 * token a line. The input is the file, opened from a model folder with
 * tok_open (no tokenizer.json there, so vocab.txt decides), then used
 * (fuzz_tok_common.h). */
#include <stdlib.h>

#include "fuzz_tok_common.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    free(fuzz_write_file("vocab.txt", data, size));
    fuzz_tok_open_dir(fuzz_temp_dir());
    return 0;
}
