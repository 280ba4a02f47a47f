/* test_eval: the pure parts of src/eval: the softmax and cross-entropy
 * (against values computed by hand and by long double). The rank slices and
 * the manifest fingerprint are the shard module's (test_shard_split.c). No
 * MPI here: eval_run is covered by tests/integration/test_eval_ranks.sh. */
#include <stdlib.h>

#include "check.h"
#include "eval.h"

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

int main(void)
{
    test_softmax();
    return check_finish();
}
