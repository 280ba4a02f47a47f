/* fuzz_dataset: dataset records (src/dataset): JSON lines, a JSON array,
 * CSV and TSV. The input is the file. It is opened twice: once as a user
 * with no options would (format sniffed from the bytes, fields detected),
 * once with the format, header mode and field names chosen by the first
 * byte (so every parser sees every input).
 *
 * For every source that opens, the contract of dataset.h is checked: the
 * records of P parts (P = 2, 3, 7), each read with the prefix sums of the
 * parts before it from dataset_scan_part, are exactly the records of one
 * reader (count, line, reason, text and label bytes), the parts' crc32
 * combine to the whole file's, and every good record's text and label lie
 * inside the arena. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset/dataset.h"
#include "fuzz_util.h"

static void read_all(dataset_source *src, dataset_records *out)
{
    dataset_prefix zero = {0, 0};
    ft_error err;
    fuzz_require(dataset_read_part(src, 0, 1, &zero, out, &err) == FT_OK,
                 "dataset_read_part 0/1 failed");
    for (size_t i = 0; i < out->n; i++) {
        const dataset_record *r = &out->items[i];
        if (r->reason != DATASET_OK) continue;
        fuzz_require(r->text_off + r->text_len < out->arena_len &&
                         r->label_off + r->label_len < out->arena_len,
                     "dataset: a record outside its arena");
    }
}

static void require_same_record(const dataset_records *one, size_t i, const dataset_records *part,
                                size_t j)
{
    const dataset_record *a = &one->items[i], *b = &part->items[j];
    fuzz_require(a->line == b->line && a->reason == b->reason && a->file == b->file,
                 "dataset: a part reads another record than one reader (line, reason)");
    if (a->reason != DATASET_OK) return;
    fuzz_require(a->text_len == b->text_len && a->label_len == b->label_len &&
                     !memcmp(one->arena + a->text_off, part->arena + b->text_off, a->text_len) &&
                     !memcmp(one->arena + a->label_off, part->arena + b->label_off, a->label_len),
                 "dataset: a part reads another text or label than one reader");
}

/* The records of n_parts parts, in order, against those of one reader. */
static void check_parts(dataset_source *src, const dataset_records *one, int n_parts,
                        uint32_t whole_crc)
{
    dataset_scan scans[8];
    dataset_prefix prefix = {0, 0};
    dataset_records part = {0};
    ft_error err;
    size_t next = 0;
    for (int p = 0; p < n_parts; p++)
        fuzz_require(dataset_scan_part(src, p, n_parts, &scans[p], &err) == FT_OK,
                     "dataset_scan_part failed");
    fuzz_require(dataset_combine_crc(scans, n_parts) == whole_crc,
                 "dataset: the parts' crc32 != the file's");
    for (int p = 0; p < n_parts; p++) {
        fuzz_require(dataset_read_part(src, p, n_parts, &prefix, &part, &err) == FT_OK,
                     "dataset_read_part failed");
        for (size_t j = 0; j < part.n; j++, next++) {
            fuzz_require(next < one->n, "dataset: the parts read more records than one reader");
            require_same_record(one, next, &part, j);
        }
        prefix.newlines += scans[p].newlines;
        prefix.quotes_odd ^= scans[p].quotes_odd;
    }
    fuzz_require(next == one->n, "dataset: the parts read fewer records than one reader");
    dataset_records_free(&part);
}

static void open_and_check(const char *path, const dataset_options *opt, uint32_t whole_crc)
{
    dataset_source *src = NULL;
    ft_error err;
    if (dataset_open(path, opt, &src, &err) != FT_OK) {
        fuzz_require(src == NULL && err.msg[0] != '\0', "dataset_open failed without a message");
        return;
    }
    (void)dataset_fields_summary(src);
    dataset_records one = {0};
    read_all(src, &one);
    static const int part_counts[] = {2, 3, 7};
    for (size_t k = 0; k < sizeof part_counts / sizeof part_counts[0]; k++)
        check_parts(src, &one, part_counts[k], whole_crc);
    if (one.n) {
        char where[256];
        dataset_record_where(src, &one.items[one.n - 1], where, sizeof where);
    }
    dataset_records_free(&one);
    dataset_close(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = fuzz_write_file("data", data, size);
    uint32_t crc = (uint32_t)crc32_z(crc32_z(0, NULL, 0), size ? data : (const uint8_t *)"", size);
    dataset_options opt = {DATASET_AUTO, NULL, NULL, DATASET_HEADER_AUTO};
    open_and_check(path, &opt, crc);
    if (size) {
        static const char *const text_fields[] = {NULL, "text", "1", "sentence"};
        static const char *const label_fields[] = {NULL, "label", "2", "category"};
        unsigned b = data[0];
        opt.format = (dataset_format)(DATASET_JSONL + b % 4);
        opt.header = (dataset_header)((b / 4) % 3);
        opt.text_field = text_fields[(b / 12) % 4];
        opt.label_field = label_fields[(b / 48) % 4];
        open_and_check(path, &opt, crc);
    }
    free(path);
    return 0;
}
