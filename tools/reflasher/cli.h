/* The reflasher command-line tool: one function per subcommand. */
#pragma once

int cmd_device(int argc, char **argv);    /* cmd_device.c  */
int cmd_migrate(int argc, char **argv);   /* cmd_migrate.c */
int cmd_inspect(int argc, char **argv);   /* cmd_inspect.c */
int cmd_image(int argc, char **argv);     /* cmd_image.c   */
int cmd_plan(int argc, char **argv);      /* cmd_plan.c    */
int cmd_boot(int argc, char **argv);      /* cmd_boot.c    */
int cmd_rehearse(int argc, char **argv);  /* cmd_rehearse.c */
int cmd_fleet(int argc, char **argv);     /* cmd_fleet.c */
