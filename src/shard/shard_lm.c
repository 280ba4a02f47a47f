/* shard_lm: the causal_lm rows of a prepared dataset (see shard.h): one
 * example's ids and labels from its prompt and completion tokens
 * (shard_lm_example), the rows of a file from its examples, packed or not
 * (shard_lm_pack), and the validator of the token columns (shard_lm_check).
 *
 * Design: labels are stored unshifted, as transformers' causal LM models take
 * them (the model shifts: the logits at position j are scored against the
 * label at j + 1), so a label is either the token's own id or -100. The first
 * token of each example is never predicted (nothing before it in its
 * example), so its label is -100 in every row, packed or not: that is what
 * keeps a packed row's loss from crossing examples, as transformers'
 * DataCollatorWithFlattening does (labels [-100] + ids[1:] per example).
 * Packing is next fit in file order, a pure function of the file's examples,
 * so the files are byte-identical for any rank count.
 * Not here: tokenizing (ftune-shard), attention masks (the model builds them
 * from segment_ids). */
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "shard/shard.h"

const char *shard_task_name(int task)
{
    return task == SHARD_TASK_CAUSAL_LM        ? "causal_lm"
           : task == SHARD_TASK_CLASSIFICATION ? "sequence_classification"
                                               : "unknown";
}

int shard_task_of_name(const char *name)
{
    if (name && !strcmp(name, "sequence_classification")) return SHARD_TASK_CLASSIFICATION;
    if (name && !strcmp(name, "causal_lm")) return SHARD_TASK_CAUSAL_LM;
    return -1;
}

const char *shard_truncation_name(int t)
{
    return t == SHARD_TRUNCATE_RIGHT         ? "right"
           : t == SHARD_TRUNCATE_PROMPT_LEFT ? "prompt_left"
                                             : "unknown";
}

int shard_truncation_of_name(const char *name)
{
    if (name && !strcmp(name, "prompt_left")) return SHARD_TRUNCATE_PROMPT_LEFT;
    if (name && !strcmp(name, "right")) return SHARD_TRUNCATE_RIGHT;
    return -1;
}

ft_status shard_lm_alloc(shard_lm *lm, uint64_t rows, int32_t max_length, bool packed,
                         ft_error *err)
{
    size_t n = rows ? (size_t)rows : 1;
    *lm = (shard_lm){.packed = packed};
    lm->labels = ft_malloc_array(n, (size_t)max_length * sizeof(int32_t));
    if (packed) {
        lm->position_ids = ft_malloc_array(n, (size_t)max_length * sizeof(int32_t));
        lm->segment_ids = ft_malloc_array(n, (size_t)max_length * sizeof(int32_t));
    }
    if (lm->labels && (!packed || (lm->position_ids && lm->segment_ids))) return FT_OK;
    shard_lm_free(lm);
    return ft_fail(err, FT_ENOMEM, "out of memory for the labels of %llu rows of %d tokens",
                   (unsigned long long)rows, max_length);
}

void shard_lm_free(shard_lm *lm)
{
    if (!lm) return;
    free(lm->labels);
    free(lm->position_ids);
    free(lm->segment_ids);
    free(lm->segment_example_index);
    memset(lm, 0, sizeof *lm);
}

/* --- one example ---------------------------------------------------------- */

bool shard_lm_example(const int32_t *prompt, int32_t n_prompt, const int32_t *completion,
                      int32_t n_completion, const shard_lm_options *opt, int32_t *ids,
                      int32_t *labels, int32_t *length, bool *truncated)
{
    int32_t L = opt->max_length;
    bool add_eos =
        opt->eos_id >= 0 && (n_completion == 0 || completion[n_completion - 1] != opt->eos_id);
    int32_t nc = n_completion + (add_eos ? 1 : 0), np = n_prompt;
    int32_t skip_p = 0, keep_p = np, keep_c = nc; /* prompt tokens cut at the start, kept */
    if ((int64_t)np + nc > L) {
        if (opt->truncation == SHARD_TRUNCATE_PROMPT_LEFT) {
            keep_c = nc < L ? nc : L;
            keep_p = L - keep_c;
            skip_p = np - keep_p;
        } else {
            keep_p = np < L ? np : L;
            keep_c = L - keep_p;
        }
    }
    *truncated = keep_p < np || keep_c < nc;
    *length = keep_p + keep_c;
    for (int32_t j = 0; j < keep_p; j++) {
        ids[j] = prompt[skip_p + j];
        labels[j] = opt->completion_only_loss ? SHARD_IGNORE_INDEX : ids[j];
    }
    for (int32_t j = 0; j < keep_c; j++) {
        ids[keep_p + j] = j < n_completion ? completion[j] : opt->eos_id;
        labels[keep_p + j] = ids[keep_p + j];
    }
    for (int32_t j = *length; j < L; j++) {
        ids[j] = opt->pad_id;
        labels[j] = SHARD_IGNORE_INDEX;
    }
    if (*length > 0) labels[0] = SHARD_IGNORE_INDEX; /* nothing predicts the first token */
    if (keep_c == 0) return false;                   /* the completion was cut away */
    for (int32_t j = 1; j < *length; j++)
        if (labels[j] != SHARD_IGNORE_INDEX) return true;
    return false;
}

