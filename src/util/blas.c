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

static int is_fallback_core(const char *core)
{
    static const char *slow[] = {"Prescott", "Core2",   "Penryn",    "Dunnington", "Nehalem", "Atom",
                                 "Athlon",   "Opteron", "Barcelona", "Katmai",     "Banias",  NULL};
    for (int i = 0; slow[i]; i++)
        if (strcasecmp(core, slow[i]) == 0) return 1;
    return 0;
}

const char *rl_blas_better_core(void)
{
    const char *core = rl_blas_core();
    if (!core || !is_fallback_core(core)) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
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
    rl_log(RL_LOG_WARN,
           "relab: WARNING: OpenBLAS runs its slow '%s' kernels on a CPU that supports '%s' (about 5x slower).\n"
           "relab: fix: export OPENBLAS_CORETYPE=%s before starting relab.",
           rl_blas_core(), better, better);
}
