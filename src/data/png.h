/* png.h: a small PNG decoder (zlib inflate + the five PNG row filters), the
 * fallback for PNG files in image folders (ImageNet's train set has one PNG
 * named .JPEG, and the folder layout accepts *.png).
 *
 * Spec: PNG (Second Edition), W3C Recommendation / ISO/IEC 15948:2003.
 * Supported: every colour type (gray, RGB, palette, gray+alpha, RGBA), bit
 * depths 1-16, Adam7 interlacing.  Output is RGB uint8 HWC like
 * rl_jpeg_decode, converted the way Pillow's convert('RGB') does: alpha and
 * tRNS are dropped (not composited), gray of depth 1/2/4 is scaled to 0..255
 * (x255, x85, x17), 16-bit samples keep their high byte, palette indices past
 * the palette's end are black.  (Pillow clips 16-bit grayscale instead; relab
 * keeps the high byte.)  Chunk CRCs are checked, so a damaged file is an
 * error naming it, never a crash.
 *
 * Reentrant; no global state.
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
