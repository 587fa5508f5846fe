/* svg.c: the two plots of `relab ablate`, written by hand as SVG (see
 * ablate/svg.h): training curves from each run's metrics.csv and the
 * primary-vs-second-metric scatter (ImageNet vs ReaL top-1, Beyer et al. 2020). */
#include "ablate/svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ablate/runs.h"
#include "ablate/table.h"

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const dashes[] = {"", "6,3", "2,2", "8,3,2,3"};
#define FONT "font-family=\"DejaVu Sans,Verdana,sans-serif\""

static void svg_escaped(FILE *f, const char *text)
{
    for (const char *s = text; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else
            fputc(*s, f);
    }
}

static void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" " FONT ">", x, y, anchor, size);
    svg_escaped(f, text);
    fputs("</text>\n", f);
}

/* The opening tag, a white background and the accessible title and description. */
static void svg_open(FILE *f, int w, int h, const char *title, const char *desc)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\">\n<title>",
            w, h, w, h);
    svg_escaped(f, title);
    fputs("</title>\n<desc>", f);
    svg_escaped(f, desc);
    fprintf(f, "</desc>\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", w, h);
}

typedef struct {
    double x0, y0, w, h; /* panel box in pixels */
    double xmin, xmax, ymin, ymax;
} panel;

static double px(const panel *p, double x)
{
    return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w;
}
static double py(const panel *p, double y)
{
    return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h;
}

/* A "nice" tick step of about n ticks across span. */
static double tick_step(double span, int n)
{
    double raw = span / n, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/* integer_x: ticks on whole numbers only (epochs). */
static void svg_axes(FILE *f, const panel *p, int integer_x, const char *xlabel, const char *ylabel, const char *title)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#000\"/>\n", p->x0,
            p->y0, p->w, p->h);
    char buf[64];
    double sx = tick_step(p->xmax - p->xmin, 6), sy = tick_step(p->ymax - p->ymin, 6);
    if (integer_x && sx < 1) sx = 1;
    for (double x = ceil(p->xmin / sx) * sx; x <= p->xmax + 1e-9; x += sx) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", px(p, x), p->y0,
                px(p, x), p->y0 + p->h);
        snprintf(buf, sizeof buf, "%g", x);
        svg_text(f, px(p, x), p->y0 + p->h + 14, "middle", 11, buf);
    }
    for (double y = ceil(p->ymin / sy) * sy; y <= p->ymax + 1e-9; y += sy) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", p->x0, py(p, y),
                p->x0 + p->w, py(p, y));
        snprintf(buf, sizeof buf, "%g", y);
        svg_text(f, p->x0 - 4, py(p, y) + 4, "end", 11, buf);
    }
    svg_text(f, p->x0 + p->w / 2, p->y0 + p->h + 32, "middle", 12, xlabel);
    fprintf(f, "<g transform=\"translate(%.1f,%.1f) rotate(-90)\">", p->x0 - 40, p->y0 + p->h / 2);
    svg_text(f, 0, 0, "middle", 12, ylabel);
    fputs("</g>\n", f);
    svg_text(f, p->x0 + p->w / 2, p->y0 - 8, "middle", 13, title);
}

static void range_pad(double *lo, double *hi)
{
    if (!(*lo <= *hi)) *lo = 0, *hi = 100;
    double pad = (*hi - *lo) * 0.05 + 0.5;
    *lo = floor(*lo - pad);
    *hi = ceil(*hi + pad);
    if (*lo < 0) *lo = 0;
    if (*hi > 100) *hi = 100;
    if (*hi <= *lo) *hi = *lo + 1;
}

/* ---- curves ---- */

/* The median and range over the seeds of cell (m, v, e) at each epoch of its
 * longest curve, for panel k (0 validation, 1 training labels), in percent.
 * Returns the number of points. */
