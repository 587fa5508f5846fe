/* weights.h: model weights in HDF5, named and shaped like torchvision's state_dict.
 *
 * File format (docs/weights.md): one dataset per state_dict entry, named with
 * the key itself at the root of the file (or under a group prefix such as
 * "model/" inside a checkpoint): float32 in PyTorch's shapes and order
 * ((OC, C, KH, KW) for convs, (out, in) for fc), and `*.num_batches_tracked`
 * as an int64 scalar.  h5py reads and writes it in a few lines (see
 * scripts/relab_torch.py).  Reading is strict: a missing, extra or mis-shaped
 * tensor is refused with a message naming it.
 */
#ifndef RL_WEIGHTS_H
#define RL_WEIGHTS_H

#include <hdf5.h>

#include "nn/params.h"
#include "util/status.h"

/* Writes every entry of t under prefix ("" or "group/") into an open file. */
rl_status rl_weights_write(hid_t file, const char *prefix, const rl_param_table *t, const char *path, rl_error *err);

/* Reads every entry of t from datasets under prefix; any dataset under prefix
 * that t does not have is an error too. */
rl_status rl_weights_read(hid_t file, const char *prefix, rl_param_table *t, const char *path, rl_error *err);

/* Whole-file convenience: save writes path atomically (util/h5image.h: built
 * in memory, then temporary file, fsync, rename), so an existing file is never
 * left half-written and a full disk leaves it as it was. */
rl_status rl_weights_save(const char *path, const rl_param_table *t, rl_error *err);
rl_status rl_weights_load(const char *path, rl_param_table *t, rl_error *err);

#endif
