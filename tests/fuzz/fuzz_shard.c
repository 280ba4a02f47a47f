/* fuzz_shard: the shard file reader (shard_read_file, src/shard/shard_file.c)
 * at the layer ftune owns: a valid 5-row file from shard_write_file, edited
 * as the input says (fuzz_h5.h: attributes format, format_version, rows,
 * max_length, n_labels, vocab_size, ... and the four column datasets
 * replaced by others of any type, rank and size). What the reader accepts
 * must hold what shard.h promises: columns of `rows` entries, lengths in
 * [0, max_length], labels >= 0, example_index >= 0. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ft_fs.h"
#include "fuzz_h5.h"
#include "fuzz_util.h"
#include "shard/shard.h"

static const char *const ATTRS[] = {
    "format",     "format_version", "rows",        "max_length", "n_labels",
    "vocab_size", "pad_id",         "label_names", "split",      "seed"};
static const char *const DSETS[] = {"lengths", "labels", "example_index", "input_ids"};

/* The template's bytes, written once per process. */
static char *template_bytes;
static size_t template_len;

static void make_template(void)
{
    static const char *const labels[] = {"neg", "pos"};
    shard_meta meta = {"train", 0, 1, 4, 0, 100, "wordpiece", "0123456789abcdef", 2, labels, 7};
    enum { ROWS = 5, LEN = 4 };
    uint16_t ids[ROWS * LEN] = {1, 2, 3, 0, 4, 5, 0, 0, 6, 7, 8, 9, 1, 0, 0, 0, 2, 3, 0, 0};
    int32_t lengths[ROWS] = {3, 2, 4, 1, 2}, labels_col[ROWS] = {0, 1, 1, 0, 1};
    int64_t index[ROWS] = {10, 11, 12, 13, 14};
    shard_rows rows = {ROWS, LEN, false, ids, lengths, labels_col, index};
    char *path = ft_path_join(fuzz_temp_dir(), "template.h5");
    ft_error err;
    unlink(path);
    fuzz_require(shard_write_file(path, &meta, &rows, &err) == FT_OK,
                 "shard_write_file (template) failed");
    fuzz_require(ft_read_file(path, &template_bytes, &template_len, &err) == FT_OK,
                 "reading the template");
    free(path);
}

static void check_accepted(const shard_rows *r)
{
    fuzz_require(r->max_length >= 1, "shard: max_length < 1 accepted");
    for (uint64_t i = 0; i < r->rows; i++)
        fuzz_require(r->lengths[i] >= 0 && r->lengths[i] <= r->max_length && r->labels[i] >= 0 &&
                         r->example_index[i] >= 0,
                     "shard: an accepted row breaks shard.h's ranges");
    if (r->rows) {
        size_t last = (size_t)r->rows * (size_t)r->max_length - 1;
        volatile int32_t v =
            r->wide_ids ? ((int32_t *)r->input_ids)[last] : ((uint16_t *)r->input_ids)[last];
        (void)v;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!template_bytes) make_template();
    char *path = fuzz_write_file("shard.h5", template_bytes, template_len);
    fuzz_h5_edit(path, data, size, ATTRS, sizeof ATTRS / sizeof *ATTRS, DSETS,
                 sizeof DSETS / sizeof *DSETS);
    shard_rows rows;
    ft_error err;
    if (shard_read_file(path, true, &rows, &err) == FT_OK) {
        check_accepted(&rows);
        shard_rows_free(&rows);
    } else {
        fuzz_require(err.msg[0] != '\0', "shard_read_file failed without a message");
    }
    free(path);
    return 0;
}
