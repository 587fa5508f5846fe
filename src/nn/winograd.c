/* winograd.c: F(m x m, 3 x 3) convolution, forward and both gradients (see
 * winograd.h).  Transforms run per tile with the channels in the vector
 * lanes; the transformed-domain products are (m+2)^2 sgemm calls per chunk.
 *
 * Workspace: U (transformed kernel or its gradient, T x OC x C), V
 * (transformed input tiles, T x tiles x C_in) and M (transformed output, or
 * transformed dy for the weight gradient, T x tiles x C_out), T = (m+2)^2.
 *
 * The blocks and the weight gradient's groups go to threads one at a time
 * as they come free, for the reason conv.c gives for its per-image loops. */
#include "nn/winograd.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "util/blas.h"
#include "util/mem.h"
#include "util/status.h"

/* Floats of V and M per chunk of images (32 MiB, like im2col's cols). */
#define CHUNK_BUDGET ((size_t)8 << 20)

typedef struct {
    int m, a;        /* output tile m x m, input tile a x a, a = m + 2 */
    const float *bt; /* B^T, a x a */
    const float *g;  /* G, a x 3 */
    const float *at; /* A^T, m x a */
} tables;

/* Lavin & Gray's matrices; F(4x4) uses the points 0, +-1, +-2, infinity. */
static const float bt2[16] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const float g2[12] = {1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0, 0, 1};
static const float at2[8] = {1, 1, 1, 0, 0, 1, -1, -1};
static const float bt4[36] = {4, 0,  -5, 0, 1, 0, 0, -4, -4, 1,  1, 0, 0, 4, -4, -1, 1, 0,
                              0, -2, -1, 2, 1, 0, 0, 2,  -1, -2, 1, 0, 0, 4, 0,  -5, 0, 1};
static const float g4[18] = {1 / 4.f,  0,        0,       -1 / 6.f, -1 / 6.f,  -1 / 6.f, -1 / 6.f, 1 / 6.f, -1 / 6.f,
                             1 / 24.f, 1 / 12.f, 1 / 6.f, 1 / 24.f, -1 / 12.f, 1 / 6.f,  0,        0,       1};
static const float at4[24] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};

static tables tables_for(int m)
{
    RL_CHECK_MSG(m == 2 || m == 4, "Winograd tile must be 2 or 4");
    return m == 2 ? (tables){2, 4, bt2, g2, at2} : (tables){4, 6, bt4, g4, at4};
}

typedef struct {
    int th, tw, tiles_img, chunk, T;
    size_t u, v, mo; /* floats of U, V, M (each rounded) */
} geom;

static geom layout(const rl_conv *cv, rl_shape in, const tables *t)
{
    RL_CHECK(cv->k == 3 && cv->stride == 1 && cv->pad == 1 && in.c == cv->in_c);
    geom g;
    g.T = t->a * t->a;
    g.th = (in.h + t->m - 1) / t->m;
    g.tw = (in.w + t->m - 1) / t->m;
    g.tiles_img = g.th * g.tw;
    size_t per_image = (size_t)g.T * g.tiles_img * (cv->in_c + cv->out_c);
    size_t n = CHUNK_BUDGET / per_image;
    g.chunk = n < 1 ? 1 : n > (size_t)in.n ? in.n : (int)n;
    size_t tiles = (size_t)g.chunk * g.tiles_img;
    g.u = rl_round_floats((size_t)g.T * cv->in_c * cv->out_c);
    g.v = rl_round_floats((size_t)g.T * tiles * cv->in_c);
    g.mo = rl_round_floats((size_t)g.T * tiles * cv->out_c);
    return g;
}

/* ---- blocks of tiles, one block per thread at a time ----
 * RL_CONV_WINOGRAD_BLOCKS: each thread takes a block of BT tiles, transforms
 * them into its own V, runs the (m+2)^2 GEMMs single-threaded and transforms
 * its M back, all within its caches; only U is shared.  The weight gradient
 * sums the blocks of each of a fixed number of groups into the group's own
 * partial dU, then adds the partials in group order (up to PARTIALS_BUDGET).
 * Every block's and every group's result is then the same whatever the
 * thread count, up to 8 threads (WGRAD_GROUPS) and as many threads as
 * blocks (block_tiles_for). */

/* Tiles per block: the rows of each GEMM.  With 64 channels V and M take
 * 36 x 64 x 128 floats (1.2 MB) per thread; 48 to 128 measured alike on 64-
 * and 128-channel layers, 16 slower (more, smaller GEMM calls). */
#define BLOCK_TILES 64

/* BLOCK_TILES, or fewer where that keeps a block's GEMMs (tiles x C x OC)
 * on OpenBLAS's small-matrix kernels (util/blas.h): 3x3 128->128 @28x28,
 * batch 32, in blocks of 61 tiles rather than 64, forward 14.9 -> 11.9 ms,
 * input gradient 14.5 -> 11.9, weight gradient 18.9 -> 15.2 (Intel Xeon,
 * `SkylakeX`, 20 interleaved rounds in one process; on `Haswell`, which has
 * no such kernels, alike, so the rule does not ask for the core).
 * Not below 32 tiles: 256 channels would need 15, and 15-tile blocks ran
 * 1.15-1.2x slower than 64 (so did 30 tiles with the GEMMs split in two
 * halves of output channels, 1.02x). */
