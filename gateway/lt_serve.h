/* lt_serve: `lienthong serve`, the gateway process. The main thread is the
 * supervisor: it turns signals into loop events (signalfd), starts the
 * actors in dependency order, reloads configuration on SIGHUP and stops
 * everything in reverse order on SIGINT/SIGTERM. */
#ifndef LT_SERVE_H
#define LT_SERVE_H

#include "lt_config.h"

/* Runs until a stop signal. config_path is what the configuration was
 * loaded from (NULL: the default lookup), reused on SIGHUP. Returns the
 * process exit code: 0 after a clean stop, 1 when start-up fails. */
int lt_serve_run(lt_config *cfg, const char *config_path);

#endif
