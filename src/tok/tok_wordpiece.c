/* tok_wordpiece: BERT's WordPiece tokenizer, id for id with Hugging Face.
 *
 * The pipeline of Google's BERT and of Hugging Face's BertTokenizer (Python)
 * and BertTokenizerFast (Rust), per text:
 *   1. added/special tokens ("[CLS]", "[SEP]", ...) written in the text are
 *      matched first, on the raw bytes, and give their ids directly;
 *   2. clean: drop U+0000, U+FFFD and every other-category code point (Cc,
 *      Cf, Cs, Co, Cn: unassigned ones too) except \t \n \r; white space
 *      becomes a separator;
 *   3. a separator on each side of a CJK ideograph (BERT's exact ranges);
 *   4. per white-space word: lower-case and strip accents (NFD, drop Mn);
 *   5. split off every punctuation character (ASCII 33-47, 58-64, 91-96,
 *      123-126 and Unicode P*);
 *   6. greedy longest-match-first WordPiece with "##" continuations; a word
 *      with no full split, or longer than 100 code points, is one [UNK].
 * Two flavours, because the two Hugging Face implementations differ on a
 * few rare inputs: a vocab.txt opens with the Python rules (str.lower(),
 * whose final-sigma rule turns a word-final capital sigma into "ς"; NFC
 * before splitting when not stripping accents), a tokenizer.json with the
 * Rust rules (per-character lower-casing, no NFC). Both fingerprint alike.
 *
 * Design: Unicode data (categories, decompositions, case) from utf8proc; a
 * fast path for ASCII words, which are most of real text; vocabulary lookup
 * in tok_vocab's hash table, which hashes the "##" prefix once and each
 * candidate piece after it without building a string; the greedy search starts
 * at the longest vocabulary entry, not at the end of the word.
 *
 * Not done: added tokens with "normalized": true are matched on the raw
 * text like the others; "single_word"/"lstrip"/"rstrip" are ignored (they
 * never change BERT's ids, white space making no tokens); custom special
 * token names in tokenizer_config.json ([UNK], [CLS]... are looked up by
 * these names). No offsets are produced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_json.h"
#include "tok_impl.h"

enum { WP_MAX_IDS = TOK_VOCAB_MAX_IDS, WP_DEFAULT_MAX_CHARS = 100, WP_PREFIX_MAX = 15 };

typedef enum wp_strip { WP_STRIP_FOLLOW = 0, WP_STRIP_OFF, WP_STRIP_ON } wp_strip;

struct tok_wordpiece {
    tok_vocab vocab;  /* id -> token, and its index */
    uint8_t *special; /* id -> skipped by decode(skip_special) */
    tok_added added;  /* matched in the raw text before anything else */
    int32_t unk_id, cls_id, sep_id, pad_id;
    char prefix[WP_PREFIX_MAX + 1];
    size_t prefix_len;
    uint64_t prefix_hash; /* FNV-1a state after the prefix */
    int32_t max_chars;    /* longer words are [UNK] */
    size_t max_piece_cps; /* longest vocabulary token in code points */
    bool lowercase, clean_text, chinese, python_rules, cleanup;
    wp_strip strip;
    uint64_t fingerprint;
};

/* ---- Unicode classes --------------------------------------------------- */

static bool wp_is_space(int32_t c)
{
    if (c == ' ' || (c >= 9 && c <= 13)) return true;
    if (c < 0x85) return false;
    return c == 0x85 || c == 0x2028 || c == 0x2029 || utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

static bool wp_is_control(int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r') return false;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: return true;
    default: return false;
    }
}

