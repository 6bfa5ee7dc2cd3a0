/* lt_demo_cli: `lienthong demo [--once]`, the newcomer's path from the
 * binary (see lt_demo_cli.c). */
#ifndef LT_DEMO_CLI_H
#define LT_DEMO_CLI_H

/* Runs the demo script; returns only when it cannot be started (1), or on
 * bad usage (2). argv[0] is "demo". */
int lt_demo_main(int argc, char **argv) __attribute__((warn_unused_result));

extern const char lt_demo_help[];

#endif
