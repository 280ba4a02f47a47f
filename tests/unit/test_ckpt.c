/* test_ckpt.c: checkpoint files. A round trip restores the trainable
 * weights, both AdamW moments and the state bit for bit; a truncated file,
 * a flipped bit in tensor data and a wrong shape are detected, leave the
 * model untouched, and ckpt_load_newest falls back to the previous
 * checkpoint; retention keeps the newest N plus the best; two saves of
 * equal state in different seconds are byte-identical; an attribute that
 * holds another number of elements than its one is refused, naming the
 * file, the attribute and the count. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "check.h"
#include "ckpt/ckpt.h"
#include "core/ft_fs.h"

static model_config tiny_config(void)
{
    model_config c = {0};
    c.arch = MODEL_ARCH_BERT;
    c.vocab_size = 50;
    c.max_positions = 16;
    c.type_vocab_size = 2;
    c.hidden = 16;
    c.layers = 2;
    c.heads = 2;
    c.intermediate = 32;
    c.num_labels = 3;
    c.layer_norm_eps = 1e-12f;
    c.initializer_range = 0.02f;
    c.gelu = OPS_GELU_ERF;
    return c;
}

static ckpt_state state_at(int64_t step)
{
    ckpt_state s = {0};
    s.step = step;
    s.epoch = step / 10;
    s.step_in_epoch = step % 10;
    s.optimizer_steps = step;
    s.global_batch = 8;
    s.world_size = 2;
    s.seed = 42;
    s.loss_scale = 1.0;
    s.best_metric = NAN;
    s.best_step = -1;
    s.config_json = (char *)"{\"learning_rate\": 0.001}";
    snprintf(s.data_fingerprint, sizeof s.data_fingerprint, "abcd1234");
    return s;
}

static void fill(float *v, size_t n, float base)
{
    for (size_t i = 0; i < n; i++) v[i] = base + (float)i * 1e-3f;
}

static void test_round_trip_and_damage(const char *dir)
{
    ft_error err;
    model_config cfg = tiny_config();
    model *m = NULL, *back = NULL;
    optim *o = NULL, *ob = NULL;
    optim_hparams h = optim_default_hparams(1e-3f);
    CHECK(model_create(&m, &cfg, &err) == FT_OK && model_create(&back, &cfg, &err) == FT_OK);
    CHECK(optim_create(&o, m, &h, &err) == FT_OK && optim_create(&ob, back, &h, &err) == FT_OK);
    model_freeze_below(m, 1);
    model_freeze_below(back, 1);
    size_t n = model_param_count(m);
    model_init_random(m, 1);
    model_init_random(back, 1);
    fill(optim_exp_avg(o), n, 0.5f);
    fill(optim_exp_avg_sq(o), n, 0.25f);
    model_params(m)[n - 1] = 123.0f; /* a trainable (head) value */
    optim_set_step_count(o, 20);
    for (int64_t step = 10; step <= 30; step += 10) {
        ckpt_state s = state_at(step);
        char *p = ckpt_path(dir, step);
        CHECK(ckpt_write(p, m, o, &s, &err) == FT_OK);
        CHECK(ckpt_set_latest(dir, step, &err) == FT_OK);
        free(p);
    }
    ckpt_state got = {0};
    char *p30 = ckpt_path(dir, 30);
    CHECK(ckpt_read(p30, back, ob, &got, &err) == FT_OK);
    CHECK(memcmp(model_params(back), model_params(m), n * sizeof(float)) == 0);
    /* Frozen moments are not stored: compare the trainable (head) part. */
    const model_tensor *head = model_tensor_at(m, model_tensor_count(m) - 1);
    CHECK(memcmp(optim_exp_avg_sq(ob) + head->offset, optim_exp_avg_sq(o) + head->offset,
                 head->numel * sizeof(float)) == 0);
    CHECK_EQ_INT(got.step, 30);
    CHECK_EQ_INT(got.step_in_epoch, 0);
    CHECK_EQ_INT(optim_step_count(ob), 30);
    CHECK(strcmp(got.config_json, "{\"learning_rate\": 0.001}") == 0);
    CHECK(strcmp(got.data_fingerprint, "abcd1234") == 0);
    CHECK(isnan(got.best_metric) && got.best_step == -1);

    /* Truncate checkpoint-30: skipped, checkpoint-20 used. */
    struct stat sb;
    CHECK(stat(p30, &sb) == 0);
    CHECK(truncate(p30, sb.st_size / 2) == 0);
    model_params(back)[n - 1] = -1.0f;
    CHECK(ckpt_read(p30, back, ob, &got, &err) != FT_OK);
    CHECK_STR_CONTAINS(err.msg, "checkpoint-30.h5");
    CHECK(model_params(back)[n - 1] == -1.0f); /* untouched after a failed read */
    bool found = false;
    int64_t step = -1;
    CHECK(ckpt_load_newest(dir, back, ob, &got, &found, &step, &err) == FT_OK);
    CHECK(found && step == 20);
    CHECK(model_params(back)[n - 1] == 123.0f);

    /* Flip one bit in the data of checkpoint-20's head: Fletcher32 catches it. */
    char *p20 = ckpt_path(dir, 20), *data = NULL;
    size_t len = 0;
    CHECK(ft_read_file(p20, &data, &len, &err) == FT_OK);
    float needle = 123.0f;
    char *hit = memmem(data, len, &needle, sizeof needle);
    CHECK(hit != NULL);
    if (hit) {
        hit[1] ^= 0x10;
        int fd = open(p20, O_WRONLY);
        CHECK(fd >= 0 && pwrite(fd, hit, 4, hit - data) == 4);
        close(fd);
    }
    CHECK(ckpt_read(p20, back, ob, &got, &err) != FT_OK);
    CHECK_STR_CONTAINS(err.msg, "checksum");
    CHECK(ckpt_load_newest(dir, back, ob, &got, &found, &step, &err) == FT_OK);
    CHECK(found && step == 10);
    free(data);
    free(p20);
    free(p30);
    ckpt_state_free(&got);
    optim_free(o);
    optim_free(ob);
    model_free(m);
    model_free(back);
}

