/* mem.c: aligned, zeroed allocations. */
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A network's arenas are hundreds of MiB to GiB, walked by every layer of
 * every step; on 4 KiB pages a step's GEMMs and BN passes miss the TLB
 * throughout, and under a hypervisor each miss walks two page tables.  Such
 * allocations start on a 2 MiB boundary and ask for transparent huge pages
 * (systems whose THP setting is "madvise", as on these machines, give them
 * only when asked; "never" ignores the advice).  Measured on an AMD EPYC
 * Zen 5 (OpenBLAS SkylakeX, 2 threads), the same library with and without
 * the advice alternated: ResNet-50 training best steps 1.02-1.10x faster in
 * four pairs of five (median 13.46 against 12.80 img/s), its forward
 * 1.01x in five of five, resnet20 28x28x1 training 1.00-1.01x; peak RSS
 * unchanged (docs/performance.md, round 18). */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM (4 * HUGE_PAGE)

int rl_mem_advises_huge_pages(void)
{
    const char *off = getenv("RELAB_HUGE_PAGES");
    return !(off && !strcmp(off, "0"));
}

const char *rl_mem_thp_setting(char *buf, size_t len)
{
    /* the file lists the choices with the one in force bracketed:
     * "always [madvise] never" */
    char line[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    const int got = f && fgets(line, sizeof line, f) != NULL;
    if (f) fclose(f);
    const char *open = got ? strchr(line, '[') : NULL, *close = open ? strchr(open, ']') : NULL;
    if (!close || len == 0) return "unknown";
    snprintf(buf, len, "%.*s", (int)(close - open - 1), open + 1);
    return buf;
}

void *rl_alloc(size_t bytes)
{
    size_t rounded = (bytes + RL_ALIGN - 1) & ~(size_t)(RL_ALIGN - 1);
    if (rounded == 0) rounded = RL_ALIGN;
    void *p;
    if (rounded >= HUGE_FROM) {
        rounded = (rounded + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        p = aligned_alloc(HUGE_PAGE, rounded);
        /* advice only: where the kernel has no THP this fails harmlessly */
        if (p && rl_mem_advises_huge_pages()) (void)madvise(p, rounded, MADV_HUGEPAGE);
    } else {
        p = aligned_alloc(RL_ALIGN, rounded);
    }
    if (p) memset(p, 0, rounded);
    return p;
}

void *rl_alloc_checked(size_t bytes, const char *what, rl_error *err)
{
    void *p = rl_alloc(bytes);
    if (!p)
        rl_fail(err, RL_ERR_NOMEM,
                "out of memory allocating %.1f MiB for %s; "
                "reduce the batch size or free memory",
                bytes / 1048576.0, what);
    return p;
}

void rl_free(void *p)
{
    free(p);
}
