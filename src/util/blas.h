/* blas.h: which OpenBLAS kernels relab runs on, and fixing a bad guess.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise some CPUs newer than it and
 * picks kernels for fewer vector instructions than they have: an Intel Xeon
 * of family 6 model 207 gets its SSE3 "Prescott" kernels (sgemm 5x slower
 * than on "SkylakeX").  A core narrower than the CPU can also come from the
 * environment: on an AMD EPYC of family 26 (Zen 5), where OpenBLAS itself
 * picks "Cooperlake", OPENBLAS_CORETYPE=Haswell trains ResNet-50 1.6x slower
 * than "SkylakeX".  OpenBLAS reads OPENBLAS_CORETYPE only when the library is
 * loaded, so the fix is to re-exec the program once with the variable set:
 * rl_blas_fix_core does that. */
#ifndef RL_BLAS_H
#define RL_BLAS_H

/* The kernel family OpenBLAS runs on ("SkylakeX", "Haswell", "Prescott", ...). */
const char *rl_blas_core(void);

/* The widest vector instructions a CPU has, or an OpenBLAS core's kernels
 * use; ordered from narrowest to widest, so that < compares widths. */
typedef enum { RL_ISA_UNKNOWN, RL_ISA_SSE, RL_ISA_AVX, RL_ISA_AVX2, RL_ISA_AVX512 } rl_isa;

/* "SSE", "AVX", "AVX2", "AVX-512" or "unknown". */
const char *rl_isa_name(rl_isa isa);

/* The ISA of an OpenBLAS core's kernels; RL_ISA_UNKNOWN for a name relab
 * does not know. */
rl_isa rl_blas_core_isa(const char *core);

/* This CPU's, from cpuid (AVX-512 means F, BW, VL and DQ; AVX2 means with FMA). */
rl_isa rl_blas_cpu_isa(void);

/* The core for a CPU of `cpu` ISA when OpenBLAS picked `core`: "SkylakeX",
 * "Haswell" or "Sandybridge" when `core`'s kernels use fewer vector
 * instructions than the CPU has, NULL when `core` is as wide (or wider, or unknown to relab: left as
 * OpenBLAS chose).  Pure; rl_blas_better_core applies it to this process. */
const char *rl_blas_better_core_for(const char *core, rl_isa cpu);

/* rl_blas_better_core_for(rl_blas_core(), rl_blas_cpu_isa()). */
const char *rl_blas_better_core(void);

/* If OpenBLAS runs a narrower core than the CPU has and the user did not set
 * OPENBLAS_CORETYPE, sets it to the better core; if OMP_WAIT_POLICY is unset,
 * sets it to passive and, unless the user set GOMP_SPINCOUNT, a short spin
 * (10000) before a waiting thread sleeps; then, if it set anything, execv's
 * /proc/self/exe with the same argv (once; the variable RELAB_BLAS_REEXEC
 * guards against loops): all are read only when the libraries load.  The wait
 * settings change no result; the core changes float32 rounding as any other
 * kernel choice does, the same way on every run of the machine.  Returns only
 * when no re-exec was needed or it failed, in which case a narrower core gets
 * a loud warning with the fix (so does an SSE core the user chose; an AVX or
 * AVX2 core the user chose, as when comparing ISAs, does not).  Call first
 * thing in main(), before any thread starts. */
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
