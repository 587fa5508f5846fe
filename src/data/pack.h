/* pack.h: packed HDF5 shards of encoded images, and an rl_source reading them.
 *
 * A cluster reads a few large files instead of 1.28M small ones.  Each shard
 * PREFIX-%05d.h5 holds the ORIGINAL encoded bytes (no re-encoding, so a
 * packed sample decodes to exactly the same pixels) and an index:
 *   format        string "relab-pack 1"
 *   shard, num_shards, first_index, total_count   int64 scalars
 *   num_classes   int32 scalar;  classes  string, class names joined by '\n' ("" if unknown)
 *   bytes         uint8  [B]  the files back to back, one contiguous dataset
 *   offsets       int64  [n]  start of sample k in bytes;  lengths int64 [n]
 *   labels        int32  [n]  primary label;  names string, ids joined by '\n'
 *   multi_offsets int64 [n+1], multi_classes int32 [..]   only when multi-hot
 * Sample k of shard s is global sample first_index + k, the same index as in
 * the source that was packed, so augmentation draws (seed, epoch, index) and
 * the samples are bitwise identical to reading the folder.
 *
 * The reader takes each shard's "bytes" file address once (H5Dget_offset) and
 * then reads samples with pread(), so get() never calls HDF5 (not thread-safe
 * in Debian's build) and is safe from several threads.
 */
#ifndef RL_PACK_H
#define RL_PACK_H

#include <stdint.h>
#include "data/augment.h"
#include "data/source.h"
#include "util/status.h"

/* Progress callback for rl_pack_write (may be NULL): samples done of total. */
typedef void (*rl_pack_progress)(int64_t done, int64_t total, void *ctx);

/* Packs every sample of src (an rl_imagenet_open source) into shards of at
 * most shard_bytes of image data each (a single larger file gets a shard of
 * its own).  Writes PREFIX-00000.h5 ...; *num_shards receives the count.
 * A file whose size changed since it was scanned is an error (stale cache). */
rl_status rl_pack_write(const rl_source *src, const char *prefix, int64_t shard_bytes, int *num_shards,
                        rl_pack_progress progress, void *ctx, rl_error *err);

/* The path of shard k: PREFIX-%05d.h5 into buf. */
const char *rl_pack_shard_path(const char *prefix, int k, char *buf, size_t n);

/* Opens PREFIX-00000.h5 .. PREFIX-(num_shards-1).h5 as a source whose get()
 * applies the transforms in aug (copied).  Missing or inconsistent shards are
 * errors naming the shard. */
rl_status rl_pack_open(rl_source **out, const char *prefix, const rl_augment_config *aug, rl_error *err);

/* The class name (WNID) of class c stored in the shards, or NULL. */
const char *rl_pack_class_name(const rl_source *s, int c);

#endif