static int cell_curve(const rl_ablate_grid *g, const rl_ablate_curve *curves, const int *have, int m, int v, int e,
                      int k, double *x, double *med, double *lo, double *hi, int *spread)
{
    const int r0 = ((m * g->nvariants + v) * g->nepochs + e) * g->nseeds;
    int ref = -1, n = 0;
    for (int q = 0; q < g->nseeds; q++)
        if (have[r0 + q] && (ref < 0 || curves[r0 + q].n > curves[ref].n)) ref = r0 + q;
    *spread = 0;
    for (int i = 0; ref >= 0 && i < curves[ref].n; i++) {
        double y[RL_ABLATE_MAX];
        int ny = 0;
        for (int q = 0; q < g->nseeds; q++) {
            const rl_ablate_curve *c = &curves[r0 + q];
            for (int j = 0; have[r0 + q] && j < c->n; j++)
                if (c->epoch[j] == curves[ref].epoch[i]) {
                    double val = 100 * (k ? c->train_top1[j] : c->val_top1[j]);
                    if (isfinite(val)) y[ny++] = val;
                    break;
                }
        }
        if (!ny) continue;
        x[n] = curves[ref].epoch[i];
        med[n] = rl_ablate_median(y, ny);
        lo[n] = hi[n] = y[0];
        for (int j = 1; j < ny; j++)
            lo[n] = fmin(lo[n], y[j]), hi[n] = fmax(hi[n], y[j]);
        *spread |= ny > 1;
        n++;
    }
    return n;
}

static void curve_legend(FILE *f, const rl_ablate_grid *g, double x, double y)
{
    fputs("<g class=\"legend\">\n", f);
    for (int v = 0; v < g->nvariants; v++, y += 16) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>", x, y,
                x + 20, y, colours[v % 10]);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", x + 10, y, colours[v % 10]);
        svg_text(f, x + 26, y + 4, "start", 11, g->variants[v].label);
    }
    for (int m = 0; g->nmodels > 1 && m < g->nmodels; m++, y += 16) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" stroke-dasharray=\"%s\"/>\n",
                x, y, x + 20, y, dashes[m % 4]);
        svg_text(f, x + 26, y + 4, "start", 11, g->models[m].label);
    }
    if (g->nseeds > 1) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"20\" height=\"10\" fill=\"#000\" fill-opacity=\"0.15\"/>\n", x,
                y - 5);
        svg_text(f, x + 26, y + 4, "start", 11, "seed range");
        svg_text(f, x + 26, y + 18, "start", 11, "(line: median)");
    }
    fputs("</g>\n", f);
}

void rl_ablate_svg_curves(FILE *f, const rl_ablate_grid *g, const rl_ablate_curve *curves, const int *have)
{
    const int W = 1000, H = 420, n = rl_ablate_num_runs(g);
    int maxep = 1;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int r = 0; r < n; r++) {
        for (int i = 0; have[r] && i < curves[r].n; i++) {
            maxep = curves[r].epoch[i] > maxep ? curves[r].epoch[i] : maxep;
            const double y[2] = {100 * curves[r].val_top1[i], 100 * curves[r].train_top1[i]};
            for (int k = 0; k < 2; k++)
                if (isfinite(y[k])) lo[k] = fmin(lo[k], y[k]), hi[k] = fmax(hi[k], y[k]);
        }
    }
    double *buf = malloc(4 * sizeof(double) * (sizeof curves->epoch / sizeof curves->epoch[0]));
    if (!buf) return;
    const size_t cap = sizeof curves->epoch / sizeof curves->epoch[0];
    double *x = buf, *med = buf + cap, *blo = buf + 2 * cap, *bhi = buf + 3 * cap;
    svg_open(f, W, H, "Training curves",
             "Left: top-1 on the validation set against its own labels (no injected noise). Right: top-1 on the "
             "training labels as trained (noise included). One line per model, variant and schedule: the median "
             "over seeds, with the range of the seeds as a band.");
    const char *titles[2] = {"validation top-1 (its own labels, no injected noise)",
                             "top-1 on the training labels (as trained)"};
    for (int k = 0; k < 2; k++) {
        range_pad(&lo[k], &hi[k]);
        panel p = {70 + k * 410, 40, 330, 320, 0, maxep, lo[k], hi[k]};
        fprintf(f, "<g class=\"panel\">\n");
        svg_axes(f, &p, 1, "epoch", "top-1 (%)", titles[k]);
        for (int m = 0; m < g->nmodels; m++)
            for (int v = 0; v < g->nvariants; v++)
                for (int e = 0; e < g->nepochs; e++) {
                    int spread, np = cell_curve(g, curves, have, m, v, e, k, x, med, blo, bhi, &spread);
                    if (!np) continue;
                    const char *col = colours[v % 10];
                    if (spread) {
                        fprintf(f,
                                "<polygon class=\"spread\" fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" "
                                "points=\"",
                                col);
                        for (int i = 0; i < np; i++)
                            fprintf(f, "%.1f,%.1f ", px(&p, x[i]), py(&p, bhi[i]));
                        for (int i = np - 1; i >= 0; i--)
                            fprintf(f, "%.1f,%.1f ", px(&p, x[i]), py(&p, blo[i]));
                        fprintf(f, "\"/>\n");
                    }
                    fprintf(f,
                            "<polyline class=\"median\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                            "stroke-dasharray=\"%s\" points=\"",
                            col, dashes[m % 4]);
                    for (int i = 0; i < np; i++)
                        fprintf(f, "%.1f,%.1f ", px(&p, x[i]), py(&p, med[i]));
                    fprintf(f, "\"/>\n");
                    for (int i = 0; i < np; i++)
                        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n", px(&p, x[i]),
                                py(&p, med[i]), col);
                }
        fprintf(f, "</g>\n");
    }
    free(buf);
    curve_legend(f, g, 880, 60);
    fprintf(f, "</svg>\n");
}