static int block_tiles(const rl_conv *cv)
{
    const int fit = rl_blas_small_gemm_rows(cv->in_c, cv->out_c);
    return fit >= 32 && fit < BLOCK_TILES ? fit : BLOCK_TILES;
}

/* Tiles per block for a call over `total` tiles: block_tiles, unless that
 * gives fewer blocks than threads; then blocks small enough for every
 * thread to have one, down to MIN_BLOCK_TILES.  A ResNet's 14x14 layers
 * have 16 tiles per image, so a rank of 32 threads on 32 images would
 * otherwise run them on 8 threads.  One thread on 16-tile blocks took
 * 0.96-1.28x the time of 64-tile blocks (3x3 256->256 @14x14, forward and
 * input gradient, `SkylakeX`, two runs), so there 32 threads with a block
 * each should finish 3-4x sooner than 8 (a model: these machines have two
 * cores; docs/performance.md, round 13).  With at least as many blocks as
 * threads (at 2 threads, more tiles than one block holds: 5 images at
 * 14x14), the blocks and the results are what they were. */
#define MIN_BLOCK_TILES 16

static int block_tiles_for(const rl_conv *cv, int total)
{
    const int bt = block_tiles(cv), threads = cv->threads > 1 ? cv->threads : 1;
    if ((total + bt - 1) / bt >= threads) return bt;
    const int even = (total + threads - 1) / threads;
    return even > MIN_BLOCK_TILES ? even : MIN_BLOCK_TILES;
}

#define WGRAD_GROUPS 8

static int groups_for(const rl_conv *cv)
{
    return cv->threads > WGRAD_GROUPS ? cv->threads : WGRAD_GROUPS;
}

/* The blocks' weight gradient keeps one partial dU (the size of U) per
 * group.  Past 8M floats of partials (32 MiB: 256 x 256 channels, whose 8
 * partials take 75 MB) writing and summing them costs more than the chunk
 * path's multi-threaded GEMMs over all the chunk's tiles (K = the tiles, no
 * partials): 3x3 256->256 @14x14, batch 32, weight gradient 21.2 -> 18.7 ms
 * (bench/conv.c, Cooperlake, Zen 4); 128 channels (19 MB of partials) stay
 * faster by blocks, 13.9 against 18.2 ms. */
#define PARTIALS_BUDGET ((size_t)8 << 20)

static int wgrad_by_blocks(const rl_conv *cv, const geom *g)
{
    return cv->algo == RL_CONV_WINOGRAD_BLOCKS && (size_t)groups_for(cv) * g->u <= PARTIALS_BUDGET;
}

/* Floats between one transformed position's matrix and the next in a
 * block's V, M or Z: nt x c, and one cache line more where that is a
 * multiple of 4 KiB (64 tiles of 16 to 256 channels).  There the 36 values
 * a tile's transform writes or reads for one channel all fall in one L1 set
 * (64 sets of 64 bytes, 8 to 12 ways), evicting each other.  The line more
 * made 3x3 16->16 @28x28 and 32->32 @14x14 (batch 128) 1.07-1.39x faster
 * per pass, resnet20 28x28x1 training steps 1.12-1.17x (AMD Zen 5,
 * `SkylakeX`, docs/performance.md round 17); 64 and 256 channels alike.
 * The chunk path (512 channels) keeps its unpadded layout: a position's
 * run of a tile is 32 lines there, and padding it measured alike. */
static size_t block_stride(int nt, int c)
{
    const size_t floats = (size_t)nt * c;
    return floats % 1024 ? floats : floats + 16;
}

/* The most block_stride gives for up to nt tiles (workspace sizes). */
static size_t block_stride_most(int nt, int c)
{
    return (size_t)nt * c + 16;
}

/* Floats of one thread's V and M (or Z). */
static size_t block_slice(const rl_conv *cv, int T)
{
    const int bt = block_tiles(cv);
    return rl_round_floats((size_t)T * (block_stride_most(bt, cv->in_c) + block_stride_most(bt, cv->out_c)));
}

size_t rl_winograd_workspace_floats(const rl_conv *cv, rl_shape in, int m)
{
    tables t = tables_for(m);
    geom g = layout(cv, in, &t);
    if (cv->algo != RL_CONV_WINOGRAD_BLOCKS) return g.u + g.v + g.mo;
    const size_t threads = cv->threads > 1 ? (size_t)cv->threads : 1, blocks = g.u + threads * block_slice(cv, g.T);
    /* the forward's transposed taps (transform_kernel_rows) follow U */
    const size_t taps = g.u + rl_round_floats((size_t)9 * cv->in_c * cv->out_c);
    /* U and the threads' slices, then the weight gradient's partials (or,
     * past their budget, the chunk path's V and Z) */
    size_t need = g.u + g.v + g.mo;
    if (wgrad_by_blocks(cv, &g))
        need = blocks + g.u * (size_t)groups_for(cv);
    else if (blocks > need)
        need = blocks;
    return need > taps ? need : taps;
}

/* coef[p][kh*3+kw] = G[xi][kh] G[nu][kw], p = xi*a + nu. */
static void kernel_coefs(const tables *t, float *coef)
{
    for (int xi = 0; xi < t->a; xi++)
        for (int nu = 0; nu < t->a; nu++)
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++)
                    coef[(xi * t->a + nu) * 9 + kh * 3 + kw] =
                        (float)((double)t->g[xi * 3 + kh] * (double)t->g[nu * 3 + kw]);
}

