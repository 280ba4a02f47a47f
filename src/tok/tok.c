/* tok: opening a model folder's tokenizer and dispatching to its kind.
 *
 * Design: the folder decides the kind, as transformers' AutoTokenizer does:
 * tokenizer.json (model.type "WordPiece" or "BPE") wins, else vocab.txt
 * (WordPiece), else vocab.json + merges.txt (byte-level BPE). For WordPiece
 * the settings of tokenizer_config.json (do_lower_case, strip_accents,
 * tokenize_chinese_chars, clean_up_tokenization_spaces) are applied over
 * either file as BertTokenizer(Fast) applies them; without a
 * tokenizer_config.json a vocab.txt is uncased unless the model's
 * config.json names a cased model. tok_encode_for_model adds the special
 * tokens, truncates and pads as `truncation=True, padding="max_length"`.
 * For a BPE tokenizer.json, tokenizer_config.json's add_bos_token /
 * add_eos_token (with bos_token / eos_token) replace the post-processor's
 * frame as transformers 5's update_post_processor does, and its pad_token
 * is the pad id where the vocabulary has no <|endoftext|>.
 *
 * Not done: pairs of texts, left padding or truncation, overflowing
 * tokens, attention masks (a model derives those from the length). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_json.h"
#include "tok_impl.h"

ft_status tok_ids_push(tok_ids *ids, int32_t id, ft_error *err)
{
    if (ids->len == ids->cap) {
        size_t cap = ids->cap ? 2 * ids->cap : 64;
        int32_t *grown = ft_realloc_array(ids->ids, cap, sizeof *grown);
        if (!grown) return ft_fail(err, FT_ENOMEM, "tokenizer: out of memory for %zu ids", cap);
        ids->ids = grown;
        ids->cap = cap;
    }
    ids->ids[ids->len++] = id;
    return FT_OK;
}

void tok_ids_free(tok_ids *ids)
{
    if (!ids) return;
    free(ids->ids);
    ids->ids = NULL;
    ids->len = ids->cap = 0;
}

/* ---- reading the folder's JSON files -------------------------------------- */

ft_status tok_read_json_file(const char *path, cJSON **out, ft_error *err)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    ft_status st = ft_read_file(path, &data, &len, err);
    if (st != FT_OK) return st;
    *out = cJSON_ParseWithLength(data, len);
    if (!*out) {
        const char *at = cJSON_GetErrorPtr();
        size_t line = 1;
        for (const char *p = data; at && p < at && p < data + len; p++) line += *p == '\n';
        st = ft_fail(err, FT_EFORMAT, "%s:%zu: not valid JSON%s", path, line,
                     len ? "" : " (empty file)");
    }
    free(data);
    return st;
}

/* Parse dir/name into *out; absent file: FT_OK with *out NULL. */
static ft_status tok_read_json(const char *dir, const char *name, cJSON **out, ft_error *err)
{
    *out = NULL;
    char *path = ft_path_join(dir, name);
    if (!path) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = ft_path_exists(path) ? tok_read_json_file(path, out, err) : FT_OK;
    free(path);
    return st;
}

/* A boolean (or null, as 2) setting of tokenizer_config.json, -1 when absent. */
static ft_status tok_config_flag(const cJSON *cfg, const char *key, bool null_ok, int *out,
                                 const char *dir, ft_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    *out = -1;
    if (!v) return FT_OK;
    if (null_ok && cJSON_IsNull(v)) {
        *out = 2;
        return FT_OK;
    }
    char origin[FT_ERROR_MSG_BYTES / 2];
    snprintf(origin, sizeof origin, "%s/tokenizer_config.json", dir);
    ft_json_src s = {origin, FT_EFORMAT, err};
    bool b = false;
    ft_status st = ft_json_bool(&s, key, v, &b);
    if (st == FT_OK) *out = b;
    return st;
}

static ft_status tok_config_options(const cJSON *cfg, const char *dir, tok_wordpiece_options *o,
                                    ft_error *err)
{
    ft_status st = tok_config_flag(cfg, "do_lower_case", false, &o->lowercase, dir, err);
    if (st == FT_OK) st = tok_config_flag(cfg, "strip_accents", true, &o->strip_accents, dir, err);
    if (st == FT_OK)
        st = tok_config_flag(cfg, "tokenize_chinese_chars", false, &o->chinese, dir, err);
    if (st == FT_OK)
        st = tok_config_flag(cfg, "clean_up_tokenization_spaces", false, &o->cleanup, dir, err);
    return st;
}

