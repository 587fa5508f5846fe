/* page.c: `relab report`: finding what a folder holds and writing the frame
 * of the page (head, style, contents, footer); the sections are in
 * page_ablate.c and page_clean.c (page.h, sections.h). */
#include "config.h"
#include "report/page.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/html.h"
#include "report/sections.h"
#include "train/recipe.h"
#include "util/text.h"
#include "util/fs.h"
#include "util/log.h"

#define MAX_ROOTS 32

static const char *const fmnist_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

void rl_page_options_default(rl_page_options *o)
{
    memset(o, 0, sizeof *o);
    o->gallery = RL_PAGE_GALLERY_DEFAULT;
    o->thumb = RL_PAGE_THUMB_DEFAULT;
}

const char *rl_page_class(const rl_page_ctx *p, int c, char *buf, size_t n)
{
    if (p->names.n > c && c >= 0)
        snprintf(buf, n, "%s", p->names.name[c][0] ? p->names.name[c] : p->names.wnid[c]);
    else if (p->fmnist && c >= 0 && c < 10)
        snprintf(buf, n, "%s", fmnist_names[c]);
    else
        snprintf(buf, n, "class %d", c);
    return buf;
}

/* ---- what the folder holds ---- */

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

typedef struct {
    char path[RL_FS_PATH_MAX];
} path_t;

typedef struct {
    char results[RL_FS_PATH_MAX], metrics[RL_FS_PATH_MAX], json[RL_FS_PATH_MAX], tsv[RL_FS_PATH_MAX];
    path_t recipes[8];
    int nrecipes;
    path_t roots[MAX_ROOTS];
    int nroots;
} inputs;

static void add_root(inputs *in, const char *dir)
{
    if (!dir[0] || in->nroots == MAX_ROOTS) return;
    for (int i = 0; i < in->nroots; i++)
        if (!strcmp(in->roots[i].path, dir)) return;
    snprintf(in->roots[in->nroots++].path, RL_FS_PATH_MAX, "%s", dir);
}

/* The sorted entries of dir (scandir); NULL-safe free with free_names. */
static int list_dir(const char *dir, struct dirent ***names)
{
    int n = scandir(dir, names, NULL, alphasort);
    if (n < 0) *names = NULL;
    return n < 0 ? 0 : n;
}

