/* hf_config: the config.json of the real bert-base-uncased and gpt2
 * checkpoints (as published on the Hugging Face hub), transformers' label
 * rules, refusal of settings ftune does not compute (naming the key),
 * hostile documents (100,000 labels, the cap, checked sorted rather than
 * pairwise), round trips of unknown keys through write, and the
 * parameter tables against the well-known parameter counts of the two
 * models (BertModel 109,482,240; GPT2Model 124,439,808). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/ft_fs.h"
#include "hf/hf_config.h"
#include "metrics/metrics.h"
#include "shard/shard.h"

static char tmpdir[] = "/tmp/ftune_test_hf_config.XXXXXX";

/* bert-base-uncased/config.json */
static const char BERT_BASE[] = "{\n"
                                "  \"architectures\": [\"BertForMaskedLM\"],\n"
                                "  \"attention_probs_dropout_prob\": 0.1,\n"
                                "  \"gradient_checkpointing\": false,\n"
                                "  \"hidden_act\": \"gelu\",\n"
                                "  \"hidden_dropout_prob\": 0.1,\n"
                                "  \"hidden_size\": 768,\n"
                                "  \"initializer_range\": 0.02,\n"
                                "  \"intermediate_size\": 3072,\n"
                                "  \"layer_norm_eps\": 1e-12,\n"
                                "  \"max_position_embeddings\": 512,\n"
                                "  \"model_type\": \"bert\",\n"
                                "  \"num_attention_heads\": 12,\n"
                                "  \"num_hidden_layers\": 12,\n"
                                "  \"pad_token_id\": 0,\n"
                                "  \"position_embedding_type\": \"absolute\",\n"
                                "  \"transformers_version\": \"4.6.0.dev0\",\n"
                                "  \"type_vocab_size\": 2,\n"
                                "  \"use_cache\": true,\n"
                                "  \"vocab_size\": 30522\n"
                                "}\n";

/* gpt2/config.json */
static const char GPT2[] = "{\n"
                           "  \"activation_function\": \"gelu_new\",\n"
                           "  \"architectures\": [\"GPT2LMHeadModel\"],\n"
                           "  \"attn_pdrop\": 0.1,\n"
                           "  \"bos_token_id\": 50256,\n"
                           "  \"embd_pdrop\": 0.1,\n"
                           "  \"eos_token_id\": 50256,\n"
                           "  \"initializer_range\": 0.02,\n"
                           "  \"layer_norm_epsilon\": 1e-05,\n"
                           "  \"model_type\": \"gpt2\",\n"
                           "  \"n_ctx\": 1024,\n"
                           "  \"n_embd\": 768,\n"
                           "  \"n_head\": 12,\n"
                           "  \"n_layer\": 12,\n"
                           "  \"n_positions\": 1024,\n"
                           "  \"resid_pdrop\": 0.1,\n"
                           "  \"summary_activation\": null,\n"
                           "  \"summary_first_dropout\": 0.1,\n"
                           "  \"summary_proj_to_labels\": true,\n"
                           "  \"summary_type\": \"cls_index\",\n"
                           "  \"summary_use_proj\": true,\n"
                           "  \"task_specific_params\": {\n"
                           "    \"text-generation\": {\"do_sample\": true, \"max_length\": 50}\n"
                           "  },\n"
                           "  \"vocab_size\": 50257\n"
                           "}\n";

static ft_status parse(const char *text, hf_config *c, ft_error *err)
{
    return hf_config_parse(text, strlen(text), "test.json", c, err);
}