/* Uncased unless config.json's name says "cased" (and not "uncased"). */
static bool tok_lowercase_from_name(const cJSON *config)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(config, "_name_or_path");
    if (!cJSON_IsString(name)) return true;
    return strstr(name->valuestring, "uncased") || !strstr(name->valuestring, "cased");
}

/* ---- opening ------------------------------------------------------------- */

/* The id of tokenizer_config.json's special token `key` (a string, or an
 * object with "content" as transformers saves an AddedToken); -1 when
 * absent or null, an error when not in the vocabulary. */
static ft_status tok_config_token(const tok_bpe *b, const cJSON *cfg, const char *key,
                                  const char *dir, int32_t *id, ft_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    *id = -1;
    if (!v || cJSON_IsNull(v)) return FT_OK;
    if (!cJSON_IsString(v))
        return ft_fail(err, FT_EFORMAT,
                       "%s/tokenizer_config.json: key \"%s\": expected a "
                       "token string or null",
                       dir, key);
    *id = tok_bpe_token_to_id(b, v->valuestring);
    if (*id < 0)
        return ft_fail(err, FT_EFORMAT,
                       "%s/tokenizer_config.json: %s \"%.60s\" is not in "
                       "the vocabulary",
                       dir, key, v->valuestring);
    return FT_OK;
}

/* transformers' BOS/EOS handling over a BPE tokenizer.json: where
 * tokenizer_config.json has add_bos_token or add_eos_token, the
 * post-processor becomes [bos_token if add_bos_token] $A [eos_token if
 * add_eos_token] (each false when absent, or when its token is null), as
 * TokenizersBackend.update_post_processor; a pad_token is the pad id where
 * the vocabulary has no <|endoftext|>. */
static ft_status tok_bpe_config(tok_bpe *b, const cJSON *cfg, const char *dir, ft_error *err)
{
    int add_bos, add_eos;
    int32_t bos = -1, eos = -1, pad = -1, frame[2];
    ft_status st = tok_config_flag(cfg, "add_bos_token", false, &add_bos, dir, err);
    if (st == FT_OK) st = tok_config_flag(cfg, "add_eos_token", false, &add_eos, dir, err);
    /* a token is looked up (and must exist) only where it is used */
    if (st == FT_OK && add_bos == 1) st = tok_config_token(b, cfg, "bos_token", dir, &bos, err);
    if (st == FT_OK && add_eos == 1) st = tok_config_token(b, cfg, "eos_token", dir, &eos, err);
    if (st == FT_OK && tok_bpe_pad_id(b) < 0)
        st = tok_config_token(b, cfg, "pad_token", dir, &pad, err);
    if (st != FT_OK) return st;
    bool reframe = add_bos >= 0 || add_eos >= 0;
    int n_pre = add_bos == 1 && bos >= 0, n_post = add_eos == 1 && eos >= 0;
    frame[0] = bos;
    frame[1] = eos;
    if (!reframe && pad < 0) return FT_OK;
    return tok_bpe_set_frame(b, frame, reframe ? n_pre : -1, frame + 1, n_post, pad, err);
}

/* Open a parsed tokenizer.json by its model.type. */
static ft_status tok_open_json_model(tok_tokenizer *t, const cJSON *root, const char *origin,
                                     const char *dir, const cJSON *cfg, ft_error *err)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const char *name = cJSON_IsString(type) ? type->valuestring : "";
    /* Files written by early tokenizers (Hugging Face gpt2's) have no
     * model.type: tokenizers reads them untagged, BPE when there are merges. */
    if (!type && cJSON_GetObjectItemCaseSensitive(model, "merges")) name = "BPE";
    if (!strcmp(name, "BPE")) {
        t->kind = TOK_BYTE_BPE;
        ft_status st = tok_bpe_open_json(root, origin, &t->bpe, err);
        return st == FT_OK ? tok_bpe_config(t->bpe, cfg, dir, err) : st;
    }
    if (strcmp(name, "WordPiece"))
        return ft_fail(err, FT_EFORMAT,
                       "%s: model.type must be \"WordPiece\" or \"BPE\", "
                       "got %s",
                       origin, *name ? name : "nothing");
    t->kind = TOK_WORDPIECE;
    tok_wordpiece_options o;
    ft_status st = tok_config_options(cfg, dir, &o, err);
    if (st == FT_OK) st = tok_wordpiece_open_json(root, origin, &t->wordpiece, err);
    if (st == FT_OK) tok_wordpiece_set_options(t->wordpiece, &o);
    return st;
}

