/* test_recipe.c: the recipe parser, resolver and canonical writer.
 *
 * - every shipped recipe (recipes/ and recipes/imagenet/) loads, and the
 *   ImageNet ones hold the values docs/method.md ("Training") gives, and the
 *   clean and both ones epoch_length = full;
 * - write -> load gives a byte-identical struct, for every shipped recipe;
 * - each tests/recipes-bad/X.recipe fails with "X.recipe:LINE: message",
 *   where its first line "# expect: LINE: message" says what (LINE 0: no line);
 * - --set overrides, quoting, comments, CRLF, and that docs/recipes.md and
 *   recipe.h document every key. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "train/recipe.h"
#include "util/rng.h"

static const char *srcdir;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted paths of the *.recipe files in dir; returns the count. */
static int list_recipes(const char *dir, char **out, int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d)) && n < max;) {
        size_t len = strlen(e->d_name);
        if (len > 7 && strcmp(e->d_name + len - 7, ".recipe") == 0) {
            out[n] = malloc(strlen(dir) + len + 2);
            sprintf(out[n++], "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof *out, cmp_str);
    return n;
}

/* write -> load_text must give the same bytes. */
static int round_trips(const rl_recipe *r, const char *name)
{
    char *text = rl_recipe_to_text(r);
    rl_recipe back;
    rl_error err = {0};
    int ok = text && rl_recipe_load_text(text, name, &back, &err) == RL_OK && memcmp(r, &back, sizeof *r) == 0;
    if (!ok) tap_diag("%s: round trip failed: %s", name, err.msg);
    free(text);
    return ok;
}

static void shipped(void)
{
    char dir[2048], *paths[64];
    int n = 0;
    snprintf(dir, sizeof dir, "%s/recipes", srcdir);
    n += list_recipes(dir, paths, 64);
    snprintf(dir, sizeof dir, "%s/recipes/imagenet", srcdir);
    n += list_recipes(dir, paths + n, 64 - n);
    tap_ok(n == 25, "25 shipped recipes found (fashion-mnist + 24 ImageNet), got %d", n);
    int loaded = 0, tripped = 0, imagenet_ok = 0;
    for (int i = 0; i < n; i++) {
        rl_recipe r;
        rl_error err = {0};
        if (rl_recipe_load(paths[i], &r, &err) != RL_OK) {
            tap_diag("%s", err.msg);
            free(paths[i]);
            continue;
        }
        loaded++;
        tripped += round_trips(&r, paths[i]);
        const char *base = strrchr(paths[i], '/') + 1;
        if (base[0] == 'r') {
            /* r50-both-270ep.recipe: model, variant and epochs from the name. */
            int is152 = strncmp(base, "r152-", 5) == 0, epochs = atoi(strrchr(base, '-') + 1);
            int sig = strstr(base, "-sigmoid-") || strstr(base, "-both-");
            int clean = strstr(base, "-clean-") || strstr(base, "-both-");
            rl_schedule s;
            rl_recipe_schedule(&r, 1251, &s);
            int good = !strcmp(r.model, is152 ? "resnet152" : "resnet50") && r.epochs == epochs &&
                       (epochs == 90 || epochs == 270 || epochs == 900) &&
                       r.loss == (sig ? RL_LOSS_SIGMOID : RL_LOSS_SOFTMAX) && (r.train_list[0] != 0) == clean &&
                       r.data == RL_DATA_IMAGENET && r.batch_size == 1024 && rl_schedule_peak_lr(&s) == 0.4 &&
                       r.momentum == 0.9 && r.nesterov && r.weight_decay == 1e-4 && !r.wd_on_bn && r.wd_on_bias &&
                       r.warmup_epochs == 5 && r.schedule == RL_SCHEDULE_STEP && r.num_decay_epochs == 0 &&
                       rl_schedule_decay_step(&s, 0) == 1251LL * epochs / 3 &&
                       rl_schedule_decay_step(&s, 2) == 1251LL * epochs * 8 / 9 && r.zero_init_residual &&
                       r.image_size == 224 && r.stem == RL_STEM_IMAGENET && r.width == 64 && r.label_smoothing == 0 &&
                       r.epoch_length == (clean ? RL_EPOCH_FULL : RL_EPOCH_PASS) &&
                       rl_recipe_head_bias(&r, 1000) == (sig ? rl_loss_default_head_bias(RL_LOSS_SIGMOID, 1000) : 0);
            if (!good) tap_diag("%s: a value differs from docs/method.md, \"Training\"", paths[i]);
            imagenet_ok += good;
        } else {
            tap_ok(!strcmp(r.model, "resnet8") && r.stem == RL_STEM_SMALL && r.width == 16 &&
                       r.data == RL_DATA_FASHION_MNIST && r.image_size == 28 && r.epochs >= 1,
                   "fashion-mnist.recipe: resnet8, small stem, width 16, 28 px");
        }
        free(paths[i]);
    }
    tap_ok(loaded == n && n > 0, "every shipped recipe loads (%d of %d)", loaded, n);
    tap_ok(tripped == loaded && n > 0, "every shipped recipe round-trips write -> load byte-identical (%d)", tripped);
    tap_ok(imagenet_ok == 24,
           "the 24 ImageNet recipes hold batch 1024, lr 0.4, Nesterov, wd 1e-4 not on BN, "
           "5 warm-up epochs, decays at 1/3 2/3 8/9, their loss/list/epochs (%d ok)",
           imagenet_ok);
}

static void bad(void)
{
    char dir[2048], *paths[64];
    snprintf(dir, sizeof dir, "%s/tests/recipes-bad", srcdir);
    int n = list_recipes(dir, paths, 64);
    tap_ok(n >= 15, "found %d bad-recipe fixtures", n);
    for (int i = 0; i < n; i++) {
        char *text = slurp(paths[i]), want[512] = "";
        int line = -1;
        if (text) sscanf(text, "# expect: %d: %511[^\n]", &line, want);
        rl_recipe r;
        rl_error err = {0};
        rl_status st = rl_recipe_load(paths[i], &r, &err);
        char prefix[2300];
        if (line > 0)
            snprintf(prefix, sizeof prefix, "%s:%d: ", paths[i], line);
        else
            snprintf(prefix, sizeof prefix, "%s: ", paths[i]);
        tap_ok(line >= 0 && st != RL_OK && strncmp(err.msg, prefix, strlen(prefix)) == 0 && strstr(err.msg, want),
               "%s -> %s", strrchr(paths[i], '/') + 1, st != RL_OK ? err.msg : "(loaded!)");
        free(text);
        free(paths[i]);
    }
    rl_recipe r;
    rl_error err = {0};
    tap_ok(rl_recipe_load("/nonexistent/x.recipe", &r, &err) == RL_ERR_IO && strstr(err.msg, "/nonexistent/x.recipe"),
           "missing file -> RL_ERR_IO naming it (%s)", err.msg);
}

static void syntax(void)
{
    rl_recipe r;
    rl_error err = {0};
    /* Comments, CRLF, quotes around a path with '#', tabs, case in booleans. */
    const char *text = "# a comment\r\n\r\n  data\t=\tfashion-mnist   # trailing\r\nepochs=3\r\nwarmup_epochs = 0.5\r\n"
                       "train_list = \"lists/run #2.list\"  # quoted\r\nnesterov = YES\r\n"
                       "decay_epochs = 1.5 ,2\r\nhead_bias_init = -10\r\n";
    rl_status st = rl_recipe_load_text(text, "inline", &r, &err);
    tap_ok(st == RL_OK && r.epochs == 3 && strcmp(r.train_list, "lists/run #2.list") == 0 && r.nesterov == 1 &&
               r.num_decay_epochs == 2 && r.decay_epochs[0] == 1.5 && r.decay_epochs[1] == 2 && !r.head_bias_auto &&
               r.head_bias_init == -10,
           "comments, CRLF, tabs, quoted '#', YES, lists and numbers parse (%s)", st ? err.msg : "ok");
    tap_ok(rl_recipe_head_bias(&r, 1000) == -10.0f,
           "explicit head_bias_init -10 overrides auto (the value of google-research/vision_transformer issue 89)");
    tap_ok(round_trips(&r, "inline"), "a recipe with a quoted '#' path and explicit decays round-trips");
    tap_ok(strcmp(r.data_dir, "/usr/share/datasets/fashion-mnist") == 0 && r.image_size == 28 &&
               !strcmp(r.model, "resnet50") && r.stem == RL_STEM_IMAGENET && r.width == 64,
           "auto keys resolve: fashion-mnist data_dir and 28 px, resnet50 imagenet stem width 64");

    /* Canonical text of that recipe, checked line by line against hand-written lines. */
    char *canon = rl_recipe_to_text(&r);
    tap_ok(canon && strstr(canon, "\ntrain_list = \"lists/run #2.list\"\n") && strstr(canon, "\nnesterov = true\n") &&
               strstr(canon, "\ndecay_epochs = 1.5, 2\n") && strstr(canon, "\nweight_decay = 0.0001\n") &&
               strstr(canon, "\nval_dir = \"\"\n") && strstr(canon, "\nresnet_version = 1.5\n"),
           "canonical text: quotes, booleans, lists and shortest exact numbers");
    int lines = 0;
    for (const char *p = canon; p && *p; p++)
        lines += *p == '\n' && p[1] && p[1] != '#' && p[1] != '\n';
    tap_ok(lines == rl_recipe_num_keys(), "canonical text has one line per key (%d lines, %d keys)", lines,
           rl_recipe_num_keys());
    free(canon);

    /* Doubles that need 17 digits still round-trip exactly. */
    rl_recipe_init(&r);
    tap_ok(rl_recipe_set(&r, "data=fashion-mnist", "--set", &err) == RL_OK &&
               rl_recipe_set(&r, "epochs = 20", "--set", &err) == RL_OK &&
               rl_recipe_set(&r, "base_lr=0.30000000000000004", "--set", &err) == RL_OK &&
               rl_recipe_finish(&r, "test", &err) == RL_OK && r.base_lr == 0.1 + 0.2 && round_trips(&r, "17 digits"),
           "0.1 + 0.2 survives write -> load (%s)", err.msg);
}

static void overrides(void)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/recipes/imagenet/r50-baseline-90ep.recipe", srcdir);
    rl_recipe r;
    rl_error err = {0};
    const char *sets[] = {"epochs=270", "loss = sigmoid", "data_dir=/scratch/imagenet", "model=resnet20"};
    rl_status st = rl_recipe_load_with(path, sets, 2, &r, &err);
    rl_schedule s;
    rl_recipe_schedule(&r, 1251, &s);
    tap_ok(st == RL_OK && r.epochs == 270 && r.loss == RL_LOSS_SIGMOID && rl_schedule_decay_step(&s, 0) == 90 * 1251,
           "--set epochs=270 loss=sigmoid: 90-epoch baseline becomes the 270-epoch sigmoid run (%s)",
           st ? err.msg : "ok");
    /* A file line that already set `stem` keeps it; an auto stem follows the model. */
    const char *small[] = {"model=resnet20"};
    char fm[2048];
    snprintf(fm, sizeof fm, "%s/tests/recipes-bad/missing-epochs.recipe", srcdir);
    const char *fix[] = {"epochs=20", "model=resnet20"};
    st = rl_recipe_load_with(fm, fix, 2, &r, &err);
    tap_ok(st == RL_OK && !strcmp(r.model, "resnet20") && r.stem == RL_STEM_SMALL && r.width == 16,
           "--set model=resnet20 before finish picks the small stem and width 16 (%s)", st ? err.msg : "ok");
    (void)small;
    st = rl_recipe_load_with(path, sets + 3, 1, &r, &err);
    tap_ok(st == RL_OK && r.stem == RL_STEM_IMAGENET && r.width == 64,
           "...but a stem and width written in the file are kept (%s)", st ? err.msg : "ok");
    const char *typo[] = {"weight_deacy=0"};
    st = rl_recipe_load_with(path, typo, 1, &r, &err);
    tap_ok(st == RL_ERR_ARG && strstr(err.msg, "--set weight_deacy=0: unknown key 'weight_deacy'") &&
               strstr(err.msg, "did you mean 'weight_decay'"),
           "--set with a typo names it and suggests the key (%s)", err.msg);
    const char *cross[] = {"epochs=4"};
    st = rl_recipe_load_with(path, cross, 1, &r, &err);
    tap_ok(st == RL_ERR_ARG && strstr(err.msg, "warmup_epochs = 5 must be less than epochs = 4"),
           "--set epochs=4 under a 5-epoch warm-up is refused (%s)", err.msg);
    const char *lr[] = {"lr=0.2"};
    st = rl_recipe_load_with(path, lr, 1, &r, &err);
    tap_ok(st == RL_ERR_ARG && strstr(err.msg, "unknown key 'lr'") && strstr(err.msg, "did you mean"),
           "an abbreviation gets a suggestion (%s)", err.msg);
    const char *none[] = {"qqqqqqq=1"};
    st = rl_recipe_load_with(path, none, 1, &r, &err);
    tap_ok(st == RL_ERR_ARG && !strstr(err.msg, "did you mean") && strstr(err.msg, "docs/recipes.md"),
           "nothing close: no suggestion, points to the docs (%s)", err.msg);

    /* `deterministic` was removed: a recipe file with it is refused with the
     * reason; the recipe stored in an older checkpoint still loads. */
    char old[256];
    snprintf(old, sizeof old, "%s/relab-test-recipe-%d.recipe", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    FILE *f = fopen(old, "w");
    fputs("data = fashion-mnist\nepochs = 2\ndeterministic = true\n", f);
    fclose(f);
    st = rl_recipe_load(old, &r, &err);
    tap_ok(st == RL_ERR_ARG && strstr(err.msg, ":3: key 'deterministic' was removed") &&
               strstr(err.msg, "always bitwise deterministic"),
           "a recipe file with the removed key 'deterministic' is refused with file:line and why (%s)", err.msg);
    remove(old);
    st = rl_recipe_load_text("data = fashion-mnist\nepochs = 20\ndeterministic = true\n", "ckpt:/recipe", &r, &err);
    tap_ok(st == RL_OK && r.epochs == 20, "the same text stored in an older checkpoint loads (%s)",
           st ? err.msg : "ok");
    const char *bad_model[] = {"model=resnet49"};
    st = rl_recipe_load_with(path, bad_model, 1, &r, &err);
    tap_ok(st == RL_ERR_ARG && strstr(err.msg, "resnet49") && strstr(err.msg, "|resnet152|") &&
               !strstr(err.msg, "-small"),
           "an unknown model lists nn's models (%s)", err.msg);
}

/* Every key appears in docs/recipes.md's table and beside its field in recipe.h. */
static void documented(void)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/docs/recipes.md", srcdir);
    char *doc = slurp(path);
    snprintf(path, sizeof path, "%s/src/train/recipe.h", srcdir);
    char *hdr = slurp(path);
    int in_doc = 0, in_hdr = 0;
    for (int i = 0; i < rl_recipe_num_keys(); i++) {
        char row[128], field[128];
        snprintf(row, sizeof row, "\n| `%s` |", rl_recipe_key_name(i));
        snprintf(field, sizeof field, "/* %s:", rl_recipe_key_name(i));
        if (doc && strstr(doc, row))
            in_doc++;
        else
            tap_diag("docs/recipes.md lacks a row for '%s'", rl_recipe_key_name(i));
        if (hdr && (strstr(hdr, field) ||
                    (snprintf(field, sizeof field, " %s = auto", rl_recipe_key_name(i)), strstr(hdr, field))))
            in_hdr++;
        else
            tap_diag("recipe.h lacks a comment for '%s'", rl_recipe_key_name(i));
    }
    tap_ok(in_doc == rl_recipe_num_keys(), "docs/recipes.md has a table row for each of the %d keys (%d)",
           rl_recipe_num_keys(), in_doc);
    tap_ok(in_hdr == rl_recipe_num_keys(), "recipe.h documents each key beside its field (%d)", in_hdr);
    free(doc);
    free(hdr);
}

/* Mutated recipes (bytes flipped, inserted, lines cut) must load or fail with
 * a message naming the origin; never crash or pass garbage silently. */
static void fuzz(void)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/recipes/imagenet/r152-both-900ep.recipe", srcdir);
    char *base = slurp(path);
    if (!base) {
        tap_ok(0, "fuzz: cannot read %s", path);
        return;
    }
    size_t n = strlen(base);
    char *buf = malloc(n + 64);
    static const char alphabet[] = "=#\"\n ,.-_aez019\t\r\x01\xff";
    int bad = 0, failed = 0, rounds = 3000;
    for (int it = 0; it < rounds; it++) {
        rl_rng r = rl_rng_make(99, (uint64_t)it, 0);
        memcpy(buf, base, n + 1);
        size_t len = n;
        int edits = 1 + (int)rl_rng_below(&r, 4);
        for (int e = 0; e < edits && len > 1; e++) {
            size_t at = rl_rng_below(&r, (uint32_t)len);
            char ch = alphabet[rl_rng_below(&r, sizeof alphabet - 1)];
            switch (rl_rng_below(&r, 3)) {
            case 0: buf[at] = ch; break;                                     /* replace */
            case 1: memmove(buf + at, buf + at + 1, len - at), len--; break; /* delete */
            default: memmove(buf + at + 1, buf + at, len - at + 1), buf[at] = ch, len++; break;
            }
        }
        rl_recipe rec;
        rl_error err = {0};
        err.msg[0] = '\0';
        rl_status st = rl_recipe_load_text(buf, "fuzz", &rec, &err);
        if (st != RL_OK) {
            failed++;
            if (strncmp(err.msg, "fuzz", 4) != 0) {
                if (bad++ < 3) tap_diag("message without origin: %s", err.msg);
            }
        } else if (!round_trips(&rec, "fuzz")) {
            bad++;
        }
    }
    tap_ok(bad == 0, "fuzz: %d mutated recipes, %d refused, every refusal names its origin, the rest round-trip",
           rounds, failed);
    free(buf);
    free(base);
}

int main(void)
{
    srcdir = getenv("top_srcdir");
    if (!srcdir) srcdir = "..";
    shipped();
    bad();
    syntax();
    overrides();
    documented();
    fuzz();
    return tap_done();
}