static void test_bert_base(void)
{
    hf_config c;
    ft_error err;
    CHECK(parse(BERT_BASE, &c, &err) == FT_OK);
    CHECK(c.arch == HF_ARCH_BERT);
    CHECK(c.vocab_size == 30522 && c.hidden_size == 768 && c.num_hidden_layers == 12);
    CHECK(c.num_attention_heads == 12 && c.intermediate_size == 3072);
    CHECK(c.max_position_embeddings == 512 && c.type_vocab_size == 2);
    CHECK(c.layer_norm_eps == 1e-12 && c.initializer_range == 0.02);
    CHECK(c.hidden_dropout_prob == 0.1 && c.embedding_dropout_prob == 0.1);
    CHECK(c.attention_probs_dropout_prob == 0.1);
    CHECK(c.classifier_dropout == 0.1); /* absent: hidden_dropout_prob */
    CHECK(c.hidden_act == HF_ACT_GELU && !strcmp(c.hidden_act_name, "gelu"));
    CHECK(c.pad_token_id == 0 && c.problem_type == NULL);
    CHECK(c.num_labels == 2 && !strcmp(c.id2label[0], "LABEL_0") &&
          !strcmp(c.id2label[1], "LABEL_1"));
    CHECK(!strcmp(c.path, "test.json"));
    hf_config_free(&c);
    hf_config_free(&c); /* twice, and NULL, are fine */
    hf_config_free(NULL);
}

static void test_gpt2(void)
{
    hf_config c;
    ft_error err;
    CHECK(parse(GPT2, &c, &err) == FT_OK);
    CHECK(c.arch == HF_ARCH_GPT2);
    CHECK(c.vocab_size == 50257 && c.hidden_size == 768 && c.num_hidden_layers == 12);
    CHECK(c.num_attention_heads == 12 && c.intermediate_size == 3072); /* 4 * n_embd */
    CHECK(c.max_position_embeddings == 1024 && c.type_vocab_size == 0);
    CHECK(c.layer_norm_eps == 1e-5 && c.classifier_dropout == 0.0);
    CHECK(c.hidden_act == HF_ACT_GELU_TANH && !strcmp(c.hidden_act_name, "gelu_new"));
    CHECK(c.pad_token_id == -1 && c.num_labels == 2);
    hf_config_free(&c);
    /* n_inner given; other tanh spellings; pad id set */
    CHECK(parse("{\"model_type\":\"gpt2\",\"n_embd\":64,\"n_head\":4,\"n_inner\":100,"
                "\"activation_function\":\"gelu_pytorch_tanh\",\"pad_token_id\":7}",
                &c, &err) == FT_OK);
    CHECK(c.intermediate_size == 100 && c.hidden_act == HF_ACT_GELU_TANH && c.pad_token_id == 7);
    hf_config_free(&c);
    /* architectures alone identify the family */
    CHECK(parse("{\"architectures\":[\"BertForMaskedLM\"]}", &c, &err) == FT_OK);
    CHECK(c.arch == HF_ARCH_BERT && c.hidden_size == 768);
    hf_config_free(&c);
    CHECK(parse("{\"architectures\":[\"GPT2LMHeadModel\"]}", &c, &err) == FT_OK);
    CHECK(c.arch == HF_ARCH_GPT2 && c.max_position_embeddings == 1024);
    hf_config_free(&c);
}

static void test_defaults(void)
{
    hf_config c;
    ft_error err;
    CHECK(hf_config_default(HF_ARCH_BERT, &c, &err) == FT_OK);
    CHECK(c.arch == HF_ARCH_BERT && c.vocab_size == 30522 && c.num_labels == 2 &&
          c.pad_token_id == 0 && c.hidden_act == HF_ACT_GELU);
    hf_config_free(&c);
    CHECK(hf_config_default(HF_ARCH_GPT2, &c, &err) == FT_OK);
    CHECK(c.arch == HF_ARCH_GPT2 && c.vocab_size == 50257 && c.intermediate_size == 3072 &&
          c.pad_token_id == -1 && c.hidden_act == HF_ACT_GELU_TANH);
    hf_config_free(&c);
}

