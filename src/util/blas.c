/* blas.c: report and correct the OpenBLAS kernel choice (see blas.h). */
#include "util/blas.h"

#include "util/log.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS's own API; declared here in case cblas.h does not. */
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
int openblas_get_parallel(void);

const char *rl_blas_core(void)
{
    return openblas_get_corename();
}

int rl_blas_small_gemm(void)
{
    const char *core = rl_blas_core();
    return core && (!strcasecmp(core, "SkylakeX") || !strcasecmp(core, "Cooperlake"));
}

int rl_blas_small_gemm_rows(int n, int k)
{
    return (int)(1e6 / ((double)n * k));
}

int rl_blas_threads(void)
{
    return openblas_get_num_threads();
}

const char *rl_blas_threading(void)
{
    switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthreads";
    case 2: return "OpenMP";
    }
    return "unknown";
}

/* The vector instructions each x86 core's sgemm kernels are written for
 * (OpenBLAS 0.3.21's core names, driver/others/dynamic.c).  A core missing
 * here is left as OpenBLAS chose it. */
rl_isa rl_blas_core_isa(const char *core)
{
    static const struct {
        const char *name;
        rl_isa isa;
    } cores[] = {
        {"Prescott", RL_ISA_SSE},      {"Core2", RL_ISA_SSE},      {"Penryn", RL_ISA_SSE},
        {"Dunnington", RL_ISA_SSE},    {"Nehalem", RL_ISA_SSE},    {"Atom", RL_ISA_SSE},
        {"Athlon", RL_ISA_SSE},        {"Opteron", RL_ISA_SSE},    {"Barcelona", RL_ISA_SSE},
        {"Katmai", RL_ISA_SSE},        {"Banias", RL_ISA_SSE},     {"Sandybridge", RL_ISA_AVX},
        {"Bulldozer", RL_ISA_AVX},     {"Piledriver", RL_ISA_AVX}, {"Steamroller", RL_ISA_AVX},
        {"Haswell", RL_ISA_AVX2},      {"Zen", RL_ISA_AVX2},       {"Excavator", RL_ISA_AVX2},
        {"SkylakeX", RL_ISA_AVX512},   {"Cooperlake", RL_ISA_AVX512},
    };
    for (size_t i = 0; core && i < sizeof cores / sizeof cores[0]; i++)
        if (strcasecmp(core, cores[i].name) == 0) return cores[i].isa;
    return RL_ISA_UNKNOWN;
}

const char *rl_isa_name(rl_isa isa)
{
    switch (isa) {
    case RL_ISA_SSE: return "SSE";
    case RL_ISA_AVX: return "AVX";
    case RL_ISA_AVX2: return "AVX2";
    case RL_ISA_AVX512: return "AVX-512";
    case RL_ISA_UNKNOWN: break;
    }
    return "unknown";
}

rl_isa rl_blas_cpu_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return RL_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RL_ISA_AVX2;
    if (__builtin_cpu_supports("avx")) return RL_ISA_AVX;
    return RL_ISA_SSE;
}

const char *rl_blas_better_core_for(const char *core, rl_isa cpu)
{
    rl_isa have = rl_blas_core_isa(core);
    if (have == RL_ISA_UNKNOWN || have >= cpu || cpu > RL_ISA_AVX512) return NULL;
    /* The widest core for each ISA.  "SkylakeX" rather than "Cooperlake" on
     * CPUs with AVX-512 BF16 too: the two share their sgemm kernels;
     * Cooperlake adds only bfloat16 routines. */
    static const char *widest[] = {[RL_ISA_AVX] = "Sandybridge", [RL_ISA_AVX2] = "Haswell",
                                   [RL_ISA_AVX512] = "SkylakeX"};
    return widest[cpu];
}

const char *rl_blas_better_core(void)
{
    return rl_blas_better_core_for(rl_blas_core(), rl_blas_cpu_isa());
}

void rl_blas_fix_core(int argc, char **argv)
{
    (void)argc;
    const char *better = rl_blas_better_core();
    const char *user = getenv("OPENBLAS_CORETYPE");
    int fix_core = better && !(user && *user);
    /* libgomp's threads spin at barriers by default; with loader threads and
     * other processes on few cores, spinning steals the cores doing the math
     * (measured here: 2x slower training of a small ResNet on a busy 2-core
     * machine).  Waiting passively costs a futex wake per parallel region:
     * negligible for ResNet-50's (2000 regions in a 2 s step), 5-30% of a
     * small network's step (resnet20: a region every 0.74 ms).  A short spin
     * before sleeping, 10000 rounds (about 0.1 ms by libgomp's estimate),
     * catches most of those wake-ups and gives up the core soon under load:
     * faster than passive alone in every small-network round measured
     * (docs/performance.md), without the long spins that lose to the load.
     * A user setting of either variable wins. */
    int fix_wait = !getenv("OMP_WAIT_POLICY");
    int fix_spin = fix_wait && !getenv("GOMP_SPINCOUNT");
    if ((fix_core || fix_wait) && !getenv("RELAB_BLAS_REEXEC")) {
        if (fix_core) setenv("OPENBLAS_CORETYPE", better, 1);
        if (fix_wait) setenv("OMP_WAIT_POLICY", "passive", 1);
        if (fix_spin) setenv("GOMP_SPINCOUNT", "10000", 1);
        setenv("RELAB_BLAS_REEXEC", "1", 1);
        fflush(NULL);
        execv("/proc/self/exe", argv);
        /* execv returned: fall through to the warning. */
    }
    if (!better) return;
    /* An AVX or AVX2 core the user chose is a deliberate choice (comparing
     * ISAs, matching another machine's bits), not a mistake to shout about. */
    int sse = rl_blas_core_isa(rl_blas_core()) == RL_ISA_SSE;
    if (user && *user && !sse) return;
    rl_log(RL_LOG_WARN,
           "relab: WARNING: OpenBLAS runs its slow '%s' kernels on a CPU that supports '%s' (%s).\n"
           "relab: fix: export OPENBLAS_CORETYPE=%s before starting relab.",
           rl_blas_core(), better,
           sse ? "about 5x slower sgemm" : "narrower vectors than this CPU has", better);
}