static bool wp_is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool wp_is_punct(int32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return true;
    if (c < 128) return false;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* Python's Case_Ignorable and Cased, as far as final sigma needs them. */
static bool wp_case_ignorable(int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return true;
    default: break;
    }
    /* Word_Break MidLetter, MidNumLet, Single_Quote. */
    static const int32_t mid[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,
                                  0x5F4,  0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
                                  0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
    for (size_t i = 0; i < sizeof mid / sizeof mid[0]; i++)
        if (c == mid[i]) return true;
    return false;
}

static bool wp_cased(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

/* Python's rule for U+03A3 at word[i]: final when a cased letter comes
 * before (case-ignorables skipped) and none after. */
static bool wp_final_sigma(const int32_t *word, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && wp_case_ignorable(word[j - 1])) j--;
    if (j == 0 || !wp_cased(word[j - 1])) return false;
    j = i + 1;
    while (j < n && wp_case_ignorable(word[j])) j++;
    return j == n || !wp_cased(word[j]);
}

/* ---- growable scratch buffers ------------------------------------------ */

typedef struct wp_cps {
    int32_t *cp;
    size_t len, cap;
} wp_cps;

typedef struct wp_work {
    wp_cps seg, word, tmp;
    char *bytes;    /* one piece in UTF-8 */
    uint32_t *offs; /* byte offset of each code point of the piece */
    size_t bytes_cap, offs_cap;
} wp_work;

static bool wp_reserve(wp_cps *b, size_t extra)
{
    if (b->len + extra <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) cap *= 2;
    int32_t *p = ft_realloc_array(b->cp, cap, sizeof *p);
    if (!p) return false;
    b->cp = p;
    b->cap = cap;
    return true;
}

static void wp_work_free(wp_work *wk)
{
    free(wk->seg.cp);
    free(wk->word.cp);
    free(wk->tmp.cp);
    free(wk->bytes);
    free(wk->offs);
}

/* ---- vocabulary lookup --------------------------------------------------- */

/* The id of prefix + s[0..n) (prefix only when continuation), or -1. */
static int32_t wp_lookup(const tok_wordpiece *w, bool continuation, const char *s, size_t n)
{
    if (!continuation) return tok_vocab_find(&w->vocab, s, n);
    return tok_vocab_find_after(&w->vocab, w->prefix, w->prefix_len, w->prefix_hash, s, n);
}

int32_t tok_wordpiece_token_to_id(const tok_wordpiece *w, const char *token)
{
    return wp_lookup(w, false, token, strlen(token));
}

/* ---- WordPiece proper ---------------------------------------------------- */

/* Greedy longest-match-first over one piece of ncp code points: s holds its
 * UTF-8, offs[i] the byte offset of code point i (NULL: ASCII, offs[i]=i). */
static ft_status wp_greedy(const tok_wordpiece *w, const char *s, const uint32_t *offs, size_t ncp,
                           tok_ids *out, ft_error *err)
{
#define WP_OFF(i) (offs ? offs[i] : (uint32_t)(i))
    if (ncp > (size_t)w->max_chars) return tok_ids_append(out, w->unk_id, err);
    size_t first = out->len, start = 0;
    while (start < ncp) {
        size_t end = ncp - start > w->max_piece_cps ? start + w->max_piece_cps : ncp;
        int32_t id = -1;
        for (; end > start; end--) {
            id = wp_lookup(w, start > 0, s + WP_OFF(start), WP_OFF(end) - WP_OFF(start));
            if (id >= 0) break;
        }
        if (id < 0) {
            out->len = first;
            return tok_ids_append(out, w->unk_id, err);
        }
        ft_status st = tok_ids_append(out, id, err);
        if (st != FT_OK) return st;
        start = end;
    }
    return FT_OK;
#undef WP_OFF
}

/* An ASCII word (already lower-cased as needed): split off punctuation and
 * run WordPiece on each piece. */
static ft_status wp_ascii_word(const tok_wordpiece *w, const char *s, size_t n, tok_ids *out,
                               ft_error *err)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        bool cut = i == n || wp_is_punct((unsigned char)s[i]);
        if (!cut) continue;
        ft_status st = FT_OK;
        if (i > start) st = wp_greedy(w, s + start, NULL, i - start, out, err);
        if (st == FT_OK && i < n) st = wp_greedy(w, s + i, NULL, 1, out, err);
        if (st != FT_OK) return st;
        start = i + 1;
    }
    return FT_OK;
}

/* UTF-8 of cps[0..n) into wk->bytes with code point offsets in wk->offs. */
static bool wp_encode_piece(wp_work *wk, const int32_t *cps, size_t n)
{
    if (wk->bytes_cap < 4 * n + 4) {
        char *b = ft_realloc_array(wk->bytes, 4 * n + 4, 1);
        if (!b) return false;
        wk->bytes = b;
        wk->bytes_cap = 4 * n + 4;
    }
    if (wk->offs_cap < n + 1) {
        uint32_t *o = ft_realloc_array(wk->offs, n + 1, sizeof *o);
        if (!o) return false;
        wk->offs = o;
        wk->offs_cap = n + 1;
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        wk->offs[i] = (uint32_t)pos;
        pos += (size_t)utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)wk->bytes + pos);
    }
    wk->offs[n] = (uint32_t)pos;
    return true;
}

static ft_status wp_piece(const tok_wordpiece *w, wp_work *wk, const int32_t *cps, size_t n,
                          tok_ids *out, ft_error *err)
{
    if (n > (size_t)w->max_chars) return tok_ids_append(out, w->unk_id, err);
    if (!wp_encode_piece(wk, cps, n)) return tok_nomem(err);
    return wp_greedy(w, wk->bytes, wk->offs, n, out, err);
}

/* A transformed non-ASCII word: split off punctuation, WordPiece each. */
static ft_status wp_unicode_word(const tok_wordpiece *w, wp_work *wk, const int32_t *cps, size_t n,
                                 tok_ids *out, ft_error *err)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        bool cut = i == n || wp_is_punct(cps[i]);
        if (!cut) continue;
        ft_status st = FT_OK;
        if (i > start) st = wp_piece(w, wk, cps + start, i - start, out, err);
        if (st == FT_OK && i < n) st = wp_piece(w, wk, cps + i, 1, out, err);
        if (st != FT_OK) return st;
        start = i + 1;
    }
    return FT_OK;
}

