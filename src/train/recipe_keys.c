/* recipe_keys.c: the recipe's key table, and reading and writing one value
 * (see recipe_keys.h).  The format and the meaning of each key are in
 * recipe.h and docs/recipes.md. */
#include "train/recipe_keys.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn/resnet.h"
#include "util/kv.h"

_Static_assert(sizeof(rl_stem_kind) == sizeof(int) && sizeof(rl_data_kind) == sizeof(int) &&
                   sizeof(rl_loss_kind) == sizeof(int) && sizeof(rl_schedule_kind) == sizeof(int) &&
                   sizeof(rl_resnet_version) == sizeof(int) && sizeof(rl_epoch_length) == sizeof(int),
               "recipe enums are stored through int pointers");

/* The word for enum value i is words[i]; NULL marks a value that cannot be
 * written in a recipe (RL_DATA_NONE). */
static const char *const stem_words[] = {"auto", "imagenet", "small", NULL};
static const char *const version_words[] = {"1.5", "1", NULL};
static const char *const data_words[] = {"", "fashion-mnist", "imagenet", "folder", NULL};
static const char *const schedule_words[] = {"step", "cosine", NULL};
static const char *const epoch_length_words[] = {"pass", "full", NULL};

#define OFF(f) offsetof(rl_recipe, f)
#define INT(n, f, lo, hi)                                                                                              \
    {                                                                                                                  \
        n, RL_KEY_INT, OFF(f), lo, hi, 0, 0, NULL, 0, NULL                                                             \
    }
#define INT64(n, f, lo, hi)                                                                                            \
    {                                                                                                                  \
        n, RL_KEY_INT64, OFF(f), lo, hi, 0, 0, NULL, 0, NULL                                                           \
    }
#define DBL(n, f, lo, hi, lo_open, hi_open)                                                                            \
    {                                                                                                                  \
        n, RL_KEY_DOUBLE, OFF(f), lo, hi, lo_open, hi_open, NULL, 0, NULL                                              \
    }
#define BOOL(n, f)                                                                                                     \
    {                                                                                                                  \
        n, RL_KEY_BOOL, OFF(f), 0, 1, 0, 0, NULL, 0, NULL                                                              \
    }
#define ENUM(n, f, w)                                                                                                  \
    {                                                                                                                  \
        n, RL_KEY_ENUM, OFF(f), 0, 0, 0, 0, w, 0, NULL                                                                 \
    }
#define PATH(n, f)                                                                                                     \
    {                                                                                                                  \
        n, RL_KEY_PATH, OFF(f), 0, 0, 0, 0, NULL, 0, NULL                                                              \
    }

static const rl_recipe_key keys[] = {
    {"model", RL_KEY_MODEL, OFF(model), 0, 0, 0, 0, NULL, 0, "model"},
    ENUM("stem", stem, stem_words),
    {"width", RL_KEY_INT, OFF(width), 1, 1024, 0, 0, NULL, 1, NULL},
    BOOL("zero_init_residual", zero_init_residual),
    ENUM("resnet_version", resnet_version, version_words),
    INT("num_classes", num_classes, 0, 100000),

    {"data", RL_KEY_ENUM, OFF(data), 0, 0, 0, 0, data_words, 0, "data"},
    PATH("data_dir", data_dir),
    PATH("train_list", train_list),
    PATH("list_root", list_root),
    PATH("val_dir", val_dir),
    PATH("val_labels", val_labels),
    PATH("classes", classes),
    INT64("val_split", val_split, 0, 1e12),
    INT64("train_subset", train_subset, 0, 1e12),
    {"image_size", RL_KEY_INT, OFF(image_size), 8, 1024, 0, 0, NULL, 1, NULL},
    DBL("eval_resize_ratio", eval_resize_ratio, 0, 1, 1, 0),
    BOOL("augment", augment),
    INT("loader_threads", loader_threads, 0, 256),

    {"loss", RL_KEY_ENUM, OFF(loss), 0, 0, 0, 0, rl_loss_kind_names, 0, "loss"},
    DBL("label_smoothing", label_smoothing, 0, 1, 0, 1),
    {"head_bias_init", RL_KEY_BIAS, OFF(head_bias_init), -1000, 1000, 0, 0, NULL, 0, NULL},

    {"epochs", RL_KEY_INT, OFF(epochs), 1, 100000, 0, 0, NULL, 0, "optimisation"},
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
    {"decay_epochs", RL_KEY_DECAYS, OFF(decay_epochs), 0, 100000, 1, 0, NULL, 0, NULL},
    DBL("decay_factor", decay_factor, 0, 1, 1, 0),

    {"seed", RL_KEY_INT64, OFF(seed), 0, 9.2e18, 0, 0, NULL, 0, "run"},
    INT("threads", threads, 0, 4096),
    INT64("checkpoint_every", checkpoint_every, 0, 1e15),
    INT("keep_checkpoints", keep_checkpoints, 1, 1000),
    INT("eval_every", eval_every, 0, 100000),
    INT("log_every", log_every, 0, 100000000),
    BOOL("sync_bn", sync_bn),
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= RL_RECIPE_KEYS_MAX, "raise RL_RECIPE_KEYS_MAX");

int rl_recipe_num_keys(void)
{
    return NKEYS;
}

