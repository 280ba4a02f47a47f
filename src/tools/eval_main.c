/* ftune-eval: sharded evaluation of a fine-tuned classifier (or a decoder
 * LLM's perplexity) on a prepared dataset, with exact metrics and a report
 * (src/eval/include/eval/eval.h).
 *
 * A thin shell: parse the command line, start MPI, call eval_run, print
 * where the report is, turn the status into an exit code (0 done, 1 runtime
 * failure, 2 usage or input error). Every rank parses the same arguments, so
 * a usage error stops every rank alike; only rank 0 prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "eval/eval.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"

static const char USAGE[] =
    "usage: ftune-eval --model DIR --data DIR --output DIR [--split test|validation]\n"
    "                  [--batch-size N] [--bf16] [--cpu] [--log PATH] [--checkpoint FILE]\n"
    "                  [--force]\n"
    "  Scores the split of a prepared dataset (ftune-shard's folder: manifest.json\n"
    "  and shards) with a fine-tuned Hugging Face model folder (config.json,\n"
    "  model.safetensors, tokenizer files; ftune-train writes OUTPUT/final) on every\n"
    "  MPI rank, each rank a contiguous slice (every example exactly once), and\n"
    "  writes DIR/report.json, report.md, report.html and predictions.jsonl.\n"
    "  A decoder LLM folder (Llama, Qwen2, Mistral, Phi-3) on a causal_lm dataset\n"
    "  (ftune-shard --task causal_lm, unpacked) is scored by its mean token loss\n"
    "  and perplexity = exp(loss), reported instead of the classification metrics\n"
    "  (no predictions.jsonl).\n"
    "  --split S       test (default) or validation\n"
    "  --batch-size N  rows per model forward (default 16; a decoder: 4, its\n"
    "                  logits are rows x max_length x vocab floats); memory grows:\n"
    "                  about 14 MB per row for BERT-base at 128 tokens. The figures\n"
    "                  are bitwise the same for any number of ranks at one batch size\n"
    "                  and one OMP_NUM_THREADS\n"
    "  --bf16          bf16 mixed precision: the blocks' matrix products take bf16\n"
    "                  operands with float32 sums, the rest stays float32 (about\n"
    "                  2x faster on CPUs with AVX512-BF16 or AMX; metrics move by\n"
    "                  bf16 rounding, see docs/DESIGN.md)\n"
    "  --cpu           run on the CPU even where a CUDA build sees a GPU on\n"
    "                  every rank (default: the GPUs, one per rank)\n"
    "  --log PATH      training log.jsonl for the loss curves of report.html\n"
    "                  (default: MODEL/../log.jsonl when it exists)\n"
    "  --checkpoint F  score the weights of ftune checkpoint F (checkpoint-STEP.h5);\n"
    "                  --model then names the folder training started from\n"
    "                  (architecture and tokenizer)\n"
    "  --force         replace an existing report in --output\n"
    "  Exit status: 0 done, 1 runtime failure, 2 bad usage or input.\n";

typedef struct args {
    eval_options o;
    char *log_default;
} args;

static int parse_count(const char *flag, const char *v, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < 1 || n > 1 << 20) {
        ft_log_error("%s: expected an integer in [1, 1048576], got \"%s\"", flag, v);
        return 2;
    }
    *out = (int)n;
    return 0;
}

static int parse_value(args *a, const char *flag, const char *v)
{
    eval_options *o = &a->o;
    if (!strcmp(flag, "--model"))
        o->model_dir = v;
    else if (!strcmp(flag, "--data"))
        o->data_dir = v;
    else if (!strcmp(flag, "--output"))
        o->output_dir = v;
    else if (!strcmp(flag, "--log"))
        o->log_path = v;
    else if (!strcmp(flag, "--checkpoint"))
        o->checkpoint = v;
    else if (!strcmp(flag, "--split")) {
        if (strcmp(v, "test") && strcmp(v, "validation")) {
            ft_log_error("--split: expected test or validation, got \"%s\"", v);
            return 2;
        }
        o->split = v;
    } else if (!strcmp(flag, "--batch-size"))
        return parse_count(flag, v, &o->batch_size);
    else {
        ft_log_error("unknown option %s (see ftune-eval -h)", flag);
        return 2;
    }
    return 0;
}

/* The default log: MODEL/../log.jsonl (ftune-train writes OUTPUT/log.jsonl
 * and OUTPUT/final), when it exists. */
