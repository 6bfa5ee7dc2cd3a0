/* lt_demo_cli: `lienthong demo` execs the demo's orchestration script,
 * deploy/demo/demo.sh (share/lienthong/demo when installed), with the
 * programs it drives: this binary, and the simulators and day generator
 * built with the tests (lt_simpeer, lt_simcatalog, lt_daygen). The script
 * is shell on purpose: it starts, waits for and stops processes that
 * already exist, and an evaluator reads what the demo does in one file; C
 * here would only re-implement process handling. So `./deploy/quickstart.sh`
 * (which installs and builds first) and `lienthong demo` are one path: the
 * quickstart execs `lienthong demo`, which execs the script.
 *
 * The simulators are test programs and are not installed; they are looked
 * up in the environment (LT_SIMPEER, LT_SIMCATALOG, LT_DAYGEN, as ctest
 * passes them) and then beside the binary in a build tree
 * (build/gateway/lienthong -> build/tests/lt_simpeer). */
#include "lt_demo_cli.h"

#include "lt_paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

const char lt_demo_help[] =
    "usage: lienthong demo [--once]\n"
    "\n"
    "Runs the gateway on its embedded PostgreSQL (data_dir, default ./var)\n"
    "with the outside systems simulated on loopback: the national catalog\n"
    "(~2,000 procedures), the provincial portal, a district office, the\n"
    "wards' callback receivers and a webhook sink. Syncs the catalog,\n"
    "imports a unit tree, creates the tokens, and plays a working day of\n"
    "five wards (two on vendor dialects) pushing dossiers through their\n"
    "life cycle, district-level ones going up to the district and its\n"
    "answers coming back down, a few bad records refused. Then prints the\n"
    "status and the on-time report and serves until Ctrl-C, which stops\n"
    "every process it started. A second run reuses the database and the\n"
    "catalog and plays the next working day (new dossier codes).\n"
    "\n"
    "  --once   run the day, wait for the deliveries to drain, print the\n"
    "           status and the report, exit (0 when every link is up)\n"
    "\n"
    "Needs the simulators built with the tests: ./deploy/quickstart.sh\n"
    "builds them and runs this. Environment: LIENTHONG_DATA_DIR,\n"
    "LIENTHONG_HTTP_LISTEN and the zmq endpoints as for serve;\n"
    "LT_DEMO_DOSSIERS (per ward, default 24), LT_DEMO_PACE (seconds between\n"
    "rounds). The script: deploy/demo/demo.sh.\n";

/* Sets name to the program beside this binary's build tree unless the
 * environment already has it; -1 when it is nowhere. */
static int find_tool(const char *name, const char *env, const char *bindir)
{
    const char *v = getenv(env);
    if (v && *v)
        return access(v, X_OK) == 0 ? 0 : -1;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/../tests/%s", bindir, name);
    if (n < 0 || (size_t)n >= sizeof(path) || access(path, X_OK) != 0)
        return -1;
    return setenv(env, path, 1);
}

int lt_demo_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--once") != 0) {
            fprintf(stderr, "lienthong demo: unknown option %s (usage: lienthong demo [--once])\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    char self[PATH_MAX], bindir[PATH_MAX], script[PATH_MAX], dialects[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0) {
        perror("lienthong demo: /proc/self/exe");
        return EXIT_RUNTIME;
    }
    self[len] = '\0';
    memcpy(bindir, self, (size_t)len + 1);
    char *slash = strrchr(bindir, '/');
    if (slash)
        *slash = '\0';
    char demodir[PATH_MAX];
    if (lt_paths_dir(LT_PATH_DEMO, demodir, sizeof(demodir)) < 0 ||
        lt_paths_dir(LT_PATH_DIALECTS, dialects, sizeof(dialects)) < 0) {
        fprintf(stderr, "lienthong demo: cannot find the data directory\n");
        return EXIT_RUNTIME;
    }
    int n = snprintf(script, sizeof(script), "%s/demo.sh", demodir);
    if (n < 0 || (size_t)n >= sizeof(script) || access(script, R_OK) != 0) {
        fprintf(stderr, "lienthong demo: %s is missing\n", script);
        return EXIT_RUNTIME;
    }
    if (find_tool("lt_simpeer", "LT_SIMPEER", bindir) < 0 ||
        find_tool("lt_simcatalog", "LT_SIMCATALOG", bindir) < 0 ||
        find_tool("lt_daygen", "LT_DAYGEN", bindir) < 0) {
        fprintf(stderr, "lienthong demo: the simulators (lt_simpeer, lt_simcatalog, lt_daygen) "
                        "are built with the tests and not installed; run ./deploy/quickstart.sh "
                        "from a checkout, or set LT_SIMPEER, LT_SIMCATALOG and LT_DAYGEN\n");
        return EXIT_RUNTIME;
    }
    if (setenv("LIENTHONG_BIN", self, 1) < 0 || setenv("LT_DEMO_DIALECTS", dialects, 1) < 0) {
        perror("lienthong demo: setenv");
        return EXIT_RUNTIME;
    }
    char *args[4] = {"bash", script, NULL, NULL};
    if (argc > 1)
        args[2] = argv[1];
    execvp("bash", args);
    perror("lienthong demo: bash");
    return EXIT_RUNTIME;
}
