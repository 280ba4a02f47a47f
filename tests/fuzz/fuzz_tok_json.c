/* fuzz_tok_json: a Hugging Face tokenizer.json (src/tok), WordPiece or BPE
 * by its model.type. The input is the file; it is written into a fresh
 * model folder and opened with tok_open, then used (fuzz_tok_common.h). */
#include <stdlib.h>

#include "fuzz_tok_common.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    free(fuzz_write_file("tokenizer.json", data, size));
    fuzz_tok_open_dir(fuzz_temp_dir());
    return 0;
}
