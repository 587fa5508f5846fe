/* conv.c: convolution as im2col + sgemm in channels-last layout (see conv.h).
 *
 * Images are processed in chunks whose cols matrix fits a fixed budget, so one
 * GEMM covers many images (late layers with 7x7 maps need the batch in one
 * GEMM to keep OpenBLAS efficient) while early layers' cols stay bounded.
 *
 * The per-image loops hand out their images (runs, groups) one at a time as
 * threads come free (schedule(dynamic, 1)) rather than in fixed halves: on
 * a shared host, or beside the data loader's threads decoding the next batch,
 * one core is often slowed for a while, and a fixed split makes the other
 * wait for it at the end of every layer.  ResNet-50 training steps,
 * batch 32, the two schedules alternated in one process on a busy 2-core
 * Xeon (`SkylakeX`): 0.85-0.98 of the time by the best step, 0.90-0.97 by
 * the median (docs/performance.md, round 11).  Which thread runs an
 * iteration does not change a bit of the result: each writes only its own
 * images or its own group's partial, with single-threaded GEMMs. */
#include "nn/conv.h"

#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/winograd.h"
#include "util/blas.h"
#include "util/mem.h"
#include "util/status.h"

/* Budget for one chunk's cols matrix: 8M floats (32 MiB). */
#define COLS_BUDGET ((size_t)8 << 20)

rl_shape rl_conv_out_shape(const rl_conv *cv, rl_shape in)
{
    rl_shape out = {in.n, cv->out_c, (in.h + 2 * cv->pad - cv->k) / cv->stride + 1,
                    (in.w + 2 * cv->pad - cv->k) / cv->stride + 1};
    return out;
}

static int is_pointwise(const rl_conv *cv)
{
    return cv->k == 1 && cv->stride == 1 && cv->pad == 0;
}

static int is_winograd(const rl_conv *cv)
{
    return cv->algo == RL_CONV_WINOGRAD || cv->algo == RL_CONV_WINOGRAD_BLOCKS;
}

static size_t cols_per_image(const rl_conv *cv, rl_shape in)
{
    rl_shape out = rl_conv_out_shape(cv, in);
    return (size_t)out.h * out.w * cv->k * cv->k * cv->in_c;
}

/* Images per chunk: as many as fit the budget, at least one. */
static int chunk_images(const rl_conv *cv, rl_shape in)
{
    size_t per = cols_per_image(cv, in);
    size_t n = per ? COLS_BUDGET / per : (size_t)in.n;
    if (n < 1) n = 1;
    if (n > (size_t)in.n) n = (size_t)in.n;
    return (int)n;
}

void rl_conv_choose(rl_conv *cv, rl_shape in, int threads)
{
    const char *force = getenv("RELAB_CONV");
    rl_shape out = rl_conv_out_shape(cv, in);
    cv->threads = threads > 1 ? threads : 1;
    cv->algo = RL_CONV_BATCHED;
    if (force && !strcmp(force, "gemm")) return;
    if (is_pointwise(cv)) {
        /* forward and input gradient per image from 14x14 maps up: measured
         * 1.0-1.7x faster than one GEMM over the batch on ResNet-50's shapes
         * (not on 7x7 maps, where the batch GEMM wins) */
        if ((force && !strcmp(force, "image")) || (size_t)out.h * out.w >= 196) cv->algo = RL_CONV_PER_IMAGE;
        return;
    }
    if (force && !strcmp(force, "rows") && !is_pointwise(cv)) {
        cv->algo = RL_CONV_ROWS;
        return;
    }
    int winograd_ok = cv->k == 3 && cv->stride == 1 && cv->pad == 1;
    if (winograd_ok && force && (!strcmp(force, "winograd2") || !strcmp(force, "winograd4"))) {
        cv->algo = RL_CONV_WINOGRAD;
        cv->tile = force[8] - '0';
        return;
    }
    if (winograd_ok && force && (!strcmp(force, "winograd2b") || !strcmp(force, "winograd4b"))) {
        cv->algo = RL_CONV_WINOGRAD_BLOCKS;
        cv->tile = force[8] - '0';
        return;
    }
    /* F(4x4, 3x3) from 32 channels up: measured 1.7-2.4x faster than im2col
     * + GEMM over forward and both gradients on every ResNet-50 3x3 shape,
     * and since its transforms are written out (round 5) 1.1-2.6x faster
     * than kernel rows on the small networks' 32- and 64-channel layers
     * (batch 128, 7x7 to 32x32).  From 16 channels since round 8, when the
     * forward's GEMMs read U untransposed: 3x3 16->16 @28x28 and @32x32,
     * batch 128, 1.05-1.3x faster than kernel rows per pass on `SkylakeX`
     * and 1.5-2.2x on `Haswell`; whole training steps alternated in one
     * process, `Haswell` 8-14% faster (resnet8 and resnet20, 28x28x1 and
     * 32x32x3), `SkylakeX` resnet20 3.5-7% faster and resnet8 alike (its
     * rows fuse BN into their per-image loops, which blocks cannot). */
    if (winograd_ok && !force && cv->in_c >= 16 && cv->out_c >= 16) {
        /* by blocks of tiles per thread while the transformed kernel U (36 x
         * C x OC floats, read by every thread) stays small: 1.3-2x faster on
         * 64 channels, 1.15-1.2x on 256, slower on 512 (winograd.h) */
        cv->algo = (size_t)cv->in_c * cv->out_c <= 256 * 256 ? RL_CONV_WINOGRAD_BLOCKS : RL_CONV_WINOGRAD;
        cv->tile = 4;
        return;
    }
    /* Per image where a thread's GEMM is still big enough to run well on one
     * core (>= 196 output pixels): its cols stay in that core's cache, where
     * a batch's cols go through memory.  Measured on ResNet-50's stride-2
     * layers (fwd + dgrad + wgrad, batch 32): 3x3 128->128 @56x56 1.2x (AVX2)
     * and 1.4x (AVX-512) faster, 3x3 256->256 @28x28 and 1x1 256->512 @56x56
     * 1.06-1.16x; at 7x7 outputs the batched GEMM wins. */
    if ((force && !strcmp(force, "image")) || (size_t)out.h * out.w >= 196) cv->algo = RL_CONV_PER_IMAGE;
    /* 3x3 layers of at most 64 output channels not on Winograd (the small
     * networks' stride-2 layers and 3-channel stems), per image by kernel
     * rows instead of cols.  Measured over forward and both gradients, batch
     * 128, one thread (docs/performance.md, round 4): 16 and 32 channels at
     * 14x14 to 32x32, 1.04-1.15x faster than per image on Haswell kernels and
     * 1.28-1.49x on SkylakeX; stride 2 (16->32 @32x32, 32->64 @16x16 and
     * @14x14, against per image or the batched GEMM the last two had),
     * 1.02-1.18x and 1.12-1.45x.  Not for ResNet-50's 7x7 stem
     * (0.83-0.86x); ResNet-50's 3x3 stride-2 layers gain nothing
     * (1.00-1.03x).  Rows of depth K*C < 9 (the 1-channel stem, 1->16
     * @28x28, batch 128) only on cores with small-matrix kernels, which run
     * their GEMMs of depth 3 in place: forward 0.54-0.59x and weight
     * gradient 0.59-0.75x of per image's time on `SkylakeX`, 0.63-0.77x and
     * 0.66-0.78x on `Cooperlake` (whole resnet8 28x28x1 training steps
     * alternated in one process: 0.97-0.99); `Haswell` forward 0.75-0.86x
     * but weight gradient 1.15-1.28x, level together. */
    if (!force && cv->k == 3 && cv->out_c <= 64 && (cv->k * cv->in_c >= 9 || rl_blas_small_gemm()))
        cv->algo = RL_CONV_ROWS;
}

