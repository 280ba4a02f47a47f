/* eval_lm: a decoder LLM's causal-LM loss over the rows of a batch, and
 * its exact reduction across ranks (eval.h).
 *
 * The loss is transformers' (LlamaForCausalLM and kin): the logits at
 * position j are scored against the label of token j+1, positions whose
 * label is -100 count for nothing, and the reported loss is the sum over
 * every counted token of the whole split divided by their number (not a
 * mean of per-row or per-batch means, which would weight short rows more).
 * Each token's -log p is computed in double from the model's float logits
 * (max subtracted) and summed per row in position order; the row sums go
 * into a metrics_fixed_sum, whose integer limbs add exactly in any order,
 * and the token count is an int64: the result is the same bits for any
 * rank count; packed rows the same (each example's first label is -100).
 * Not here: the forward pass (eval.c). */
#include <math.h>

#include "eval_impl.h"
#include "ops/ops.h"

double eval_token_loss(const float *logits, const int32_t *labels, int t, int vocab,
                       int64_t *tokens)
{
    double sum = 0.0;
    int64_t n = 0;
    for (int j = 0; j + 1 < t; j++) {
        int32_t target = labels[j + 1];
        if (target == OPS_IGNORE_INDEX) continue;
        const float *z = logits + (size_t)j * (size_t)vocab;
        double mx = z[0], se = 0.0;
        for (int v = 1; v < vocab; v++) mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < vocab; v++) se += exp((double)z[v] - mx);
        sum += log(se) + mx - (double)z[target];
        n++;
    }
    *tokens = n;
    return sum;
}

void eval_lm_add_rows(eval_lm_sum *s, const float *logits, const shard_batch *b, int first,
                      int last, int vocab)
{
    size_t row_floats = (size_t)b->t * (size_t)vocab;
    for (int r = first; r < last; r++) {
        int64_t n = 0;
        double loss = eval_token_loss(logits + (size_t)r * row_floats,
                                      b->token_labels + (size_t)r * (size_t)b->t, b->t, vocab, &n);
        /* A row's sum is below 2^31 (max_length tokens of a few tens of
         * nats at most), as metrics_fixed_add needs. */
        metrics_fixed_add(&s->loss, loss);
        s->tokens += n;
        s->rows++;
    }
}

void eval_lm_reduce(eval_lm_sum *s, MPI_Comm comm)
{
    int64_t mine[5] = {s->loss.limb[0], s->loss.limb[1], s->loss.limb[2], s->tokens, s->rows};
    int64_t all[5];
    FT_CHECK_MSG(MPI_Allreduce(mine, all, 5, MPI_INT64_T, MPI_SUM, comm) == MPI_SUCCESS,
                 "MPI_Allreduce of the causal-LM loss");
    for (int i = 0; i < 3; i++) s->loss.limb[i] = all[i];
    s->tokens = all[3];
    s->rows = all[4];
}

double eval_lm_mean_loss(const eval_lm_sum *s)
{
    return s->tokens > 0 ? metrics_fixed_value(&s->loss) / (double)s->tokens : NAN;
}