/* u[0..len) = the sum over k of cp[k] taps[k][0..len), the nine taps
 * `stride` floats apart, added in the order k = 0..8 (flip: the kernel
 * rotated by 180 degrees, taps 8..0). */
static void combine_taps(const float *cp, const float *taps, size_t stride, int flip, size_t len, float *restrict u)
{
    for (size_t i = 0; i < len; i++)
        u[i] = 0;
    for (int k = 0; k < 9; k++) {
        const float *restrict wk = taps + (size_t)(flip ? 8 - k : k) * stride;
        for (size_t i = 0; i < len; i++)
            u[i] += cp[k] * wk[i];
    }
}

/* U[p][oc][c] = (G w G^T)[p] for every channel pair, from w (forward) or,
 * flip != 0, from the kernel rotated by 180 degrees (input gradient: a
 * convolution from OC to C channels, whose GEMMs then read U[p] untransposed
 * as OC x C).  Both write U in w's channel order, contiguously: a scatter
 * into [p][c][oc] cost the input gradient as much again as its GEMMs on 7x7
 * maps, where U (36 x 512 x 512 floats) is larger than the activations. */
static void transform_kernel(const tables *t, const rl_conv *cv, int flip, float *U)
{
    const int C = cv->in_c, OC = cv->out_c, T = t->a * t->a;
    float coef[36 * 9];
    kernel_coefs(t, coef);
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++) {
        const float *wo = cv->w + (size_t)o * 9 * C;
        for (int p = 0; p < T; p++)
            combine_taps(coef + p * 9, wo, (size_t)C, flip, (size_t)C, U + ((size_t)p * OC + o) * C);
    }
}

/* U[p][c][oc] = (G w G^T)[p], the input channels as rows, for the forward
 * by blocks: its GEMMs then read U[p] untransposed, like the input
 * gradient's, which OpenBLAS (0.3.21) runs 1.75x faster on the blocks'
 * 64-tile GEMMs with 64 channels and 1.08-1.09x with 128 and 256
 * (`SkylakeX` kernels, Intel Xeon; 1.09x on `Haswell` with 64).  The taps
 * are first transposed into wt[k] (C x OC each: 9 C OC floats of scratch),
 * after which each U[p] is a linear combination of the nine, computed in
 * runs that stay in L1.  The chunk path (512 channels) keeps U[p] as OC x C
 * rows: there the transpose costs more than its GEMMs gain (3%). */
static void transform_kernel_rows(const tables *t, const rl_conv *cv, float *U, float *wt)
{
    const int C = cv->in_c, OC = cv->out_c, T = t->a * t->a;
    const size_t n = (size_t)C * OC;
    float coef[36 * 9];
    kernel_coefs(t, coef);
    /* by blocks of 16 channels: each w row gives a cache line, and the 16
     * rows of wt it feeds are written along oc */
#pragma omp parallel for collapse(2) schedule(static)
    for (int k = 0; k < 9; k++)
        for (int c0 = 0; c0 < C; c0 += 16) {
            const int c1 = c0 + 16 < C ? c0 + 16 : C;
            float *wk = wt + (size_t)k * n;
            for (int o = 0; o < OC; o++) {
                const float *src = cv->w + ((size_t)o * 9 + k) * C;
                for (int c = c0; c < c1; c++)
                    wk[(size_t)c * OC + o] = src[c];
            }
        }
    enum { RUN = 512 };
#pragma omp parallel for schedule(static)
    for (size_t i0 = 0; i0 < n; i0 += RUN) {
        const size_t len = n - i0 < RUN ? n - i0 : RUN;
        for (int p = 0; p < T; p++)
            combine_taps(coef + p * 9, wt + i0, n, 0, len, U + (size_t)p * n + i0);
    }
}

/* ---- F(4x4, 3x3) transforms written out ----
 * The table-driven tile transforms below serve any m, but make one load/store
 * pass over the channels per nonzero coefficient after copying the tile: on
 * ResNet-50's 64-channel 56x56 layer they took about twice the time of the
 * GEMMs they feed.  For m = 4 (the one the planner picks) the rows of B^T,
 * A^T and A are spelt out with their common terms shared and the tile is
 * read where it lies.  Each transform (the input's, the output's and the
 * weight gradient's of dy) makes one pass over the channels with a
 * channel's whole tile in registers, the channels in the vector lanes.  Same
 * matrices, so the same result up to float32 rounding (the order of the
 * additions differs). */

/* o = B^T x along one line of 6 (the rows of bt4); each x read once. */
#define BT6(x0, x1, x2, x3, x4, x5, o0, o1, o2, o3, o4, o5)                                                            \
    do {                                                                                                               \
        const float x0_ = (x0), x1_ = (x1), x2_ = (x2), x3_ = (x3), x4_ = (x4), x5_ = (x5);                            \
        const float p_ = x4_ - x2_, q_ = x1_ - x3_;                                                                    \
        (o0) = 4 * x0_ - 5 * x2_ + x4_;                                                                                \
        (o1) = (x3_ + x4_) - 4 * (x1_ + x2_);                                                                          \
        (o2) = (x4_ - x3_) + 4 * (x1_ - x2_);                                                                          \
        (o3) = p_ - 2 * q_;                                                                                            \
        (o4) = p_ + 2 * q_;                                                                                            \
        (o5) = 4 * x1_ - 5 * x3_ + x5_;                                                                                \
    } while (0)