/* ---- scatter ---- */

/* Model m's marker (circle, square, triangle, diamond) of radius rad. */
static void marker(FILE *f, const char *cls, int m, double x, double y, double rad, const char *fill,
                   const char *stroke, double width)
{
    char paint[128];
    snprintf(paint, sizeof paint, "class=\"%s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%.1f\"", cls, fill, stroke,
             width);
    switch (m % 4) {
    case 0: fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" %s/>\n", x, y, rad, paint); break;
    case 1:
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s/>\n", x - rad * 0.9, y - rad * 0.9,
                1.8 * rad, 1.8 * rad, paint);
        break;
    case 2:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>\n", x, y - 1.2 * rad, x - 1.1 * rad,
                y + 0.8 * rad, x + 1.1 * rad, y + 0.8 * rad, paint);
        break;
    default:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>\n", x, y - 1.3 * rad,
                x + 1.3 * rad, y, x, y + 1.3 * rad, x - 1.3 * rad, y, paint);
    }
}

typedef struct {
    double x0, y0, x1, y1;
} box;

static int overlaps(const box *a, const box *b)
{
    return !(a->x1 < b->x0 || a->x0 > b->x1 || a->y1 < b->y0 || a->y0 > b->y1);
}

/* Places a label beside a mark at (x, y) of radius rad, in the first of the
 * four diagonal corners, near then a little farther (clear of the whiskers,
 * which run along the axes), where it stays in the panel and overlaps nothing
 * in taken (marks and labels placed before; the label is added); when every
 * place is taken it goes to the first.  The text has a white halo so lines
 * under it stay readable. */
static void place_label(FILE *f, const panel *p, box *taken, int *ntaken, const char *text, double x, double y,
                        double rad)
{
    const double w = 6.3 * (double)strlen(text), h = 12, d = rad * 0.7 + 2, d2 = d + 9;
    const double ox[8] = {x + d, x + d, x - d - w, x - d - w, x + d2, x + d2, x - d2 - w, x - d2 - w};
    const double oy[8] = {y - d - h, y + d, y - d - h, y + d, y - d2 - h, y + d2, y - d2 - h, y + d2};
    int pick = 0;
    for (int c = 0; c < 8; c++) {
        box b = {ox[c], oy[c], ox[c] + w, oy[c] + h};
        int ok = b.x0 >= p->x0 && b.x1 <= p->x0 + p->w && b.y0 >= p->y0 && b.y1 <= p->y0 + p->h;
        for (int i = 0; ok && i < *ntaken; i++)
            ok = !overlaps(&b, &taken[i]);
        if (ok) {
            pick = c;
            break;
        }
    }
    taken[(*ntaken)++] = (box){ox[pick], oy[pick], ox[pick] + w, oy[pick] + h};
    fprintf(f,
            "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\" " FONT
            " stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">",
            ox[pick], oy[pick] + h - 2.5);
    svg_escaped(f, text);
    fputs("</text>\n", f);
}

