/* chat_template: Hugging Face chat templates (the Jinja `chat_template` of
 * tokenizer_config.json) rendered as transformers' apply_chat_template
 * renders them (transformers 5.25, jinja2 3.1): ImmutableSandboxedEnvironment
 * (trim_blocks=True, lstrip_blocks=True) with loopcontrols, the globals
 * raise_exception, namespace, dict, range and strftime_now, and
 * transformers' tojson (ensure_ascii=False, indent=...).
 *
 * Design: a template is compiled once (lexed with jinja2's whitespace rules,
 * parsed to a tree, every filter and test name checked) and rendered many
 * times; a render allocates its values in one arena freed at its end. The
 * subset is what real templates use (checked byte for byte on Llama 2, 3,
 * 3.1, 3.2, Mistral v0.2/v0.3, Phi-3, Qwen2.5, DeepSeek-R1-Distill-Qwen):
 * for (else, inline if, two targets, loop.*), if/elif/else, set (names and
 * namespace attributes), break/continue, generation blocks, literals,
 * arithmetic, comparisons, in, is-tests, filters, calls, slices, str and
 * dict methods; chat_builtins.c lists the filters, tests and methods.
 *
 * Contract: what is not supported fails, at compile time where the syntax
 * shows it ("chat template: line L, column C: unsupported construct
 * 'macro'"), else at render time where the data decides (a method on a
 * value of an unexpected type, repr() of a non-ASCII string inside a list,
 * a case change of non-ASCII text), naming it with its line and column.
 * It does not render what jinja2 would render differently, as far as
 * test_chat shows. Limits: tags and brackets nest 128 deep, operator chains
 * 2000 long, values built while rendering 500 deep, output 256 MiB.
 *
 * strftime_now is there, as in transformers: a template that calls it (Llama
 * 3.2's, when no date_string is given) renders the day it runs.
 *
 * Not here: macros, call blocks, include/import/extends, set blocks,
 * filter blocks, `%` string formatting, autoescape, the map filter. JSON
 * numbers from cJSON are ints when integral (|x| < 2^53), floats otherwise
 * (cJSON keeps no difference): a message field written 1.0 prints as 1,
 * where Python prints 1.0. */
#ifndef CHAT_TEMPLATE_H
#define CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/ft_error.h"

typedef struct chat_template chat_template;

typedef struct chat_render_opts {
    bool add_generation_prompt;
    const char *bos_token; /* NULL: the name is undefined, as in transformers
                              when the tokenizer has none */
    const char *eos_token; /* NULL: undefined */
    const cJSON *extra;    /* NULL or an object: more variables (tools,
                              documents, ...); tools and documents are none
                              unless given, as transformers passes them */
} chat_render_opts;

/* Compile source[0..len). NULL on failure, with err saying
 * "chat template: line L, column C: ..." (FT_EINVAL) or FT_ENOMEM. */
chat_template *chat_template_compile(const char *source, size_t len, ft_error *err);

/* Render `messages` (a JSON array of message objects), first changed as
 * apply_chat_template changes them (chat_messages.c: keys whose value is
 * null dropped, reasoning_content/thinking/reasoning aliased; the caller's
 * cJSON is not touched). On success *out is a
 * NUL-terminated malloc'd string (free() it) of *out_len bytes. A template's
 * raise_exception('text') returns FT_EINVAL with err->msg exactly "text";
 * other failures say "chat template: line L, column C: ...". */
ft_status chat_template_render(const chat_template *t, const cJSON *messages,
                               const chat_render_opts *o, char **out, size_t *out_len,
                               ft_error *err);

/* A compiled template is not changed by rendering: threads may render the
 * same one at once. chat_template_free(NULL) does nothing. */
void chat_template_free(chat_template *t);

#endif