/* o = A^T m along one line of 6 (the rows of at4); each m read once. */
#define AT6(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                                                    \
    do {                                                                                                               \
        const float m1_ = (m1), m2_ = (m2), m3_ = (m3), m4_ = (m4);                                                    \
        const float s12_ = m1_ + m2_, d12_ = m1_ - m2_, s34_ = m3_ + m4_, d34_ = m3_ - m4_;                            \
        (o0) = (m0) + s12_ + s34_;                                                                                     \
        (o1) = d12_ + 2 * d34_;                                                                                        \
        (o2) = s12_ + 4 * s34_;                                                                                        \
        (o3) = d12_ + 8 * d34_ + (m5);                                                                                 \
    } while (0)

/* o = A x along one line of 4 (the columns of at4); each x read once. */
#define A4(x0, x1, x2, x3, o0, o1, o2, o3, o4, o5)                                                                     \
    do {                                                                                                               \
        const float x0_ = (x0), x1_ = (x1), x2_ = (x2), x3_ = (x3);                                                    \
        const float e_ = x0_ + x2_, o_ = x1_ + x3_, f_ = x0_ + 4 * x2_, g_ = 2 * x1_ + 8 * x3_;                        \
        (o0) = x0_;                                                                                                    \
        (o1) = e_ + o_;                                                                                                \
        (o2) = e_ - o_;                                                                                                \
        (o3) = f_ + g_;                                                                                                \
        (o4) = f_ - g_;                                                                                                \
        (o5) = x3_;                                                                                                    \
    } while (0)

/* F(0); F(1); ... F(3) or F(5): each line of a tile */
#define EACH4(F)                                                                                                       \
    F(0);                                                                                                              \
    F(1);                                                                                                              \
    F(2);                                                                                                              \
    F(3)
#define EACH6(F)                                                                                                       \
    EACH4(F);                                                                                                          \
    F(4);                                                                                                              \
    F(5)

/* input_tile for m = 4; d (36 x C floats) holds a copy of a tile the
 * image's edge clips, zeros outside.  One pass over the channels, each
 * channel's tile transformed in registers (columns, then rows), the
 * channels in the vector lanes. */
