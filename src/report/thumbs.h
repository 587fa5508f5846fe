/* thumbs.h: thumbnails of training images for the report's gallery, found by
 * their sample id and encoded as PNG for a data: URI.
 *
 * An id is looked up, in this order, in each of the search roots:
 *   - IDX ("train-images-idx3-ubyte.gz#12", the ids Fashion-MNIST lists use):
 *     ROOT/train-images-idx3-ubyte.gz, image 12.  The picture is the
 *     file's own grey bytes at their size (28 x 28), not resampled;
 *   - a file: the id as a path, absolute, or relative to ROOT (lists give
 *     paths relative to the list's folder).  JPEG or PNG content;
 *   - pack shards (data/pack.h) ROOT-00000.h5 ...: the sample whose name
 *     equals the id or a trailing part of it after a '/' ("train/n01/x.JPEG"
 *     finds "n01/x.JPEG").
 * Photos become size x size RGB: the eval view with no margin (shorter side
 * resized to size, centre crop; augment.h's antialiased bilinear), so a
 * thumbnail is what the network saw, less the crop margin.
 *
 * IDX files and pack indexes are opened once and kept; a root that holds
 * neither is tried as a folder only.  A thumbnail set belongs to one thread.
 */
#ifndef RL_REPORT_THUMBS_H
#define RL_REPORT_THUMBS_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

typedef struct rl_thumbs rl_thumbs;

/* roots[0..nroots) are copied; size is the side of photo thumbnails (16..512). */
rl_status rl_thumbs_open(const char *const *roots, int nroots, int size, rl_thumbs **out, rl_error *err);

/* The PNG of sample id into *png (malloc'ed, caller frees; *n bytes) and its
 * size.  An id found nowhere is RL_ERR_IO naming the id and the roots tried;
 * an image that does not decode is RL_ERR_FORMAT naming its file. */
rl_status rl_thumbs_png(rl_thumbs *t, const char *id, uint8_t **png, size_t *n, int *width, int *height, rl_error *err);

/* NULL is a no-op. */
void rl_thumbs_close(rl_thumbs *t);

/* Encodes 8-bit pixels (channels 1 = grey or 3 = RGB, rows of width*channels
 * bytes) as PNG into *png (malloc'ed).  Only memory can run out. */
rl_status rl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **png, size_t *n,
                        rl_error *err);

#endif
