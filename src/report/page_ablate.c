/* page_ablate.c: the report's ablation parts: the Table 2 layout with 95%
 * intervals and the spread over seeds, the two-label-set scatter and the
 * training curves (sections.h).
 *
 * A cell's median, interval and spread are ablate/scores.h's
 * rl_ablate_cell_of, the numbers the scatter plots too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ablate/svg.h"
#include "report/html.h"
#include "report/sections.h"

static void table_cell(FILE *f, const rl_ablate_grid *g, const rl_ablate_run_score *s, int k, int m, int v, int e)
{
    rl_ablate_cell c = rl_ablate_cell_of(g, s, k, m, v, e), b = rl_ablate_cell_of(g, s, k, m, g->baseline, e);
    if (!c.finished) {
        fprintf(f, "<td class=\"cell n\" data-seeds=\"0\">&ndash; <small>not finished</small></td>\n");
        return;
    }
    fprintf(f,
            "<td class=\"cell n\" data-median=\"%.6f\" data-lo=\"%.6f\" data-hi=\"%.6f\" data-min=\"%.6f\" "
            "data-max=\"%.6f\" data-seeds=\"%d\" data-n=\"%lld\" title=\"",
            100 * c.median, 100 * c.lo, 100 * c.hi, 100 * c.min, 100 * c.max, c.finished, (long long)c.n);
    const int base = ((m * g->nvariants + v) * g->nepochs + e) * g->nseeds;
    for (int q = 0; q < g->nseeds; q++) {
        const rl_acc *a = &s[base + q].acc[k];
        if (a->total > 0)
            fprintf(f, "%sseed %lld: %.2f%% (%lld of %lld)", q ? "; " : "", (long long)g->seeds[q], 100 * a->acc,
                    (long long)a->correct, (long long)a->total);
        else
            fprintf(f, "%sseed %lld: not finished", q ? "; " : "", (long long)g->seeds[q]);
    }
    fprintf(f, "\"><span class=\"v\">%.1f</span>", 100 * c.median);
    if (v != g->baseline && b.finished) {
        double d = 100 * (c.median - b.median);
        if (fabs(d) < 0.05) d = 0; /* no "-0.0" */
        fprintf(f, " <span class=\"d %s\">(%+.1f)</span>", d > 0 ? "up" : d < 0 ? "down" : "", d);
    }
    fprintf(f, " <small>95%% CI %.1f&ndash;%.1f</small>", 100 * c.lo, 100 * c.hi);
    if (g->nseeds > 1)
        fprintf(f, " <small>%d seed%s %.1f&ndash;%.1f</small>", c.finished, c.finished > 1 ? "s" : "", 100 * c.min,
                100 * c.max);
    fprintf(f, "</td>\n");
}

static void table(FILE *f, const rl_ablate_grid *g, const rl_ablate_run_score *s)
{
    const char *second = rl_ablate_second_metric(g);
    const int nk = second ? 2 : 1;
    fprintf(f,
            "<table id=\"table2\">\n<caption>Top-1 in %%: the median of %d seed%s (the grid's schedules as "
            "columns). In brackets: the difference to <em>",
            g->nseeds, g->nseeds > 1 ? "s" : "");
    rl_html_text(f, g->variants[g->baseline].label);
    fprintf(f,
            "</em> of the same model and schedule. 95%% CI: the Clopper-Pearson interval of the median's accuracy "
            "on the images scored (test-set sampling only)%s. Hover a cell for each seed.</caption>\n",
            g->nseeds > 1 ? "; seeds: the lowest and highest seed, the spread of training" : "");
    fprintf(f, "<thead>\n<tr><th scope=\"col\" rowspan=\"2\">model</th><th scope=\"col\" rowspan=\"2\">variant</th>");
    for (int k = 0; k < nk; k++) {
        fprintf(f, "<th scope=\"colgroup\" colspan=\"%d\">", g->nepochs);
        rl_html_text(f, k ? second : g->metric);
        fprintf(f, "</th>");
    }
    fprintf(f, "</tr>\n<tr>");
    for (int k = 0; k < nk; k++)
        for (int e = 0; e < g->nepochs; e++)
            fprintf(f, "<th scope=\"col\" class=\"n\">%d epochs</th>", g->epochs[e]);
    fprintf(f, "</tr>\n</thead>\n<tbody>\n");
    for (int m = 0; m < g->nmodels; m++)
        for (int v = 0; v < g->nvariants; v++) {
            fprintf(f, "<tr>");
            if (v == 0) {
                fprintf(f, "<th scope=\"rowgroup\" rowspan=\"%d\">", g->nvariants);
                rl_html_text(f, g->models[m].label);
                fprintf(f, "</th>");
            }
            fprintf(f, "<th scope=\"row\">");
            rl_html_text(f, g->variants[v].label);
            fprintf(f, "</th>\n");
            for (int k = 0; k < nk; k++)
                for (int e = 0; e < g->nepochs; e++)
                    table_cell(f, g, s, k, m, v, e);
            fprintf(f, "</tr>\n");
        }
    fprintf(f, "</tbody>\n</table>\n");
}