static void test_shape_mismatch(const char *dir)
{
    ft_error err;
    model_config cfg = tiny_config();
    model *m = NULL;
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    cfg.num_labels = 2; /* another head */
    model *other = NULL;
    CHECK(model_create(&other, &cfg, &err) == FT_OK);
    ckpt_state s = state_at(5), got = {0};
    char *p = ckpt_path(dir, 5);
    CHECK(ckpt_write(p, m, NULL, &s, &err) == FT_OK);
    CHECK(ckpt_read(p, other, NULL, &got, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "another shape");
    CHECK(ckpt_read(p, m, NULL, &got, &err) == FT_OK);
    ckpt_state_free(&got);
    free(p);
    model_free(m);
    model_free(other);
}

/* Bytes that differ between files a and b (SIZE_MAX when the sizes differ
 * or one is unreadable); *first_diff the offset of the first. */
static size_t bytes_differing(const char *a, const char *b, size_t *first_diff)
{
    ft_error err;
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0, diff = SIZE_MAX;
    if (ft_read_file(a, &da, &la, &err) == FT_OK && ft_read_file(b, &db, &lb, &err) == FT_OK &&
        la == lb) {
        diff = 0;
        for (size_t i = la; i-- > 0;)
            if (da[i] != db[i]) {
                diff++;
                *first_diff = i;
            }
    }
    free(da);
    free(db);
    return diff;
}

/* Equal state, equal bytes (docs/FORMATS.md, "Checkpoints"): two saves of the same
 * model, moments and state in different seconds must give identical files.
 * HDF5 stamps every object it tracks with the time in seconds, so the second
 * save waits for the clock to tick: a tracked time anywhere (the root group
 * takes its setting from the file creation list, not from a group's) shows
 * up as differing bytes. */
static void test_equal_state_equal_bytes(const char *dir)
{
    ft_error err;
    model_config cfg = tiny_config();
    model *m = NULL;
    optim *o = NULL;
    optim_hparams h = optim_default_hparams(1e-3f);
    CHECK(model_create(&m, &cfg, &err) == FT_OK && optim_create(&o, m, &h, &err) == FT_OK);
    model_init_random(m, 7);
    fill(optim_exp_avg(o), model_param_count(m), 0.5f);
    fill(optim_exp_avg_sq(o), model_param_count(m), 0.25f);
    ckpt_state s = state_at(40);
    char *a = ft_path_join(dir, "first.h5"), *b = ft_path_join(dir, "second.h5");
    CHECK(ckpt_write(a, m, o, &s, &err) == FT_OK);
    time_t written = time(NULL);
    while (time(NULL) == written) nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    CHECK(ckpt_write(b, m, o, &s, &err) == FT_OK);
    size_t first_diff = 0, diff = bytes_differing(a, b, &first_diff);
    CHECK_MSG(diff == 0, "%zu bytes differ, the first at offset %zu", diff, first_diff);
    free(a);
    free(b);
    optim_free(o);
    model_free(m);
}

/* Replace attribute name of file path by n elements of type (a 1-D array). */
static void rewrite_attr(const char *path, const char *name, hid_t type, hsize_t n, const void *v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0 && H5Adelete(f, name) >= 0);
    hid_t s = H5Screate_simple(1, &n, NULL),
          a = H5Acreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, type, v) >= 0);
    H5Aclose(a);
    H5Sclose(s);
    H5Fclose(f);
}

