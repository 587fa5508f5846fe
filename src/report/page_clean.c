/* page_clean.c: the report's cleaning parts: key numbers, removals per
 * class, the most frequent (given label -> teacher) pairs, and the galleries
 * of flagged images with their labels (sections.h, cleaning.h). */
#include <stdlib.h>
#include <string.h>

#include "report/html.h"
#include "report/sections.h"
#include "util/log.h"

#define CLASS_ROWS 40 /* classes listed; more classes: the ones with most flagged images */

const char *rl_page_verb(const rl_cleaning *c)
{
    if (!strcmp(c->mode, "drop")) return "removed";
    if (!strcmp(c->mode, "relabel")) return "relabelled";
    return "flagged";
}

static double pct(int64_t a, int64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

void rl_page_cleaning_summary(rl_page_ctx *p, const rl_cleaning *c)
{
    FILE *f = p->f;
    char a[32], b[32], d[32];
    fprintf(f, "<li><b>%s</b> of %s training images %s by the teacher (%.1f%%)</li>\n",
            rl_html_count(c->flagged, a, sizeof a), rl_html_count(c->total, b, sizeof b), rl_page_verb(c),
            pct(c->flagged, c->total));
    if (!c->has_truth) return;
    fprintf(f, "<li><b>%.1f%%</b> precision: %s of the %s %s labels were wrong</li>\n",
            pct(c->flagged_noisy, c->flagged), rl_html_count(c->flagged_noisy, a, sizeof a),
            rl_html_count(c->flagged, b, sizeof b), rl_page_verb(c));
    fprintf(f, "<li><b>%.1f%%</b> recall: %s of the %s wrong labels were %s</li>\n", pct(c->flagged_noisy, c->noisy),
            rl_html_count(c->flagged_noisy, a, sizeof a), rl_html_count(c->noisy, b, sizeof b), rl_page_verb(c));
    int64_t kept = c->total - c->flagged, missed = c->noisy - c->flagged_noisy;
    fprintf(f, "<li><b>%s</b> wrong labels kept: %.1f%% of the %s kept images</li>\n",
            rl_html_count(missed, d, sizeof d), pct(missed, kept), rl_html_count(kept, a, sizeof a));
}

/* ---- per class ---- */

static void class_row(rl_page_ctx *p, const rl_cleaning *c, int k)
{
    FILE *f = p->f;
    char name[256], a[32], b[32];
    const int64_t tot = c->per_class_total[k], fl = c->per_class_flagged[k];
    const int split = c->per_class_flagged_noisy != NULL;
    const int64_t wrong = split ? c->per_class_flagged_noisy[k] : fl;
    fprintf(f, "<tr data-class=\"%d\" data-total=\"%lld\" data-flagged=\"%lld\"", k, (long long)tot, (long long)fl);
    if (split) fprintf(f, " data-flagged-noisy=\"%lld\"", (long long)wrong);
    fprintf(f, "><th scope=\"row\">%d ", k);
    rl_html_text(f, rl_page_class(p, k, name, sizeof name));
    fprintf(f, "</th><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%.1f%%</td>",
            rl_html_count(tot, a, sizeof a), rl_html_count(fl, b, sizeof b), pct(fl, tot));
    if (split)
        fprintf(f, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>", (long long)wrong, (long long)(fl - wrong));
    fprintf(f,
            "<td><div class=\"bar\" aria-hidden=\"true\"><span class=\"b-wrong\" style=\"width:%.2f%%\"></span>"
            "<span class=\"b-right\" style=\"width:%.2f%%\"></span></div></td></tr>\n",
            pct(wrong, tot), pct(fl - wrong, tot));
}

typedef struct {
    int64_t flagged;
    int k;
} class_key;

/* Most flagged first, lower class first on ties. */
static int by_flagged(const void *a, const void *b)
{
    const class_key *x = a, *y = b;
    if (x->flagged != y->flagged) return x->flagged > y->flagged ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

static void per_class(rl_page_ctx *p, const rl_cleaning *c)
{
    FILE *f = p->f;
    const int split = c->per_class_flagged_noisy != NULL, C = c->num_classes;
    class_key *order = malloc((size_t)(C ? C : 1) * sizeof *order);
    int shown = 0;
    if (!order) return;
    for (int k = 0; k < C; k++)
        if (c->per_class_total[k]) order[shown++] = (class_key){c->per_class_flagged[k], k};
    const int all = shown <= CLASS_ROWS;
    if (!all) qsort(order, (size_t)shown, sizeof *order, by_flagged);
    const int rows = all ? shown : CLASS_ROWS;
    fprintf(f, "<h3 id=\"per-class\">%c%s per class</h3>\n<table id=\"classes\">\n<caption>", rl_page_verb(c)[0] - 32,
            rl_page_verb(c) + 1);
    if (all)
        fprintf(f, "Every class, by the label the list gave.");
    else
        fprintf(f,
                "The %d of %d classes with the most %s images, by the label the list gave; every class is in the "
                "per-image table and the JSON report.",
                rows, shown, rl_page_verb(c));
    if (split)
        fprintf(f,
                " Bar: share of the class %s, <span class=\"key b-wrong\"></span>label was wrong (from the noise "
                "record), <span class=\"key b-right\"></span>label was right.",
                rl_page_verb(c));
    fprintf(f,
            "</caption>\n<thead><tr><th scope=\"col\">class</th><th scope=\"col\" class=\"n\">images</th>"
            "<th scope=\"col\" class=\"n\">%s</th><th scope=\"col\" class=\"n\">share</th>",
            rl_page_verb(c));
    if (split)
        fprintf(f, "<th scope=\"col\" class=\"n\">label was wrong</th><th scope=\"col\" class=\"n\">label was "
                   "right</th>");
    fprintf(f, "<th scope=\"col\"><span class=\"muted\">share %s</span></th></tr></thead>\n<tbody>\n", rl_page_verb(c));
    for (int i = 0; i < rows; i++)
        class_row(p, c, order[i].k);
    fprintf(f, "</tbody>\n</table>\n");
    free(order);
}

static void pairs(rl_page_ctx *p, const rl_cleaning *c)
{
    FILE *f = p->f;
    char a[256], b[256];
    if (!c->npairs) return;
    fprintf(f,
            "<h3 id=\"pairs\">Most frequent disagreements</h3>\n<table id=\"pair-table\">\n<caption>The %d most "
            "frequent (given label &rarr; teacher's top-1) pairs among the %s images, by count.</caption>\n"
            "<thead><tr><th scope=\"col\">given label</th><th scope=\"col\">teacher's top-1</th>"
            "<th scope=\"col\" class=\"n\">images</th><th scope=\"col\" class=\"n\">share</th></tr></thead>\n"
            "<tbody>\n",
            c->npairs, rl_page_verb(c));
    for (int q = 0; q < c->npairs; q++) {
        fprintf(f, "<tr data-label=\"%d\" data-teacher=\"%d\" data-count=\"%lld\"><td>%d ", c->pair_label[q],
                c->pair_teacher[q], (long long)c->pair_count[q], c->pair_label[q]);
        rl_html_text(f, rl_page_class(p, c->pair_label[q], a, sizeof a));
        fprintf(f, " &rarr;</td><td>%d ", c->pair_teacher[q]);
        rl_html_text(f, rl_page_class(p, c->pair_teacher[q], b, sizeof b));
        fprintf(f, "</td><td class=\"n\">%lld</td><td class=\"n\">%.1f%%</td></tr>\n", (long long)c->pair_count[q],
                pct(c->pair_count[q], c->flagged));
    }
    fprintf(f, "</tbody>\n</table>\n");
}

/* ---- galleries ---- */

static void thumb(rl_page_ctx *p, const rl_cleaning_image *im, const uint8_t *png, size_t n, int w, int h)
{
    FILE *f = p->f;
    char given[256], teacher[256], truth[256];
    rl_page_class(p, im->label, given, sizeof given);
    rl_page_class(p, im->teacher, teacher, sizeof teacher);
    if (im->truth >= 0) rl_page_class(p, im->truth, truth, sizeof truth);
    const int scale = w <= 32 && h <= 32 ? 3 : 1; /* IDX digits and clothes are 28 px: shown 3x, pixel-sharp */
    fprintf(f, "<li><figure><img%s width=\"%d\" height=\"%d\" alt=\"", scale > 1 ? " class=\"px\"" : "", w * scale,
            h * scale);
    rl_html_textf(f, "%s: given label %s; teacher's top-1 %s at %.0f%%", im->id, given, teacher, 100.0 * im->prob);
    if (im->truth >= 0) rl_html_textf(f, "; true label %s", truth);
    fprintf(f, "\" src=\"data:image/png;base64,");
    rl_html_base64(f, png, n);
    /* A given label the noise record says is wrong is struck through (<s>: no longer accurate). */
    const int wrong = im->truth >= 0 && im->truth != im->label;
    fprintf(f, "\"><figcaption><dl><dt>given</dt><dd>%s", wrong ? "<s>" : "");
    rl_html_text(f, given);
    fprintf(f, "%s</dd><dt>teacher</dt><dd>", wrong ? "</s>" : "");
    rl_html_text(f, teacher);
    fprintf(f, "&nbsp;%.0f%%</dd>", 100.0 * im->prob);
    if (im->truth >= 0) {
        fprintf(f, "<dt>truth</dt><dd>");
        rl_html_text(f, truth);
        fprintf(f, "</dd>");
    }
    fprintf(f, "</dl><span class=\"id\">");
    rl_html_text(f, im->id);
    fprintf(f, "</span></figcaption></figure></li>\n");
}

static void gallery(rl_page_ctx *p, const rl_cleaning *c, rl_thumbs *t, rl_gallery_section s, int64_t cap,
                    rl_page_summary *sum)
{
    static const char *const ids[] = {"gallery-wrong", "gallery-right", "gallery-missed"};
    FILE *f = p->f;
    int64_t avail, *pick = malloc((size_t)cap * sizeof *pick);
    int64_t k = pick ? rl_cleaning_gallery(c, s, cap, pick, &avail) : -1;
    if (k < 0) {
        rl_log(RL_LOG_WARN, "relab report: out of memory choosing the gallery");
        free(pick);
        return;
    }
    if (!avail && s != RL_GALLERY_FLAGGED_WRONG) {
        free(pick);
        return;
    }
    /* Thumbnails first, so the count on the page is what it shows. */
    uint8_t **png = calloc((size_t)(k ? k : 1), sizeof *png);
    size_t *len = calloc((size_t)(k ? k : 1), sizeof *len);
    int *w = calloc((size_t)(k ? k : 1), sizeof *w), *h = calloc((size_t)(k ? k : 1), sizeof *h);
    rl_error *why = calloc((size_t)(k ? k : 1), sizeof *why);
    int64_t shown = 0;
    for (int64_t i = 0; png && len && w && h && why && i < k; i++)
        shown += rl_thumbs_png(t, c->images[pick[i]].id, &png[i], &len[i], &w[i], &h[i], &why[i]) == RL_OK;
    if (!png || !len || !w || !h || !why) k = 0;
    char a[32], b[32];
    const char *v = rl_page_verb(c);
    fprintf(
        f,
        "<section class=\"gallery\" id=\"%s\" data-shown=\"%lld\" data-available=\"%lld\" aria-labelledby=\"h-%s\">\n"
        "<h3 id=\"h-%s\">",
        ids[s], (long long)shown, (long long)avail, ids[s], ids[s]);
    if (s == RL_GALLERY_FLAGGED_WRONG)
        fprintf(f, c->has_truth ? "%c%s, and the label was wrong" : "%c%s images", v[0] - 32, v + 1);
    else if (s == RL_GALLERY_FLAGGED_RIGHT)
        fprintf(f, "%c%s, but the label was right (the teacher was wrong)", v[0] - 32, v + 1);
    else
        fprintf(f, "Kept, but the label was wrong (noise the teacher missed)");
    fprintf(f, "</h3>\n<p>Showing %s of %s%s.", rl_html_count(shown, a, sizeof a), rl_html_count(avail, b, sizeof b),
            shown > 1 ? ": the teacher's most confident first, taking the given labels in turn" : "");
    if (s == RL_GALLERY_FLAGGED_WRONG && c->has_truth) fprintf(f, " Here the teacher was right.");
    fprintf(f, "</p>\n<ul class=\"thumbs\">\n");
    for (int64_t i = 0; i < k; i++)
        if (png[i]) thumb(p, &c->images[pick[i]], png[i], len[i], w[i], h[i]);
    fprintf(f, "</ul>\n");
    if (shown < k) {
        fprintf(f, "<p class=\"missing\">Not shown (%lld): ", (long long)(k - shown));
        for (int64_t i = 0, listed = 0; i < k && listed < 10; i++)
            if (!png[i]) {
                fprintf(f, "%s<code>", listed++ ? "; " : "");
                rl_html_text(f, why[i].msg);
                fprintf(f, "</code>");
            }
        fprintf(f, "%s</p>\n", k - shown > 10 ? "; ..." : "");
        rl_log(RL_LOG_WARN, "relab report: %lld of %lld gallery images not shown; first: %s", (long long)(k - shown),
               (long long)k, why[0].msg[0] ? why[0].msg : "?");
    }
    fprintf(f, "</section>\n");
    sum->shown += shown;
    sum->available += avail;
    sum->missing += k - shown;
    for (int64_t i = 0; png && i < k; i++)
        free(png[i]);
    free(png);
    free(len);
    free(w);
    free(h);
    free(why);
    free(pick);
}

void rl_page_cleaning(rl_page_ctx *p, const rl_cleaning *c, rl_thumbs *t, int64_t cap, rl_page_summary *sum)
{
    FILE *f = p->f;
    char a[32], b[32];
    fprintf(f, "<section id=\"cleaning\" aria-labelledby=\"h-cleaning\">\n<h2 id=\"h-cleaning\">Cleaning</h2>\n<p>");
    if (c->rule[0]) {
        fprintf(f, "Rule <code>");
        rl_html_text(f, c->rule);
        fprintf(f, "</code>, mode <code>");
        rl_html_text(f, c->mode);
        fprintf(f, "</code>: ");
    }
    fprintf(f, "%s of %s images disagreed with the teacher and were %s.", rl_html_count(c->flagged, a, sizeof a),
            rl_html_count(c->total, b, sizeof b), rl_page_verb(c));
    if (c->has_truth)
        fprintf(f, " A noise record says which labels were wrong: %s in all.", rl_html_count(c->noisy, a, sizeof a));
    fprintf(f, "</p>\n");
    per_class(p, c);
    pairs(p, c);
    fprintf(f, "</section>\n");
    if (!t || cap <= 0) return;
    fprintf(f,
            "<section id=\"gallery\" aria-labelledby=\"h-gallery\">\n<h2 id=\"h-gallery\">%c%s images</h2>\n"
            "<p>Each image with the label the list gave, the teacher's top-1 and its probability%s. At most "
            "%lld per group.</p>\n",
            rl_page_verb(c)[0] - 32, rl_page_verb(c) + 1,
            c->has_truth ? ", and the true label from the noise record" : "", (long long)cap);
    for (int s = 0; s < (c->has_truth ? RL_GALLERY_SECTIONS : 1); s++)
        gallery(p, c, t, (rl_gallery_section)s, cap, sum);
    fprintf(f, "</section>\n");
}
