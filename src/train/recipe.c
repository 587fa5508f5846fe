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

#include "nn/resnet.h"
#include "util/kv.h"

_Static_assert(sizeof(rl_stem_kind) == sizeof(int) && sizeof(rl_data_kind) == sizeof(int) &&
                   sizeof(rl_loss_kind) == sizeof(int) && sizeof(rl_schedule_kind) == sizeof(int) &&
                   sizeof(rl_resnet_version) == sizeof(int) && sizeof(rl_epoch_length) == sizeof(int),
               "recipe enums are stored through int pointers");

/* Recipes are a few KB; a larger file is not a recipe. */
#define RECIPE_MAX_BYTES (1u << 20)

typedef enum { T_INT, T_INT64, T_DOUBLE, T_BOOL, T_ENUM, T_PATH, T_BIAS, T_DECAYS, T_MODEL } key_type;

/* The word for enum value i is words[i]; NULL marks a value that cannot be
 * written in a recipe (RL_DATA_NONE). */
static const char *const stem_words[] = {"auto", "imagenet", "small", NULL};
static const char *const version_words[] = {"1.5", "1", NULL};
static const char *const data_words[] = {"", "fashion-mnist", "imagenet", "folder", NULL};
static const char *const schedule_words[] = {"step", "cosine", NULL};
static const char *const epoch_length_words[] = {"pass", "full", NULL};

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
#define INT(n, f, lo, hi)                                                                                              \
    {                                                                                                                  \
        n, T_INT, OFF(f), lo, hi, 0, 0, NULL, 0, NULL                                                                  \
    }
#define INT64(n, f, lo, hi)                                                                                            \
    {                                                                                                                  \
        n, T_INT64, OFF(f), lo, hi, 0, 0, NULL, 0, NULL                                                                \
    }
#define DBL(n, f, lo, hi, lo_open, hi_open)                                                                            \
    {                                                                                                                  \
        n, T_DOUBLE, OFF(f), lo, hi, lo_open, hi_open, NULL, 0, NULL                                                   \
    }
#define BOOL(n, f)                                                                                                     \
    {                                                                                                                  \
        n, T_BOOL, OFF(f), 0, 1, 0, 0, NULL, 0, NULL                                                                   \
    }
#define ENUM(n, f, w)                                                                                                  \
    {                                                                                                                  \
        n, T_ENUM, OFF(f), 0, 0, 0, 0, w, 0, NULL                                                                      \
    }
#define PATH(n, f)                                                                                                     \
    {                                                                                                                  \
        n, T_PATH, OFF(f), 0, 0, 0, 0, NULL, 0, NULL                                                                   \
    }