static void test_labels(void)
{
    hf_config c;
    ft_error err;
    /* id2label wins over a disagreeing num_labels (transformers warns) */
    CHECK(parse("{\"model_type\":\"bert\",\"num_labels\":5,"
                "\"id2label\":{\"1\":\"pos\",\"0\":\"neg\",\"2\":\"mixed\"},"
                "\"label2id\":{\"neg\":0,\"pos\":1,\"mixed\":2}}",
                &c, &err) == FT_OK);
    CHECK(c.num_labels == 3 && !strcmp(c.id2label[0], "neg") && !strcmp(c.id2label[1], "pos") &&
          !strcmp(c.id2label[2], "mixed"));
    static const char *const names[] = {"a", "b", "c", "d"};
    CHECK(hf_config_set_labels(&c, names, 4, &err) == FT_OK);
    CHECK(c.num_labels == 4 && !strcmp(c.id2label[3], "d"));
    static const char *const repeated[] = {"x", "y", "x"};
    CHECK(hf_config_set_labels(&c, repeated, 3, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "\"x\" names both label 0 and label 2");
    static const char *const empty[] = {"x", ""};
    CHECK(hf_config_set_labels(&c, empty, 2, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "label 1 is empty");
    CHECK(hf_config_set_labels(&c, names, 0, &err) == FT_EINVAL);
    CHECK(c.num_labels == 4 && !strcmp(c.id2label[0], "a")); /* unchanged by failures */
    hf_config_free(&c);
    /* num_labels alone */
    CHECK(parse("{\"model_type\":\"gpt2\",\"num_labels\":4}", &c, &err) == FT_OK);
    CHECK(c.num_labels == 4 && !strcmp(c.id2label[3], "LABEL_3"));
    hf_config_free(&c);
    CHECK(parse("{\"model_type\":\"gpt2\",\"num_labels\":1}", &c, &err) == FT_OK);
    CHECK(c.num_labels == 1);
    hf_config_free(&c);
}

static const struct {
    const char *json, *phrase;
} bad_labels[] = {
    {"{\"model_type\":\"bert\",\"id2label\":{\"0\":\"a\",\"2\":\"b\"}}",
     "key 'id2label': key \"2\" is not a label id in [0, 2)"},
    {"{\"model_type\":\"bert\",\"id2label\":{\"0\":\"a\",\"01\":\"b\"}}",
     "\"01\" is not a label id"},
    {"{\"model_type\":\"bert\",\"id2label\":{\"0\":\"a\",\"-1\":\"b\"}}",
     "\"-1\" is not a label id"},
    {"{\"model_type\":\"bert\",\"id2label\":{\"0\":\"a\",\"0\":\"b\"}}", "id 0 appears twice"},
    {"{\"model_type\":\"bert\",\"id2label\":{\"0\":\"a\",\"1\":\"a\"}}",
     "label \"a\" names both id 0 and id 1"},
    {"{\"model_type\":\"bert\",\"id2label\":{\"0\":\"a\",\"1\":2}}",
     "key 'id2label': expected non-empty label names"},
    {"{\"model_type\":\"bert\",\"id2label\":{}}", "key 'id2label': expected a non-empty object"},
    {"{\"model_type\":\"bert\",\"id2label\":[\"a\",\"b\"]}", "key 'id2label'"},
    {"{\"model_type\":\"bert\",\"label2id\":[1]}", "key 'label2id'"},
    {"{\"model_type\":\"bert\",\"num_labels\":0}", "key 'num_labels': expected an integer in [1,"},
    {"{\"model_type\":\"bert\",\"num_labels\":2.5}", "key 'num_labels'"},
    /* the cap (HF_MAX_LABELS), not the old 2^20 */
    {"{\"model_type\":\"bert\",\"num_labels\":100001}",
     "key 'num_labels': expected an integer in [1, 100000], got 100001"},
    {"{\"model_type\":\"bert\",\"num_labels\":1048576}", "key 'num_labels'"},
    {"{\"model_type\":\"bert\",\"problem_type\":\"ranking\"}", "key 'problem_type'"},
};

/* Settings transformers would compute differently, and bad values. */
static const struct {
    const char *json, *phrase;
} refused[] = {
    {"{\"model_type\":\"roberta\"}", "key 'model_type' = \"roberta\" is not supported"},
    {"{\"model_type\":7}", "key 'model_type': expected a string"},
    {"{\"architectures\":[\"T5Model\"]}", "key 'model_type' is missing"},
    {"{\"model_type\":\"bert\",\"position_embedding_type\":\"relative_key\"}",
     "key 'position_embedding_type' = \"relative_key\" is not supported"},
    {"{\"model_type\":\"bert\",\"hidden_act\":\"relu\"}",
     "key 'hidden_act' = \"relu\" is not supported"},
    {"{\"model_type\":\"bert\",\"hidden_act\":null}", "key 'hidden_act' = null"},
    {"{\"model_type\":\"gpt2\",\"activation_function\":\"silu\"}", "key 'activation_function'"},
    {"{\"model_type\":\"bert\",\"is_decoder\":true}", "key 'is_decoder' = true is not supported"},
    {"{\"model_type\":\"bert\",\"add_cross_attention\":true}", "key 'add_cross_attention'"},
    {"{\"model_type\":\"gpt2\",\"scale_attn_by_inverse_layer_idx\":true}",
     "key 'scale_attn_by_inverse_layer_idx' = true is not supported"},
    {"{\"model_type\":\"gpt2\",\"scale_attn_weights\":false}", "key 'scale_attn_weights' = false"},
    {"{\"model_type\":\"gpt2\",\"scale_attn_weights\":\"yes\"}",
     "key 'scale_attn_weights': expected true or false"},
    {"{\"model_type\":\"bert\",\"pruned_heads\":{\"0\":[1]}}", "key 'pruned_heads'"},
    {"{\"model_type\":\"bert\",\"hidden_size\":\"768\"}", "key 'hidden_size': expected an integer"},
    {"{\"model_type\":\"bert\",\"hidden_size\":768.5}", "key 'hidden_size'"},
    {"{\"model_type\":\"bert\",\"hidden_size\":-768}", "key 'hidden_size'"},
    {"{\"model_type\":\"bert\",\"num_hidden_layers\":1e300}", "key 'num_hidden_layers'"},
    {"{\"model_type\":\"bert\",\"hidden_size\":768,\"num_attention_heads\":10}",
     "key 'num_attention_heads': 10 heads do not divide hidden_size 768"},
    {"{\"model_type\":\"gpt2\",\"n_embd\":100,\"n_head\":3}", "key 'n_head'"},
    {"{\"model_type\":\"gpt2\",\"n_inner\":0}", "key 'n_inner'"},
    {"{\"model_type\":\"bert\",\"intermediate_size\":null}", "key 'intermediate_size'"},
    {"{\"model_type\":\"bert\",\"hidden_dropout_prob\":1.0}",
     "key 'hidden_dropout_prob': expected a number in [0, 1)"},
    {"{\"model_type\":\"gpt2\",\"attn_pdrop\":-0.1}", "key 'attn_pdrop'"},
    {"{\"model_type\":\"bert\",\"classifier_dropout\":\"0.1\"}", "key 'classifier_dropout'"},
    {"{\"model_type\":\"bert\",\"layer_norm_eps\":0}", "key 'layer_norm_eps'"},
    {"{\"model_type\":\"bert\",\"pad_token_id\":-1}", "key 'pad_token_id'"},
    {"{\"model_type\":\"bert\",\"hidden_size\":64,\"hidden_size\":128}",
     "key 'hidden_size' appears twice"},
    {"[1, 2]", "expected a JSON object"},
    {"{\"model_type\":\"bert\",", "not valid JSON"},
    {"", "not valid JSON"},
    {"{\"model_type\":\"bert\"} {}", "bytes after the JSON object"},
};

/* config.json text with n labels: {"model_type": "bert", "id2label":
 * {"n-1": "topic/n-1", ..., "0": "topic/0"}} (ids in reverse order, so
 * order does not help), then extra (NULL: none). Caller frees. */
static char *many_labels_json(int n, const char *extra)
{
    size_t cap = (size_t)n * 32 + 256 + (extra ? strlen(extra) : 0), len = 0;
    char *text = malloc(cap);
    if (!text) return NULL;
    len += (size_t)snprintf(text, cap, "{\"model_type\": \"bert\", \"id2label\": {");
    for (int id = n - 1; id >= 0; id--)
        len += (size_t)snprintf(text + len, cap - len, "\"%d\": \"topic/%d\"%s", id, id,
                                id ? ", " : "");
    snprintf(text + len, cap - len, "}%s}\n", extra ? extra : "");
    return text;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* The label names are checked sorted, not pairwise: a generated config.json
 * of 100,000 labels (2.4 MB; the cap, HF_MAX_LABELS) loads, a repeated name
 * among them is still named with both ids, and one label more is refused
 * naming the key. Only correctness is asserted; the time is printed (it was
 * 12.6 s in a release build when the check was pairwise). */
static void test_many_labels(void)
{
    _Static_assert((int)HF_MAX_LABELS == (int)METRICS_MAX_CLASSES,
                   "a model ftune trains must be scorable");
    _Static_assert((int)HF_MAX_LABELS == (int)SHARD_MAX_LABELS,
                   "one label bound for configs and manifests");
    ft_error err = {0};
    char *text = many_labels_json(HF_MAX_LABELS, NULL);
    char *path = ft_path_join(tmpdir, "many_labels.json");
    CHECK(text && path && ft_write_file_atomic(path, text, strlen(text), true, &err) == FT_OK);
    hf_config c;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_MSG(hf_config_load(path, &c, &err) == FT_OK, "%s", err.msg);
    fprintf(stderr, "test_hf_config: %d labels (%zu bytes) loaded in %.3f s\n", HF_MAX_LABELS,
            text ? strlen(text) : 0, seconds_since(&t0));
    CHECK(c.num_labels == HF_MAX_LABELS && c.id2label && !strcmp(c.id2label[0], "topic/0") &&
          !strcmp(c.id2label[HF_MAX_LABELS - 1], "topic/99999"));
    /* hf_config_set_labels goes through the same check, and the same cap. */
    const char **more = calloc(HF_MAX_LABELS + 1, sizeof *more);
    char(*name)[16] = calloc(HF_MAX_LABELS + 1, sizeof *name);
    CHECK(more && name);
    for (int i = 0; more && name && i <= HF_MAX_LABELS; i++) {
        snprintf(name[i], sizeof name[i], "class %d", i);
        more[i] = name[i];
    }
    CHECK(more && hf_config_set_labels(&c, more, HF_MAX_LABELS, &err) == FT_OK);
    CHECK(more && hf_config_set_labels(&c, more, HF_MAX_LABELS + 1, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "100001 labels, at most 100000");
    CHECK(c.num_labels == HF_MAX_LABELS && !strcmp(c.id2label[7], "class 7"));
    free(name);
    free(more);
    hf_config_free(&c);
    /* "topic/12345" again, as id 77777: named with both ids. */
    char *dup = text ? strstr(text, "\"77777\": \"topic/77777\"") : NULL;
    CHECK(dup != NULL);
    if (dup) memcpy(dup + strlen("\"77777\": \"topic/"), "12345", 5);
    CHECK(text && parse(text, &c, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(
        err.msg,
        "test.json: key 'id2label': label \"topic/12345\" names both id 12345 and id 77777");
    free(text);
    /* One more than the cap: refused before any name is copied. */
    text = many_labels_json(HF_MAX_LABELS + 1, NULL);
    CHECK(text && parse(text, &c, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "test.json: key 'id2label': 100001 labels, at most 100000");
    free(text);
    /* A top-level key repeated after 100,000 labels' worth of text. */
    text = many_labels_json(HF_MAX_LABELS,
                            ", \"num_labels\": 3, \"hidden_size\": 64, \"num_labels\": 4");
    CHECK(text && parse(text, &c, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "key 'num_labels' appears twice");
    free(text);
    free(path);
}

static void test_refused(void)
{
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        hf_config c;
        ft_error err = {0};
        ft_status st = parse(refused[i].json, &c, &err);
        CHECK_MSG(st == FT_EINVAL, "%s: %s", refused[i].json, ft_status_name(st));
        CHECK_STR_CONTAINS(err.msg, "test.json: ");
        CHECK_STR_CONTAINS(err.msg, refused[i].phrase);
        CHECK(c.json == NULL && c.id2label == NULL); /* left empty */
        hf_config_free(&c);
    }
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
        hf_config c;
        ft_error err = {0};
        CHECK_MSG(parse(bad_labels[i].json, &c, &err) == FT_EINVAL, "%s", bad_labels[i].json);
        CHECK_STR_CONTAINS(err.msg, bad_labels[i].phrase);
        hf_config_free(&c);
    }
}

static const cJSON *get(const cJSON *doc, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(doc, key);
}

/* Unknown keys survive; ftune's are rewritten; the labels are transformers'. */
static void test_round_trip_gpt2(void)
{
    hf_config c, back;
    ft_error err;
    CHECK(parse(GPT2, &c, &err) == FT_OK);
    static const char *const names[] = {"negative", "positive", "neutral"};
    CHECK(hf_config_set_labels(&c, names, 3, &err) == FT_OK);
    char *text = hf_config_to_json(&c);
    CHECK(text != NULL);
    cJSON *out = cJSON_Parse(text), *in = cJSON_Parse(GPT2);
    CHECK(out && in);
    CHECK(cJSON_Compare(get(out, "task_specific_params"), get(in, "task_specific_params"), 1));
    for (const char *const *k =
             (const char *const[]){"summary_type", "summary_activation", "summary_use_proj",
                                   "bos_token_id", "eos_token_id", "n_ctx", "n_positions",
                                   "layer_norm_epsilon", "activation_function", "embd_pdrop", NULL};
         *k; k++)
        CHECK_MSG(cJSON_Compare(get(out, *k), get(in, *k), 1), "key %s changed", *k);
    const cJSON *archs = get(out, "architectures");
    CHECK(cJSON_GetArraySize(archs) == 1 &&
          !strcmp(archs->child->valuestring, "GPT2ForSequenceClassification"));
    CHECK(get(out, "n_inner") == NULL); /* absent in, still absent (default 4*n_embd) */
    CHECK(get(out, "num_labels") == NULL);
    CHECK(get(out, "pad_token_id") == NULL);
    CHECK(!strcmp(get(get(out, "id2label"), "2")->valuestring, "neutral"));
    CHECK(get(get(out, "label2id"), "positive")->valuedouble == 1);
    CHECK(cJSON_GetArraySize(get(out, "id2label")) == 3);
    CHECK(parse(text, &back, &err) == FT_OK);
    CHECK(back.num_labels == 3 && !strcmp(back.id2label[1], "positive"));
    CHECK(back.hidden_size == 768 && back.intermediate_size == 3072 && back.pad_token_id == -1);
    char *again = hf_config_to_json(&back);
    CHECK(again && !strcmp(again, text)); /* a fixed point */
    free(again);
    hf_config_free(&back);
    cJSON_Delete(out);
    cJSON_Delete(in);
    free(text);
    /* Changed values are written under GPT-2's names. */
    c.intermediate_size = 1000;
    c.pad_token_id = 50256;
    c.problem_type = strdup("single_label_classification");
    text = hf_config_to_json(&c);
    out = cJSON_Parse(text);
    CHECK(out && get(out, "n_inner")->valuedouble == 1000);
    CHECK(out && get(out, "pad_token_id")->valuedouble == 50256);
    CHECK(out && !strcmp(get(out, "problem_type")->valuestring, "single_label_classification"));
    CHECK(out && get(out, "intermediate_size") == NULL);
    cJSON_Delete(out);
    free(text);
    hf_config_free(&c);
}

static void test_round_trip_bert(void)
{
    hf_config c;
    ft_error err;
    CHECK(parse(BERT_BASE, &c, &err) == FT_OK);
    char *text = hf_config_to_json(&c);
    cJSON *out = cJSON_Parse(text), *in = cJSON_Parse(BERT_BASE);
    CHECK(out && in);
    for (const cJSON *kv = in ? in->child : NULL; kv; kv = kv->next) /* every key kept */
        if (strcmp(kv->string, "architectures") != 0)
            CHECK_MSG(cJSON_Compare(get(out, kv->string), kv, 1), "key %s changed", kv->string);
    CHECK(get(out, "classifier_dropout") == NULL); /* still the default */
    CHECK(!strcmp(get(out, "architectures")->child->valuestring, "BertForSequenceClassification"));
    CHECK(!strcmp(get(get(out, "id2label"), "1")->valuestring, "LABEL_1"));
    cJSON_Delete(out);
    free(text);
    c.classifier_dropout = 0.25;
    text = hf_config_to_json(&c);
    out = cJSON_Parse(text);
    CHECK(out && get(out, "classifier_dropout")->valuedouble == 0.25);
    cJSON_Delete(out);
    free(text);

    /* write: atomic, refuses to overwrite unless asked */
    char *path = ft_path_join(tmpdir, "config.json");
    CHECK(hf_config_write(path, &c, false, &err) == FT_OK);
    hf_config back;
    CHECK(hf_config_load(path, &back, &err) == FT_OK);
    CHECK(back.classifier_dropout == 0.25 && back.hidden_size == 768 && back.num_labels == 2);
    CHECK(!strcmp(back.path, path));
    hf_config_free(&back);
    c.hidden_dropout_prob = 0.3;
    CHECK(hf_config_write(path, &c, false, &err) == FT_EEXIST);
    CHECK(hf_config_load(path, &back, &err) == FT_OK && back.hidden_dropout_prob == 0.1);
    hf_config_free(&back);
    CHECK(hf_config_write(path, &c, true, &err) == FT_OK);
    CHECK(hf_config_load(path, &back, &err) == FT_OK && back.hidden_dropout_prob == 0.3);
    hf_config_free(&back);
    char *missing = ft_path_join(tmpdir, "nope.json");
    CHECK(hf_config_load(missing, &back, &err) == FT_ENOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "nope.json");
    free(missing);
    free(path);
    cJSON_Delete(in);
    hf_config_free(&c);
}

static size_t total_numel(const hf_param *p, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++) s += p[i].numel;
    return s;
}

static void test_params(void)
{
    hf_config c;
    ft_error err;
    hf_param *p = NULL;
    size_t n = 0;
    CHECK(parse(BERT_BASE, &c, &err) == FT_OK);
    CHECK(hf_params_make(&c, &p, &n, &err) == FT_OK);
    CHECK_EQ_INT(n, 5 + 12 * 16 + 4);
    CHECK_EQ_INT(total_numel(p, n), 109482240 + 768 * 2 + 2);
    CHECK(!strcmp(p[5].name, "bert.encoder.layer.0.attention.self.query.weight"));
    CHECK(p[n - 2].head && p[n - 1].head && !p[n - 3].head);
    CHECK(!strcmp(p[n - 2].name, "classifier.weight") && p[n - 2].shape[0] == 2 &&
          p[n - 2].shape[1] == 768 && p[n - 2].layer == 12);
    free(p);
    hf_config_free(&c);
    CHECK(parse(GPT2, &c, &err) == FT_OK);
    CHECK(hf_params_make(&c, &p, &n, &err) == FT_OK);
    CHECK_EQ_INT(n, 2 + 12 * 12 + 3);
    CHECK_EQ_INT(total_numel(p, n), 124439808 + 768 * 2);
    CHECK(!strcmp(p[4].name, "transformer.h.0.attn.c_attn.weight") && p[4].shape[0] == 768 &&
          p[4].shape[1] == 2304); /* Conv1D: [in, out] */
    CHECK(!strcmp(p[n - 1].name, "score.weight") && p[n - 1].head && p[n - 1].ndim == 2);
    free(p);
    hf_config_free(&c);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_bert_base();
    test_gpt2();
    test_defaults();
    test_labels();
    test_many_labels();
    test_refused();
    test_round_trip_gpt2();
    test_round_trip_bert();
    test_params();
    ft_error err;
    CHECK(ft_remove_tree(tmpdir, &err) == FT_OK);
    return check_finish();
}
