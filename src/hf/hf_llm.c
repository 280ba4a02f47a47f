/* hf_llm: a decoder LLM's Hugging Face folder into an ftune model (see
 * hf_llm.h). */
#include "hf/hf_llm.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "st/st.h"

enum { MAX_SHARDS = 4096 };

/* The weight files: one, or the shards of an index. */
typedef struct weights {
    st_file **files;
    int count;
    cJSON *index;     /* the parsed index (NULL for one file) */
    const cJSON *map; /* its weight_map */
    char **names;     /* shard file names, [count] */
} weights;

static void weights_close(weights *w)
{
    for (int i = 0; i < w->count; i++) st_close(w->files[i]);
    free(w->files);
    free(w->names);
    cJSON_Delete(w->index);
    memset(w, 0, sizeof *w);
}

static ft_status read_text(const char *dir, const char *name, char **text, size_t *len, char **path,
                           ft_error *err)
{
    *path = ft_path_join(dir, name);
    if (!*path) return ft_fail(err, FT_ENOMEM, "out of memory");
    return ft_read_file(*path, text, len, err);
}

bool hf_llm_folder_is_decoder(const char *dir)
{
    char *text = NULL, *path = NULL;
    size_t len = 0;
    ft_error err;
    bool yes = read_text(dir, "config.json", &text, &len, &path, &err) == FT_OK &&
               hf_llm_config_is_decoder(text, len);
    free(text);
    free(path);
    return yes;
}

/* A shard's name must be a plain file name inside the folder. */
static bool plain_name(const char *s)
{
    return s[0] && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\');
}

static int shard_of(const weights *w, const char *file)
{
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->names[i], file) == 0) return i;
    return -1;
}

/* The index's weight_map: every value a plain file name; each distinct
 * file opened once. */
static ft_status open_shards(const char *dir, const char *path, const char *text, size_t len,
                             weights *w, ft_error *err)
{
    w->index = cJSON_ParseWithLength(text, len);
    w->map = cJSON_GetObjectItemCaseSensitive(w->index, "weight_map");
    if (!cJSON_IsObject(w->map))
        return ft_fail(err, FT_EINVAL, "%s: key 'weight_map': expected an object", path);
    int n = cJSON_GetArraySize(w->map);
    w->files = ft_calloc_array((size_t)n + 1, sizeof *w->files);
    w->names = ft_calloc_array((size_t)n + 1, sizeof *w->names);
    if (!w->files || !w->names) return ft_fail(err, FT_ENOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, w->map)
    {
        if (!cJSON_IsString(e) || !plain_name(e->valuestring))
            return ft_fail(err, FT_EINVAL,
                           "%s: weight_map['%s']: expected a file name in the "
                           "folder",
                           path, e->string);
        if (shard_of(w, e->valuestring) >= 0) continue;
        if (w->count == MAX_SHARDS)
            return ft_fail(err, FT_EINVAL, "%s: more than %d shard files", path, MAX_SHARDS);
        char *shard = ft_path_join(dir, e->valuestring);
        if (!shard) return ft_fail(err, FT_ENOMEM, "out of memory");
        w->names[w->count] = e->valuestring;
        ft_status st = st_open(shard, &w->files[w->count], err);
        free(shard);
        if (st != FT_OK) return st;
        w->count++;
    }
    return FT_OK;
}

/* DIR's weights: model.safetensors, else the index's shards; FT_ENOTFOUND
 * when neither exists. */
static ft_status open_weights(const char *dir, weights *w, ft_error *err)
{
    memset(w, 0, sizeof *w);
    char *one = ft_path_join(dir, "model.safetensors");
    char *index = ft_path_join(dir, "model.safetensors.index.json");
    ft_status st = FT_OK;
    if (!one || !index) {
        st = ft_fail(err, FT_ENOMEM, "out of memory");
    } else if (ft_path_exists(one)) {
        w->files = ft_calloc_array(1, sizeof *w->files);
        w->names = ft_calloc_array(1, sizeof *w->names);
        st = w->files && w->names ? st_open(one, &w->files[0], err)
                                  : ft_fail(err, FT_ENOMEM, "out of memory");
        w->count = st == FT_OK ? 1 : 0;
    } else if (ft_path_exists(index)) {
        char *text = NULL;
        size_t len = 0;
        st = ft_read_file(index, &text, &len, err);
        if (st == FT_OK) st = open_shards(dir, index, text, len, w, err);
        free(text);
    } else {
        st = ft_fail(err, FT_ENOTFOUND,
                     "%s: neither model.safetensors nor "
                     "model.safetensors.index.json found",
                     dir);
    }
    free(one);
    free(index);
    return st;
}

/* The file holding `name`, and its entry, or NULL. */
static const st_tensor_info *find_tensor(const weights *w, const char *name, st_file **file)
{
    int i = 0;
    if (w->map) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(w->map, name);
        i = cJSON_IsString(e) ? shard_of(w, e->valuestring) : -1;
        if (i < 0) return NULL;
    }
    *file = w->files[i];
    return st_find(w->files[i], name);
}

