/* commands.h: the relab subcommands.  Each takes the arguments after its own
 * name (argv[0] is the command name) and returns the process exit code:
 * 0 ok, 1 failure (message printed), 2 usage error, 75 stopped on request
 * and resumable (sysexits.h's EX_TEMPFAIL: a batch script requeues and runs
 * `relab train --resume DIR`).  Only the CLI exits. */
#ifndef RL_CLI_COMMANDS_H
#define RL_CLI_COMMANDS_H

enum { RL_EXIT_OK = 0, RL_EXIT_FAIL = 1, RL_EXIT_USAGE = 2, RL_EXIT_STOPPED = 75 };

#include <signal.h>

/* Installs handlers for SIGINT (Ctrl-C), SIGTERM and SIGUSR1 (what `sbatch
 * --signal=USR1@300` sends before a time limit) that set the returned flag,
 * which relab train and relab ablate hand to the library to stop at a
 * checkpoint. */
const volatile sig_atomic_t *cli_stop_on_signals(void);

/* An integer option's value in lo..hi into *out (returns 1), or a message
 * "relab CMD: NAME 'ARG' must be an integer in lo..hi" on stderr (returns 0). */
int cli_int_option(const char *cmd, const char *name, const char *arg, int lo, int hi, int *out);

int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_noise(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export_images(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_split(int argc, char **argv);

#endif