/* ---- normalisation of one word ------------------------------------------- */

/* Canonical ordering of one run of combining marks: a stable sort by
 * combining class. Insertion sort for the usual short runs; a counting sort
 * for long ones, so a hostile text of alternating marks stays linear. */
static bool wp_order_marks(int32_t *cp, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            int32_t c = cp[i];
            int ccc = utf8proc_get_property(c)->combining_class;
            size_t j = i;
            for (; j > 0 && utf8proc_get_property(cp[j - 1])->combining_class > ccc; j--)
                cp[j] = cp[j - 1];
            cp[j] = c;
        }
        return true;
    }
    int32_t *copy = ft_malloc_array(n, sizeof *copy);
    if (!copy) return false;
    memcpy(copy, cp, n * sizeof *cp);
    size_t start[257] = {0};
    for (size_t i = 0; i < n; i++) start[utf8proc_get_property(copy[i])->combining_class + 1]++;
    for (int k = 1; k < 257; k++) start[k] += start[k - 1];
    for (size_t i = 0; i < n; i++)
        cp[start[utf8proc_get_property(copy[i])->combining_class]++] = copy[i];
    free(copy);
    return true;
}

/* Canonical decomposition (NFD) of in[0..n) appended to out, combining
 * marks put in canonical order; with drop_mn the Mn marks are then left
 * out (BERT's accent stripping). */
static bool wp_nfd(const int32_t *in, size_t n, bool drop_mn, wp_cps *out)
{
    size_t base = out->len;
    for (size_t i = 0; i < n; i++) {
        if (!wp_reserve(out, 32)) return false;
        if (in[i] < 0xC0) {
            out->cp[out->len++] = in[i];
            continue;
        }
        int bc = 0;
        utf8proc_ssize_t k =
            utf8proc_decompose_char(in[i], out->cp + out->len, 32, UTF8PROC_DECOMPOSE, &bc);
        FT_CHECK(k > 0 && k <= 32);
        out->len += (size_t)k;
    }
    for (size_t i = base; i < out->len;) {
        size_t end = i;
        while (end < out->len && utf8proc_get_property(out->cp[end])->combining_class) end++;
        if (end - i > 1 && !wp_order_marks(out->cp + i, end - i)) return false;
        i = end + (end == i);
    }
    if (!drop_mn) return true;
    size_t kept = base;
    for (size_t i = base; i < out->len; i++)
        if (utf8proc_category(out->cp[i]) != UTF8PROC_CATEGORY_MN) out->cp[kept++] = out->cp[i];
    out->len = kept;
    return true;
}

/* Lower-case in[0..n) into out: full Unicode lower-casing (U+0130 becomes
 * "i" + U+0307); with python_rules also Python's final sigma. */
static bool wp_lower(const tok_wordpiece *w, const int32_t *in, size_t n, wp_cps *out)
{
    if (!wp_reserve(out, 2 * n)) return false;
    for (size_t i = 0; i < n; i++) {
        int32_t c = in[i];
        if (c == 0x130) {
            out->cp[out->len++] = 'i';
            out->cp[out->len++] = 0x307;
        } else if (c == 0x3A3 && w->python_rules) {
            out->cp[out->len++] = wp_final_sigma(in, n, i) ? 0x3C2 : 0x3C3;
        } else {
            out->cp[out->len++] =
                c < 128 ? (c >= 'A' && c <= 'Z' ? c + 32 : c) : utf8proc_tolower(c);
        }
    }
    return true;
}

static bool wp_strips(const tok_wordpiece *w)
{
    return w->strip == WP_STRIP_ON || (w->strip == WP_STRIP_FOLLOW && w->lowercase);
}

/* Lower-case and strip accents of one non-ASCII word into wk->word. Python
 * lower-cases first; Rust strips first (the results differ only where a
 * lower-case mapping and a decomposition interact, which they do not in
 * Unicode's data, but the order is kept anyway). */
static bool wp_transform(const tok_wordpiece *w, wp_work *wk, const int32_t *cps, size_t n)
{
    bool strip = wp_strips(w);
    wk->word.len = 0;
    wk->tmp.len = 0;
    if (!w->lowercase && !strip) {
        if (!wp_reserve(&wk->word, n)) return false;
        memcpy(wk->word.cp, cps, n * sizeof *cps);
        wk->word.len = n;
        return true;
    }
    if (!strip) return wp_lower(w, cps, n, &wk->word);
    if (!w->lowercase) return wp_nfd(cps, n, true, &wk->word);
    if (w->python_rules)
        return wp_lower(w, cps, n, &wk->tmp) && wp_nfd(wk->tmp.cp, wk->tmp.len, true, &wk->word);
    return wp_nfd(cps, n, true, &wk->tmp) && wp_lower(w, wk->tmp.cp, wk->tmp.len, &wk->word);
}