static void whisker(FILE *f, double x0, double y0, double x1, double y1, const char *col)
{
    const int vertical = fabs(x1 - x0) < 1e-9;
    fprintf(f,
            "<path class=\"ci\" d=\"M%.1f,%.1f L%.1f,%.1f M%.1f,%.1f L%.1f,%.1f M%.1f,%.1f L%.1f,%.1f\" stroke=\"%s\" "
            "stroke-width=\"1.2\" fill=\"none\"/>\n",
            x0, y0, x1, y1, x0 - 3 * vertical, y0 - 3 * !vertical, x0 + 3 * vertical, y0 + 3 * !vertical,
            x1 - 3 * vertical, y1 - 3 * !vertical, x1 + 3 * vertical, y1 + 3 * !vertical, col);
}

static void scatter_legend(FILE *f, const rl_ablate_grid *g, double x, double y)
{
    fputs("<g class=\"legend\">\n", f);
    for (int v = 0; v < g->nvariants; v++, y += 17) {
        marker(f, "key", 0, x + 8, y, 5, colours[v % 10], "#000", 0.5);
        svg_text(f, x + 20, y + 4, "start", 11, g->variants[v].label);
    }
    for (int m = 0; g->nmodels > 1 && m < g->nmodels; m++, y += 17) {
        marker(f, "key", m, x + 8, y, 5, "#888", "#000", 0.5);
        svg_text(f, x + 20, y + 4, "start", 11, g->models[m].label);
    }
    for (int e = 0; g->nepochs > 1 && e < g->nepochs; e++, y += 17) {
        char t[32];
        snprintf(t, sizeof t, "%d epochs", g->epochs[e]);
        marker(f, "key", 0, x + 8, y, 4 + 1.5 * e, "#888", "#000", 0.5);
        svg_text(f, x + 20, y + 4, "start", 11, t);
    }
    y += 6;
    if (g->nseeds > 1) {
        marker(f, "key", 0, x + 8, y, 2.5, "#fff", "#000", 1);
        svg_text(f, x + 20, y + 4, "start", 11, "one seed");
        y += 17;
    }
    whisker(f, x, y, x + 16, y, "#000");
    svg_text(f, x + 20, y + 4, "start", 11, "95% interval");
    fputs("</g>\n", f);
}

