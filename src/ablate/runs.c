/* runs.c: a grid's runs, their names, recipes and overrides (see runs.h). */
#include "ablate/runs.h"

#include <stdio.h>
#include <string.h>

#include "util/kv.h"

int rl_ablate_num_runs(const rl_ablate_grid *g)
{
    return g->nmodels * g->nvariants * g->nepochs * g->nseeds;
}

int rl_ablate_run_number(const rl_ablate_grid *g, int m, int v, int e, int s)
{
    return ((m * g->nvariants + v) * g->nepochs + e) * g->nseeds + s;
}

void rl_ablate_run_index(const rl_ablate_grid *g, int r, int *m, int *v, int *e, int *s)
{
    if (s) *s = r % g->nseeds;
    r /= g->nseeds;
    if (e) *e = r % g->nepochs;
    r /= g->nepochs;
    if (v) *v = r % g->nvariants;
    if (m) *m = r / g->nvariants;
}

void rl_ablate_run_name(const rl_ablate_grid *g, int r, char *out, size_t n)
{
    int m, v, e, s;
    rl_ablate_run_index(g, r, &m, &v, &e, &s);
    snprintf(out, n, "%s-%s-%dep-s%lld", g->models[m].label, g->variants[v].label, g->epochs[e],
             (long long)g->seeds[s]);
}

/* Fills {model} {variant} {epochs} {seed} {dir} {out}. */
static int fill(const rl_ablate_grid *g, int r, const char *in, char *out, size_t n)
{
    int m, v, e, s;
    rl_ablate_run_index(g, r, &m, &v, &e, &s);
    char epochs[16], seed[32];
    snprintf(epochs, sizeof epochs, "%d", g->epochs[e]);
    snprintf(seed, sizeof seed, "%lld", (long long)g->seeds[s]);
    const rl_ablate_var vars[] = {
        {"model", g->models[m].label}, {"variant", g->variants[v].label}, {"epochs", epochs}, {"seed", seed}};
    return rl_ablate_grid_expand(g, in, vars, 4, out, n);
}

rl_status rl_ablate_run_recipe(const rl_ablate_grid *g, int r, char *out, size_t n, rl_error *err)
{
    char tmp[RL_ABLATE_PATH];
    int cut = fill(g, r, g->recipe, tmp, sizeof tmp) != 0;
    if (!cut) cut = snprintf(out, n, tmp[0] == '/' ? "%s%s" : "%s/%s", tmp[0] == '/' ? "" : g->dir, tmp) >= (int)n;
    if (cut) return rl_fail(err, RL_ERR_ARG, "%s: the recipe path of run %d is too long", g->path, r);
    return RL_OK;
}

/* Appends the ';'-separated assignments of list to sets[at..max). */
static int split_sets(const rl_ablate_grid *g, int r, const char *list, char (*sets)[RL_ABLATE_SETS], int at, int max,
                      rl_error *err)
{
    char buf[RL_ABLATE_SETS];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        tok = rl_kv_trim(tok);
        if (!*tok) continue;
        if (at == max)
            return rl_fail(err, RL_ERR_ARG, "%s: more than %d recipe overrides for one run", g->path, max), -1;
        if (fill(g, r, tok, sets[at++], RL_ABLATE_SETS))
            return rl_fail(err, RL_ERR_ARG, "%s: override '%s' is too long once filled in", g->path, tok), -1;
    }
    return at;
}

int rl_ablate_run_sets(const rl_ablate_grid *g, int r, char (*sets)[RL_ABLATE_SETS], int max, rl_error *err)
{
    int m, v, e, s;
    rl_ablate_run_index(g, r, &m, &v, &e, &s);
    if (max < 2) return rl_fail(err, RL_ERR_ARG, "no room for overrides"), -1;
    snprintf(sets[0], RL_ABLATE_SETS, "epochs=%d", g->epochs[e]);
    snprintf(sets[1], RL_ABLATE_SETS, "seed=%lld", (long long)g->seeds[s]);
    int n = 2;
    if ((n = split_sets(g, r, g->sets, sets, n, max, err)) < 0) return -1;
    if ((n = split_sets(g, r, g->models[m].sets, sets, n, max, err)) < 0) return -1;
    return split_sets(g, r, g->variants[v].sets, sets, n, max, err);
}
