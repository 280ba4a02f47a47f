/* ftune-predict: labels and class probabilities of new texts.
 *
 * Texts come from the arguments, from --file (one per line) or from standard
 * input (one per line); each gives one output line: the predicted label's
 * name and the probability of every class, or with --json an object
 * {"index":I,"label":NAME,"label_id":K,"probabilities":[...],"logits":[...],
 * "truncated":B} (logits: the classifier's raw scores, as transformers'
 * outputs.logits; the only output that means anything for num_labels 1).
 *
 * Design for a fast start: no MPI_Init (one process), the weights read
 * through the memory-mapped safetensors file (src/st), activations planned
 * for the batches actually seen (a short text plans, touches and zeroes
 * little memory), and each batch run with as many positions as its longest
 * text (not max_length), so a short text costs a short forward. Two more
 * measures, each worth a factor on a BERT-base folder (docs/PERFORMANCE.md "ftune-predict start-up"):
 *   - Transparent huge pages for the parameter buffer (model_create asks
 *     for them, ft_calloc_large): copying 440 MB of weights into 4 KiB
 *     pages would cost some 110,000 page faults (about 2 s of CPU on a
 *     virtual machine).
 *   - One OpenMP thread for small batches (under 1024 tokens): a forward of
 *     a few tokens is too short to share, and a second thread spin-waiting
 *     at each barrier is slower, badly so on a busy node.
 * The probabilities are eval_softmax's, the function ftune-eval uses. Texts
 * are batched (8 per forward) when they come from arguments, a file or a
 * pipe; from a terminal each line is answered as it is typed.
 * Not here: MPI, pairs of texts, GPU, decoder LLMs (refused by name: a
 * generation program is to come). */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device/device.h"
#include "eval/eval.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "hf/hf_llm.h"
#include "hf/hf_model.h"
#include "shard/shard.h"
#include "tok/tok.h"

static const char USAGE[] =
    "usage: ftune-predict --model DIR [--json] [--bf16] [--max-length N] [--file PATH]\n"
    "                     [TEXT...]\n"
    "  Prints the predicted label and the class probabilities of each text, one line\n"
    "  per text: LABEL<TAB>NAME=P<TAB>NAME=P... (--json: one JSON object per line,\n"
    "  with the probabilities and the raw logits).\n"
    "  Texts are the arguments, else the lines of --file PATH, else the lines of\n"
    "  standard input. DIR is a fine-tuned Hugging Face model folder (config.json,\n"
    "  model.safetensors with a classification head, tokenizer files).\n"
    "  --max-length N  tokens per text, longer texts are truncated (default: the\n"
    "                  model's max_position_embeddings, at most 512)\n"
    "  --bf16          the blocks' matrix products in bf16 (see ftune-eval -h)\n"
    "  --timing        print on stderr the seconds spent loading and answering\n"
    "  Exit status: 0 done, 1 runtime failure, 2 bad usage or input.\n";

enum { PREDICT_BATCH = 8 };

typedef struct predictor {
    model *m;
    hf_config cfg;
    tok_tokenizer *tok;
    int max_length, k;
    int plan_b, plan_t; /* the activation plan: grown to the largest batch seen */
    int threads;        /* OpenMP threads for large batches */
    bool json;
    shard_rows texts;  /* the batch's texts tokenized, PREDICT_BATCH rows of max_length */
    shard_batch batch; /* the rows given to the model, cut to the longest */
    float *probs;
    bool truncated[PREDICT_BATCH];
    long done; /* texts answered */
} predictor;

typedef struct opts {
    const char *model, *file;
    int max_length;
    bool json, timing, bf16;
    int first_text; /* argv index of the first TEXT, or argc */
} opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ftune-predict: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see ftune-predict -h)\n");
    return 2;
}

/* 0 parsed, 1 help printed, 2 usage error. */
static int parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){.max_length = 0, .first_text = argc};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value =
            !strcmp(a, "--model") || !strcmp(a, "--file") || !strcmp(a, "--max-length");
        if (has_value && i + 1 >= argc) return usage_error("%s needs a value", a);
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        } else if (!strcmp(a, "--model")) {
            o->model = argv[++i];
        } else if (!strcmp(a, "--file")) {
            o->file = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--bf16")) {
            o->bf16 = true;
        } else if (!strcmp(a, "--timing")) {
            o->timing = true;
        } else if (!strcmp(a, "--max-length")) {
            char *end;
            errno = 0;
            long n = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || n < 2 || n > 1 << 20)
                return usage_error("--max-length: expected an integer >= 2, got \"%s\"", argv[i]);
            o->max_length = (int)n;
        } else if (!strcmp(a, "--")) {
            o->first_text = i + 1;
            break;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option %s", a);
        } else {
            o->first_text = i;
            break;
        }
    }
    if (!o->model) return usage_error("%s is required", "--model DIR");
    if (o->file && o->first_text < argc)
        return usage_error("%s", "give texts as arguments or --file, not both");
    return 0;
}

