/* augment.h: ImageNet train augmentation and eval transform, fused with
 * DCT-scaled JPEG decoding.
 *
 * Train (Szegedy et al. 2015 "Going deeper with convolutions", as in
 * torchvision's RandomResizedCrop + RandomHorizontalFlip): a crop of 8%-100%
 * of the image area with aspect ratio log-uniform in [3/4, 4/3]; 10 attempts,
 * then torchvision's fallback (the whole image clipped to the aspect limits,
 * centred); horizontal flip with p = 0.5; resize to size x size.
 * Eval: resize the shorter side to round(size / ratio) (256 for 224 and the
 * usual 0.875, longer side truncated as torchvision does), center crop size.
 * Both end with ((x / 255) - mean) / std per channel, written as floats HWC.
 *
 * Resizing is bilinear with Pillow's antialiasing: the triangle filter is
 * widened by the downscale factor, so a 2x shrink averages 4 taps instead of
 * aliasing.  This is what torchvision does on PIL images, so relab matches it;
 * the difference is that relab keeps the intermediate (horizontal pass) in
 * float where Pillow rounds to uint8, and that it resizes from the JPEG decoded
 * at scale n/8 (the smallest scale where the crop still has >= size pixels
 * each way) instead of from the full-size image (train only, by default).
 *
 * Randomness: everything a sample draws comes from rl_rng_make(seed, epoch,
 * index), in a fixed order (crop, then flip), so it does not depend on threads.
 * All functions are reentrant.
 */
#ifndef RL_AUGMENT_H
#define RL_AUGMENT_H

#include <stddef.h>
#include <stdint.h>
#include "data/jpeg.h"
#include "util/rng.h"
#include "util/status.h"

typedef struct {
    int size;                      /* output side (224) */
    double eval_resize_ratio;      /* eval resizes the shorter side to round(size/ratio); (0, 1], 0.875 */
    double min_area, max_area;     /* crop area fraction limits, 0.08 and 1 */
    double min_aspect, max_aspect; /* crop w/h limits, 3/4 and 4/3 (drawn log-uniform) */
    double flip_prob;              /* 0.5; 0 disables the flip */
    float mean[3], std[3];         /* per channel on [0,1] values; ImageNet's by default */
    /* Decode at the smallest covering DCT scale n/8 (1) or at full size (0).
     * Train defaults to 1 (3-5x faster decode; augmentation is random anyway).
     * Eval defaults to 0 so it equals torchvision within rounding: the 4/8
     * IDCT is a sharper low-pass than Pillow's filter and moves pixels near
     * hard edges by up to ~11/255 (mean ~0.4/255), measured in tests/test_augment. */
    int dct_scale_train, dct_scale_eval;
} rl_augment_config;

/* Fills c with the defaults above for output side size. */
void rl_augment_config_default(rl_augment_config *c, int size);

/* A crop in full-size image pixels. */
typedef struct {
    int x, y, w, h;
} rl_crop;

/* torchvision RandomResizedCrop.get_params on a width x height image. */
rl_crop rl_augment_random_crop(int width, int height, const rl_augment_config *c, rl_rng *rng);

/* What to resample: the box [x0,x1) x [y0,y1) (image pixels, may be
 * fractional) becomes the output; filter taps stay inside the integer bounds
 * [lo_x,hi_x) x [lo_y,hi_y) (the crop for train, the whole image for eval,
 * as if the image had been cropped or resized first).  flip mirrors the output. */
typedef struct {
    double x0, y0, x1, y1;
    int lo_x, lo_y, hi_x, hi_y;
    int flip;
} rl_view;

/* The train view of image i: crop then flip, drawn from rng. */
rl_view rl_augment_train_view(int width, int height, const rl_augment_config *c, rl_rng *rng);
/* The eval view: Resize(round(size/ratio)) then CenterCrop(size), torchvision's geometry. */
rl_view rl_augment_eval_view(int width, int height, const rl_augment_config *c);

/* The same view on the image decoded at a smaller size (scaled_w x scaled_h
 * instead of width x height). */
rl_view rl_augment_scale_view(const rl_view *v, int width, int height, int scaled_w, int scaled_h);

/* The smallest DCT scale n/8 at which the view still has >= size pixels each
 * way, where n is 1..4 or 8 (5..7 are slower than a full decode; augment.c). */
int rl_augment_pick_scale(const rl_view *v, int size);

/* Resamples v of img to out_w x out_h (bilinear, antialiased), normalises
 * with mean/std and OVERWRITES out (out_h*out_w*3 floats, HWC).  Allocates
 * scratch memory; RL_ERR_NOMEM is the only failure. */
rl_status rl_augment_resample(const rl_image *img, const rl_view *v, int out_w, int out_h, const float mean[3],
                              const float std[3], float *out, rl_error *err);

/* The whole sample pipeline on encoded bytes (JPEG; PNG is decoded at full
 * size by the png.h fallback, then the same views): read the header, pick the view
 * (train: from rl_rng_make(seed, epoch, index); eval: fixed), decode at the
 * smallest covering scale, resample, normalise into out (size*size*3 floats).
 * name is for messages.  Decoding errors are RL_ERR_FORMAT naming it. */
rl_status rl_augment_jpeg(const uint8_t *data, size_t n, const char *name, const rl_augment_config *c, uint64_t seed,
                          int epoch, int64_t index, int train, float *out, rl_error *err);

#endif