static void free_names(struct dirent **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* recipe.txt of dir/sub for every sub folder (sorted), up to the array's room. */
static void find_recipes(inputs *in, const char *dir)
{
    struct dirent **e;
    int n = list_dir(dir, &e);
    for (int i = 0; i < n && in->nrecipes < (int)(sizeof in->recipes / sizeof in->recipes[0]); i++) {
        char p[RL_FS_PATH_MAX];
        if (e[i]->d_name[0] == '.') continue;
        if (snprintf(p, sizeof p, "%s/%s/recipe.txt", dir, e[i]->d_name) < (int)sizeof p && is_file(p))
            snprintf(in->recipes[in->nrecipes++].path, RL_FS_PATH_MAX, "%s", p);
    }
    free_names(e, n);
}

/* The first *.tsv in dir whose header is the per-image table's. */
static void find_table(inputs *in, const char *dir)
{
    struct dirent **e;
    int n = list_dir(dir, &e);
    for (int i = 0; i < n && !in->tsv[0]; i++) {
        size_t len = strlen(e[i]->d_name);
        char p[RL_FS_PATH_MAX];
        if (len > 4 && !strcmp(e[i]->d_name + len - 4, ".tsv") &&
            snprintf(p, sizeof p, "%s/%s", dir, e[i]->d_name) < (int)sizeof p && rl_cleaning_is_table(p))
            snprintf(in->tsv, sizeof in->tsv, "%s", p);
    }
    free_names(e, n);
}

static void find_inputs(const rl_page_options *o, inputs *in)
{
    char p[RL_FS_PATH_MAX], data[RL_FS_PATH_MAX];
    memset(in, 0, sizeof *in);
    snprintf(data, sizeof data, "%s/data", o->dir);
    if (snprintf(p, sizeof p, "%s/results.json", o->dir) < (int)sizeof p && is_file(p))
        snprintf(in->results, sizeof in->results, "%s", p);
    if (snprintf(p, sizeof p, "%s/metrics.csv", o->dir) < (int)sizeof p && is_file(p))
        snprintf(in->metrics, sizeof in->metrics, "%s", p);
    if (o->clean_json)
        snprintf(in->json, sizeof in->json, "%s", o->clean_json);
    else
        for (int k = 0; k < 2 && !in->json[0]; k++)
            if (snprintf(p, sizeof p, "%s/clean-report.json", k ? data : o->dir) < (int)sizeof p && is_file(p))
                snprintf(in->json, sizeof in->json, "%s", p);
    if (o->per_image)
        snprintf(in->tsv, sizeof in->tsv, "%s", o->per_image);
    else {
        find_table(in, o->dir);
        if (!in->tsv[0]) find_table(in, data);
    }
    if (snprintf(p, sizeof p, "%s/recipe.txt", o->dir) < (int)sizeof p && is_file(p))
        snprintf(in->recipes[in->nrecipes++].path, RL_FS_PATH_MAX, "%s", p);
    snprintf(p, sizeof p, "%s/runs", o->dir);
    find_recipes(in, p);
    find_recipes(in, data);
    for (int i = 0; i < o->nroots; i++)
        add_root(in, o->image_roots[i]);
}

/* A label list's folder, and its "# root DIR" header when it has one (the
 * folder its relative paths are in; relative to the list's folder). */
static void list_roots(inputs *in, const char *list)
{
    char dir[RL_FS_PATH_MAX], root[RL_FS_PATH_MAX];
    const char *slash = strrchr(list, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - list) : 1, slash ? list : ".");
    add_root(in, dir);
    rl_lines r;
    char *line;
    size_t len;
    if (rl_lines_open(&r, list, "label list", 0, NULL)) return;
    while (rl_lines_next(&r, &line, &len, NULL) == 1 && line[0] == '#')
        if (!strncmp(line, "# root ", 7) && line[7]) {
            if (line[7] == '/' || snprintf(root, sizeof root, "%s/%s", dir, line + 7) >= (int)sizeof root)
                snprintf(root, sizeof root, "%s", line + 7);
            add_root(in, root);
            break;
        }
    rl_lines_close(&r);
}

/* Image folders and class names from the recipes found. */
static void use_recipes(const rl_page_options *o, inputs *in, rl_page_ctx *p, char *classes, size_t n)
{
    rl_recipe *r = malloc(sizeof *r);
    if (!r) return;
    for (int i = 0; i < in->nrecipes; i++) {
        rl_error e = {0};
        if (rl_recipe_load(in->recipes[i].path, r, &e)) {
            rl_log(RL_LOG_WARN, "relab report: %s (its data folders are not searched)", e.msg);
            continue;
        }
        add_root(in, r->data_dir);
        if (r->data == RL_DATA_IMAGENET) {
            char train[RL_FS_PATH_MAX];
            snprintf(train, sizeof train, "%s/train", r->data_dir);
            add_root(in, train);
        }
        if (r->train_list[0]) list_roots(in, r->train_list);
        if (r->data == RL_DATA_FASHION_MNIST) p->fmnist = 1;
        if (!o->classes && !classes[0] && r->classes[0]) snprintf(classes, n, "%s", r->classes);
    }
    free(r);
}

/* ---- the frame ---- */