static ft_status predictor_open(predictor *p, const opts *o, ft_error *err)
{
    memset(p, 0, sizeof *p);
    p->json = o->json;
    p->threads = omp_get_max_threads();
    /* A decoder's config.json is not a classifier's: say what it is rather
     * than which classifier key it lacks. */
    if (hf_llm_folder_is_decoder(o->model))
        return ft_fail(err, FT_EINVAL,
                       "%s is a decoder LLM (causal LM): ftune-predict "
                       "scores sequence classifiers; for decoder LLMs use ftune-generate "
                       "(not there yet); ftune-eval reports a decoder's perplexity on a "
                       "causal_lm dataset",
                       o->model);
    char *config_path = ft_path_join(o->model, "config.json");
    hf_config probe = {0};
    ft_status st = config_path ? hf_config_load(config_path, &probe, err)
                               : ft_fail(err, FT_ENOMEM, "out of memory");
    free(config_path);
    if (st == FT_OK) st = eval_check_head(o->model, &probe, err);
    hf_config_free(&probe);
    if (st == FT_OK) st = tok_open(o->model, &p->tok, err);
    hf_model_load_options lo = {0};
    if (st == FT_OK) st = hf_model_load(o->model, &lo, &p->m, &p->cfg, err);
    bool bf16 = o->bf16;
    device_choice cpu = {.gpu = false, .gpu_index = -1, .name = "cpu"};
    if (st == FT_OK) st = device_cpu_gemm(err);
    if (st == FT_OK) st = device_bf16_decide(MPI_COMM_NULL, &cpu, &bf16, err);
    if (st == FT_OK && bf16) st = model_set_bf16(p->m, true, err);
    if (st != FT_OK) return st;
    int limit = p->cfg.max_position_embeddings;
    p->max_length = o->max_length ? o->max_length : (limit < 512 ? limit : 512);
    if (p->max_length > limit)
        return ft_fail(err, FT_EINVAL,
                       "--max-length %d exceeds the model's "
                       "max_position_embeddings %d",
                       p->max_length, limit);
    p->k = p->cfg.num_labels;
    st = shard_rows_alloc(&p->texts, PREDICT_BATCH, p->max_length, true, err);
    if (st == FT_OK) st = shard_batch_init(&p->batch, PREDICT_BATCH, p->max_length, err);
    p->probs = ft_malloc_array((size_t)p->k, sizeof(float));
    if (st == FT_OK && !p->probs) st = ft_fail(err, FT_ENOMEM, "out of memory");
    return st;
}

/* Plan activations for b rows of t tokens unless the plan already holds
 * them. Planned lazily and in steps (t rounded up to 32, at least 64) so
 * one short text touches little memory and a stream re-plans rarely. */
static ft_status predictor_plan(predictor *p, int b, int t, ft_error *err)
{
    if (b <= p->plan_b && t <= p->plan_t) return FT_OK;
    int nb = b > p->plan_b ? b : p->plan_b, nt = t > p->plan_t ? t : p->plan_t;
    nt = (nt + 31) / 32 * 32;
    nt = nt < 64 ? 64 : nt;
    nt = nt > p->max_length ? p->max_length : nt;
    ft_status st = model_plan_inference(p->m, nb, nt, err);
    if (st == FT_OK) {
        p->plan_b = nb;
        p->plan_t = nt;
    }
    return st;
}

static void predictor_close(predictor *p)
{
    shard_rows_free(&p->texts);
    shard_batch_free(&p->batch);
    free(p->probs);
    model_free(p->m);
    hf_config_free(&p->cfg);
    tok_close(p->tok);
}