static ft_status wp_word(const tok_wordpiece *w, wp_work *wk, const int32_t *cps, size_t n,
                         tok_ids *out, ft_error *err)
{
    bool ascii = true;
    for (size_t i = 0; i < n && ascii; i++) ascii = cps[i] < 128;
    if (ascii) {
        if (!wp_encode_piece(wk, cps, n)) return tok_nomem(err);
        if (w->lowercase)
            for (size_t i = 0; i < n; i++)
                if (wk->bytes[i] >= 'A' && wk->bytes[i] <= 'Z') wk->bytes[i] += 32;
        return wp_ascii_word(w, wk->bytes, n, out, err);
    }
    if (!wp_transform(w, wk, cps, n)) return tok_nomem(err);
    return wp_unicode_word(w, wk, wk->word.cp, wk->word.len, out, err);
}

/* ---- one segment between added tokens ------------------------------------- */

/* Decode, clean and space out CJK: text[0..len) into wk->seg. White space
 * becomes ' '. base: the segment's byte offset in the whole text. */
static ft_status wp_clean(const tok_wordpiece *w, wp_work *wk, const char *text, size_t len,
                          size_t base, ft_error *err)
{
    wk->seg.len = 0;
    if (!wp_reserve(&wk->seg, len + 1)) return tok_nomem(err);
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;
    for (size_t i = 0; i < len;) {
        int32_t c = s[i];
        if (c < 128) {
            i++;
        } else {
            utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &c);
            if (k < 0)
                return ft_fail(err, FT_EINVAL, "invalid UTF-8 at byte %zu of the text", base + i);
            i += (size_t)k;
        }
        if (w->clean_text && (c == 0 || c == 0xFFFD || wp_is_control(c))) continue;
        if (!wp_reserve(&wk->seg, 3)) return tok_nomem(err);
        if (wp_is_space(c)) {
            wk->seg.cp[wk->seg.len++] = ' ';
        } else if (w->chinese && c >= 0x3400 && wp_is_cjk(c)) {
            wk->seg.cp[wk->seg.len++] = ' ';
            wk->seg.cp[wk->seg.len++] = c;
            wk->seg.cp[wk->seg.len++] = ' ';
        } else {
            wk->seg.cp[wk->seg.len++] = c;
        }
    }
    return FT_OK;
}

/* Python's BasicTokenizer applies NFC before splitting; only visible when
 * accents are kept (NFD after NFC gives the same as NFD alone). */
static ft_status wp_nfc_segment(wp_work *wk, ft_error *err)
{
    wk->tmp.len = 0;
    if (!wp_nfd(wk->seg.cp, wk->seg.len, false, &wk->tmp)) return tok_nomem(err);
    utf8proc_ssize_t n =
        utf8proc_normalize_utf32(wk->tmp.cp, (utf8proc_ssize_t)wk->tmp.len, UTF8PROC_COMPOSE);
    FT_CHECK(n >= 0);
    wp_cps swap = wk->seg;
    wk->seg = wk->tmp;
    wk->seg.len = (size_t)n;
    wk->tmp = swap;
    return FT_OK;
}

static ft_status wp_segment(const tok_wordpiece *w, wp_work *wk, const char *text, size_t len,
                            size_t base, tok_ids *out, ft_error *err)
{
    ft_status st = wp_clean(w, wk, text, len, base, err);
    if (st == FT_OK && w->python_rules && !wp_strips(w)) st = wp_nfc_segment(wk, err);
    if (st != FT_OK) return st;
    const int32_t *cps = wk->seg.cp;
    size_t n = wk->seg.len, start = 0;
    for (size_t i = 0; i <= n && st == FT_OK; i++) {
        if (i < n && cps[i] != ' ') continue;
        if (i > start) st = wp_word(w, wk, cps + start, i - start, out, err);
        start = i + 1;
    }
    return st;
}

ft_status tok_wordpiece_encode(const tok_wordpiece *w, const char *text, size_t len, tok_ids *out,
                               ft_error *err)
{
    wp_work wk = {0};
    ft_status st = FT_OK;
    size_t start = 0;
    for (;;) {
        size_t at;
        const tok_added_token *a = tok_added_next(&w->added, text, len, start, &at);
        if (at > start) st = wp_segment(w, &wk, text + start, at - start, start, out, err);
        if (st == FT_OK && a) st = tok_ids_append(out, a->id, err);
        if (st != FT_OK || !a) break;
        start = at + a->len;
    }
    wp_work_free(&wk);
    return st;
}

/* ---- decode ------------------------------------------------------------- */