static void default_log(args *a)
{
    if (a->o.log_path || !a->o.model_dir) return;
    char *parent = ft_path_join(a->o.model_dir, "..");
    char *log = parent ? ft_path_join(parent, "log.jsonl") : NULL;
    free(parent);
    if (log && ft_path_exists(log))
        a->o.log_path = a->log_default = log;
    else
        free(log);
}

/* 0 parsed, 1 help printed, 2 usage error. */
static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->o.split = "test";
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return 1;
        if (!strcmp(f, "--force")) {
            a->o.force = true;
            continue;
        }
        if (!strcmp(f, "--bf16")) {
            a->o.bf16 = true;
            continue;
        }
        if (!strcmp(f, "--cpu")) {
            a->o.use_cpu = true;
            continue;
        }
        if (i + 1 >= argc || f[0] != '-') {
            ft_log_error(f[0] == '-' ? "%s needs a value" : "unexpected argument \"%s\"", f);
            return 2;
        }
        int rc = parse_value(a, f, argv[++i]);
        if (rc) return rc;
    }
    const char *missing = !a->o.model_dir    ? "--model"
                          : !a->o.data_dir   ? "--data"
                          : !a->o.output_dir ? "--output"
                                             : NULL;
    if (missing) {
        ft_log_error("%s is required (see ftune-eval -h)", missing);
        return 2;
    }
    if (!ft_is_dir(a->o.model_dir)) {
        ft_log_error("--model %s: not a folder; ftune-eval reads a Hugging Face model folder "
                     "(for an ftune checkpoint: --model FOLDER_TRAINING_STARTED_FROM "
                     "--checkpoint FILE.h5)",
                     a->o.model_dir);
        return 2;
    }
    default_log(a);
    return 0;
}

/* argv joined by spaces, for report.json. */
static char *command_line(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = ft_calloc_array(n, 1);
    for (int i = 0; s && i < argc; i++) {
        if (i) strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ft_log_init_from_env();
    ft_log_set_rank(rank, size);
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == 1) {
        if (rank == 0) fputs(USAGE, stdout);
        rc = 0;
    } else if (rc == 0) {
        char *cmd = command_line(argc, argv);
        a.o.command_line = cmd;
        ft_error err = {0};
        eval_summary s;
        ft_status st = cmd ? eval_run(&a.o, MPI_COMM_WORLD, &s, &err)
                           : ft_fail(&err, FT_ENOMEM, "out of memory");
        if (st != FT_OK && rank == 0) fprintf(stderr, "ftune-eval: %s\n", err.msg);
        if (st == FT_OK && rank == 0 && s.causal_lm) {
            fprintf(stderr,
                    "ftune-eval: %lld examples, %lld tokens scored, mean token loss "
                    "%.4f, perplexity %.4f\n",
                    (long long)s.num_examples, (long long)s.num_tokens, s.loss, s.perplexity);
            printf("%s/report.html\n", a.o.output_dir);
        } else if (st == FT_OK && rank == 0) {
            fprintf(stderr,
                    "ftune-eval: %lld examples, accuracy %.4f, loss %.4f, "
                    "%.1f examples/s\n",
                    (long long)s.num_examples, s.accuracy, s.loss, s.examples_per_s);
            printf("%s/report.html\n", a.o.output_dir);
        }
        rc = ft_status_exit_code(st);
        free(cmd);
    }
    free(a.log_default);
    MPI_Finalize();
    return rc;
}