static void input_tile4(int C, const float *xn, int H, int W, int y0, int x0, float *v, size_t pos_stride, float *d)
{
    const float *base = xn + ((size_t)y0 * W + x0) * C;
    size_t row = (size_t)W * C;
    if (y0 < 0 || x0 < 0 || y0 + 6 > H || x0 + 6 > W) {
        /* per row of the tile, the pixels inside are one run in memory */
        const int j0 = x0 < 0 ? -x0 : 0, j1 = x0 + 6 > W ? W - x0 : 6;
        for (int i = 0; i < 6; i++) {
            float *dst = d + (size_t)i * 6 * C;
            const int yy = y0 + i;
            if (yy < 0 || yy >= H || j0 >= j1) {
                memset(dst, 0, sizeof(float) * 6 * C);
                continue;
            }
            memset(dst, 0, sizeof(float) * j0 * C);
            memcpy(dst + (size_t)j0 * C, xn + ((size_t)yy * W + x0 + j0) * C, sizeof(float) * (j1 - j0) * C);
            memset(dst + (size_t)j1 * C, 0, sizeof(float) * (6 - j1) * C);
        }
        base = d;
        row = (size_t)6 * C;
    }
    /* The 36 values of a channel's tile as named scalars, not an array:
     * GCC vectorizes the loop over the channels only so. */
#define X(i, j) x[(i)*row + (size_t)(j)*C]
#define COLUMN(j) BT6(X(0, j), X(1, j), X(2, j), X(3, j), X(4, j), X(5, j), b0##j, b1##j, b2##j, b3##j, b4##j, b5##j)
#define V(i, j) v[(size_t)((i)*6 + (j)) * pos_stride + c]
#define ROW(i)                                                                                                         \
    BT6(b##i##0, b##i##1, b##i##2, b##i##3, b##i##4, b##i##5, V(i, 0), V(i, 1), V(i, 2), V(i, 3), V(i, 4), V(i, 5))
#define NAMES(i) b##i##0, b##i##1, b##i##2, b##i##3, b##i##4, b##i##5
#pragma omp simd
    for (int c = 0; c < C; c++) {
        const float *x = base + c;
        float NAMES(0), NAMES(1), NAMES(2), NAMES(3), NAMES(4), NAMES(5); /* B^T d */
        EACH6(COLUMN);
        EACH6(ROW); /* V = (B^T d) B */
    }
#undef X
#undef COLUMN
#undef V
#undef ROW
#undef NAMES
}

/* output_tile for m = 4; tmp holds 16 x OC floats.  As input_tile4, one
 * pass over the channels with a channel's tile in named scalars: first
 * A^T M (4 x 6), then (A^T M) A, the 4 x 4 output, stored by OUT(i, j)
 * into y or, for a tile the image's edge clips, into tmp. */
#define M(i, j) mp[(size_t)((i)*6 + (j)) * pos_stride + c]
#define COLUMN(j) AT6(M(0, j), M(1, j), M(2, j), M(3, j), M(4, j), M(5, j), a0##j, a1##j, a2##j, a3##j)
#define ROW(i)                                                                                                         \
    do {                                                                                                               \
        AT6(a##i##0, a##i##1, a##i##2, a##i##3, a##i##4, a##i##5, o0, o1, o2, o3);                                     \
        OUT(i, 0);                                                                                                     \
        OUT(i, 1);                                                                                                     \
        OUT(i, 2);                                                                                                     \
        OUT(i, 3);                                                                                                     \
    } while (0)
#define NAMES(i) a##i##0, a##i##1, a##i##2, a##i##3, a##i##4, a##i##5
#define TILE_LOOP                                                                                                      \
    _Pragma("omp simd") for (int c = 0; c < OC; c++)                                                                   \
    {                                                                                                                  \
        float NAMES(0), NAMES(1), NAMES(2), NAMES(3);                                                                  \
        float o0, o1, o2, o3;                                                                                          \
        EACH6(COLUMN);                                                                                                 \
        EACH4(ROW);                                                                                                    \
    }
static void output_tile4(int OC, const float *mp, size_t pos_stride, float *yn, int H, int W, int y0, int x0,
                         int accumulate, float *tmp)
{
    float *out = yn + ((size_t)y0 * W + x0) * OC;
    const size_t row = (size_t)W * OC;
    if (y0 + 4 <= H && x0 + 4 <= W && accumulate) {
#define OUT(i, j) out[(i)*row + (size_t)(j)*OC + c] += o##j
        TILE_LOOP
#undef OUT
        return;
    }
    float *dst = out;
    size_t dst_row = row;
    if (y0 + 4 > H || x0 + 4 > W) {
        dst = tmp;
        dst_row = (size_t)4 * OC;
    }
#define OUT(i, j) dst[(i)*dst_row + (size_t)(j)*OC + c] = o##j
    TILE_LOOP
#undef OUT
    if (dst == out) return;
    for (int i = 0; i < 4 && y0 + i < H; i++)
        for (int j = 0; j < 4 && x0 + j < W; j++) {
            float *o = out + i * row + (size_t)j * OC;
            const float *r = tmp + (size_t)(i * 4 + j) * OC;
            for (int c = 0; c < OC; c++)
                o[c] = (accumulate ? o[c] : 0.0f) + r[c];
        }
}
#undef M
#undef COLUMN
#undef ROW
#undef NAMES
#undef TILE_LOOP

/* grad_tile for m = 4; d (16 x OC floats) holds a copy of a tile the
 * image's edge clips, zeros outside.  As input_tile4, one pass over the
 * channels with a channel's tile in named scalars: A dy (6 x 4), then
 * (A dy) A^T. */
static void grad_tile4(int OC, const float *dyn, int H, int W, int y0, int x0, float *z, size_t pos_stride, float *d)
{
    const float *base = dyn + ((size_t)y0 * W + x0) * OC;
    size_t row = (size_t)W * OC;
    if (y0 + 4 > H || x0 + 4 > W) {
        const int cols = x0 + 4 > W ? W - x0 : 4;
        for (int i = 0; i < 4; i++) {
            float *dst = d + (size_t)i * 4 * OC;
            if (y0 + i >= H) {
                memset(dst, 0, sizeof(float) * 4 * OC);
                continue;
            }
            memcpy(dst, dyn + ((size_t)(y0 + i) * W + x0) * OC, sizeof(float) * cols * OC);
            memset(dst + (size_t)cols * OC, 0, sizeof(float) * (4 - cols) * OC);
        }
        base = d;
        row = (size_t)4 * OC;
    }
#define X(i, j) x[(i)*row + (size_t)(j)*OC]
#define COLUMN(j) A4(X(0, j), X(1, j), X(2, j), X(3, j), a0##j, a1##j, a2##j, a3##j, a4##j, a5##j)
#define Z(i, j) z[(size_t)((i)*6 + (j)) * pos_stride + c]
#define ROW(i) A4(a##i##0, a##i##1, a##i##2, a##i##3, Z(i, 0), Z(i, 1), Z(i, 2), Z(i, 3), Z(i, 4), Z(i, 5))
#define NAMES(i) a##i##0, a##i##1, a##i##2, a##i##3
#pragma omp simd
    for (int c = 0; c < OC; c++) {
        const float *x = base + c;
        float NAMES(0), NAMES(1), NAMES(2), NAMES(3), NAMES(4), NAMES(5); /* A dy */
        EACH4(COLUMN);
        EACH6(ROW); /* Z = (A dy) A^T */
    }
#undef X
#undef COLUMN
#undef Z
#undef ROW
#undef NAMES
}
#undef EACH4
#undef EACH6

/* V[p][tile] = (B^T d B)[p] for the a x a input tile whose top-left pixel is
 * (y0, x0), zeros outside the image.  v points at the tile's row of
 * position 0; positions are pos_stride floats apart.  d and tmp are
 * scratch of a x a x C floats each. */
static void input_tile(const tables *t, int C, const float *xn, int H, int W, int y0, int x0, float *v,
                       size_t pos_stride, float *d, float *tmp)
{
    if (t->m == 4) {
        input_tile4(C, xn, H, W, y0, x0, v, pos_stride, d);
        return;
    }
    const int a = t->a;
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) {
            float *dst = d + (size_t)(i * a + j) * C;
            int yy = y0 + i, xx = x0 + j;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                memset(dst, 0, sizeof(float) * C);
            else
                memcpy(dst, xn + ((size_t)yy * W + xx) * C, sizeof(float) * C);
        }
    for (int i = 0; i < a; i++) /* tmp = B^T d */
        for (int j = 0; j < a; j++) {
            float *o = tmp + (size_t)(i * a + j) * C;
            for (int c = 0; c < C; c++)
                o[c] = 0;
            for (int k = 0; k < a; k++) {
                const float b = t->bt[i * a + k];
                if (b == 0) continue;
                const float *s = d + (size_t)(k * a + j) * C;
                for (int c = 0; c < C; c++)
                    o[c] += b * s[c];
            }
        }
    for (int i = 0; i < a; i++) /* V = tmp B */
        for (int j = 0; j < a; j++) {
            float *o = v + (size_t)(i * a + j) * pos_stride;
            for (int c = 0; c < C; c++)
                o[c] = 0;
            for (int k = 0; k < a; k++) {
                const float b = t->bt[j * a + k];
                if (b == 0) continue;
                const float *s = tmp + (size_t)(i * a + k) * C;
                for (int c = 0; c < C; c++)
                    o[c] += b * s[c];
            }
        }
}

/* y tile (m x m at (y0, x0), clipped to the image) = A^T M A; adds into y
 * when accumulate. */
static void output_tile(const tables *t, int OC, const float *mp, size_t pos_stride, float *yn, int H, int W, int y0,
                        int x0, int accumulate, float *tmp)
{
    if (t->m == 4) {
        output_tile4(OC, mp, pos_stride, yn, H, W, y0, x0, accumulate, tmp);
        return;
    }
    const int a = t->a, m = t->m;
    for (int i = 0; i < m; i++) /* tmp = A^T M (m x a) */
        for (int j = 0; j < a; j++) {
            float *o = tmp + (size_t)(i * a + j) * OC;
            for (int c = 0; c < OC; c++)
                o[c] = 0;
            for (int k = 0; k < a; k++) {
                const float b = t->at[i * a + k];
                if (b == 0) continue;
                const float *s = mp + (size_t)(k * a + j) * pos_stride;
                for (int c = 0; c < OC; c++)
                    o[c] += b * s[c];
            }
        }
    for (int i = 0; i < m && y0 + i < H; i++) /* y = tmp A */
        for (int j = 0; j < m && x0 + j < W; j++) {
            float *o = yn + ((size_t)(y0 + i) * W + x0 + j) * OC;
            if (!accumulate)
                for (int c = 0; c < OC; c++)
                    o[c] = 0;
            for (int k = 0; k < a; k++) {
                const float b = t->at[j * a + k];
                if (b == 0) continue;
                const float *s = tmp + (size_t)(i * a + k) * OC;
                for (int c = 0; c < OC; c++)
                    o[c] += b * s[c];
            }
        }
}

/* Z[p][tile] = (A dy A^T)[p] for the m x m dy tile at (y0, x0), zeros
 * outside the image. */
static void grad_tile(const tables *t, int OC, const float *dyn, int H, int W, int y0, int x0, float *z,
                      size_t pos_stride, float *d, float *tmp)
{
    if (t->m == 4) {
        grad_tile4(OC, dyn, H, W, y0, x0, z, pos_stride, d);
        return;
    }
    const int a = t->a, m = t->m;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            float *dst = d + (size_t)(i * m + j) * OC;
            if (y0 + i >= H || x0 + j >= W)
                memset(dst, 0, sizeof(float) * OC);
            else
                memcpy(dst, dyn + ((size_t)(y0 + i) * W + x0 + j) * OC, sizeof(float) * OC);
        }
    for (int i = 0; i < a; i++) /* tmp = A d (a x m) */
        for (int j = 0; j < m; j++) {
            float *o = tmp + (size_t)(i * m + j) * OC;
            for (int c = 0; c < OC; c++)
                o[c] = 0;
            for (int k = 0; k < m; k++) {
                const float b = t->at[k * a + i];
                if (b == 0) continue;
                const float *s = d + (size_t)(k * m + j) * OC;
                for (int c = 0; c < OC; c++)
                    o[c] += b * s[c];
            }
        }
    for (int i = 0; i < a; i++) /* Z = tmp A^T */
        for (int j = 0; j < a; j++) {
            float *o = z + (size_t)(i * a + j) * pos_stride;
            for (int c = 0; c < OC; c++)
                o[c] = 0;
            for (int k = 0; k < m; k++) {
                const float b = t->at[k * a + j];
                if (b == 0) continue;
                const float *s = tmp + (size_t)(i * m + k) * OC;
                for (int c = 0; c < OC; c++)
                    o[c] += b * s[c];
            }
        }
}

