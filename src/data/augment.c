/* augment.c: Inception crop, flip, eval resize/center-crop, antialiased
 * bilinear resampling and normalisation (see augment.h).
 *
 * Resampling is separable: a horizontal pass over only the rows the vertical
 * taps touch (into float scratch, rows x out_w x 3), then a vertical pass
 * that writes normalised floats.  The filter is Pillow's bilinear: tap
 * weight tri((x + 0.5 - center) / fs) with tri(t) = max(0, 1 - |t|),
 * fs = max(1, in/out) and support fs on each side, weights normalised to
 * sum 1; center of output pixel i is x0 + (i + 0.5) * (x1 - x0) / out.
 */
#include "data/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/png.h"
#include "util/mem.h"

void rl_augment_config_default(rl_augment_config *c, int size)
{
    memset(c, 0, sizeof *c);
    c->size = size;
    c->eval_resize_ratio = 0.875;
    c->min_area = 0.08;
    c->max_area = 1.0;
    c->min_aspect = 3.0 / 4.0;
    c->max_aspect = 4.0 / 3.0;
    c->flip_prob = 0.5;
    c->dct_scale_train = 1;
    c->dct_scale_eval = 0;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(c->mean, mean, sizeof mean);
    memcpy(c->std, std, sizeof std);
}

/* Python's int(round(v)) for v >= 0: round half to even (rint in the default mode). */
static int py_round(double v)
{
    return (int)rint(v);
}

rl_crop rl_augment_random_crop(int width, int height, const rl_augment_config *c, rl_rng *rng)
{
    double area = (double)width * height;
    double la = log(c->min_aspect), lb = log(c->max_aspect);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (c->min_area + (c->max_area - c->min_area) * rl_rng_uniform_double(rng));
        double aspect = exp(la + (lb - la) * rl_rng_uniform_double(rng));
        int w = py_round(sqrt(target * aspect)), h = py_round(sqrt(target / aspect));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            rl_crop r = {0, 0, w, h};
            r.y = (int)rl_rng_below(rng, (uint32_t)(height - h + 1));
            r.x = (int)rl_rng_below(rng, (uint32_t)(width - w + 1));
            return r;
        }
    }
    /* Fallback: the largest centred crop within the aspect limits. */
    double in_ratio = (double)width / height;
    rl_crop r = {0, 0, width, height};
    if (in_ratio < c->min_aspect)
        r.h = py_round(width / c->min_aspect);
    else if (in_ratio > c->max_aspect)
        r.w = py_round(height * c->max_aspect);
    r.y = (height - r.h) / 2;
    r.x = (width - r.w) / 2;
    return r;
}

rl_view rl_augment_train_view(int width, int height, const rl_augment_config *c, rl_rng *rng)
{
    rl_crop k = rl_augment_random_crop(width, height, c, rng);
    rl_view v = {k.x, k.y, k.x + k.w, k.y + k.h, k.x, k.y, k.x + k.w, k.y + k.h, 0};
    v.flip = rl_rng_uniform_double(rng) < c->flip_prob;
    return v;
}

rl_view rl_augment_eval_view(int width, int height, const rl_augment_config *c)
{
    int rs = (int)lround(c->size / c->eval_resize_ratio);
    int rw, rh;
    /* torchvision: the shorter side becomes rs, the longer int(rs * long / short). */
    if (width <= height) {
        rw = rs;
        rh = (int)((double)rs * height / width);
    } else {
        rh = rs;
        rw = (int)((double)rs * width / height);
    }
    /* CenterCrop: offset int(round((resized - size) / 2.0)), half to even. */
    int left = py_round((rw - c->size) / 2.0), top = py_round((rh - c->size) / 2.0);
    double sx = (double)width / rw, sy = (double)height / rh;
    rl_view v = {left * sx, top * sy, (left + c->size) * sx, (top + c->size) * sy, 0, 0, width, height, 0};
    return v;
}

