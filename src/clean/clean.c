/* clean.c: teacher-based label cleaning (rules and modes in clean.h). */
#include "clean/clean.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clean/noise.h"
#include "eval/report.h"
#include "train/loss.h"
#include "util/fs.h"

#define ROW_BITS 40 /* map value = file << 40 | row: 2^40 rows per file is plenty */

rl_status rl_clean_rule_parse(const char *text, rl_clean_opts *o, rl_error *err)
{
    char *end;
    if (!strcmp(text, "top1")) {
        o->rule = RL_CLEAN_TOP1;
        return RL_OK;
    }
    if (!strncmp(text, "topk:", 5)) {
        long k = strtol(text + 5, &end, 10);
        if (end == text + 5 || *end || k < 1 || k > 1000000)
            return rl_fail(err, RL_ERR_ARG, "--rule '%s': K must be a positive integer", text);
        o->rule = RL_CLEAN_TOPK;
        o->k = (int)k;
        return RL_OK;
    }
    if (!strncmp(text, "prob:", 5)) {
        double t = strtod(text + 5, &end);
        if (end == text + 5 || *end || !(t >= 0.0 && t <= 1.0))
            return rl_fail(err, RL_ERR_ARG, "--rule '%s': THRESH must be a probability in [0, 1]", text);
        o->rule = RL_CLEAN_PROB;
        o->thresh = t;
        return RL_OK;
    }
    return rl_fail(err, RL_ERR_ARG, "--rule '%s': expected top1, topk:K or prob:THRESH", text);
}

rl_status rl_teacher_init(rl_teacher *t, const rl_preds *files, int nfiles, const char *const *paths, rl_error *err)
{
    memset(t, 0, sizeof *t);
    int64_t total = 0;
    for (int f = 0; f < nfiles; f++) {
        total += files[f].n;
        if (files[f].num_classes != files[0].num_classes)
            return rl_fail(err, RL_ERR_FORMAT, "%s has %d classes but %s has %d; teachers must share the classes",
                           paths[f], files[f].num_classes, paths[0], files[0].num_classes);
    }
    rl_status st = rl_idmap_init(&t->map, total, err);
    if (st) return st;
    t->files = files;
    t->paths = paths;
    t->nfiles = nfiles;
    for (int f = 0; f < nfiles; f++)
        for (int64_t i = 0; i < files[f].n; i++) {
            int64_t prev = rl_idmap_put(&t->map, files[f].ids[i], ((int64_t)f << ROW_BITS) | i);
            if (prev >= 0) {
                int pf = (int)(prev >> ROW_BITS);
                st = rl_fail(err, RL_ERR_FORMAT,
                             "id '%s' is predicted twice: %s row %lld and %s row %lld; out-of-fold teachers must "
                             "cover disjoint samples",
                             files[f].ids[i], paths[pf], (long long)(prev & ((1LL << ROW_BITS) - 1)), paths[f],
                             (long long)i);
                rl_teacher_free(t);
                return st;
            }
        }
    return RL_OK;
}

void rl_teacher_free(rl_teacher *t)
{
    rl_idmap_free(&t->map);
    memset(t, 0, sizeof *t);
}

void rl_clean_stats_free(rl_clean_stats *s)
{
    if (!s) return;
    free(s->per_class_total);
    free(s->per_class_flagged);
    free(s->flagged_rows);
    free(s->teacher_top1);
    free(s->teacher_prob);
    free(s->label_prob);
    free(s->action);
    free(s->new_label);
    memset(s, 0, sizeof *s);
}

rl_status rl_clean_stats_alloc(rl_clean_stats *s, int64_t total, int num_classes, rl_error *err)
{
    memset(s, 0, sizeof *s);
    const size_t rows = (size_t)(total ? total : 1), C = (size_t)(num_classes > 0 ? num_classes : 1);
    s->num_classes = num_classes;
    s->total = total;
    s->per_class_total = calloc(C, sizeof *s->per_class_total);
    s->per_class_flagged = calloc(C, sizeof *s->per_class_flagged);
    s->flagged_rows = calloc(rows, 1);
    s->teacher_top1 = malloc(rows * sizeof *s->teacher_top1);
    s->teacher_prob = malloc(rows * sizeof *s->teacher_prob);
    s->label_prob = malloc(rows * sizeof *s->label_prob);
    s->action = malloc(rows);
    s->new_label = malloc(rows * sizeof *s->new_label);
    if (s->per_class_total && s->per_class_flagged && s->flagged_rows && s->teacher_top1 && s->teacher_prob &&
        s->label_prob && s->action && s->new_label)
        return RL_OK;
    rl_clean_stats_free(s);
    return rl_fail(err, RL_ERR_NOMEM, "clean: out of memory for %lld samples", (long long)total);
}

