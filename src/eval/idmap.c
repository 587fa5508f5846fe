/* idmap.c: open-addressing string map (see idmap.h).  Load factor <= 1/2, so
 * linear probing stays short. */
#include "eval/idmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a offset basis */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

rl_status rl_idmap_init(rl_idmap *m, int64_t n, rl_error *err)
{
    memset(m, 0, sizeof *m);
    int64_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    m->keys = calloc((size_t)cap, sizeof *m->keys);
    m->values = calloc((size_t)cap, sizeof *m->values);
    if (!m->keys || !m->values) {
        rl_idmap_free(m);
        return rl_fail(err, RL_ERR_NOMEM, "id map: out of memory for %lld ids", (long long)n);
    }
    m->cap = cap;
    return RL_OK;
}

int64_t rl_idmap_put(rl_idmap *m, const char *key, int64_t value)
{
    RL_CHECK(2 * (m->count + 1) <= m->cap);
    uint64_t i = hash(key) & (uint64_t)(m->cap - 1);
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key)) return m->values[i];
        i = (i + 1) & (uint64_t)(m->cap - 1);
    }
    m->keys[i] = key;
    m->values[i] = value;
    m->count++;
    return -1;
}

int64_t rl_idmap_get(const rl_idmap *m, const char *key)
{
    if (!m->cap) return -1;
    uint64_t i = hash(key) & (uint64_t)(m->cap - 1);
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key)) return m->values[i];
        i = (i + 1) & (uint64_t)(m->cap - 1);
    }
    return -1;
}

void rl_idmap_free(rl_idmap *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}