void rl_ablate_svg_scatter(FILE *f, const rl_ablate_grid *g, const rl_ablate_run_score *s)
{
    const char *second = rl_ablate_second_metric(g);
    if (!second) return;
    const int W = 640, H = 480, ncells = g->nmodels * g->nvariants * g->nepochs;
    /* Each axis spans its own data (and intervals), so a cloud far from the
     * diagonal (ReaL runs several points above ImageNet) still fills the panel. */
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int r = 0; r < rl_ablate_num_runs(g); r++)
        for (int k = 0; k < 2; k++)
            if (s[r].acc[k].total > 0)
                lo[k] = fmin(lo[k], 100 * s[r].acc[k].lo), hi[k] = fmax(hi[k], 100 * s[r].acc[k].hi);
    range_pad(&lo[0], &hi[0]);
    range_pad(&lo[1], &hi[1]);
    panel p = {70, 40, 400, 380, lo[0], hi[0], lo[1], hi[1]};
    char xl[96], yl[96], desc[512];
    snprintf(xl, sizeof xl, "%s (%%)", g->metric);
    snprintf(yl, sizeof yl, "%s (%%)", second);
    snprintf(desc, sizeof desc,
             "%s top-1 (x) against %s top-1 (y). One labelled mark per model, variant and schedule at the median "
             "over seeds, whiskers for 95%% intervals, small hollow marks for single seeds, and the diagonal y = x.",
             g->metric, second);
    svg_open(f, W, H, "Top-1 on two label sets", desc);
    svg_axes(f, &p, 0, xl, yl, "median over seeds; dashed: y = x");
    const double d0 = fmax(lo[0], lo[1]), d1 = fmin(hi[0], hi[1]); /* the diagonal inside the panel */
    if (d0 < d1)
        fprintf(f,
                "<line class=\"diagonal\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                "stroke-dasharray=\"4,3\"/>\n",
                px(&p, d0), py(&p, d0), px(&p, d1), py(&p, d1));
    /* Marks first, labels last (on top, placed around every mark). */
    box *taken = malloc(2 * (size_t)ncells * sizeof *taken);
    int *cells = malloc(3 * (size_t)ncells * sizeof *cells), nc = 0, ntaken = 0;
    for (int m = 0; taken && cells && m < g->nmodels; m++)
        for (int v = 0; v < g->nvariants; v++)
            for (int e = 0; e < g->nepochs; e++) {
                rl_ablate_cell a = rl_ablate_cell_of(g, s, 0, m, v, e), b = rl_ablate_cell_of(g, s, 1, m, v, e);
                if (!a.finished || !b.finished) continue;
                const char *col = colours[v % 10];
                const int r0 = ((m * g->nvariants + v) * g->nepochs + e) * g->nseeds;
                fputs("<g class=\"cell\">\n", f);
                for (int q = 0; g->nseeds > 1 && q < g->nseeds; q++)
                    if (s[r0 + q].acc[0].total > 0 && s[r0 + q].acc[1].total > 0)
                        marker(f, "seed", m, px(&p, 100 * s[r0 + q].acc[0].acc), py(&p, 100 * s[r0 + q].acc[1].acc),
                               2.5, "#fff", col, 1);
                const double x = px(&p, 100 * a.median), y = py(&p, 100 * b.median), rad = 4 + 1.5 * e;
                whisker(f, px(&p, 100 * a.lo), y, px(&p, 100 * a.hi), y, col);
                whisker(f, x, py(&p, 100 * b.lo), x, py(&p, 100 * b.hi), col);
                marker(f, "median", m, x, y, rad, col, "#000", 0.6);
                char name[512]; /* shown on hover */
                snprintf(name, sizeof name, "%s %s, %d epochs: %.1f%% %s, %.1f%% %s (median of %d seed%s)",
                         g->models[m].label, g->variants[v].label, g->epochs[e], 100 * a.median, g->metric,
                         100 * b.median, second, a.finished, a.finished > 1 ? "s" : "");
                fputs("<title>", f);
                svg_escaped(f, name);
                fputs("</title>\n</g>\n", f);
                taken[ntaken++] = (box){x - rad, y - rad, x + rad, y + rad};
                cells[3 * nc] = m, cells[3 * nc + 1] = v, cells[3 * nc + 2] = e, nc++;
            }
    for (int i = 0; i < nc; i++) {
        const int m = cells[3 * i], v = cells[3 * i + 1], e = cells[3 * i + 2];
        const double x = (taken[i].x0 + taken[i].x1) / 2, y = (taken[i].y0 + taken[i].y1) / 2, rad = 4 + 1.5 * e;
        /* Up to 12 marks carry model, variant and schedule; more carry the
         * variant only (shape and size, in the legend, tell the rest). */
        const int full = nc <= 12;
        char label[3 * RL_ABLATE_LABEL + 32];
        snprintf(label, sizeof label, "%s%s%s", full && g->nmodels > 1 ? g->models[m].label : "",
                 full && g->nmodels > 1 ? " " : "", g->variants[v].label);
        if (full && g->nepochs > 1)
            snprintf(label + strlen(label), sizeof label - strlen(label), " %dep", g->epochs[e]);
        place_label(f, &p, taken, &ntaken, label, x, y, rad);
    }
    free(taken);
    free(cells);
    scatter_legend(f, g, 492, 60);
    fprintf(f, "</svg>\n");
}