/* Per-image weight gradient: images fall into groups, each summed into its
 * own partial dw by single-threaded GEMMs, the partials then added in group
 * order.  WGRAD_GROUPS groups up to that many threads, so the result is the
 * same for any thread count up to 8.  Past 8 threads, one group per thread
 * (but no more groups than images): the groups are the units the threads
 * share out in the weight gradient, the per-image 1x1 layers' fused backward
 * and their forward (image_runs), and with 8 of them a rank of 32 threads
 * ran those on 8.  The result then depends on the thread count, as
 * OpenBLAS's own threaded GEMMs do (docs/design.md, "Determinism"). */
#define WGRAD_GROUPS 8

/* Groups for a batch of n images; never more for a smaller batch, so the
 * workspace sized for the largest batch holds their partials. */
static int wgrad_groups(const rl_conv *cv, int n)
{
    if (cv->threads <= WGRAD_GROUPS || n <= WGRAD_GROUPS) return WGRAD_GROUPS;
    return cv->threads < n ? cv->threads : n;
}

/* RL_CONV_ROWS: R holds the H + 2P padded input rows, each as OW windows of
 * K*C floats, in S phases (rows_at) of rows_per_phase rows each. */
static size_t rows_per_phase(const rl_conv *cv, rl_shape in)
{
    return (size_t)((in.h + 2 * cv->pad + cv->stride - 1) / cv->stride);
}

static size_t rows_per_image(const rl_conv *cv, rl_shape in)
{
    rl_shape out = rl_conv_out_shape(cv, in);
    return (size_t)cv->stride * rows_per_phase(cv, in) * out.w * cv->k * cv->in_c;
}

size_t rl_conv_workspace_floats(const rl_conv *cv, rl_shape in)
{
    if (is_pointwise(cv)) /* the per-image weight gradient's partials */
        return cv->algo == RL_CONV_PER_IMAGE
                   ? (size_t)wgrad_groups(cv, in.n) * rl_round_floats((size_t)cv->out_c * cv->in_c)
                   : 0;
    if (is_winograd(cv)) return rl_winograd_workspace_floats(cv, in, cv->tile);
    size_t batched = (size_t)chunk_images(cv, in) * cols_per_image(cv, in);
    size_t slice = cv->algo == RL_CONV_ROWS ? rows_per_image(cv, in) : cols_per_image(cv, in);
    size_t per_image = (size_t)(cv->threads > 1 ? cv->threads : 1) * rl_round_floats(slice) +
                       (size_t)wgrad_groups(cv, in.n) * rl_round_floats((size_t)cv->out_c * cv->k * cv->k * cv->in_c);
    return (cv->algo == RL_CONV_PER_IMAGE || cv->algo == RL_CONV_ROWS) && per_image > batched ? per_image : batched;
}

/* cols row of output row oh of one image xn: (ow, kh, kw, c) for every ow.
 * In NHWC the K pixels of one kernel row are K*C contiguous floats, so a
 * window inside the image is K row copies; only border windows go pixel by
 * pixel (with few channels, per-pixel copies cost more than the data). */
