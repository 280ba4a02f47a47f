/* test_eval: the pure parts of src/eval: the rank slices (every example
 * exactly once, contiguous, balanced), the softmax and cross-entropy
 * (against values computed by hand and by long double), the manifest
 * fingerprint (zlib crc32 of a known string). No MPI here: eval_run is
 * covered by tests/integration/test_eval_ranks.sh. */
#include <stdlib.h>

#include "check.h"
#include "eval.h"
#include "ft_fs.h"

static void test_slices(void)
{
    for (int64_t n = 0; n <= 60; n++) {
        for (int size = 1; size <= 9; size++) {
            int64_t expect = 0, lo = n, hi = 0;
            for (int r = 0; r < size; r++) {
                int64_t b, e;
                eval_slice(n, r, size, &b, &e);
                CHECK_MSG(b == expect, "n=%lld size=%d rank=%d starts at %lld, want %lld",
                          (long long)n, size, r, (long long)b, (long long)expect);
                CHECK(e >= b);
                lo = e - b < lo ? e - b : lo;
                hi = e - b > hi ? e - b : hi;
                expect = e;
            }
            CHECK_MSG(expect == n, "n=%lld size=%d covers %lld", (long long)n, size,
                      (long long)expect);
            CHECK(hi - lo <= 1);
        }
    }
    int64_t b, e; /* large splits do not overflow */
    eval_slice((int64_t)3000000000LL, 2, 3, &b, &e);
    CHECK(b == 2000000000LL && e == 3000000000LL);
}

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

static void test_fingerprint(void)
{
    char dir[] = "/tmp/test_eval_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = ft_path_join(dir, "manifest.json");
    ft_error err = {0};
    /* crc32("123456789") = cbf43926, the standard check value */
    CHECK(ft_write_file_atomic(path, "123456789", 9, true, &err) == FT_OK);
    char fp[32] = "";
    CHECK(eval_manifest_fingerprint(dir, fp, &err) == FT_OK);
    CHECK_STR_CONTAINS(fp, "crc32:cbf43926");
    char missing[64];
    snprintf(missing, sizeof missing, "%s/nothing", dir);
    CHECK(eval_manifest_fingerprint(missing, fp, &err) != FT_OK);
    CHECK_STR_CONTAINS(err.msg, "manifest.json");
    ft_remove_tree(dir, &err);
    free(path);
}

int main(void)
{
    test_slices();
    test_softmax();
    test_fingerprint();
    return check_finish();
}
