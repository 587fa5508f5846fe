/* h5image.h: an HDF5 file built in memory, then written atomically.
 *
 * HDF5 writing straight to disk handles a full disk badly: the file whose
 * H5Fclose failed stays open inside the library, whose exit handler then
 * retries the flush and can crash.  Building the file with HDF5's core
 * driver (no backing store) keeps every HDF5 call in memory; the finished
 * image is then written by util/fs.h's atomic commit, where a full disk is
 * one checked write() error, the temporary file is removed, the target is
 * untouched and nothing is left open.  The cost is one copy of the file in
 * memory while it is written (a ResNet-50 checkpoint: 200 MB).
 *
 * Usage: f = rl_h5image_create(path, err); rl_h5_write_*(f, ...);
 * rl_h5image_commit(f, path, err) (always closes f) or rl_h5image_discard(f).
 * One thread per image; HDF5 itself is not re-entrant.
 */
#ifndef RL_H5IMAGE_H
#define RL_H5IMAGE_H

#include <hdf5.h>

#include "util/status.h"

/* A new empty in-memory file; path only names it in messages.  -1 on failure. */
hid_t rl_h5image_create(const char *path, rl_error *err);
/* Writes the image of f to path atomically and closes f. */
rl_status rl_h5image_commit(hid_t f, const char *path, rl_error *err);
/* Closes f without writing anything. */
void rl_h5image_discard(hid_t f);

#endif
