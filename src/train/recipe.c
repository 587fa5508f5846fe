/* recipe.c: the `key = value` recipe parser, resolver and canonical writer.
 *
 * One table (keys[] below) describes every key: name, type, where it lives in
 * rl_recipe, its valid range or words.  Parsing, writing and the key list all
 * walk that table, so a key cannot be readable but not writable.  The format
 * and the meaning of each key are in recipe.h and docs/recipes.md.
 */
#include "train/recipe.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(rl_model_kind) == sizeof(int) && sizeof(rl_stem_kind) == sizeof(int) &&
                   sizeof(rl_data_kind) == sizeof(int) && sizeof(rl_loss_kind) == sizeof(int) &&
                   sizeof(rl_schedule_kind) == sizeof(int) && sizeof(rl_resnet_version) == sizeof(int),
               "recipe enums are stored through int pointers");

#define LINE_MAX_CHARS 4096

typedef enum { T_INT, T_INT64, T_DOUBLE, T_BOOL, T_ENUM, T_PATH, T_BIAS, T_DECAYS } key_type;

/* The word for enum value i is words[i]; NULL marks a value that cannot be
 * written in a recipe (RL_DATA_NONE). */
static const char *const model_words[] = {"resnet18", "resnet34", "resnet50", "resnet101",
                                          "resnet152", "resnet8", "resnet20", NULL};
static const char *const stem_words[] = {"auto", "imagenet", "small", NULL};
static const char *const version_words[] = {"1.5", "1", NULL};
static const char *const data_words[] = {"", "fashion-mnist", "imagenet", "folder", NULL};
static const char *const loss_words[] = {"softmax", "sigmoid", NULL};
static const char *const schedule_words[] = {"step", "cosine", NULL};

typedef struct {
    const char *name;
    key_type type;
    size_t off;
    /* Numeric range: lo/hi, open or closed at each end. */
    double lo, hi;
    int lo_open, hi_open;
    const char *const *words; /* T_ENUM */
    int zero_is_auto;         /* T_INT: "auto" is read and written as 0 */
    const char *section;      /* starts a group in the canonical text */
} key_def;

#define OFF(f) offsetof(rl_recipe, f)
#define INT(n, f, lo, hi) {n, T_INT, OFF(f), lo, hi, 0, 0, NULL, 0, NULL}
#define INT64(n, f, lo, hi) {n, T_INT64, OFF(f), lo, hi, 0, 0, NULL, 0, NULL}
#define DBL(n, f, lo, hi, lo_open, hi_open) {n, T_DOUBLE, OFF(f), lo, hi, lo_open, hi_open, NULL, 0, NULL}
#define BOOL(n, f) {n, T_BOOL, OFF(f), 0, 1, 0, 0, NULL, 0, NULL}
#define ENUM(n, f, w) {n, T_ENUM, OFF(f), 0, 0, 0, 0, w, 0, NULL}
#define PATH(n, f) {n, T_PATH, OFF(f), 0, 0, 0, 0, NULL, 0, NULL}