/* --- rows of a file ------------------------------------------------------- */

static int32_t row_id(const shard_rows *r, size_t at)
{
    return r->wide_ids ? ((const int32_t *)r->input_ids)[at] : ((const uint16_t *)r->input_ids)[at];
}

static void set_id(shard_rows *r, size_t at, int32_t v)
{
    if (r->wide_ids)
        ((int32_t *)r->input_ids)[at] = v;
    else
        ((uint16_t *)r->input_ids)[at] = (uint16_t)v;
}

/* Rows needed: kept examples, or next-fit bins of max_length tokens. */
static uint64_t count_rows(const shard_rows *ex, const bool *keep, bool packed)
{
    uint64_t rows = 0;
    int32_t fill = 0;
    for (uint64_t i = 0; i < ex->rows; i++) {
        if (!keep[i]) continue;
        if (!packed || rows == 0 || fill + ex->lengths[i] > ex->max_length) {
            rows++;
            fill = 0;
        }
        fill += ex->lengths[i];
    }
    return rows;
}

/* Pads row `row` of out from position `from` on. */
static void pad_row(shard_rows *out, shard_lm *lm, uint64_t row, int32_t from, int32_t pad_id)
{
    size_t base = (size_t)row * (size_t)out->max_length;
    for (int32_t j = from; j < out->max_length; j++) {
        set_id(out, base + (size_t)j, pad_id);
        lm->labels[base + (size_t)j] = SHARD_IGNORE_INDEX;
        if (lm->packed) lm->position_ids[base + (size_t)j] = lm->segment_ids[base + (size_t)j] = 0;
    }
}

ft_status shard_lm_pack(const shard_rows *ex, const shard_lm *ex_lm, const bool *keep, bool packed,
                        int32_t pad_id, shard_rows *out, shard_lm *out_lm, ft_error *err)
{
    int32_t L = ex->max_length;
    uint64_t rows = count_rows(ex, keep, packed);
    ft_status st = shard_rows_alloc(out, rows, L, ex->wide_ids, err);
    if (st == FT_OK) st = shard_lm_alloc(out_lm, rows, L, packed, err);
    if (st != FT_OK) {
        shard_rows_free(out);
        return st;
    }
    free(out->labels); /* no class labels in a causal_lm file */
    out->labels = NULL;
    uint64_t kept = 0;
    for (uint64_t i = 0; i < ex->rows; i++) kept += keep[i];
    if (packed && !(out_lm->segment_example_index = ft_malloc_array(kept + 1, sizeof(int64_t)))) {
        shard_rows_free(out);
        shard_lm_free(out_lm);
        return ft_fail(err, FT_ENOMEM, "out of memory for %llu example indexes",
                       (unsigned long long)kept);
    }
    int64_t row = -1;
    int32_t fill = 0, segment = 0;
    for (uint64_t i = 0; i < ex->rows; i++) {
        if (!keep[i]) continue;
        int32_t n = ex->lengths[i];
        size_t src = (size_t)i * (size_t)L;
        if (!packed || row < 0 || fill + n > L) {
            if (row >= 0) pad_row(out, out_lm, (uint64_t)row, fill, pad_id);
            row++;
            fill = segment = 0;
            out->example_index[row] = ex->example_index[i];
        }
        segment++;
        if (packed) out_lm->segment_example_index[out_lm->segments++] = ex->example_index[i];
        size_t dst = (size_t)row * (size_t)L + (size_t)fill;
        for (int32_t j = 0; j < n; j++) {
            set_id(out, dst + (size_t)j, row_id(ex, src + (size_t)j));
            out_lm->labels[dst + (size_t)j] = ex_lm->labels[src + (size_t)j];
            if (packed) {
                out_lm->position_ids[dst + (size_t)j] = j;
                out_lm->segment_ids[dst + (size_t)j] = segment;
            }
        }
        fill += n;
        out->lengths[row] = fill;
    }
    if (row >= 0) pad_row(out, out_lm, (uint64_t)row, fill, pad_id);
    return FT_OK;
}

