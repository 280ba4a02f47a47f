/* test_dataset: reading raw labelled text (src/dataset): field detection, the
 * bad-record reasons with their lines, RFC 4180 quoting, and the property
 * the MPI program rests on: reading a source in P byte-range parts (with the
 * prefix sums of the parts before) gives exactly the records of one reader,
 * for every P, wherever the part boundaries fall; and an empty file is read
 * without undefined behaviour (an error naming it, or zero records). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dataset/dataset.h"
#include "core/ft_fs.h"

static char work[256];

static char *put(const char *name, const char *text, size_t len)
{
    char *path = ft_path_join(work, name);
    CHECK(ft_write_file_atomic(path, text, len, true, NULL) == FT_OK);
    return path;
}

/* All records of src read as n_parts parts, concatenated, as one string
 * "line|reason|label|text\n..." for comparison. */
static char *read_in_parts(dataset_source *src, int n_parts)
{
    dataset_scan *scans = calloc((size_t)n_parts, sizeof *scans);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    for (int p = 0; p < n_parts; p++)
        CHECK(dataset_scan_part(src, p, n_parts, &scans[p], NULL) == FT_OK);
    dataset_prefix prefix = {0, 0};
    for (int p = 0; p < n_parts; p++) {
        dataset_records recs = {0};
        CHECK(dataset_read_part(src, p, n_parts, &prefix, &recs, NULL) == FT_OK);
        for (size_t i = 0; i < recs.n; i++) {
            const dataset_record *r = &recs.items[i];
            const char *label = r->reason ? "" : recs.arena + r->label_off,
                       *text = r->reason ? "" : recs.arena + r->text_off;
            size_t need = strlen(label) + strlen(text) + 64;
            while (len + need >= cap) out = realloc(out, cap *= 2);
            len += (size_t)snprintf(out + len, cap - len, "%llu|%s|%s|%s\n",
                                    (unsigned long long)r->line, dataset_reason_name(r->reason),
                                    label, text);
        }
        dataset_records_free(&recs);
        prefix.newlines += scans[p].newlines;
        prefix.quotes_odd ^= scans[p].quotes_odd;
    }
    free(scans);
    return out;
}

/* Every part count from 1 to 9 gives the records of one reader. */
static char *check_parts(const char *name, const char *text, const dataset_options *opt)
{
    char *path = put(name, text, strlen(text));
    dataset_source *src = NULL;
    ft_error err = {0};
    CHECK_MSG(dataset_open(path, opt, &src, &err) == FT_OK, "%s", err.msg);
    free(path);
    if (!src) return strdup("");
    char *one = read_in_parts(src, 1);
    for (int p = 2; p <= 9; p++) {
        char *many = read_in_parts(src, p);
        CHECK_MSG(!strcmp(one, many), "%s in %d parts:\n%s\nvs one reader:\n%s", name, p, many,
                  one);
        free(many);
    }
    dataset_close(src);
    return one;
}

/* check_parts with default options, and the records it read must be want. */
static void expect_parts(const char *name, const char *text, const char *want)
{
    dataset_options opt = {0};
    char *got = check_parts(name, text, &opt);
    CHECK_MSG(!strcmp(got, want), "%s: got:\n%s", name, got);
    free(got);
}

static void test_jsonl(void)
{
    const char *text = "\xEF\xBB\xBF{\"response\": \"hello there\", \"label\": \"1\"}\r\n"
                       "\n"
                       "{\"response\": \"bad \\\"json\", \"label\": }\n"
                       "   \n"
                       "{\"response\": \"caf\xC3\xA9 ok\", \"label\": 0}\n"
                       "{\"response\": \"caf\xE9 latin-1\", \"label\": 0}\n"
                       "{\"response\": \"  \", \"label\": 1}\n"
                       "{\"response\": \"no label\"}\n"
                       "{\"response\": 42, \"label\": 1}\n"
                       "[\"not\", \"an object\"]\n"
                       "{\"response\": \"true label\", \"label\": true}\n"
                       "{\"response\": \"escaped \\u00e9\\n newline\", \"label\": 2.5}\n"
                       "{\"response\": \"last, no newline\", \"label\": \"x\"}";
    const char *want = "1|ok|1|hello there\n"
                       "3|malformed_json||\n"
                       "5|ok|0|caf\xC3\xA9 ok\n"
                       "6|invalid_utf8||\n"
                       "7|empty_text||\n"
                       "8|missing_label||\n"
                       "9|missing_text||\n"
                       "10|malformed_json||\n"
                       "11|ok|true|true label\n"
                       "12|ok|2.5|escaped \xC3\xA9\n newline\n"
                       "13|ok|x|last, no newline\n";
    expect_parts("a.jsonl", text, want);
}

