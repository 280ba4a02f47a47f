/* tok_bpe: the BPE tokenizers (GPT-2, Llama 3, Qwen2, Llama 2, Mistral,
 * TinyLlama, Phi-3), id for id with Hugging Face.
 *
 * One merge loop, three ways to make the symbols it merges. The pipeline of
 * OpenAI's encoder.py and of Hugging Face's tokenizers (Rust), per text:
 *   1. added/special tokens ("<|endoftext|>", "<|im_start|>", "<s>")
 *      written in the text are matched first, on the raw bytes, leftmost
 *      then longest, and give their ids directly (with lstrip/rstrip they
 *      also take the white space before/after them); the text between them
 *      is tokenized segment by segment;
 *   2. byte-level (GPT-2, Llama 3, Qwen2): the segment is NFC-normalized
 *      where the normalizer says so (Qwen2), then cut into words by GPT-2's
 *      pattern
 *        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *      (bpe_piece_end) or, for a Split pre-tokenizer, Llama 3's or Qwen2's
 *      (bpe_llm_piece_end), implemented by hand over code points with \s
 *      the Unicode White_Space property as in Oniguruma (Rust tokenizers),
 *      Python's `regex` and tiktoken (JavaScript's \s differs: it has U+FEFF
 *      and lacks U+0085); each word's UTF-8 bytes become symbols, one per
 *      byte (the vocabulary spells byte b as the code point of GPT-2's
 *      bytes_to_unicode table); with ignore_merges (Llama 3) a word that is
 *      itself a token is that token;
 *   2'. SentencePiece-style (Llama 2, Mistral, TinyLlama, Phi-3): " " is
 *      spelt "\u2581", one put before the segment (Prepend normalizer, or a
 *      Metaspace pre-tokenizer), and the whole segment is one word whose
 *      symbols are its code points; one with no token is its bytes'
 *      <0xXX> tokens (byte_fallback), else <unk> (fused runs);
 *   3. merges are applied lowest rank first, leftmost on ties, as Hugging
 *      Face's Rust Word::merge_all does (a heap of candidate pairs, so a
 *      hostile 1 MB word stays O(n log n)).
 * The post-processor's TemplateProcessing ("<|begin_of_text|> $A",
 * "<s> $A") frames tok_encode_for_model; tok.c applies tokenizer_config's
 * add_bos_token/add_eos_token over it as transformers does. Decoding gives
 * the exact bytes, even where ids cut a character in two (Hugging Face
 * would put U+FFFD): byte-level maps code points back to bytes;
 * SentencePiece-style maps "\u2581" to " " and <0xXX> to its byte, then
 * drops one leading space (the decoders Replace, ByteFallback, Fuse,
 * Strip).
 *
 * Invalid UTF-8 in a text is an FT_EINVAL naming the byte offset, as for
 * WordPiece and as tok.h promises: Hugging Face's tokenizers take Python
 * str / Rust &str, which cannot hold such bytes, so no reference defines
 * their ids, and the dataset layer already refuses those records; the byte
 * level could encode them, but BERT and GPT-2 runs would then train on
 * different example sets.
 *
 * A tokenizer.json with any other component or option is refused with a
 * message naming the key and value, never tokenized differently: other
 * normalizers, pre-tokenizers (Split patterns other than Llama 3's and
 * Qwen2's, Split behaviours other than Isolated), decoders and
 * post-processors; Metaspace with split true; added tokens' single_word,
 * and normalized true under a normalizer; byte_fallback on byte-level BPE.
 *
 * Design: vocabulary in tok_vocab's hash table (FNV-1a); merges in a
 * hash table keyed by the pair of ids giving (rank, merged id); a cache of
 * word -> ids (words up to BPE_CACHE_WORD bytes), emptied when full; scratch
 * buffers kept in the tokenizer, which is why encode takes it non-const.
 *
 * Not done: pairs of texts (TemplateProcessing's "pair" is not read);
 * BPE dropout; extra tokens of added_tokens.json next to vocab.json;
 * SentencePiece .model files (tokenizer.json only); Unigram models. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_json.h"
#include "tok_impl.h"

enum {
    BPE_MAX_IDS = TOK_VOCAB_MAX_IDS, /* also the most merges */
    BPE_CACHE_WORD = 64,             /* longer words are not cached */
    BPE_CACHE_SLOTS = 1 << 15,
    BPE_CACHE_KEYS = 1 << 20 /* bytes of cached words before emptying */
};

/* Code point classes of the patterns. */
enum { BPE_SPACE = 1, BPE_LETTER, BPE_NUMBER, BPE_OTHER };

/* How a segment is cut into words before the merges: GPT-2's pattern (a
 * ByteLevel pre-tokenizer with use_regex), not at all (use_regex false),
 * Llama 3's or Qwen2's pattern (a Split before a ByteLevel). */
typedef enum bpe_split {
    BPE_SPLIT_GPT2,
    BPE_SPLIT_NONE,
    BPE_SPLIT_LLAMA3,
    BPE_SPLIT_QWEN2
} bpe_split;

enum { BPE_FRAME_MAX = 4 }; /* special tokens a template may put on each side */

typedef struct bpe_sym {
    int32_t id, prev, next;
    uint32_t len; /* bytes; 0 once merged into its left neighbour */
} bpe_sym;

typedef struct bpe_cand {
    int32_t rank, pos, new_id;
} bpe_cand;

typedef struct bpe_cache_slot {
    uint64_t hash;
    uint32_t key_off, key_len, ids_off, n_ids; /* key_len 0: empty */
} bpe_cache_slot;

/* Growable scratch of one encode call. */
typedef struct bpe_work {
    int32_t *cp;    /* code points of a segment */
    uint8_t *cls;   /* their classes */
    uint32_t *offs; /* byte offset of each code point, n + 1 of them */
    size_t cp_cap;
    bpe_sym *sym;
    bpe_cand *heap;
    size_t sym_cap, heap_len, heap_cap;
    char *seg;  /* a segment with the space add_prefix_space puts before it */
    char *word; /* a word spelt in the vocabulary's alphabet (ignore_merges) */
    size_t seg_cap, word_cap;
} bpe_work;

struct tok_bpe {
    tok_vocab vocab;  /* id -> token as spelt in the vocabulary, and its index */
    uint8_t *special; /* id -> skipped by decode(skip_special) */
    char *bytes;      /* all tokens' decoded bytes; id's at bytes[boff[id]..boff[id+1]) */
    uint32_t *boff;
    int32_t *merge_a, *merge_b; /* rank -> pair of ids */
    int32_t n_merges;
    uint64_t *mkeys; /* merge hash table: key (a << 32 | b), ~0 empty */
    int32_t *mrank, *mnew;
    size_t mmask;
    int32_t byte_id[256];
    uint16_t byte_cp[256]; /* bytes_to_unicode */
    int16_t cp_byte[324];  /* its inverse, -1 where none */
    tok_added added;       /* matched in the raw text */
    bool add_prefix_space, use_regex, ignore_merges;
    bpe_split split;
    bool nfc; /* normalizer NFC (Qwen2) */
    /* SentencePiece-style BPE (Llama 2, Mistral, Phi-3): symbols are code
     * points, " " is spelt U+2581 with one put before each segment
     * (sp_prepend: 1 every segment, 2 only one at the start of the text);
     * a code point not in the vocabulary is its UTF-8 bytes as <0xXX>
     * tokens (byte_fallback), else unk_id (consecutive ones fused). */
    bool sp, byte_fallback, fuse_unk, metaspace; /* metaspace: by the pre-tokenizer */
    int sp_prepend;
    int32_t unk_id;
    int32_t frame_pre[BPE_FRAME_MAX], frame_post[BPE_FRAME_MAX]; /* post-processor ids */
    int n_pre, n_post;
    int32_t pad_id;
    uint64_t fingerprint;
    bpe_cache_slot *cache;
    char *cache_keys;
    int32_t *cache_ids;
    size_t cache_used, cache_keys_len, cache_ids_len, cache_ids_cap;
    bpe_work wk;
};

/* ---- bytes_to_unicode and code point classes ----------------------------- */

/* GPT-2's table: printable Latin-1 bytes stand for themselves, the others
 * (controls, space, DEL, NBSP, soft hyphen) for 256, 257, ... in order. */
static void bpe_byte_table(tok_bpe *b)
{
    int n = 0;
    for (int i = 0; i < 324; i++) b->cp_byte[i] = -1;
    for (int c = 0; c < 256; c++) {
        bool printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
        b->byte_cp[c] = (uint16_t)(printable ? c : 256 + n++);
        b->cp_byte[b->byte_cp[c]] = (int16_t)c;
    }
}

/* Unicode White_Space (Oniguruma's and Python regex's \s). */
static bool bpe_is_space(int32_t c)
{
    if (c == ' ' || (c >= 9 && c <= 13)) return true;
    if (c < 0x85) return false;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static uint8_t bpe_class(int32_t c)
{
    if (c < 128) {
        if ((c | 32) >= 'a' && (c | 32) <= 'z') return BPE_LETTER;
        if (c >= '0' && c <= '9') return BPE_NUMBER;
        return bpe_is_space(c) ? BPE_SPACE : BPE_OTHER;
    }
    if (bpe_is_space(c)) return BPE_SPACE;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return BPE_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return BPE_NUMBER;
    default: return BPE_OTHER;
    }
}

/* ---- GPT-2's pre-tokenization pattern --------------------------------------- */

