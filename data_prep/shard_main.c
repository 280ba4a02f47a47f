/* ftune-shard: raw labelled text -> tokenized, split HDF5 shards plus
 * manifest.json (docs/FORMATS.md, "Datasets: manifest and shards"), on any
 * number of MPI ranks.
 *
 * This file is the command line and the exit codes; the pipeline is in
 * shard_run.c. Every rank parses the same arguments, so a usage error stops
 * all of them without any communication; rank 0 alone prints it.
 * Exit status: 0 done, 1 runtime failure, 2 usage or input error. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_log.h"
#include "shard_prog.h"

const char SHARD_USAGE[] =
    "usage: ftune-shard --input PATH --tokenizer MODEL_DIR --output DIR [options]\n"
    "       ftune-shard --inspect DIR\n"
    "Turns labelled text (or language-model data: --task causal_lm) into tokenized,\n"
    "split HDF5 shards plus manifest.json.\n"
    "Run under mpirun/srun: ranks share the reading, tokenizing and writing; the\n"
    "output is byte-identical whatever the number of ranks.\n"
    "  --input PATH          JSONL, JSON array, CSV, TSV file, or a folder with one\n"
    "                        folder per class holding one text file per example\n"
    "  --test-file PATH      a separate test set (same fields); then --split gives\n"
    "                        train,validation only\n"
    "  --format F            auto (default: from the name, then the bytes) | json |\n"
    "                        jsonl | csv | tsv | folder\n"
    "  --text-field NAME     the text field (CSV/TSV: header name or 1-based column);\n"
    "                        default: detected (longest strings), printed\n"
    "  --label-field NAME    the label field; default: detected (named like\n"
    "                        label/class/category...), printed\n"
    "  --header yes|no|auto  CSV/TSV first line is a header (default auto)\n"
    "  --split F,F[,F]       fractions train,test or train,validation,test (default\n"
    "                        0.8,0.1,0.1; with --test-file: train,validation, default\n"
    "                        0.9,0.1); a single 1 puts everything in train\n"
    "  --stratify            cut every class by the fractions\n"
    "  --balance undersample keep as many examples of every class as the smallest has\n"
    "  --seed N              shuffling seed (default 42)\n"
    "  --max-length N        tokens per example incl. special tokens (default 128)\n"
    "  --tokenizer DIR       model folder: tokenizer.json, vocab.txt or vocab.json +\n"
    "                        merges.txt\n"
    "  --shards N            files per split (default 1; fewer for tiny splits)\n"
    "  --output DIR          the dataset folder to create (refused if it exists)\n"
    "  --force               replace DIR when it holds an earlier ftune dataset\n"
    "  --skip-bad            skip bad records, counting them per reason, instead of\n"
    "                        stopping at the first one (file:line, exit 2)\n"
    "Language-model data (--task causal_lm):\n"
    "  --task T              sequence_classification (default) | causal_lm\n"
    "  --prompt-field NAME   with --completion-field: the prompt and completion\n"
    "                        fields (default: detected: prompt/completion,\n"
    "                        instruction[+input]/output, question/answer; else\n"
    "                        a 'text' field, or --text-field, for plain text)\n"
    "  --completion-field NAME\n"
    "  --completion-only-loss yes|no  labels -100 on the prompt (default yes, as\n"
    "                        TRL's SFTConfig.completion_only_loss)\n"
    "  --truncation prompt_left|right  prompt_left (default): cut the prompt's\n"
    "                        start, then the completion's end; right: cut the\n"
    "                        end (TRL's keep_start); an example left without a\n"
    "                        completion token is dropped and counted\n"
    "  --packing             pack examples into rows of --max-length tokens\n"
    "                        (position ids restart, segment ids per example)\n"
    "  --inspect DIR         print counts, token length percentiles and truncation of\n"
    "                        a prepared dataset and check its files' checksums\n"
    "  -h, --help            this text\n"
    "Exit status: 0 done, 1 runtime failure, 2 usage or input error.\n";

static int usage_error(ft_error *err, const char *fmt, const char *arg)
{
    char what[FT_ERROR_MSG_BYTES / 2];
    snprintf(what, sizeof what, fmt, arg);
    ft_fail(err, FT_EINVAL, "%s (ftune-shard -h for help)", what);
    return 2;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v > max) return false;
    *out = v;
    return true;
}

/* "0.8,0.2" or "0.7,0.1,0.2" (or "1"): into fractions per split. */
static bool parse_split(const char *s, bool has_test_file, double fr[SHARD_N_SPLITS])
{
    double v[SHARD_N_SPLITS + 1] = {0};
    int n = 0;
    const char *p = s;
    while (n <= SHARD_N_SPLITS) {
        char *end;
        errno = 0;
        v[n++] = strtod(p, &end);
        if (errno || end == p || !isfinite(v[n - 1]) || v[n - 1] < 0 || v[n - 1] > 1) return false;
        if (*end == '\0') break;
        if (*end != ',') return false;
        p = end + 1;
    }
    if (n > SHARD_N_SPLITS || (has_test_file && n == 3 && v[2] != 0)) return false;
    double sum = v[0] + v[1] + v[2];
    if (fabs(sum - 1) > 1e-9) return false;
    fr[0] = v[0];
    fr[1] = n == 2 && !has_test_file ? 0 : v[1];
    fr[2] = n == 2 && !has_test_file ? v[1] : n == 3 ? v[2] : 0;
    return true;
}

