/* mem.h: 64-byte aligned allocation (one cache line, one AVX-512 register).
 *
 * rl_alloc returns zeroed memory or NULL; the caller owns it and releases it
 * with rl_free.  rl_alloc_checked sets err with the size and what it was for.
 * Allocations of 8 MiB or more start on a 2 MiB boundary and are advised to
 * the kernel as transparent huge pages (mem.c says why);
 * RELAB_HUGE_PAGES=0 in the environment withholds the advice.  Thread-safe
 * as malloc is. */
#ifndef RL_MEM_H
#define RL_MEM_H

#include <stddef.h>
#include "util/status.h"

#define RL_ALIGN 64

void *rl_alloc(size_t bytes);
void *rl_alloc_checked(size_t bytes, const char *what, rl_error *err);
void rl_free(void *p);
/* Whether rl_alloc advises huge pages (RELAB_HUGE_PAGES is not "0"). */
int rl_mem_advises_huge_pages(void);
/* The kernel's transparent huge page setting ("always", "madvise", "never")
 * written into buf, or the constant "unknown" where it cannot be read. */
const char *rl_mem_thp_setting(char *buf, size_t len);
/* Rounds n floats up so that consecutive sub-buffers stay 64-byte aligned. */
static inline size_t rl_round_floats(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

#endif
