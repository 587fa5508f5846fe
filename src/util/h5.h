/* h5.h: checked HDF5 helpers shared by weight files, checkpoints, predictions
 * and packed shards.  Every call reports the file and dataset it failed on.
 * HDF5's own error stack printing is turned off by rl_h5_quiet(); relab's
 * messages replace it. */
#ifndef RL_H5_H
#define RL_H5_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

void rl_h5_quiet(void);

/* Opens read-only; a missing file, or one that is not HDF5 (e.g. truncated), is
 * an error naming path.  Returns a file id >= 0 or -1. */
hid_t rl_h5_open_read(const char *path, rl_error *err);
/* Creates a file to be written atomically on disk (util/fs.h): at
 * rl_fs_temp_path(path), written to tmp (n bytes); the caller closes it and
 * commits it with rl_fs_commit, or removes it.  For files too large to build
 * in memory (util/h5image.h), such as packed shards.  HDF5 does not survive
 * a full disk (a file whose close failed crashes the library at exit), so
 * this refuses, naming the numbers, when the disk has less than about twice
 * need_bytes (what the caller will write through HDF5) plus 64 KiB free. */
hid_t rl_h5_create(const char *path, long long need_bytes, char *tmp, size_t n, rl_error *err);

/* Writes a float32 dataset of rank dims (rank 0 = scalar) at name, creating
 * intermediate groups ("a/b/c"). */
rl_status rl_h5_write_f32(hid_t file, const char *name, int rank, const int64_t *dims, const float *data,
                          const char *path, rl_error *err);
rl_status rl_h5_write_i64(hid_t file, const char *name, int rank, const int64_t *dims, const int64_t *data,
                          const char *path, rl_error *err);
rl_status rl_h5_write_i32(hid_t file, const char *name, int rank, const int64_t *dims, const int32_t *data,
                          const char *path, rl_error *err);
/* A variable-length UTF-8 string dataset (scalar) or attribute-like text. */
rl_status rl_h5_write_string(hid_t file, const char *name, const char *text, const char *path, rl_error *err);

/* A compressed dataset may expand at most this much (deflate reaches ~1000:1
 * only on constant data; relab's own files are not compressed). */
#define RL_H5_MAX_RATIO 256.0
#define RL_H5_MAX_RATIO_TEXT "256"

/* Shape of a dataset: *rank and dims[0..rank) (max 8).  A missing name, a
 * group, external or virtual storage, and a dataset whose declared size the
 * file does not store (never written, or compressed beyond RL_H5_MAX_RATIO)
 * are errors naming the file and dataset, so callers may allocate by the
 * shape. */
rl_status rl_h5_shape(hid_t file, const char *name, int *rank, int64_t *dims, const char *path, rl_error *err);
int rl_h5_exists(hid_t file, const char *name);

/* Reads a dataset whose element count must equal count (converted to the
 * requested type by HDF5 within its class: integers to integers, floats to
 * floats; a float where integers are read is refused, never truncated). */
rl_status rl_h5_read_f32(hid_t file, const char *name, float *out, int64_t count, const char *path, rl_error *err);
rl_status rl_h5_read_i64(hid_t file, const char *name, int64_t *out, int64_t count, const char *path, rl_error *err);
rl_status rl_h5_read_i32(hid_t file, const char *name, int32_t *out, int64_t count, const char *path, rl_error *err);
/* Reads a scalar string dataset (variable- or fixed-length) into a malloc'ed,
 * NUL-terminated buffer the caller frees; an array of strings is refused. */
rl_status rl_h5_read_string(hid_t file, const char *name, char **out, const char *path, rl_error *err);

/* Checks, in the file's bytes, the global-heap storage of the variable-length
 * strings of dataset dset (opened from file, which is at path) before HDF5
 * reads them: HDF5 1.10 trusts the sizes stored there and crashes on a damaged
 * one.  Compact and chunked datasets are left to HDF5. */
rl_status rl_h5_check_vlen(hid_t file, hid_t dset, const char *name, const char *path, rl_error *err);

/* Lists every dataset in the file (full names without the leading '/'), calling
 * fn for each in HDF5's link order; stops and returns fn's status if non-zero. */
typedef int (*rl_h5_visit_fn)(const char *name, void *ctx);
rl_status rl_h5_list_datasets(hid_t file, rl_h5_visit_fn fn, void *ctx, const char *path, rl_error *err);

#endif
