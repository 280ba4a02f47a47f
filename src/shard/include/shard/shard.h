/* shard: ftune's prepared-dataset format (docs/FORMATS.md, "Datasets:
 * manifest and shards", version 1), the plan that decides which example
 * goes to which split, shard and row, and the one data path of train, eval
 * and predict: a split read and checked file by file (one reader, one row
 * validator, one fingerprint), cut across ranks, and turned into batches
 * (predict gathers its tokenized texts into the same batches).
 *
 * A prepared dataset is a folder with manifest.json and the files
 * SPLIT-KKKKK-of-NNNNN.h5 (SPLIT is train, validation or test). Each file
 * holds input_ids [rows, max_length] (uint16 when the vocabulary has at most
 * 65536 ids, else int32; padded with pad_id), lengths [rows] int32, labels
 * [rows] int32 and example_index [rows] int64 (the example's position in its
 * source), and the same facts as attributes of the root group. A causal_lm
 * dataset (task "causal_lm", for next-token training) has per-token labels
 * instead, and packed rows also position and segment ids (shard_lm below).
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

#include "core/ft_error.h"

/* SHARD_MAX_LABELS: the most labels a manifest may list, the same bound as
 * a model config's (HF_MAX_LABELS, hf_config.h, which says why 100,000). A
 * shard file holds fewer in practice: their names share one HDF5 attribute
 * of at most 60,000 bytes (shard_write_file). */
enum { SHARD_N_SPLITS = 3, SHARD_FORMAT_VERSION = 1, SHARD_MAX_LABELS = 100000 };
/* SHARD_IGNORE_INDEX: the label of a token that is not trained (transformers'
 * and PyTorch's ignore_index). */
enum { SHARD_IGNORE_INDEX = -100 };
#define SHARD_FORMAT_NAME "ftune-shards"

typedef enum shard_split { SHARD_TRAIN = 0, SHARD_VALIDATION = 1, SHARD_TEST = 2 } shard_split;

/* "train", "validation", "test". */
const char *shard_split_name(int split);

/* What a dataset trains: one class label per row (the default, and what a
 * manifest or file without "task" holds), or next-token prediction with a
 * label per token (shard_lm.c). */
typedef enum shard_task { SHARD_TASK_CLASSIFICATION = 0, SHARD_TASK_CAUSAL_LM = 1 } shard_task;
/* "sequence_classification", "causal_lm"; shard_task_of_name the reverse, -1
 * for another name. */
const char *shard_task_name(int task);
int shard_task_of_name(const char *name);

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
    size_t n_main, n_test; /* examples of the main and the test source */
    /* Per example (main source first, then the test source): the global file
     * number and the row in it, or file -1 when the example is not used. */
    int32_t *file_of;
    uint64_t *row_of;
    int n_files;
    shard_plan_file *files; /* train files, then validation, then test */
    int n_classes;
    uint64_t split_rows[SHARD_N_SPLITS];
    uint64_t *class_rows[SHARD_N_SPLITS]; /* [split][class] */
    uint64_t balanced_out;                /* examples dropped by undersampling */
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
 * shard_rows_free. Checks shapes and types against each other and every row
 * (shard_rows_check) against the file's own attributes. */
ft_status shard_read_file(const char *path, bool with_ids, shard_rows *out, ft_error *err);
void shard_rows_free(shard_rows *rows);
/* Columns for `rows` rows of max_length ids (int32 when wide_ids, else
 * uint16), uninitialised; FT_ENOMEM naming the size. */
ft_status shard_rows_alloc(shard_rows *r, uint64_t rows, int32_t max_length, bool wide_ids,
                           ft_error *err);

/* What a file's attributes must say (the manifest's figures). task and
 * packed only for a causal_lm reader (shard_read_lm). */
typedef struct shard_expect {
    uint64_t rows;
    int32_t max_length, n_labels, vocab_size;
    int task;
    bool packed;
} shard_expect;

/* shard_read_file, and FT_EFORMAT naming the file, the attribute and both
 * values when an attribute differs from want. */