static void expect_state_error(const char *path, const char *needle)
{
    ckpt_state got = {0};
    ft_error err = {0};
    CHECK(ckpt_read_state(path, &got, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, path);
    CHECK_STR_CONTAINS(err.msg, needle);
    ckpt_state_free(&got);
}

/* Every attribute read checks its element count first and names the file,
 * the attribute and the count: an array where the format has one value, an
 * empty array, and an array of strings. */
static void test_attribute_counts(const char *dir)
{
    ft_error err;
    model_config cfg = tiny_config();
    model *m = NULL;
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    ckpt_state s = state_at(7);
    const char *names[3] = {"step", "seed", "data_fingerprint"};
    const char *needles[3] = {"attribute 'step' holds 3 element(s), expected 1",
                              "attribute 'seed' holds 0 element(s), expected 1",
                              "attribute 'data_fingerprint' holds 2 element(s), expected 1"};
    for (int i = 0; i < 3; i++) {
        char *p = ckpt_path(dir, 7 + i);
        CHECK(ckpt_write(p, m, NULL, &s, &err) == FT_OK);
        ckpt_state ok = {0};
        CHECK_MSG(ckpt_read_state(p, &ok, &err) == FT_OK, "%s", err.msg);
        ckpt_state_free(&ok);
        int64_t three[3] = {7, 8, 9};
        char two[2][9] = {"abcd1234", "ffffffff"};
        hid_t str = H5Tcopy(H5T_C_S1);
        H5Tset_size(str, 9);
        if (i == 0) rewrite_attr(p, names[i], H5T_NATIVE_INT64, 3, three);
        if (i == 1) rewrite_attr(p, names[i], H5T_NATIVE_UINT64, 0, three);
        if (i == 2) rewrite_attr(p, names[i], str, 2, two);
        H5Tclose(str);
        expect_state_error(p, needles[i]);
        free(p);
    }
    model_free(m);
}

static void test_prune(const char *dir)
{
    ft_error err;
    model_config cfg = tiny_config();
    model *m = NULL;
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    for (int64_t step = 1; step <= 5; step++) {
        ckpt_state s = state_at(step);
        char *p = ckpt_path(dir, step);
        CHECK(ckpt_write(p, m, NULL, &s, &err) == FT_OK);
        free(p);
    }
    char *stray = ft_path_join(dir, "checkpoint-6.h5.tmp.1.0");
    CHECK(ft_write_file_atomic(stray, "x", 1, true, &err) == FT_OK);
    CHECK(ckpt_prune(dir, 2, 5, 2, &err) == FT_OK);
    int64_t *steps = NULL;
    int n = 0;
    CHECK(ckpt_list(dir, &steps, &n, &err) == FT_OK);
    CHECK_EQ_INT(n, 3);
    if (n == 3) CHECK(steps[0] == 5 && steps[1] == 4 && steps[2] == 2);
    CHECK(!ft_path_exists(stray));
    free(stray);
    free(steps);
    /* A higher-step file not of this run (e.g. one the resume skipped as
     * damaged) must not push the checkpoint just saved out. */
    for (int64_t step = 9; step >= 6; step -= 3) {
        ckpt_state s = state_at(step);
        char *p = ckpt_path(dir, step);
        CHECK(ckpt_write(p, m, NULL, &s, &err) == FT_OK);
        free(p);
    }
    CHECK(ckpt_prune(dir, 1, 6, 2, &err) == FT_OK);
    CHECK(ckpt_list(dir, &steps, &n, &err) == FT_OK);
    CHECK_EQ_INT(n, 3);
    if (n == 3) CHECK(steps[0] == 9 && steps[1] == 6 && steps[2] == 2);
    free(steps);
    model_free(m);
}

int main(void)
{
    char tmpl[] = "/tmp/test_ckpt.XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir) return check_finish();
    char *a = ft_path_join(dir, "a"), *b = ft_path_join(dir, "b"), *c = ft_path_join(dir, "c");
    char *d = ft_path_join(dir, "d");
    ft_error err;
    CHECK(ft_mkdir_p(a, &err) == FT_OK && ft_mkdir_p(b, &err) == FT_OK &&
          ft_mkdir_p(c, &err) == FT_OK);
    CHECK(ft_mkdir_p(d, &err) == FT_OK);
    test_round_trip_and_damage(a);
    test_shape_mismatch(b);
    test_prune(c);
    test_equal_state_equal_bytes(d);
    test_attribute_counts(d);
    ft_remove_tree(dir, &err);
    free(a);
    free(b);
    free(c);
    free(d);
    return check_finish();
}
