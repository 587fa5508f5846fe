/* outputs.c: the files of an ablation's output folder (see outputs.h). */
#include "ablate/outputs.h"

#include <math.h>

#include "ablate/runs.h"
#include "ablate/svg.h"
#include "ablate/table.h"
#include "util/fs.h"

/* runs.csv (see outputs.h). */
static void runs_csv(FILE *f, const rl_ablate_grid *g, const rl_ablate_results *res)
{
    fprintf(f, "run,model,variant,epochs,seed,steps,primary,second\n");
    for (int r = 0; r < res->n; r++) {
        int m, v, e, s;
        char name[3 * RL_ABLATE_LABEL + 64];
        rl_ablate_run_index(g, r, &m, &v, &e, &s);
        rl_ablate_run_name(g, r, name, sizeof name);
        fprintf(f, "%s,%s,%s,%d,%lld,", name, g->models[m].label, g->variants[v].label, g->epochs[e],
                (long long)g->seeds[s]);
        if (res->steps[r] >= 0) fprintf(f, "%lld", (long long)res->steps[r]);
        fprintf(f, ",");
        if (isfinite(res->primary[r])) fprintf(f, "%.4f", 100 * res->primary[r]);
        fprintf(f, ",");
        if (isfinite(res->second[r])) fprintf(f, "%.4f", 100 * res->second[r]);
        fprintf(f, "\n");
    }
}

enum { OUT_MD, OUT_CSV, OUT_RUNS, OUT_JSON, OUT_CURVES, OUT_SCATTER, NOUT };
static const char *const out_names[NOUT] = {"table.md",     "table.csv",  "runs.csv",
                                            "results.json", "curves.svg", "imagenet_vs_real.svg"};

static void write_one(FILE *f, int k, const rl_ablate_grid *g, const rl_ablate_results *res)
{
    const double *second = rl_ablate_second_metric(g) ? res->second : NULL;
    switch (k) {
    case OUT_MD:
        fprintf(f, "# %s\n\n", g->path);
        rl_ablate_table_md(f, g, res->primary, second);
        rl_ablate_steps_md(f, g, res->steps);
        break;
    case OUT_CSV: rl_ablate_table_csv(f, g, res->primary, second); break;
    case OUT_RUNS: runs_csv(f, g, res); break;
    case OUT_CURVES: rl_ablate_svg_curves(f, g, res->curves, res->have_curve); break;
    case OUT_JSON: rl_ablate_scores_json(f, g, res->scores, res->steps); break;
    case OUT_SCATTER: rl_ablate_svg_scatter(f, g, res->scores); break;
    }
}

rl_status rl_ablate_write_outputs(const rl_ablate_grid *g, const rl_ablate_results *res, rl_error *err)
{
    for (int k = 0; k < NOUT; k++) {
        if (k == OUT_SCATTER && !rl_ablate_second_metric(g)) continue;
        char path[RL_FS_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", g->out, out_names[k]) >= (int)sizeof path)
            return rl_fail(err, RL_ERR_ARG, "%s/%s: path too long", g->out, out_names[k]);
        rl_fs_writer w;
        rl_status st = rl_fs_writer_open(&w, path, err);
        if (st) return st;
        write_one(w.f, k, g, res);
        if ((st = rl_fs_writer_commit(&w, err))) return st;
    }
    return RL_OK;
}
