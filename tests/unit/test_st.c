/* st: safetensors reading against torch's conversions
 * (tests/reference/make_safetensors_fixtures.py), every hostile header,
 * writing byte-identical to the reference writer, round trips, atomic
 * overwrite rules, and a mutation loop over the good file. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/ft_fs.h"
#include "st/st.h"

#define FIX FTUNE_FIXTURES "/safetensors"

static char tmpdir[] = "/tmp/ftune_test_st.XXXXXX";

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    ft_error err;
    if (ft_read_file(path, &data, len, &err) != FT_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, err.msg);
        return NULL;
    }
    return data;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Same value: identical bits, or both NaN. */
static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || bits_of(a) == bits_of(b);
}

static void check_float_tensor(st_file *f, const st_tensor_info *t)
{
    char path[512];
    snprintf(path, sizeof path, FIX "/good_expected/%s.f32", t->name);
    size_t len = 0;
    char *expected = slurp(path, &len);
    CHECK(expected && len == 4 * t->numel);
    float *got = malloc(4 * t->numel + 4);
    ft_error err;
    CHECK(st_read_f32(f, t->name, got, t->numel, &err) == FT_OK);
    int bad = 0;
    for (size_t i = 0; expected && i < t->numel; i++) {
        float e;
        memcpy(&e, expected + 4 * i, 4);
        if (!same_float(got[i], e) && bad++ < 5)
            fprintf(stderr, "%s[%zu]: got %08x expected %08x\n", t->name, i, bits_of(got[i]),
                    bits_of(e));
    }
    CHECK_MSG(bad == 0, "%s: %d values differ from torch", t->name, bad);
    free(got);
    free(expected);
}