static void im2col_row(const rl_conv *cv, rl_shape in, rl_shape out, const float *xn, int oh, float *rows)
{
    const int C = in.c, K = cv->k, S = cv->stride, P = cv->pad, KC = K * C;
    const size_t row_len = (size_t)K * KC;
    for (int ow = 0; ow < out.w; ow++) {
        float *row = rows + (size_t)ow * row_len;
        const int iw0 = ow * S - P, inside = iw0 >= 0 && iw0 + K <= in.w;
        for (int kh = 0; kh < K; kh++) {
            int ih = oh * S - P + kh;
            float *dst = row + (size_t)kh * KC;
            if (ih < 0 || ih >= in.h) {
                memset(dst, 0, sizeof(float) * KC);
                continue;
            }
            const float *src = xn + ((size_t)ih * in.w + iw0) * C;
            if (inside) {
                for (int i = 0; i < KC; i++)
                    dst[i] = src[i];
                continue;
            }
            for (int kw = 0; kw < K; kw++) {
                float *d = dst + (size_t)kw * C;
                if (iw0 + kw < 0 || iw0 + kw >= in.w)
                    for (int c = 0; c < C; c++)
                        d[c] = 0;
                else
                    for (int c = 0; c < C; c++)
                        d[c] = src[(size_t)kw * C + c];
            }
        }
    }
}

/* cols rows for images [n0, n0+nn): row (n, oh, ow), columns (kh, kw, c). */
static void im2col(const rl_conv *cv, rl_shape in, rl_shape out, const float *x, int n0, int nn, float *cols)
{
    const size_t row_len = (size_t)cv->k * cv->k * in.c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < nn; n++)
        for (int oh = 0; oh < out.h; oh++)
            im2col_row(cv, in, out, x + (size_t)(n0 + n) * in.h * in.w * in.c, oh,
                       cols + ((size_t)n * out.h + oh) * out.w * row_len);
}

/* dxn (one image) += scatter of its cols (kernel rows inside the image as
 * K*C contiguous floats, as in im2col_row). */
static void col2im_image(const rl_conv *cv, rl_shape in, rl_shape out, const float *cols, float *dxn)
{
    const int C = in.c, K = cv->k, S = cv->stride, P = cv->pad, KC = K * C;
    const size_t row_len = (size_t)K * KC;
    for (int oh = 0; oh < out.h; oh++)
        for (int ow = 0; ow < out.w; ow++) {
            const float *row = cols + ((size_t)oh * out.w + ow) * row_len;
            const int iw0 = ow * S - P, inside = iw0 >= 0 && iw0 + K <= in.w;
            for (int kh = 0; kh < K; kh++) {
                int ih = oh * S - P + kh;
                if (ih < 0 || ih >= in.h) continue;
                float *d = dxn + ((size_t)ih * in.w + iw0) * C;
                const float *s = row + (size_t)kh * KC;
                if (inside) {
                    for (int i = 0; i < KC; i++)
                        d[i] += s[i];
                    continue;
                }
                for (int kw = 0; kw < K; kw++) {
                    if (iw0 + kw < 0 || iw0 + kw >= in.w) continue;
                    for (int c = 0; c < C; c++)
                        d[(size_t)kw * C + c] += s[(size_t)kw * C + c];
                }
            }
        }
}

/* dx[images n0..n0+nn) += scatter of dcols.  Parallel over images: their dx
 * regions are disjoint, so no two threads add into the same element. */
static void col2im_add(const rl_conv *cv, rl_shape in, rl_shape out, const float *cols, int n0, int nn, float *dx)
{
    const size_t per_image = (size_t)out.h * out.w * cv->k * cv->k * in.c, image = (size_t)in.h * in.w * in.c;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < nn; n++)
        col2im_image(cv, in, out, cols + (size_t)n * per_image, dx + (size_t)(n0 + n) * image);
}

/* Padded rows r = ih + P of R are stored by phase r mod S, then r / S, so
 * that output rows oh = 0, 1, ... of kernel row kh (padded rows S oh + kh)
 * are consecutive rows of R starting at rows_at(kh). */
static size_t rows_at(const rl_conv *cv, rl_shape in, int r)
{
    return (size_t)(r % cv->stride) * rows_per_phase(cv, in) + (size_t)(r / cv->stride);
}

/* R of one image xn (RL_CONV_ROWS): padded row r holds input row ih = r - P
 * as OW windows of K pixels (K*C floats, zero outside the image). */
static void rows_image(const rl_conv *cv, rl_shape in, rl_shape out, const float *xn, float *r)
{
    const int C = in.c, K = cv->k, S = cv->stride, P = cv->pad, KC = K * C;
    const size_t row_len = (size_t)out.w * KC;
    for (int ri = 0; ri < in.h + 2 * P; ri++) {
        const int ih = ri - P;
        float *dst = r + rows_at(cv, in, ri) * row_len;
        if (ih < 0 || ih >= in.h) {
            memset(dst, 0, sizeof(float) * row_len);
            continue;
        }
        const float *src_row = xn + (size_t)ih * in.w * C;
        for (int ow = 0; ow < out.w; ow++, dst += KC) {
            const int iw0 = ow * S - P;
            const float *src = src_row + (ptrdiff_t)iw0 * C;
            if (iw0 >= 0 && iw0 + K <= in.w) {
                for (int i = 0; i < KC; i++)
                    dst[i] = src[i];
                continue;
            }
            for (int kw = 0; kw < K; kw++)
                for (int c = 0; c < C; c++)
                    dst[kw * C + c] = iw0 + kw < 0 || iw0 + kw >= in.w ? 0.0f : src[kw * C + c];
        }
    }
}

/* dxn (one image) += the taps of dR (rows_image's layout; its padding rows
 * and the taps outside the image are dropped). */