const char *rl_recipe_key_name(int i)
{
    return i >= 0 && i < NKEYS ? keys[i].name : NULL;
}

int rl_recipe_key_find(const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return i;
    return -1;
}

const rl_recipe_key *rl_recipe_key_at(int i)
{
    return i >= 0 && i < NKEYS ? &keys[i] : NULL;
}

const char *rl_data_name(rl_data_kind d)
{
    return (unsigned)d < 4 && d ? data_words[d] : "none";
}

/* ---- values ---- */

static void range_text(const rl_recipe_key *k, char *buf, size_t n)
{
    snprintf(buf, n, "%c%.10g, %.10g%c", k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']');
}

static int in_range(const rl_recipe_key *k, double v)
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

static rl_status bad_value(rl_error *err, const rl_recipe_key *k, const char *value, const char *expected,
                           const char *hint)
{
    return rl_fail(err, RL_ERR_ARG, "key '%s': expected %s, found '%s'%s%s", k->name, expected, value,
                   hint ? "; hint: " : "", hint ? hint : "");
}

/* decay_epochs: "auto" or a comma list of increasing epochs. */
static rl_status set_decays(rl_recipe *r, const rl_recipe_key *k, const char *value, rl_error *err)
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

rl_status rl_recipe_key_set(rl_recipe *r, const rl_recipe_key *k, const char *value, rl_error *err)
{
    char *base = (char *)r + k->off;
    char expected[160], range[64];
    range_text(k, range, sizeof range);
    switch (k->type) {
    case RL_KEY_INT:
    case RL_KEY_INT64: {
        long long v;
        if (k->zero_is_auto && strcmp(value, "auto") == 0)
            v = 0;
        else if (!rl_kv_int64(value, &v) || !in_range(k, (double)v)) {
            snprintf(expected, sizeof expected, "an integer in %s%s", range, k->zero_is_auto ? " or 'auto'" : "");
            return bad_value(err, k, value, expected, NULL);
        }
        if (k->type == RL_KEY_INT)
            *(int *)base = (int)v;
        else
            *(int64_t *)base = v;
        return RL_OK;
    }
    case RL_KEY_DOUBLE: {
        double v;
        if (!rl_kv_double(value, &v) || !in_range(k, v)) {
            snprintf(expected, sizeof expected, "a number in %s", range);
            return bad_value(err, k, value, expected, NULL);
        }
        *(double *)base = v;
        return RL_OK;
    }
    case RL_KEY_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) return *(int *)base = 1, RL_OK;
            if (strcasecmp(value, no[i]) == 0) return *(int *)base = 0, RL_OK;
        }
        return bad_value(err, k, value, "true or false", NULL);
    }
    case RL_KEY_ENUM: {
        char list[256] = "";
        for (int i = 0; k->words[i]; i++) {
            if (!k->words[i][0]) continue;
            if (strcasecmp(value, k->words[i]) == 0) return *(int *)base = i, RL_OK;
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", used ? "|" : "one of ", k->words[i]);
        }
        return bad_value(err, k, value, list, NULL);
    }
    case RL_KEY_MODEL: {
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
    case RL_KEY_PATH: {
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
    case RL_KEY_BIAS: {
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
    case RL_KEY_DECAYS: return set_decays(r, k, value, err);
    }
    RL_CHECK(0);
    return RL_ERR_ARG;
}

/* ---- writing ---- */

void rl_recipe_key_write(const rl_recipe *r, const rl_recipe_key *k, FILE *f)
{
    const char *base = (const char *)r + k->off;
    char num[40];
    switch (k->type) {
    case RL_KEY_INT:
        if (k->zero_is_auto && *(const int *)base == 0)
            fputs("auto", f);
        else
            fprintf(f, "%d", *(const int *)base);
        break;
    case RL_KEY_INT64: fprintf(f, "%lld", (long long)*(const int64_t *)base); break;
    case RL_KEY_DOUBLE:
        rl_kv_format_double(*(const double *)base, num, sizeof num);
        fputs(num, f);
        break;
    case RL_KEY_BOOL: fputs(*(const int *)base ? "true" : "false", f); break;
    case RL_KEY_MODEL: fputs(base, f); break;
    case RL_KEY_ENUM: {
        int v = *(const int *)base;
        fputs(k->words[v] && k->words[v][0] ? k->words[v] : "\"\"", f);
        break;
    }
    case RL_KEY_PATH: {
        /* Quote what the parser would otherwise trim or cut at a comment. */
        size_t n = strlen(base);
        int quote =
            n == 0 || strchr(base, '#') || isspace((unsigned char)base[0]) || isspace((unsigned char)base[n - 1]);
        fprintf(f, quote ? "\"%s\"" : "%s", base);
        break;
    }
    case RL_KEY_BIAS:
        if (r->head_bias_auto)
            fputs("auto", f);
        else {
            rl_kv_format_double(r->head_bias_init, num, sizeof num);
            fputs(num, f);
        }
        break;
    case RL_KEY_DECAYS:
        if (r->num_decay_epochs == 0) fputs("auto", f);
        for (int i = 0; i < r->num_decay_epochs; i++) {
            rl_kv_format_double(r->decay_epochs[i], num, sizeof num);
            fprintf(f, "%s%s", i ? ", " : "", num);
        }
        break;
    }
}