/* transformers' clean_up_tokenization: the same replacements, in order. */
static void wp_cleanup_spaces(char *s, size_t *len)
{
    static const char *const rules[][2] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        size_t flen = strlen(rules[r][0]), tlen = strlen(rules[r][1]), o = 0;
        for (size_t i = 0; i < *len;) {
            if (*len - i >= flen && !memcmp(s + i, rules[r][0], flen)) {
                memcpy(s + o, rules[r][1], tlen); /* tlen < flen: o stays <= i */
                o += tlen;
                i += flen;
            } else {
                s[o++] = s[i++];
            }
        }
        *len = o;
    }
    s[*len] = '\0';
}

static ft_status wp_check_ids(const tok_wordpiece *w, const int32_t *ids, size_t n, size_t *bytes,
                              ft_error *err)
{
    *bytes = 1;
    ft_status st = tok_vocab_check_ids(&w->vocab, ids, n, err);
    for (size_t i = 0; st == FT_OK && i < n; i++) *bytes += w->vocab.lens[ids[i]] + 1;
    return st;
}

ft_status tok_wordpiece_decode(const tok_wordpiece *w, const int32_t *ids, size_t n,
                               bool skip_special, char **text, size_t *text_len, ft_error *err)
{
    *text = NULL;
    *text_len = 0;
    size_t cap;
    ft_status st = wp_check_ids(w, ids, n, &cap, err);
    if (st != FT_OK) return st;
    char *s = ft_malloc_array(cap, 1);
    if (!s) return tok_nomem(err);
    size_t len = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (skip_special && w->special[ids[i]]) continue;
        const char *t = w->vocab.tokens[ids[i]];
        size_t tl = w->vocab.lens[ids[i]];
        if (!first && tl >= w->prefix_len && w->prefix_len &&
            !memcmp(t, w->prefix, w->prefix_len)) {
            t += w->prefix_len;
            tl -= w->prefix_len;
        } else if (!first) {
            s[len++] = ' ';
        }
        memcpy(s + len, t, tl);
        len += tl;
        first = false;
    }
    s[len] = '\0';
    if (w->cleanup) wp_cleanup_spaces(s, &len);
    *text = s;
    *text_len = len;
    return FT_OK;
}

/* ---- construction ------------------------------------------------------- */

static tok_wordpiece *wp_alloc(void)
{
    tok_wordpiece *w = ft_calloc_array(1, sizeof *w);
    if (!w) return NULL;
    w->unk_id = w->cls_id = w->sep_id = w->pad_id = -1;
    memcpy(w->prefix, "##", 3);
    w->prefix_len = 2;
    w->max_chars = WP_DEFAULT_MAX_CHARS;
    w->lowercase = w->clean_text = w->chinese = w->cleanup = true;
    w->strip = WP_STRIP_FOLLOW;
    return w;
}

void tok_wordpiece_free(tok_wordpiece *w)
{
    if (!w) return;
    tok_vocab_free(&w->vocab);
    free(w->special);
    tok_added_free(&w->added);
    free(w);
}

static ft_status wp_alloc_ids(tok_wordpiece *w, int32_t n_ids, const char *origin, ft_error *err)
{
    ft_status st = tok_vocab_init(&w->vocab, n_ids, origin, err);
    if (st != FT_OK) return st;
    w->special = ft_calloc_array((size_t)n_ids, 1);
    return w->special ? FT_OK : tok_nomem(err);
}

/* Store token s[0..n) as id; `where` names the line or key for messages. */
static ft_status wp_set_token(tok_wordpiece *w, int32_t id, const char *s, size_t n,
                              const char *where, ft_error *err)
{
    if (memchr(s, '\r', n))
        return ft_fail(err, FT_EFORMAT,
                       "%s: token contains a carriage return "
                       "(CRLF line ends? vocab.txt must use \\n)",
                       where);
    return tok_vocab_set(&w->vocab, id, s, n, where, err);
}

/* The longest vocabulary token in code points: no piece of a word can be
 * longer, so the greedy search starts there (an upper bound: a prefix, if
 * any, is counted too). */
static void wp_measure(tok_wordpiece *w)
{
    w->max_piece_cps = 1;
    for (int32_t id = 0; id < w->vocab.n_ids; id++) {
        const char *t = w->vocab.tokens[id];
        size_t cps = 0;
        for (size_t i = 0; t && i < w->vocab.lens[id]; i++)
            cps += ((unsigned char)t[i] & 0xC0) != 0x80;
        if (cps > w->max_piece_cps) w->max_piece_cps = cps;
    }
}

/* FNV-1a over the tokens in id order, the matched tokens and the settings
 * that change ids. The flavour (Python or Rust rules) is left out: both
 * load the same tokenizer. */