/* Length of 's 't 're 've 'm 'll 'd at cp[i], or 0. */
static size_t bpe_contraction(const int32_t *cp, size_t n, size_t i)
{
    if (cp[i] != '\'' || i + 1 >= n) return 0;
    int32_t a = cp[i + 1], c = i + 2 < n ? cp[i + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && c == 'e') || (a == 'v' && c == 'e') || (a == 'l' && c == 'l')) return 3;
    return 0;
}

/* The end of the pattern's match at cp[i] (i < n). The alternatives in
 * order: a contraction; ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+` (one
 * optional ' ' then a run of one class); `\s+(?!\S)`, which backtracks to
 * leave the last white space before a non-space; `\s+` for a single one. */
static size_t bpe_piece_end(const int32_t *cp, const uint8_t *cls, size_t n, size_t i)
{
    size_t k = bpe_contraction(cp, n, i);
    if (k) return i + k;
    size_t s = i + (cp[i] == ' ' && i + 1 < n && cls[i + 1] != BPE_SPACE);
    if (cls[s] != BPE_SPACE) {
        size_t j = s + 1;
        while (j < n && cls[j] == cls[s]) j++;
        return j;
    }
    size_t j = i + 1;
    while (j < n && cls[j] == BPE_SPACE) j++;
    return (j == n || j - i == 1) ? j : j - 1;
}

/* ---- Llama 3's and Qwen2's pre-tokenization patterns ------------------------ */

/* Lower case for (?i:...) as Oniguruma folds the contraction letters:
 * ASCII, and U+017F LATIN SMALL LETTER LONG S, which folds to 's'. */
static int32_t bpe_fold(int32_t c)
{
    if (c >= 'A' && c <= 'Z') return c | 32;
    return c == 0x17F ? 's' : c;
}

/* Length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at cp[i], or 0. */
static size_t bpe_contraction_ci(const int32_t *cp, size_t n, size_t i)
{
    if (cp[i] != '\'' || i + 1 >= n) return 0;
    int32_t a = bpe_fold(cp[i + 1]), c = i + 2 < n ? bpe_fold(cp[i + 2]) : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && c == 'e') || (a == 'v' && c == 'e') || (a == 'l' && c == 'l')) return 3;
    return 0;
}

static inline bool bpe_is_crlf(int32_t c) { return c == '\r' || c == '\n'; }

/* The end of the match at cp[i] (i < n) of Llama 3's pattern
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (max_digits 3) or Qwen2's (\p{N} alone: max_digits 1). The alternatives
 * in order; `\s*[\r\n]+` backtracks to end after the last \r or \n of the
 * white-space run, `\s+(?!\S)` to leave its last character before a
 * non-space. Every code point is matched by some alternative, so the
 * Isolated split leaves no gaps. */
static size_t bpe_llm_piece_end(const int32_t *cp, const uint8_t *cls, size_t n, size_t i,
                                size_t max_digits)
{
    size_t k = bpe_contraction_ci(cp, n, i), j;
    if (k) return i + k;
    size_t s = i + (cls[i] != BPE_LETTER && cls[i] != BPE_NUMBER && !bpe_is_crlf(cp[i]) &&
                    i + 1 < n && cls[i + 1] == BPE_LETTER);
    if (cls[s] == BPE_LETTER) {
        for (j = s + 1; j < n && cls[j] == BPE_LETTER;) j++;
        return j;
    }
    if (cls[i] == BPE_NUMBER) {
        for (j = i + 1; j < n && j - i < max_digits && cls[j] == BPE_NUMBER;) j++;
        return j;
    }
    s = i + (cp[i] == ' ' && i + 1 < n && cls[i + 1] == BPE_OTHER);
    if (cls[s] == BPE_OTHER) {
        for (j = s + 1; j < n && cls[j] == BPE_OTHER;) j++;
        while (j < n && bpe_is_crlf(cp[j])) j++;
        return j;
    }
    for (j = i + 1; j < n && cls[j] == BPE_SPACE;) j++;
    for (size_t m = j; m > i; m--)
        if (bpe_is_crlf(cp[m - 1])) return m;
    return (j == n || j - i == 1) ? j : j - 1;
}

/* ---- scratch ---------------------------------------------------------------- */

static bool bpe_reserve_cps(bpe_work *wk, size_t n)
{
    if (n + 1 <= wk->cp_cap) return true;
    size_t cap = wk->cp_cap ? wk->cp_cap : 256;
    while (cap < n + 1) cap *= 2;
    int32_t *cp = ft_realloc_array(wk->cp, cap, sizeof *cp);
    if (cp) wk->cp = cp;
    uint8_t *cls = ft_realloc_array(wk->cls, cap, 1);
    if (cls) wk->cls = cls;
    uint32_t *offs = ft_realloc_array(wk->offs, cap, sizeof *offs);
    if (offs) wk->offs = offs;
    if (!cp || !cls || !offs) return false;
    wk->cp_cap = cap;
    return true;
}

static bool bpe_reserve_syms(bpe_work *wk, size_t n)
{
    if (n <= wk->sym_cap) return true;
    size_t cap = wk->sym_cap ? wk->sym_cap : 64;
    while (cap < n) cap *= 2;
    bpe_sym *s = ft_realloc_array(wk->sym, cap, sizeof *s);
    if (s) wk->sym = s;
    bpe_cand *h = ft_realloc_array(wk->heap, 2 * cap, sizeof *h);
    if (h) wk->heap = h;
    if (!s || !h) return false;
    wk->sym_cap = cap;
    wk->heap_cap = 2 * cap;
    return true;
}

static bool bpe_reserve(char **buf, size_t *cap, size_t n)
{
    if (n <= *cap) return true;
    size_t c = *cap ? *cap : 256;
    while (c < n) c *= 2;
    char *p = ft_realloc_array(*buf, c, 1);
    if (!p) return false;
    *buf = p;
    *cap = c;
    return true;
}

static void bpe_work_free(bpe_work *wk)
{
    free(wk->cp);
    free(wk->cls);
    free(wk->offs);
    free(wk->sym);
    free(wk->heap);
    free(wk->seg);
    free(wk->word);
}

/* ---- lookups ------------------------------------------------------------------ */

static int32_t bpe_lookup(const tok_bpe *b, const char *s, size_t n)
{
    return tok_vocab_find(&b->vocab, s, n);
}

int32_t tok_bpe_token_to_id(const tok_bpe *b, const char *token)
{
    return bpe_lookup(b, token, strlen(token));
}

static inline size_t bpe_merge_slot(const tok_bpe *b, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & b->mmask;
}

/* The rank and merged id of the pair (x, y), false when they do not merge. */
static inline bool bpe_merge_find(const tok_bpe *b, int32_t x, int32_t y, int32_t *rank,
                                  int32_t *new_id)
{
    uint64_t key = (uint64_t)(uint32_t)x << 32 | (uint32_t)y;
    for (size_t i = bpe_merge_slot(b, key);; i = (i + 1) & b->mmask) {
        if (b->mkeys[i] == key) {
            *rank = b->mrank[i];
            *new_id = b->mnew[i];
            return true;
        }
        if (b->mkeys[i] == UINT64_MAX) return false;
    }
}

/* ---- the merges of one word ------------------------------------------------- */

static inline bool bpe_cand_less(bpe_cand x, bpe_cand y)
{
    return x.rank < y.rank || (x.rank == y.rank && x.pos < y.pos);
}

static void bpe_heap_push(bpe_work *wk, bpe_cand c)
{
    size_t i = wk->heap_len++;
    FT_CHECK(i < wk->heap_cap);
    while (i > 0 && bpe_cand_less(c, wk->heap[(i - 1) / 2])) {
        wk->heap[i] = wk->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    wk->heap[i] = c;
}

static bpe_cand bpe_heap_pop(bpe_work *wk)
{
    bpe_cand top = wk->heap[0], last = wk->heap[--wk->heap_len];
    size_t i = 0, n = wk->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bpe_cand_less(wk->heap[c + 1], wk->heap[c])) c++;
        if (!bpe_cand_less(wk->heap[c], last)) break;
        wk->heap[i] = wk->heap[c];
        i = c;
    }
    if (n) wk->heap[i] = last;
    return top;
}

/* Queue the pair starting at symbol pos, if it merges. */
static void bpe_queue_pair(const tok_bpe *b, bpe_work *wk, int32_t pos)
{
    const bpe_sym *s = &wk->sym[pos];
    int32_t rank, new_id;
    if (s->next >= 0 && bpe_merge_find(b, s->id, wk->sym[s->next].id, &rank, &new_id))
        bpe_heap_push(wk, (bpe_cand){rank, pos, new_id});
}

/* Merge the symbols of wk->sym[0..n) as Hugging Face's Word::merge_all: a
 * candidate is stale when its left symbol is gone or its pair no longer
 * merges into the same id. Every merge adds at most two candidates, so the
 * heap never holds more than 2n. */
static void bpe_merge_all(const tok_bpe *b, bpe_work *wk, size_t n)
{
    wk->heap_len = 0;
    for (size_t k = 0; k + 1 < n; k++) bpe_queue_pair(b, wk, (int32_t)k);
    while (wk->heap_len) {
        bpe_cand top = bpe_heap_pop(wk);
        bpe_sym *s = &wk->sym[top.pos];
        int32_t rank, new_id;
        if (!s->len || s->next < 0) continue;
        bpe_sym *r = &wk->sym[s->next];
        if (!bpe_merge_find(b, s->id, r->id, &rank, &new_id) || new_id != top.new_id) continue;
        s->id = new_id;
        s->len += r->len;
        s->next = r->next;
        r->len = 0;
        if (s->next >= 0) wk->sym[s->next].prev = top.pos;
        if (s->prev >= 0) bpe_queue_pair(b, wk, s->prev);
        bpe_queue_pair(b, wk, top.pos);
    }
}