/* Transforms the input tiles of images [n0, n0+nn) of x (cin channels) into V. */
static void transform_inputs(const tables *t, const geom *g, rl_shape in, int cin, const float *x, int n0, int nn,
                             float *V)
{
    const int tiles = nn * g->tiles_img, a = t->a;
    const size_t image = (size_t)in.h * in.w * cin;
#pragma omp parallel
    {
        float d[a * a * cin], tmp[a * a * cin];
#pragma omp for schedule(static)
        for (int tt = 0; tt < tiles; tt++) {
            int n = tt / g->tiles_img, r = tt % g->tiles_img, ty = r / g->tw, tx = r % g->tw;
            input_tile(t, cin, x + (n0 + n) * image, in.h, in.w, ty * t->m - 1, tx * t->m - 1, V + (size_t)tt * cin,
                       (size_t)tiles * cin, d, tmp);
        }
    }
}

/* The convolution of x (cin channels) with the transformed kernel U into y
 * (cout channels), same spatial size (3x3, stride 1, pad 1).  U[p] is
 * cout x cin (forward) or, u_in_rows != 0, cin x cout (input gradient). */
static void convolve(const tables *t, const geom *g, rl_shape in, int cin, int cout, const float *x, const float *U,
                     int u_in_rows, float *y, int accumulate, float *V, float *M)
{
    const size_t out_image = (size_t)in.h * in.w * cout;
    for (int n0 = 0; n0 < in.n; n0 += g->chunk) {
        int nn = in.n - n0 < g->chunk ? in.n - n0 : g->chunk, tiles = nn * g->tiles_img;
        transform_inputs(t, g, in, cin, x, n0, nn, V);
        for (int p = 0; p < g->T; p++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, u_in_rows ? CblasNoTrans : CblasTrans, tiles, cout, cin, 1.0f,
                        V + (size_t)p * tiles * cin, cin, U + (size_t)p * cout * cin, u_in_rows ? cout : cin, 0.0f,
                        M + (size_t)p * tiles * cout, cout);
#pragma omp parallel
        {
            float tmp[t->a * t->a * cout]; /* output_tile4 uses 16 x cout */
#pragma omp for schedule(static)
            for (int tt = 0; tt < tiles; tt++) {
                int n = tt / g->tiles_img, r = tt % g->tiles_img, ty = r / g->tw, tx = r % g->tw;
                output_tile(t, cout, M + (size_t)tt * cout, (size_t)tiles * cout, y + (n0 + n) * out_image, in.h, in.w,
                            ty * t->m, tx * t->m, accumulate, tmp);
            }
        }
    }
}

