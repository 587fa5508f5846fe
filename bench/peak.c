/* peak.c: FMA throughput probe (see peak.h).  Twelve independent accumulators
 * cover the FMA latency x pipes of current x86 cores (4 cycles x 2 pipes). */
#include "peak.h"

#include <immintrin.h>
#include <omp.h>

#include "util/timer.h"

#define ITERS 4000000L
#define CHAINS 12

__attribute__((target("avx2,fma"))) static float run256(long iters, float seed)
{
    __m256 acc[CHAINS];
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm256_set1_ps(seed + (float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], b, c);
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = _mm256_add_ps(s, acc[i]);
    return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) static float run512(long iters, float seed)
{
    __m512 acc[CHAINS];
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps(seed + (float)i);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    return _mm512_reduce_add_ps(acc[0]) + _mm512_reduce_add_ps(acc[CHAINS - 1]);
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
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        measure(256); /* wake the cores up to their working clock */
        p.avx2 = measure(256);
    }
    if (__builtin_cpu_supports("avx512f")) p.avx512 = measure(512);
    return p;
}