/* With ignore_merges, a word spelt as one vocabulary token is that token. */
static int32_t bpe_whole_word(tok_bpe *b, const unsigned char *w, size_t n)
{
    bpe_work *wk = &b->wk;
    if (b->ignore_merges && b->sp) return bpe_lookup(b, (const char *)w, n);
    if (!b->ignore_merges || !bpe_reserve(&wk->word, &wk->word_cap, 2 * n)) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)utf8proc_encode_char(b->byte_cp[w[i]], (utf8proc_uint8_t *)wk->word + k);
    return bpe_lookup(b, wk->word, k);
}

/* Bytes of the UTF-8 sequence led by byte c (the text is valid UTF-8). */
static inline size_t bpe_utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* The SentencePiece-style symbols of w[0..n) into wk->sym (ids and byte
 * lengths; at most n of them), as Hugging Face's BPE::merge_word: a code
 * point's own token, else with byte_fallback its bytes' <0xXX> tokens when
 * all exist, else the unk token, fused with an unk just before it. */
static ft_status bpe_sp_symbols(const tok_bpe *b, const unsigned char *w, size_t n, size_t *n_sym,
                                ft_error *err)
{
    bpe_sym *sym = b->wk.sym;
    size_t k = 0;
    bool last_unk = false;
    for (size_t i = 0; i < n;) {
        size_t len = bpe_utf8_len(w[i]);
        int32_t id = bpe_lookup(b, (const char *)w + i, len);
        bool bytes = id < 0 && b->byte_fallback;
        for (size_t j = 0; bytes && j < len; j++) bytes = b->byte_id[w[i + j]] >= 0;
        if (id >= 0 || bytes) {
            for (size_t j = 0; bytes && j < len; j++)
                sym[k++] = (bpe_sym){b->byte_id[w[i + j]], 0, 0, 1};
            if (!bytes) sym[k++] = (bpe_sym){id, 0, 0, (uint32_t)len};
            last_unk = false;
        } else if (b->unk_id < 0) {
            return ft_fail(err, FT_EINVAL,
                           "tokenizer: \"%.*s\" is not in the vocabulary and "
                           "the tokenizer has no unk_token",
                           (int)len, (const char *)w + i);
        } else if (last_unk && b->fuse_unk) {
            sym[k - 1].len += (uint32_t)len;
        } else {
            sym[k++] = (bpe_sym){b->unk_id, 0, 0, (uint32_t)len};
            last_unk = true;
        }
        i += len;
    }
    *n_sym = k;
    return FT_OK;
}

/* The ids of one word w[0..n) appended to out, without the cache. */
static ft_status bpe_word_ids(tok_bpe *b, const unsigned char *w, size_t n, tok_ids *out,
                              ft_error *err)
{
    int32_t whole = bpe_whole_word(b, w, n);
    if (whole >= 0) return tok_ids_append(out, whole, err);
    bpe_work *wk = &b->wk;
    if (!bpe_reserve_syms(wk, n)) return tok_nomem(err);
    size_t n_sym = n;
    if (b->sp) {
        ft_status st = bpe_sp_symbols(b, w, n, &n_sym, err);
        if (st != FT_OK) return st;
    } else {
        for (size_t k = 0; k < n; k++) wk->sym[k] = (bpe_sym){b->byte_id[w[k]], 0, 0, 1};
    }
    for (size_t k = 0; k < n_sym; k++) {
        wk->sym[k].prev = (int32_t)k - 1;
        wk->sym[k].next = k + 1 < n_sym ? (int32_t)k + 1 : -1;
    }
    bpe_merge_all(b, wk, n_sym);
    for (int32_t k = n_sym ? 0 : -1; k >= 0; k = wk->sym[k].next) {
        ft_status st = tok_ids_append(out, wk->sym[k].id, err);
        if (st != FT_OK) return st;
    }
    return FT_OK;
}

/* ---- the word cache ------------------------------------------------------------ */

static void bpe_cache_clear(tok_bpe *b)
{
    memset(b->cache, 0, BPE_CACHE_SLOTS * sizeof *b->cache);
    b->cache_used = b->cache_keys_len = b->cache_ids_len = 0;
}

/* The slot of word w (hash h): its entry, or the empty slot it would take. */
static bpe_cache_slot *bpe_cache_find(const tok_bpe *b, const unsigned char *w, size_t n,
                                      uint64_t h)
{
    for (size_t i = (size_t)h & (BPE_CACHE_SLOTS - 1);; i = (i + 1) & (BPE_CACHE_SLOTS - 1)) {
        bpe_cache_slot *s = &b->cache[i];
        if (!s->key_len) return s;
        if (s->hash == h && s->key_len == n && !memcmp(b->cache_keys + s->key_off, w, n)) return s;
    }
}

/* Remember the ids out->ids[first..] of word w in slot s; a full cache is
 * emptied first (the slot is then looked up again). */
static void bpe_cache_put(tok_bpe *b, bpe_cache_slot *s, const unsigned char *w, size_t n,
                          uint64_t h, const tok_ids *out, size_t first)
{
    size_t k = out->len - first;
    if (b->cache_used >= BPE_CACHE_SLOTS / 2 || b->cache_keys_len + n > BPE_CACHE_KEYS ||
        b->cache_ids_len + k > b->cache_ids_cap) {
        bpe_cache_clear(b);
        s = bpe_cache_find(b, w, n, h);
    }
    memcpy(b->cache_keys + b->cache_keys_len, w, n);
    memcpy(b->cache_ids + b->cache_ids_len, out->ids + first, k * sizeof *out->ids);
    *s = (bpe_cache_slot){h, (uint32_t)b->cache_keys_len, (uint32_t)n, (uint32_t)b->cache_ids_len,
                          (uint32_t)k};
    b->cache_keys_len += n;
    b->cache_ids_len += k;
    b->cache_used++;
}

static ft_status bpe_word(tok_bpe *b, const unsigned char *w, size_t n, tok_ids *out, ft_error *err)
{
    if (n > BPE_CACHE_WORD) return bpe_word_ids(b, w, n, out, err);
    uint64_t h = tok_fnv1a(TOK_FNV_OFFSET, w, n);
    bpe_cache_slot *s = bpe_cache_find(b, w, n, h);
    if (s->key_len) {
        for (uint32_t i = 0; i < s->n_ids; i++) {
            ft_status st = tok_ids_append(out, b->cache_ids[s->ids_off + i], err);
            if (st != FT_OK) return st;
        }
        return FT_OK;
    }
    size_t first = out->len;
    ft_status st = bpe_word_ids(b, w, n, out, err);
    if (st == FT_OK) bpe_cache_put(b, s, w, n, h, out, first);
    return st;
}

/* ---- one segment between added tokens ------------------------------------------- */

/* Code points, classes and offsets of s[0..len) into wk; base - shift: the
 * byte offset of s in the whole text, for the message. */
static ft_status bpe_decode_utf8(bpe_work *wk, const char *s, size_t len, size_t base, size_t shift,
                                 size_t *n_out, ft_error *err)
{
    if (!bpe_reserve_cps(wk, len)) return tok_nomem(err);
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        int32_t c = u[i];
        wk->offs[n] = (uint32_t)i;
        if (c < 128) {
            i++;
        } else {
            utf8proc_ssize_t k = utf8proc_iterate(u + i, (utf8proc_ssize_t)(len - i), &c);
            if (k < 0)
                return ft_fail(err, FT_EINVAL, "invalid UTF-8 at byte %zu of the text",
                               base + i - shift);
            i += (size_t)k;
        }
        wk->cp[n] = c;
        wk->cls[n] = bpe_class(c);
    }
    wk->offs[n] = (uint32_t)len;
    *n_out = n;
    return FT_OK;
}

static size_t bpe_piece_end_of(const tok_bpe *b, const bpe_work *wk, size_t n, size_t i)
{
    switch (b->split) {
    case BPE_SPLIT_LLAMA3: return bpe_llm_piece_end(wk->cp, wk->cls, n, i, 3);
    case BPE_SPLIT_QWEN2: return bpe_llm_piece_end(wk->cp, wk->cls, n, i, 1);
    default: return bpe_piece_end(wk->cp, wk->cls, n, i);
    }
}

static ft_status bpe_segment_words(tok_bpe *b, const char *text, size_t len, size_t base,
                                   tok_ids *out, ft_error *err)
{
    bpe_work *wk = &b->wk;
    if (len > UINT32_MAX - 1)
        return ft_fail(err, FT_EINVAL, "tokenizer: a text of %zu bytes is too long", len);
    size_t shift = 0; /* 1 when a space is put before the segment */
    if (b->add_prefix_space && text[0] != ' ') {
        if (!bpe_reserve(&wk->seg, &wk->seg_cap, len + 1)) return tok_nomem(err);
        wk->seg[0] = ' ';
        memcpy(wk->seg + 1, text, len++);
        text = wk->seg;
        shift = 1;
    }
    size_t n = 0;
    ft_status st = bpe_decode_utf8(wk, text, len, base, shift, &n, err);
    const unsigned char *u = (const unsigned char *)text;
    if (st == FT_OK && b->split == BPE_SPLIT_NONE) return bpe_word(b, u, len, out, err);
    for (size_t i = 0; st == FT_OK && i < n;) {
        size_t j = bpe_piece_end_of(b, wk, n, i);
        st = bpe_word(b, u + wk->offs[i], wk->offs[j] - wk->offs[i], out, err);
        i = j;
    }
    return st;
}

#define BPE_METASPACE "\xe2\x96\x81" /* U+2581, SentencePiece's space */