static void wp_fingerprint(tok_wordpiece *w)
{
    uint64_t h = tok_vocab_hash_tokens(&w->vocab, tok_fnv1a(TOK_FNV_OFFSET, "wordpiece\n", 10));
    char settings[160];
    int n = snprintf(settings, sizeof settings,
                     "lower=%d strip=%d cjk=%d clean=%d "
                     "prefix=%s max=%ld unk=%ld",
                     w->lowercase, wp_strips(w), w->chinese, w->clean_text, w->prefix,
                     (long)w->max_chars, (long)w->unk_id);
    h = tok_fnv1a(h, settings, (size_t)n);
    w->fingerprint = tok_added_hash_ids(&w->added, h);
}

/* BertTokenizer's special tokens, matched in the text (vocab.txt only;
 * a tokenizer.json lists its own in added_tokens). */
static ft_status wp_vocab_specials(tok_wordpiece *w, ft_error *err)
{
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        int32_t id = tok_wordpiece_token_to_id(w, specials[i]);
        ft_status st = id >= 0 ? tok_added_add(&w->added, &w->vocab, id, err) : FT_OK;
        if (st != FT_OK) return st;
        if (id >= 0) w->special[id] = 1;
    }
    return FT_OK;
}

/* After the tokens are in: index, special ids, matched tokens. */
static ft_status wp_finish(tok_wordpiece *w, const char *origin, const char *unk, ft_error *err)
{
    w->prefix_hash = tok_fnv1a(TOK_FNV_OFFSET, w->prefix, w->prefix_len);
    ft_status st = tok_vocab_build_index(&w->vocab, origin, err);
    if (st == FT_OK && w->python_rules) st = wp_vocab_specials(w, err);
    if (st != FT_OK) return st;
    w->unk_id = tok_wordpiece_token_to_id(w, unk);
    if (w->unk_id < 0)
        return ft_fail(err, FT_EFORMAT,
                       "%s: the unknown token \"%s\" is not in the "
                       "vocabulary",
                       origin, unk);
    if (w->cls_id < 0) w->cls_id = tok_wordpiece_token_to_id(w, "[CLS]");
    if (w->sep_id < 0) w->sep_id = tok_wordpiece_token_to_id(w, "[SEP]");
    if (w->pad_id < 0) w->pad_id = tok_wordpiece_token_to_id(w, "[PAD]");
    wp_measure(w);
    tok_added_sort(&w->added);
    wp_fingerprint(w);
    return FT_OK;
}

/* ---- vocab.txt ------------------------------------------------------------ */

static ft_status wp_read_lines(tok_wordpiece *w, const char *path, char *data, size_t len,
                               ft_error *err)
{
    int32_t n = 0;
    for (size_t i = 0; i < len; i++) n += data[i] == '\n';
    if (len && data[len - 1] != '\n') n++;
    ft_status st = wp_alloc_ids(w, n, path, err);
    char where[64];
    size_t start = 0;
    for (int32_t id = 0; st == FT_OK && id < n; id++) {
        char *nl = memchr(data + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - data) : len;
        snprintf(where, sizeof where, "line %ld", (long)id + 1);
        st = wp_set_token(w, id, data + start, end - start, where, err);
        if (st != FT_OK) ft_error_prefix(err, "%s", path);
        start = end + 1;
    }
    return st;
}

ft_status tok_wordpiece_open_vocab(const char *vocab_txt, bool lowercase, tok_wordpiece **out,
                                   ft_error *err)
{
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    tok_wordpiece *w = wp_alloc();
    ft_status st = w ? ft_read_file(vocab_txt, &data, &len, err) : tok_nomem(err);
    if (st == FT_OK) st = wp_read_lines(w, vocab_txt, data, len, err);
    if (st == FT_OK) {
        w->lowercase = lowercase;
        w->python_rules = true;
        st = wp_finish(w, vocab_txt, "[UNK]", err);
    }
    free(data);
    if (st != FT_OK) {
        tok_wordpiece_free(w);
        return st;
    }
    *out = w;
    return FT_OK;
}

/* ---- tokenizer.json -------------------------------------------------------- */

static ft_status wp_json_id(const cJSON *v, const char *origin, const char *what, int32_t *id,
                            ft_error *err)
{
    *id = -1;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < WP_MAX_IDS) ||
        v->valuedouble != (double)(int32_t)v->valuedouble)
        return ft_fail(err, FT_EFORMAT, "%s: %s: expected an id in [0, %d)", origin, what,
                       WP_MAX_IDS);
    *id = (int32_t)v->valuedouble;
    return FT_OK;
}

/* The largest id in model.vocab and added_tokens, plus one. */
static ft_status wp_json_count(const cJSON *vocab, const cJSON *added, const char *origin,
                               int32_t *n_ids, ft_error *err)
{
    int32_t max_id = -1, id;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab)
    {
        ft_status st = wp_json_id(e, origin, "model.vocab", &id, err);
        if (st != FT_OK) return st;
        if (id > max_id) max_id = id;
    }
    cJSON_ArrayForEach(e, added)
    {
        ft_status st = wp_json_id(cJSON_GetObjectItemCaseSensitive(e, "id"), origin,
                                  "added_tokens[].id", &id, err);
        if (st != FT_OK) return st;
        if (id > max_id) max_id = id;
    }
    *n_ids = max_id + 1;
    return FT_OK;
}