static int parse_enum(const char *opt, const char *v, shard_args *a, ft_error *err)
{
    if (!strcmp(opt, "--format")) {
        if (!dataset_format_parse(v, &a->format))
            return usage_error(
                err, "--format: expected auto, json, jsonl, csv, tsv or folder, got \"%s\"", v);
    } else if (!strcmp(opt, "--header")) {
        if (!strcmp(v, "yes"))
            a->header = DATASET_HEADER_YES;
        else if (!strcmp(v, "no"))
            a->header = DATASET_HEADER_NO;
        else if (!strcmp(v, "auto"))
            a->header = DATASET_HEADER_AUTO;
        else
            return usage_error(err, "--header: expected yes, no or auto, got \"%s\"", v);
    } else if (!strcmp(opt, "--task")) {
        if (shard_task_of_name(v) < 0)
            return usage_error(
                err, "--task: expected sequence_classification or causal_lm, got \"%s\"", v);
        a->lm = shard_task_of_name(v) == SHARD_TASK_CAUSAL_LM;
    } else if (!strcmp(opt, "--truncation")) {
        if (shard_truncation_of_name(v) < 0)
            return usage_error(err, "--truncation: expected prompt_left or right, got \"%s\"", v);
        a->truncation = shard_truncation_of_name(v);
        a->lm_flag_given = true;
    } else if (!strcmp(opt, "--completion-only-loss")) {
        if (strcmp(v, "yes") && strcmp(v, "no"))
            return usage_error(err, "--completion-only-loss: expected yes or no, got \"%s\"", v);
        a->completion_only_loss = !strcmp(v, "yes");
        a->lm_flag_given = true;
    } else if (!strcmp(opt, "--balance")) {
        if (strcmp(v, "undersample") && strcmp(v, "none"))
            return usage_error(err, "--balance: expected undersample (or none), got \"%s\"", v);
        a->undersample = !strcmp(v, "undersample");
    }
    return 0;
}

static int parse_number(const char *opt, const char *v, shard_args *a, ft_error *err)
{
    uint64_t n = 0;
    if (!strcmp(opt, "--seed")) {
        if (!parse_u64(v, (1ULL << 53) - 1, &a->seed))
            return usage_error(err, "--seed: expected an integer in [0, 2^53), got \"%s\"", v);
    } else if (!strcmp(opt, "--max-length")) {
        if (!parse_u64(v, 1 << 20, &n) || n < 2)
            return usage_error(err, "--max-length: expected an integer in [2, 1048576], got \"%s\"",
                               v);
        a->max_length = (int32_t)n;
    } else if (!strcmp(opt, "--shards")) {
        if (!parse_u64(v, 99999, &n) || n < 1)
            return usage_error(err, "--shards: expected an integer in [1, 99999], got \"%s\"", v);
        a->shards = (int)n;
    }
    return 0;
}

/* The options that take a value: the first N_STRING_OPTS are kept as given. */
enum { N_STRING_OPTS = 10 };
static const char *const VALUED[] = {"--input",
                                     "--test-file",
                                     "--text-field",
                                     "--label-field",
                                     "--tokenizer",
                                     "--output",
                                     "--inspect",
                                     "--split",
                                     "--prompt-field",
                                     "--completion-field",
                                     "--format",
                                     "--header",
                                     "--balance",
                                     "--seed",
                                     "--max-length",
                                     "--shards",
                                     "--task",
                                     "--truncation",
                                     "--completion-only-loss"};

/* One option with a value. 0 taken, 2 usage error, -1 not one of these. */
static int parse_valued(const char *opt, const char *v, shard_args *a, const char **split,
                        ft_error *err)
{
    const char **slots[N_STRING_OPTS] = {
        &a->input,  &a->test_file, &a->text_field, &a->label_field,  &a->tokenizer,
        &a->output, &a->inspect,   split,          &a->prompt_field, &a->completion_field};
    for (size_t i = 0; i < N_STRING_OPTS; i++)
        if (!strcmp(opt, VALUED[i])) {
            if (!v[0]) return usage_error(err, "%s needs a non-empty value", opt);
            *slots[i] = v;
            return 0;
        }
    if (!strcmp(opt, "--format") || !strcmp(opt, "--header") || !strcmp(opt, "--balance") ||
        !strcmp(opt, "--task") || !strcmp(opt, "--truncation") ||
        !strcmp(opt, "--completion-only-loss"))
        return parse_enum(opt, v, a, err);
    if (!strcmp(opt, "--seed") || !strcmp(opt, "--max-length") || !strcmp(opt, "--shards"))
        return parse_number(opt, v, a, err);
    return -1;
}