ft_status shard_read_expected(const char *path, bool with_ids, const shard_expect *want,
                              shard_rows *out, ft_error *err);

/* The one row validator: length in [1, max_length], label in [0, n_labels)
 * (n_labels 0: a causal_lm file, no class labels; shard_lm_check the rest),
 * example_index >= 0, and (ids loaded) every id in [0, vocab_size).
 * FT_EFORMAT naming path, the row (and the position of a bad id). */
ft_status shard_rows_check(const char *path, const shard_rows *r, int32_t n_labels,
                           int32_t vocab_size, ft_error *err);

/* --- causal_lm columns (shard_lm.c) ----------------------------------------
 * A causal_lm file has no class labels (no n_labels, label_names, labels
 * [rows]); instead, beside input_ids, lengths and example_index (of the
 * row's first example):
 *   labels       [rows, max_length] int32: the token's own id where it is
 *                trained, else -100 (prompt tokens unless the loss covers
 *                them, padding, and the first token of every example, which
 *                no token predicts); the model shifts them by one, as
 *                transformers' causal LM loss does.
 *   position_ids [rows, max_length] int32 (packed files only): 0, 1, ...
 *                restarting at each example; 0 on padding.
 *   segment_ids  [rows, max_length] int32 (packed files only): 1, 2, ... the
 *                example within the row; 0 on padding. Attention must stay
 *                within a segment.
 *   segment_example_index [segments] int64 (packed files only): the source
 *                position of every segment's example, rows in order (the
 *                first of each row is the row's example_index).
 * and the attributes task = "causal_lm" and packed (0 or 1). */
typedef struct shard_lm {
    bool packed;
    int32_t *labels, *position_ids, *segment_ids; /* [rows * max_length] */
    uint64_t segments;                            /* packed: examples in the rows */
    int64_t *segment_example_index;               /* packed: [segments] */
} shard_lm;

/* Columns for rows x max_length (position and segment ids when packed),
 * uninitialised; FT_ENOMEM naming the size. */
ft_status shard_lm_alloc(shard_lm *lm, uint64_t rows, int32_t max_length, bool packed,
                         ft_error *err);
void shard_lm_free(shard_lm *lm);

/* Writes a causal_lm file (meta->n_labels 0, rows->labels unused). */
ft_status shard_write_lm_file(const char *path, const shard_meta *meta, const shard_rows *rows,
                              const shard_lm *lm, ft_error *err);
/* Reads a causal_lm file (want may be NULL); a classification file is an
 * error naming the task, as a causal_lm file is for shard_read_expected. */
ft_status shard_read_lm(const char *path, bool with_ids, const shard_expect *want, shard_rows *out,
                        shard_lm *lm, ft_error *err);

/* The row validator of causal_lm files (with shard_rows_check, n_labels 0):
 * every label -100 or the token id at its position (ids loaded) in [0,
 * vocab_size); -100 on padding and on the first token of each segment;
 * packed: segment ids 1, 2, ... in steps of one, position ids restarting at
 * 0 with each segment and counting up by one, both 0 on padding, and each
 * row's first segment_example_index its example_index. FT_EFORMAT
 * naming path, row and position. */
ft_status shard_lm_check(const char *path, const shard_rows *r, const shard_lm *lm,
                         int32_t vocab_size, ft_error *err);

/* How shard_lm_example builds one example. */
typedef enum shard_truncation {
    SHARD_TRUNCATE_PROMPT_LEFT = 0, /* drop the prompt's first tokens, then the completion's last */
    SHARD_TRUNCATE_RIGHT = 1        /* drop the sequence's last tokens (TRL's keep_start) */
} shard_truncation;
/* "prompt_left", "right"; shard_truncation_of_name the reverse, -1 else. */
const char *shard_truncation_name(int t);
int shard_truncation_of_name(const char *name);

typedef struct shard_lm_options {
    int32_t max_length, pad_id;
    int32_t eos_id;            /* appended to the completion unless it ends with it; -1: none */
    bool completion_only_loss; /* labels -100 on the prompt (TRL's default) */
    shard_truncation truncation;
} shard_lm_options;