static const char style[] =
    ":root{--ink:#1b1b1b;--muted:#5b5b5b;--line:#d0d0d0;--soft:#f4f4f2;--blue:#1f5f99;--wrong:#1f77b4;"
    "--right:#e66100;--missed:#6a3d9a}\n"
    "*{box-sizing:border-box}\n"
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--ink);"
    "background:#fff;margin:0}\n"
    "header,main,footer{max-width:72rem;margin:0 auto;padding:0 1.25rem}\n"
    "header{padding-top:1.5rem;border-bottom:1px solid var(--line)}\n"
    "h1{font-size:1.9rem;margin:.2rem 0}h2{font-size:1.4rem;margin:2.2rem 0 .6rem;padding-top:.4rem;"
    "border-top:3px solid var(--ink)}h3{font-size:1.1rem;margin:1.6rem 0 .4rem}\n"
    "p{max-width:48rem}.muted,figcaption,caption{color:var(--muted)}\n"
    "code{font:.9em/1.3 'DejaVu Sans Mono',monospace;background:var(--soft);padding:0 .2em;border-radius:3px;"
    "overflow-wrap:anywhere}\n"
    "nav ol{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;list-style:none;padding:0;margin:.8rem 0}\n"
    "a{color:var(--blue)}\n"
    ".facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.8rem;list-style:none;"
    "padding:0}\n"
    ".facts li{border:1px solid var(--line);border-left:5px solid var(--blue);padding:.6rem .8rem;"
    "background:var(--soft)}\n"
    ".facts b{display:block;font-size:1.6rem;line-height:1.2}\n"
    "table{border-collapse:collapse;margin:.6rem 0 1rem;font-variant-numeric:tabular-nums}\n"
    "caption{text-align:left;caption-side:bottom;padding-top:.4rem;max-width:48rem;font-size:.9rem}\n"
    "th,td{border-bottom:1px solid var(--line);padding:.35rem .7rem;text-align:left;vertical-align:top}\n"
    "thead th{border-bottom:2px solid var(--ink)}td.n,th.n{text-align:right}\n"
    ".cell .v{font-weight:600;font-size:1.05rem}.cell .d{color:var(--muted)}.cell small{display:block;"
    "color:var(--muted);white-space:nowrap}\n"
    ".cell .up{color:#1a7f37}.cell .down{color:#b3261e}\n"
    "figure{margin:1rem 0}figure svg{max-width:100%;height:auto;display:block}\n"
    ".bar{display:flex;width:16rem;height:.9rem;background:var(--soft);border:1px solid var(--line)}\n"
    ".bar span{display:block;height:100%}.b-wrong{background:var(--wrong)}.b-right{background:var(--right)}\n"
    ".key{display:inline-block;width:.9rem;height:.9rem;vertical-align:-.1rem;margin:0 .3rem 0 .8rem}\n"
    ".thumbs{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.8rem;list-style:none;"
    "padding:0}\n"
    ".thumbs figure{margin:0;border:1px solid var(--line);padding:.4rem;break-inside:avoid;height:100%}\n"
    ".thumbs img{display:block;margin:0 auto .3rem;background:var(--soft)}\n"
    "img.px{image-rendering:pixelated}\n"
    ".thumbs figcaption{font-size:.82rem;line-height:1.35;color:var(--ink)}\n"
    ".thumbs dl{display:grid;grid-template-columns:auto 1fr;gap:0 .4rem;margin:0}.thumbs dt{color:var(--muted)}"
    ".thumbs dd{margin:0}.thumbs s{text-decoration-thickness:2px;text-decoration-color:#b3261e}\n"
    ".thumbs .id{display:block;color:var(--muted);font-size:.72rem;overflow-wrap:anywhere;margin-top:.2rem}\n"
    "footer{margin-top:3rem;padding-bottom:2rem;border-top:1px solid var(--line);font-size:.9rem;"
    "color:var(--muted)}\n"
    "@media print{nav{display:none}body{font-size:11pt}h2{break-after:avoid}figure,tr,.facts li{break-inside:avoid}"
    "a{color:inherit;text-decoration:none}.bar span,.facts li,.key{-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}header,main,footer{max-width:none}}\n";

/* Counts decoded thumbnails after load, for people (and the browser test). */
static const char check_script[] =
    "addEventListener('load',function(){var all=document.querySelectorAll('.gallery img'),ok=0;"
    "for(var i=0;i<all.length;i++)if(all[i].complete&&all[i].naturalWidth>0)ok++;"
    "var p=document.getElementById('decoded');if(p){p.dataset.decoded=ok;"
    "p.textContent=ok+' of '+all.length+' thumbnails decoded in this browser.';}});";

static void head(FILE *f, const char *dir)
{
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>relab report: ");
    rl_html_text(f, base);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<p class=\"muted\">relab report</p>\n<h1>",
            style);
    rl_html_text(f, base);
    fprintf(f, "</h1>\n<p class=\"muted\">Folder <code>");
    rl_html_text(f, dir);
    fprintf(f, "</code></p>\n");
}

