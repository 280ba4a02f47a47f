/* model_fixture.h: read the reference dumps of tests/fixtures/model/
 * (safetensors files written by tests/reference/make_model_fixtures.py with
 * transformers' BertForSequenceClassification / GPT2ForSequenceClassification
 * on PyTorch) and compare tensors with them.
 *
 * These files are the project's own trusted fixtures, so this reader checks
 * only what the tests need; the library's hardened safetensors parser is
 * src/st. Tensors are copied out (aligned) on request. */
#ifndef MODEL_FIXTURE_H
#define MODEL_FIXTURE_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_fs.h"

typedef struct fixture {
    char *data;
    size_t len, start;
    cJSON *header;
} fixture;

static int fixture_open(fixture *fx, const char *dir, const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    memset(fx, 0, sizeof *fx);
    ft_error err;
    if (ft_read_file(path, &fx->data, &fx->len, &err) != FT_OK || fx->len < 8) {
        fprintf(stderr, "cannot read %s\n", path);
        return 0;
    }
    uint64_t n;
    memcpy(&n, fx->data, 8);
    fx->start = 8 + (size_t)n;
    fx->header = cJSON_ParseWithLength(fx->data + 8, (size_t)n);
    return fx->header != NULL && fx->start <= fx->len;
}

static void fixture_close(fixture *fx)
{
    cJSON_Delete(fx->header);
    free(fx->data);
    memset(fx, 0, sizeof *fx);
}

/* A malloc'd copy of tensor `name` (float32 or int32, 4 bytes each) and its
 * element count, or NULL when absent. shape[0..1] when shape != NULL. */
static void *fixture_get(const fixture *fx, const char *name, size_t *count, int64_t shape[2])
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(fx->header, name);
    if (!t) return NULL;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(t, "shape");
    size_t begin = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    size_t end = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
    if (fx->start + end > fx->len || end < begin) return NULL;
    if (shape) {
        shape[0] = shape[1] = 0;
        for (int i = 0; i < cJSON_GetArraySize(dims) && i < 2; i++)
            shape[i] = (int64_t)cJSON_GetArrayItem(dims, i)->valuedouble;
    }
    void *copy = malloc(end - begin + 4);
    memcpy(copy, fx->data + fx->start + begin, end - begin);
    *count = (end - begin) / 4;
    return copy;
}

/* max |a - ref| / max |ref| (absolute when ref is all zero). */
static double rel_error(const float *a, const float *ref, size_t n)
{
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)ref[i]);
        if (d > diff || d != d) diff = d;
        if (fabs((double)ref[i]) > scale) scale = fabs((double)ref[i]);
    }
    return scale > 0.0 ? diff / scale : diff;
}

#endif
