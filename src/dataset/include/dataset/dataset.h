/* dataset: labelled text as users have it (JSONL, a JSON array, CSV, TSV,
 * one folder per class), read in parts so that many ranks can share the work.
 *
 * A source is one file or one folder. Its records are numbered in source
 * order; the record boundaries are a property of the bytes alone, so part p of
 * P reads exactly the records a single reader would, whatever P is:
 *   - JSONL: a record is a line (raw newlines cannot occur inside JSON
 *     strings). Blank lines are not records.
 *   - CSV (RFC 4180): a record ends at a newline preceded by an even number of
 *     '"' since the start of the file. A '"' may only open a field, close it or
 *     be doubled inside a quoted field; anything else makes the record bad (so
 *     the rule above and a sequential parser always agree).
 *   - TSV (IANA text/tab-separated-values): a line, fields split on tabs, no
 *     quoting at all.
 *   - JSON array: the elements of the top-level array.
 *   - folder: FOLDER/CLASS/FILE, one example per file, the class folder's name
 *     is the label; classes and files in byte order of their names; hidden
 *     names (leading '.') are skipped.
 * An empty file has no records. As JSON lines (by its name or the format
 * given) with both fields given it reads as zero records and the caller
 * decides (ftune-shard: "no usable records"); without them the detection
 * fails naming the file. As CSV/TSV, or when only its bytes could tell the
 * format, dataset_open fails with "FILE:1: the file is empty", since a
 * CSV/TSV's columns come from its first line.
 * Byte-range parts (JSONL, CSV, TSV) own the records that start inside
 * [size*p/P, size*(p+1)/P); a part needs, from the parts before it, only the
 * number of newlines and the quote parity (dataset_scan_part), which an MPI
 * program sums with an exclusive scan. JSON arrays and folders are split by
 * element and by file.
 *
 * The text and label fields are named by the caller or detected from the
 * first records of the source: the text is the field whose strings are
 * longest; the label a field named like label/class/category/target (for a
 * CSV/TSV without header: the other column with the fewest distinct values).
 * Labels may be strings, numbers or booleans in JSON; they become strings.
 *
 * A record that cannot be used is kept with a reason (dataset_reason) and a
 * message "file:line: why"; the caller decides to stop or to skip it.
 *
 * Language-model data (dataset_open_lm): JSON records with a prompt and a
 * completion field (detected from the pairs prompt/completion,
 * instruction[+input]/output, question/answer, else given), or one text
 * field ("text", or given) for continued pre-training, or chat data (a
 * "messages" list of {role, content}) for a chat template to render.
 *
 * Not done here: tokenizing, label ids, splitting (shard module), MPI. */
#ifndef DATASET_H
#define DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"

typedef enum dataset_format {
    DATASET_AUTO = 0,
    DATASET_JSONL,
    DATASET_JSON,
    DATASET_CSV,
    DATASET_TSV,
    DATASET_FOLDER
} dataset_format;

/* Why a record is unusable. DATASET_OK for a good one. */
typedef enum dataset_reason {
    DATASET_OK = 0,
    DATASET_MALFORMED_JSON,
    DATASET_MALFORMED_CSV, /* wrong number of fields or a misplaced quote */
    DATASET_INVALID_UTF8,
    DATASET_MISSING_TEXT,       /* no text field, or it is not a string */
    DATASET_EMPTY_TEXT,         /* only white space */
    DATASET_MISSING_LABEL,      /* no label field, null, or empty */
    DATASET_MISSING_COMPLETION, /* language-model data: no completion, not a string, or empty */
    DATASET_N_REASONS
} dataset_reason;

/* "malformed_json", "malformed_csv", ... (the manifest's keys). */
const char *dataset_reason_name(dataset_reason r);

/* "jsonl", "json", "csv", "tsv", "folder"; dataset_format_parse the reverse
 * (plus "auto"), false for an unknown name. */
const char *dataset_format_name(dataset_format f);
bool dataset_format_parse(const char *name, dataset_format *out);

typedef enum dataset_header {
    DATASET_HEADER_AUTO = 0,
    DATASET_HEADER_YES,
    DATASET_HEADER_NO
} dataset_header;

typedef struct dataset_options {
    dataset_format format;   /* DATASET_AUTO: from the name, then the bytes */
    const char *text_field;  /* NULL: detect. CSV/TSV: a header name or a 1-based column */
    const char *label_field; /* NULL: detect */
    dataset_header header;   /* CSV/TSV only */
} dataset_options;

