/* fuzz_h5: structured fuzzing of ftune's HDF5 readers (shard files,
 * checkpoints) at the layer ftune owns: the attributes and datasets it
 * looks up, their types, shapes and values.
 *
 * Design: a target writes one valid file with ftune's own writer (once per
 * process), and each input is a list of edits applied to a copy of it
 * through the HDF5 API: delete an attribute or a dataset of the target's
 * list, or replace it with one of another type (integers of 1 to 8 bytes,
 * signed or not, float, double, fixed or variable-length string), rank
 * (scalar to 3) and dimensions (0..16, or a power of two up to 2^62 with
 * no storage behind it; attributes of at most 4096 elements), filled with the input's bytes. So every input is
 * a well-formed HDF5 file and a crash is ftune's, not the HDF5 library's
 * handling of damaged bytes (which libhdf5's own fuzzing covers; an
 * uninstrumented system libhdf5 would hide its coverage from libFuzzer).
 * An empty input leaves the valid file as it is.
 *
 * Each edit is: byte 0: bit 0 attribute (0) or dataset (1), bits 1..7 the
 * index into the target's list (modulo its length); byte 1: 0 deletes,
 * else the kind (type = b % 11, rank = b / 11 % 4, variable-length
 * string when b / 44 is odd); then one byte per dimension (bit 7 set:
 * 2^(b & 63)); for strings one byte of length (0..63); then the values'
 * bytes (zeros where the input ends). */
#ifndef FUZZ_H5_H
#define FUZZ_H5_H

#include <stddef.h>
#include <stdint.h>

/* Apply the edits of data[0..size) to the HDF5 file at path. */
void fuzz_h5_edit(const char *path, const uint8_t *data, size_t size, const char *const *attrs,
                  size_t n_attrs, const char *const *dsets, size_t n_dsets);

#endif
