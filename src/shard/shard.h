/* shard: ftune's prepared-dataset format (DESIGN.md, "Data shards", version 1)
 * and the plan that decides which example goes to which split, shard and row.
 *
 * A prepared dataset is a folder with manifest.json and the files
 * SPLIT-KKKKK-of-NNNNN.h5 (SPLIT is train, validation or test). Each file
 * holds input_ids [rows, max_length] (uint16 when the vocabulary has at most
 * 65536 ids, else int32; padded with pad_id), lengths [rows] int32, labels
 * [rows] int32 and example_index [rows] int64 (the example's position in its
 * source), and the same facts as attributes of the root group.
 *
 * Design: the plan is a pure function of (labels of the source in source
 * order, seed, fractions, stratify, balance, shard count), drawn from the
 * counter-based rng (rng_permutation), so every rank computes the same plan
 * and the output does not depend on the number of ranks. HDF5 files are
 * written with object time tracking off and contiguous datasets, so equal
 * content gives equal bytes.
 * Not here: reading raw text (dataset module), tokenizing (tok), MPI
 * (the ftune-shard program). */
#ifndef SHARD_H
#define SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ft_error.h"

/* SHARD_MAX_LABELS: the most labels a manifest may list, the same bound as
 * a model config's (HF_MAX_LABELS, hf_config.h, which says why 100,000). A
 * shard file holds fewer in practice: their names share one HDF5 attribute
 * of at most 60,000 bytes (shard_write_file). */
enum { SHARD_N_SPLITS = 3, SHARD_FORMAT_VERSION = 1, SHARD_MAX_LABELS = 100000 };
#define SHARD_FORMAT_NAME "ftune-shards"

typedef enum shard_split { SHARD_TRAIN = 0, SHARD_VALIDATION = 1, SHARD_TEST = 2 } shard_split;

/* "train", "validation", "test". */
const char *shard_split_name(int split);

/* --- the plan ------------------------------------------------------------ */

typedef struct shard_plan_options {
    uint64_t seed;
    /* Fractions of the main source for train, validation, test (0: absent);
     * with a separate test source the test fraction must be 0. */
    double fractions[SHARD_N_SPLITS];
    bool stratify;    /* cut every class by the fractions */
    bool undersample; /* keep min-class-count examples of every class */
    int shards;       /* files per split (fewer when a split has fewer rows) */
} shard_plan_options;

typedef struct shard_plan_file {
    int split, index, count; /* SPLIT-index-of-count */
    uint64_t rows;
} shard_plan_file;

typedef struct shard_plan {
    size_t n_main, n_test;  /* examples of the main and the test source */
    /* Per example (main source first, then the test source): the global file
     * number and the row in it, or file -1 when the example is not used. */
    int32_t *file_of;
    uint64_t *row_of;
    int n_files;
    shard_plan_file *files; /* train files, then validation, then test */
    int n_classes;
    uint64_t split_rows[SHARD_N_SPLITS];
    uint64_t *class_rows[SHARD_N_SPLITS]; /* [split][class] */
    uint64_t balanced_out; /* examples dropped by undersampling */
} shard_plan;

/* labels[i] is the class of example i of the main source (-1: a bad record),
 * test_labels the same for a separate test source (NULL, 0 when none). The
 * main source is shuffled with rng_permutation(seed, 1); undersampling keeps
 * the first examples of each class in the order of rng_permutation(seed, 2);
 * a separate test source keeps its order. Each split gets a contiguous run
 * of the shuffled order (per class with stratify, the cut points rounded to
 * nearest), and each file a contiguous run of its split.
 * FT_EINVAL when a split with a fraction above 0 gets no example. */
ft_status shard_plan_make(const int32_t *labels, size_t n_main, const int32_t *test_labels,
                          size_t n_test, int n_classes, const shard_plan_options *opt,
                          shard_plan *out, ft_error *err);
void shard_plan_free(shard_plan *plan);

/* "train-00000-of-00004.h5" into buf. */
void shard_file_name(const shard_plan_file *f, char *buf, size_t size);

/* --- shard files ----------------------------------------------------------- */

/* What every file of a dataset says about itself (attributes). */
typedef struct shard_meta {
    const char *split;
    int shard, num_shards;
    int32_t max_length, pad_id, vocab_size;
    const char *tokenizer_kind;        /* "wordpiece" or "byte_bpe" */
    const char *tokenizer_fingerprint; /* 16 hex digits */
    int n_labels;
    const char *const *label_names;
    uint64_t seed;
} shard_meta;

/* The columns of one file. input_ids is uint16_t[rows * max_length] when
 * wide_ids is false, else int32_t[rows * max_length]. */
typedef struct shard_rows {
    uint64_t rows;
    int32_t max_length;
    bool wide_ids;
    void *input_ids;
    int32_t *lengths, *labels;
    int64_t *example_index;
} shard_rows;

/* Whether input ids need int32 (vocabulary above 65536 ids). */
static inline bool shard_needs_wide_ids(int32_t vocab_size) { return vocab_size > 65536; }

/* Writes path (a new file; FT_EEXIST if it exists) with the sec2 driver. */
ft_status shard_write_file(const char *path, const shard_meta *meta, const shard_rows *rows,
                           ft_error *err);

/* Reads a file's columns; input_ids only when with_ids. Free with
 * shard_rows_free. Checks shapes and types against each other. */
ft_status shard_read_file(const char *path, bool with_ids, shard_rows *out, ft_error *err);
void shard_rows_free(shard_rows *rows);

/* crc32 (zlib) and size of a file's bytes. */
ft_status shard_file_crc32(const char *path, uint32_t *crc, uint64_t *bytes, ft_error *err);
/* shard_file_crc32 against the manifest's value: FT_EFORMAT naming the file
 * and both values when they differ (train and eval check every file so). */
ft_status shard_file_check_crc32(const char *path, uint32_t want, ft_error *err);

/* --- manifest.json --------------------------------------------------------- */

typedef struct shard_manifest_file {
    char name[64];
    int split;
    uint64_t rows, bytes;
    uint32_t crc32;
} shard_manifest_file;

typedef struct shard_manifest_source {
    char role[16];   /* "input" or "test" */
    char *path;
    char format[16];
    char *text_field, *label_field;
    uint64_t bytes, files, records;
    uint32_t crc32;
} shard_manifest_source;

typedef struct shard_manifest {
    char tokenizer_kind[16];
    char tokenizer_fingerprint[17];
    char *tokenizer_path;
    int32_t vocab_size, pad_id, max_length;
    int n_labels;
    char **labels;
    int n_sources;
    shard_manifest_source sources[2];
    uint64_t seed;
    double fractions[SHARD_N_SPLITS];
    bool stratify, undersample;
    uint64_t split_rows[SHARD_N_SPLITS], split_truncated[SHARD_N_SPLITS];
    uint64_t *class_rows[SHARD_N_SPLITS]; /* [split][label] */
    int n_files;
    shard_manifest_file *files;
    int n_skip_reasons;
    char **skip_reasons; /* names, e.g. "malformed_json" */
    uint64_t *skipped;   /* counts per reason */
    uint64_t balanced_out;
} shard_manifest;

/* manifest.json text (caller frees), fixed key order and number format. */
char *shard_manifest_to_json(const shard_manifest *m);
/* Reads DIR/manifest.json; checks format and version. */
ft_status shard_manifest_read(const char *dir, shard_manifest *m, ft_error *err);
void shard_manifest_free(shard_manifest *m);

#endif