/* convolve() by blocks of tiles (RL_CONV_WINOGRAD_BLOCKS), U[p] cin x cout
 * (transform_kernel_rows, or transform_kernel flipped); ws holds one slice
 * per thread. */
static void convolve_blocks(const tables *t, const geom *g, const rl_conv *cv, rl_shape in, int cin, int cout,
                            const float *x, const float *U, float *y, int accumulate, float *ws)
{
    const int total = in.n * g->tiles_img, bt = block_tiles_for(cv, total), nblocks = (total + bt - 1) / bt;
    const size_t slice = block_slice(cv, g->T), image = (size_t)in.h * in.w * cin,
                 out_image = (size_t)in.h * in.w * cout;
    const int a = t->a;
#pragma omp parallel num_threads(cv->threads)
    {
        float *V = ws + slice * (size_t)omp_get_thread_num(), *M = V + (size_t)g->T * block_stride_most(bt, cin);
        float d[a * a * cin], tmp[a * a * (cin > cout ? cin : cout)];
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < nblocks; b++) {
            const int t0 = b * bt, nt = total - t0 < bt ? total - t0 : bt;
            const size_t sv = block_stride(nt, cin), sm = block_stride(nt, cout);
            for (int i = 0; i < nt; i++) {
                int tt = t0 + i, n = tt / g->tiles_img, r = tt % g->tiles_img, ty = r / g->tw, tx = r % g->tw;
                input_tile(t, cin, x + n * image, in.h, in.w, ty * t->m - 1, tx * t->m - 1, V + (size_t)i * cin, sv, d,
                           tmp);
            }
            for (int p = 0; p < g->T; p++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nt, cout, cin, 1.0f, V + p * sv, cin,
                            U + (size_t)p * cout * cin, cout, 0.0f, M + p * sm, cout);
            for (int i = 0; i < nt; i++) {
                int tt = t0 + i, n = tt / g->tiles_img, r = tt % g->tiles_img, ty = r / g->tw, tx = r % g->tw;
                output_tile(t, cout, M + (size_t)i * cout, sm, y + n * out_image, in.h, in.w, ty * t->m, tx * t->m,
                            accumulate, tmp);
            }
        }
    }
}

void rl_winograd_forward(const rl_conv *cv, rl_shape in, int m, const float *x, float *y, float *ws)
{
    tables t = tables_for(m);
    geom g = layout(cv, in, &t);
    if (cv->algo == RL_CONV_WINOGRAD_BLOCKS) {
        /* the taps' scratch lies where the threads' slices go next */
        transform_kernel_rows(&t, cv, ws, ws + g.u);
        convolve_blocks(&t, &g, cv, in, cv->in_c, cv->out_c, x, ws, y, 0, ws + g.u);
        return;
    }
    transform_kernel(&t, cv, 0, ws);
    convolve(&t, &g, in, cv->in_c, cv->out_c, x, ws, 0, y, 0, ws + g.u, ws + g.u + g.v);
}

void rl_winograd_backward_data(const rl_conv *cv, rl_shape in, int m, const float *dy, float *dx, int accumulate,
                               float *ws)
{
    tables t = tables_for(m);
    geom g = layout(cv, in, &t);
    transform_kernel(&t, cv, 1, ws);
    /* V holds dy's tiles (OC channels) and M dx's (C): the same floats as
     * forward's C and OC, swapped. */
    rl_shape dys = {in.n, cv->out_c, in.h, in.w};
    if (cv->algo == RL_CONV_WINOGRAD_BLOCKS)
        convolve_blocks(&t, &g, cv, dys, cv->out_c, cv->in_c, dy, ws, dx, accumulate, ws + g.u);
    else
        convolve(&t, &g, dys, cv->out_c, cv->in_c, dy, ws, 1, dx, accumulate, ws + g.u, ws + g.u + g.mo);
}