static ft_status tok_open_tokenizer_json(tok_tokenizer *t, const char *dir, const cJSON *cfg,
                                         ft_error *err)
{
    cJSON *root = NULL;
    char *origin = ft_path_join(dir, "tokenizer.json");
    ft_status st = origin ? tok_read_json(dir, "tokenizer.json", &root, err)
                          : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) st = tok_open_json_model(t, root, origin, dir, cfg, err);
    cJSON_Delete(root);
    free(origin);
    return st;
}

static ft_status tok_open_vocab_txt(tok_tokenizer *t, const char *dir, const char *vocab,
                                    const cJSON *cfg, ft_error *err)
{
    tok_wordpiece_options o;
    ft_status st = tok_config_options(cfg, dir, &o, err);
    cJSON *config = NULL;
    if (st == FT_OK && o.lowercase < 0) st = tok_read_json(dir, "config.json", &config, err);
    if (st == FT_OK) {
        bool lowercase = o.lowercase >= 0 ? o.lowercase : tok_lowercase_from_name(config);
        t->kind = TOK_WORDPIECE;
        st = tok_wordpiece_open_vocab(vocab, lowercase, &t->wordpiece, err);
    }
    if (st == FT_OK) tok_wordpiece_set_options(t->wordpiece, &o);
    cJSON_Delete(config);
    return st;
}

/* The first kind of files present, in AutoTokenizer's order. */
static ft_status tok_open_files(tok_tokenizer *t, const char *dir, const char *paths[4],
                                const cJSON *cfg, ft_error *err)
{
    if (ft_path_exists(paths[0])) return tok_open_tokenizer_json(t, dir, cfg, err);
    if (ft_path_exists(paths[1])) return tok_open_vocab_txt(t, dir, paths[1], cfg, err);
    if (ft_path_exists(paths[2]) && ft_path_exists(paths[3])) {
        t->kind = TOK_BYTE_BPE;
        return tok_bpe_open_files(paths[2], paths[3], &t->bpe, err);
    }
    return ft_fail(err, FT_ENOTFOUND,
                   "%s: no tokenizer files (looked for tokenizer.json, "
                   "vocab.txt, vocab.json + merges.txt)",
                   dir);
}

static ft_status tok_open_kind(tok_tokenizer *t, const char *dir, ft_error *err)
{
    static const char *const names[4] = {"tokenizer.json", "vocab.txt", "vocab.json", "merges.txt"};
    char *paths[4];
    bool ok = true;
    for (int i = 0; i < 4; i++) ok &= (paths[i] = ft_path_join(dir, names[i])) != NULL;
    cJSON *cfg = NULL;
    ft_status st = ok ? tok_read_json(dir, "tokenizer_config.json", &cfg, err)
                      : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) st = tok_open_files(t, dir, (const char **)paths, cfg, err);
    cJSON_Delete(cfg);
    for (int i = 0; i < 4; i++) free(paths[i]);
    return st;
}

ft_status tok_open(const char *model_dir, tok_tokenizer **out, ft_error *err)
{
    *out = NULL;
    if (!ft_is_dir(model_dir))
        return ft_fail(err, FT_ENOTFOUND,
                       "%s: not a folder (expected a model folder with "
                       "the tokenizer files)",
                       model_dir);
    tok_tokenizer *t = ft_calloc_array(1, sizeof *t);
    if (!t) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = tok_open_kind(t, model_dir, err);
    if (st != FT_OK) {
        tok_close(t);
        return st;
    }
    *out = t;
    return FT_OK;
}

void tok_close(tok_tokenizer *t)
{
    if (!t) return;
    tok_wordpiece_free(t->wordpiece);
    tok_bpe_free(t->bpe);
    tok_ids_free(&t->scratch);
    free(t);
}

/* ---- dispatch ------------------------------------------------------------ */

tok_kind tok_get_kind(const tok_tokenizer *t) { return t->kind; }

int32_t tok_vocab_size(const tok_tokenizer *t)
{
    return t->kind == TOK_WORDPIECE ? tok_wordpiece_vocab_size(t->wordpiece)
                                    : tok_bpe_vocab_size(t->bpe);
}

