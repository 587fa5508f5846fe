/* sched.c: a grid's runs as `relab train` processes (see sched.h). */
#include "ablate/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ablate/facts.h"
#include "ablate/runs.h"
#include "train/checkpoint.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timer.h"

const char *rl_ablate_state_name(rl_ablate_state s)
{
    static const char *const names[] = {"new", "resume", "done"};
    return s >= RL_ABLATE_NEW && s <= RL_ABLATE_DONE ? names[s] : "?";
}

rl_ablate_state rl_ablate_state_of(const char *run_dir)
{
    char p[RL_FS_PATH_MAX + 16];
    struct stat sb;
    int64_t newest;
    snprintf(p, sizeof p, "%s/final.h5", run_dir);
    if (stat(p, &sb) == 0) return RL_ABLATE_DONE;
    return rl_checkpoint_list(run_dir, &newest, 1) > 0 ? RL_ABLATE_RESUME : RL_ABLATE_NEW;
}

rl_status rl_ablate_run_dir(const rl_ablate_grid *g, int r, char *out, size_t n, rl_error *err)
{
    char name[3 * RL_ABLATE_LABEL + 64];
    rl_ablate_run_name(g, r, name, sizeof name);
    if (snprintf(out, n, "%s/runs/%s", g->out, name) >= (int)n)
        return rl_fail(err, RL_ERR_ARG, "%s/runs/%s: path too long", g->out, name);
    return RL_OK;
}

rl_status rl_ablate_train_command(const rl_ablate_grid *g, int r, const char *relab, const char *dir,
                                  rl_ablate_state st, rl_ablate_command *cmd, rl_error *err)
{
    int a = 0;
    cmd->argv[a++] = (char *)relab;
    cmd->argv[a++] = "train";
    if (st == RL_ABLATE_RESUME) {
        /* The checkpoint carries the recipe with the overrides applied. */
        cmd->argv[a++] = "--resume";
        cmd->argv[a++] = (char *)dir;
    } else {
        rl_status s = rl_ablate_run_recipe(g, r, cmd->recipe, sizeof cmd->recipe, err);
        if (s) return s;
        cmd->argv[a++] = cmd->recipe;
        cmd->argv[a++] = "--out";
        cmd->argv[a++] = (char *)dir;
        int n = rl_ablate_run_sets(g, r, cmd->sets, RL_ABLATE_MAX_SETS, err);
        if (n < 0) return err ? err->code : RL_ERR_ARG;
        for (int i = 0; i < n; i++) {
            cmd->argv[a++] = "--set";
            cmd->argv[a++] = cmd->sets[i];
        }
    }
    cmd->argv[a] = NULL;
    return RL_OK;
}

/* Starts argv with stdout and stderr appended to log; -1 with errno set. */
static pid_t spawn(char **argv, const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* A stop forwarded before exec must not land in a copy of the caller's
     * handler, which exec discards: until relab train installs its own, a
     * signal ends the child (nothing is trained yet). */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    execv(argv[0], argv);
    /* only the child's own log sees this */
    dprintf(2, "relab ablate: cannot run %s (%s)\n", argv[0], strerror(errno));
    _exit(127);
}

typedef struct {
    const rl_ablate_grid *g;
    const rl_ablate_train_options *o;
    int n, running, forwarded;
    pid_t *pids; /* [n] 0 = not running */
    double *t0;  /* [n] start time */
    int *failed; /* [n] caller's */
} sched;

static int stop_requested(const sched *s)
{
    return s->o->stop && *s->o->stop;
}

/* Sends every running run SIGTERM once a stop is requested: Ctrl-C reaches
 * them from the terminal, but a `kill` of relab ablate alone does not. */
static void forward_stop(sched *s)
{
    if (s->forwarded || !stop_requested(s)) return;
    s->forwarded = 1;
    for (int q = 0; q < s->n; q++)
        if (s->pids[q] > 0) kill(s->pids[q], SIGTERM);
}

/* Waits for one run to end and records how.  Polls, so that a stop request
 * is forwarded while runs are busy.  Returns -1 when no run is running. */