static void rows_scatter_image(const rl_conv *cv, rl_shape in, rl_shape out, const float *dr, float *dxn)
{
    const int C = in.c, K = cv->k, S = cv->stride, P = cv->pad, KC = K * C;
    const size_t row_len = (size_t)out.w * KC;
    for (int ih = 0; ih < in.h; ih++) {
        const float *s = dr + rows_at(cv, in, ih + P) * row_len;
        float *d_row = dxn + (size_t)ih * in.w * C;
        for (int ow = 0; ow < out.w; ow++, s += KC) {
            const int iw0 = ow * S - P;
            float *d = d_row + (ptrdiff_t)iw0 * C;
            if (iw0 >= 0 && iw0 + K <= in.w) {
                for (int i = 0; i < KC; i++)
                    d[i] += s[i];
                continue;
            }
            for (int kw = 0; kw < K; kw++)
                if (iw0 + kw >= 0 && iw0 + kw < in.w)
                    for (int c = 0; c < C; c++)
                        d[kw * C + c] += s[kw * C + c];
        }
    }
}

/* Forward GEMMs of layers with at most this many output channels read the
 * weights transposed, W^T (K*K*C x OC), so that B is untransposed: OpenBLAS
 * 0.3.21 runs such small GEMMs on its small-matrix kernels on `SkylakeX` and
 * `Cooperlake` 1.6x faster that way (784-1024 pixels x 16 channels, depth
 * 48) and 2.4-3x at depth 3-9 (the small networks' stems), single-threaded,
 * Intel Xeon; alike on `Haswell`, which has no such kernels.  W^T of these
 * layers is at most 64 x 9 x 64 floats, so transposing it on every call
 * costs little. */
#define WEIGHTS_BY_COLUMNS_MAX_OC 64

/* wt = W^T (K*K*C rows of OC), in the workspace the weight gradient's
 * partials take in backward (rl_conv_workspace_floats leaves room for
 * wgrad_groups of them, at least WGRAD_GROUPS). */
static const float *weights_by_columns(const rl_conv *cv, float *wt)
{
    const int OC = cv->out_c, KKC = cv->k * cv->k * cv->in_c;
    for (int o = 0; o < OC; o++)
        for (int i = 0; i < KKC; i++)
            wt[(size_t)i * OC + o] = cv->w[(size_t)o * KKC + i];
    return wt;
}

/* RL_CONV_ROWS forward: y_n = sum over kh of R_n[OH rows from rows_at(kh)]
 * W_kh^T, W_kh^T the K*C rows of W^T for kernel row kh (weights_by_columns:
 * these layers have at most 64 output channels, unless forced). */
static void forward_rows(const rl_conv *cv, rl_shape in, rl_shape out, const float *x, float *y, float *ws,
                         const rl_conv_prologue *before, const rl_conv_epilogue *then)
{
    const int OC = cv->out_c, KC = cv->k * cv->in_c, M = out.h * out.w;
    const size_t slice = rl_round_floats(rows_per_image(cv, in)), image = (size_t)in.h * in.w * in.c;
    const size_t row_len = (size_t)out.w * KC;
    const float *wt = weights_by_columns(cv, ws + slice * (size_t)cv->threads);
#pragma omp parallel num_threads(cv->threads)
    {
        float *r = ws + slice * (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int n = 0; n < in.n; n++) {
            if (before) before->fn(before->ctx, n, n + 1);
            rows_image(cv, in, out, x + (size_t)n * image, r);
            for (int kh = 0; kh < cv->k; kh++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, OC, KC, 1.0f,
                            r + rows_at(cv, in, kh) * row_len, KC, wt + (size_t)kh * KC * OC, OC, kh ? 1.0f : 0.0f,
                            y + (size_t)n * M * OC, OC);
            if (then) then->fn(then->ctx, n, y + (size_t)n * M * OC);
        }
    }
}

/* RL_CONV_ROWS input gradient: dR_n[OH rows from rows_at(kh)] += dy_n W_kh,
 * then scattered into dx_n (zeroed first unless accumulating, by the thread
 * that then adds into it while it is in cache).  Kernel row 0 writes the
 * first OH rows of R; the rest is zeroed first for the others to add into. */
static void backward_data_rows(const rl_conv *cv, rl_shape in, rl_shape out, const float *dy, float *dx, int accumulate,
                               float *ws)
{
    const int OC = cv->out_c, KC = cv->k * cv->in_c, KKC = cv->k * KC, M = out.h * out.w;
    const size_t slice = rl_round_floats(rows_per_image(cv, in)), image = (size_t)in.h * in.w * in.c;
    const size_t row_len = (size_t)out.w * KC, total = rows_per_image(cv, in);
#pragma omp parallel num_threads(cv->threads)
    {
        float *r = ws + slice * (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int n = 0; n < in.n; n++) {
            memset(r + (size_t)out.h * row_len, 0, sizeof(float) * (total - (size_t)out.h * row_len));
            for (int kh = 0; kh < cv->k; kh++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, KC, OC, 1.0f, dy + (size_t)n * M * OC, OC,
                            cv->w + (size_t)kh * KC, KKC, kh ? 1.0f : 0.0f, r + rows_at(cv, in, kh) * row_len, KC);
            if (!accumulate) memset(dx + (size_t)n * image, 0, sizeof(float) * image);
            rows_scatter_image(cv, in, out, r, dx + (size_t)n * image);
        }
    }
}

/* Output rows per GEMM of RL_CONV_PER_IMAGE forward and weight gradient.
 * An image's cols are built and multiplied in bands of 128K floats (512 KiB,
 * within a core's L2) when the weights are small enough (<= 32K floats) for
 * each band's GEMM to repack them at little cost: ResNet's 7x7 stem (7.4 MB
 * of cols per image), forward 25.7 -> 22.2 ms (SkylakeX), 37.6 -> 36.1 ms
 * (Haswell), batch 32; its weight gradient 60 -> 54 ms (Cooperlake, Zen 4;
 * bands of 2-8x that size no better).  Larger weights (the stride-2 3x3
 * layers) lost 8-60% in bands. */