static const key_def keys[] = {
    {"model", T_ENUM, OFF(model), 0, 0, 0, 0, model_words, 0, "model"},
    ENUM("stem", stem, stem_words),
    {"width", T_INT, OFF(width), 1, 1024, 0, 0, NULL, 1, NULL},
    BOOL("zero_init_residual", zero_init_residual),
    ENUM("resnet_version", resnet_version, version_words),
    INT("num_classes", num_classes, 0, 100000),

    {"data", T_ENUM, OFF(data), 0, 0, 0, 0, data_words, 0, "data"},
    PATH("data_dir", data_dir),
    PATH("train_list", train_list),
    PATH("val_dir", val_dir),
    PATH("val_labels", val_labels),
    PATH("classes", classes),
    INT64("val_split", val_split, 0, 1e12),
    INT64("train_subset", train_subset, 0, 1e12),
    {"image_size", T_INT, OFF(image_size), 8, 1024, 0, 0, NULL, 1, NULL},
    DBL("eval_resize_ratio", eval_resize_ratio, 0, 1, 1, 0),
    BOOL("augment", augment),
    INT("loader_threads", loader_threads, 0, 256),

    {"loss", T_ENUM, OFF(loss), 0, 0, 0, 0, loss_words, 0, "loss"},
    DBL("label_smoothing", label_smoothing, 0, 1, 0, 1),
    {"head_bias_init", T_BIAS, OFF(head_bias_init), -1000, 1000, 0, 0, NULL, 0, NULL},

    {"epochs", T_INT, OFF(epochs), 1, 100000, 0, 0, NULL, 0, "optimisation"},
    INT("batch_size", batch_size, 1, 1048576),
    DBL("base_lr", base_lr, 0, 1000, 1, 0),
    INT("lr_reference_batch", lr_reference_batch, 1, 1048576),
    DBL("momentum", momentum, 0, 1, 0, 1),
    BOOL("nesterov", nesterov),
    DBL("weight_decay", weight_decay, 0, 1, 0, 0),
    BOOL("wd_on_bn", wd_on_bn),
    BOOL("wd_on_bias", wd_on_bias),
    ENUM("schedule", schedule, schedule_words),
    DBL("warmup_epochs", warmup_epochs, 0, 100000, 0, 0),
    DBL("warmup_start", warmup_start, 0, 1, 0, 0),
    {"decay_epochs", T_DECAYS, OFF(decay_epochs), 0, 100000, 1, 0, NULL, 0, NULL},
    DBL("decay_factor", decay_factor, 0, 1, 1, 0),

    {"seed", T_INT64, OFF(seed), 0, 9.2e18, 0, 0, NULL, 0, "run"},
    BOOL("deterministic", deterministic),
    INT("threads", threads, 0, 4096),
    INT64("checkpoint_every", checkpoint_every, 0, 1e15),
    INT("keep_checkpoints", keep_checkpoints, 1, 1000),
    INT("eval_every", eval_every, 0, 100000),
    INT("log_every", log_every, 0, 100000000),
    BOOL("sync_bn", sync_bn),
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

int rl_recipe_num_keys(void) { return NKEYS; }

const char *rl_recipe_key_name(int i) { return i >= 0 && i < NKEYS ? keys[i].name : NULL; }

static int key_index(const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return i;
    return -1;
}

const char *rl_model_name(rl_model_kind m) { return (unsigned)m < 7 ? model_words[m] : "?"; }
const char *rl_stem_name(rl_stem_kind s) { return (unsigned)s < 3 ? stem_words[s] : "?"; }
const char *rl_data_name(rl_data_kind d) { return (unsigned)d < 4 && d ? data_words[d] : "none"; }
const char *rl_schedule_kind_name(rl_schedule_kind k) { return (unsigned)k < 2 ? schedule_words[k] : "?"; }

void rl_recipe_init(rl_recipe *r)
{
    /* memset, not a compound literal: padding and unused string bytes must be
     * zero so that equal recipes compare equal byte for byte. */
    memset(r, 0, sizeof *r);
    r->model = RL_MODEL_RESNET50;
    r->stem = RL_STEM_AUTO;
    r->width = 0;
    r->zero_init_residual = 1;
    r->resnet_version = RL_RESNET_V1_5;
    r->data = RL_DATA_NONE;
    r->image_size = 0;
    r->eval_resize_ratio = 0.875;
    r->augment = 1;
    r->loader_threads = 2;
    r->loss = RL_LOSS_SOFTMAX;
    r->head_bias_auto = 1;
    r->epochs = 0;
    r->batch_size = 256;
    r->base_lr = 0.1;
    r->lr_reference_batch = 256;
    r->momentum = 0.9;
    r->weight_decay = 1e-4;
    r->wd_on_bias = 1;
    r->schedule = RL_SCHEDULE_STEP;
    r->warmup_epochs = 5;
    r->decay_factor = 0.1;
    r->deterministic = 1;
    r->keep_checkpoints = 2;
    r->eval_every = 1;
    r->log_every = 50;
}

/* ---- values ---- */

static void range_text(const key_def *k, char *buf, size_t n)
{
    snprintf(buf, n, "%c%.10g, %.10g%c", k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']');
}

static int in_range(const key_def *k, double v)
{
    if (k->lo_open ? !(v > k->lo) : !(v >= k->lo)) return 0;
    if (k->hi_open ? !(v < k->hi) : !(v <= k->hi)) return 0;
    return 1;
}

/* Parses a whole string as a finite double. */
static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_int64(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

/* Shortest "%.{15,16,17}g" that reads back to the same double, so the
 * canonical text is readable and exact. */
static void format_double(double v, char *buf, size_t n)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static rl_status bad_value(rl_error *err, const key_def *k, const char *value, const char *expected,
                           const char *hint)
{
    return rl_fail(err, RL_ERR_ARG, "key '%s': expected %s, found '%s'%s%s", k->name, expected, value,
                   hint ? "; hint: " : "", hint ? hint : "");
}

static rl_status set_value(rl_recipe *r, const key_def *k, const char *value, rl_error *err)
{
    char *base = (char *)r + k->off;
    char expected[160], range[64];
    range_text(k, range, sizeof range);
    switch (k->type) {
    case T_INT:
    case T_INT64: {
        long long v;
        if (k->zero_is_auto && strcmp(value, "auto") == 0) v = 0;
        else if (!parse_int64(value, &v) || !in_range(k, (double)v)) {
            snprintf(expected, sizeof expected, "an integer in %s%s", range, k->zero_is_auto ? " or 'auto'" : "");
            return bad_value(err, k, value, expected, NULL);
        }
        if (k->type == T_INT) *(int *)base = (int)v;
        else *(int64_t *)base = v;
        return RL_OK;
    }
    case T_DOUBLE: {
        double v;
        if (!parse_double(value, &v) || !in_range(k, v)) {
            snprintf(expected, sizeof expected, "a number in %s", range);
            return bad_value(err, k, value, expected, NULL);
        }
        *(double *)base = v;
        return RL_OK;
    }
    case T_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) return *(int *)base = 1, RL_OK;
            if (strcasecmp(value, no[i]) == 0) return *(int *)base = 0, RL_OK;
        }
        return bad_value(err, k, value, "true or false", NULL);
    }
    case T_ENUM: {
        char list[256] = "";
        for (int i = 0; k->words[i]; i++) {
            if (!k->words[i][0]) continue;
            if (strcasecmp(value, k->words[i]) == 0) return *(int *)base = i, RL_OK;
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", used ? "|" : "one of ", k->words[i]);
        }
        return bad_value(err, k, value, list, NULL);
    }
    case T_PATH: {
        size_t n = strlen(value);
        if (n >= RL_RECIPE_PATH_MAX)
            return rl_fail(err, RL_ERR_ARG, "key '%s': path of %zu characters, at most %d allowed", k->name, n,
                           RL_RECIPE_PATH_MAX - 1);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)value[i] < 0x20 || value[i] == '"')
                return bad_value(err, k, value, "a path without quotes or control characters", NULL);
        memset(base, 0, RL_RECIPE_PATH_MAX);
        memcpy(base, value, n);
        return RL_OK;
    }
    case T_BIAS: {
        double v;
        if (strcmp(value, "auto") == 0) {
            r->head_bias_auto = 1;
            r->head_bias_init = 0;
            return RL_OK;
        }
        if (!parse_double(value, &v) || !in_range(k, v)) {
            snprintf(expected, sizeof expected, "'auto' or a number in %s", range);
            return bad_value(err, k, value, expected, "auto is -ln(num_classes) for sigmoid, 0 for softmax");
        }
        r->head_bias_auto = 0;
        r->head_bias_init = v;
        return RL_OK;
    }
    case T_DECAYS: {
        double v[RL_SCHEDULE_MAX_DECAYS];
        int n = 0;
        if (strcmp(value, "auto") != 0) {
            const char *p = value;
            for (;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                char item[64];
                while (len && isspace((unsigned char)*p)) p++, len--;
                while (len && isspace((unsigned char)p[len - 1])) len--;
                if (len == 0 || len >= sizeof item || n == RL_SCHEDULE_MAX_DECAYS)
                    return bad_value(err, k, value, "'auto' or a comma list of up to 16 epochs",
                                     "e.g. decay_epochs = 30, 60, 80");
                memcpy(item, p, len);
                item[len] = '\0';
                if (!parse_double(item, &v[n]) || !in_range(k, v[n]))
                    return bad_value(err, k, value, "'auto' or a comma list of positive epochs",
                                     "e.g. decay_epochs = 30, 60, 80");
                if (n > 0 && !(v[n] > v[n - 1]))
                    return bad_value(err, k, value, "strictly increasing epochs", NULL);
                n++;
                if (!comma) break;
                p = comma + 1;
            }
        }
        memset(r->decay_epochs, 0, sizeof r->decay_epochs);
        memcpy(r->decay_epochs, v, sizeof v[0] * (size_t)n);
        r->num_decay_epochs = n;
        return RL_OK;
    }
    }
    RL_CHECK(0);
    return RL_ERR_ARG;
}

