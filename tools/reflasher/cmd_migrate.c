#include <stdio.h>
#include "cli.h"

int cmd_migrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "reflasher migrate: not built yet\n");
    return 2;
}