static const char *label_name(const predictor *p, int k, char *buf)
{
    if (p->cfg.id2label && p->cfg.id2label[k]) return p->cfg.id2label[k];
    snprintf(buf, 24, "LABEL_%d", k);
    return buf;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_result(predictor *p, const float *logits, bool truncated)
{
    char buf[24];
    int pred = 0;
    eval_softmax(logits, p->k, -1, p->probs, &pred);
    if (p->json) {
        printf("{\"index\":%ld,\"label\":", p->done);
        json_string(label_name(p, pred, buf));
        printf(",\"label_id\":%d,\"probabilities\":[", pred);
        for (int c = 0; c < p->k; c++) printf(c ? ",%.9g" : "%.9g", (double)p->probs[c]);
        printf("],\"logits\":[");
        for (int c = 0; c < p->k; c++) printf(c ? ",%.9g" : "%.9g", (double)logits[c]);
        printf("],\"truncated\":%s}\n", truncated ? "true" : "false");
    } else {
        fputs(label_name(p, pred, buf), stdout);
        for (int c = 0; c < p->k; c++)
            printf("\t%s=%.6f", label_name(p, c, buf), (double)p->probs[c]);
        putchar('\n');
    }
    p->done++;
}

/* Texts [0..n) tokenized into rows of p->texts, then gathered into
 * p->batch through the data path training and evaluation use
 * (shard_batch_gather: rows cut to the longest, so a short text costs a
 * short forward). */
static ft_status tokenize_batch(predictor *p, char **texts, int n, ft_error *err)
{
    uint64_t idx[PREDICT_BATCH];
    for (int i = 0; i < n; i++) {
        int32_t *row = (int32_t *)p->texts.input_ids + (size_t)i * (size_t)p->max_length;
        ft_status st = tok_encode_for_model(p->tok, texts[i], strlen(texts[i]), p->max_length, row,
                                            &p->texts.lengths[i], &p->truncated[i], err);
        if (st == FT_OK && p->texts.lengths[i] < 1)
            st = ft_fail(err, FT_EINVAL, "the text has no tokens");
        if (st != FT_OK) {
            ft_error_prefix(err, "text %ld", p->done + i + 1);
            return st;
        }
        p->texts.labels[i] = 0; /* unknown; the model is given none */
        p->texts.example_index[i] = p->done + i;
        idx[i] = (uint64_t)i;
    }
    shard_batch_gather(&p->batch, &p->texts, idx, n);
    return FT_OK;
}

/* Score texts[0..n) (n <= PREDICT_BATCH) and print their lines. */
static ft_status predict_batch(predictor *p, char **texts, int n, ft_error *err)
{
    ft_status st = tokenize_batch(p, texts, n, err);
    if (st != FT_OK) return st;
    int t = p->batch.t;
    model_batch b = {n, t, p->batch.ids, p->batch.lengths, NULL, NULL};
    model_dropout off = {false, 0, 0};
    omp_set_num_threads(n * t < 1024 ? 1 : p->threads);
    st = predictor_plan(p, n, t, err);
    if (st == FT_OK) st = model_forward(p->m, &b, &off, NULL, err);
    if (st != FT_OK) return st;
    const float *logits = model_logits(p->m);
    for (int i = 0; i < n; i++) print_result(p, logits + (size_t)i * p->k, p->truncated[i]);
    return fflush(stdout) == 0 ? FT_OK : ft_fail(err, FT_EIO, "writing the output failed");
}

/* Lines of f, PREDICT_BATCH at a time (one at a time from a terminal). */
static ft_status predict_lines(predictor *p, FILE *f, const char *name, ft_error *err)
{
    int per_batch = isatty(fileno(f)) ? 1 : PREDICT_BATCH, n = 0;
    char *texts[PREDICT_BATCH] = {0};
    size_t caps[PREDICT_BATCH] = {0};
    ft_status st = FT_OK;
    long line = 0;
    while (st == FT_OK) {
        ssize_t len = getline(&texts[n], &caps[n], f);
        if (len < 0) break;
        line++;
        while (len > 0 && (texts[n][len - 1] == '\n' || texts[n][len - 1] == '\r'))
            texts[n][--len] = '\0';
        if (++n == per_batch) {
            st = predict_batch(p, texts, n, err);
            n = 0;
        }
    }
    if (st == FT_OK && ferror(f))
        st =
            ft_fail(err, FT_EIO, "%s: read failed after line %ld: %s", name, line, strerror(errno));
    if (st == FT_OK && n > 0) st = predict_batch(p, texts, n, err);
    if (st != FT_OK) ft_error_prefix(err, "%s", name);
    for (int i = 0; i < PREDICT_BATCH; i++) free(texts[i]);
    return st;
}

static ft_status predict_all(predictor *p, const opts *o, int argc, char **argv, ft_error *err)
{
    if (o->first_text < argc) {
        ft_status st = FT_OK;
        for (int i = o->first_text; i < argc && st == FT_OK; i += PREDICT_BATCH) {
            int n = argc - i < PREDICT_BATCH ? argc - i : PREDICT_BATCH;
            st = predict_batch(p, argv + i, n, err);
        }
        return st;
    }
    if (!o->file || !strcmp(o->file, "-")) return predict_lines(p, stdin, "<stdin>", err);
    FILE *f = fopen(o->file, "r");
    if (!f) return ft_fail(err, FT_ENOTFOUND, "%s: cannot open: %s", o->file, strerror(errno));
    ft_status st = predict_lines(p, f, o->file, err);
    fclose(f);
    return st;
}

int main(int argc, char **argv)
{
    ft_log_init_from_env();
    opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    predictor p;
    ft_error err = {0};
    double t0 = now_s();
    ft_status st = predictor_open(&p, &o, &err);
    double t1 = now_s();
    if (st == FT_OK) st = predict_all(&p, &o, argc, argv, &err);
    if (o.timing)
        fprintf(stderr,
                "ftune-predict: model and tokenizer loaded in %.3f s, %ld text(s) "
                "answered in %.3f s\n",
                t1 - t0, p.done, now_s() - t1);
    if (st != FT_OK) fprintf(stderr, "ftune-predict: %s\n", err.msg);
    predictor_close(&p);
    return ft_status_exit_code(st);
}
