/* train_identity.c: which run a checkpoint belongs to.
 *
 * "Resume" must mean "continue the same run": the same model, data and
 * course (the keys below). A checkpoint records a fingerprint of those
 * settings (run_fingerprint) beside the whole config (its config
 * attribute); a resume whose config differs in any of them is refused,
 * naming each key with the checkpoint's value and the config's. The
 * fingerprint is the quick test and what tools can compare; the values
 * decide and explain, so a file written before the fingerprint existed is
 * judged the same way.
 *
 * Keys that may change on resume (logging, eval and save cadence, eval batch,
 * retention, async saves, bucket size, CPU/GPU, rank count, data_dir's path)
 * change how the run is watched or stored, not what it computes: they are
 * not listed. num_labels and tokenizer_name are not listed either: the label
 * set and the tokenizer fingerprint are in manifest.json, whose fingerprint
 * is (and a num_labels other than 0 must equal the manifest's count).
 *
 * Not here: reading the checkpoint (train_ckpt.c), the config keys
 * themselves (train_config.c). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"
#include "train_impl.h"

/* How a key's value is read before comparing: some values mean the same
 * thing written two ways, or are unused given another key. */
typedef enum { ID_PLAIN, ID_METRIC, ID_GREATER, ID_EPOCHS, ID_WARMUP_RATIO } id_rule;

/* One bound for a key's printed value, in the fingerprint and in the
 * comparison alike: two values that differ only past a shorter comparison
 * bound would change the fingerprint and yet list no difference. */
enum { ID_VALUE_BYTES = 1200 };

static const struct {
    const char *key;
    id_rule rule;
} IDENTITY_KEYS[] = {
    {"model_name_or_path", ID_PLAIN}, /* frozen tensors are reloaded from it */
    {"seed", ID_PLAIN},               /* data order, dropout, head init */
    {"learning_rate", ID_PLAIN},
    {"lr_scheduler_type", ID_PLAIN},
    {"warmup_steps", ID_PLAIN},
    {"warmup_ratio", ID_WARMUP_RATIO},
    {"weight_decay", ID_PLAIN},
    {"adam_beta1", ID_PLAIN},
    {"adam_beta2", ID_PLAIN},
    {"adam_epsilon", ID_PLAIN},
    {"max_grad_norm", ID_PLAIN},
    {"max_steps", ID_PLAIN}, /* the schedule's length */
    {"num_train_epochs", ID_EPOCHS},
    {"per_device_train_batch_size", ID_PLAIN}, /* the global batch (the rank */
    {"gradient_accumulation_steps", ID_PLAIN}, /* count adapts by itself)    */
    {"bf16", ID_PLAIN},
    {"fp16", ID_PLAIN},
    {"train_last_n_blocks", ID_PLAIN}, /* which tensors train and are saved */
    {"dropout", ID_PLAIN},
    {"metric_for_best_model", ID_METRIC}, /* the saved best_metric's meaning */
    {"greater_is_better", ID_GREATER},
};
enum { N_IDENTITY_KEYS = sizeof IDENTITY_KEYS / sizeof IDENTITY_KEYS[0] };

/* Shortest of %.15g / %.17g that reads back as v: 1e-3 prints "0.001". */
static void format_number(double v, char *out, size_t n)
{
    snprintf(out, n, "%.15g", v);
    if (strtod(out, NULL) != v) snprintf(out, n, "%.17g", v);
}

static const cfg_key_spec *key_spec(const char *key)
{
    size_t n = 0;
    const cfg_key_spec *specs = train_key_specs(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(specs[i].name, key) == 0) return &specs[i];
    return NULL;
}

/* key's value in config object j as text; absent (a file older than the
 * key): the key's default. */
static void raw_value(const cJSON *j, const char *key, char *out, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    const cfg_key_spec *spec = key_spec(key);
    if (cJSON_IsNumber(v))
        format_number(v->valuedouble, out, n);
    else if (cJSON_IsBool(v))
        snprintf(out, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsString(v))
        snprintf(out, n, "%s", v->valuestring);
    else if (!spec)
        snprintf(out, n, "?");
    else if (spec->type == CFG_INT || spec->type == CFG_FLOAT)
        format_number(strtod(spec->default_value, NULL), out, n);
    else
        snprintf(out, n, "%s", spec->default_value);
}