/* gallery: the cleaning's verb ("removed") when there is a gallery, else NULL. */
static void contents(FILE *f, int ablation, int run, int cleaning, const char *gallery)
{
    fprintf(f, "<nav aria-label=\"Contents\"><ol>\n");
    if (ablation || cleaning) fprintf(f, "<li><a href=\"#summary\">Summary</a></li>\n");
    if (run) fprintf(f, "<li><a href=\"#run\">The run</a></li>\n");
    if (ablation)
        fprintf(f, "<li><a href=\"#table\">Table</a></li>\n<li><a href=\"#scatter\">Two label sets</a></li>\n");
    if (ablation || run) fprintf(f, "<li><a href=\"#curves\">Training curves</a></li>\n");
    if (cleaning) fprintf(f, "<li><a href=\"#cleaning\">Cleaning</a></li>\n");
    if (gallery) fprintf(f, "<li><a href=\"#gallery\">%c%s images</a></li>\n", gallery[0] - 32, gallery + 1);
    fprintf(f, "</ol></nav>\n</header>\n<main>\n");
}

static void footer(FILE *f, const inputs *in)
{
    fprintf(f,
            "</main>\n<footer>\n<p>Written by relab %s (<code>relab report</code>; docs/report.md explains each "
            "part) from:</p>\n<ul>\n",
            PACKAGE_VERSION);
    const char *files[] = {in->results, in->metrics, in->json, in->tsv};
    for (int i = 0; i < 4; i++)
        if (files[i][0]) {
            fprintf(f, "<li><code>");
            rl_html_text(f, files[i]);
            fprintf(f, "</code></li>\n");
        }
    fprintf(f, "</ul>\n<p id=\"decoded\"></p>\n</footer>\n<script>%s</script>\n</body>\n</html>\n", check_script);
}

/* The facts at the top: per model, the best variant of the longest schedule
 * against the baseline. */
static void ablation_summary(FILE *f, const rl_ablate_grid *g, const rl_ablate_run_score *s)
{
    const int e = g->nepochs - 1;
    for (int m = 0; m < g->nmodels; m++) {
        double best = NAN, base = rl_ablate_cell_of(g, s, 0, m, g->baseline, e).median;
        int bv = -1;
        for (int v = 0; v < g->nvariants; v++) {
            double x = rl_ablate_cell_of(g, s, 0, m, v, e).median;
            if (isfinite(x) && !(x <= best)) best = x, bv = v;
        }
        if (bv < 0) continue;
        fprintf(f, "<li><b>%.1f%%</b> ", 100 * best);
        rl_html_textf(f, "%s %s, %s, %d epochs", g->models[m].label, g->variants[bv].label, g->metric, g->epochs[e]);
        if (bv != g->baseline && isfinite(base))
            rl_html_textf(f, ": %+.1f points over %s (%.1f%%)", 100 * (best - base), g->variants[g->baseline].label,
                          100 * base);
        fprintf(f, "</li>\n");
    }
}

/* ---- the page ---- */

typedef struct {
    rl_ablate_grid *g;
    rl_ablate_run_score *scores;
    rl_ablate_curve *curves; /* [runs] */
    int *have;
    rl_cleaning clean;
    int has_clean;
    rl_thumbs *thumbs;
} loaded;

static void unload(loaded *l)
{
    free(l->g);
    free(l->scores);
    free(l->curves);
    free(l->have);
    rl_cleaning_free(&l->clean);
    rl_thumbs_close(l->thumbs);
}

/* The ablation's results and every run's metrics.csv (a missing one is a run
 * not started: no curve). */
static rl_status load_ablation(const rl_page_options *o, const inputs *in, loaded *l, rl_page_summary *sum,
                               rl_error *err)
{
    if (!(l->g = malloc(sizeof *l->g))) return rl_fail(err, RL_ERR_NOMEM, "out of memory");
    rl_status st = rl_ablate_scores_read(in->results, l->g, &l->scores, err);
    if (st) return st;
    const int n = rl_ablate_num_runs(l->g);
    l->curves = malloc((size_t)n * sizeof *l->curves);
    l->have = calloc((size_t)n, sizeof *l->have);
    if (!l->curves || !l->have) return rl_fail(err, RL_ERR_NOMEM, "out of memory for %d curves", n);
    sum->runs = n;
    for (int r = 0; r < n; r++) {
        char name[256], path[RL_FS_PATH_MAX];
        rl_error e = {0};
        rl_ablate_run_name(l->g, r, name, sizeof name);
        snprintf(path, sizeof path, "%s/runs/%s/metrics.csv", o->dir, name);
        l->have[r] = rl_ablate_curve_read(path, &l->curves[r], &e) == RL_OK;
        if (!l->have[r] && e.code != RL_ERR_IO) rl_log(RL_LOG_WARN, "relab report: %s (no curve for this run)", e.msg);
        sum->curves += l->have[r];
        sum->runs_scored += l->scores[r].acc[0].total > 0;
    }
    return RL_OK;
}