/* A SentencePiece-style segment: "▁" put before it (at every segment for
 * Llama 2's Prepend normalizer; for a Metaspace pre-tokenizer, unless the
 * segment starts with " " or "▁", and with prepend_scheme "first" only at
 * the text's start) and each " " spelt "▁"; with
 * no pre-tokenizer the whole segment is one word. */
static ft_status bpe_sp_segment(tok_bpe *b, const char *text, size_t len, size_t base, tok_ids *out,
                                ft_error *err)
{
    bpe_work *wk = &b->wk;
    size_t n_cp, spaces = 0, k = 0;
    ft_status st = bpe_decode_utf8(wk, text, len, base, 0, &n_cp, err); /* refuses bad UTF-8 */
    if (st != FT_OK) return st;
    for (size_t i = 0; i < len; i++) spaces += text[i] == ' ';
    if (!bpe_reserve(&wk->seg, &wk->seg_cap, len + 2 * spaces + 3)) return tok_nomem(err);
    /* Metaspace puts none before a segment already starting with one */
    bool starts_meta = text[0] == ' ' || (len >= 3 && !memcmp(text, BPE_METASPACE, 3));
    if ((b->sp_prepend == 1 || (b->sp_prepend == 2 && base == 0)) &&
        !(b->metaspace && starts_meta)) {
        memcpy(wk->seg, BPE_METASPACE, 3);
        k = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] != ' ') {
            wk->seg[k++] = text[i];
            continue;
        }
        memcpy(wk->seg + k, BPE_METASPACE, 3);
        k += 3;
    }
    return bpe_word(b, (const unsigned char *)wk->seg, k, out, err);
}

/* One segment between added tokens, NFC-normalized first where the
 * tokenizer.json says so (utf8proc's NFC, as Rust's unicode-normalization). */
static ft_status bpe_segment(tok_bpe *b, const char *text, size_t len, size_t base, tok_ids *out,
                             ft_error *err)
{
    if (b->sp) return bpe_sp_segment(b, text, len, base, out, err);
    if (!b->nfc) return bpe_segment_words(b, text, len, base, out, err);
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    ft_status st;
    if (n >= 0) {
        st = bpe_segment_words(b, (const char *)nfc, (size_t)n, base, out, err);
    } else if (n == UTF8PROC_ERROR_NOMEM) {
        st = tok_nomem(err);
    } else { /* invalid UTF-8: the code point pass names the byte */
        size_t ignored;
        st = bpe_decode_utf8(&b->wk, text, len, base, 0, &ignored, err);
        if (st == FT_OK)
            st = ft_fail(err, FT_EINVAL, "tokenizer: NFC normalization failed: %s",
                         utf8proc_errmsg(n));
    }
    free(nfc);
    return st;
}

/* Where the white space (Rust's char::is_whitespace: White_Space) starting
 * at text[from] ends: an added token's rstrip takes it. */
static size_t bpe_space_after(const char *text, size_t len, size_t from)
{
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)text;
    while (from < len) {
        int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(u + from, (utf8proc_ssize_t)(len - from), &c);
        if (k < 0 || !bpe_is_space(c)) break;
        from += (size_t)k;
    }
    return from;
}

/* Where the white space ending at text[at] starts, not before start: an
 * added token's lstrip takes it. */
static size_t bpe_space_before(const char *text, size_t start, size_t at)
{
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)text;
    while (at > start) {
        size_t i = at - 1;
        while (i > start && (u[i] & 0xC0) == 0x80 && at - i < 4) i--;
        int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(u + i, (utf8proc_ssize_t)(at - i), &c);
        if (k != (utf8proc_ssize_t)(at - i) || !bpe_is_space(c)) break;
        at = i;
    }
    return at;
}

ft_status tok_bpe_encode(tok_bpe *b, const char *text, size_t len, tok_ids *out, ft_error *err)
{
    ft_status st = FT_OK;
    size_t start = 0;
    for (;;) {
        size_t at;
        const tok_added_token *a = tok_added_next(&b->added, text, len, start, &at);
        size_t end = a && a->lstrip ? bpe_space_before(text, start, at) : at;
        if (end > start) st = bpe_segment(b, text + start, end - start, start, out, err);
        if (st == FT_OK && a) st = tok_ids_append(out, a->id, err);
        if (st != FT_OK || !a) return st;
        start = at + a->len;
        if (a->rstrip) start = bpe_space_after(text, len, start);
    }
}

/* ---- decode ------------------------------------------------------------------ */

ft_status tok_bpe_decode(const tok_bpe *b, const int32_t *ids, size_t n, bool skip_special,
                         char **text, size_t *text_len, ft_error *err)
{
    *text = NULL;
    *text_len = 0;
    ft_status st = tok_vocab_check_ids(&b->vocab, ids, n, err);
    if (st != FT_OK) return st;
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += b->boff[ids[i] + 1] - b->boff[ids[i]];
    char *s = ft_malloc_array(cap, 1);
    if (!s) return tok_nomem(err);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip_special && b->special[ids[i]]) continue;
        uint32_t off = b->boff[ids[i]], k = b->boff[ids[i] + 1] - off;
        memcpy(s + len, b->bytes + off, k);
        len += k;
    }
    if (b->sp && len && s[0] == ' ') { /* decoder Strip(" ", 1, 0) */
        memmove(s, s + 1, len - 1);
        len--;
    }
    s[len] = '\0';
    *text = s;
    *text_len = len;
    return FT_OK;
}

/* ---- construction -------------------------------------------------------------- */

static tok_bpe *bpe_alloc(void)
{
    tok_bpe *b = ft_calloc_array(1, sizeof *b);
    if (!b) return NULL;
    b->pad_id = -1;
    b->use_regex = true;
    bpe_byte_table(b);
    return b;
}

void tok_bpe_free(tok_bpe *b)
{
    if (!b) return;
    tok_vocab_free(&b->vocab);
    free(b->special);
    free(b->bytes);
    free(b->boff);
    free(b->merge_a);
    free(b->merge_b);
    free(b->mkeys);
    free(b->mrank);
    free(b->mnew);
    tok_added_free(&b->added);
    free(b->cache);
    free(b->cache_keys);
    free(b->cache_ids);
    bpe_work_free(&b->wk);
    free(b);
}

static ft_status bpe_alloc_ids(tok_bpe *b, int32_t n_ids, const char *origin, ft_error *err)
{
    ft_status st = tok_vocab_init(&b->vocab, n_ids, origin, err);
    if (st != FT_OK) return st;
    b->special = ft_calloc_array((size_t)n_ids, 1);
    return b->special ? FT_OK : tok_nomem(err);
}

/* Store token s as id; `where` names the file and key for messages. */
static ft_status bpe_set_token(tok_bpe *b, int32_t id, const char *s, const char *where,
                               ft_error *err)
{
    return tok_vocab_set(&b->vocab, id, s, strlen(s), where, err);
}

/* Every byte must have its token: a byte-level vocabulary spells all 256. */
static ft_status bpe_byte_ids(tok_bpe *b, const char *origin, ft_error *err)
{
    if (b->sp) { /* byte fallback's <0xXX>, where present */
        for (int c = 0; c < 256; c++) {
            char s[8];
            snprintf(s, sizeof s, "<0x%02X>", c);
            b->byte_id[c] = bpe_lookup(b, s, 6);
        }
        return FT_OK;
    }
    for (int c = 0; c < 256; c++) {
        char s[4];
        utf8proc_ssize_t k = utf8proc_encode_char(b->byte_cp[c], (utf8proc_uint8_t *)s);
        b->byte_id[c] = bpe_lookup(b, s, (size_t)k);
        if (b->byte_id[c] < 0)
            return ft_fail(err, FT_EFORMAT,
                           "%s: no token for byte 0x%02X (\"%.*s\"): not a "
                           "GPT-2 byte-level vocabulary",
                           origin, c, (int)k, s);
    }
    return FT_OK;
}

/* The bytes a token stands for: each code point through the inverse of
 * bytes_to_unicode; a token with a code point outside the table (an added
 * token such as "<|endoftext|>" is inside it) stands for its own UTF-8. */
/* The bytes a SentencePiece-style token stands for, as the decoders
 * Replace("▁", " ") and ByteFallback give them. */
static size_t bpe_sp_token_bytes(const char *t, size_t n, char *out)
{
    if (n == 6 && !memcmp(t, "<0x", 3) && t[5] == '>' && isxdigit((unsigned char)t[3]) &&
        isxdigit((unsigned char)t[4])) {
        char hex[3] = {t[3], t[4], 0};
        out[0] = (char)strtol(hex, NULL, 16);
        return 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        bool meta = i + 3 <= n && !memcmp(t + i, BPE_METASPACE, 3);
        out[k++] = meta ? ' ' : t[i];
        i += meta ? 3 : 1;
    }
    return k;
}

static size_t bpe_token_bytes(const tok_bpe *b, const char *t, size_t n, char *out)
{
    if (b->sp) return bpe_sp_token_bytes(t, n, out);
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)t;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int32_t c;
        utf8proc_ssize_t step = utf8proc_iterate(u + i, (utf8proc_ssize_t)(n - i), &c);
        FT_CHECK(step > 0); /* tokens were checked at load */
        if (c >= 324 || b->cp_byte[c] < 0) {
            memcpy(out, t, n);
            return n;
        }
        out[k++] = (char)b->cp_byte[c];
        i += (size_t)step;
    }
    return k;
}