/* One example: prompt ids then completion ids (text data: no prompt), the
 * EOS appended, truncated to max_length, padded with pad_id; labels as the
 * file stores them. *length the tokens kept, *truncated whether any were
 * cut. Returns false when no trained token is left (the completion was
 * truncated away, or there is none): the caller drops and counts the
 * example; ids and labels are then unspecified. */
bool shard_lm_example(const int32_t *prompt, int32_t n_prompt, const int32_t *completion,
                      int32_t n_completion, const shard_lm_options *opt, int32_t *ids,
                      int32_t *labels, int32_t *length, bool *truncated);

/* The rows of a causal_lm file from its examples in file order (ex: one
 * example per row, as shard_lm_example made them; keep[i] false for a
 * dropped one): the kept examples one per row, or with packed, greedily in
 * order into rows of max_length (next fit: an example that does not fit
 * starts a new row; never split), segment and position ids filled, each
 * row's example_index its first example's, padded with pad_id. out/out_lm
 * allocated here (out->labels NULL). A
 * pure function of the examples, so the same for any rank count. */
ft_status shard_lm_pack(const shard_rows *ex, const shard_lm *ex_lm, const bool *keep, bool packed,
                        int32_t pad_id, shard_rows *out, shard_lm *out_lm, ft_error *err);

/* Tokens [0, t) of row `row` of r, widened to int32, into dst. */
void shard_rows_copy_ids(const shard_rows *r, uint64_t row, int32_t t, int32_t *dst);

/* crc32 (zlib) and size of a file's bytes. */
ft_status shard_file_crc32(const char *path, uint32_t *crc, uint64_t *bytes, ft_error *err);

/* --- manifest.json --------------------------------------------------------- */

typedef struct shard_manifest_file {
    char name[64];
    int split;
    uint64_t rows, bytes;
    uint32_t crc32;
} shard_manifest_file;

typedef struct shard_manifest_source {
    char role[16]; /* "input" or "test" */
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
    /* causal_lm (task SHARD_TASK_CAUSAL_LM): no labels or class_rows; the
     * sources' text_field/label_field are the prompt/completion fields (text
     * data: the text field, label_field empty). */
    int task;
    char lm_mode[24]; /* "prompt_completion", "text" or "messages" */
    bool completion_only_loss, packed;
    int32_t eos_id;                          /* -1: none */
    int truncation;                          /* shard_truncation */
    uint64_t split_examples[SHARD_N_SPLITS]; /* examples in the rows */
    uint64_t split_dropped[SHARD_N_SPLITS];  /* examples dropped: no completion token left */
} shard_manifest;

/* A file's size and crc32 against its manifest entry: FT_EFORMAT naming
 * the file and both values when they differ (every reader of a split checks
 * every file so: shard_reader_load). */
ft_status shard_file_check(const char *path, const shard_manifest_file *want, ft_error *err);

/* manifest.json text (caller frees), fixed key order and number format. */
char *shard_manifest_to_json(const shard_manifest *m);
/* Reads DIR/manifest.json; checks format and version. */
ft_status shard_manifest_read(const char *dir, shard_manifest *m, ft_error *err);
void shard_manifest_free(shard_manifest *m);

/* "crc32:XXXXXXXX" of DIR/manifest.json's bytes: the data fingerprint that
 * checkpoints (ckpt_state.data_fingerprint) and reports record. */
enum { SHARD_FINGERPRINT_BYTES = 16 };
ft_status shard_manifest_fingerprint(const char *dir, char buf[SHARD_FINGERPRINT_BYTES],
                                     ft_error *err);

/* --- one split: its files read in shard order (shard_split.c) -------------- */

/* SHARD_TRAIN, ... of "train", "validation", "test"; -1 for another name. */
int shard_split_of_name(const char *name);

/* The split is the concatenation of its files in shard order
 * (SPLIT-00000-of-N, SPLIT-00001-of-N, ...); a row's position in it is its
 * split row. The manifest is borrowed: it must outlive the reader. */