static ft_status wp_json_tokens(tok_wordpiece *w, const cJSON *vocab, const cJSON *added,
                                const char *origin, ft_error *err)
{
    int32_t n_ids = 0, id = 0;
    ft_status st = wp_json_count(vocab, added, origin, &n_ids, err);
    if (st == FT_OK) st = wp_alloc_ids(w, n_ids, origin, err);
    char where[96];
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab)
    {
        if (st != FT_OK) break;
        st = wp_json_id(e, origin, "model.vocab", &id, err);
        snprintf(where, sizeof where, "%s: model.vocab", origin);
        if (st == FT_OK) st = wp_set_token(w, id, e->string, strlen(e->string), where, err);
    }
    cJSON_ArrayForEach(e, added)
    {
        if (st != FT_OK) break;
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(e, "content");
        snprintf(where, sizeof where, "%s: added_tokens", origin);
        if (!cJSON_IsString(content))
            return ft_fail(err, FT_EFORMAT, "%s: \"content\" must be a string", where);
        st =
            wp_json_id(cJSON_GetObjectItemCaseSensitive(e, "id"), origin, "added_tokens", &id, err);
        if (st == FT_OK)
            st =
                wp_set_token(w, id, content->valuestring, strlen(content->valuestring), where, err);
    }
    return st;
}

/* A JSON boolean, or def when the key is absent or null. */
static ft_status wp_json_bool(const cJSON *obj, const char *key, bool def, bool *out,
                              const char *origin, ft_error *err)
{
    ft_json_src s = {origin, FT_EFORMAT, err};
    return ft_json_opt_bool(&s, obj, key, def, out);
}

static ft_status wp_json_normalizer(tok_wordpiece *w, const cJSON *root, const char *origin,
                                    ft_error *err)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (!n || cJSON_IsNull(n)) {
        w->lowercase = w->clean_text = w->chinese = false;
        w->strip = WP_STRIP_OFF;
        return FT_OK;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(n, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BertNormalizer"))
        return ft_fail(err, FT_EFORMAT,
                       "%s: normalizer type %s is not supported for "
                       "WordPiece (expected \"BertNormalizer\")",
                       origin, cJSON_IsString(type) ? type->valuestring : "(missing)");
    const cJSON *strip = cJSON_GetObjectItemCaseSensitive(n, "strip_accents");
    w->strip = (!strip || cJSON_IsNull(strip)) ? WP_STRIP_FOLLOW
               : cJSON_IsTrue(strip)           ? WP_STRIP_ON
                                               : WP_STRIP_OFF;
    ft_status st = wp_json_bool(n, "lowercase", true, &w->lowercase, origin, err);
    if (st == FT_OK) st = wp_json_bool(n, "clean_text", true, &w->clean_text, origin, err);
    if (st == FT_OK) st = wp_json_bool(n, "handle_chinese_chars", true, &w->chinese, origin, err);
    return st;
}

static ft_status wp_json_pretok(const cJSON *root, const char *origin, ft_error *err)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "BertPreTokenizer")) return FT_OK;
    return ft_fail(err, FT_EFORMAT,
                   "%s: pre_tokenizer type %s is not supported for WordPiece "
                   "(expected \"BertPreTokenizer\")",
                   origin, cJSON_IsString(type) ? type->valuestring : "(missing)");
}

/* *id = v where v is a number (left as it is otherwise), which must be an
 * id with a token: a post-processor's [CLS]/[SEP] go into every model input. */
static ft_status wp_post_id(const tok_wordpiece *w, const cJSON *v, const char *origin,
                            const char *what, int32_t *id, ft_error *err)
{
    if (!cJSON_IsNumber(v)) return FT_OK;
    double d = v->valuedouble;
    if (!(d >= 0 && d < w->vocab.n_ids) || d != (double)(int32_t)d || !w->vocab.tokens[(int32_t)d])
        return ft_fail(err, FT_EFORMAT,
                       "%s: post_processor: the id %g of %s is not in the "
                       "vocabulary",
                       origin, d, what);
    *id = (int32_t)d;
    return FT_OK;
}

/* [CLS]/[SEP] ids from a BertProcessing or TemplateProcessing post-processor
 * ([CLS] $A [SEP]); other shapes fall back to the tokens' names. */