static ft_status bpe_build_bytes(tok_bpe *b, ft_error *err)
{
    size_t total = 0;
    for (int32_t id = 0; id < b->vocab.n_ids; id++) total += b->vocab.lens[id];
    if (total > UINT32_MAX) return ft_fail(err, FT_EFORMAT, "tokenizer: vocabulary too large");
    b->bytes = ft_malloc_array(total ? total : 1, 1);
    b->boff = ft_malloc_array((size_t)b->vocab.n_ids + 1, sizeof *b->boff);
    if (!b->bytes || !b->boff) return tok_nomem(err);
    size_t off = 0;
    for (int32_t id = 0; id < b->vocab.n_ids; id++) {
        b->boff[id] = (uint32_t)off;
        const char *t = b->vocab.tokens[id];
        if (t) off += bpe_token_bytes(b, t, b->vocab.lens[id], b->bytes + off);
    }
    b->boff[b->vocab.n_ids] = (uint32_t)off;
    return FT_OK;
}

/* ---- merges ---------------------------------------------------------------------- */

/* Append the merge (x, y) of the next rank; `where` names file and line/key. */
static ft_status bpe_add_merge(tok_bpe *b, const char *x, size_t nx, const char *y, size_t ny,
                               const char *where, ft_error *err)
{
    if (!nx || !ny)
        return ft_fail(err, FT_EFORMAT, "%s: expected two tokens separated by one space", where);
    int32_t ix = bpe_lookup(b, x, nx), iy = bpe_lookup(b, y, ny);
    if (ix < 0 || iy < 0)
        return ft_fail(err, FT_EFORMAT, "%s: token \"%.*s\" is not in the vocabulary", where,
                       ix < 0 ? (int)nx : (int)ny, ix < 0 ? x : y);
    char *joined = ft_malloc_array(nx + ny, 1);
    if (!joined) return tok_nomem(err);
    memcpy(joined, x, nx);
    memcpy(joined + nx, y, ny);
    int32_t merged = bpe_lookup(b, joined, nx + ny);
    free(joined);
    if (merged < 0)
        return ft_fail(err, FT_EFORMAT, "%s: the merge \"%.*s%.*s\" is not in the vocabulary",
                       where, (int)nx, x, (int)ny, y);
    if (b->n_merges == BPE_MAX_IDS)
        return ft_fail(err, FT_EFORMAT, "%s: more than %d merges", where, BPE_MAX_IDS);
    if (!(b->n_merges & (b->n_merges - 1))) { /* grow at powers of two */
        size_t cap = b->n_merges ? 2 * (size_t)b->n_merges : 1024;
        int32_t *ga = ft_realloc_array(b->merge_a, cap, sizeof *ga);
        if (ga) b->merge_a = ga;
        int32_t *gb = ft_realloc_array(b->merge_b, cap, sizeof *gb);
        if (gb) b->merge_b = gb;
        if (!ga || !gb) return tok_nomem(err);
    }
    b->merge_a[b->n_merges] = ix;
    b->merge_b[b->n_merges++] = iy;
    return FT_OK;
}

/* Hash the merges by pair; a pair listed twice keeps its last rank, as
 * Hugging Face's HashMap collection does. */
static ft_status bpe_build_merges(tok_bpe *b, const char *origin, ft_error *err)
{
    if (!b->n_merges)
        return ft_fail(err, FT_EFORMAT,
                       "%s: no merges (an empty merges list is not GPT-2's "
                       "tokenizer)",
                       origin);
    size_t size = 64;
    while (size < 2 * (size_t)b->n_merges) size *= 2;
    b->mkeys = ft_malloc_array(size, sizeof *b->mkeys);
    b->mrank = ft_malloc_array(size, sizeof *b->mrank);
    b->mnew = ft_malloc_array(size, sizeof *b->mnew);
    if (!b->mkeys || !b->mrank || !b->mnew) return tok_nomem(err);
    memset(b->mkeys, 0xff, size * sizeof *b->mkeys);
    b->mmask = size - 1;
    char *joined = NULL;
    for (int32_t r = 0; r < b->n_merges; r++) {
        int32_t x = b->merge_a[r], y = b->merge_b[r];
        char *grown = ft_realloc_array(joined, b->vocab.lens[x] + b->vocab.lens[y], 1);
        if (!grown) {
            free(joined);
            return tok_nomem(err);
        }
        joined = grown;
        memcpy(joined, b->vocab.tokens[x], b->vocab.lens[x]);
        memcpy(joined + b->vocab.lens[x], b->vocab.tokens[y], b->vocab.lens[y]);
        uint64_t key = (uint64_t)(uint32_t)x << 32 | (uint32_t)y;
        size_t i = bpe_merge_slot(b, key);
        while (b->mkeys[i] != UINT64_MAX && b->mkeys[i] != key) i = (i + 1) & b->mmask;
        b->mkeys[i] = key;
        b->mrank[i] = r;
        b->mnew[i] = bpe_lookup(b, joined, b->vocab.lens[x] + b->vocab.lens[y]);
    }
    free(joined);
    return FT_OK;
}

/* ---- added tokens, fingerprint, finishing ---------------------------------------- */

/* FNV-1a over the tokens in id order, the merges in rank order, the matched
 * tokens in id order and the settings that change ids: vocab.json +
 * merges.txt and the equivalent tokenizer.json fingerprint alike. */
static void bpe_fingerprint(tok_bpe *b)
{
    uint64_t h = tok_vocab_hash_tokens(&b->vocab, tok_fnv1a(TOK_FNV_OFFSET, "byte-bpe\n", 9));
    for (int32_t r = 0; r < b->n_merges; r++) {
        int32_t pair[2] = {b->merge_a[r], b->merge_b[r]};
        h = tok_fnv1a(h, pair, sizeof pair);
    }
    for (int32_t id = 0; id < b->vocab.n_ids; id++) {
        if (b->special[id] || tok_added_has(&b->added, id)) {
            int32_t rec[2] = {id, b->special[id]};
            h = tok_fnv1a(h, rec, sizeof rec);
        }
    }
    char settings[160];
    int n = snprintf(settings, sizeof settings, "prefix_space=%d regex=%d ignore_merges=%d",
                     b->add_prefix_space, b->use_regex, b->ignore_merges);
    /* GPT-2's string stays as it was (its shards keep their fingerprint) */
    if (b->split >= BPE_SPLIT_LLAMA3 || b->nfc || b->n_pre || b->n_post || b->sp)
        n += snprintf(settings + n, sizeof settings - (size_t)n,
                      " split=%d nfc=%d frame=%d,%d sp=%d,%d,%d,%d unk=%ld", (int)b->split, b->nfc,
                      b->n_pre, b->n_post, b->sp, b->sp_prepend, b->byte_fallback, b->fuse_unk,
                      (long)b->unk_id);
    for (int k = 0; k < b->n_pre; k++) h = tok_fnv1a(h, &b->frame_pre[k], sizeof(int32_t));
    for (int k = 0; k < b->n_post; k++) h = tok_fnv1a(h, &b->frame_post[k], sizeof(int32_t));
    b->fingerprint = tok_fnv1a(h, settings, (size_t)n);
}

/* After the tokens and merges are in: index, byte ids, merges, cache. */
static ft_status bpe_finish_vocab(tok_bpe *b, const char *origin, ft_error *err)
{
    ft_status st = tok_vocab_build_index(&b->vocab, origin, err);
    if (st == FT_OK) st = bpe_byte_ids(b, origin, err);
    if (st == FT_OK) st = bpe_build_bytes(b, err);
    return st;
}

static ft_status bpe_finish(tok_bpe *b, const char *origin, ft_error *err)
{
    ft_status st = bpe_build_merges(b, origin, err);
    if (st != FT_OK) return st;
    b->pad_id = tok_bpe_token_to_id(b, "<|endoftext|>");
    tok_added_sort(&b->added);
    b->cache_ids_cap = 4 * (size_t)BPE_CACHE_SLOTS;
    b->cache = ft_calloc_array(BPE_CACHE_SLOTS, sizeof *b->cache);
    b->cache_keys = ft_malloc_array(BPE_CACHE_KEYS, 1);
    b->cache_ids = ft_malloc_array(b->cache_ids_cap, sizeof *b->cache_ids);
    if (!b->cache || !b->cache_keys || !b->cache_ids) return tok_nomem(err);
    bpe_fingerprint(b);
    return FT_OK;
}

/* ---- vocab.json + merges.txt ------------------------------------------------------- */

static ft_status bpe_json_id(const cJSON *v, const char *where, const char *key, int32_t *id,
                             ft_error *err)
{
    *id = -1;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < BPE_MAX_IDS) ||
        v->valuedouble != (double)(int32_t)v->valuedouble)
        return ft_fail(err, FT_EFORMAT, "%s: key \"%s\": expected an integer id in [0, %d)", where,
                       key, BPE_MAX_IDS);
    *id = (int32_t)v->valuedouble;
    return FT_OK;
}

/* The largest id of a token: id object, plus one (at least min_ids). */
static ft_status bpe_count_vocab(const cJSON *vocab, const char *where, int32_t min_ids,
                                 int32_t *n_ids, ft_error *err)
{
    int32_t n = min_ids, id;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab)
    {
        ft_status st = bpe_json_id(e, where, e->string, &id, err);
        if (st != FT_OK) return st;
        if (id >= n) n = id + 1;
    }
    *n_ids = n;
    return FT_OK;
}

static ft_status bpe_set_vocab(tok_bpe *b, const cJSON *vocab, const char *where, ft_error *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab)
    {
        int32_t id;
        ft_status st = bpe_json_id(e, where, e->string, &id, err);
        if (st == FT_OK) st = bpe_set_token(b, id, e->string, where, err);
        if (st != FT_OK) return st;
    }
    return FT_OK;
}

