/* table.c: the Table 2 layout of `relab ablate` (see table.h). */
#include "ablate/table.h"

#include <math.h>
#include <stdlib.h>

#include "ablate/runs.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rl_ablate_median(const double *v, int n)
{
    double buf[RL_ABLATE_MAX];
    int k = 0;
    for (int i = 0; i < n && k < RL_ABLATE_MAX; i++)
        if (isfinite(v[i])) buf[k++] = v[i];
    if (!k) return NAN;
    qsort(buf, (size_t)k, sizeof *buf, cmp_double);
    return k % 2 ? buf[k / 2] : 0.5 * (buf[k / 2 - 1] + buf[k / 2]);
}

static double cell(const rl_ablate_grid *g, const double *acc, int m, int v, int e, int *nfinished)
{
    int base = rl_ablate_run_number(g, m, v, e, 0), k = 0;
    for (int s = 0; s < g->nseeds; s++)
        k += isfinite(acc[base + s]) != 0;
    if (nfinished) *nfinished = k;
    return rl_ablate_median(acc + base, g->nseeds);
}

/* "76.6 (+0.6)" with the delta rounded from the unrounded medians. */
static void format_cell(const rl_ablate_grid *g, const double *acc, int m, int v, int e, char *out, size_t n)
{
    double x = cell(g, acc, m, v, e, NULL);
    if (!isfinite(x)) {
        snprintf(out, n, "-");
        return;
    }
    double b = cell(g, acc, m, g->baseline, e, NULL);
    if (v == g->baseline || !isfinite(b))
        snprintf(out, n, "%.1f", 100 * x);
    else {
        double d = 100 * (x - b);
        if (fabs(d) < 0.05) d = 0; /* no "-0.0" */
        snprintf(out, n, "%.1f (%+.1f)", 100 * x, d);
    }
}

void rl_ablate_table_md(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second)
{
    const char *name2 = second ? rl_ablate_second_metric(g) : NULL;
    fprintf(f, "| model | variant |");
    for (int e = 0; e < g->nepochs; e++)
        fprintf(f, " %s %d ep |", g->metric, g->epochs[e]);
    if (name2)
        for (int e = 0; e < g->nepochs; e++)
            fprintf(f, " %s %d ep |", name2, g->epochs[e]);
    fprintf(f, "\n|---|---|");
    for (int e = 0; e < g->nepochs * (name2 ? 2 : 1); e++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    for (int m = 0; m < g->nmodels; m++)
        for (int v = 0; v < g->nvariants; v++) {
            fprintf(f, "| %s | %s |", g->models[m].label, g->variants[v].label);
            char c[64];
            for (int e = 0; e < g->nepochs; e++) {
                format_cell(g, primary, m, v, e, c, sizeof c);
                fprintf(f, " %s |", c);
            }
            if (name2)
                for (int e = 0; e < g->nepochs; e++) {
                    format_cell(g, second, m, v, e, c, sizeof c);
                    fprintf(f, " %s |", c);
                }
            fprintf(f, "\n");
        }
    fprintf(f, "\n%s top-1 in %%, median of %d seed%s; (+x) = difference to %s of the same model and schedule.\n",
            g->metric, g->nseeds, g->nseeds > 1 ? "s" : "", g->variants[g->baseline].label);
}

static void csv_metric(FILE *f, const rl_ablate_grid *g, const double *acc, const char *name)
{
    for (int m = 0; m < g->nmodels; m++)
        for (int v = 0; v < g->nvariants; v++)
            for (int e = 0; e < g->nepochs; e++) {
                int k;
                double x = cell(g, acc, m, v, e, &k), b = cell(g, acc, m, g->baseline, e, NULL);
                fprintf(f, "%s,%s,%s,%d,", g->models[m].label, g->variants[v].label, name, g->epochs[e]);
                if (isfinite(x)) fprintf(f, "%.4f", 100 * x);
                fprintf(f, ",");
                if (isfinite(x) && isfinite(b)) fprintf(f, "%.4f", 100 * (x - b));
                fprintf(f, ",%d,", k);
                int base = rl_ablate_run_number(g, m, v, e, 0);
                for (int s = 0; s < g->nseeds; s++) {
                    if (s) fprintf(f, ";");
                    if (isfinite(acc[base + s])) fprintf(f, "%.4f", 100 * acc[base + s]);
                }
                fprintf(f, "\n");
            }
}

void rl_ablate_table_csv(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second)
{
    fprintf(f, "model,variant,metric,epochs,median,delta,seeds_done,values\n");
    csv_metric(f, g, primary, g->metric);
    if (second && rl_ablate_second_metric(g)) csv_metric(f, g, second, rl_ablate_second_metric(g));
}

/* "14", "14-16" when seeds differ, "-" when no run reported its steps. */
static void format_steps(const rl_ablate_grid *g, const int64_t *steps, int m, int v, int e, char *out, size_t n)
{
    int64_t lo = INT64_MAX, hi = -1;
    for (int s = 0; s < g->nseeds; s++) {
        int64_t x = steps[rl_ablate_run_number(g, m, v, e, s)];
        if (x < 0) continue;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    if (hi < 0)
        snprintf(out, n, "-");
    else if (lo == hi)
        snprintf(out, n, "%lld", (long long)lo);
    else
        snprintf(out, n, "%lld-%lld", (long long)lo, (long long)hi);
}

void rl_ablate_steps_md(FILE *f, const rl_ablate_grid *g, const int64_t *steps)
{
    fprintf(f, "\nOptimisation steps per run (from each run's metrics.csv):\n\n");
    for (int m = 0; m < g->nmodels; m++)
        for (int v = 0; v < g->nvariants; v++) {
            fprintf(f, "- %s %s:", g->models[m].label, g->variants[v].label);
            for (int e = 0; e < g->nepochs; e++) {
                char c[64];
                format_steps(g, steps, m, v, e, c, sizeof c);
                fprintf(f, "%s %d ep %s", e ? "," : "", g->epochs[e], c);
            }
            fprintf(f, "\n");
        }
}