static int reap(sched *s)
{
    int status;
    pid_t p = 0;
    while (s->running > 0 && p == 0) {
        forward_stop(s);
        p = waitpid(-1, &status, WNOHANG);
        if (p == 0) nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        if (p < 0 && errno == EINTR) p = 0;
    }
    if (p <= 0) return -1;
    for (int q = 0; q < s->n; q++) {
        if (s->pids[q] != p) continue;
        s->pids[q] = 0;
        s->running--;
        char name[3 * RL_ABLATE_LABEL + 64];
        rl_ablate_run_name(s->g, q, name, sizeof name);
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        s->failed[q] = code != 0;
        /* 75: relab train stopped on a signal after writing a checkpoint */
        rl_log(RL_LOG_INFO, "relab ablate: %s %s after %.0f s", name,
               !code                             ? "finished"
               : code == 75 || stop_requested(s) ? "stopped (its checkpoint is kept)"
                                                 : "FAILED",
               rl_now() - s->t0[q]);
    }
    return 0;
}

/* " 2 epochs x 7 steps = 14 steps" from the run's plan, "" when it cannot be planned. */
static void steps_note(const sched *s, int r, const char *dir, char *out, size_t n)
{
    rl_ablate_facts f;
    rl_error e;
    out[0] = '\0';
    if (rl_ablate_run_facts(s->g, r, dir, dir, &f, &e) == RL_OK)
        snprintf(out, n, ", %d epochs x %lld steps = %lld steps", f.epochs, (long long)f.steps_per_epoch,
                 (long long)f.steps);
}

/* Starts run r in dir; 0, or -1 when it could not start (failed[r] set). */
static int start(sched *s, int r, const char *dir, rl_ablate_state st, rl_ablate_command *cmd)
{
    rl_error e;
    char log[RL_FS_PATH_MAX + 16], name[3 * RL_ABLATE_LABEL + 64], steps[128];
    rl_ablate_run_name(s->g, r, name, sizeof name);
    s->failed[r] = 1;
    if (rl_fs_mkdirs(dir, &e) || rl_ablate_train_command(s->g, r, s->o->relab, dir, st, cmd, &e)) {
        rl_log(RL_LOG_ERROR, "relab ablate: %s", e.msg);
        return -1;
    }
    snprintf(log, sizeof log, "%s/train.log", dir);
    steps_note(s, r, dir, steps, sizeof steps);
    if (stop_requested(s)) return -1; /* planning takes a while */
    rl_log(RL_LOG_INFO, "relab ablate: [%d/%d] %s: %s%s (log %s)", r + 1, s->n, name,
           st == RL_ABLATE_RESUME ? "resuming" : "training", steps, log);
    s->t0[r] = rl_now();
    pid_t pid = spawn(cmd->argv, log);
    if (pid < 0) {
        rl_log(RL_LOG_ERROR, "relab ablate: cannot start a process (%s)", strerror(errno));
        return -1;
    }
    s->pids[r] = pid;
    s->running++;
    s->failed[r] = 0;
    return 0;
}

rl_status rl_ablate_train(const rl_ablate_grid *g, const rl_ablate_train_options *o, int *failed, int *already_done,
                          rl_error *err)
{
    sched s = {.g = g, .o = o, .n = rl_ablate_num_runs(g), .failed = failed};
    char runs[RL_FS_PATH_MAX], dir[RL_FS_PATH_MAX];
    *already_done = 0;
    snprintf(runs, sizeof runs, "%s/runs", g->out);
    rl_status st = rl_fs_mkdirs(runs, err);
    if (st) return st;
    memset(failed, 0, sizeof *failed * (size_t)s.n);
    s.pids = calloc((size_t)s.n, sizeof *s.pids);
    s.t0 = calloc((size_t)s.n, sizeof *s.t0);
    rl_ablate_command *cmd = malloc(sizeof *cmd);
    if (!s.pids || !s.t0 || !cmd) st = rl_fail(err, RL_ERR_NOMEM, "out of memory");
    for (int r = 0; !st && r < s.n && !stop_requested(&s); r++) {
        if ((st = rl_ablate_run_dir(g, r, dir, sizeof dir, err))) break;
        rl_ablate_state state = rl_ablate_state_of(dir);
        if (state == RL_ABLATE_DONE) {
            ++*already_done;
            continue;
        }
        while (s.running >= (o->jobs > 0 ? o->jobs : 1) && reap(&s) == 0) {
        }
        if (stop_requested(&s)) break;
        start(&s, r, dir, state, cmd);
    }
    while (s.running > 0 && reap(&s) == 0) {
    }
    if (!st && stop_requested(&s)) st = rl_fail(err, RL_ERR_STOPPED, "stopped; run the same command again to resume");
    free(cmd);
    free(s.pids);
    free(s.t0);
    return st;
}