rl_view rl_augment_scale_view(const rl_view *v, int width, int height, int scaled_w, int scaled_h)
{
    double sx = (double)scaled_w / width, sy = (double)scaled_h / height;
    rl_view s = *v;
    s.x0 = v->x0 * sx;
    s.x1 = v->x1 * sx;
    s.y0 = v->y0 * sy;
    s.y1 = v->y1 * sy;
    s.lo_x = (int)floor(v->lo_x * sx);
    s.lo_y = (int)floor(v->lo_y * sy);
    s.hi_x = (int)ceil(v->hi_x * sx);
    s.hi_y = (int)ceil(v->hi_y * sy);
    if (s.hi_x > scaled_w) s.hi_x = scaled_w;
    if (s.hi_y > scaled_h) s.hi_y = scaled_h;
    if (s.hi_x <= s.lo_x) s.hi_x = s.lo_x + 1;
    if (s.hi_y <= s.lo_y) s.hi_y = s.lo_y + 1;
    return s;
}

int rl_augment_pick_scale(const rl_view *v, int size)
{
    /* The box shrinks to n/8 of its size; stop at the first n that keeps >= size.
     * libjpeg-turbo has SIMD IDCTs for 8/8 and the reduced 4/8, 2/8, 1/8 only;
     * its 5/8..7/8 IDCTs are plain C and slower than a full decode (500x375,
     * measured: n=1 1.39 ms, 3 1.77, 4 1.72, 5 2.57, 6 2.68, 7 3.34, 8 1.99 ms),
     * so those cases decode at full size. */
    double bw = v->x1 - v->x0, bh = v->y1 - v->y0;
    for (int n = 1; n < 5; n++)
        if (bw * n >= 8.0 * size && bh * n >= 8.0 * size) return n;
    return 8;
}

/* Filter taps for one axis: output i reads input first[i] .. first[i]+count[i]-1
 * with weights w[i*kmax ...].  Returns the widest window K (<= kmax). */
static int make_taps(double b0, double b1, int lo, int hi, int out_n, int *first, int *count, float *w, int kmax)
{
    double scale = (b1 - b0) / out_n;
    double fs = scale < 1.0 ? 1.0 : scale;
    double support = fs; /* bilinear support is 1, widened for downscaling */
    RL_CHECK((int)ceil(support) * 2 + 1 <= kmax);
    int K = 1;
    for (int i = 0; i < out_n; i++) {
        double center = b0 + (i + 0.5) * scale;
        int a = (int)floor(center - support + 0.5), b = (int)floor(center + support + 0.5);
        if (a < lo) a = lo;
        if (b > hi) b = hi;
        if (b <= a) { /* only for degenerate boxes at an edge: take the nearest pixel */
            a = center < lo ? lo : center >= hi ? hi - 1 : (int)center;
            b = a + 1;
        }
        first[i] = a;
        count[i] = b - a;
        if (b - a > K) K = b - a;
    }
    /* With a window of exactly K taps for every output (zero weights padding
     * the real ones, shifted to stay inside [lo, hi)), the inner loops have a
     * constant trip count; adding zero products leaves the sums bitwise equal. */
    int fixed = hi - lo >= K;
    for (int i = 0; i < out_n; i++) {
        double center = b0 + (i + 0.5) * scale;
        int a = first[i], n = count[i];
        double sum = 0.0;
        for (int t = 0; t < n; t++) {
            double d = fabs((a + t - center + 0.5) / fs);
            sum += d < 1.0 ? 1.0 - d : 0.0;
        }
        float *k = w + (size_t)i * kmax;
        int f = a;
        if (fixed) {
            if (f + K > hi) f = hi - K;
            for (int t = 0; t < K; t++)
                k[t] = 0.0f;
            first[i] = f;
            count[i] = K;
        }
        for (int t = 0; t < n; t++) {
            double d = fabs((a + t - center + 0.5) / fs);
            k[a - f + t] = (float)(sum > 0.0 ? (d < 1.0 ? 1.0 - d : 0.0) / sum : 1.0 / n);
        }
    }
    return K;
}

/* One row of the horizontal pass: dst[i] = sum_t w[i][t] * src[first[i] + t - x0]
 * per channel (src holds image columns x0.. as floats).  Called with a constant K where possible so the tap loop
 * unrolls; K = 0 means "use count[i]". */
