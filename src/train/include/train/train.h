/* train: data-parallel fine-tuning of a sequence classifier, or of a
 * decoder LLM on a causal_lm dataset (the manifest's task decides), the
 * library side of ftune-train.
 *
 * One MPI rank per model replica. Each optimizer step reads its global batch
 * from the sampler (a pure function of seed, epoch and step), runs
 * gradient_accumulation_steps micro-batches of per_device_train_batch_size
 * rows per rank, all-reduces the gradients in buckets started during the
 * last micro-batch's backward (comm), clips, and takes an AdamW step with
 * Trainer's schedule (optim). Dropout masks are keyed by (seed, step,
 * example index), so they do not depend on the rank that holds an example.
 * A decoder's loss is normalised as Trainer's with num_items_in_batch: the
 * token losses of the whole global batch over the tokens it counts
 * (train_loop.c, global_lm_tokens); its evaluation reports the mean token
 * loss and perplexity. Packed causal_lm rows are refused (the attention does
 * not keep segments apart yet).
 * After every step one small all-reduce sums the loss, the token count and
 * the stop flag that SIGUSR1/SIGTERM set: all ranks see the same flag at the
 * same step boundary, rank 0 writes a checkpoint, and train_run returns
 * FT_EREQUEUE (exit 3). A restart resumes from the newest checkpoint that
 * verifies, bit for bit on CPU with the same rank count.
 *
 * Everything that can be wrong in the input (config keys and values, model
 * folder, shards, tokenizer fingerprint, num_labels, output folder) is
 * checked before the first step, on every rank, and is FT_EINVAL /
 * FT_ENOTFOUND (exit 2).
 *
 * Not here: argv and exit codes (src/tools/train_main.c). */
#ifndef TRAIN_H
#define TRAIN_H

#include <mpi.h>
#include <stddef.h>

#include "core/cfg.h"
#include "core/ft_error.h"

/* The config keys (Hugging Face TrainingArguments names where one exists). */
const cfg_key_spec *train_key_specs(size_t *n);

/* Route SIGUSR1 and SIGTERM to the stop flag, through a thread of its own
 * (train_loop.c says why); call before any OpenMP region. */
void train_install_signal_handlers(void);
/* Send sig to this process (the test hooks' stop request): delivered to the
 * stop-signal thread, as Slurm's signals are. */
void train_signal_self(int sig);

/* Run the training the config describes. FT_OK when done (OUTPUT/final
 * exported), FT_EREQUEUE after a stop checkpoint, else an error in err. A
 * collective over world: every rank returns the same status. */
ft_status train_run(const cfg *c, MPI_Comm world, ft_error *err);

#endif