static rl_status load(const rl_page_options *o, inputs *in, rl_page_ctx *p, loaded *l, rl_page_summary *sum,
                      rl_error *err)
{
    char classes[RL_FS_PATH_MAX] = "";
    rl_status st = RL_OK;
    if (in->results[0]) st = load_ablation(o, in, l, sum, err);
    if (!st && !in->results[0] && in->metrics[0]) {
        if (!(l->curves = malloc(sizeof *l->curves))) return rl_fail(err, RL_ERR_NOMEM, "out of memory");
        st = rl_ablate_curve_read(in->metrics, l->curves, err);
    }
    if (!st && (in->json[0] || in->tsv[0])) {
        st = rl_cleaning_read(in->json[0] ? in->json : NULL, in->tsv[0] ? in->tsv : NULL, &l->clean, err);
        l->has_clean = !st;
    }
    if (st) return st;
    use_recipes(o, in, p, classes, sizeof classes);
    const char *names = o->classes ? o->classes : classes[0] ? classes : NULL;
    if (names && (st = rl_classes_read(names, &p->names, err))) return st;
    if (l->has_clean && l->clean.has_images && o->gallery > 0) {
        const char *roots[MAX_ROOTS];
        for (int i = 0; i < in->nroots; i++)
            roots[i] = in->roots[i].path;
        st = rl_thumbs_open(roots, in->nroots, o->thumb, &l->thumbs, err);
    }
    return st;
}

static void write_page(FILE *f, const rl_page_options *o, const inputs *in, rl_page_ctx *p, loaded *l,
                       rl_page_summary *sum)
{
    p->f = f;
    head(f, o->dir);
    contents(f, l->g != NULL, l->g == NULL && in->metrics[0], l->has_clean, l->thumbs ? rl_page_verb(&l->clean) : NULL);
    if (l->g || l->has_clean) { /* a run folder's one number is in its own section */
        fprintf(f, "<section id=\"summary\" aria-labelledby=\"h-summary\">\n<h2 id=\"h-summary\">Summary</h2>\n"
                   "<ul class=\"facts\">\n");
        if (l->g) ablation_summary(f, l->g, l->scores);
        if (l->has_clean) rl_page_cleaning_summary(p, &l->clean);
        fprintf(f, "</ul>\n</section>\n");
    }
    if (l->g)
        rl_page_ablation(p, l->g, l->scores, l->curves, l->have);
    else if (in->metrics[0])
        rl_page_run(p, "run", l->curves);
    if (l->has_clean) {
        rl_page_cleaning(p, &l->clean, l->thumbs, o->gallery, sum);
        sum->cleaning = 1;
    }
    footer(f, in);
}

rl_status rl_page_write(const rl_page_options *o, rl_page_summary *sum, rl_error *err)
{
    memset(sum, 0, sizeof *sum);
    inputs *in = malloc(sizeof *in);
    loaded l = {0};
    rl_page_ctx p = {0};
    if (!in) return rl_fail(err, RL_ERR_NOMEM, "out of memory");
    find_inputs(o, in);
    rl_status st = RL_OK;
    if (!in->results[0] && !in->metrics[0] && !in->json[0] && !in->tsv[0])
        st = rl_fail(err, RL_ERR_ARG,
                     "%s: nothing to report: no results.json (relab ablate), metrics.csv (relab train), "
                     "clean-report.json or per-image table (relab clean) in it or in its data/ folder",
                     o->dir);
    if (!st) st = load(o, in, &p, &l, sum, err);
    if (!st) {
        if (o->out)
            snprintf(sum->out, sizeof sum->out, "%s", o->out);
        else
            snprintf(sum->out, sizeof sum->out, "%s/report.html", o->dir);
        rl_fs_writer w;
        if (!(st = rl_fs_writer_open(&w, sum->out, err))) {
            write_page(w.f, o, in, &p, &l, sum);
            sum->bytes = ftell(w.f);
            st = rl_fs_writer_commit(&w, err);
        }
    }
    unload(&l);
    rl_classes_free(&p.names);
    free(in);
    return st;
}