/* t's entry in the weights: present, in t's shape, a float type; else an
 * error naming the file and the tensor. */
static ft_status check_tensor(const model_tensor *t, const weights *w, st_file **file,
                              ft_error *err)
{
    *file = NULL;
    const st_tensor_info *info = find_tensor(w, t->name, file);
    if (!info && !*file) /* not in the index's weight_map */
        return ft_fail(err, FT_ENOTFOUND, "%s: tensor '%s' not found in the index's weight_map",
                       w->count ? st_path(w->files[0]) : "weights", t->name);
    if (!info)
        return ft_fail(err, FT_ENOTFOUND, "%s: tensor '%s' not found in the weights",
                       st_path(*file), t->name);
    bool same = info->ndim == t->ndim && info->shape[0] == t->shape[0] &&
                (t->ndim == 1 || info->shape[1] == t->shape[1]);
    if (!same)
        return ft_fail(err, FT_EINVAL,
                       "%s: tensor '%s' has shape [%lld, %lld] (%d dims); the "
                       "config asks for [%lld, %lld]",
                       st_path(*file), t->name, (long long)info->shape[0],
                       (long long)(info->ndim > 1 ? info->shape[1] : 0), info->ndim,
                       (long long)t->shape[0], (long long)t->shape[1]);
    if (info->dtype != ST_F32 && info->dtype != ST_F16 && info->dtype != ST_BF16)
        return ft_fail(err, FT_EINVAL,
                       "%s: tensor '%s' has dtype %s; expected F32, F16 or "
                       "BF16",
                       st_path(*file), t->name, st_dtype_name(info->dtype));
    return FT_OK;
}

static ft_status load_tensor(model *m, const model_tensor *t, const weights *w, ft_error *err)
{
    st_file *f = NULL;
    ft_status st = check_tensor(t, w, &f, err);
    return st == FT_OK ? st_read_f32(f, t->name, model_params(m) + t->offset, t->numel, err) : st;
}

static ft_status load_weights(model *m, const weights *w, ft_error *err)
{
    size_t stored = 0;
    for (int i = 0; i < w->count; i++) stored += st_count(w->files[i]);
    for (int i = 0; i < model_tensor_count(m); i++) {
        ft_status st = load_tensor(m, model_tensor_at(m, i), w, err);
        if (st != FT_OK) return st;
    }
    if (stored > (size_t)model_tensor_count(m))
        ft_log_info("%zu stored tensors not used by the model (a tied lm_head.weight, RoPE "
                    "buffers)",
                    stored - (size_t)model_tensor_count(m));
    return FT_OK;
}

/* DIR/config.json into *cfg; with keep, the parsed document and the path
 * go into *keep (hf_config.decoder), for hf_model_export to write back. */
static ft_status read_config(const char *dir, model_config *cfg, hf_config *keep, ft_error *err)
{
    char *text = NULL, *path = NULL;
    size_t len = 0;
    ft_status st = read_text(dir, "config.json", &text, &len, &path, err);
    if (st == FT_OK) st = hf_llm_config_parse(text, len, path, cfg, err);
    if (st == FT_OK && keep) {
        memset(keep, 0, sizeof *keep);
        keep->decoder = true;
        keep->json = cJSON_ParseWithLength(text, len);
        keep->path = path;
        path = NULL;
        if (!keep->json) st = ft_fail(err, FT_ENOMEM, "%s: out of memory", keep->path);
    }
    free(text);
    free(path);
    return st;
}

ft_status hf_llm_check_weights(const char *dir, ft_error *err)
{
    model_config cfg;
    model *m = NULL; /* for its tensor table; the buffer's pages are never touched */
    weights w = {0};
    ft_status st = read_config(dir, &cfg, NULL, err);
    if (st == FT_OK) st = model_create(&m, &cfg, err);
    if (st == FT_OK) st = open_weights(dir, &w, err);
    for (int i = 0; st == FT_OK && i < model_tensor_count(m); i++) {
        st_file *f = NULL;
        st = check_tensor(model_tensor_at(m, i), &w, &f, err);
    }
    weights_close(&w);
    model_free(m);
    return st;
}

ft_status hf_llm_load(const char *dir, bool allow_random_init, uint64_t init_seed, model **out,
                      hf_config *keep, ft_error *err)
{
    *out = NULL;
    if (keep) memset(keep, 0, sizeof *keep);
    model_config cfg;
    weights w = {0};
    ft_status st = read_config(dir, &cfg, keep, err);
    if (st == FT_OK) st = model_create(out, &cfg, err);
    if (st == FT_OK) st = open_weights(dir, &w, err);
    if (st == FT_ENOTFOUND && allow_random_init) {
        ft_log_info("%s: no weights: training from scratch (seed %llu)", dir,
                    (unsigned long long)init_seed);
        model_init_random(*out, init_seed);
        st = FT_OK;
    } else if (st == FT_OK) {
        st = load_weights(*out, &w, err);
    }
    weights_close(&w);
    if (st != FT_OK) {
        model_free(*out);
        *out = NULL;
        if (keep) hf_config_free(keep);
    }
    return st;
}
