/* ckpt_impl.h: what ckpt.c and ckpt_dir.c share. */
#ifndef CKPT_IMPL_H
#define CKPT_IMPL_H

#include <hdf5.h>

/* Silence HDF5's own error stack printing (our messages say it better). */
void ckpt_hdf5_quiet(void);

#endif
