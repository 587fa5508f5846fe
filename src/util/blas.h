/* blas.h: which OpenBLAS kernels relab runs on, and fixing a bad guess.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise some recent AVX-512 CPUs and
 * falls back to its SSE3 "Prescott" kernels, 5x slower.  OpenBLAS reads
 * OPENBLAS_CORETYPE only when the library is loaded, so the fix is to re-exec
 * the program once with the variable set: rl_blas_fix_core does that. */
#ifndef RL_BLAS_H
#define RL_BLAS_H

/* The kernel family OpenBLAS runs on ("SkylakeX", "Haswell", "Prescott", ...). */
const char *rl_blas_core(void);

/* The core this CPU should use ("SkylakeX", "Haswell") when OpenBLAS picked a
 * slower fallback; NULL when the current core is fine. */
const char *rl_blas_better_core(void);

/* If OpenBLAS runs a fallback core and the user did not set OPENBLAS_CORETYPE,
 * sets it; if OMP_WAIT_POLICY is unset, sets it to passive and, unless the
 * user set GOMP_SPINCOUNT, a short spin (10000) before a waiting thread
 * sleeps; then, if it set anything, execv's /proc/self/exe with the same argv
 * (once; the variable RELAB_BLAS_REEXEC guards against loops): all are read
 * only when the libraries load.  None changes a result.  Returns only when no
 * re-exec was needed or it failed, in which case a fallback core gets a loud
 * warning with the fix.  Call first thing in main(), before any thread starts. */
void rl_blas_fix_core(int argc, char **argv);

/* OpenBLAS (0.3.21) runs a GEMM of M N K <= 100^3 on its small-matrix
 * kernels, which read the operands in place instead of packing them
 * (kernel/x86_64/sgemm_small_kernel_permit_skylakex.c); in row-major terms
 * only calls whose B is untransposed qualify.  rl_blas_small_gemm: 1 if the
 * current core has those kernels (`SkylakeX`, `Cooperlake`).
 * rl_blas_small_gemm_rows: the most rows M a GEMM of n columns and depth k
 * may have to stay under that line (on any core). */
int rl_blas_small_gemm(void);
int rl_blas_small_gemm_rows(int n, int k);

/* Threads OpenBLAS uses (its OpenMP or pthread pool). */
int rl_blas_threads(void);

/* "OpenMP", "pthreads" or "sequential". */
const char *rl_blas_threading(void);

#endif
