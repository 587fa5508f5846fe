/* svg.c: the two plots of `relab ablate`, written by hand as SVG (see
 * ablate/svg.h): training curves from each run's metrics.csv and the
 * primary-vs-second-metric scatter (ImageNet vs ReaL top-1, Beyer et al. 2020). */
#include "ablate/svg.h"

#include <math.h>

#include "ablate/runs.h"

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const dashes[] = {"", "6,3", "2,2", "8,3,2,3"};

static void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" font-family=\"sans-serif\">", x, y,
            anchor, size);
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
    fputs("</text>\n", f);
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

static void svg_axes(FILE *f, const panel *p, const char *xlabel, const char *ylabel, const char *title)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#000\"/>\n", p->x0,
            p->y0, p->w, p->h);
    char buf[64];
    double sx = tick_step(p->xmax - p->xmin, 6), sy = tick_step(p->ymax - p->ymin, 6);
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

static void legend(FILE *f, const rl_ablate_grid *g, double x, double y)
{
    for (int v = 0; v < g->nvariants; v++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x,
                y + 16 * v, x + 20, y + 16 * v, colours[v % 10]);
        svg_text(f, x + 26, y + 16 * v + 4, "start", 11, g->variants[v].label);
    }
    for (int m = 0; g->nmodels > 1 && m < g->nmodels; m++) {
        double yy = y + 16 * (g->nvariants + m);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" stroke-dasharray=\"%s\"/>\n",
                x, yy, x + 20, yy, dashes[m % 4]);
        svg_text(f, x + 26, yy + 4, "start", 11, g->models[m].label);
    }
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

void rl_ablate_svg_curves(FILE *f, const rl_ablate_grid *g, const rl_ablate_curve *curves, const int *have)
{
    const int W = 980, H = 420;
    int maxep = 1;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    const int n = rl_ablate_num_runs(g);
    for (int r = 0; r < n; r++) {
        if (!have[r]) continue;
        for (int i = 0; i < curves[r].n; i++) {
            maxep = curves[r].epoch[i] > maxep ? curves[r].epoch[i] : maxep;
            const double y[2] = {100 * curves[r].val_top1[i], 100 * curves[r].train_top1[i]};
            for (int k = 0; k < 2; k++)
                if (isfinite(y[k])) lo[k] = fmin(lo[k], y[k]), hi[k] = fmax(hi[k], y[k]);
        }
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", W, H, W,
            H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    const char *titles[2] = {"validation top-1 (recipe's val set)", "top-1 on the training labels (as trained)"};
    for (int k = 0; k < 2; k++) {
        range_pad(&lo[k], &hi[k]);
        panel p = {70 + k * 400, 40, 330, 320, 0, maxep, lo[k], hi[k]};
        svg_axes(f, &p, "epoch", "top-1 (%)", titles[k]);
        for (int r = 0; r < n; r++) {
            if (!have[r]) continue;
            int m, v;
            rl_ablate_run_index(g, r, &m, &v, NULL, NULL);
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"%s\" points=\"",
                    colours[v % 10], dashes[m % 4]);
            for (int i = 0; i < curves[r].n; i++) {
                double y = 100 * (k ? curves[r].train_top1[i] : curves[r].val_top1[i]);
                if (isfinite(y)) fprintf(f, "%.1f,%.1f ", px(&p, curves[r].epoch[i]), py(&p, y));
            }
            fprintf(f, "\"/>\n");
            for (int i = 0; i < curves[r].n; i++) {
                double y = 100 * (k ? curves[r].train_top1[i] : curves[r].val_top1[i]);
                if (isfinite(y))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n", px(&p, curves[r].epoch[i]),
                            py(&p, y), colours[v % 10]);
            }
        }
    }
    legend(f, g, 880, 60);
    fprintf(f, "</svg>\n");
}

void rl_ablate_svg_scatter(FILE *f, const rl_ablate_grid *g, const double *primary, const double *second)
{
    const int W = 620, H = 480, n = rl_ablate_num_runs(g);
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < n; r++)
        if (isfinite(primary[r]) && isfinite(second[r]))
            lo = fmin(lo, 100 * fmin(primary[r], second[r])), hi = fmax(hi, 100 * fmax(primary[r], second[r]));
    range_pad(&lo, &hi);
    panel p = {70, 40, 400, 380, lo, hi, lo, hi};
    char xl[96], yl[96];
    snprintf(xl, sizeof xl, "%s (%%)", g->metric);
    snprintf(yl, sizeof yl, "%s (%%)", rl_ablate_second_metric(g) ? rl_ablate_second_metric(g) : "second metric");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", W, H, W,
            H);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    svg_axes(f, &p, xl, yl, "one point per run; the diagonal is y = x");
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"4,3\"/>\n",
            px(&p, lo), py(&p, lo), px(&p, hi), py(&p, hi));
    for (int r = 0; r < n; r++) {
        if (!(isfinite(primary[r]) && isfinite(second[r]))) continue;
        int m, v, e;
        rl_ablate_run_index(g, r, &m, &v, &e, NULL);
        double x = px(&p, 100 * primary[r]), y = py(&p, 100 * second[r]);
        /* models by marker: circle, square, triangle, ...; the schedule's index as size */
        double rad = 3 + 1.5 * e;
        if (m % 3 == 0)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" fill-opacity=\"0.8\"/>\n", x, y, rad,
                    colours[v % 10]);
        else if (m % 3 == 1)
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.8\"/>\n",
                    x - rad, y - rad, 2 * rad, 2 * rad, colours[v % 10]);
        else
            fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\" fill-opacity=\"0.8\"/>\n", x,
                    y - rad, x - rad, y + rad, x + rad, y + rad, colours[v % 10]);
    }
    legend(f, g, 490, 60);
    fprintf(f, "</svg>\n");
}