static int band_rows(const rl_conv *cv, rl_shape out)
{
    const size_t kkc = (size_t)cv->k * cv->k * cv->in_c, row = (size_t)out.w * kkc;
    if ((size_t)cv->out_c * kkc > ((size_t)1 << 15)) return out.h;
    size_t b = ((size_t)1 << 17) / row;
    return b < 1 ? 1 : b > (size_t)out.h ? out.h : (int)b;
}

/* Rows per call that keep a GEMM of `cols` columns and depth `depth` (B
 * untransposed) on OpenBLAS's small-matrix kernels (util/blas.h), where
 * pieces of at least 32 rows do: 0 for one call.  ResNet-50's 7x7
 * stem (64 x 147, pieces of 106 pixels): its forward GEMMs 1.37x and its
 * weight gradient's 1.17x faster single-threaded on `SkylakeX` (the weight
 * gradient cut along its depth, the pixels); `Haswell`, without such
 * kernels, 0.91-0.96x, so only where the core has them. */
static int small_gemm_rows(int cols, int depth)
{
    const int rows = rl_blas_small_gemm_rows(cols, depth);
    return rows >= 32 && rl_blas_small_gemm() ? rows : 0;
}

/* RL_CONV_PER_IMAGE forward: y_n = cols_n * W^T, one image per thread at a
 * time.  OpenBLAS runs a GEMM called inside a parallel region on the calling
 * thread alone. */
static void forward_per_image(const rl_conv *cv, rl_shape in, rl_shape out, const float *x, float *y, float *ws,
                              const rl_conv_prologue *before, const rl_conv_epilogue *then)
{
    const int OC = cv->out_c, KKC = cv->k * cv->k * cv->in_c, M = out.h * out.w;
    const size_t slice = rl_round_floats((size_t)M * KKC), image = (size_t)in.h * in.w * in.c;
    const int band = band_rows(cv, out);
    const float *wt = OC <= WEIGHTS_BY_COLUMNS_MAX_OC ? weights_by_columns(cv, ws + slice * (size_t)cv->threads) : NULL;
    const int piece = wt ? small_gemm_rows(OC, KKC) : 0;
#pragma omp parallel num_threads(cv->threads)
    {
        float *cols = ws + slice * (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int n = 0; n < in.n; n++) {
            float *yn = y + (size_t)n * M * OC;
            if (before) before->fn(before->ctx, n, n + 1);
            for (int oh0 = 0; oh0 < out.h; oh0 += band) {
                const int nh = out.h - oh0 < band ? out.h - oh0 : band, rows = nh * out.w;
                for (int oh = oh0; oh < oh0 + nh; oh++)
                    im2col_row(cv, in, out, x + (size_t)n * image, oh, cols + (size_t)(oh - oh0) * out.w * KKC);
                float *yb = yn + (size_t)oh0 * out.w * OC;
                for (int r0 = 0, step = piece ? piece : rows; r0 < rows; r0 += step)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, wt ? CblasNoTrans : CblasTrans,
                                rows - r0 < step ? rows - r0 : step, OC, KKC, 1.0f, cols + (size_t)r0 * KKC, KKC,
                                wt ? wt : cv->w, wt ? OC : KKC, 0.0f, yb + (size_t)r0 * OC, OC);
            }
            if (then) then->fn(then->ctx, n, yn);
        }
    }
}

/* Images [lo, hi) of weight-gradient group g (of `groups`) in a batch of n. */
static void group_images(int n, int groups, int g, int *lo, int *hi)
{
    *lo = (int)((long)n * g / groups);
    *hi = (int)((long)n * (g + 1) / groups);
}

/* dx (+)= dy W for `rows` rows (the pixels of one or more consecutive images)
 * of a 1x1 stride-1 layer. */
static void pointwise_dgrad_rows(const rl_conv *cv, int rows, const float *dy, float *dx, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cv->in_c, cv->out_c, 1.0f, dy, cv->out_c, cv->w,
                cv->in_c, accumulate ? 1.0f : 0.0f, dx, cv->in_c);
}

/* Images per GEMM of a per-image 1x1 layer: two below 392 pixels (14x14
 * maps), where OpenBLAS packing the weights again for every image costs as
 * much as packing the image: forward 1024->256 @14x14 19.0 -> 17.5 ms, input
 * gradient alike (bench/conv.c, batch 32, Cooperlake, Zen 4); four gain no
 * more. */
static int pointwise_images_per_gemm(int pixels)
{
    return pixels < 392 ? 2 : 1;
}

/* Starts of the runs of `per` consecutive images that one GEMM covers, taken
 * within each weight-gradient group (see group_images) so that the fused
 * backward and the separate routines cut the batch alike; start[count] = n.
 * start has room for n + 1 entries. */
static int image_runs(int n, int groups, int per, int *start)
{
    int count = 0;
    for (int g = 0; g < groups; g++) {
        int lo, hi;
        group_images(n, groups, g, &lo, &hi);
        for (int i = lo; i < hi; i += per)
            start[count++] = i;
    }
    start[count] = n;
    return count;
}

/* RL_CONV_PER_IMAGE 1x1 stride-1 convolution, one GEMM per run of images
 * (image_runs): forward y (+)= x W^T (in = x, out = y) followed by `then` on
 * each image, or with backward != 0 the input gradient dx (+)= dy W (in = dy,
 * out = dx); accumulate selects +=. */
