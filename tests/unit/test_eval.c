/* test_eval: the pure parts of src/eval: the softmax and cross-entropy
 * (against values computed by hand and by long double), and a causal LM's
 * token loss (the shift by one and the -100 mask). The rank slices and
 * the manifest fingerprint are the shard module's (test_shard_split.c). No
 * MPI here: eval_run is covered by tests/integration/test_eval_ranks.sh. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "eval/eval.h"

static void test_softmax(void)
{
    const float logits[3] = {1.0f, 2.0f, 3.0f};
    float p[4];
    int pred = -1;
    double loss = eval_softmax(logits, 3, 0, p, &pred);
    long double z = expl(1.0L) + expl(2.0L) + expl(3.0L);
    for (int c = 0; c < 3; c++) CHECK_CLOSE(p[c], (double)(expl(c + 1.0L) / z), 1e-7);
    CHECK_CLOSE(loss, (double)(logl(z) - 1.0L), 1e-14);
    CHECK_EQ_INT(pred, 2);
    /* huge logits: no overflow, the loss of the losing class is the gap */
    const float big[2] = {1000.0f, -1000.0f};
    loss = eval_softmax(big, 2, 1, p, &pred);
    CHECK_CLOSE(loss, 2000.0, 1e-12);
    CHECK(p[0] == 1.0f && p[1] == 0.0f && pred == 0);
    /* ties: the first index wins, like numpy.argmax; label < 0: no loss */
    const float tie[4] = {0.5f, 2.0f, 2.0f, -1.0f};
    loss = eval_softmax(tie, 4, -1, p, &pred);
    CHECK_EQ_INT(pred, 1);
    CHECK(loss == 0.0);
    CHECK_CLOSE(p[0] + p[1] + p[2] + p[3], 1.0, 1e-6);
}

/* Row of 4 positions over 3 tokens: position j predicts label j+1; label
 * -100 counts nothing, and labels[0] (no position predicts it) is ignored
 * even when set. */
static void test_token_loss(void)
{
    const float logits[4 * 3] = {1, 2, 3, 0, 0, 0, 5, -5, 0, 9, 9, 9};
    const int32_t labels[4] = {2, 0, -100, 1};
    int64_t n = -1;
    double loss = eval_token_loss(logits, labels, 4, 3, &n);
    long double z0 = expl(1.0L) + expl(2.0L) + expl(3.0L);
    long double z2 = expl(5.0L) + expl(-5.0L) + 1.0L;
    long double want = (logl(z0) - 1.0L) + (logl(z2) + 5.0L);
    CHECK_EQ_INT((int)n, 2);
    CHECK_CLOSE(loss, (double)want, 1e-13);
    const int32_t none[4] = {5, -100, -100, -100};
    CHECK(eval_token_loss(logits, none, 4, 3, &n) == 0.0 && n == 0);
}

int main(void)
{
    test_softmax();
    test_token_loss();
    return check_finish();
}