static ft_status bpe_load_vocab_json(tok_bpe *b, const char *path, ft_error *err)
{
    cJSON *root = NULL;
    int32_t n_ids = 0;
    ft_status st = tok_read_json_file(path, &root, err);
    if (st == FT_OK && !cJSON_IsObject(root))
        st = ft_fail(err, FT_EFORMAT, "%s: expected a JSON object of token: id", path);
    if (st == FT_OK) st = bpe_count_vocab(root, path, 0, &n_ids, err);
    if (st == FT_OK) st = bpe_alloc_ids(b, n_ids, path, err);
    if (st == FT_OK) st = bpe_set_vocab(b, root, path, err);
    cJSON_Delete(root);
    return st == FT_OK ? bpe_finish_vocab(b, path, err) : st;
}

/* One line of merges.txt: "#version..." lines are skipped, others are two
 * tokens separated by exactly one space (Hugging Face's rule). */
static ft_status bpe_merges_line(tok_bpe *b, const char *s, size_t n, const char *path, size_t line,
                                 ft_error *err)
{
    if (n && s[n - 1] == '\r') n--;
    if (n >= 8 && !memcmp(s, "#version", 8)) return FT_OK;
    const char *sp = memchr(s, ' ', n);
    char where[FT_ERROR_MSG_BYTES];
    snprintf(where, sizeof where, "%s:%zu", path, line);
    if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s)) || sp == s || sp + 1 == s + n)
        return ft_fail(err, FT_EFORMAT,
                       "%s:%zu: expected two tokens separated by one space, "
                       "got \"%.*s\"",
                       path, line, n > 60 ? 60 : (int)n, s);
    return bpe_add_merge(b, s, (size_t)(sp - s), sp + 1, n - (size_t)(sp + 1 - s), where, err);
}

static ft_status bpe_load_merges(tok_bpe *b, const char *path, ft_error *err)
{
    char *data = NULL;
    size_t len = 0;
    ft_status st = ft_read_file(path, &data, &len, err);
    size_t start = 0, line = 1;
    while (st == FT_OK && start < len) {
        const char *nl = memchr(data + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - data) : len;
        st = bpe_merges_line(b, data + start, end - start, path, line++, err);
        start = end + 1;
    }
    free(data);
    return st;
}

ft_status tok_bpe_open_files(const char *vocab_json, const char *merges_txt, tok_bpe **out,
                             ft_error *err)
{
    *out = NULL;
    tok_bpe *b = bpe_alloc();
    ft_status st = b ? bpe_load_vocab_json(b, vocab_json, err) : tok_nomem(err);
    if (st == FT_OK) st = bpe_load_merges(b, merges_txt, err);
    if (st == FT_OK) { /* GPT2Tokenizer's bos = eos = unk token */
        int32_t eot = tok_bpe_token_to_id(b, "<|endoftext|>");
        if (eot >= 0) st = tok_added_add(&b->added, &b->vocab, eot, err);
        if (eot >= 0) b->special[eot] = 1;
    }
    if (st == FT_OK) st = bpe_finish(b, merges_txt, err);
    if (st != FT_OK) {
        tok_bpe_free(b);
        return st;
    }
    *out = b;
    return FT_OK;
}

/* ---- tokenizer.json ----------------------------------------------------------------- */

/* The "type" of a pipeline step, for messages. */
static const char *bpe_type_name(const cJSON *obj)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(t) ? t->valuestring : "(no type)";
}

/* A JSON boolean of step `what`, or def when the key is absent or null. */
static ft_status bpe_json_bool(const cJSON *obj, const char *key, bool def, bool *out,
                               const char *origin, const char *what, ft_error *err)
{
    char where[FT_ERROR_MSG_BYTES / 2];
    snprintf(where, sizeof where, "%s: %s", origin, what);
    ft_json_src s = {where, FT_EFORMAT, err};
    return ft_json_opt_bool(&s, obj, key, def, out);
}

/* A string setting that must be absent, null or "". */
static ft_status bpe_json_empty(const cJSON *obj, const char *key, const char *origin,
                                ft_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring)) return FT_OK;
    return ft_fail(err, FT_EFORMAT,
                   "%s: model.%s must be null or \"\" (not supported for "
                   "byte-level BPE)",
                   origin, key);
}

static ft_status bpe_json_model(tok_bpe *b, const cJSON *model, const char *origin, ft_error *err)
{
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) &&
        !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return ft_fail(err, FT_EFORMAT,
                       "%s: model.dropout must be null (BPE dropout is for "
                       "training tokenizers, not supported)",
                       origin);
    ft_status st = bpe_json_empty(model, "continuing_subword_prefix", origin, err);
    if (st == FT_OK) st = bpe_json_empty(model, "end_of_word_suffix", origin, err);
    if (st == FT_OK)
        st = bpe_json_bool(model, "ignore_merges", false, &b->ignore_merges, origin, "model", err);
    if (st == FT_OK)
        st = bpe_json_bool(model, "byte_fallback", false, &b->byte_fallback, origin, "model", err);
    if (st == FT_OK)
        st = bpe_json_bool(model, "fuse_unk", false, &b->fuse_unk, origin, "model", err);
    if (st == FT_OK && b->byte_fallback && !b->sp)
        st = ft_fail(err, FT_EFORMAT,
                     "%s: model.byte_fallback true is not supported for "
                     "byte-level BPE (every byte already has its token)",
                     origin);
    return st;
}

/* ---- pipeline steps ------------------------------------------------------------------ */

static bool bpe_is_type(const cJSON *obj, const char *type)
{
    return !strcmp(bpe_type_name(obj), type);
}

/* True when obj's string key equals want. */
static bool bpe_str_is(const cJSON *obj, const char *key, const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && !strcmp(v->valuestring, want);
}

/* Llama 2's normalizer: Sequence [Prepend("▁"), Replace(String " ", "▁")]. */
static bool bpe_is_sp_normalizer(const cJSON *n)
{
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
    const cJSON *pre = cJSON_GetArrayItem(steps, 0), *rep = cJSON_GetArrayItem(steps, 1);
    return cJSON_GetArraySize(steps) == 2 && bpe_is_type(pre, "Prepend") &&
           bpe_str_is(pre, "prepend", BPE_METASPACE) && bpe_is_type(rep, "Replace") &&
           bpe_str_is(cJSON_GetObjectItemCaseSensitive(rep, "pattern"), "String", " ") &&
           bpe_str_is(rep, "content", BPE_METASPACE);
}

/* normalizer: null, NFC (Qwen2), or Llama 2's Prepend + Replace (which
 * makes the tokenizer SentencePiece-style). */
static ft_status bpe_json_normalizer(tok_bpe *b, const cJSON *n, const char *origin, ft_error *err)
{
    if (!n || cJSON_IsNull(n)) return FT_OK;
    if (bpe_is_type(n, "NFC")) {
        b->nfc = true;
        return FT_OK;
    }
    if (bpe_is_type(n, "Sequence") && bpe_is_sp_normalizer(n)) {
        b->sp = true;
        b->sp_prepend = 1;
        return FT_OK;
    }
    return ft_fail(err, FT_EFORMAT,
                   "%s: normalizer %s is not supported for BPE (expected null, "
                   "\"NFC\", or a Sequence of Prepend(\"\u2581\") and Replace(\" \", "
                   "\"\u2581\"))",
                   origin, bpe_type_name(n));
}

/* pre_tokenizer Metaspace ("▁", split false) after no normalizer: the
 * SentencePiece-style layout tokenizers >= 0.19 writes. */
static ft_status bpe_json_metaspace(tok_bpe *b, const cJSON *p, const char *origin, ft_error *err)
{
    const cJSON *split = cJSON_GetObjectItemCaseSensitive(p, "split");
    const cJSON *scheme = cJSON_GetObjectItemCaseSensitive(p, "prepend_scheme");
    if (b->nfc)
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Metaspace after normalizer NFC is "
                       "not supported",
                       origin);
    if (!bpe_str_is(p, "replacement", BPE_METASPACE))
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Metaspace: replacement must be "
                       "\"\u2581\"",
                       origin);
    if (!cJSON_IsFalse(split))
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Metaspace split %s is not supported "
                       "(expected false)",
                       origin, cJSON_IsTrue(split) ? "true" : "absent");
    b->sp = b->metaspace = true;
    if (bpe_str_is(p, "prepend_scheme", "always"))
        b->sp_prepend = 1;
    else if (bpe_str_is(p, "prepend_scheme", "first"))
        b->sp_prepend = 2;
    else if (bpe_str_is(p, "prepend_scheme", "never"))
        b->sp_prepend = 0;
    else
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Metaspace prepend_scheme %s is not "
                       "supported (expected \"always\", \"first\" or \"never\")",
                       origin, cJSON_IsString(scheme) ? scheme->valuestring : "(not a string)");
    return FT_OK;
}

/* Llama 2's decoder: Sequence [Replace("▁", " "), ByteFallback, Fuse,
 * Strip(" ", 1, 0)]. */
static bool bpe_is_sp_decoder(const cJSON *d)
{
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(d, "decoders");
    const cJSON *rep = cJSON_GetArrayItem(steps, 0), *strip = cJSON_GetArrayItem(steps, 3);
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(strip, "start");
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(strip, "stop");
    return bpe_is_type(d, "Sequence") && cJSON_GetArraySize(steps) == 4 &&
           bpe_is_type(rep, "Replace") &&
           bpe_str_is(cJSON_GetObjectItemCaseSensitive(rep, "pattern"), "String", BPE_METASPACE) &&
           bpe_str_is(rep, "content", " ") &&
           bpe_is_type(cJSON_GetArrayItem(steps, 1), "ByteFallback") &&
           bpe_is_type(cJSON_GetArrayItem(steps, 2), "Fuse") && bpe_is_type(strip, "Strip") &&
           bpe_str_is(strip, "content", " ") && cJSON_IsNumber(start) && start->valuedouble == 1 &&
           cJSON_IsNumber(stop) && stop->valuedouble == 0;
}

