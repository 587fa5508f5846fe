/* results.c: curves, predictions and scores of a grid's runs (see results.h). */
#include "ablate/results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ablate/runs.h"
#include "ablate/sched.h"
#include "eval/metrics.h"
#include "eval/predict.h"
#include "eval/preds.h"
#include "eval/refsets.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timer.h"

rl_status rl_ablate_results_alloc(rl_ablate_results *res, const rl_ablate_grid *g, rl_error *err)
{
    memset(res, 0, sizeof *res);
    const size_t n = (size_t)rl_ablate_num_runs(g);
    res->n = (int)n;
    res->primary = malloc(n * sizeof *res->primary);
    res->second = malloc(n * sizeof *res->second);
    res->scores = malloc(n * sizeof *res->scores);
    res->steps = malloc(n * sizeof *res->steps);
    res->have_curve = calloc(n, sizeof *res->have_curve);
    res->curves = malloc(n * sizeof *res->curves);
    if (!res->primary || !res->second || !res->scores || !res->steps || !res->have_curve || !res->curves) {
        rl_ablate_results_free(res);
        return rl_fail(err, RL_ERR_NOMEM, "out of memory for the results of %zu runs", n);
    }
    for (size_t r = 0; r < n; r++) {
        res->primary[r] = res->second[r] = NAN;
        res->scores[r].acc[0] = res->scores[r].acc[1] = rl_acc_make(0, 0);
        res->steps[r] = -1;
        res->curves[r].n = 0;
    }
    return RL_OK;
}

void rl_ablate_results_free(rl_ablate_results *res)
{
    free(res->primary);
    free(res->second);
    free(res->scores);
    free(res->steps);
    free(res->have_curve);
    free(res->curves);
    memset(res, 0, sizeof *res);
}

/* Scores one predictions file: primary top-1 (against grid labels if given)
 * and the second metric (ReaL or alt labels), left unscored when absent. */
static rl_status score(const rl_ablate_grid *g, const rl_sets *real, const char *path, rl_ablate_run_score *sc,
                       rl_error *err)
{
    rl_preds p;
    rl_status st = rl_preds_read(path, &p, err);
    if (st) return st;
    int32_t *labels = malloc(sizeof *labels * (size_t)(p.n ? p.n : 1));
    int64_t *ref = malloc(sizeof *ref * (size_t)(p.n ? p.n : 1));
    rl_eval_result res;
    if (!labels || !ref) {
        st = rl_fail(err, RL_ERR_NOMEM, "out of memory scoring %s", path);
        goto done;
    }
    if ((st = rl_eval_ref_index(&p, ref, path, err))) goto done;
    if ((st = rl_eval_labels(&p, ref, g->labels[0] ? g->labels : NULL, NULL, labels, err))) goto done;
    if ((st = rl_eval_run(&p, labels, ref, g->real[0] ? real : NULL, NULL, NULL, &res, err))) goto done;
    sc->acc[0] = res.top1;
    if (g->real[0]) sc->acc[1] = res.real1;
    if (g->alt_labels[0]) {
        if ((st = rl_eval_labels(&p, ref, g->alt_labels, NULL, labels, err))) goto done;
        if ((st = rl_eval_run(&p, labels, ref, NULL, NULL, NULL, &res, err))) goto done;
        sc->acc[1] = res.top1;
    }
done:
    free(labels);
    free(ref);
    rl_preds_free(&p);
    return st;
}

static int newer_or_same(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_mtime >= sb.st_mtime;
}

/* DIR/preds.h5 for a finished run, predicted now unless it is up to date. */
static rl_status predict(const rl_ablate_grid *g, const char *name, const char *dir, const char *preds, rl_error *err)
{
    char fin[RL_FS_PATH_MAX + 16];
    snprintf(fin, sizeof fin, "%s/final.h5", dir);
    if (newer_or_same(preds, fin)) return RL_OK;
    rl_predict_options po = {.data = g->eval_data, .topk = 5, .threads = -1};
    rl_preds p;
    double t = rl_now();
    rl_status st = rl_predict_run(dir, &po, &p, err);
    if (!st) st = rl_preds_write(preds, &p, err);
    rl_preds_free(&p);
    if (!st) rl_log(RL_LOG_INFO, "relab ablate: %s: predicted %s in %.0f s", name, g->eval_data, rl_now() - t);
    return st;
}

/* The steps a run made: its curve's last step. */
static int64_t steps_made(const rl_ablate_curve *c)
{
    return c->n > 0 ? c->step[c->n - 1] : -1;
}

/* Reads run r's curve and scores it when it finished; errors are prefixed
 * with the run's name. */
static rl_status score_run(const rl_ablate_grid *g, const rl_sets *real, int r, rl_ablate_results *res, rl_error *err)
{
    char dir[RL_FS_PATH_MAX], path[RL_FS_PATH_MAX + 16], name[3 * RL_ABLATE_LABEL + 64];
    rl_ablate_run_name(g, r, name, sizeof name);
    rl_status st = rl_ablate_run_dir(g, r, dir, sizeof dir, err);
    if (st) return st;
    rl_error ignored;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    res->have_curve[r] = rl_ablate_curve_read(path, &res->curves[r], &ignored) == RL_OK;
    res->steps[r] = res->have_curve[r] ? steps_made(&res->curves[r]) : -1;
    if (rl_ablate_state_of(dir) != RL_ABLATE_DONE)
        return rl_fail(err, RL_ERR_IO, "%s: not finished, left out of the table", name);
    snprintf(path, sizeof path, "%s/preds.h5", dir);
    st = predict(g, name, dir, path, err);
    if (!st) st = score(g, real, path, &res->scores[r], err);
    if (!st) {
        res->primary[r] = res->scores[r].acc[0].total > 0 ? res->scores[r].acc[0].acc : NAN;
        res->second[r] = res->scores[r].acc[1].total > 0 ? res->scores[r].acc[1].acc : NAN;
    }
    if (st) rl_error_prefix(err, "%s", name);
    return st;
}

rl_status rl_ablate_score(const rl_ablate_grid *g, rl_ablate_results *res, rl_error *err)
{
    rl_sets real = {0};
    rl_status st = RL_OK;
    if (g->real[0] && (st = rl_real_read(g->real, 1000, &real, err))) return st;
    for (int r = 0; r < res->n; r++) {
        rl_error e;
        rl_status s = score_run(g, &real, r, res, &e);
        if (!s) continue;
        rl_log(RL_LOG_WARN, "relab ablate: %s", e.msg);
        st = s;
        if (err) *err = e;
    }
    rl_sets_free(&real);
    return st;
}
