/* png.h: PNG decoding with libpng, the fallback for PNG files in image
 * folders (ImageNet's train set has one PNG named .JPEG, and the folder
 * layout accepts *.png).
 *
 * Every colour type, bit depths 1-16 and Adam7 interlacing.  Output is RGB
 * uint8 HWC like rl_jpeg_decode, converted the way Pillow's convert('RGB')
 * does: alpha and tRNS are dropped (not composited), gray of depth 1/2/4 is
 * scaled to 0..255 (x255, x85, x17), 16-bit samples keep their high byte.
 * (Pillow clips 16-bit grayscale instead; relab keeps the high byte.)
 * Critical-chunk CRCs are checked and the file is read up to IEND, so a
 * damaged or truncated file is an error naming it, never a crash; images of
 * more than 2^28 pixels are refused before allocating.
 *
 * Reentrant; no global state (libpng's errors longjmp to the caller's frame).
 */
#ifndef RL_PNG_H
#define RL_PNG_H

#include <stddef.h>
#include <stdint.h>
#include "data/jpeg.h"
#include "util/status.h"

/* 1 if data starts with the PNG signature. */
int rl_png_is(const uint8_t *data, size_t size);

/* Decodes data[0..size) into *out (RGB HWC, malloc'ed; rl_image_free).
 * name is for messages.  Errors are RL_ERR_FORMAT (or NOMEM) naming it. */
rl_status rl_png_decode(const uint8_t *data, size_t size, const char *name, rl_image *out, rl_error *err);

#endif
