/* hf_export: an ftune model out as a Hugging Face model folder (see
 * hf_model.h).
 *
 * Design: the folder is built complete under a temporary sibling name
 * (config.json, model.safetensors, tokenizer files; each file fsync'd), then
 * renamed into place, so OUT_DIR is either absent, the old folder, or the
 * whole new one. Replacing an existing folder (overwrite) moves it aside
 * first and removes it only after the new one is in place; a folder that
 * does not look like a model folder (no config.json, not empty) is never
 * replaced. The tensors are written under their Hugging Face names in the
 * model's own shapes, which are Hugging Face's (see hf_model.c); a decoder
 * LLM's too (Phi-3's fused qkv_proj / gate_up_proj as stored, no
 * lm_head.weight when tied), with its config.json written back as loaded.
 *
 * Not here: loading (hf_model.c). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "hf_impl.h"
#include "hf/hf_llm.h"
#include "hf/hf_model.h"

/* Tokenizer files transformers' AutoTokenizer reads, whichever exist. */
static const char *const tokenizer_files[] = {
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
};

/* A decoder's config must describe m: its document parsed again. */
static ft_status decoder_config(const model *m, const hf_config *cfg, model_config *want,
                                ft_error *err)
{
    bool model_decoder = model_get_config(m)->arch == MODEL_ARCH_LLAMA;
    if (model_decoder != cfg->decoder || (cfg->decoder && !cfg->json))
        return ft_fail(err, FT_EINVAL, "export: the model is %s but the config (%s) is %s",
                       model_decoder ? "a decoder LLM" : "a classifier",
                       cfg->path ? cfg->path : "built in",
                       cfg->decoder ? "a decoder LLM's" : "a classifier's");
    char *text = cJSON_PrintUnformatted(cfg->json);
    ft_status st =
        text ? hf_llm_config_parse(text, strlen(text), cfg->path ? cfg->path : "config", want, err)
             : ft_fail(err, FT_ENOMEM, "out of memory");
    cJSON_free(text);
    const model_llm_config *h = &model_get_config(m)->llm, *w = &want->llm;
    if (st == FT_OK && (w->kv_heads != h->kv_heads || w->head_dim != h->head_dim ||
                        w->tie_word_embeddings != h->tie_word_embeddings))
        return ft_fail(err, FT_EINVAL,
                       "export: %s: num_key_value_heads %d, head_dim %d, "
                       "tie_word_embeddings %d do not describe the model (%d, %d, %d)",
                       cfg->path ? cfg->path : "config", w->kv_heads, w->head_dim,
                       w->tie_word_embeddings, h->kv_heads, h->head_dim, h->tie_word_embeddings);
    return st;
}

/* cfg must describe m: same architecture, sizes and labels. */
static ft_status check_config_matches(const model *m, const hf_config *cfg, ft_error *err)
{
    model_config want;
    bool decoder = cfg->decoder || model_get_config(m)->arch == MODEL_ARCH_LLAMA;
    ft_status st =
        decoder ? decoder_config(m, cfg, &want, err) : hf_config_to_model_config(cfg, &want, err);
    if (st != FT_OK) return st;
    const model_config *have = model_get_config(m);
    if (want.arch != have->arch || want.vocab_size != have->vocab_size ||
        want.max_positions != have->max_positions || want.hidden != have->hidden ||
        want.layers != have->layers || want.heads != have->heads ||
        want.intermediate != have->intermediate || want.num_labels != have->num_labels ||
        (have->arch == MODEL_ARCH_BERT && want.type_vocab_size != have->type_vocab_size))
        return ft_fail(err, FT_EINVAL,
                       "export: the config (%d labels, hidden %d, %d layers) "
                       "does not describe the model (%d labels, hidden %d, %d layers)",
                       want.num_labels, want.hidden, want.layers, have->num_labels, have->hidden,
                       have->layers);
    return FT_OK;
}

static ft_status write_weights(const model *m, const char *dir, ft_error *err)
{
    int n = model_tensor_count(m);
    st_tensor_out *t = ft_calloc_array((size_t)n, sizeof *t);
    char *path = ft_path_join(dir, "model.safetensors");
    ft_status st = FT_OK;
    if (!t || !path) st = ft_fail(err, FT_ENOMEM, "out of memory");
    const float *params = model_params_read(m);
    for (int i = 0; st == FT_OK && i < n; i++) {
        const model_tensor *mt = model_tensor_at(m, i);
        t[i] = (st_tensor_out){mt->name, params + mt->offset, mt->ndim, mt->shape, ST_F32};
    }
    if (st == FT_OK) st = st_write_f32(path, t, (size_t)n, "{\"format\":\"pt\"}", false, err);
    free(path);
    free(t);
    return st;
}

static ft_status write_config(const hf_config *cfg, const char *dir, ft_error *err)
{
    char *path = ft_path_join(dir, "config.json");
    char *text = hf_config_to_json_dtype(cfg, "float32");
    ft_status st = path && text ? ft_write_file_atomic(path, text, strlen(text), false, err)
                                : ft_fail(err, FT_ENOMEM, "out of memory");
    free(text);
    free(path);
    return st;
}