/* Flags of one task only. */
static int check_task_flags(const shard_args *a, ft_error *err)
{
    if (!a->lm && (a->prompt_field || a->completion_field || a->packing || a->lm_flag_given))
        return usage_error(
            err, "%s",
            "--prompt-field, --completion-field, --completion-only-loss, --truncation "
            "and --packing need --task causal_lm");
    if (a->lm &&
        (a->stratify || a->undersample || a->label_field || a->header != DATASET_HEADER_AUTO))
        return usage_error(err, "%s",
                           "--stratify, --balance, --label-field and --header are for "
                           "sequence_classification, not --task causal_lm");
    if (a->lm && a->text_field && (a->prompt_field || a->completion_field))
        return usage_error(err, "%s",
                           "--text-field (plain text) and --prompt-field/--completion-field "
                           "(prompt/completion pairs) exclude each other");
    return 0;
}

static int check_required(shard_args *a, const char *split, ft_error *err)
{
    if (a->inspect) return 0;
    int rc = check_task_flags(a, err);
    if (rc) return rc;
    if (!a->input) return usage_error(err, "%s", "--input PATH is required");
    if (!a->tokenizer) return usage_error(err, "%s", "--tokenizer MODEL_DIR is required");
    if (!a->output) return usage_error(err, "%s", "--output DIR is required");
    if (split && !parse_split(split, a->test_file != NULL, a->fractions))
        return usage_error(err,
                           a->test_file
                               ? "--split: expected train,validation fractions adding up to 1 "
                                 "(the test set is --test-file), got \"%s\""
                               : "--split: expected 2 (train,test) or 3 (train,validation,test) "
                                 "fractions in [0, 1] adding up to 1, got \"%s\"",
                           split);
    return 0;
}

static bool takes_value(const char *opt)
{
    for (size_t i = 0; i < sizeof VALUED / sizeof VALUED[0]; i++)
        if (!strcmp(opt, VALUED[i])) return true;
    return false;
}

int shard_args_parse(int argc, char **argv, shard_args *a, ft_error *err)
{
    *a = (shard_args){0};
    a->seed = 42;
    a->max_length = 128;
    a->shards = 1;
    a->completion_only_loss = true;
    const char *split = NULL;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) return 1;
        if (!strcmp(opt, "--stratify"))
            a->stratify = true;
        else if (!strcmp(opt, "--force"))
            a->force = true;
        else if (!strcmp(opt, "--skip-bad"))
            a->skip_bad = true;
        else if (!strcmp(opt, "--packing"))
            a->packing = true;
        else if (!takes_value(opt))
            return usage_error(err, "unknown option or stray argument \"%s\"", opt);
        else if (i + 1 >= argc)
            return usage_error(err, "%s needs a value", opt);
        else {
            int rc = parse_valued(opt, argv[++i], a, &split, err);
            if (rc) return rc;
        }
    }
    double defaults[2][SHARD_N_SPLITS] = {{0.8, 0.1, 0.1}, {0.9, 0.1, 0}};
    memcpy(a->fractions, defaults[a->test_file != NULL], sizeof a->fractions);
    return check_required(a, split, err);
}

/* The launcher's rank before MPI_Init (so usage errors need no MPI). */
static int launcher_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return atoi(getenv(vars[i]));
    return 0;
}

int main(int argc, char **argv)
{
    shard_args args;
    ft_error err = {0};
    /* Arguments first: help and usage errors exit without starting MPI. */
    int parsed = shard_args_parse(argc, argv, &args, &err);
    if (parsed == 1 && launcher_rank() == 0) fputs(SHARD_USAGE, stdout);
    if (parsed == 2 && launcher_rank() == 0) fprintf(stderr, "ftune-shard: %s\n", err.msg);
    if (parsed) return parsed == 1 ? 0 : 2;
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ft_log_init_from_env();
    ft_log_set_rank(rank, size);
    ft_status st = FT_OK;
    if (args.inspect)
        st =
            comm_agree(MPI_COMM_WORLD, rank == 0 ? shard_inspect(args.inspect, &err) : FT_OK, &err);
    else
        st = shard_run(&args, &err);
    if (st != FT_OK && rank == 0) fprintf(stderr, "ftune-shard: error: %s\n", err.msg);
    MPI_Finalize();
    return ft_status_exit_code(st);
}