static ft_status wp_json_post(tok_wordpiece *w, const cJSON *root, const char *origin,
                              ft_error *err)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
    if (!cJSON_IsString(type)) return FT_OK;
    if (!strcmp(type->valuestring, "BertProcessing")) {
        const cJSON *cls = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "cls"), 1);
        const cJSON *sep = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "sep"), 1);
        ft_status st = wp_post_id(w, cls, origin, "cls", &w->cls_id, err);
        return st == FT_OK ? wp_post_id(w, sep, origin, "sep", &w->sep_id, err) : st;
    }
    if (strcmp(type->valuestring, "TemplateProcessing")) return FT_OK;
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
    if (cJSON_GetArraySize(single) != 3) return FT_OK;
    const cJSON *ids[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(single, k ? 2 : 0), "SpecialToken"),
            "id");
        if (!cJSON_IsString(tok)) return FT_OK;
        ids[k] = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(specials, tok->valuestring), "ids"),
            0);
    }
    ft_status st = wp_post_id(w, ids[0], origin, "the first special token", &w->cls_id, err);
    return st == FT_OK ? wp_post_id(w, ids[1], origin, "the last special token", &w->sep_id, err)
                       : st;
}

static ft_status wp_json_model(tok_wordpiece *w, const cJSON *model, const char *origin,
                               const char **unk, ft_error *err)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    if (!cJSON_IsString(u))
        return ft_fail(err, FT_EFORMAT, "%s: model.unk_token must be a string", origin);
    *unk = u->valuestring;
    if (prefix && !cJSON_IsNull(prefix)) {
        if (!cJSON_IsString(prefix) || strlen(prefix->valuestring) > WP_PREFIX_MAX)
            return ft_fail(err, FT_EFORMAT,
                           "%s: model.continuing_subword_prefix must be a "
                           "string of at most %d bytes",
                           origin, WP_PREFIX_MAX);
        w->prefix_len = strlen(prefix->valuestring);
        memcpy(w->prefix, prefix->valuestring, w->prefix_len + 1);
    }
    if (max && !cJSON_IsNull(max)) {
        if (!cJSON_IsNumber(max) || max->valuedouble < 1 || max->valuedouble > 1e6)
            return ft_fail(err, FT_EFORMAT,
                           "%s: model.max_input_chars_per_word must be a "
                           "positive integer",
                           origin);
        w->max_chars = (int32_t)max->valuedouble;
    }
    return FT_OK;
}

static ft_status wp_json_decoder(tok_wordpiece *w, const cJSON *root, const char *origin,
                                 ft_error *err)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    if (!d || cJSON_IsNull(d)) return FT_OK;
    return wp_json_bool(d, "cleanup", true, &w->cleanup, origin, err);
}

ft_status tok_wordpiece_open_json(const cJSON *root, const char *origin, tok_wordpiece **out,
                                  ft_error *err)
{
    *out = NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab))
        return ft_fail(err, FT_EFORMAT, "%s: model.vocab must be an object of token: id", origin);
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added))
        return ft_fail(err, FT_EFORMAT, "%s: added_tokens must be an array", origin);
    const char *unk = NULL;
    tok_wordpiece *w = wp_alloc();
    ft_status st = w ? wp_json_model(w, model, origin, &unk, err) : tok_nomem(err);
    if (st == FT_OK) st = wp_json_normalizer(w, root, origin, err);
    if (st == FT_OK) st = wp_json_pretok(root, origin, err);
    if (st == FT_OK) st = wp_json_decoder(w, root, origin, err);
    if (st == FT_OK) st = wp_json_tokens(w, vocab, added, origin, err);
    if (st == FT_OK) st = tok_added_add_json(&w->added, &w->vocab, w->special, added, err);
    if (st == FT_OK) st = wp_json_post(w, root, origin, err);
    if (st == FT_OK) st = wp_finish(w, origin, unk, err);
    if (st != FT_OK) {
        tok_wordpiece_free(w);
        return st;
    }
    *out = w;
    return FT_OK;
}

/* ---- settings and accessors ------------------------------------------------ */

void tok_wordpiece_set_options(tok_wordpiece *w, const tok_wordpiece_options *o)
{
    if (o->lowercase >= 0) w->lowercase = o->lowercase;
    if (o->strip_accents >= 0)
        w->strip = o->strip_accents == 2 ? WP_STRIP_FOLLOW
                   : o->strip_accents    ? WP_STRIP_ON
                                         : WP_STRIP_OFF;
    if (o->chinese >= 0) w->chinese = o->chinese;
    if (o->cleanup >= 0) w->cleanup = o->cleanup;
    wp_fingerprint(w);
}

int32_t tok_wordpiece_vocab_size(const tok_wordpiece *w) { return w->vocab.n_ids; }
int32_t tok_wordpiece_pad_id(const tok_wordpiece *w) { return w->pad_id; }
int32_t tok_wordpiece_cls_id(const tok_wordpiece *w) { return w->cls_id; }
int32_t tok_wordpiece_sep_id(const tok_wordpiece *w) { return w->sep_id; }
uint64_t tok_wordpiece_fingerprint(const tok_wordpiece *w) { return w->fingerprint; }
