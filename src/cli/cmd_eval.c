/* cmd_eval.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "cli/commands.h"

int cmd_eval(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "relab %s: not implemented yet\n", argv[0]);
    return RL_EXIT_FAIL;
}