static void check_int_tensor(st_file *f, const st_tensor_info *t)
{
    char path[512];
    snprintf(path, sizeof path, FIX "/good_expected/%s.bin", t->name);
    size_t len = 0;
    char *expected = slurp(path, &len);
    CHECK(expected && len == t->nbytes);
    CHECK(expected && memcmp(st_data(f, t), expected, len) == 0);
    float dummy[64];
    ft_error err;
    CHECK(st_read_f32(f, t->name, dummy, t->numel, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "floating-point");
    free(expected);
}

static void test_good(void)
{
    st_file *f = NULL;
    ft_error err;
    CHECK(st_open(FIX "/good.safetensors", &f, &err) == FT_OK);
    if (!f) return;
    CHECK_EQ_INT(st_count(f), 12);
    CHECK(st_metadata(f, "format") && !strcmp(st_metadata(f, "format"), "pt"));
    CHECK(st_metadata(f, "Format") == NULL);
    CHECK(st_find(f, "nope") == NULL);
    const st_tensor_info *t = st_find(f, "f16.special");
    CHECK(t && t->dtype == ST_F16 && t->ndim == 1 && t->shape[0] == 117 && t->nbytes == 234);
    t = st_find(f, "bf16.vals");
    CHECK(t && t->dtype == ST_BF16 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 50);
    t = st_find(f, "f32.scalar");
    CHECK(t && t->ndim == 0 && t->numel == 1);
    t = st_find(f, "f32.empty");
    CHECK(t && t->numel == 0 && t->nbytes == 0);
    t = st_find(f, "bert.embeddings.position_ids");
    CHECK(t && t->dtype == ST_I64 && t->shape[1] == 8);
    CHECK(!strcmp(st_info_at(f, 0)->name, "u8.odd")); /* data order, not header order */
    CHECK(st_info_at(f, st_count(f)) == NULL);
    for (size_t i = 0; i < st_count(f); i++) {
        t = st_info_at(f, i);
        if (i > 0) CHECK(t->offset >= st_info_at(f, i - 1)->offset);
        if (st_dtype_is_float(t->dtype))
            check_float_tensor(f, t);
        else
            check_int_tensor(f, t);
    }
    float four[4];
    CHECK(st_read_f32(f, "f32.mat", four, 4, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "has 12 elements; expected 4");
    CHECK(st_read_f32(f, "missing.weight", four, 4, &err) == FT_ENOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "missing.weight");
    st_close(f);
    st_close(NULL);
}

static const struct {
    const char *file, *phrase;
} bad_cases[] = {
    {"too_short", "too short"},
    {"len_zero", "too small"},
    {"len_past_file", "larger than the file"},
    {"len_absurd", "header length 9223372036854775813 is absurd"},
    {"not_json", "not JSON"},
    {"not_object", "not an object"},
    {"trailing", "after its JSON value"},
    {"nul", "NUL byte"},
    {"utf8", "not valid UTF-8"},
    {"entry_not_object", "tensor 'a': entry is not an object"},
    {"dtype_missing", "'dtype' must be a string"},
    {"dtype_unknown", "unknown dtype \"Q4\""},
    {"shape_negative", "'shape' must be an array of non-negative integers"},
    {"shape_float", "dimension 1 is not"},
    {"shape_string", "'shape' must be an array"},
    {"shape_ndim", "9 dimensions"},
    {"shape_overflow", "overflows"},
    {"bytes_overflow", "shape x dtype size overflows"},
    {"offsets_three", "'data_offsets' must be 2"},
    {"offsets_string", "'data_offsets' must be 2"},
    {"offsets_huge", "'data_offsets' must be 2"},
    {"begin_after_end", "begin 16 > end 0"},
    {"size_mismatch", "need 16 bytes but data_offsets span 12"},
    {"past_end", "past the end of the data area"},
    {"overlap", "tensors 'a' and 'b' overlap"},
    {"overlap_inside", "overlap in the data area"},
    {"duplicate", "tensor 'a' appears twice in the header (duplicate name)"},
    {"metadata_string", "'__metadata__' must be an object of strings"},
    {"metadata_number", "('format' is not a string)"},
    {"metadata_twice", "duplicate '__metadata__'"},
    {"truncated_data", "past the end of the data area"},
    {"truncated_header", "larger than the file"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, FIX "/bad_%s.safetensors", bad_cases[i].file);
        st_file *f = (st_file *)&f; /* must be reset to NULL */
        ft_error err = {0};
        ft_status st = st_open(path, &f, &err);
        CHECK_MSG(st == FT_EFORMAT, "%s: status %s (%s)", bad_cases[i].file, ft_status_name(st),
                  err.msg);
        CHECK(f == NULL);
        /* The phrase after the path: "bad_len_absurd" must not match "absurd". */
        size_t plen = strlen(path);
        CHECK_MSG(strncmp(err.msg, path, plen) == 0, "\"%s\" does not start with %s", err.msg,
                  path);
        CHECK_STR_CONTAINS(err.msg + (strlen(err.msg) >= plen ? plen : 0), bad_cases[i].phrase);
        st_close(f);
    }
    st_file *f = NULL;
    ft_error err;
    CHECK(st_open(FIX "/no_such.safetensors", &f, &err) == FT_ENOTFOUND);
    CHECK(st_open(FIX, &f, &err) == FT_EFORMAT); /* a folder */
}

/* Narrowing as torch does it, and widening back. */
static void test_conversions(void)
{
    size_t n32 = 0, n16 = 0, nb = 0;
    char *x = slurp(FIX "/narrow.f32", &n32);
    char *h = slurp(FIX "/narrow_f16.u16", &n16);
    char *b = slurp(FIX "/narrow_bf16.u16", &nb);
    CHECK(x && h && b && n16 == n32 / 2 && nb == n32 / 2);
    int bad = 0;
    for (size_t i = 0; x && h && b && i < n32 / 4; i++) {
        float v;
        uint16_t eh, eb;
        memcpy(&v, x + 4 * i, 4);
        memcpy(&eh, h + 2 * i, 2);
        memcpy(&eb, b + 2 * i, 2);
        uint16_t gh = st_f32_to_f16(v), gb = st_f32_to_bf16(v);
        int ok =
            isnan(v) ? isnan(st_f16_to_f32(gh)) && isnan(st_bf16_to_f32(gb)) : gh == eh && gb == eb;
        if (!ok && bad++ < 5)
            fprintf(stderr, "narrow[%zu] %.9g: f16 %04x vs %04x, bf16 %04x vs %04x\n", i, (double)v,
                    gh, eh, gb, eb);
    }
    CHECK_MSG(bad == 0, "%d narrowing results differ from torch", bad);
    /* Every F16 value widens exactly: narrowing it again gives it back. */
    int trips = 0;
    for (uint32_t v = 0; v <= 0xFFFF; v++) {
        float w = st_f16_to_f32((uint16_t)v);
        trips += isnan(w) ? ((v & 0x7C00) == 0x7C00 && (v & 0x3FF) != 0) : st_f32_to_f16(w) == v;
        uint16_t bf = (uint16_t)v;
        float wb = st_bf16_to_f32(bf);
        trips += isnan(wb) ? 1 : st_f32_to_bf16(wb) == bf;
    }
    CHECK_EQ_INT(trips, 2 * 65536);
    free(x);
    free(h);
    free(b);
}

static char *tmp_path(const char *name) { return ft_path_join(tmpdir, name); }

/* Files in tmpdir other than . and .. */
static int count_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static int file_equals(const char *path, const void *bytes, size_t len)
{
    size_t got_len = 0;
    char *got = slurp(path, &got_len);
    int same = got && got_len == len && memcmp(got, bytes, len) == 0;
    free(got);
    return same;
}

/* The Rust crate's own test vectors (safetensors/src/tensor.rs tests). */
static void test_reference_vectors(void)
{
    static const char hdr1[] =
        "@\0\0\0\0\0\0\0{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    static const char hdr2[] =
        "H\0\0\0\0\0\0\0{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}"
        "       ";
    const float data[6] = {0, 1, 2, 3, 4, 5};
    unsigned char want[8 + 72 + 24];
    ft_error err;
    char *p = tmp_path("vec.safetensors");
    st_tensor_out t = {"attn.0", data, 3, (const int64_t[]){1, 2, 3}, ST_F32};
    CHECK(st_write_f32(p, &t, 1, NULL, true, &err) == FT_OK);
    memcpy(want, hdr1, 72);
    memcpy(want + 72, data, 24);
    CHECK(file_equals(p, want, 96));
    st_tensor_out t2 = {"attn0", data, 4, (const int64_t[]){1, 1, 2, 3}, ST_F32};
    CHECK(st_write_f32(p, &t2, 1, NULL, true, &err) == FT_OK);
    memcpy(want, hdr2, 80);
    memcpy(want + 80, data, 24);
    CHECK(file_equals(p, want, 104));
    CHECK(st_write_f32(p, NULL, 0, NULL, true, &err) == FT_OK);
    CHECK(file_equals(p, "\x08\0\0\0\0\0\0\0{}      ", 16));
    CHECK(st_write_f32(p, NULL, 0, "{\"framework\":\"pt\"}", true, &err) == FT_OK);
    CHECK(file_equals(p, "(\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"}}     ", 48));
    st_file *f = NULL;
    CHECK(st_open(p, &f, &err) == FT_OK);
    CHECK(f && st_count(f) == 0 && !strcmp(st_metadata(f, "framework"), "pt"));
    st_close(f);
    unlink(p);
    free(p);
}

/* Mixed dtypes and metadata: the same bytes as the python restatement of
 * the reference writer's layout. */
static void test_reference_order(void)
{
    size_t len = 0;
    char *in = slurp(FIX "/reference_order.f32", &len);
    CHECK(in && len == 20 * 4);
    if (!in) return;
    const float *x = (const float *)in;
    static const int64_t s_z[] = {2, 3}, s_a[] = {4}, s_m[] = {2, 2}, s_b[] = {3},
                         s_c[] = {1, 1, 2};
    st_tensor_out t[] = {
        {"z.f32", x, 2, s_z, ST_F32},        {"a.bf16", x + 6, 1, s_a, ST_BF16},
        {"m.f16", x + 10, 2, s_m, ST_F16},   {"b.f32", x + 14, 1, s_b, ST_F32},
        {"c.bf16", x + 17, 3, s_c, ST_BF16}, {"A.f32", x + 19, 0, NULL, ST_F32},
    };
    char *p = tmp_path("order.safetensors");
    ft_error err;
    CHECK(st_write(p, t, 6, "{\"format\":\"pt\"}", false, &err) == FT_OK);
    size_t rlen = 0;
    char *ref = slurp(FIX "/reference_order.safetensors", &rlen);
    CHECK(ref && file_equals(p, ref, rlen));
    unlink(p);
    free(ref);
    free(p);
    free(in);
}

static void test_round_trip(void)
{
    enum { N = 1000 };
    float *a = malloc(N * sizeof *a), *back = malloc(N * sizeof *back);
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t u = (uint32_t)(s >> 32);
        memcpy(&a[i], &u, 4); /* every bit pattern: NaN, inf, subnormals */
    }
    static const int64_t shape[] = {10, 100}, half[] = {500};
    st_tensor_out t[] = {
        {"w", a, 2, shape, ST_F32}, {"h", a, 1, half, ST_F16}, {"b", a + 500, 1, half, ST_BF16}};
    char *p = tmp_path("rt.safetensors");
    ft_error err;
    CHECK(st_write(p, t, 3, "{\"format\":\"pt\"}", false, &err) == FT_OK);
    CHECK_EQ_INT(count_files(), 1); /* no temp file left */
    st_file *f = NULL;
    CHECK(st_open(p, &f, &err) == FT_OK);
    int bad = 0;
    if (f) {
        CHECK(st_read_f32(f, "w", back, N, &err) == FT_OK);
        for (int i = 0; i < N; i++) bad += bits_of(back[i]) != bits_of(a[i]);
        CHECK(st_read_f32(f, "h", back, 500, &err) == FT_OK);
        for (int i = 0; i < 500; i++)
            bad += !same_float(back[i], st_f16_to_f32(st_f32_to_f16(a[i])));
        CHECK(st_read_f32(f, "b", back, 500, &err) == FT_OK);
        for (int i = 0; i < 500; i++)
            bad += !same_float(back[i], st_bf16_to_f32(st_f32_to_bf16(a[500 + i])));
        CHECK(st_find(f, "h")->dtype == ST_F16 && st_find(f, "b")->dtype == ST_BF16);
    }
    CHECK_EQ_INT(bad, 0);
    st_close(f);

    /* Overwrite only when asked; a refused write leaves the file alone. */
    CHECK(st_write_f32(p, t, 1, NULL, false, &err) == FT_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "already exists");
    CHECK(st_open(p, &f, &err) == FT_OK && st_count(f) == 3);
    st_close(f);
    CHECK(st_write_f32(p, t, 3, NULL, true, &err) == FT_OK);
    CHECK(st_open(p, &f, &err) == FT_OK && st_count(f) == 3);
    CHECK(f && st_find(f, "h")->dtype == ST_F32 && st_metadata(f, "format") == NULL);
    st_close(f);
    CHECK_EQ_INT(count_files(), 1);
    unlink(p);
    free(p);
    free(a);
    free(back);
}