/* The Split step of a Sequence pre-tokenizer: Llama 3's or Qwen2's pattern
 * exactly, behavior Isolated, invert false; anything else by name. */
static ft_status bpe_json_split(tok_bpe *b, const cJSON *s, const char *origin, ft_error *err)
{
    static const char llama3[] =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
        "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static const char qwen2[] =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
        "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(s, "pattern");
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(pattern, "Regex");
    const cJSON *behavior = cJSON_GetObjectItemCaseSensitive(s, "behavior");
    const cJSON *invert = cJSON_GetObjectItemCaseSensitive(s, "invert");
    if (!cJSON_IsString(re))
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Split: pattern must be {\"Regex\": "
                       "...} (a String pattern is not supported)",
                       origin);
    if (!strcmp(re->valuestring, llama3))
        b->split = BPE_SPLIT_LLAMA3;
    else if (!strcmp(re->valuestring, qwen2))
        b->split = BPE_SPLIT_QWEN2;
    else
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Split pattern \"%.120s\" is not "
                       "supported (expected Llama 3's or Qwen2's)",
                       origin, re->valuestring);
    if (!cJSON_IsString(behavior) || strcmp(behavior->valuestring, "Isolated"))
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Split behavior %s is not supported "
                       "(expected \"Isolated\")",
                       origin, cJSON_IsString(behavior) ? behavior->valuestring : "(not a string)");
    if (invert && !cJSON_IsFalse(invert))
        return ft_fail(err, FT_EFORMAT, "%s: pre_tokenizer Split invert must be false", origin);
    return FT_OK;
}

/* pre_tokenizer Sequence [Split, ByteLevel without its own regex or prefix
 * space]: Llama 3's and Qwen2's. */
static ft_status bpe_json_pre_sequence(tok_bpe *b, const cJSON *p, const char *origin,
                                       ft_error *err)
{
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
    const cJSON *split = cJSON_GetArrayItem(steps, 0), *bl = cJSON_GetArrayItem(steps, 1);
    if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) != 2 || !bpe_is_type(split, "Split") ||
        !bpe_is_type(bl, "ByteLevel"))
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer Sequence of %s, %s (%d steps) is "
                       "not supported (expected [Split, ByteLevel])",
                       origin, bpe_type_name(split), bpe_type_name(bl), cJSON_GetArraySize(steps));
    ft_status st = bpe_json_split(b, split, origin, err);
    if (st == FT_OK)
        st = bpe_json_bool(bl, "add_prefix_space", true, &b->add_prefix_space, origin,
                           "pre_tokenizer ByteLevel", err);
    if (st == FT_OK)
        st = bpe_json_bool(bl, "use_regex", true, &b->use_regex, origin, "pre_tokenizer ByteLevel",
                           err);
    if (st == FT_OK && (b->add_prefix_space || b->use_regex))
        st = ft_fail(err, FT_EFORMAT,
                     "%s: pre_tokenizer ByteLevel after a Split: "
                     "add_prefix_space %s, use_regex %s is not supported (expected both false)",
                     origin, b->add_prefix_space ? "true" : "false",
                     b->use_regex ? "true" : "false");
    return st;
}

/* pre_tokenizer ByteLevel (GPT-2) or Sequence [Split, ByteLevel]. */
static ft_status bpe_json_pre_tokenizer(tok_bpe *b, const cJSON *p, const char *origin,
                                        ft_error *err)
{
    if (b->sp && (!p || cJSON_IsNull(p))) return FT_OK;
    if (b->sp)
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer %s after the SentencePiece-style "
                       "normalizer is not supported (expected null)",
                       origin, bpe_type_name(p));
    if (bpe_is_type(p, "Metaspace")) return bpe_json_metaspace(b, p, origin, err);
    if (bpe_is_type(p, "Sequence")) return bpe_json_pre_sequence(b, p, origin, err);
    if (!bpe_is_type(p, "ByteLevel"))
        return ft_fail(err, FT_EFORMAT,
                       "%s: pre_tokenizer %s is not supported for BPE "
                       "(expected \"ByteLevel\", a Sequence of Split and ByteLevel, or "
                       "\"Metaspace\")",
                       origin, bpe_type_name(p));
    ft_status st = bpe_json_bool(p, "add_prefix_space", true, &b->add_prefix_space, origin,
                                 "pre_tokenizer", err);
    if (st == FT_OK)
        st = bpe_json_bool(p, "use_regex", true, &b->use_regex, origin, "pre_tokenizer", err);
    b->split = b->use_regex ? BPE_SPLIT_GPT2 : BPE_SPLIT_NONE;
    return st;
}

/* normalizer, pre_tokenizer and decoder (ByteLevel or null; anything else
 * changes the text we do not change). The post-processor is read once the
 * tokens are in (bpe_json_post). */
static ft_status bpe_json_pipeline(tok_bpe *b, const cJSON *root, const char *origin, ft_error *err)
{
    ft_status st =
        bpe_json_normalizer(b, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), origin, err);
    if (st == FT_OK)
        st = bpe_json_pre_tokenizer(b, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"),
                                    origin, err);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    if (st == FT_OK && b->sp && !bpe_is_sp_decoder(d))
        st = ft_fail(err, FT_EFORMAT,
                     "%s: decoder %s is not supported for SentencePiece-style "
                     "BPE (expected a Sequence of Replace(\"\u2581\", \" \"), ByteFallback, "
                     "Fuse, Strip(\" \", 1, 0))",
                     origin, d && !cJSON_IsNull(d) ? bpe_type_name(d) : "null");
    else if (st == FT_OK && !b->sp && d && !cJSON_IsNull(d) && !bpe_is_type(d, "ByteLevel"))
        st = ft_fail(err, FT_EFORMAT,
                     "%s: decoder %s is not supported for byte-level BPE "
                     "(expected \"ByteLevel\" or null)",
                     origin, bpe_type_name(d));
    return st;
}

/* ---- post_processor: the special tokens around the input ------------------------------ */

/* Append the ids of template item `name` (special_tokens[name].ids) to the
 * frame side ids[*n]. */
static ft_status bpe_template_special(tok_bpe *b, const cJSON *specials, const char *name,
                                      int32_t *ids, int *n, const char *origin, ft_error *err)
{
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(specials, name);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(entry, "ids"), *e;
    if (!cJSON_IsArray(list))
        return ft_fail(err, FT_EFORMAT,
                       "%s: post_processor TemplateProcessing: special token "
                       "\"%.60s\" has no entry with \"ids\" in special_tokens",
                       origin, name);
    cJSON_ArrayForEach(e, list)
    {
        int32_t id;
        ft_status st = bpe_json_id(e, origin, "post_processor special_tokens ids", &id, err);
        if (st == FT_OK && (id >= b->vocab.n_ids || !b->vocab.tokens[id]))
            st = ft_fail(err, FT_EFORMAT,
                         "%s: post_processor special token \"%.60s\": id %ld "
                         "is not in the vocabulary",
                         origin, name, (long)id);
        if (st == FT_OK && *n == BPE_FRAME_MAX)
            st = ft_fail(err, FT_EFORMAT,
                         "%s: post_processor TemplateProcessing: more than %d "
                         "special tokens on one side of $A",
                         origin, BPE_FRAME_MAX);
        if (st != FT_OK) return st;
        ids[(*n)++] = id;
    }
    return FT_OK;
}

/* TemplateProcessing's "single": special tokens, the input $A once, special
 * tokens. "pair" is for pairs of texts, which ftune does not encode. */
static ft_status bpe_json_template(tok_bpe *b, const cJSON *t, const char *origin, ft_error *err)
{
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(t, "single"), *item;
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(t, "special_tokens");
    int seen_a = 0;
    if (!cJSON_IsArray(single))
        return ft_fail(err, FT_EFORMAT,
                       "%s: post_processor TemplateProcessing: \"single\" "
                       "must be an array",
                       origin);
    cJSON_ArrayForEach(item, single)
    {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(item, "Sequence");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(item, "SpecialToken");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(seq ? seq : sp, "id");
        ft_status st = FT_OK;
        if (!cJSON_IsString(id))
            st = ft_fail(err, FT_EFORMAT,
                         "%s: post_processor TemplateProcessing: each item of "
                         "\"single\" must be {\"Sequence\"} or {\"SpecialToken\"} with an id",
                         origin);
        else if (seq)
            st = strcmp(id->valuestring, "A") || seen_a++
                     ? ft_fail(err, FT_EFORMAT,
                               "%s: post_processor TemplateProcessing: "
                               "\"single\" must hold the sequence $A once",
                               origin)
                     : FT_OK;
        else if (seen_a)
            st = bpe_template_special(b, specials, id->valuestring, b->frame_post, &b->n_post,
                                      origin, err);
        else
            st = bpe_template_special(b, specials, id->valuestring, b->frame_pre, &b->n_pre, origin,
                                      err);
        if (st != FT_OK) return st;
    }
    if (!seen_a)
        return ft_fail(err, FT_EFORMAT,
                       "%s: post_processor TemplateProcessing: \"single\" "
                       "has no sequence $A",
                       origin);
    return FT_OK;
}

/* post_processor: null, ByteLevel (offsets only), TemplateProcessing, or a
 * Sequence of those (Llama 3: ByteLevel then TemplateProcessing). */