int32_t tok_pad_id(const tok_tokenizer *t)
{
    return t->kind == TOK_WORDPIECE ? tok_wordpiece_pad_id(t->wordpiece) : tok_bpe_pad_id(t->bpe);
}

uint64_t tok_fingerprint(const tok_tokenizer *t)
{
    return t->kind == TOK_WORDPIECE ? tok_wordpiece_fingerprint(t->wordpiece)
                                    : tok_bpe_fingerprint(t->bpe);
}

int32_t tok_token_to_id(const tok_tokenizer *t, const char *token)
{
    return t->kind == TOK_WORDPIECE ? tok_wordpiece_token_to_id(t->wordpiece, token)
                                    : tok_bpe_token_to_id(t->bpe, token);
}

ft_status tok_encode(tok_tokenizer *t, const char *text, size_t len, tok_ids *out, ft_error *err)
{
    return t->kind == TOK_WORDPIECE ? tok_wordpiece_encode(t->wordpiece, text, len, out, err)
                                    : tok_bpe_encode(t->bpe, text, len, out, err);
}

ft_status tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, bool skip_special,
                     char **text, size_t *text_len, ft_error *err)
{
    return t->kind == TOK_WORDPIECE
               ? tok_wordpiece_decode(t->wordpiece, ids, n, skip_special, text, text_len, err)
               : tok_bpe_decode(t->bpe, ids, n, skip_special, text, text_len, err);
}

/* ---- model input --------------------------------------------------------- */

/* The ids around the text: [CLS] .. [SEP] for BERT, the post-processor's
 * template for BPE (nothing for GPT-2, <|begin_of_text|> for Llama 3). */
typedef struct tok_frame_ids {
    const int32_t *pre, *post;
    int n_pre, n_post;
    int32_t wp[2];
} tok_frame_ids;

static ft_status tok_frame(const tok_tokenizer *t, int32_t max_length, tok_frame_ids *f,
                           ft_error *err)
{
    if (t->kind != TOK_WORDPIECE) {
        tok_bpe_frame(t->bpe, &f->pre, &f->n_pre, &f->post, &f->n_post);
        int need = f->n_pre + f->n_post > 0 ? f->n_pre + f->n_post : 1;
        if (max_length < need)
            return ft_fail(err, FT_EINVAL, "max_length must be at least %d, got %ld", need,
                           (long)max_length);
        return FT_OK;
    }
    f->wp[0] = tok_wordpiece_cls_id(t->wordpiece);
    f->wp[1] = tok_wordpiece_sep_id(t->wordpiece);
    f->pre = &f->wp[0];
    f->post = &f->wp[1];
    f->n_pre = f->n_post = 1;
    if (f->wp[0] < 0 || f->wp[1] < 0)
        return ft_fail(err, FT_EFORMAT,
                       "the tokenizer has no [CLS] or [SEP] token to frame "
                       "the model input with");
    if (max_length < 2)
        return ft_fail(err, FT_EINVAL,
                       "max_length must be at least 2 ([CLS] and [SEP]), "
                       "got %ld",
                       (long)max_length);
    return FT_OK;
}

ft_status tok_encode_for_model(tok_tokenizer *t, const char *text, size_t len, int32_t max_length,
                               int32_t *ids_out, int32_t *length, bool *truncated, ft_error *err)
{
    tok_frame_ids f = {0};
    ft_status st = tok_frame(t, max_length, &f, err);
    t->scratch.len = 0;
    if (st == FT_OK) st = tok_encode(t, text, len, &t->scratch, err);
    if (st != FT_OK) return st;
    size_t room = (size_t)max_length - (size_t)f.n_pre - (size_t)f.n_post;
    size_t n = t->scratch.len < room ? t->scratch.len : room;
    int32_t pad = tok_pad_id(t), k = 0;
    for (int i = 0; i < f.n_pre; i++) ids_out[k++] = f.pre[i];
    memcpy(ids_out + k, t->scratch.ids, n * sizeof *ids_out);
    k += (int32_t)n;
    for (int i = 0; i < f.n_post; i++) ids_out[k++] = f.post[i];
    if (k < max_length && pad < 0)
        return ft_fail(err, FT_EFORMAT,
                       "the tokenizer has no padding token to pad the "
                       "model input to max_length %ld with",
                       (long)max_length);
    *length = k;
    *truncated = t->scratch.len > room;
    while (k < max_length) ids_out[k++] = pad;
    return FT_OK;
}
