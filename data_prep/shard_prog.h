/* shard_prog.h: what the files of the ftune-shard program share.
 *
 * shard_main.c   command line, MPI set-up, exit codes
 * shard_run.c    the MPI pipeline: read the parts of the sources, agree on
 *                bad records and labels, make the plan
 * shard_write.c  tokenize, exchange rows so each file has one writer, write
 *                the files, the manifest, and publish the folder
 * shard_labels.c the label set agreed by all ranks (sorted, numerically when
 *                every label is an integer); causal_lm data has no labels
 *                (every record one class of the plan)
 * shard_inspect.c --inspect DIR
 * Not a library: the reusable parts live in src/dataset and src/shard. */
#ifndef SHARD_PROG_H
#define SHARD_PROG_H

#include <stdbool.h>
#include <stdint.h>

#include <mpi.h>

#include "comm/comm_agree.h"
#include "dataset/dataset.h"
#include "core/ft_error.h"
#include "shard/shard.h"

typedef struct shard_args {
    const char *input, *test_file, *text_field, *label_field, *tokenizer, *output, *inspect;
    dataset_format format;
    dataset_header header;
    double fractions[SHARD_N_SPLITS];
    bool stratify, undersample, force, skip_bad;
    uint64_t seed;
    int32_t max_length;
    int shards;
    /* --task causal_lm (language-model data, shard_lm.c). */
    bool lm, packing, completion_only_loss;
    const char *prompt_field, *completion_field;
    int truncation;     /* shard_truncation */
    bool lm_flag_given; /* --packing, --truncation or --completion-only-loss */
} shard_args;

/* 0: parsed, 1: help printed, 2: usage error (message in err). */
int shard_args_parse(int argc, char **argv, shard_args *a, ft_error *err);
extern const char SHARD_USAGE[];

/* The whole sharding run on every rank of MPI_COMM_WORLD; the same status
 * and message on every rank. Rank 0 prints the summary to stdout. */
ft_status shard_run(const shard_args *a, ft_error *err);

/* --inspect DIR (rank 0 only): prints counts per split and class, token
 * length percentiles, truncation and checks every file's crc32. */
ft_status shard_inspect(const char *dir, ft_error *err);

/* --- labels (shard_labels.c) -------------------------------------------- */

typedef struct shard_label_set {
    int n;
    char **names; /* in id order */
    bool numeric; /* every name an integer: ordered by value */
} shard_label_set;

/* The union of every rank's labels of good records of recs, sorted. */
ft_status shard_labels_agree(const dataset_records *recs, shard_label_set *out, ft_error *err);
/* The id of name, or -1. */
int32_t shard_labels_find(const shard_label_set *set, const char *name);
void shard_labels_free(shard_label_set *set);

/* --- one run (shard_run.c, shard_write.c) ---------------------------------- */

#include "tok/tok.h"

/* One source (the input or the test file) and this rank's part of it. */
typedef struct shard_part {
    dataset_source *src;
    dataset_records recs;
    uint64_t first;   /* source index of this rank's first record */
    uint64_t n_total; /* records of the whole source, good and bad */
    uint64_t bytes;   /* of the whole source */
    uint32_t crc32;
    uint64_t bad[DATASET_N_REASONS]; /* whole source */
    int32_t *ids;                    /* label id per local record, -1 for a bad one */
} shard_part;

typedef struct shard_job {
    const shard_args *a;
    int rank, size;
    tok_tokenizer *tok;
    shard_part parts[2]; /* input, test file */
    int n_parts;
    shard_label_set labels;
    shard_plan plan;
    int *owner;       /* rank writing each plan file */
    shard_rows *rows; /* per plan file; allocated where owned */
    uint64_t truncated[SHARD_N_SPLITS];
    /* causal_lm: the EOS id (-1: none); per plan file the examples' token
     * labels and whether each was kept (owned files), the rows written
     * (rank 0); examples dropped per split (completion truncated away). */
    int32_t eos_id;
    struct chat_template *chat; /* messages data: the tokenizer's chat template */
    char *chat_bos, *chat_eos;  /* its bos_token, eos_token texts (NULL: none) */
    shard_lm *lm;
    bool **kept;
    uint64_t *file_rows;
    uint64_t dropped[SHARD_N_SPLITS];
    uint32_t *file_crc; /* per plan file (rank 0, after writing) */
    uint64_t *file_bytes;
    char *tmp_dir;               /* the output being built (a sibling of --output) */
    double t_start;              /* MPI_Wtime at the start */
    double phase_s[8];           /* seconds per phase (rank 0's clock), see shard_mark */
    double cpu_max_s, cpu_sum_s; /* CPU time (user + system): busiest rank, all ranks */
} shard_job;

/* Phases timed for the summary: open, read, labels+plan, tokenize,
 * exchange, write, manifest. shard_mark(job, k) ends phase k. */
enum {
    SHARD_PH_OPEN,
    SHARD_PH_READ,
    SHARD_PH_PLAN,
    SHARD_PH_TOKENIZE,
    SHARD_PH_EXCHANGE,
    SHARD_PH_WRITE,
    SHARD_PH_MANIFEST,
    SHARD_N_PHASES
};
void shard_mark(shard_job *job, int phase);

/* Tokenizes the rows of the plan, sends each to its file's owner and
 * writes the owned files into job->tmp_dir; rank 0 gets crc32 and sizes. */
ft_status shard_write_files(shard_job *job, ft_error *err);
/* Rank 0: manifest.json into tmp_dir, then tmp_dir renamed to --output. */
ft_status shard_publish(shard_job *job, ft_error *err);
/* Rank 0: the summary on stdout. */
void shard_print_summary(const shard_job *job, double seconds);

#endif