static ft_status bpe_json_post(tok_bpe *b, const cJSON *p, const char *origin, ft_error *err)
{
    if (!p || cJSON_IsNull(p) || bpe_is_type(p, "ByteLevel")) return FT_OK;
    if (bpe_is_type(p, "TemplateProcessing")) {
        if (b->n_pre || b->n_post)
            return ft_fail(err, FT_EFORMAT,
                           "%s: post_processor: two TemplateProcessing steps "
                           "are not supported",
                           origin);
        return bpe_json_template(b, p, origin, err);
    }
    if (!bpe_is_type(p, "Sequence"))
        return ft_fail(err, FT_EFORMAT,
                       "%s: post_processor %s is not supported for BPE "
                       "(expected ByteLevel, TemplateProcessing, a Sequence of them, or null)",
                       origin, bpe_type_name(p));
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(p, "processors"), *s;
    if (!cJSON_IsArray(steps))
        return ft_fail(err, FT_EFORMAT,
                       "%s: post_processor Sequence: \"processors\" must be "
                       "an array",
                       origin);
    cJSON_ArrayForEach(s, steps)
    {
        if (bpe_is_type(s, "Sequence"))
            return ft_fail(err, FT_EFORMAT,
                           "%s: post_processor: nested Sequence is not "
                           "supported",
                           origin);
        ft_status st = bpe_json_post(b, s, origin, err);
        if (st != FT_OK) return st;
    }
    return FT_OK;
}

/* The flags of one added_tokens entry that change ids: single_word,
 * lstrip and rstrip are not done (refused by name); "normalized": true
 * means matched in the normalized text, which is the raw text unless a
 * normalizer is set. */
static ft_status bpe_added_flags(const tok_bpe *b, const cJSON *e, const char *where, ft_error *err)
{
    static const char *const keys[] = {"single_word", "normalized"};
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(e, "content");
    bool normalizer = b->nfc || (b->sp && b->sp_prepend == 1 && !b->metaspace);
    for (int k = 0; k < 2; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, keys[k]);
        if (!cJSON_IsTrue(v) || (k == 1 && !normalizer)) continue;
        return ft_fail(err, FT_EFORMAT, "%s: \"%.60s\": %s true is not supported for BPE%s", where,
                       content->valuestring, keys[k], k == 1 ? " with a normalizer" : "");
    }
    return FT_OK;
}

/* lstrip / rstrip of added_tokens (Phi-3's <|user|>, <|end|>, ...): the
 * matched token also takes the white space before / after it. */
static void bpe_added_strips(tok_bpe *b, const cJSON *added)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, added)
    {
        int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
        for (size_t k = 0; k < b->added.n; k++) {
            if (b->added.items[k].id != id) continue;
            b->added.items[k].lstrip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "lstrip"));
            b->added.items[k].rstrip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "rstrip"));
        }
    }
}

/* model.unk_token: null, or a token of the vocabulary (SentencePiece-style
 * BPE gives it to code points with no token and no byte fallback). */
static ft_status bpe_json_unk(tok_bpe *b, const cJSON *unk, const char *origin, ft_error *err)
{
    b->unk_id = -1;
    if (!unk || cJSON_IsNull(unk)) return FT_OK;
    if (!cJSON_IsString(unk))
        return ft_fail(err, FT_EFORMAT, "%s: model.unk_token must be a string or null", origin);
    b->unk_id = bpe_lookup(b, unk->valuestring, strlen(unk->valuestring));
    if (b->unk_id < 0 && b->sp)
        return ft_fail(err, FT_EFORMAT,
                       "%s: model.unk_token \"%.60s\" is not in the "
                       "vocabulary",
                       origin, unk->valuestring);
    return FT_OK;
}

static ft_status bpe_json_tokens(tok_bpe *b, const cJSON *vocab, const cJSON *added,
                                 const char *origin, ft_error *err)
{
    char where[FT_ERROR_MSG_BYTES];
    int32_t n_ids = 0, id;
    snprintf(where, sizeof where, "%s: model.vocab", origin);
    ft_status st = bpe_count_vocab(vocab, where, 0, &n_ids, err);
    const cJSON *e;
    snprintf(where, sizeof where, "%s: added_tokens[]", origin);
    cJSON_ArrayForEach(e, added)
    {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (st == FT_OK && !cJSON_IsString(content))
            st = ft_fail(err, FT_EFORMAT, "%s: \"content\" must be a string", where);
        if (st == FT_OK)
            st = bpe_json_id(cJSON_GetObjectItemCaseSensitive(e, "id"), where, "id", &id, err);
        if (st == FT_OK) st = bpe_added_flags(b, e, where, err);
        if (st == FT_OK && id >= n_ids) n_ids = id + 1;
    }
    if (st == FT_OK) st = bpe_alloc_ids(b, n_ids, origin, err);
    snprintf(where, sizeof where, "%s: model.vocab", origin);
    if (st == FT_OK) st = bpe_set_vocab(b, vocab, where, err);
    snprintf(where, sizeof where, "%s: added_tokens[]", origin);
    cJSON_ArrayForEach(e, added)
    {
        if (st != FT_OK) break;
        id = (int32_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
        st = bpe_set_token(b, id, cJSON_GetObjectItemCaseSensitive(e, "content")->valuestring,
                           where, err);
    }
    return st;
}

/* One entry of model.merges: "a b" (tokenizers < 0.20) or ["a", "b"]. */
static ft_status bpe_json_merge(tok_bpe *b, const cJSON *m, const char *where, ft_error *err)
{
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' '))
            return ft_fail(err, FT_EFORMAT,
                           "%s: expected two tokens separated by one space, "
                           "got \"%.60s\"",
                           where, s);
        return bpe_add_merge(b, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), where, err);
    }
    const cJSON *x = cJSON_GetArrayItem(m, 0), *y = cJSON_GetArrayItem(m, 1);
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y))
        return ft_fail(err, FT_EFORMAT, "%s: expected \"a b\" or [\"a\", \"b\"]", where);
    return bpe_add_merge(b, x->valuestring, strlen(x->valuestring), y->valuestring,
                         strlen(y->valuestring), where, err);
}

static ft_status bpe_json_merges(tok_bpe *b, const cJSON *merges, const char *origin, ft_error *err)
{
    if (!cJSON_IsArray(merges))
        return ft_fail(err, FT_EFORMAT, "%s: model.merges must be an array", origin);
    char where[FT_ERROR_MSG_BYTES];
    long k = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges)
    {
        snprintf(where, sizeof where, "%s: model.merges[%ld]", origin, k++);
        ft_status st = bpe_json_merge(b, m, where, err);
        if (st != FT_OK) return st;
    }
    return FT_OK;
}

ft_status tok_bpe_open_json(const cJSON *root, const char *origin, tok_bpe **out, ft_error *err)
{
    *out = NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab))
        return ft_fail(err, FT_EFORMAT, "%s: model.vocab must be an object of token: id", origin);
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added))
        return ft_fail(err, FT_EFORMAT, "%s: added_tokens must be an array", origin);
    tok_bpe *b = bpe_alloc();
    ft_status st = b ? bpe_json_pipeline(b, root, origin, err) : tok_nomem(err);
    if (st == FT_OK) st = bpe_json_model(b, model, origin, err);
    if (st == FT_OK) st = bpe_json_tokens(b, vocab, added, origin, err);
    if (st == FT_OK) st = bpe_finish_vocab(b, origin, err);
    if (st == FT_OK)
        st = bpe_json_unk(b, cJSON_GetObjectItemCaseSensitive(model, "unk_token"), origin, err);
    if (st == FT_OK)
        st = bpe_json_merges(b, cJSON_GetObjectItemCaseSensitive(model, "merges"), origin, err);
    if (st == FT_OK) st = tok_added_add_json(&b->added, &b->vocab, b->special, added, err);
    if (st == FT_OK) bpe_added_strips(b, added);
    if (st == FT_OK)
        st =
            bpe_json_post(b, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), origin, err);
    if (st == FT_OK) st = bpe_finish(b, origin, err);
    if (st != FT_OK) {
        tok_bpe_free(b);
        return st;
    }
    *out = b;
    return FT_OK;
}

/* ---- accessors ------------------------------------------------------------------------ */

int32_t tok_bpe_vocab_size(const tok_bpe *b) { return b->vocab.n_ids; }
int32_t tok_bpe_pad_id(const tok_bpe *b) { return b->pad_id; }

ft_status tok_bpe_set_frame(tok_bpe *b, const int32_t *pre, int n_pre, const int32_t *post,
                            int n_post, int32_t pad_id, ft_error *err)
{
    if (n_pre > BPE_FRAME_MAX || n_post > BPE_FRAME_MAX)
        return ft_fail(err, FT_EINVAL, "tokenizer: more than %d special tokens around the text",
                       BPE_FRAME_MAX);
    if (n_pre >= 0) {
        memcpy(b->frame_pre, pre, (size_t)n_pre * sizeof *pre);
        memcpy(b->frame_post, post, (size_t)n_post * sizeof *post);
        b->n_pre = n_pre;
        b->n_post = n_post;
    }
    if (pad_id >= 0) b->pad_id = pad_id;
    bpe_fingerprint(b);
    if (pad_id >= 0) b->fingerprint = tok_fnv1a(b->fingerprint, &pad_id, sizeof pad_id);
    return FT_OK;
}

void tok_bpe_frame(const tok_bpe *b, const int32_t **pre, int *n_pre, const int32_t **post,
                   int *n_post)
{
    *pre = b->frame_pre;
    *n_pre = b->n_pre;
    *post = b->frame_post;
    *n_post = b->n_post;
}
uint64_t tok_bpe_fingerprint(const tok_bpe *b) { return b->fingerprint; }
