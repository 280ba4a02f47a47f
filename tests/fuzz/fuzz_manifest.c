/* fuzz_manifest: a prepared dataset's manifest.json
 * (src/shard/shard_manifest.c). The input is the file, read from a folder
 * with shard_manifest_read. An accepted manifest is written back with
 * shard_manifest_to_json and must read again to the same facts (the round
 * trip ftune-shard and ftune-train rely on). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "shard/shard.h"

static void check_round_trip(const shard_manifest *m)
{
    char *json = shard_manifest_to_json(m);
    fuzz_require(json != NULL, "shard_manifest_to_json failed");
    free(fuzz_write_file("manifest.json", json, strlen(json)));
    free(json);
    shard_manifest back;
    ft_error err;
    fuzz_require(shard_manifest_read(fuzz_temp_dir(), &back, &err) == FT_OK,
                 "a manifest shard_manifest_to_json wrote does not read again");
    fuzz_require(back.n_labels == m->n_labels && back.n_files == m->n_files &&
                     back.max_length == m->max_length && back.vocab_size == m->vocab_size &&
                     back.seed == m->seed && back.n_sources == m->n_sources &&
                     !strcmp(back.tokenizer_fingerprint, m->tokenizer_fingerprint),
                 "manifest: the round trip changed the facts");
    for (int i = 0; i < m->n_labels; i++)
        fuzz_require(!strcmp(back.labels[i], m->labels[i]),
                     "manifest: the round trip changed a label");
    for (int i = 0; i < m->n_files; i++)
        fuzz_require(!strcmp(back.files[i].name, m->files[i].name) &&
                         back.files[i].rows == m->files[i].rows &&
                         back.files[i].crc32 == m->files[i].crc32,
                     "manifest: the round trip changed a file entry");
    shard_manifest_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    free(fuzz_write_file("manifest.json", data, size));
    shard_manifest m;
    ft_error err;
    if (shard_manifest_read(fuzz_temp_dir(), &m, &err) == FT_OK) {
        check_round_trip(&m);
        shard_manifest_free(&m);
    } else {
        fuzz_require(err.msg[0] != '\0', "shard_manifest_read failed without a message");
    }
    return 0;
}