static void pointwise_per_image(const rl_conv *cv, rl_shape in, const float *src, float *dst, int backward,
                                int accumulate, const rl_conv_prologue *before, const rl_conv_epilogue *then)
{
    const int C = cv->in_c, OC = cv->out_c, M = in.h * in.w;
    int start[in.n + 1];
    const int runs = image_runs(in.n, wgrad_groups(cv, in.n), pointwise_images_per_gemm(M), start);
#pragma omp parallel for schedule(dynamic, 1) num_threads(cv->threads)
    for (int r = 0; r < runs; r++) {
        const int n0 = start[r], rows = (start[r + 1] - n0) * M;
        if (before) before->fn(before->ctx, n0, start[r + 1]);
        if (backward) {
            pointwise_dgrad_rows(cv, rows, src + (size_t)n0 * M * OC, dst + (size_t)n0 * M * C, accumulate);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, OC, C, 1.0f, src + (size_t)n0 * M * C, C, cv->w, C,
                    accumulate ? 1.0f : 0.0f, dst + (size_t)n0 * M * OC, OC);
        if (then)
            for (int n = n0; n < start[r + 1]; n++)
                then->fn(then->ctx, n, dst + (size_t)n * M * OC);
    }
}

/* pg += the weight gradient of one image: dy_n^T cols_n (RL_CONV_PER_IMAGE),
 * or for RL_CONV_ROWS dW_kh += dy_n^T R_n[OH rows from rows_at(kh)] for each
 * kernel row; buf is the calling thread's slice of the workspace. */
static void image_weight_grad(const rl_conv *cv, rl_shape in, rl_shape out, const float *xn, const float *dyn,
                              float *buf, float *pg)
{
    const int OC = cv->out_c, KC = cv->k * cv->in_c, KKC = cv->k * KC, M = out.h * out.w;
    if (is_pointwise(cv)) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, KKC, M, 1.0f, dyn, OC, xn, KKC, 1.0f, pg, KKC);
        return;
    }
    if (cv->algo == RL_CONV_ROWS) {
        rows_image(cv, in, out, xn, buf);
        for (int kh = 0; kh < cv->k; kh++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, KC, M, 1.0f, dyn, OC,
                        buf + rows_at(cv, in, kh) * (size_t)out.w * KC, KC, 1.0f, pg + (size_t)kh * KC, KKC);
        return;
    }
    /* in the forward's bands of output rows (band_rows): the stem's cols
     * then stay in L2 between im2col and the GEMM */
    const int band = band_rows(cv, out), piece = small_gemm_rows(OC, KKC);
    for (int oh0 = 0; oh0 < out.h; oh0 += band) {
        const int nh = out.h - oh0 < band ? out.h - oh0 : band, rows = nh * out.w;
        for (int oh = oh0; oh < oh0 + nh; oh++)
            im2col_row(cv, in, out, xn, oh, buf + (size_t)(oh - oh0) * out.w * KKC);
        const float *dyb = dyn + (size_t)oh0 * out.w * OC;
        for (int r0 = 0, step = piece ? piece : rows; r0 < rows; r0 += step)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, KKC, rows - r0 < step ? rows - r0 : step, 1.0f,
                        dyb + (size_t)r0 * OC, OC, buf + (size_t)r0 * KKC, KKC, 1.0f, pg, KKC);
    }
}

/* dw += the `groups` partials (each `part` floats apart), in group order. */
static void sum_partials(const rl_conv *cv, const float *parts, size_t part, size_t count, int groups)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) {
        float s = 0;
        for (int g = 0; g < groups; g++)
            s += parts[(size_t)g * part + i];
        cv->dw[i] += s;
    }
}

/* RL_CONV_PER_IMAGE and RL_CONV_ROWS backward_weights: dw += sum over groups
 * of images of their gradients, each group in its own partial (see
 * wgrad_groups). */
static void backward_weights_per_image(const rl_conv *cv, rl_shape in, rl_shape out, const float *x, const float *dy,
                                       float *ws)
{
    const int OC = cv->out_c, KKC = cv->k * cv->k * cv->in_c, M = out.h * out.w;
    const size_t slice =
        is_pointwise(cv) ? 0
                         : rl_round_floats(cv->algo == RL_CONV_ROWS ? rows_per_image(cv, in) : cols_per_image(cv, in));
    const size_t image = (size_t)in.h * in.w * in.c, part = rl_round_floats((size_t)OC * KKC);
    const int groups = wgrad_groups(cv, in.n);
    float *parts = ws + slice * (size_t)(cv->threads > 1 ? cv->threads : 1);
#pragma omp parallel num_threads(cv->threads)
    {
        float *buf = ws + slice * (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < groups; g++) {
            float *pg = parts + (size_t)g * part;
            memset(pg, 0, sizeof(float) * part);
            int lo, hi;
            group_images(in.n, groups, g, &lo, &hi);
            for (int n = lo; n < hi; n++)
                image_weight_grad(cv, in, out, x + (size_t)n * image, dy + (size_t)n * M * OC, buf, pg);
        }
    }
    sum_partials(cv, parts, part, (size_t)OC * KKC, groups);
}

static int overlap(const float *a, size_t na, const float *b, size_t nb)
{
    uintptr_t a0 = (uintptr_t)a, a1 = (uintptr_t)(a + na), b0 = (uintptr_t)b, b1 = (uintptr_t)(b + nb);
    return na && nb && a0 < b1 && b0 < a1;
}

/* Both gradients of a per-image 1x1 convolution in one pass over the images:
 * each run of images' dy (image_runs) is read by their weight-gradient GEMMs
 * and their input-gradient GEMM back to back, while it is in cache, instead
 * of streaming the whole dy from memory twice.  The same calls, groups, runs
 * and order as the two routines, so bitwise their results. */