/* ---- unknown keys: suggest the nearest known one ---- */

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (tolower((unsigned char)a[i - 1]) != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static rl_status unknown_key(const char *name, rl_error *err)
{
    int best = -1, best_d = 99;
    for (int i = 0; i < NKEYS; i++) {
        int d = edit_distance(name, keys[i].name);
        /* A key the user abbreviated ("lr" for base_lr) counts as the closest. */
        if (strlen(name) >= 2 && strstr(keys[i].name, name)) d = d < 1 ? d : 1;
        if (d < best_d) best_d = d, best = i;
    }
    size_t len = strlen(name);
    int limit = len > 9 ? (int)len / 3 : 3;
    if (best >= 0 && best_d <= limit)
        return rl_fail(err, RL_ERR_ARG, "unknown key '%s'; hint: did you mean '%s'? (every key: docs/recipes.md)",
                       name, keys[best].name);
    return rl_fail(err, RL_ERR_ARG, "unknown key '%s'; hint: the keys are listed in docs/recipes.md", name);
}

/* ---- lines ---- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* Removes surrounding quotes in place; refuses stray quotes. */
static rl_status unquote(char **value, rl_error *err)
{
    char *v = *value;
    size_t n = strlen(v);
    if (n && v[0] == '"') {
        if (n < 2 || v[n - 1] != '"' || memchr(v + 1, '"', n - 2))
            return rl_fail(err, RL_ERR_ARG, "unbalanced quotes in value %s; hint: quote the whole value, "
                           "with no quote inside", v);
        v[n - 1] = '\0';
        *value = v + 1;
    } else if (strchr(v, '"')) {
        return rl_fail(err, RL_ERR_ARG, "stray quote in value '%s'; hint: quotes may only wrap the whole value", v);
    }
    return RL_OK;
}

/* Splits "key = value" (value already free of comments); *k < 0 if blank. */
static rl_status split_assignment(char *text, char **key, char **value, rl_error *err)
{
    char *s = trim(text);
    *key = NULL;
    if (!*s) return RL_OK;
    char *eq = strchr(s, '=');
    if (!eq)
        return rl_fail(err, RL_ERR_ARG, "expected 'key = value', found '%.200s'; hint: comments start with '#'", s);
    *eq = '\0';
    *key = trim(s);
    *value = trim(eq + 1);
    if (!**key) return rl_fail(err, RL_ERR_ARG, "missing key before '='");
    for (const char *p = *key; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
            return rl_fail(err, RL_ERR_ARG, "bad key '%.200s'; hint: keys are lower-case words joined by '_'", *key);
    return unquote(value, err);
}

/* Where a key came from, for messages: line > 0 is a line of origin, line < 0
 * a command-line --set, 0 the default. */
typedef struct {
    const char *origin;
    int line[sizeof keys / sizeof keys[0]];
} parse_ctx;

static rl_status apply(rl_recipe *r, char *key, char *value, parse_ctx *ctx, int lineno, rl_error *err)
{
    int k = key_index(key);
    if (k < 0) return unknown_key(key, err);
    if (lineno > 0 && ctx->line[k] > 0)
        return rl_fail(err, RL_ERR_ARG, "key '%s' is already set on line %d; hint: keep one of the two lines", key,
                       ctx->line[k]);
    if (!*value && keys[k].type != T_PATH)
        return rl_fail(err, RL_ERR_ARG, "key '%s' has no value; hint: write '%s = <value>'", key, key);
    rl_status st = set_value(r, &keys[k], value, err);
    if (st == RL_OK) ctx->line[k] = lineno;
    return st;
}

/* Handles one line of a recipe (modified in place). */
static rl_status parse_line(rl_recipe *r, char *line, parse_ctx *ctx, int lineno, rl_error *err)
{
    /* Cut the comment: the first '#' outside quotes. */
    int quoted = 0;
    for (char *p = line; *p; p++) {
        if (*p == '"') quoted = !quoted;
        else if (*p == '#' && !quoted) {
            *p = '\0';
            break;
        }
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n')
            return rl_fail(err, RL_ERR_FORMAT, "%s:%d: control character 0x%02x; hint: is this a text file?",
                           ctx->origin, lineno, (unsigned)(unsigned char)*p);
    }
    char *key, *value;
    rl_status st = split_assignment(line, &key, &value, err);
    if (st == RL_OK && key) st = apply(r, key, value, ctx, lineno, err);
    if (st != RL_OK) rl_error_prefix(err, "%s:%d", ctx->origin, lineno);
    return st;
}

static rl_status parse_text_ctx(const char *text, rl_recipe *r, parse_ctx *ctx, rl_error *err)
{
    char line[LINE_MAX_CHARS + 2];
    int lineno = 0;
    const char *p = text;
    if (strncmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* a UTF-8 byte-order mark from some editors */
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len > LINE_MAX_CHARS)
            return rl_fail(err, RL_ERR_FORMAT, "%s:%d: line longer than %d characters", ctx->origin, lineno,
                           LINE_MAX_CHARS);
        memcpy(line, p, len);
        line[len] = '\0';
        rl_status st = parse_line(r, line, ctx, lineno, err);
        if (st != RL_OK) return st;
        if (!nl) break;
        p = nl + 1;
    }
    return RL_OK;
}

static rl_status parse_file_ctx(const char *path, rl_recipe *r, parse_ctx *ctx, rl_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rl_fail(err, RL_ERR_IO, "%s: cannot open recipe: %s; hint: recipes/ holds the shipped ones", path,
                       strerror(errno));
    /* Read the whole file (recipes are small) so one text parser serves files
     * and checkpoint-stored recipes alike. */
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    rl_status st = RL_OK;
    for (;;) {
        if (!buf) {
            st = rl_fail(err, RL_ERR_NOMEM, "%s: out of memory reading the recipe", path);
            break;
        }
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (cap >= (1u << 24)) {
            st = rl_fail(err, RL_ERR_FORMAT, "%s: larger than 16 MB; hint: is this a recipe?", path);
            break;
        }
        char *grown = realloc(buf, cap * 2);
        if (!grown) free(buf);
        buf = grown;
        cap *= 2;
    }
    if (st == RL_OK && ferror(f)) st = rl_fail(err, RL_ERR_IO, "%s: read error: %s", path, strerror(errno));
    fclose(f);
    if (st == RL_OK) {
        buf[n] = '\0';
        if (strlen(buf) != n) {
            size_t at = strlen(buf);
            int lineno = 1;
            for (size_t i = 0; i < at; i++) lineno += buf[i] == '\n';
            st = rl_fail(err, RL_ERR_FORMAT, "%s:%d: NUL byte; hint: is this a text file?", path, lineno);
        } else {
            ctx->origin = path;
            st = parse_text_ctx(buf, r, ctx, err);
        }
    }
    free(buf);
    return st;
}

rl_status rl_recipe_parse(const char *path, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {path, {0}};
    return parse_file_ctx(path, r, &ctx, err);
}

rl_status rl_recipe_parse_text(const char *text, const char *origin, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {origin ? origin : "recipe text", {0}};
    return parse_text_ctx(text, r, &ctx, err);
}

static rl_status set_ctx(rl_recipe *r, const char *assignment, const char *origin, parse_ctx *ctx, rl_error *err)
{
    char buf[LINE_MAX_CHARS + 1];
    if (strlen(assignment) > LINE_MAX_CHARS)
        return rl_fail(err, RL_ERR_ARG, "%s: assignment longer than %d characters", origin, LINE_MAX_CHARS);
    strcpy(buf, assignment);
    char *key, *value;
    rl_status st = split_assignment(buf, &key, &value, err);
    if (st == RL_OK && !key) st = rl_fail(err, RL_ERR_ARG, "empty assignment; hint: write key=value");
    if (st == RL_OK) st = apply(r, key, value, ctx, -1, err);
    if (st != RL_OK) rl_error_prefix(err, "%s %s", origin, assignment);
    return st;
}

rl_status rl_recipe_set(rl_recipe *r, const char *assignment, const char *origin, rl_error *err)
{
    if (!origin) origin = "--set";
    parse_ctx ctx = {origin, {0}};
    return set_ctx(r, assignment, origin, &ctx, err);
}

/* ---- resolving and cross-key checks ---- */

/* "FILE:LINE" of key k, "--set k" or just the origin. */
static const char *where(const parse_ctx *ctx, const char *key, char *buf, size_t n)
{
    int k = key_index(key);
    RL_CHECK(k >= 0);
    if (ctx && ctx->line[k] > 0) snprintf(buf, n, "%s:%d", ctx->origin, ctx->line[k]);
    else if (ctx && ctx->line[k] < 0) snprintf(buf, n, "--set %s", key);
    else snprintf(buf, n, "%s", ctx ? ctx->origin : "recipe");
    return buf;
}

static rl_status finish_ctx(rl_recipe *r, const parse_ctx *ctx, rl_error *err)
{
    char at[RL_RECIPE_PATH_MAX + 64];
    if (r->data == RL_DATA_NONE)
        return rl_fail(err, RL_ERR_ARG, "%s: required key 'data' is missing; hint: add e.g. 'data = fashion-mnist'",
                       where(ctx, "data", at, sizeof at));
    if (r->epochs == 0)
        return rl_fail(err, RL_ERR_ARG, "%s: required key 'epochs' is missing; hint: add e.g. 'epochs = 90'",
                       where(ctx, "epochs", at, sizeof at));
    int small_net = r->model == RL_MODEL_RESNET8 || r->model == RL_MODEL_RESNET20;
    if (r->stem == RL_STEM_AUTO) r->stem = small_net ? RL_STEM_SMALL : RL_STEM_IMAGENET;
    if (r->width == 0) r->width = small_net ? 16 : 64;
    if (r->image_size == 0) r->image_size = r->data == RL_DATA_FASHION_MNIST ? 28 : 224;
    if (!r->data_dir[0]) {
        if (r->data != RL_DATA_FASHION_MNIST)
            return rl_fail(err, RL_ERR_ARG,
                           "%s: data = %s needs 'data_dir'; hint: add 'data_dir = /path/to/%s' (the folder "
                           "holding train/ and val/)",
                           where(ctx, "data", at, sizeof at), rl_data_name(r->data), rl_data_name(r->data));
        strcpy(r->data_dir, "/usr/share/datasets/fashion-mnist");
    }
    if (r->loss == RL_LOSS_SIGMOID && r->label_smoothing != 0)
        return rl_fail(err, RL_ERR_ARG,
                       "%s: label_smoothing = %g with loss = sigmoid; hint: smoothing is defined for the softmax "
                       "loss only, set it to 0",
                       where(ctx, "label_smoothing", at, sizeof at), r->label_smoothing);
    if (!(r->warmup_epochs < r->epochs))
        return rl_fail(err, RL_ERR_ARG, "%s: warmup_epochs = %g must be less than epochs = %d",
                       where(ctx, "warmup_epochs", at, sizeof at), r->warmup_epochs, r->epochs);
    for (int i = 0; i < r->num_decay_epochs; i++)
        if (!(r->decay_epochs[i] >= r->warmup_epochs && r->decay_epochs[i] < r->epochs))
            return rl_fail(err, RL_ERR_ARG,
                           "%s: decay epoch %g is outside [warmup_epochs = %g, epochs = %d); hint: "
                           "'decay_epochs = auto' decays at 1/3, 2/3 and 8/9 of the epochs",
                           where(ctx, "decay_epochs", at, sizeof at), r->decay_epochs[i], r->warmup_epochs,
                           r->epochs);
    /* Whatever passes here must also pass the schedule's own check. */
    rl_schedule s;
    rl_recipe_schedule(r, 1, &s);
    rl_error serr;
    if (rl_schedule_check(&s, &serr) != RL_OK)
        return rl_fail(err, RL_ERR_ARG, "%s: %s", ctx ? ctx->origin : "recipe", serr.msg);
    return RL_OK;
}

rl_status rl_recipe_finish(rl_recipe *r, const char *origin, rl_error *err)
{
    parse_ctx ctx = {origin ? origin : "recipe", {0}};
    return finish_ctx(r, &ctx, err);
}

rl_status rl_recipe_load_with(const char *path, const char *const *sets, int nsets, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {path, {0}};
    rl_recipe_init(r);
    rl_status st = parse_file_ctx(path, r, &ctx, err);
    for (int i = 0; st == RL_OK && i < nsets; i++) st = set_ctx(r, sets[i], "--set", &ctx, err);
    if (st == RL_OK) st = finish_ctx(r, &ctx, err);
    return st;
}

rl_status rl_recipe_load(const char *path, rl_recipe *r, rl_error *err)
{
    return rl_recipe_load_with(path, NULL, 0, r, err);
}

rl_status rl_recipe_load_text(const char *text, const char *origin, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {origin ? origin : "recipe text", {0}};
    rl_recipe_init(r);
    rl_status st = parse_text_ctx(text, r, &ctx, err);
    if (st == RL_OK) st = finish_ctx(r, &ctx, err);
    return st;
}

/* ---- writing ---- */

static void write_value(const rl_recipe *r, const key_def *k, FILE *f)
{
    const char *base = (const char *)r + k->off;
    char num[40];
    switch (k->type) {
    case T_INT:
        if (k->zero_is_auto && *(const int *)base == 0) fputs("auto", f);
        else fprintf(f, "%d", *(const int *)base);
        break;
    case T_INT64: fprintf(f, "%lld", (long long)*(const int64_t *)base); break;
    case T_DOUBLE:
        format_double(*(const double *)base, num, sizeof num);
        fputs(num, f);
        break;
    case T_BOOL: fputs(*(const int *)base ? "true" : "false", f); break;
    case T_ENUM: {
        int v = *(const int *)base;
        fputs(k->words[v] && k->words[v][0] ? k->words[v] : "\"\"", f);
        break;
    }
    case T_PATH: {
        /* Quote what the parser would otherwise trim or cut at a comment. */
        size_t n = strlen(base);
        int quote = n == 0 || strchr(base, '#') || isspace((unsigned char)base[0]) ||
                    isspace((unsigned char)base[n - 1]);
        fprintf(f, quote ? "\"%s\"" : "%s", base);
        break;
    }
    case T_BIAS:
        if (r->head_bias_auto) fputs("auto", f);
        else {
            format_double(r->head_bias_init, num, sizeof num);
            fputs(num, f);
        }
        break;
    case T_DECAYS:
        if (r->num_decay_epochs == 0) fputs("auto", f);
        for (int i = 0; i < r->num_decay_epochs; i++) {
            format_double(r->decay_epochs[i], num, sizeof num);
            fprintf(f, "%s%s", i ? ", " : "", num);
        }
        break;
    }
}

rl_status rl_recipe_write(const rl_recipe *r, FILE *f, rl_error *err)
{
    fputs("# relab recipe, canonical form: every key (docs/recipes.md explains each)\n", f);
    for (int i = 0; i < NKEYS; i++) {
        if (keys[i].section) fprintf(f, "%s# %s\n", i ? "\n" : "", keys[i].section);
        fprintf(f, "%s = ", keys[i].name);
        write_value(r, &keys[i], f);
        fputc('\n', f);
    }
    if (fflush(f) != 0 || ferror(f))
        return rl_fail(err, RL_ERR_IO, "writing the recipe failed: %s; hint: is the disk full?", strerror(errno));
    return RL_OK;
}

char *rl_recipe_to_text(const rl_recipe *r)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f) return NULL;
    rl_status st = rl_recipe_write(r, f, NULL);
    if (fclose(f) != 0 || st != RL_OK) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- helpers ---- */

void rl_recipe_loss_config(const rl_recipe *r, rl_loss_config *out)
{
    out->kind = r->loss;
    out->label_smoothing = r->label_smoothing;
}

void rl_recipe_schedule(const rl_recipe *r, int64_t steps_per_epoch, rl_schedule *out)
{
    rl_schedule_defaults(out);
    out->kind = r->schedule;
    out->base_lr = r->base_lr;
    out->batch_size = r->batch_size;
    out->reference_batch = r->lr_reference_batch;
    out->warmup_epochs = r->warmup_epochs;
    out->warmup_start = r->warmup_start;
    out->epochs = r->epochs;
    out->steps_per_epoch = steps_per_epoch;
    out->num_decays = r->num_decay_epochs;
    memcpy(out->decay_epochs, r->decay_epochs, sizeof out->decay_epochs);
    out->decay_factor = r->decay_factor;
}

float rl_recipe_head_bias(const rl_recipe *r, int num_classes)
{
    return r->head_bias_auto ? rl_loss_default_head_bias(r->loss, num_classes) : (float)r->head_bias_init;
}