static void test_write_errors(void)
{
    float v[2] = {1, 2};
    static const int64_t two[] = {2}, neg[] = {-1};
    char *p = tmp_path("bad.safetensors");
    ft_error err;
    st_tensor_out dup[] = {{"x", v, 1, two, ST_F32}, {"x", v, 1, two, ST_BF16}};
    CHECK(st_write(p, dup, 2, NULL, false, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "given twice");
    st_tensor_out meta = {"__metadata__", v, 1, two, ST_F32};
    CHECK(st_write(p, &meta, 1, NULL, false, &err) == FT_EINVAL);
    st_tensor_out ints = {"i", v, 1, two, ST_I32};
    CHECK(st_write(p, &ints, 1, NULL, false, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "F32, F16 or BF16");
    st_tensor_out negative = {"n", v, 1, neg, ST_F32};
    CHECK(st_write(p, &negative, 1, NULL, false, &err) == FT_EINVAL);
    st_tensor_out ok = {"ok", v, 1, two, ST_F32};
    CHECK(st_write(p, &ok, 1, "{\"format\":1}", false, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "object of strings");
    CHECK(st_write(p, &ok, 1, "not json", false, &err) == FT_EINVAL);
    CHECK(st_write(FTUNE_FIXTURES "/no/such/dir/x.safetensors", &ok, 1, NULL, false, &err) ==
          FT_EIO);
    CHECK_EQ_INT(count_files(), 0);
    free(p);
}

/* Flip, overwrite and truncate bytes of the good file: st_open must fail
 * cleanly or describe only ranges inside the file. */
static void test_mutations(void)
{
    size_t len = 0;
    char *good = slurp(FIX "/good.safetensors", &len);
    CHECK(good != NULL);
    if (!good) return;
    char *buf = malloc(len), *p = tmp_path("fuzz.safetensors");
    uint64_t hlen;
    memcpy(&hlen, good, 8);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int opened = 0, rounds = 3000;
    float *dst = malloc(4096 * sizeof *dst);
    for (int r = 0; r < rounds; r++) {
        memcpy(buf, good, len);
        size_t n = len;
        for (int k = 0; k < (r % 2 ? 1 + r % 3 : 1 + r % 4); k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            size_t at = (r % 5 == 0) ? s % 8 : 8 + s % (hlen + 8); /* length, header */
            if (r % 2 == 1) /* keep the JSON valid: change digits only */
                buf[at] =
                    (buf[at] >= '0' && buf[at] <= '9') ? (char)('0' + (s >> 40) % 10) : buf[at];
            else
                buf[at] = (r % 3 == 0) ? (char)(buf[at] ^ (1u << (s >> 60) % 8)) : (char)(s >> 40);
        }
        if (r % 7 == 0) n = (size_t)(s >> 20) % (len + 1);
        FILE *out = fopen(p, "wb");
        CHECK(out && fwrite(buf, 1, n, out) == n);
        if (out) fclose(out);
        st_file *f = NULL;
        ft_error err;
        if (st_open(p, &f, &err) != FT_OK) continue;
        opened++;
        uint64_t mutated_hlen;
        memcpy(&mutated_hlen, buf, 8);
        uint64_t data_bytes = n - 8 - mutated_hlen;
        for (size_t i = 0; i < st_count(f); i++) {
            const st_tensor_info *t = st_info_at(f, i);
            CHECK(t->offset + t->nbytes <= data_bytes &&
                  t->nbytes == t->numel * st_dtype_size(t->dtype));
            if (st_dtype_is_float(t->dtype) && t->numel <= 4096)
                CHECK(st_read_f32(f, t->name, dst, t->numel, &err) == FT_OK);
        }
        st_close(f);
    }
    fprintf(stderr, "mutations: %d of %d files still opened\n", opened, rounds);
    CHECK(opened > 0 && opened < rounds);
    unlink(p);
    free(dst);
    free(p);
    free(buf);
    free(good);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_good();
    test_bad();
    test_conversions();
    test_reference_vectors();
    test_reference_order();
    test_round_trip();
    test_write_errors();
    test_mutations();
    ft_error err;
    CHECK(ft_remove_tree(tmpdir, &err) == FT_OK);
    return check_finish();
}