typedef struct shard_reader {
    const shard_manifest *man;
    int split;
    int n_files;
    char **paths;                      /* DIR/NAME of each file */
    const shard_manifest_file **files; /* their manifest entries */
    uint64_t *first_row;               /* [n_files + 1]: split row of each file's row 0 */
    uint64_t rows;
} shard_reader;

ft_status shard_reader_open(const char *dir, const shard_manifest *man, int split, shard_reader *r,
                            ft_error *err);
void shard_reader_close(shard_reader *r);
/* File `file` of the split, checked: shard_file_check (a
 * damaged or swapped file), then shard_read_expected against the
 * manifest's rows, max_length, labels and vocabulary. */
ft_status shard_reader_load(const shard_reader *r, int file, bool with_ids, shard_rows *out,
                            ft_error *err);
/* shard_reader_load for a causal_lm dataset: the token columns into lm. */
ft_status shard_reader_load_lm(const shard_reader *r, int file, bool with_ids, shard_rows *out,
                               shard_lm *lm, ft_error *err);
/* Every row of the split in one shard_rows, ids widened to int32. */
ft_status shard_reader_load_all(const shard_reader *r, shard_rows *out, ft_error *err);
/* The same for a causal_lm split, its token columns into lm (segment
 * example indexes left out). */
ft_status shard_reader_load_all_lm(const shard_reader *r, shard_rows *out, shard_lm *lm,
                                   ft_error *err);
/* The file that holds split row `row` (< r->rows). */
int shard_reader_file_of(const shard_reader *r, uint64_t row);

/* The contiguous slice [*begin, *end) of n rows that rank (of size ranks)
 * takes: sizes differ by at most one, lower ranks first, the union is
 * [0, n) without overlap. The one cut of a split across ranks. */
void shard_slice(uint64_t n, int rank, int size, uint64_t *begin, uint64_t *end);

/* --- batches of rows (shard_batch.c) --------------------------------------- */

/* Up to cap rows of t tokens each (t <= max_length given at init), ids
 * widened to int32 and packed with stride t. */
typedef struct shard_batch {
    int cap, n;
    int32_t max_length, t;
    int32_t *ids, *lengths, *labels;
    int64_t *example_index;
    /* causal_lm batches (shard_batch_init_lm): per-token labels, and for
     * packed data position and segment ids, with stride t; NULL otherwise. */
    int32_t *token_labels, *position_ids, *segment_ids;
} shard_batch;

ft_status shard_batch_init(shard_batch *b, int cap, int32_t max_length, ft_error *err);
void shard_batch_free(shard_batch *b);
/* shard_batch_init plus the causal_lm columns (position and segment ids
 * when packed). */
ft_status shard_batch_init_lm(shard_batch *b, int cap, int32_t max_length, bool packed,
                              ft_error *err);
/* Append row `row` of r at position b->n (< b->cap), its first b->t tokens. */
void shard_batch_put(shard_batch *b, const shard_rows *r, uint64_t row);
/* The same for a causal_lm row: its token columns from lm (labels column of
 * the batch unused, 0). */
void shard_batch_put_lm(shard_batch *b, const shard_rows *r, const shard_lm *lm, uint64_t row);
/* Rows idx[0..n) of r (n <= cap), t = the longest of them: a batch costs
 * what its texts need, and depends only on the rows chosen. */
void shard_batch_gather(shard_batch *b, const shard_rows *r, const uint64_t *idx, int n);

/* Split rows [begin, end) in order, one file in memory at a time. */
typedef struct shard_cursor {
    const shard_reader *r;
    uint64_t next, end;
    int file; /* loaded file, or -1 */
    shard_rows rows;
    shard_lm lm; /* causal_lm datasets (the batch from shard_batch_init_lm) */
} shard_cursor;

void shard_cursor_init(shard_cursor *c, const shard_reader *r, uint64_t begin, uint64_t end);
void shard_cursor_free(shard_cursor *c);
/* Append the cursor's next rows to b at positions b->n .. b->cap - 1 (b->n
 * stops short at the end of the range). */
ft_status shard_cursor_next(shard_cursor *c, shard_batch *b, ft_error *err);

#endif