/* Language-model data (dataset_open_lm; JSONL or a JSON array only):
 * prompt/completion pairs, or plain text (dataset_options.text_field given,
 * or a field "text" detected). */
typedef struct dataset_lm_options {
    const char *prompt_field, *completion_field; /* NULL: detect */
} dataset_lm_options;

typedef struct dataset_source dataset_source;

/* Opens path (a file or a folder), detects the format and the fields. Every
 * rank opens the same source and gets the same answers. */
ft_status dataset_open(const char *path, const dataset_options *opt, dataset_source **out,
                       ft_error *err);
/* dataset_open for language-model data (see dataset_lm_options). */
ft_status dataset_open_lm(const char *path, const dataset_options *opt,
                          const dataset_lm_options *lm, dataset_source **out, ft_error *err);
void dataset_close(dataset_source *src);

dataset_format dataset_get_format(const dataset_source *src);
const char *dataset_get_path(const dataset_source *src);
/* The chosen fields as "text field 'x' (detected: longest strings), label
 * field 'y' (given)" for the user to check; NUL-terminated, owned by src. */
const char *dataset_fields_summary(const dataset_source *src);
/* Names of the chosen fields (a column is named "column N" without header). */
const char *dataset_text_field(const dataset_source *src);
const char *dataset_label_field(const dataset_source *src);
/* Language-model data: "prompt_completion", "text" or "messages"; NULL for
 * labelled data. Its records hold the prompt as text and the completion as
 * label (text data: the text, an empty label; messages: the list as compact
 * JSON, an empty label, each message checked to be an object with string
 * "role" and "content"). With instruction/input/output
 * data, a non-empty "input" is appended to the instruction after a blank
 * line (the Alpaca layout without its template). */
const char *dataset_lm_mode(const dataset_source *src);
/* Number of files (1 unless a folder). */
size_t dataset_file_count(const dataset_source *src);

/* What a part must know about the parts before it. */
typedef struct dataset_scan {
    uint64_t newlines;   /* '\n' bytes in the part's range */
    uint32_t quotes_odd; /* 1 when the range holds an odd number of '"' (CSV) */
    uint32_t crc32;      /* zlib crc32 of the part's bytes (file contents for folders) */
    uint64_t bytes;      /* the part's byte count */
} dataset_scan;

/* Statistics of part `part` of `n_parts`, reading only its own bytes. */
ft_status dataset_scan_part(dataset_source *src, int part, int n_parts, dataset_scan *out,
                            ft_error *err);

/* crc32 of the whole source from the parts' scans in part order. */
uint32_t dataset_combine_crc(const dataset_scan *scans, int n_parts);

typedef struct dataset_record {
    uint64_t line; /* 1-based line where the record starts (1 for folder files) */
    uint32_t file; /* file number (folders), else 0 */
    dataset_reason reason;
    size_t text_off, text_len;   /* in dataset_records.arena (good records) */
    size_t label_off, label_len; /* in dataset_records.arena (good records) */
} dataset_record;

/* The records of one part, in source order, good and bad. */
typedef struct dataset_records {
    dataset_record *items;
    size_t n, cap;
    char *arena;
    size_t arena_len, arena_cap;
    uint64_t bad_count;
    size_t first_bad;                       /* index of the first bad record (if bad_count) */
    char first_bad_msg[FT_ERROR_MSG_BYTES]; /* "file:line: why" */
} dataset_records;

void dataset_records_free(dataset_records *r);

/* The prefix sums that part `part` needs: newlines and quote parity of all
 * parts before it (zero for part 0). */
typedef struct dataset_prefix {
    uint64_t newlines;
    uint32_t quotes_odd;
} dataset_prefix;

/* Reads the records of part `part` of `n_parts` into out (emptied first). Bad
 * records get their reason; only a failure to read (FT_EIO, FT_ENOMEM) is an
 * error status. */
ft_status dataset_read_part(dataset_source *src, int part, int n_parts,
                            const dataset_prefix *prefix, dataset_records *out, ft_error *err);

/* "path:line" (or the file of a folder) of a record, into buf. */
void dataset_record_where(const dataset_source *src, const dataset_record *rec, char *buf,
                          size_t size);

/* Whether text[0..len) is valid UTF-8; *bad_offset the first bad byte. */
bool dataset_utf8_valid(const char *text, size_t len, size_t *bad_offset);

#endif