static void test_detection(void)
{
    const char *text =
        "{\"id\": 1, \"title\": \"t\", \"response\": \"a much longer text field\", \"category\": \"a\"}\n";
    char *path = put("d.jsonl", text, strlen(text));
    dataset_source *src = NULL;
    dataset_options opt = {0};
    CHECK(dataset_open(path, &opt, &src, NULL) == FT_OK);
    CHECK(src && !strcmp(dataset_text_field(src), "response") &&
          !strcmp(dataset_label_field(src), "category"));
    CHECK(src && dataset_get_format(src) == DATASET_JSONL);
    CHECK_STR_CONTAINS(src ? dataset_fields_summary(src) : "", "detected");
    dataset_close(src);
    /* No label-like field: an error that lists the fields. */
    const char *nolabel = "{\"body\": \"text\", \"who\": \"x\"}\n";
    char *p2 = put("n.jsonl", nolabel, strlen(nolabel));
    ft_error err = {0};
    CHECK(dataset_open(p2, &opt, &src, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "--label-field");
    CHECK_STR_CONTAINS(err.msg, "'who'");
    /* Given names win. */
    dataset_options given = {DATASET_AUTO, "body", "who", DATASET_HEADER_AUTO};
    CHECK(dataset_open(p2, &given, &src, NULL) == FT_OK);
    CHECK(src && !strcmp(dataset_label_field(src), "who"));
    dataset_close(src);
    free(path);
    free(p2);
}

static void test_csv(void)
{
    const char *text = "label,text\n"
                       "spam,\"win, now\"\n"
                       "ham,\"a \"\"quoted\"\" word\nover two lines\"\r\n"
                       "ham,plain text\n"
                       "spam,one,too many\n"
                       "ham,bad\"quo\"te\n"
                       "ham,\"\"\n"
                       ",no label\n"
                       "spam,\"quoted\nnewline,\n\"\"and\"\" more\"\n"
                       "ham,\"unclosed at the end\n";
    const char *want = "2|ok|spam|win, now\n"
                       "3|ok|ham|a \"quoted\" word\nover two lines\n"
                       "5|ok|ham|plain text\n"
                       "6|malformed_csv||\n"
                       "7|malformed_csv||\n"
                       "8|empty_text||\n"
                       "9|missing_label||\n"
                       "10|ok|spam|quoted\nnewline,\n\"and\" more\n"
                       "13|malformed_csv||\n";
    expect_parts("c.csv", text, want);
}

/* The SMS Spam Collection layout: label<TAB>text, no header, quotes literal. */
static void test_tsv_sms(void)
{
    const char *text = "ham\tGo until jurong point, crazy..\n"
                       "ham\tOk lar... \"Joking\" wif u oni...\n"
                       "spam\tFree entry in 2 a wkly comp to win FA Cup final tkts\n"
                       "ham\tU dun say so early hor... U c already then say...\n"
                       "spam\tFreeMsg Hey there darling it's been 3 week's now\n";
    dataset_options opt = {0};
    char *got = check_parts("sms", text, &opt);
    CHECK_MSG(
        !strncmp(got, "1|ok|ham|Go until jurong point, crazy..\n2|ok|ham|Ok lar... \"Joking\"", 60),
        "%s", got);
    free(got);
    char *path = ft_path_join(work, "sms");
    dataset_source *src = NULL;
    CHECK(dataset_open(path, &opt, &src, NULL) == FT_OK);
    CHECK(src && dataset_get_format(src) == DATASET_TSV);
    CHECK(src && !strcmp(dataset_label_field(src), "column 1") &&
          !strcmp(dataset_text_field(src), "column 2"));
    dataset_close(src);
    free(path);
}

static void test_json_array(void)
{
    const char *text =
        "[\n  {\"text\": \"first, with ] and }\", \"label\": 1},\n"
        "  {\"text\": \"second\", \"label\": 0},\n  {\"text\": \"\", \"label\": 0},\n"
        "  {\"text\": \"fourth\", \"label\": null}\n]\n";
    expect_parts("arr.json", text,
                 "2|ok|1|first, with ] and }\n3|ok|0|second\n4|empty_text||\n5|missing_label||\n");
    dataset_options opt = {0};
    const char *cut = "[{\"text\": \"a\", \"label\": 1},";
    char *path = put("cut.json", cut, strlen(cut));
    dataset_source *src = NULL;
    ft_error err = {0};
    CHECK(dataset_open(path, &opt, &src, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "does not end");
    free(path);
}

static void test_folder(void)
{
    char *dir = ft_path_join(work, "imdb");
    const char *files[][2] = {
        {"pos/1.txt", "great movie"}, {"pos/0.txt", "loved it"}, {"neg/9.txt", "awful"},
        {"neg/.hidden", "skip me"},   {"neg/2.txt", ""},         {"unsup/5.txt", "no label known"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = ft_path_join(dir, files[i][0]);
        char *slash = strrchr(p, '/');
        *slash = '\0';
        ft_mkdir_p(p, NULL);
        *slash = '/';
        CHECK(ft_write_file_atomic(p, files[i][1], strlen(files[i][1]), true, NULL) == FT_OK);
        free(p);
    }
    dataset_source *src = NULL;
    dataset_options opt = {DATASET_FOLDER, NULL, NULL, DATASET_HEADER_AUTO};
    CHECK(dataset_open(dir, &opt, &src, NULL) == FT_OK);
    CHECK(src && dataset_file_count(src) == 5);
    char *got = src ? read_in_parts(src, 1) : strdup("");
    const char *want =
        "1|empty_text||\n1|ok|neg|awful\n1|ok|pos|loved it\n1|ok|pos|great movie\n1|ok|unsup|no label known\n";
    CHECK_MSG(!strcmp(got, want), "got:\n%s", got);
    for (int p = 2; src && p <= 6; p++) {
        char *many = read_in_parts(src, p);
        CHECK(!strcmp(many, got));
        free(many);
    }
    dataset_records recs = {0};
    dataset_prefix pre = {0, 0};
    CHECK(src && dataset_read_part(src, 0, 1, &pre, &recs, NULL) == FT_OK);
    CHECK_STR_CONTAINS(recs.first_bad_msg, "imdb/neg/2.txt");
    dataset_records_free(&recs);
    free(got);
    dataset_close(src);
    free(dir);
}

/* Many records, random-ish lengths: part boundaries fall everywhere. */
static void test_parts_many(void)
{
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "text,label\n");
    unsigned s = 1;
    for (int i = 0; i < 500; i++) {
        s = s * 1103515245u + 12345u;
        int words = 1 + (int)(s >> 16) % 12;
        len += (size_t)snprintf(text + len, cap - len, "\"");
        for (int w = 0; w < words; w++)
            len += (size_t)snprintf(text + len, cap - len, "%s",
                                    (s >> (w % 16)) & 1 ? "w,\"\"q\"\" " : "x\ny ");
        len += (size_t)snprintf(text + len, cap - len, "\",%c\n", 'a' + i % 3);
    }
    dataset_options opt = {0};
    char *got = check_parts("many.csv", text, &opt);
    size_t records = 0;
    for (const char *p = got; (p = strstr(p, "|ok|")); p++) records++;
    CHECK_EQ_INT(records, 500);
    free(got);
    free(text);
}

static void test_utf8(void)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {{"plain", true},         {"\xC3\xA9", true},
                 {"\xE2\x82\xAC", true},  {"\xF0\x9F\x98\x80", true},
                 {"\xC0\xAF", false},     {"\xE0\x80\xAF", false},
                 {"\xED\xA0\x80", false}, {"\xF4\x90\x80\x80", false},
                 {"\xC3", false},         {"ab\xE2\x82", false},
                 {"\x80", false},         {"\xFF", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(dataset_utf8_valid(cases[i].s, strlen(cases[i].s), NULL) == cases[i].ok,
                  "case %zu", i);
    size_t bad = 0;
    CHECK(!dataset_utf8_valid("ab\xE2\x82", 4, &bad) && bad == 2);
}

/* An empty file is not mapped (its data pointer is NULL): nothing may do
 * pointer arithmetic or call memchr on it (undefined behaviour that the
 * sanitizer build makes fatal). With a name or fields that say how to read
 * it, it has zero records and scans as zero bytes; a CSV/TSV, or a file
 * whose format only its bytes could tell, stops with "FILE:1: the file is
 * empty". */
static void test_empty_file(void)
{
    static const char *const must_fail[] = {"empty", "empty.txt", "empty.csv", "empty.tsv"};
    dataset_options auto_opt = {0};
    for (size_t i = 0; i < sizeof must_fail / sizeof must_fail[0]; i++) {
        char *path = put(must_fail[i], "", 0);
        dataset_source *src = NULL;
        ft_error err = {0};
        CHECK_MSG(dataset_open(path, &auto_opt, &src, &err) == FT_EINVAL, "%s", must_fail[i]);
        CHECK_STR_CONTAINS(err.msg, path);
        CHECK_STR_CONTAINS(err.msg, ":1: the file is empty");
        CHECK(src == NULL);
        free(path);
    }
    /* Fields given: zero records for any part count, a scan of nothing. */
    dataset_options given = {DATASET_AUTO, "text", "label", DATASET_HEADER_AUTO};
    char *none = check_parts("empty.jsonl", "", &given);
    CHECK_MSG(!strcmp(none, ""), "records from an empty file: %s", none);
    free(none);
    dataset_options jsonl = {DATASET_JSONL, "text", "label", DATASET_HEADER_AUTO};
    char *path = put("empty-data", "", 0);
    dataset_source *src = NULL;
    CHECK(dataset_open(path, &jsonl, &src, NULL) == FT_OK);
    for (int p = 0; src && p < 3; p++) {
        dataset_scan scan = {0};
        CHECK(dataset_scan_part(src, p, 3, &scan, NULL) == FT_OK);
        CHECK(scan.bytes == 0 && scan.newlines == 0 && scan.quotes_odd == 0 && scan.crc32 == 0);
    }
    dataset_close(src);
    free(path);
}

/* Language-model data (dataset_open_lm) read in 1..9 parts: records as
 * "line|reason|completion|prompt"; the first bad record's message. */
static char *lm_parts(const char *name, const char *text, const dataset_lm_options *lm,
                      char *first_bad, size_t size)
{
    char *path = put(name, text, strlen(text));
    dataset_source *src = NULL;
    dataset_options opt = {0};
    ft_error err = {0};
    CHECK_MSG(dataset_open_lm(path, &opt, lm, &src, &err) == FT_OK, "%s", err.msg);
    free(path);
    if (!src) return strdup("");
    char *one = read_in_parts(src, 1);
    for (int p = 2; p <= 9; p++) {
        char *many = read_in_parts(src, p);
        CHECK_MSG(!strcmp(one, many), "%s in %d parts differs", name, p);
        free(many);
    }
    dataset_records recs = {0};
    dataset_prefix prefix = {0, 0};
    CHECK(dataset_read_part(src, 0, 1, &prefix, &recs, NULL) == FT_OK);
    snprintf(first_bad, size, "%s", recs.bad_count ? recs.first_bad_msg : "");
    dataset_records_free(&recs);
    dataset_close(src);
    return one;
}

static void test_lm(void)
{
    dataset_lm_options detect = {NULL, NULL};
    char bad[FT_ERROR_MSG_BYTES];
    /* Detected pairs; an Alpaca input joined after a blank line, null or "" ignored. */
    char *got = lm_parts("pc.jsonl",
                         "{\"prompt\": \"Q\", \"completion\": \" A\"}\n"
                         "{\"prompt\": \"\", \"completion\": \" B\"}\n",
                         &detect, bad, sizeof bad);
    CHECK_MSG(!strcmp(got, "1|ok| A|Q\n2|ok| B|\n"), "%s", got);
    free(got);
    got = lm_parts("alpaca.jsonl",
                   "{\"instruction\": \"Add\", \"input\": \"2 3\", \"output\": \"5\"}\n"
                   "{\"instruction\": \"Hi\", \"input\": null, \"output\": \"Hello\"}\n",
                   &detect, bad, sizeof bad);
    CHECK_MSG(!strcmp(got, "1|ok|5|Add\n\n2 3\n2|ok|Hello|Hi\n"), "%s", got);
    free(got);
    /* Hostile records: each names its line and key. */
    const char *hostile = "{\"prompt\": \"Q\", \"completion\": \" A\"}\n"
                          "{\"prompt\": true, \"completion\": \" A\"}\n"
                          "{\"prompt\": \"Q\"}\n"
                          "{\"prompt\": \"Q\", \"completion\": {}}\n"
                          "{\"prompt\": \"Q\", \"completion\": \"\"}\n"
                          "[1]\n"
                          "{\"prompt\": \"Q\", \"completion\n";
    got = lm_parts("hostile.jsonl", hostile, &detect, bad, sizeof bad);
    CHECK_MSG(
        !strcmp(got, "1|ok| A|Q\n2|missing_text||\n3|missing_completion||\n4|missing_completion||\n"
                     "5|missing_completion||\n6|malformed_json||\n7|malformed_json||\n"),
        "%s", got);
    CHECK_STR_CONTAINS(
        bad, "hostile.jsonl:2: prompt field 'prompt' is a boolean, not a string (missing_text)");
    free(got);
    /* Given fields; text data; messages refused. */
    dataset_lm_options given = {"q", "a"};
    got = lm_parts("given.jsonl", "{\"q\": \"x\", \"a\": \"y\", \"prompt\": 1}\n", &given, bad,
                   sizeof bad);
    CHECK_MSG(!strcmp(got, "1|ok|y|x\n"), "%s", got);
    free(got);
    got = lm_parts("text.jsonl", "{\"text\": \"abc\"}\n{\"text\": \" \"}\n", &detect, bad,
                   sizeof bad);
    CHECK_MSG(!strcmp(got, "1|ok||abc\n2|empty_text||\n"), "%s", got);
    free(got);
    got = lm_parts("chat.jsonl",
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\", \"x\": null}]}\n"
                   "{\"messages\": []}\n{\"messages\": [{\"role\": \"user\", \"content\": 3}]}\n"
                   "{\"messages\": \"Hi\"}\n",
                   &detect, bad, sizeof bad);
    CHECK_MSG(
        !strcmp(got, "1|ok||[{\"role\":\"user\",\"content\":\"Hi\",\"x\":null}]\n2|missing_text||\n"
                     "3|missing_text||\n4|missing_text||\n"),
        "%s", got);
    CHECK_STR_CONTAINS(
        bad, "chat.jsonl:2: messages field 'messages' is an empty list, not a non-empty list");
    free(got);
    dataset_source *src = NULL;
    dataset_options opt = {0};
    ft_error err = {0};
    char *path = put("none.jsonl", "{\"body\": \"x\"}\n", 14);
    CHECK(dataset_open_lm(path, &opt, &detect, &src, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "cannot detect the language-model fields");
    CHECK_STR_CONTAINS(err.msg, "fields: 'body'");
    free(path);
}

int main(void)
{
    snprintf(work, sizeof work, "/tmp/test_dataset.%d", (int)getpid());
    CHECK(ft_mkdir_p(work, NULL) == FT_OK);
    test_jsonl();
    test_detection();
    test_csv();
    test_tsv_sms();
    test_json_array();
    test_folder();
    test_parts_many();
    test_utf8();
    test_empty_file();
    test_lm();
    ft_remove_tree(work, NULL);
    return check_finish();
}