/* --- the validator -------------------------------------------------------- */

static ft_status bad_at(const char *path, uint64_t row, int32_t j, const char *what, int64_t got,
                        ft_error *err)
{
    return ft_fail(err, FT_EFORMAT, "%s: row %llu, position %d: %s (got %lld)", path,
                   (unsigned long long)row, j, what, (long long)got);
}

/* Segment and position ids of one packed row. */
static ft_status check_packed_row(const char *path, const shard_rows *r, const shard_lm *lm,
                                  uint64_t i, ft_error *err)
{
    size_t base = (size_t)i * (size_t)r->max_length;
    const int32_t *seg = lm->segment_ids + base, *pos = lm->position_ids + base,
                  *lab = lm->labels + base;
    for (int32_t j = 0; j < r->max_length; j++) {
        if (j >= r->lengths[i]) {
            if (seg[j] != 0 || pos[j] != 0)
                return bad_at(path, i, j, "padding must have segment and position id 0",
                              seg[j] ? seg[j] : pos[j], err);
            continue;
        }
        bool starts = j == 0 || seg[j] != seg[j - 1];
        int32_t want_seg = j == 0 ? 1 : seg[j - 1] + (starts ? 1 : 0);
        if (seg[j] != want_seg)
            return bad_at(path, i, j, "segment ids must be 1, 2, ... in steps of one", seg[j], err);
        if (pos[j] != (starts ? 0 : pos[j - 1] + 1))
            return bad_at(path, i, j,
                          "position ids must restart at 0 with each segment and count up by one",
                          pos[j], err);
        if (starts && lab[j] != SHARD_IGNORE_INDEX)
            return bad_at(path, i, j, "the first token of a segment must have label -100", lab[j],
                          err);
    }
    return FT_OK;
}

/* Segments counted from the (checked) segment ids against the example
 * indexes: one per segment, each row's first its example_index. */
static ft_status check_segment_examples(const char *path, const shard_rows *r, const shard_lm *lm,
                                        ft_error *err)
{
    uint64_t k = 0;
    for (uint64_t i = 0; i < r->rows; i++) {
        size_t last = (size_t)i * (size_t)r->max_length + (size_t)r->lengths[i] - 1;
        if (k < lm->segments && lm->segment_example_index[k] != r->example_index[i])
            return ft_fail(err, FT_EFORMAT,
                           "%s: row %llu: segment_example_index[%llu] is %lld, not the row's "
                           "example_index %lld",
                           path, (unsigned long long)i, (unsigned long long)k,
                           (long long)lm->segment_example_index[k], (long long)r->example_index[i]);
        k += (uint64_t)lm->segment_ids[last];
    }
    if (k != lm->segments)
        return ft_fail(err, FT_EFORMAT,
                       "%s: %llu segments in the rows, but segment_example_index holds %llu", path,
                       (unsigned long long)k, (unsigned long long)lm->segments);
    for (uint64_t j = 0; j < k; j++)
        if (lm->segment_example_index[j] < 0)
            return ft_fail(err, FT_EFORMAT, "%s: segment_example_index[%llu] is negative", path,
                           (unsigned long long)j);
    return FT_OK;
}

ft_status shard_lm_check(const char *path, const shard_rows *r, const shard_lm *lm,
                         int32_t vocab_size, ft_error *err)
{
    int32_t L = r->max_length;
    for (uint64_t i = 0; i < r->rows; i++) {
        const int32_t *lab = lm->labels + (size_t)i * (size_t)L;
        for (int32_t j = 0; j < L; j++) {
            if (lab[j] == SHARD_IGNORE_INDEX) continue;
            if (j >= r->lengths[i] || j == 0)
                return bad_at(path, i, j,
                              j ? "padding must have label -100"
                                : "the first token must have label -100",
                              lab[j], err);
            if (lab[j] < 0 || lab[j] >= vocab_size)
                return bad_at(path, i, j, "a label must be -100 or a token id of the vocabulary",
                              lab[j], err);
            if (r->input_ids && lab[j] != row_id(r, (size_t)i * (size_t)L + (size_t)j))
                return bad_at(path, i, j,
                              "a label must be -100 or the token's own id (labels are unshifted)",
                              lab[j], err);
        }
        if (lm->packed) {
            ft_status st = check_packed_row(path, r, lm, i, err);
            if (st != FT_OK) return st;
        }
    }
    return lm->packed ? check_segment_examples(path, r, lm, err) : FT_OK;
}