static void pointwise_backward_per_image(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *dx,
                                         int accumulate, float *ws, const rl_conv_prologue *before)
{
    const int C = cv->in_c, OC = cv->out_c, M = in.h * in.w, per = pointwise_images_per_gemm(M);
    const int groups = wgrad_groups(cv, in.n);
    const size_t part = rl_round_floats((size_t)OC * C);
#pragma omp parallel for schedule(dynamic, 1) num_threads(cv->threads)
    for (int g = 0; g < groups; g++) {
        float *pg = ws + (size_t)g * part;
        memset(pg, 0, sizeof(float) * part);
        int lo, hi;
        group_images(in.n, groups, g, &lo, &hi);
        for (int n0 = lo; n0 < hi; n0 += per) {
            const int n1 = n0 + per < hi ? n0 + per : hi;
            if (before) before->fn(before->ctx, n0, n1);
            for (int n = n0; n < n1; n++)
                image_weight_grad(cv, in, in, x + (size_t)n * M * C, dy + (size_t)n * M * OC, NULL, pg);
            pointwise_dgrad_rows(cv, (n1 - n0) * M, dy + (size_t)n0 * M * OC, dx + (size_t)n0 * M * C, accumulate);
        }
    }
    sum_partials(cv, ws, part, (size_t)OC * C, groups);
}

/* RL_CONV_PER_IMAGE backward_data: dcols_n = dy_n * W, scattered into dx_n. */
static void backward_data_per_image(const rl_conv *cv, rl_shape in, rl_shape out, const float *dy, float *dx, float *ws)
{
    const int OC = cv->out_c, KKC = cv->k * cv->k * cv->in_c, M = out.h * out.w;
    const size_t slice = rl_round_floats((size_t)M * KKC), image = (size_t)in.h * in.w * in.c;
#pragma omp parallel num_threads(cv->threads)
    {
        float *cols = ws + slice * (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int n = 0; n < in.n; n++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, KKC, OC, 1.0f, dy + (size_t)n * M * OC, OC, cv->w,
                        KKC, 0.0f, cols, KKC);
            col2im_image(cv, in, out, cols, dx + (size_t)n * image);
        }
    }
}

/* RL_CONV_BATCHED forward of a convolution that needs cols. */
static void forward_batched(const rl_conv *cv, rl_shape in, rl_shape out, const float *x, float *y, float *ws)
{
    const int OC = cv->out_c, KKC = cv->k * cv->k * cv->in_c, chunk = chunk_images(cv, in);
    const size_t per_image = (size_t)out.h * out.w;
    for (int n0 = 0; n0 < in.n; n0 += chunk) {
        int nn = in.n - n0 < chunk ? in.n - n0 : chunk;
        im2col(cv, in, out, x, n0, nn, ws);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(nn * per_image), OC, KKC, 1.0f, ws, KKC, cv->w, KKC,
                    0.0f, y + (size_t)n0 * per_image * OC, OC);
    }
}

/* RL_CONV_BATCHED weight gradient of a convolution that needs cols. */
static void backward_weights_batched(const rl_conv *cv, rl_shape in, rl_shape out, const float *x, const float *dy,
                                     float *ws)
{
    const int OC = cv->out_c, KKC = cv->k * cv->k * cv->in_c, chunk = chunk_images(cv, in);
    const size_t per_image = (size_t)out.h * out.w;
    for (int n0 = 0; n0 < in.n; n0 += chunk) {
        int nn = in.n - n0 < chunk ? in.n - n0 : chunk;
        im2col(cv, in, out, x, n0, nn, ws);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, KKC, (int)(nn * per_image), 1.0f,
                    dy + (size_t)n0 * per_image * OC, OC, ws, KKC, 1.0f, cv->dw, KKC);
    }
}

/* `then` on every image of y (per_image floats each), the images spread
 * over the threads: the epilogue of the algorithms that are not per image. */
static void then_each_image(const rl_conv_epilogue *then, int n, float *y, size_t per_image)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        then->fn(then->ctx, i, y + (size_t)i * per_image);
}

void rl_conv_forward_between(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws,
                             const rl_conv_prologue *before, const rl_conv_epilogue *then)
{
    RL_CHECK(in.c == cv->in_c);
    const int C = cv->in_c, OC = cv->out_c;
    rl_shape out = rl_conv_out_shape(cv, in);
    if (is_pointwise(cv) && cv->algo == RL_CONV_PER_IMAGE) {
        pointwise_per_image(cv, in, x, y, 0, 0, before, then);
        return;
    }
    if (cv->algo == RL_CONV_ROWS) {
        forward_rows(cv, in, out, x, y, ws, before, then);
        return;
    }
    if (cv->algo == RL_CONV_PER_IMAGE && !is_pointwise(cv)) {
        forward_per_image(cv, in, out, x, y, ws, before, then);
        return;
    }
    if (before) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < in.n; n++)
            before->fn(before->ctx, n, n + 1);
    }
    if (is_pointwise(cv))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rl_shape_rows(in), OC, C, 1.0f, x, C, cv->w, C, 0.0f,
                    y, OC);
    else if (is_winograd(cv))
        rl_winograd_forward(cv, in, cv->tile, x, y, ws);
    else
        forward_batched(cv, in, out, x, y, ws);
    if (then) then_each_image(then, in.n, y, (size_t)out.h * out.w * OC);
}

void rl_conv_forward_add(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws,
                         const rl_conv_epilogue *then)
{
    RL_CHECK(in.c == cv->in_c && is_pointwise(cv));
    (void)ws; /* a 1x1 forward needs none */
    if (cv->algo == RL_CONV_PER_IMAGE) {
        pointwise_per_image(cv, in, x, y, 0, 1, NULL, then);
        return;
    }
    const int OC = cv->out_c;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rl_shape_rows(in), OC, cv->in_c, 1.0f, x, cv->in_c, cv->w,
                cv->in_c, 1.0f, y, OC);
    if (then) then_each_image(then, in.n, y, (size_t)in.h * in.w * OC);
}