/* Teacher probability of class c for row i into *prob: from the stored top-k,
 * else from the logits (probs[C] is scratch space).  Returns 0 when known;
 * otherwise 1 and *prob = the k-th stored score, an upper bound. */
static int class_prob(const rl_preds *p, int64_t i, int32_t c, float *probs, double *prob)
{
    for (int j = 0; j < p->k; j++)
        if (p->topk_classes[i * p->k + j] == c) {
            *prob = p->topk_scores[i * p->k + j];
            return 0;
        }
    if (p->logits) {
        rl_loss_kind kind = strcmp(p->score_kind, "sigmoid") ? RL_LOSS_SOFTMAX : RL_LOSS_SIGMOID;
        rl_loss_probabilities(kind, p->logits + i * p->num_classes, p->num_classes, probs);
        *prob = probs[c];
        return 0;
    }
    *prob = p->topk_scores[i * p->k + p->k - 1];
    return 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Fills the most frequent (label, teacher) pairs from keys label*C+teacher. */
static void top_pairs(rl_clean_stats *s, int64_t *keys, int64_t nkeys)
{
    qsort(keys, (size_t)nkeys, sizeof *keys, cmp_i64);
    s->npairs = 0;
    for (int64_t a = 0; a < nkeys;) {
        int64_t b = a;
        while (b < nkeys && keys[b] == keys[a])
            b++;
        int64_t cnt = b - a;
        /* Insert keeping the order: count descending, then key ascending (stable for ties). */
        int pos = s->npairs;
        while (pos > 0 && s->pair_count[pos - 1] < cnt)
            pos--;
        if (pos < RL_CLEAN_TOP_PAIRS) {
            int last = s->npairs < RL_CLEAN_TOP_PAIRS ? s->npairs : RL_CLEAN_TOP_PAIRS - 1;
            for (int q = last; q > pos; q--) {
                s->pair_count[q] = s->pair_count[q - 1];
                s->pair_label[q] = s->pair_label[q - 1];
                s->pair_teacher[q] = s->pair_teacher[q - 1];
            }
            s->pair_count[pos] = cnt;
            s->pair_label[pos] = (int32_t)(keys[a] / s->num_classes);
            s->pair_teacher[pos] = (int32_t)(keys[a] % s->num_classes);
            if (s->npairs < RL_CLEAN_TOP_PAIRS) s->npairs++;
        }
        a = b;
    }
}

/* What rl_clean_run checks before it allocates: the teacher knows every class
 * of the list, stores enough of its top-k for the rule, and predicts every
 * sample (the first few without a prediction are named). */
static rl_status clean_check_inputs(const rl_list *train, const rl_teacher *t, const rl_clean_opts *o, int C,
                                    rl_error *err)
{
    if (train->num_classes > C)
        return rl_fail(err, RL_ERR_FORMAT, "the training list has %d classes but the teacher %s only %d",
                       train->num_classes, t->paths[0], C);
    if (o->rule == RL_CLEAN_TOPK)
        for (int f = 0; f < t->nfiles; f++)
            if (o->k > t->files[f].k)
                return rl_fail(err, RL_ERR_ARG, "--rule topk:%d but a teacher file stores only the top %d", o->k,
                               t->files[f].k);
    int64_t missing = 0;
    char first[5][128];
    for (int64_t i = 0; i < train->count; i++)
        if (rl_idmap_get(&t->map, train->paths[i]) < 0) {
            if (missing < 5) snprintf(first[missing], sizeof first[0], "%s", train->paths[i]);
            missing++;
        }
    if (!missing) return RL_OK;
    char list[800] = "";
    for (int64_t q = 0; q < missing && q < 5; q++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", q ? ", " : "", first[q]);
    return rl_fail(err, RL_ERR_FORMAT,
                   "%lld training samples have no teacher prediction in %s%s (first: %s); the teacher ids must "
                   "equal the list paths and cover every sample",
                   (long long)missing, t->paths[0], t->nfiles > 1 ? " and the other teacher files" : "", list);
}

/* One sample's teacher row: its file, its row, and that row's top-k. */
typedef struct {
    const rl_preds *p;
    int64_t row;
    const int32_t *top;
    const float *sc;
} teacher_row;

/* Whether the teacher agrees with sample i's label y under o's rule into
 * *agree, recording the teacher's view in s (probs[C]: scratch). */
static rl_status clean_judge(const rl_list *train, int64_t i, const teacher_row *tr, const rl_clean_opts *o,
                             float *probs, rl_clean_stats *s, int *agree, rl_error *err)
{
    int32_t y = train->labels[i];
    double prob;
    int bound = class_prob(tr->p, tr->row, y, probs, &prob); /* prob <= the k-th score when only bounded */
    s->teacher_top1[i] = tr->top[0];
    s->teacher_prob[i] = tr->sc[0];
    s->label_prob[i] = bound ? NAN : (float)prob;
    *agree = 0;
    if (o->rule == RL_CLEAN_TOP1) {
        *agree = tr->top[0] == y;
    } else if (o->rule == RL_CLEAN_TOPK) {
        for (int j = 0; j < o->k; j++)
            *agree |= tr->top[j] == y;
    } else {
        if (bound && prob >= o->thresh)
            return rl_fail(err, RL_ERR_FORMAT,
                           "teacher row for '%s' stores only the top %d (all >= %g) and no logits, so the "
                           "probability of label %d is unknown; write logits or a larger top-k",
                           train->paths[i], tr->p->k, o->thresh, y);
        *agree = prob >= o->thresh;
    }
    return RL_OK;
}

/* Sample i's labels after cleaning into buf (primary first) and their count,
 * or -1 when o's mode drops it; its action and new label go to s.  has[C] is
 * all zero on entry and on return. */
static int clean_labels(const rl_list *train, int64_t i, const teacher_row *tr, const rl_clean_opts *o, int agree,
                        int C, int32_t *buf, uint8_t *has, rl_clean_stats *s)
{
    int32_t y = train->labels[i];
    int nl = 0;
    if (train->multi_offsets)
        for (int64_t q = train->multi_offsets[i]; q < train->multi_offsets[i + 1]; q++)
            buf[nl++] = train->multi_classes[q];
    else
        buf[nl++] = y;
    s->action[i] = RL_CLEAN_KEPT;
    s->new_label[i] = y;
    if (o->mode == RL_CLEAN_DROP && !agree) {
        s->action[i] = RL_CLEAN_DROPPED;
        s->new_label[i] = -1;
        return -1;
    }
    if (o->mode == RL_CLEAN_RELABEL && !agree) {
        int w = 1;
        for (int q = 1; q < nl; q++)
            if (buf[q] != tr->top[0]) buf[w++] = buf[q];
        nl = w;
        buf[0] = tr->top[0];
        s->relabeled++;
        s->action[i] = RL_CLEAN_RELABELED;
        s->new_label[i] = tr->top[0];
    }
    if (o->mode == RL_CLEAN_MULTIHOT) {
        for (int q = 0; q < nl; q++)
            has[buf[q]] = 1;
        for (int j = 0; j < tr->p->k; j++) {
            if (!(tr->sc[j] >= o->multihot_thresh)) break; /* scores are sorted best first */
            if (!has[tr->top[j]] && nl <= C) {
                has[tr->top[j]] = 1;
                buf[nl++] = tr->top[j];
                s->extra_added++;
            }
        }
        for (int q = 0; q < nl; q++)
            has[buf[q]] = 0;
    }
    return nl;
}

rl_status rl_clean_run(const rl_list *train, const rl_teacher *t, const rl_clean_opts *o, rl_list *out,
                       rl_clean_stats *s, rl_error *err)
{
    memset(out, 0, sizeof *out);
    memset(s, 0, sizeof *s);
    RL_CHECK(t->nfiles > 0);
    const int C = t->files[0].num_classes;
    rl_status st = clean_check_inputs(train, t, o, C, err);
    if (st || (st = rl_clean_stats_alloc(s, train->count, C, err))) return st;
    const size_t rows = (size_t)(train->count ? train->count : 1);
    int64_t *keys = malloc(rows * sizeof *keys);
    int32_t *buf = malloc(((size_t)C + 1) * sizeof *buf);
    float *probs = malloc((size_t)C * sizeof *probs);
    uint8_t *has = calloc((size_t)C, 1); /* has[c]: c is among the sample's labels (multihot) */
    if (!keys || !buf || !probs || !has) {
        st = rl_fail(err, RL_ERR_NOMEM, "clean: out of memory for %lld samples", (long long)train->count);
        goto done;
    }
    out->num_classes = train->num_classes;
    if ((st = rl_list_set_root(out, train->root, err))) goto done;
    int64_t nkeys = 0;
    for (int64_t i = 0; i < train->count && !st; i++) {
        int64_t v = rl_idmap_get(&t->map, train->paths[i]);
        teacher_row tr = {&t->files[v >> ROW_BITS], v & ((1LL << ROW_BITS) - 1), NULL, NULL};
        tr.top = tr.p->topk_classes + tr.row * tr.p->k;
        tr.sc = tr.p->topk_scores + tr.row * tr.p->k;
        int agree;
        if ((st = clean_judge(train, i, &tr, o, probs, s, &agree, err))) break;
        int32_t y = train->labels[i];
        s->per_class_total[y]++;
        if (!agree) {
            s->flagged++;
            s->flagged_rows[i] = 1;
            s->per_class_flagged[y]++;
            keys[nkeys++] = (int64_t)y * C + tr.top[0];
        }
        int nl = clean_labels(train, i, &tr, o, agree, C, buf, has, s);
        if (nl < 0) continue;
        s->kept++;
        st = rl_list_append(out, train->paths[i], buf, nl, err);
    }
    if (!st) top_pairs(s, keys, nkeys);
done:
    free(keys);
    free(buf);
    free(probs);
    free(has);
    if (st) {
        rl_list_free(out);
        rl_clean_stats_free(s);
    }
    return st;
}

rl_status rl_clean_against_record(const rl_list *train, const rl_list *out, const rl_clean_opts *o,
                                  const rl_clean_stats *s, const char *record_path, rl_clean_pr *pr, int32_t *truth,
                                  rl_error *err)
{
    memset(pr, 0, sizeof *pr);
    rl_noise_record rec;
    rl_status st = rl_noise_record_read(record_path, &rec, err);
    if (st) return st;
    rl_idmap map;
    if ((st = rl_idmap_init(&map, train->count, err))) {
        rl_noise_record_free(&rec);
        return st;
    }
    for (int64_t i = 0; i < train->count; i++)
        rl_idmap_put(&map, train->paths[i], i);
    uint8_t *changed = calloc((size_t)(train->count ? train->count : 1), 1);
    int32_t *orig = malloc((size_t)(train->count ? train->count : 1) * sizeof *orig);
    if (!changed || !orig) {
        st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory", record_path);
        goto done;
    }
    for (int64_t r = 0; r < rec.count; r++) {
        int64_t i = rl_idmap_get(&map, rec.ids[r]);
        if (i < 0) continue;
        if (rec.noisy[r] != train->labels[i]) {
            st = rl_fail(err, RL_ERR_FORMAT,
                         "%s: '%s' was made %d by the noise but the training list says %d; is this the record of "
                         "this list?",
                         record_path, rec.ids[r], rec.noisy[r], train->labels[i]);
            goto done;
        }
        changed[i] = 1;
        orig[i] = rec.original[r];
    }
    /* Relabeled rows appear in out in train order (relabel keeps every sample). */
    for (int64_t i = 0; i < train->count; i++) {
        pr->changed += changed[i];
        pr->flagged += s->flagged_rows[i];
        pr->hit += changed[i] & s->flagged_rows[i];
        if (o->mode == RL_CLEAN_RELABEL && changed[i] && s->flagged_rows[i] && out->labels[i] == orig[i])
            pr->restored++;
    }
    if (truth)
        for (int64_t i = 0; i < train->count; i++)
            truth[i] = changed[i] ? orig[i] : train->labels[i];
    pr->precision = pr->flagged ? (double)pr->hit / (double)pr->flagged : NAN;
    pr->recall = pr->changed ? (double)pr->hit / (double)pr->changed : NAN;
done:
    free(changed);
    free(orig);
    rl_idmap_free(&map);
    rl_noise_record_free(&rec);
    return st;
}

/* Writes a float probability so that it reads back as the same float (9
 * significant digits), or nothing when unknown. */
static void put_prob(FILE *f, float v)
{
    if (isfinite(v)) fprintf(f, "%.9g", (double)v);
}

rl_status rl_clean_rows_write(const char *path, const rl_list *train, const rl_clean_stats *s, const int32_t *truth,
                              rl_error *err)
{
    static const char *actions[] = {"kept", "dropped", "relabeled"};
    RL_CHECK(s->total == train->count);
    rl_fs_writer w;
    rl_status st = rl_fs_writer_open(&w, path, err);
    if (st) return st;
    FILE *f = w.f;
    fputs("id\tlabel\tteacher\tteacher_prob\tlabel_prob\tagrees\taction\tnew_label\ttruth\n", f);
    for (int64_t i = 0; i < s->total && !ferror(f); i++) {
        fprintf(f, "%s\t%d\t", train->paths[i], (int)train->labels[i]);
        if (s->teacher_top1[i] >= 0) {
            fprintf(f, "%d\t", (int)s->teacher_top1[i]);
            put_prob(f, s->teacher_prob[i]);
            fputc('\t', f);
            put_prob(f, s->label_prob[i]);
            fprintf(f, "\t%d\t", !s->flagged_rows[i]);
        } else {
            fputs("\t\t\t\t", f); /* no teacher: cleaned by a keep or drop list */
        }
        fprintf(f, "%s\t", actions[s->action[i]]);
        if (s->new_label[i] >= 0) fprintf(f, "%d", (int)s->new_label[i]);
        fputc('\t', f);
        if (truth) fprintf(f, "%d", (int)truth[i]);
        fputc('\n', f);
    }
    return rl_fs_writer_commit(&w, err);
}

static const char *rule_name(const rl_clean_opts *o, char *buf, size_t n)
{
    if (o->rule == RL_CLEAN_TOP1)
        snprintf(buf, n, "top1");
    else if (o->rule == RL_CLEAN_KEEP_LIST || o->rule == RL_CLEAN_DROP_LIST)
        snprintf(buf, n, "%s:%s", o->rule == RL_CLEAN_KEEP_LIST ? "keep-list" : "drop-list", o->names);
    else if (o->rule == RL_CLEAN_TOPK)
        snprintf(buf, n, "topk:%d", o->k);
    else
        snprintf(buf, n, "prob:%g", o->thresh);
    return buf;
}

/* The JSON report (layout in docs/formats.md), written with Jansson. */
static void report_json(FILE *f, const rl_clean_stats *s, const rl_clean_pr *pr, const char *rule, const char *mode)
{
    json_t *fl = json_array(), *tot = json_array(), *pairs = json_array();
    for (int c = 0; c < s->num_classes; c++) {
        json_array_append_new(fl, json_integer(s->per_class_flagged[c]));
        json_array_append_new(tot, json_integer(s->per_class_total[c]));
    }
    for (int q = 0; q < s->npairs; q++)
        json_array_append_new(pairs, json_pack("{si si sI}", "label", s->pair_label[q], "teacher", s->pair_teacher[q],
                                               "count", (json_int_t)s->pair_count[q]));
    json_t *names =
        s->names ? json_pack("{sI sI sI sI}", "names", (json_int_t)s->names, "matched", (json_int_t)s->names_matched,
                             "unmatched", (json_int_t)s->names_unmatched, "repeated", (json_int_t)s->names_repeated)
                 : json_null();
    json_t *noise =
        pr ? json_pack("{sI sI sI sI so so}", "changed", (json_int_t)pr->changed, "flagged", (json_int_t)pr->flagged,
                       "hit", (json_int_t)pr->hit, "restored", (json_int_t)pr->restored, "precision",
                       rl_json_num(pr->precision), "recall", rl_json_num(pr->recall))
           : json_null();
    rl_json_write(f, json_pack("{ss ss sI sI sI sI sI sI so so so so so}", "rule", rule, "mode", mode, "total",
                               (json_int_t)s->total, "kept", (json_int_t)s->kept, "flagged", (json_int_t)s->flagged,
                               "removed", (json_int_t)(s->total - s->kept), "relabeled", (json_int_t)s->relabeled,
                               "extra_added", (json_int_t)s->extra_added, "flagged_per_class", fl, "total_per_class",
                               tot, "top_pairs", pairs, "names", names, "noise", noise));
}

void rl_clean_report(FILE *f, const rl_clean_stats *s, const rl_clean_pr *pr, const rl_clean_opts *o,
                     rl_clean_report_kind kind)
{
    static const char *modes[] = {"drop", "relabel", "multihot"};
    char rule[4200];
    rule_name(o, rule, sizeof rule);
    if (kind == RL_CLEAN_REPORT_JSON) {
        report_json(f, s, pr, rule, modes[o->mode]);
        return;
    }
    fprintf(f, "clean: rule %s, mode %s\n", rule, modes[o->mode]);
    if (s->names) {
        fprintf(f, "  %lld names: %lld are samples of the list, %lld match none", (long long)s->names,
                (long long)s->names_matched, (long long)s->names_unmatched);
        for (int64_t q = 0; q < s->names_unmatched && q < 3; q++)
            fprintf(f, "%s'%s'", q ? ", " : " (first: ", s->unmatched_first[q]);
        fprintf(f, "%s", s->names_unmatched ? ")" : "");
        if (s->names_repeated) fprintf(f, ", %lld repeat an earlier name", (long long)s->names_repeated);
        fputc('\n', f);
    }
    fprintf(f, "  samples %lld, %s %lld (%.2f%%), kept %lld, removed %lld", (long long)s->total,
            s->names ? (o->rule == RL_CLEAN_KEEP_LIST ? "not in the keep list" : "in the drop list")
                     : "disagree with the teacher",
            (long long)s->flagged, s->total ? 100.0 * (double)s->flagged / (double)s->total : 0.0, (long long)s->kept,
            (long long)(s->total - s->kept));
    if (o->mode == RL_CLEAN_RELABEL) fprintf(f, ", relabeled %lld", (long long)s->relabeled);
    if (o->mode == RL_CLEAN_MULTIHOT) fprintf(f, ", extra positives added %lld", (long long)s->extra_added);
    fputc('\n', f);
    if (kind == RL_CLEAN_REPORT_TEXT || s->num_classes <= 20) {
        fprintf(f, "  disagreeing per class (label: flagged / samples):\n");
        for (int c = 0; c < s->num_classes; c++)
            if (s->per_class_total[c])
                fprintf(f, "    %4d: %lld / %lld\n", c, (long long)s->per_class_flagged[c],
                        (long long)s->per_class_total[c]);
    } else {
        /* The 10 classes with the most flagged samples (lower class first on ties). */
        int top[10], ntop = 0;
        for (int c = 0; c < s->num_classes; c++) {
            int pos = ntop;
            while (pos > 0 && s->per_class_flagged[top[pos - 1]] < s->per_class_flagged[c])
                pos--;
            if (pos >= 10) continue;
            for (int q = (ntop < 10 ? ntop : 9); q > pos; q--)
                top[q] = top[q - 1];
            top[pos] = c;
            if (ntop < 10) ntop++;
        }
        fprintf(f, "  classes with the most disagreeing samples (label: flagged / samples; all in --report):\n");
        for (int q = 0; q < ntop; q++)
            fprintf(f, "    %4d: %lld / %lld\n", top[q], (long long)s->per_class_flagged[top[q]],
                    (long long)s->per_class_total[top[q]]);
    }
    if (s->npairs) fprintf(f, "  most frequent (label -> teacher top-1) among them:\n");
    for (int q = 0; q < s->npairs; q++)
        fprintf(f, "    %4d -> %4d  %lld\n", s->pair_label[q], s->pair_teacher[q], (long long)s->pair_count[q]);
    if (pr) {
        fprintf(f, "  against the noise record: %lld changed, %lld flagged, %lld both: precision %.4f, recall %.4f\n",
                (long long)pr->changed, (long long)pr->flagged, (long long)pr->hit, pr->precision, pr->recall);
        if (o->mode == RL_CLEAN_RELABEL)
            fprintf(f, "  relabeling restored the original label of %lld changed samples\n", (long long)pr->restored);
    }
}
