/* mem.c: aligned, zeroed allocations. */
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

void *rl_alloc(size_t bytes)
{
    size_t rounded = (bytes + RL_ALIGN - 1) & ~(size_t)(RL_ALIGN - 1);
    if (rounded == 0) rounded = RL_ALIGN;
    void *p = aligned_alloc(RL_ALIGN, rounded);
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
