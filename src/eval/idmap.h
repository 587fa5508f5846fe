/* idmap.h: a string -> index map (open addressing, FNV-1a hash) for matching
 * prediction ids with label-list paths and with each other.
 *
 * Keys are borrowed, not copied: the strings must outlive the map.  Not thread
 * safe for concurrent inserts; lookups may run concurrently. */
#ifndef RL_IDMAP_H
#define RL_IDMAP_H

#include <stdint.h>
#include "util/status.h"

typedef struct {
    int64_t cap; /* slots, a power of two */
    int64_t count;
    const char **keys; /* [cap] borrowed, NULL = empty */
    int64_t *values;   /* [cap] */
} rl_idmap;

/* Prepares a map for up to n keys. */
rl_status rl_idmap_init(rl_idmap *m, int64_t n, rl_error *err);
/* Inserts key -> value; returns the value already stored when key is present
 * (and leaves it unchanged), else -1.  The map must not be full (n keys). */
int64_t rl_idmap_put(rl_idmap *m, const char *key, int64_t value);
/* The value for key, or -1. */
int64_t rl_idmap_get(const rl_idmap *m, const char *key);
void rl_idmap_free(rl_idmap *m);

#endif
