/* recipe_keys.h: the recipe's key table, private to src/train (recipe.c
 * parses, resolves and writes recipes through it; not installed).
 *
 * One table describes every key: name, type, where it lives in rl_recipe, its
 * valid range or words, and the section it opens in the canonical text.
 * Reading a value (rl_recipe_key_set) and writing it back
 * (rl_recipe_key_write) both walk that table, so a key cannot be readable but
 * not writable.  The table is constant data: every function is re-entrant
 * and thread-safe. */
#ifndef RL_RECIPE_KEYS_H
#define RL_RECIPE_KEYS_H

#include <stddef.h>
#include <stdio.h>

#include "train/recipe.h"

/* At least the number of keys (checked where the table is defined). */
#define RL_RECIPE_KEYS_MAX 64

typedef enum {
    RL_KEY_INT,
    RL_KEY_INT64,
    RL_KEY_DOUBLE,
    RL_KEY_BOOL,
    RL_KEY_ENUM,
    RL_KEY_PATH,
    RL_KEY_BIAS,
    RL_KEY_DECAYS,
    RL_KEY_MODEL
} rl_recipe_key_type;

typedef struct {
    const char *name;
    rl_recipe_key_type type;
    size_t off;
    /* Numeric range: lo/hi, open or closed at each end. */
    double lo, hi;
    int lo_open, hi_open;
    const char *const *words; /* RL_KEY_ENUM */
    int zero_is_auto;         /* RL_KEY_INT: "auto" is read and written as 0 */
    const char *section;      /* starts a group in the canonical text */
} rl_recipe_key;

/* Key i (0 <= i < rl_recipe_num_keys()), in canonical order. */
const rl_recipe_key *rl_recipe_key_at(int i);

/* The index of the key called name, or -1. */
int rl_recipe_key_find(const char *name);

/* Parses value (non-empty, except for a path) into k's field of r; a bad
 * value is RL_ERR_ARG "key 'NAME': expected ..., found '...'[; hint: ...]". */
rl_status rl_recipe_key_set(rl_recipe *r, const rl_recipe_key *k, const char *value, rl_error *err);

/* Prints k's value in r in the form rl_recipe_key_set reads back. */
void rl_recipe_key_write(const rl_recipe *r, const rl_recipe_key *k, FILE *f);

#endif