static inline void hpass_row(const float *src, int x0, float *dst, int out_w, const int *first, const int *count,
                             const float *w, int kstride, const int K)
{
    for (int i = 0; i < out_w; i++) {
        const float *k = w + (size_t)i * kstride;
        const float *p = src + (size_t)(first[i] - x0) * 3;
        const int n = K ? K : count[i];
        float r = 0, g = 0, b = 0;
        for (int t = 0; t < n; t++) {
            r += k[t] * p[3 * t];
            g += k[t] * p[3 * t + 1];
            b += k[t] * p[3 * t + 2];
        }
        dst[3 * i] = r;
        dst[3 * i + 1] = g;
        dst[3 * i + 2] = b;
    }
}

rl_status rl_augment_resample(const rl_image *img, const rl_view *v, int out_w, int out_h, const float mean[3],
                              const float std[3], float *out, rl_error *err)
{
    /* A window has at most 2*ceil(fs)+1 taps, fs the shrink factor.  Bound it
     * so a damaged header (65535 x 65535) cannot ask for gigabytes of taps. */
    double fsx = (v->x1 - v->x0) / out_w, fsy = (v->y1 - v->y0) / out_h;
    if (!(fsx < 4096 && fsy < 4096))
        return rl_fail(err, RL_ERR_ARG, "resample: %.0fx shrink is beyond the 4096x the filter supports",
                       fsx > fsy ? fsx : fsy);
    int kx = (int)ceil(fsx < 1 ? 1 : fsx) * 2 + 1, ky = (int)ceil(fsy < 1 ? 1 : fsy) * 2 + 1;
    size_t nbytes =
        sizeof(float) * ((size_t)out_w * kx + (size_t)out_h * ky) + sizeof(int) * 2 * (size_t)(out_w + out_h);
    char *mem = malloc(nbytes);
    if (!mem) return rl_fail(err, RL_ERR_NOMEM, "resample: out of memory for %zu bytes of filter taps", nbytes);
    float *wx = (float *)mem, *wy = wx + (size_t)out_w * kx;
    int *fx = (int *)(wy + (size_t)out_h * ky), *cx = fx + out_w, *fy = cx + out_w, *cy = fy + out_h;
    int Kx = make_taps(v->x0, v->x1, v->lo_x, v->hi_x, out_w, fx, cx, wx, kx);
    make_taps(v->y0, v->y1, v->lo_y, v->hi_y, out_h, fy, cy, wy, ky);

    /* Rows the vertical pass reads. */
    int ya = fy[0], yb = fy[0] + cy[0];
    for (int i = 1; i < out_h; i++) {
        if (fy[i] < ya) ya = fy[i];
        if (fy[i] + cy[i] > yb) yb = fy[i] + cy[i];
    }
    /* (yb-ya, out_w, 3) horizontal-pass rows, then one source row [lo_x, hi_x) as
     * float: converting once lets the tap loop run on floats (2x faster). */
    size_t span = (size_t)(v->hi_x - v->lo_x) * 3;
    float *rows = malloc(sizeof(float) * ((size_t)(yb - ya) * (size_t)out_w * 3 + span));
    if (!rows) {
        free(mem);
        return rl_fail(err, RL_ERR_NOMEM, "resample: out of memory for %d x %d scratch rows", yb - ya, out_w);
    }
    const int W = img->width;
    int fixed = 1; /* every window has Kx taps (see make_taps) */
    for (int i = 0; i < out_w; i++)
        fixed &= cx[i] == Kx;
    float *frow = rows + (size_t)(yb - ya) * out_w * 3; /* column lo_x at frow[0] */
    for (int y = ya; y < yb; y++) {
        const uint8_t *in = img->pixels + (size_t)y * W * 3 + (size_t)v->lo_x * 3;
        for (size_t e = 0; e < span; e++)
            frow[e] = in[e];
        float *dst = rows + (size_t)(y - ya) * out_w * 3;
        switch (fixed ? Kx : 0) {
        case 2: hpass_row(frow, v->lo_x, dst, out_w, fx, cx, wx, kx, 2); break;
        case 3: hpass_row(frow, v->lo_x, dst, out_w, fx, cx, wx, kx, 3); break;
        case 4: hpass_row(frow, v->lo_x, dst, out_w, fx, cx, wx, kx, 4); break;
        case 5: hpass_row(frow, v->lo_x, dst, out_w, fx, cx, wx, kx, 5); break;
        case 7: hpass_row(frow, v->lo_x, dst, out_w, fx, cx, wx, kx, 7); break;
        default: hpass_row(frow, v->lo_x, dst, out_w, fx, cx, wx, kx, 0); break;
        }
    }
    float sc[3], sh[3];
    for (int c = 0; c < 3; c++) {
        sc[c] = 1.0f / (255.0f * std[c]);
        sh[c] = -mean[c] / std[c];
    }
    const size_t stride = (size_t)out_w * 3;
    for (int j = 0; j < out_h; j++) {
        const float *k = wy + (size_t)j * ky;
        const float *base = rows + (size_t)(fy[j] - ya) * stride;
        float *o = out + (size_t)j * stride;
        for (size_t e = 0; e < stride; e++)
            o[e] = 0.0f;
        for (int t = 0; t < cy[j]; t++) {
            const float *r = base + (size_t)t * stride;
            const float kt = k[t];
            for (size_t e = 0; e < stride; e++)
                o[e] += kt * r[e];
        }
        for (int i = 0; i < out_w; i++)
            for (int c = 0; c < 3; c++)
                o[3 * i + c] = o[3 * i + c] * sc[c] + sh[c];
        if (v->flip)
            for (int i = 0; i < out_w / 2; i++)
                for (int c = 0; c < 3; c++) {
                    float t = o[3 * i + c];
                    o[3 * i + c] = o[3 * (out_w - 1 - i) + c];
                    o[3 * (out_w - 1 - i) + c] = t;
                }
    }
    free(rows);
    free(mem);
    return RL_OK;
}

