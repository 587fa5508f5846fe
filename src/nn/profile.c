/* profile.c: per-operation time table (see profile.h). */
#include "nn/profile.h"

#include <stdlib.h>
#include <string.h>

void rl_profile_reset(rl_profile *p)
{
    memset(p, 0, sizeof *p);
}

void rl_profile_add(rl_profile *p, const char *kind, const char *shape, double seconds, double cpu_seconds,
                    double flops)
{
    int i = 0;
    while (i < p->count && (strcmp(p->rows[i].kind, kind) || strcmp(p->rows[i].shape, shape)))
        i++;
    if (i == p->count) {
        if (p->count == RL_PROFILE_ROWS) {
            p->dropped++;
            return;
        }
        memset(&p->rows[i], 0, sizeof p->rows[i]);
        snprintf(p->rows[i].kind, sizeof p->rows[i].kind, "%s", kind);
        snprintf(p->rows[i].shape, sizeof p->rows[i].shape, "%s", shape);
        p->count++;
    }
    p->rows[i].seconds += seconds;
    p->rows[i].cpu_seconds += cpu_seconds;
    p->rows[i].flops += flops;
    p->rows[i].calls++;
}

static int by_time_desc(const void *a, const void *b)
{
    double x = ((const rl_profile_row *)a)->seconds, y = ((const rl_profile_row *)b)->seconds;
    return (x < y) - (x > y);
}

static void print_rows(const rl_profile_row *rows, int n, int steps, double step_seconds, double peak, FILE *out)
{
    for (int i = 0; i < n; i++) {
        const rl_profile_row *r = &rows[i];
        double t = r->seconds / steps, gf = r->seconds > 0 ? r->flops / r->seconds * 1e-9 : 0;
        fprintf(out, "  %-14s %-24s %9.2f ms %6.1f%% %5.2f cores", r->kind, r->shape, 1e3 * t,
                step_seconds > 0 ? 100 * t / step_seconds : 0.0, r->seconds > 0 ? r->cpu_seconds / r->seconds : 0.0);
        if (r->flops > 0) {
            fprintf(out, " %8.1f GFLOP/s", gf);
            if (peak > 0) fprintf(out, " %5.1f%% of peak", 100 * gf / peak);
        }
        fputc('\n', out);
    }
}

void rl_profile_print(const rl_profile *p, int steps, double step_seconds, double peak_gflops, FILE *out)
{
    if (steps < 1) steps = 1;
    rl_profile_row kinds[RL_PROFILE_ROWS], shapes[RL_PROFILE_ROWS];
    int nk = 0;
    double total = 0, cpu_total = 0;
    for (int i = 0; i < p->count; i++) {
        const rl_profile_row *r = &p->rows[i];
        total += r->seconds;
        cpu_total += r->cpu_seconds;
        shapes[i] = *r;
        int k = 0;
        while (k < nk && strcmp(kinds[k].kind, r->kind))
            k++;
        if (k == nk) {
            kinds[nk] = *r;
            kinds[nk].shape[0] = '\0';
            nk++;
        } else {
            kinds[k].seconds += r->seconds;
            kinds[k].cpu_seconds += r->cpu_seconds;
            kinds[k].flops += r->flops;
            kinds[k].calls += r->calls;
        }
    }
    qsort(kinds, (size_t)nk, sizeof kinds[0], by_time_desc);
    qsort(shapes, (size_t)p->count, sizeof shapes[0], by_time_desc);
    fprintf(out,
            "per kind (ms per step; share of the %.1f ms step; cores busy = process CPU time / wall time; timed "
            "operations cover %.1f ms at %.2f cores)\n",
            1e3 * step_seconds, 1e3 * total / steps, total > 0 ? cpu_total / total : 0.0);
    print_rows(kinds, nk, steps, step_seconds, peak_gflops, out);
    fprintf(out, "per kind and shape\n");
    print_rows(shapes, p->count, steps, step_seconds, peak_gflops, out);
    if (p->dropped) fprintf(out, "  (%d additions dropped: table full)\n", p->dropped);
}
