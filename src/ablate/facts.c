/* facts.c: a run's network, loss and steps from its plan (see facts.h). */
#include "ablate/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ablate/runs.h"
#include "ablate/sched.h"
#include "train/plan.h"

/* The finished recipe of run r: its folder's recipe.txt once it started. */
static rl_status run_recipe(const rl_ablate_grid *g, int r, const char *dir, rl_recipe *rec, rl_error *err)
{
    char path[RL_ABLATE_PATH + 32];
    struct stat sb;
    snprintf(path, sizeof path, "%s/recipe.txt", dir);
    if (stat(path, &sb) == 0) return rl_recipe_load(path, rec, err);
    rl_ablate_command *cmd = malloc(sizeof *cmd);
    if (!cmd) return rl_fail(err, RL_ERR_NOMEM, "out of memory");
    rl_status st = rl_ablate_run_recipe(g, r, cmd->recipe, sizeof cmd->recipe, err);
    int n = st ? -1 : rl_ablate_run_sets(g, r, cmd->sets, RL_ABLATE_MAX_SETS, err);
    const char *sets[RL_ABLATE_MAX_SETS];
    for (int i = 0; i < n; i++)
        sets[i] = cmd->sets[i];
    if (!st && n < 0) st = err ? err->code : RL_ERR_ARG;
    if (!st) st = rl_recipe_load_with(cmd->recipe, sets, n, rec, err);
    free(cmd);
    return st;
}

rl_status rl_ablate_run_facts(const rl_ablate_grid *g, int r, const char *dir, const char *cache_dir,
                              rl_ablate_facts *f, rl_error *err)
{
    memset(f, 0, sizeof *f);
    rl_recipe *rec = malloc(sizeof *rec);
    rl_recipe_plan *plan = calloc(1, sizeof *plan);
    rl_status st = rec && plan ? RL_OK : rl_fail(err, RL_ERR_NOMEM, "out of memory");
    if (!st) st = run_recipe(g, r, dir, rec, err);
    if (!st) st = rl_recipe_plan_init(plan, rec, err);
    if (!st) st = rl_recipe_plan_open_data(plan, cache_dir, err);
    if (!st) {
        snprintf(f->arch, sizeof f->arch, "%s", plan->model.arch);
        snprintf(f->loss, sizeof f->loss, "%s", rl_loss_kind_name(plan->loss.kind));
        f->epochs = plan->recipe.epochs;
        f->batch_size = plan->recipe.batch_size;
        f->train_images = plan->train->count;
        f->steps_per_epoch = plan->steps_per_epoch;
        f->steps = rl_recipe_plan_total_steps(plan);
    }
    if (plan) rl_recipe_plan_close(plan);
    free(plan);
    free(rec);
    return st;
}
