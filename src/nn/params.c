/* params.c: lookups in a network's table of named tensors. */
#include "nn/params.h"

#include <string.h>

rl_param *rl_params_find(rl_param_table *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (!strcmp(t->entries[i].name, name)) return &t->entries[i];
    return NULL;
}

size_t rl_params_learnable(const rl_param_table *t)
{
    size_t n = 0;
    for (int i = 0; i < t->count; i++)
        if (t->entries[i].kind == RL_PARAM_WEIGHT) n += t->entries[i].count;
    return n;
}