static void curves_figure(FILE *f, const rl_ablate_grid *g, const rl_ablate_curve *curves, const int *have)
{
    fprintf(f, "<section id=\"curves\" aria-labelledby=\"h-curves\">\n<h2 id=\"h-curves\">Training curves</h2>\n"
               "<p>From each run's <code>metrics.csv</code>. Left: top-1 on the validation set against its own "
               "labels, which carry no injected noise. Right: top-1 on the training labels as trained; with noisy "
               "labels, a climb past the share of right labels is memorisation.</p>\n<figure>\n");
    rl_ablate_svg_curves(f, g, curves, have);
    fprintf(f, "<figcaption>Colour: variant; dash: model.</figcaption>\n</figure>\n</section>\n");
}

void rl_page_ablation(rl_page_ctx *p, const rl_ablate_grid *g, const rl_ablate_run_score *s,
                      const rl_ablate_curve *curves, const int *have)
{
    FILE *f = p->f;
    const char *second = rl_ablate_second_metric(g);
    fprintf(f, "<section id=\"table\" aria-labelledby=\"h-table\">\n<h2 id=\"h-table\">Table 2 layout</h2>\n"
               "<p>The layout of Beyer et al. 2020 (&ldquo;Are we done with ImageNet?&rdquo;), Table 2: one row "
               "per model and variant, one column per schedule");
    if (second) {
        fprintf(f, ", for <em>");
        rl_html_text(f, g->metric);
        fprintf(f, "</em> and for <em>");
        rl_html_text(f, second);
        fprintf(f, "</em>");
    }
    fprintf(f, ".</p>\n");
    table(f, g, s);
    fprintf(f, "</section>\n");
    if (second) {
        fprintf(f, "<section id=\"scatter\" aria-labelledby=\"h-scatter\">\n<h2 id=\"h-scatter\">Two label sets</h2>\n"
                   "<p>Each model scored against both label sets. Points above the diagonal score higher on the "
                   "second; a gap that changes between variants means the first label set hides or exaggerates "
                   "their difference.</p>\n<figure>\n");
        rl_ablate_svg_scatter(f, g, s);
        fprintf(f, "<figcaption>One labelled mark per model, variant and schedule, at the median over seeds; "
                   "whiskers: 95%% intervals on both axes; small hollow marks: the single seeds.</figcaption>\n"
                   "</figure>\n</section>\n");
    }
    curves_figure(f, g, curves, have);
}

void rl_page_run(rl_page_ctx *p, const char *model, const rl_ablate_curve *c)
{
    FILE *f = p->f;
    rl_ablate_grid *g = calloc(1, sizeof *g);
    if (!g) return;
    /* A grid of one run, so the ablation's plot draws it. */
    g->nmodels = g->nvariants = g->nepochs = g->nseeds = 1;
    snprintf(g->models[0].label, sizeof g->models[0].label, "%s", model);
    snprintf(g->variants[0].label, sizeof g->variants[0].label, "run");
    snprintf(g->metric, sizeof g->metric, "top-1");
    g->epochs[0] = c->n ? c->epoch[c->n - 1] : 1;
    int last = -1, have = 1;
    for (int i = 0; i < c->n; i++)
        if (isfinite(c->val_top1[i])) last = i;
    fprintf(f, "<section id=\"run\" aria-labelledby=\"h-run\">\n<h2 id=\"h-run\">The run</h2>\n<p>");
    if (last >= 0)
        fprintf(f,
                "Validation top-1 after epoch %d: <strong>%.2f%%</strong>; top-1 on the training labels: "
                "%.2f%%.",
                c->epoch[last], 100 * c->val_top1[last], 100 * c->train_top1[last]);
    else
        fprintf(f, "No validation yet (%d epoch%s in metrics.csv).", c->n, c->n == 1 ? "" : "s");
    fprintf(f, "</p>\n</section>\n");
    curves_figure(f, g, c, &have);
    free(g);
}