static ft_status copy_file(const char *from, const char *to, ft_error *err)
{
    char *data = NULL;
    size_t len = 0;
    ft_status st = ft_read_file(from, &data, &len, err);
    if (st == FT_OK) st = ft_write_file_atomic(to, data, len, false, err);
    free(data);
    return st;
}

static ft_status copy_tokenizer(const char *tokenizer_dir, const char *dir, ft_error *err)
{
    if (!tokenizer_dir) return FT_OK;
    int copied = 0;
    ft_status st = FT_OK;
    for (size_t i = 0; st == FT_OK && i < sizeof tokenizer_files / sizeof *tokenizer_files; i++) {
        char *from = ft_path_join(tokenizer_dir, tokenizer_files[i]);
        char *to = ft_path_join(dir, tokenizer_files[i]);
        if (!from || !to)
            st = ft_fail(err, FT_ENOMEM, "out of memory");
        else if (ft_path_exists(from) && (st = copy_file(from, to, err)) == FT_OK)
            copied++;
        free(from);
        free(to);
    }
    if (st == FT_OK && !copied)
        ft_log_warn("%s: no tokenizer files (vocab.txt, vocab.json + merges.txt, "
                    "tokenizer.json); the exported folder has none",
                    tokenizer_dir);
    return st;
}

/* An existing out_dir may be replaced only if it is a folder that is empty
 * or holds a config.json (a model folder ftune or transformers wrote). */
static ft_status check_replaceable(const char *out_dir, bool overwrite, ft_error *err)
{
    if (!ft_path_exists(out_dir)) return FT_OK;
    if (!overwrite)
        return ft_fail(err, FT_EEXIST, "%s: already exists (refusing to overwrite it)", out_dir);
    if (!ft_is_dir(out_dir))
        return ft_fail(err, FT_EEXIST, "%s: exists and is not a folder; not replacing it", out_dir);
    char *config = ft_path_join(out_dir, "config.json");
    bool model_dir = config && ft_path_exists(config);
    free(config);
    DIR *d = model_dir ? NULL : opendir(out_dir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    if (!model_dir && entries)
        return ft_fail(err, FT_EEXIST,
                       "%s: exists and is not a model folder (no config.json); "
                       "not replacing it",
                       out_dir);
    return FT_OK;
}

/* tmp becomes out_dir; an old out_dir is moved aside, then removed. */
static ft_status swap_into_place(const char *tmp, const char *out_dir, ft_error *err)
{
    char *old = NULL;
    if (ft_path_exists(out_dir)) {
        if (!(old = ft_temp_sibling(out_dir))) return ft_fail(err, FT_ENOMEM, "out of memory");
        if (rename(out_dir, old) != 0) {
            ft_status st =
                ft_fail(err, FT_EIO, "%s: cannot move aside: %s", out_dir, strerror(errno));
            free(old);
            return st;
        }
    }
    ft_status st = FT_OK;
    if (rename(tmp, out_dir) != 0) {
        st = ft_fail(err, FT_EIO, "%s: cannot rename %s into place: %s", out_dir, tmp,
                     strerror(errno));
        if (old && rename(old, out_dir) != 0)
            ft_log_error("%s: the previous folder is left at %s", out_dir, old);
    }
    if (st == FT_OK) st = ft_fsync_parent(out_dir, err);
    if (st == FT_OK && old) {
        ft_error ignored;
        if (ft_remove_tree(old, &ignored) != FT_OK)
            ft_log_warn("%s: cannot remove the replaced folder %s", out_dir, old);
    }
    free(old);
    return st;
}

/* Write the folder under tmp, then move it to out_dir. */
static ft_status export_via(const model *m, const hf_config *cfg, const char *tokenizer_dir,
                            const char *out_dir, const char *tmp, ft_error *err)
{
    if (mkdir(tmp, 0755) != 0)
        return ft_fail(err, FT_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    ft_status st = write_config(cfg, tmp, err);
    if (st == FT_OK) st = write_weights(m, tmp, err);
    if (st == FT_OK) st = copy_tokenizer(tokenizer_dir, tmp, err);
    if (st == FT_OK) st = swap_into_place(tmp, out_dir, err);
    if (st != FT_OK) {
        ft_error ignored;
        ft_remove_tree(tmp, &ignored);
    }
    return st;
}

ft_status hf_model_export(const model *m, const hf_config *cfg, const char *tokenizer_dir,
                          const char *out_dir, bool overwrite, ft_error *err)
{
    /* "OUT/" names OUT: the temporary sibling must sit beside it, not in it. */
    size_t n = strlen(out_dir);
    while (n > 1 && out_dir[n - 1] == '/') n--;
    char *dir = ft_strndup(out_dir, n);
    char *tmp = dir ? ft_temp_sibling(dir) : NULL;
    ft_status st =
        tmp ? check_config_matches(m, cfg, err) : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) st = check_replaceable(dir, overwrite, err);
    if (st == FT_OK) st = export_via(m, cfg, tokenizer_dir, dir, tmp, err);
    free(tmp);
    free(dir);
    return st;
}
