/* recipe.c: the `key = value` recipe parser, resolver and canonical writer.
 *
 * Every key is a row of one table (recipe_keys.c): parsing, writing and the
 * key list all walk it, so a key cannot be readable but not writable.  This
 * file holds what spans keys: defaults, the lines of a file or --set (with
 * duplicate, unknown and retired keys), the cross-key checks, the canonical
 * text.  The format and the meaning of each key are in recipe.h and
 * docs/recipes.md.
 */
#include "train/recipe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nn/resnet.h"
#include "train/recipe_keys.h"
#include "util/kv.h"

/* Recipes are a few KB; a larger file is not a recipe. */
#define RECIPE_MAX_BYTES (1u << 20)

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

/* ---- lines ---- */

/* Where a key came from, for messages: line > 0 is a line of origin, line < 0
 * a command-line --set, 0 the default. */
typedef struct {
    const char *origin;
    rl_recipe *r;
    int line[RL_RECIPE_KEYS_MAX];
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
    const char *names[RL_RECIPE_KEYS_MAX];
    int n = rl_recipe_num_keys();
    for (int i = 0; i < n; i++)
        names[i] = rl_recipe_key_name(i);
    int best = rl_kv_closest(name, names, n);
    if (best >= 0)
        return rl_fail(err, RL_ERR_ARG, "unknown key '%s'; hint: did you mean '%s'? (every key: docs/recipes.md)", name,
                       names[best]);
    return rl_fail(err, RL_ERR_ARG, "unknown key '%s'; hint: the keys are listed in docs/recipes.md", name);
}

static rl_status apply(parse_ctx *ctx, char *key, char *value, int lineno, rl_error *err)
{
    int k = rl_recipe_key_find(key);
    if (k < 0) {
        int old = retired_index(key);
        if (old >= 0) return rl_fail(err, RL_ERR_ARG, "key '%s' was removed; hint: %s", key, retired[old].why);
        return unknown_key(key, err);
    }
    if (lineno > 0 && ctx->line[k] > 0)
        return rl_fail(err, RL_ERR_ARG, "key '%s' is already set on line %d; hint: keep one of the two lines", key,
                       ctx->line[k]);
    const rl_recipe_key *def = rl_recipe_key_at(k);
    if (!*value && def->type != RL_KEY_PATH)
        return rl_fail(err, RL_ERR_ARG, "key '%s' has no value; hint: write '%s = <value>'", key, key);
    rl_status st = rl_recipe_key_set(ctx->r, def, value, err);
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
    if (rl_recipe_key_find(key) < 0 && retired_index(key) >= 0) return RL_OK;
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
    int k = rl_recipe_key_find(key);
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

rl_status rl_recipe_write(const rl_recipe *r, FILE *f, rl_error *err)
{
    fputs("# relab recipe, canonical form: every key (docs/recipes.md explains each)\n", f);
    for (int i = 0; i < rl_recipe_num_keys(); i++) {
        const rl_recipe_key *k = rl_recipe_key_at(i);
        if (k->section) fprintf(f, "%s# %s\n", i ? "\n" : "", k->section);
        fprintf(f, "%s = ", k->name);
        rl_recipe_key_write(r, k, f);
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