static void identity_value(const cJSON *j, int k, char *out, size_t n)
{
    char other[64];
    raw_value(j, IDENTITY_KEYS[k].key, out, n);
    switch (IDENTITY_KEYS[k].rule) {
    case ID_PLAIN: break;
    case ID_METRIC:
        if (strncmp(out, "eval_", 5) == 0) memmove(out, out + 5, strlen(out + 5) + 1);
        break;
    case ID_GREATER:
        if (strcmp(out, "auto") != 0) break;
        raw_value(j, "metric_for_best_model", other, sizeof other);
        snprintf(out, n, "%s",
                 strcmp(other, "loss") == 0 || strcmp(other, "eval_loss") == 0 ? "false" : "true");
        break;
    case ID_EPOCHS:
        raw_value(j, "max_steps", other, sizeof other);
        if (strtod(other, NULL) > 0) snprintf(out, n, "unused (max_steps > 0)");
        break;
    case ID_WARMUP_RATIO:
        raw_value(j, "warmup_steps", other, sizeof other);
        if (strtod(other, NULL) > 0) snprintf(out, n, "unused (warmup_steps > 0)");
        break;
    }
}

static void fnv1a(uint64_t *h, const char *s)
{
    for (; *s; s++) *h = (*h ^ (uint8_t)*s) * 0x100000001b3ULL;
}

ft_status train_run_fingerprint(const char *config_json, const char *data_fingerprint,
                                char out[TRAIN_FINGERPRINT_BYTES], ft_error *err)
{
    cJSON *j = cJSON_Parse(config_json);
    if (!j) return ft_fail(err, FT_ENOMEM, "out of memory (run fingerprint)");
    uint64_t h = 0xcbf29ce484222325ULL;
    char value[ID_VALUE_BYTES];
    for (int k = 0; k < N_IDENTITY_KEYS; k++) {
        identity_value(j, k, value, sizeof value);
        fnv1a(&h, IDENTITY_KEYS[k].key);
        fnv1a(&h, "=");
        fnv1a(&h, value);
        fnv1a(&h, "\n");
    }
    fnv1a(&h, "data_manifest=");
    fnv1a(&h, data_fingerprint);
    cJSON_Delete(j);
    snprintf(out, TRAIN_FINGERPRINT_BYTES, "fnv1a64:%016" PRIx64, h);
    return FT_OK;
}

/* Append "key: OLD in the checkpoint, NOW now; " to list (bounded). */
static void add_difference(char *list, size_t n, const char *key, const char *was, const char *now)
{
    size_t used = strlen(list);
    if (used + 4 >= n) return;
    int w = snprintf(list + used, n - used, "%s%s: %s in the checkpoint, %s now", used ? "; " : "",
                     key, was, now);
    if (w < 0 || (size_t)w >= n - used) snprintf(list + n - 5, 5, "...");
}

/* Every identity key whose value differs, into list ("" when none). */
static ft_status list_differences(const train_ctx *t, const ckpt_state *s, char *list, size_t n,
                                  ft_error *err)
{
    list[0] = '\0';
    cJSON *was = cJSON_Parse(s->config_json ? s->config_json : "{}");
    cJSON *now = cJSON_Parse(t->config_json);
    if (!was) was = cJSON_CreateObject(); /* unreadable: every key at its default */
    if (!was || !now) {
        cJSON_Delete(was);
        cJSON_Delete(now);
        return ft_fail(err, FT_ENOMEM, "out of memory (comparing configs)");
    }
    char a[ID_VALUE_BYTES], b[ID_VALUE_BYTES];
    for (int k = 0; k < N_IDENTITY_KEYS; k++) {
        identity_value(was, k, a, sizeof a);
        identity_value(now, k, b, sizeof b);
        if (strcmp(a, b) != 0) add_difference(list, n, IDENTITY_KEYS[k].key, a, b);
    }
    if (strcmp(s->data_fingerprint, t->data_fingerprint) != 0)
        add_difference(list, n, "data_dir's manifest.json", s->data_fingerprint,
                       t->data_fingerprint);
    cJSON_Delete(was);
    cJSON_Delete(now);
    return FT_OK;
}

ft_status train_identity_check(const train_ctx *t, const char *path, const ckpt_state *s,
                               bool named_by_resume, ft_error *err)
{
    if (s->run_fingerprint[0] && strcmp(s->run_fingerprint, t->run_fingerprint) == 0) return FT_OK;
    char list[600];
    ft_status st = list_differences(t, s, list, sizeof list, err);
    if (st != FT_OK || !list[0]) return st;
    if (named_by_resume)
        return ft_fail(err, FT_EINVAL,
                       "key 'resume': %s belongs to another run than this config (%s). Resuming "
                       "continues a run with its own settings: use the checkpoint's values, or "
                       "to train on from its weights as a new run, give that run's final/ as "
                       "model_name_or_path with a new output_dir",
                       path, list);
    return ft_fail(err, FT_EINVAL,
                   "output_dir %s holds checkpoints of another run (%s: %s). Resuming it with "
                   "this config would mix the two runs. Use a new output_dir for this config, "
                   "or the checkpoint's values to continue that run (--resume never is refused "
                   "too while the folder holds checkpoints: move them away yourself first)",
                   t->o.output_dir, path, list);
}