/* dw += G^T (sum over the groups of parts) G; parts holds `groups` partial
 * dU, each T x OC x C, added in group order. */
static void weight_grad_from(const tables *t, const rl_conv *cv, const float *parts, size_t part, int groups)
{
    const int C = cv->in_c, OC = cv->out_c, T = t->a * t->a;
    float coef[36 * 9];
    kernel_coefs(t, coef);
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++) {
        float *dwo = cv->dw + (size_t)o * 9 * C, u[C];
        for (int p = 0; p < T; p++) {
            const float *src = parts + ((size_t)p * OC + o) * C;
            for (int c = 0; c < C; c++)
                u[c] = src[c];
            for (int grp = 1; grp < groups; grp++)
                for (int c = 0; c < C; c++)
                    u[c] += src[(size_t)grp * part + c];
            for (int k = 0; k < 9; k++) {
                const float cf = coef[p * 9 + k];
                if (cf == 0) continue;
                for (int c = 0; c < C; c++)
                    dwo[(size_t)k * C + c] += cf * u[c];
            }
        }
    }
}

/* rl_winograd_backward_weights by blocks of tiles, summed per group. */
static void backward_weights_blocks(const tables *t, const geom *g, const rl_conv *cv, rl_shape in, const float *x,
                                    const float *dy, float *ws)
{
    const int C = cv->in_c, OC = cv->out_c, groups = groups_for(cv), a = t->a;
    const int total = in.n * g->tiles_img, bt = block_tiles_for(cv, total), nblocks = (total + bt - 1) / bt;
    const size_t slice = block_slice(cv, g->T), image = (size_t)in.h * in.w * C, dy_image = (size_t)in.h * in.w * OC;
    const size_t threads = cv->threads > 1 ? (size_t)cv->threads : 1;
    float *slices = ws + g->u, *parts = slices + threads * slice;
#pragma omp parallel num_threads(cv->threads)
    {
        float *V = slices + slice * (size_t)omp_get_thread_num(), *Z = V + (size_t)g->T * block_stride_most(bt, C);
        float d[a * a * (C > OC ? C : OC)], tmp[a * a * (C > OC ? C : OC)];
#pragma omp for schedule(dynamic, 1)
        for (int grp = 0; grp < groups; grp++) {
            float *dU = parts + (size_t)grp * g->u;
            const int b0 = (int)((long)nblocks * grp / groups), b1 = (int)((long)nblocks * (grp + 1) / groups);
            if (b0 == b1) memset(dU, 0, sizeof(float) * g->T * OC * C);
            for (int b = b0; b < b1; b++) {
                const int t0 = b * bt, nt = total - t0 < bt ? total - t0 : bt;
                const size_t sv = block_stride(nt, C), sz = block_stride(nt, OC);
                for (int i = 0; i < nt; i++) {
                    int tt = t0 + i, n = tt / g->tiles_img, r = tt % g->tiles_img, ty = r / g->tw, tx = r % g->tw;
                    input_tile(t, C, x + n * image, in.h, in.w, ty * t->m - 1, tx * t->m - 1, V + (size_t)i * C, sv, d,
                               tmp);
                    grad_tile(t, OC, dy + n * dy_image, in.h, in.w, ty * t->m, tx * t->m, Z + (size_t)i * OC, sz, d,
                              tmp);
                }
                for (int p = 0; p < g->T; p++)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, nt, 1.0f, Z + p * sz, OC, V + p * sv, C,
                                b > b0 ? 1.0f : 0.0f, dU + (size_t)p * OC * C, C);
            }
        }
    }
    weight_grad_from(t, cv, parts, g->u, groups);
}

void rl_winograd_backward_weights(const rl_conv *cv, rl_shape in, int m, const float *x, const float *dy, float *ws)
{
    tables t = tables_for(m);
    geom g = layout(cv, in, &t);
    if (wgrad_by_blocks(cv, &g)) {
        backward_weights_blocks(&t, &g, cv, in, x, dy, ws);
        return;
    }
    const int C = cv->in_c, OC = cv->out_c;
    float *dU = ws, *V = ws + g.u, *Z = ws + g.u + g.v;
    const size_t dy_image = (size_t)in.h * in.w * OC;
    for (int n0 = 0; n0 < in.n; n0 += g.chunk) {
        int nn = in.n - n0 < g.chunk ? in.n - n0 : g.chunk, tiles = nn * g.tiles_img;
        transform_inputs(&t, &g, in, C, x, n0, nn, V);
#pragma omp parallel
        {
            float d[t.m * t.m * OC], tmp[t.a * t.m * OC];
#pragma omp for schedule(static)
            for (int tt = 0; tt < tiles; tt++) {
                int n = tt / g.tiles_img, r = tt % g.tiles_img, ty = r / g.tw, tx = r % g.tw;
                grad_tile(&t, OC, dy + (n0 + n) * dy_image, in.h, in.w, ty * t.m, tx * t.m, Z + (size_t)tt * OC,
                          (size_t)tiles * OC, d, tmp);
            }
        }
        /* dU[p] (OC x C) (+)= Z[p]^T V[p], summed over the chunks in order */
        for (int p = 0; p < g.T; p++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, tiles, 1.0f, Z + (size_t)p * tiles * OC, OC,
                        V + (size_t)p * tiles * C, C, n0 ? 1.0f : 0.0f, dU + (size_t)p * OC * C, C);
    }
    weight_grad_from(&t, cv, dU, g.u, 1);
}
