#include <stdio.h>
#include "cli.h"

int cmd_device(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "reflasher device: not built yet\n");
    return 2;
}
