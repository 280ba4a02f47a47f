/* eval_data: the split ftune-eval scores, opened through the one data path
 * of src/shard (shard_reader: files in shard order, each checked against
 * the manifest when a cursor loads it), plus the checks that only an
 * evaluation needs: a split name from the command line, rows to score, and
 * a classifier's labels (a causal_lm split: unpacked or packed rows). Not here: MPI, the model. */
#include <string.h>

#include "eval_impl.h"

ft_status eval_split_open(const char *data_dir, const char *split_name, eval_split *s,
                          ft_error *err)
{
    memset(s, 0, sizeof *s);
    s->split = split_name ? shard_split_of_name(split_name) : SHARD_TEST;
    if (s->split < 0)
        return ft_fail(err, FT_EINVAL,
                       "--split: expected test or validation (or train), "
                       "got \"%s\"",
                       split_name);
    ft_status st = shard_manifest_read(data_dir, &s->manifest, err);
    if (st != FT_OK) return st;
    st = shard_manifest_fingerprint(data_dir, s->fingerprint, err);
    if (st == FT_OK) st = shard_reader_open(data_dir, &s->manifest, s->split, &s->reader, err);
    if (st == FT_OK && s->reader.rows == 0)
        st = ft_fail(err, FT_EINVAL,
                     "%s/manifest.json: the %s split has no rows "
                     "(prepare the dataset with a %s fraction above 0)",
                     data_dir, shard_split_name(s->split), shard_split_name(s->split));
    if (st == FT_OK && s->manifest.task != SHARD_TASK_CAUSAL_LM && s->manifest.n_labels < 2)
        st = ft_fail(err, FT_EINVAL,
                     "%s/manifest.json: %d label(s); a classifier needs "
                     "at least 2",
                     data_dir, s->manifest.n_labels);
    if (st != FT_OK) eval_split_free(s);
    return st;
}

void eval_split_free(eval_split *s)
{
    if (!s) return;
    shard_reader_close(&s->reader);
    shard_manifest_free(&s->manifest);
    memset(s, 0, sizeof *s);
}