void rl_conv_forward_then(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws,
                          const rl_conv_epilogue *then)
{
    rl_conv_forward_between(cv, in, x, y, ws, NULL, then);
}

void rl_conv_forward(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws)
{
    rl_conv_forward_between(cv, in, x, y, ws, NULL, NULL);
}

void rl_conv_backward_weights(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *ws)
{
    const int C = cv->in_c, OC = cv->out_c;
    /* a 1x1 layer's weight gradient per image, summed in fixed groups, like
     * the others': 5-10% faster than one GEMM over the batch (whose depth is
     * the batch's pixels) on ResNet-50's 56x56 and 28x28 layers, alike on
     * 14x14 (bench/conv.c, both cores) */
    if (is_pointwise(cv) && cv->algo == RL_CONV_PER_IMAGE)
        backward_weights_per_image(cv, in, rl_conv_out_shape(cv, in), x, dy, ws);
    else if (is_pointwise(cv)) /* one GEMM over the batch */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, (int)rl_shape_rows(in), 1.0f, dy, OC, x, C, 1.0f,
                    cv->dw, C);
    else if (is_winograd(cv))
        rl_winograd_backward_weights(cv, in, cv->tile, x, dy, ws);
    else if (cv->algo == RL_CONV_PER_IMAGE || cv->algo == RL_CONV_ROWS)
        backward_weights_per_image(cv, in, rl_conv_out_shape(cv, in), x, dy, ws);
    else
        backward_weights_batched(cv, in, rl_conv_out_shape(cv, in), x, dy, ws);
}

void rl_conv_backward_after(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *dx, int accumulate,
                            float *ws, const rl_conv_prologue *before)
{
    rl_shape out = rl_conv_out_shape(cv, in);
    const size_t nx = rl_shape_count(in), ny = rl_shape_count(out);
    /* one pass only when writing dx cannot disturb what later images read
     * (the two routines one after the other allow dx over x, say) */
    if (dx && is_pointwise(cv) && cv->algo == RL_CONV_PER_IMAGE && !overlap(dx, nx, x, nx) &&
        !overlap(dx, nx, dy, ny) && !overlap(dx, nx, ws, rl_conv_workspace_floats(cv, in))) {
        pointwise_backward_per_image(cv, in, x, dy, dx, accumulate, ws, before);
        return;
    }
    if (before) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < in.n; n++)
            before->fn(before->ctx, n, n + 1);
    }
    rl_conv_backward_weights(cv, in, x, dy, ws);
    if (dx) rl_conv_backward_data(cv, in, dy, dx, accumulate, ws);
}

void rl_conv_backward(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *dx, int accumulate,
                      float *ws)
{
    rl_conv_backward_after(cv, in, x, dy, dx, accumulate, ws, NULL);
}

void rl_conv_backward_data(const rl_conv *cv, rl_shape in, const float *dy, float *dx, int accumulate, float *ws)
{
    rl_shape out = rl_conv_out_shape(cv, in);
    const int OC = cv->out_c, KKC = cv->k * cv->k * cv->in_c;
    if (is_pointwise(cv)) {
        if (cv->algo == RL_CONV_PER_IMAGE) {
            pointwise_per_image(cv, in, dy, dx, 1, accumulate, NULL, NULL);
            return;
        }
        int M = (int)rl_shape_rows(in);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, KKC, OC, 1.0f, dy, OC, cv->w, KKC,
                    accumulate ? 1.0f : 0.0f, dx, KKC);
        return;
    }
    if (is_winograd(cv)) {
        rl_winograd_backward_data(cv, in, cv->tile, dy, dx, accumulate, ws);
        return;
    }
    if (cv->algo == RL_CONV_ROWS) {
        backward_data_rows(cv, in, out, dy, dx, accumulate, ws);
        return;
    }
    if (!accumulate) memset(dx, 0, sizeof(float) * rl_shape_count(in));
    if (cv->algo == RL_CONV_PER_IMAGE) {
        backward_data_per_image(cv, in, out, dy, dx, ws);
        return;
    }
    const int chunk = chunk_images(cv, in);
    const size_t out_rows_per_image = (size_t)out.h * out.w;
    for (int n0 = 0; n0 < in.n; n0 += chunk) {
        int nn = in.n - n0 < chunk ? in.n - n0 : chunk;
        int M = (int)(nn * out_rows_per_image);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, KKC, OC, 1.0f,
                    dy + (size_t)n0 * out_rows_per_image * OC, OC, cv->w, KKC, 0.0f, ws, KKC);
        col2im_add(cv, in, out, ws, n0, nn, dx);
    }
}

void rl_conv_forward_reference(const rl_conv *cv, rl_shape in, const float *x, float *y)
{
    rl_shape out = rl_conv_out_shape(cv, in);
    const int C = in.c, K = cv->k;
    for (int n = 0; n < in.n; n++)
        for (int oh = 0; oh < out.h; oh++)
            for (int ow = 0; ow < out.w; ow++)
                for (int oc = 0; oc < cv->out_c; oc++) {
                    double acc = 0;
                    for (int kh = 0; kh < K; kh++)
                        for (int kw = 0; kw < K; kw++) {
                            int ih = oh * cv->stride - cv->pad + kh, iw = ow * cv->stride - cv->pad + kw;
                            if (ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
                            for (int c = 0; c < C; c++)
                                acc += (double)cv->w[(((size_t)oc * K + kh) * K + kw) * C + c] *
                                       x[(((size_t)n * in.h + ih) * in.w + iw) * C + c];
                        }
                    y[(((size_t)n * out.h + oh) * out.w + ow) * cv->out_c + oc] = (float)acc;
                }
}
