/* jpeg.h: JPEG decoding to RGB with libjpeg-turbo's DCT scaling, and encoding.
 *
 * libjpeg-turbo can decode at scale n/8 (n = 1..8) by running a smaller
 * inverse DCT per 8x8 block, which is several times faster than decoding at
 * full size and then shrinking.  The pipeline asks for the smallest n whose
 * decoded image still covers what the resize needs (rl_jpeg_pick_scale).
 * A decoded image at scale n/8 is ceil(W*n/8) x ceil(H*n/8) (libjpeg's
 * jdiv_round_up rule).
 *
 * Output: RGB uint8, HWC (row-major, 3 bytes per pixel, stride 3*width).
 * Colour spaces: YCbCr/RGB decode to RGB; grayscale is replicated into R=G=B;
 * CMYK and YCCK (Adobe files as in ImageNet store inverted CMYK) are decoded
 * as CMYK and converted the way Pillow's convert('RGB') does, so both give
 * the same bytes.  Defaults match Pillow: slow integer IDCT, fancy upsampling.
 *
 * Errors: libjpeg's error_exit is replaced by a longjmp back into relab, so a
 * corrupt file returns RL_ERR_FORMAT naming it instead of exiting (the one
 * libjpeg error handler in relab, for decoding and encoding).  The
 * "premature end of JPEG file" warning (truncated data, which libjpeg would
 * pad with grey) is an error too; other warnings are ignored as Pillow does.
 * A PNG (ImageNet's train set has one named .JPEG) or any other non-JPEG is
 * rejected before libjpeg sees it, with a message saying what it looks like.
 *
 * Thread safety: every function is reentrant; one rl_jpeg belongs to one thread.
 */
#ifndef RL_JPEG_H
#define RL_JPEG_H

#include <stddef.h>
#include <stdint.h>
#include "util/status.h"

/* A decoded image: pixels is malloc'ed, owned by the holder, freed by
 * rl_image_free (which leaves it empty).  pixels[(y*width + x)*3 + c]. */
typedef struct {
    uint8_t *pixels;
    int width, height;
} rl_image;

void rl_image_free(rl_image *img);

/* An open decoder over an in-memory JPEG (the bytes are borrowed, not copied,
 * and must outlive the decoder). */
typedef struct rl_jpeg rl_jpeg;

/* Reads the header of data[0..size).  name is only used in messages (a path or
 * "shard:index").  On success *out holds the decoder; close it with
 * rl_jpeg_close.  Non-JPEG input and a corrupt header are RL_ERR_FORMAT. */
rl_status rl_jpeg_open(rl_jpeg **out, const uint8_t *data, size_t size, const char *name, rl_error *err);

/* Full-size dimensions and the number of components in the file
 * (1 grayscale, 3 YCbCr/RGB, 4 CMYK/YCCK). */
void rl_jpeg_info(const rl_jpeg *j, int *width, int *height, int *components);

/* Decodes at scale scale_num/8 (1..8) into *out (RGB HWC).  Can be called
 * once per rl_jpeg.  Corrupt or truncated data is RL_ERR_FORMAT naming the file. */
rl_status rl_jpeg_decode(rl_jpeg *j, int scale_num, rl_image *out, rl_error *err);

/* NULL is a no-op. */
void rl_jpeg_close(rl_jpeg *j);

/* The decoded size at scale n/8: ceil(size*n/8). */
static inline int rl_jpeg_scaled(int size, int n)
{
    return (int)(((int64_t)size * n + 7) / 8);
}

/* The smallest n in 1..8 with rl_jpeg_scaled(width, n) >= need_w and
 * rl_jpeg_scaled(height, n) >= need_h; 8 when even full size is smaller
 * (the resize then upsamples). */
int rl_jpeg_pick_scale(int width, int height, int need_w, int need_h);

/* Convenience: open + decode at the smallest scale whose output is at least
 * min_w x min_h (0, 0 = full size) + close. */
rl_status rl_jpeg_decode_mem(const uint8_t *data, size_t size, int min_w, int min_h, const char *name, rl_image *out,
                             rl_error *err);

/* Encodes an RGB HWC image (stride 3*width) as a baseline JPEG of the given
 * quality (1..100) without chroma subsampling (4:4:4: small and grey images
 * keep their colours) into *out, malloc'ed, *size bytes (caller frees).
 * name is only used in messages. */
rl_status rl_jpeg_encode(const uint8_t *rgb, int width, int height, int quality, const char *name, uint8_t **out,
                         size_t *size, rl_error *err);

/* Reads a whole file into a malloc'ed buffer (*data, caller frees).  A
 * missing or unreadable file is RL_ERR_IO naming path. */
rl_status rl_read_file(const char *path, uint8_t **data, size_t *size, rl_error *err);

#endif
