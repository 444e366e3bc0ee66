/* reflasher: inspect images, build simulated devices, run and rehearse migrations. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} k_cmds[] = {
    { "device", cmd_device, "device create ...: make a simulated device" },
    { "migrate", cmd_migrate, "migrate --device IMG (--image SRC@DEST[:SIZE][#sha256=HEX] ... [--allow-http] | --embedded FILE@DEST[:SIZE])" },
    { "plan", cmd_plan, "plan --device IMG --image SRC@DEST[:SIZE][#sha256=HEX] ... [--allow-http] [--json] [--svg FILE]: validate, no write" },
    { "inspect", cmd_inspect, "inspect FILE [--json]: images, tables, merged binaries, flash dumps, gzip: list and check" },
    { "boot", cmd_boot, "boot DEVICE.img [--json]: what the device would boot now (OLD, NEW or BRICK)" },
    { "rehearse", cmd_rehearse, "rehearse --device IMG (--image ... | --embedded ...) --power-cut-sweep [--mid-op] [--json]: cut the power at every write" },
    { "image", cmd_image, "image esp-bootloader|esp-app|mcuboot ... -o FILE: generate a real-format image" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: reflasher COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof k_cmds / sizeof k_cmds[0]; i++) {
        fprintf(out, "  %-8s %s\n", k_cmds[i].name, k_cmds[i].help);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof k_cmds / sizeof k_cmds[0]; i++) {
        if (strcmp(argv[1], k_cmds[i].name) == 0) {
            return k_cmds[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "reflasher: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
