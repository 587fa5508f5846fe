/* peak.h: the machine's measured single-precision FMA peak, for benchmarks.
 *
 * Runs independent chains of fused multiply-adds in registers on every OpenMP
 * thread for a fixed number of iterations and reports GFLOP/s (2 per FMA lane)
 * for 256-bit (AVX2) and, where the CPU has it, 512-bit (AVX-512) vectors,
 * the best of three measurements (other processes only ever lower one);
 * 0 for a width the CPU lacks.  Thread-safe; takes about 0.4 s per width. */
#ifndef BENCH_PEAK_H
#define BENCH_PEAK_H

typedef struct {
    double avx2, avx512; /* GFLOP/s over all OpenMP threads; 0: not supported */
} bench_peak;

bench_peak bench_fma_peak(void);

#endif
