/* peak.c: FMA throughput probe (see peak.h).  Twelve independent accumulators
 * cover the FMA latency x pipes of current x86 cores (4 cycles x 2 pipes). */
#include "peak.h"

#include <immintrin.h>
#include <omp.h>

#include "util/timer.h"

#define ITERS 20000000L
#define CHAINS 12

/* The twelve accumulators are named variables, not an array, so that no
 * compiler keeps them in memory. */
#define FMA_CHAINS(T, SET1, FMADD, ADD)                                                                                \
    T a0 = SET1(seed), a1 = SET1(seed + 1), a2 = SET1(seed + 2), a3 = SET1(seed + 3), a4 = SET1(seed + 4);             \
    T a5 = SET1(seed + 5), a6 = SET1(seed + 6), a7 = SET1(seed + 7), a8 = SET1(seed + 8);                              \
    T a9 = SET1(seed + 9), a10 = SET1(seed + 10), a11 = SET1(seed + 11);                                               \
    const T b = SET1(0.999999f), c = SET1(1e-7f);                                                                      \
    for (long it = 0; it < iters; it++) {                                                                              \
        a0 = FMADD(a0, b, c);                                                                                          \
        a1 = FMADD(a1, b, c);                                                                                          \
        a2 = FMADD(a2, b, c);                                                                                          \
        a3 = FMADD(a3, b, c);                                                                                          \
        a4 = FMADD(a4, b, c);                                                                                          \
        a5 = FMADD(a5, b, c);                                                                                          \
        a6 = FMADD(a6, b, c);                                                                                          \
        a7 = FMADD(a7, b, c);                                                                                          \
        a8 = FMADD(a8, b, c);                                                                                          \
        a9 = FMADD(a9, b, c);                                                                                          \
        a10 = FMADD(a10, b, c);                                                                                        \
        a11 = FMADD(a11, b, c);                                                                                        \
    }                                                                                                                  \
    T s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                                           \
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)))

__attribute__((target("avx2,fma"))) static float run256(long iters, float seed)
{
    FMA_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps);
    return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) static float run512(long iters, float seed)
{
    FMA_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps);
    return _mm512_reduce_add_ps(s);
}

/* GFLOP/s of all threads running `width`-bit chains at once. */
static double measure(int width)
{
    volatile float sink = 0;
    double t0 = rl_now();
    int threads = 1;
#pragma omp parallel reduction(+ : sink)
    {
#pragma omp single
        threads = omp_get_num_threads();
        sink += width == 512 ? run512(ITERS, (float)omp_get_thread_num()) : run256(ITERS, (float)omp_get_thread_num());
    }
    double t = rl_now() - t0;
    return (double)threads * ITERS * CHAINS * (width / 32) * 2 / t * 1e-9;
}

bench_peak bench_fma_peak(void)
{
    bench_peak p = {0, 0};
    __builtin_cpu_init();
    /* Best of three: on a shared machine another process can only lower a
     * measurement. */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        measure(256); /* wake the cores up to their working clock and start the threads */
        for (int i = 0; i < 3; i++) {
            double g = measure(256);
            p.avx2 = g > p.avx2 ? g : p.avx2;
        }
    }
    if (__builtin_cpu_supports("avx512f"))
        for (int i = 0; i < 3; i++) {
            double g = measure(512);
            p.avx512 = g > p.avx512 ? g : p.avx512;
        }
    return p;
}