/* PNG fallback: full decode, same views and resampling. */
static rl_status augment_png(const uint8_t *data, size_t n, const char *name, const rl_augment_config *c, uint64_t seed,
                             int epoch, int64_t index, int train, float *out, rl_error *err)
{
    rl_image img = {0};
    rl_status st = rl_png_decode(data, n, name, &img, err);
    if (st) return st;
    rl_view v;
    if (train) {
        rl_rng rng = rl_rng_make(seed, (uint64_t)epoch, (uint64_t)index);
        v = rl_augment_train_view(img.width, img.height, c, &rng);
    } else {
        v = rl_augment_eval_view(img.width, img.height, c);
    }
    st = rl_augment_resample(&img, &v, c->size, c->size, c->mean, c->std, out, err);
    if (st) rl_error_prefix(err, "%s", name);
    rl_image_free(&img);
    return st;
}

rl_status rl_augment_jpeg(const uint8_t *data, size_t n, const char *name, const rl_augment_config *c, uint64_t seed,
                          int epoch, int64_t index, int train, float *out, rl_error *err)
{
    if (rl_png_is(data, n)) return augment_png(data, n, name, c, seed, epoch, index, train, out, err);
    rl_jpeg *j;
    rl_status st = rl_jpeg_open(&j, data, n, name, err);
    if (st) return st;
    int w, h;
    rl_jpeg_info(j, &w, &h, NULL);
    rl_view v;
    if (train) {
        rl_rng rng = rl_rng_make(seed, (uint64_t)epoch, (uint64_t)index);
        v = rl_augment_train_view(w, h, c, &rng);
    } else {
        v = rl_augment_eval_view(w, h, c);
    }
    rl_image img = {0};
    int scaled = train ? c->dct_scale_train : c->dct_scale_eval;
    st = rl_jpeg_decode(j, scaled ? rl_augment_pick_scale(&v, c->size) : 8, &img, err);
    rl_jpeg_close(j);
    if (st) return st;
    rl_view sv = rl_augment_scale_view(&v, w, h, img.width, img.height);
    st = rl_augment_resample(&img, &sv, c->size, c->size, c->mean, c->std, out, err);
    if (st) rl_error_prefix(err, "%s", name);
    rl_image_free(&img);
    return st;
}
