/* dataset_impl.h: what the dataset module's files share (see dataset.h).
 * dataset.c opens a source and detects its format and fields,
 * dataset_parse.c turns the bytes of one record into text and label,
 * dataset_read.c walks the records of one part. */
#ifndef DATASET_IMPL_H
#define DATASET_IMPL_H

#include "dataset/dataset.h"

enum { DATASET_NAME_BYTES = 256, DATASET_SAMPLE_RECORDS = 200 };
enum {
    DATASET_LM_NONE = 0,
    DATASET_LM_PROMPT_COMPLETION = 1,
    DATASET_LM_TEXT = 2,
    DATASET_LM_MESSAGES = 3
};

struct dataset_source {
    char *path;
    dataset_format format;
    /* One mapped file (all formats but folder). */
    const char *data;
    size_t size;
    /* Folder: files in order, each with its class (label) name. */
    size_t n_files;
    char **files;      /* full paths */
    char **file_names; /* "CLASS/FILE" for messages */
    const char **file_class;
    char **classes;
    size_t n_classes;
    /* JSON array: element byte ranges and lines. */
    size_t n_elems;
    size_t *elem_off, *elem_len;
    uint64_t *elem_line;
    /* CSV/TSV. */
    char sep;
    bool quoting;
    bool has_header;
    size_t n_columns;
    size_t text_col, label_col; /* 0-based */
    /* JSON, JSONL. */
    char text_key[DATASET_NAME_BYTES], label_key[DATASET_NAME_BYTES];
    /* Language-model data: DATASET_LM_NONE for labelled data; input_key a
     * second prompt part (instruction/input/output), empty when none. */
    int lm_mode;
    char input_key[DATASET_NAME_BYTES];
    char summary[3 * DATASET_NAME_BYTES];
};

/* A record's bytes and where it starts. */
typedef struct dataset_raw {
    const char *bytes;
    size_t len;
    uint64_t line;
    uint32_t file;
} dataset_raw;

/* Cursor over the line-based records (JSONL, CSV, TSV) of a mapped file. */
typedef struct dataset_cursor {
    size_t pos;      /* next byte to look at */
    uint32_t quoted; /* inside a quoted CSV field at pos */
    uint64_t line;   /* line number of pos */
} dataset_cursor;

/* Moves c to the first record start at or after c->pos (c->pos itself when
 * it is 0 or follows a record end). */
void dataset_cursor_align(const dataset_source *src, dataset_cursor *c);
/* The record starting at c->pos (c->pos < size); moves c past it. Blank
 * records come back with len 0. */
void dataset_cursor_next(const dataset_source *src, dataset_cursor *c, dataset_raw *raw);

/* Splits a CSV (quoting) or TSV record into fields, unescaped, in scratch:
 * field i is scratch->buf[offs[i] .. offs[i] + lens[i]). false with a reason
 * text for a misplaced quote. */
typedef struct dataset_fields {
    char *buf;
    size_t buf_cap;
    size_t *offs, *lens;
    size_t n, cap;
} dataset_fields;
ft_status dataset_split_fields(const dataset_source *src, const char *bytes, size_t len,
                               dataset_fields *f, const char **why, ft_error *err);
void dataset_fields_free(dataset_fields *f);

/* Parses one record into out (text/label appended to its arena, or a bad
 * record with its message when it is the part's first). */
ft_status dataset_parse_record(const dataset_source *src, const dataset_raw *raw,
                               dataset_fields *scratch, dataset_records *out, ft_error *err);

/* Detection of the fields from the first records (dataset_parse.c). */
ft_status dataset_detect_fields(dataset_source *src, const dataset_options *opt,
                                const dataset_lm_options *lm, ft_error *err);

#endif