static const key_def keys[] = {
    {"model", T_MODEL, OFF(model), 0, 0, 0, 0, NULL, 0, "model"},
    ENUM("stem", stem, stem_words),
    {"width", T_INT, OFF(width), 1, 1024, 0, 0, NULL, 1, NULL},
    BOOL("zero_init_residual", zero_init_residual),
    ENUM("resnet_version", resnet_version, version_words),
    INT("num_classes", num_classes, 0, 100000),

    {"data", T_ENUM, OFF(data), 0, 0, 0, 0, data_words, 0, "data"},
    PATH("data_dir", data_dir),
    PATH("train_list", train_list),
    PATH("list_root", list_root),
    PATH("val_dir", val_dir),
    PATH("val_labels", val_labels),
    PATH("classes", classes),
    INT64("val_split", val_split, 0, 1e12),
    INT64("train_subset", train_subset, 0, 1e12),
    {"image_size", T_INT, OFF(image_size), 8, 1024, 0, 0, NULL, 1, NULL},
    DBL("eval_resize_ratio", eval_resize_ratio, 0, 1, 1, 0),
    BOOL("augment", augment),
    INT("loader_threads", loader_threads, 0, 256),

    {"loss", T_ENUM, OFF(loss), 0, 0, 0, 0, rl_loss_kind_names, 0, "loss"},
    DBL("label_smoothing", label_smoothing, 0, 1, 0, 1),
    {"head_bias_init", T_BIAS, OFF(head_bias_init), -1000, 1000, 0, 0, NULL, 0, NULL},

    {"epochs", T_INT, OFF(epochs), 1, 100000, 0, 0, NULL, 0, "optimisation"},
    ENUM("epoch_length", epoch_length, epoch_length_words),
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
    INT("threads", threads, 0, 4096),
    INT64("checkpoint_every", checkpoint_every, 0, 1e15),
    INT("keep_checkpoints", keep_checkpoints, 1, 1000),
    INT("eval_every", eval_every, 0, 100000),
    INT("log_every", log_every, 0, 100000000),
    BOOL("sync_bn", sync_bn),
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

int rl_recipe_num_keys(void)
{
    return NKEYS;
}

const char *rl_recipe_key_name(int i)
{
    return i >= 0 && i < NKEYS ? keys[i].name : NULL;
}

static int key_index(const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return i;
    return -1;
}

const char *rl_data_name(rl_data_kind d)
{
    return (unsigned)d < 4 && d ? data_words[d] : "none";
}

void rl_recipe_init(rl_recipe *r)
{
    /* memset, not a compound literal: padding and unused string bytes must be
     * zero so that equal recipes compare equal byte for byte. */
    memset(r, 0, sizeof *r);
    strcpy(r->model, "resnet50");
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
    /* The schedule's defaults have one home: rl_schedule_defaults. */
    rl_schedule s;
    rl_schedule_defaults(&s);
    r->schedule = s.kind;
    r->batch_size = s.batch_size;
    r->base_lr = s.base_lr;
    r->lr_reference_batch = s.reference_batch;
    r->warmup_epochs = s.warmup_epochs;
    r->warmup_start = s.warmup_start;
    r->decay_factor = s.decay_factor;
    r->momentum = 0.9;
    r->weight_decay = 1e-4;
    r->wd_on_bias = 1;
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

/* "one of a|b|c", from the list in nn's message for an unknown name
 * ("... choose a, b or c (...)"); the whole message if its form changed. */
static const char *model_choices(char *buf, size_t n)
{
    rl_resnet_config cfg;
    rl_error e;
    rl_resnet_config_for("", &cfg, &e);
    const char *list = strstr(e.msg, "choose ");
    if (!list) return snprintf(buf, n, "%.150s", e.msg), buf;
    size_t used = (size_t)snprintf(buf, n, "one of ");
    for (const char *p = list + 7; *p && *p != '(' && used + 1 < n; p++) {
        if (!strncmp(p, ", ", 2) || !strncmp(p, " or ", 4)) {
            buf[used++] = '|';
            p += *p == ',' ? 1 : 3;
        } else if (*p != ' ') {
            buf[used++] = *p;
        }
    }
    buf[used] = '\0';
    return buf;
}

static rl_status bad_value(rl_error *err, const key_def *k, const char *value, const char *expected, const char *hint)
{
    return rl_fail(err, RL_ERR_ARG, "key '%s': expected %s, found '%s'%s%s", k->name, expected, value,
                   hint ? "; hint: " : "", hint ? hint : "");
}

/* decay_epochs: "auto" or a comma list of increasing epochs. */
static rl_status set_decays(rl_recipe *r, const key_def *k, const char *value, rl_error *err)
{
    double v[RL_SCHEDULE_MAX_DECAYS];
    int n = 0;
    if (strcmp(value, "auto") != 0) {
        const char *p = value;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char item[64];
            while (len && isspace((unsigned char)*p))
                p++, len--;
            while (len && isspace((unsigned char)p[len - 1]))
                len--;
            if (len == 0 || len >= sizeof item || n == RL_SCHEDULE_MAX_DECAYS)
                return bad_value(err, k, value, "'auto' or a comma list of up to 16 epochs",
                                 "e.g. decay_epochs = 30, 60, 80");
            memcpy(item, p, len);
            item[len] = '\0';
            if (!rl_kv_double(item, &v[n]) || !in_range(k, v[n]))
                return bad_value(err, k, value, "'auto' or a comma list of positive epochs",
                                 "e.g. decay_epochs = 30, 60, 80");
            if (n > 0 && !(v[n] > v[n - 1])) return bad_value(err, k, value, "strictly increasing epochs", NULL);
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

static rl_status set_value(rl_recipe *r, const key_def *k, const char *value, rl_error *err)
{
    char *base = (char *)r + k->off;
    char expected[160], range[64];
    range_text(k, range, sizeof range);
    switch (k->type) {
    case T_INT:
    case T_INT64: {
        long long v;
        if (k->zero_is_auto && strcmp(value, "auto") == 0)
            v = 0;
        else if (!rl_kv_int64(value, &v) || !in_range(k, (double)v)) {
            snprintf(expected, sizeof expected, "an integer in %s%s", range, k->zero_is_auto ? " or 'auto'" : "");
            return bad_value(err, k, value, expected, NULL);
        }
        if (k->type == T_INT)
            *(int *)base = (int)v;
        else
            *(int64_t *)base = v;
        return RL_OK;
    }
    case T_DOUBLE: {
        double v;
        if (!rl_kv_double(value, &v) || !in_range(k, v)) {
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
    case T_MODEL: {
        /* The model list has one home, nn/resnet.c: a name is whatever it knows. */
        rl_resnet_config cfg;
        rl_error e;
        if (strlen(value) < sizeof r->model && !strstr(value, "-small") && !rl_resnet_config_for(value, &cfg, &e)) {
            memset(r->model, 0, sizeof r->model);
            memcpy(r->model, value, strlen(value));
            return RL_OK;
        }
        if (strstr(value, "-small"))
            return bad_value(err, k, value, "a model name without '-small'", "the recipe key 'stem = small' says that");
        return bad_value(err, k, value, model_choices(expected, sizeof expected), NULL);
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
        if (!rl_kv_double(value, &v) || !in_range(k, v)) {
            snprintf(expected, sizeof expected, "'auto' or a number in %s", range);
            return bad_value(err, k, value, expected, "auto is -ln(num_classes) for sigmoid, 0 for softmax");
        }
        r->head_bias_auto = 0;
        r->head_bias_init = v;
        return RL_OK;
    }
    case T_DECAYS: return set_decays(r, k, value, err);
    }
    RL_CHECK(0);
    return RL_ERR_ARG;
}

/* ---- lines ---- */

/* Where a key came from, for messages: line > 0 is a line of origin, line < 0
 * a command-line --set, 0 the default. */
typedef struct {
    const char *origin;
    rl_recipe *r;
    int line[sizeof keys / sizeof keys[0]];
} parse_ctx;

/* Keys relab no longer reads.  In a recipe file they are an error that says
 * why; in the recipe stored in an older checkpoint they are skipped, so that
 * run still resumes. */
static const struct {
    const char *name, *why;
} retired[] = {
    {"deterministic",
     "relab is always bitwise deterministic for a given thread count (docs/design.md); delete the line"},
};

static int retired_index(const char *key)
{
    for (size_t i = 0; i < sizeof retired / sizeof retired[0]; i++)
        if (!strcmp(key, retired[i].name)) return (int)i;
    return -1;
}

static rl_status unknown_key(const char *name, rl_error *err)
{
    const char *names[sizeof keys / sizeof keys[0]];
    for (int i = 0; i < NKEYS; i++)
        names[i] = keys[i].name;
    int best = rl_kv_closest(name, names, NKEYS);
    if (best >= 0)
        return rl_fail(err, RL_ERR_ARG, "unknown key '%s'; hint: did you mean '%s'? (every key: docs/recipes.md)", name,
                       keys[best].name);
    return rl_fail(err, RL_ERR_ARG, "unknown key '%s'; hint: the keys are listed in docs/recipes.md", name);
}

static rl_status apply(parse_ctx *ctx, char *key, char *value, int lineno, rl_error *err)
{
    int k = key_index(key);
    if (k < 0) {
        int old = retired_index(key);
        if (old >= 0) return rl_fail(err, RL_ERR_ARG, "key '%s' was removed; hint: %s", key, retired[old].why);
        return unknown_key(key, err);
    }
    if (lineno > 0 && ctx->line[k] > 0)
        return rl_fail(err, RL_ERR_ARG, "key '%s' is already set on line %d; hint: keep one of the two lines", key,
                       ctx->line[k]);
    if (!*value && keys[k].type != T_PATH)
        return rl_fail(err, RL_ERR_ARG, "key '%s' has no value; hint: write '%s = <value>'", key, key);
    rl_status st = set_value(ctx->r, &keys[k], value, err);
    if (st == RL_OK) ctx->line[k] = lineno;
    return st;
}

static rl_status apply_line(void *ctx, char *key, char *value, int lineno, rl_error *err)
{
    return apply(ctx, key, value, lineno, err);
}

/* A checkpoint's stored recipe: as a file, but retired keys are skipped. */
static rl_status apply_stored_line(void *ctx, char *key, char *value, int lineno, rl_error *err)
{
    if (key_index(key) < 0 && retired_index(key) >= 0) return RL_OK;
    return apply(ctx, key, value, lineno, err);
}

static rl_status parse_file_ctx(const char *path, parse_ctx *ctx, rl_error *err)
{
    char *text;
    rl_status st = rl_kv_read_file(path, "recipe", RECIPE_MAX_BYTES, &text, err);
    if (st == RL_ERR_IO) rl_error_prefix(err, "recipe not read (recipes/ holds the shipped ones)");
    if (st) return st;
    ctx->origin = path;
    st = rl_kv_parse(text, path, apply_line, ctx, err);
    free(text);
    return st;
}

rl_status rl_recipe_parse(const char *path, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {path, r, {0}};
    return parse_file_ctx(path, &ctx, err);
}

rl_status rl_recipe_parse_text(const char *text, const char *origin, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {origin ? origin : "recipe text", r, {0}};
    return rl_kv_parse(text, ctx.origin, apply_stored_line, &ctx, err);
}

static rl_status set_ctx(const char *assignment, const char *origin, parse_ctx *ctx, rl_error *err)
{
    char buf[RL_KV_LINE_MAX + 1];
    if (strlen(assignment) > RL_KV_LINE_MAX)
        return rl_fail(err, RL_ERR_ARG, "%s: assignment longer than %d characters", origin, RL_KV_LINE_MAX);
    strcpy(buf, assignment);
    char *key, *value;
    rl_status st = rl_kv_split(buf, 0, &key, &value, err);
    if (st == RL_OK && !key) st = rl_fail(err, RL_ERR_ARG, "empty assignment; hint: write key=value");
    if (st == RL_OK) st = apply(ctx, key, value, -1, err);
    if (st != RL_OK) rl_error_prefix(err, "%s %s", origin, assignment);
    return st;
}

rl_status rl_recipe_set(rl_recipe *r, const char *assignment, const char *origin, rl_error *err)
{
    if (!origin) origin = "--set";
    parse_ctx ctx = {origin, r, {0}};
    return set_ctx(assignment, origin, &ctx, err);
}

/* ---- resolving and cross-key checks ---- */

/* "FILE:LINE" of key k, "--set k" or just the origin. */
static const char *where(const parse_ctx *ctx, const char *key, char *buf, size_t n)
{
    int k = key_index(key);
    RL_CHECK(k >= 0);
    if (ctx && ctx->line[k] > 0)
        snprintf(buf, n, "%s:%d", ctx->origin, ctx->line[k]);
    else if (ctx && ctx->line[k] < 0)
        snprintf(buf, n, "--set %s", key);
    else
        snprintf(buf, n, "%s", ctx ? ctx->origin : "recipe");
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
    /* Auto stem and width are the model's own defaults (nn/resnet.c). */
    rl_resnet_config cfg;
    RL_CHECK(rl_resnet_config_for(r->model, &cfg, NULL) == RL_OK); /* checked when the key was set */
    if (r->stem == RL_STEM_AUTO) r->stem = cfg.small_stem ? RL_STEM_SMALL : RL_STEM_IMAGENET;
    if (r->width == 0) r->width = cfg.width;
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
                           where(ctx, "decay_epochs", at, sizeof at), r->decay_epochs[i], r->warmup_epochs, r->epochs);
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
    parse_ctx ctx = {origin ? origin : "recipe", r, {0}};
    return finish_ctx(r, &ctx, err);
}

rl_status rl_recipe_load_with(const char *path, const char *const *sets, int nsets, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {path, r, {0}};
    rl_recipe_init(r);
    rl_status st = parse_file_ctx(path, &ctx, err);
    for (int i = 0; st == RL_OK && i < nsets; i++)
        st = set_ctx(sets[i], "--set", &ctx, err);
    if (st == RL_OK) st = finish_ctx(r, &ctx, err);
    return st;
}

rl_status rl_recipe_load(const char *path, rl_recipe *r, rl_error *err)
{
    return rl_recipe_load_with(path, NULL, 0, r, err);
}

rl_status rl_recipe_load_text(const char *text, const char *origin, rl_recipe *r, rl_error *err)
{
    parse_ctx ctx = {origin ? origin : "recipe text", r, {0}};
    rl_recipe_init(r);
    rl_status st = rl_kv_parse(text, ctx.origin, apply_stored_line, &ctx, err);
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
        if (k->zero_is_auto && *(const int *)base == 0)
            fputs("auto", f);
        else
            fprintf(f, "%d", *(const int *)base);
        break;
    case T_INT64: fprintf(f, "%lld", (long long)*(const int64_t *)base); break;
    case T_DOUBLE:
        rl_kv_format_double(*(const double *)base, num, sizeof num);
        fputs(num, f);
        break;
    case T_BOOL: fputs(*(const int *)base ? "true" : "false", f); break;
    case T_MODEL: fputs(base, f); break;
    case T_ENUM: {
        int v = *(const int *)base;
        fputs(k->words[v] && k->words[v][0] ? k->words[v] : "\"\"", f);
        break;
    }
    case T_PATH: {
        /* Quote what the parser would otherwise trim or cut at a comment. */
        size_t n = strlen(base);
        int quote =
            n == 0 || strchr(base, '#') || isspace((unsigned char)base[0]) || isspace((unsigned char)base[n - 1]);
        fprintf(f, quote ? "\"%s\"" : "%s", base);
        break;
    }
    case T_BIAS:
        if (r->head_bias_auto)
            fputs("auto", f);
        else {
            rl_kv_format_double(r->head_bias_init, num, sizeof num);
            fputs(num, f);
        }
        break;
    case T_DECAYS:
        if (r->num_decay_epochs == 0) fputs("auto", f);
        for (int i = 0; i < r->num_decay_epochs; i++) {
            rl_kv_format_double(r->decay_epochs[i], num, sizeof num);
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
