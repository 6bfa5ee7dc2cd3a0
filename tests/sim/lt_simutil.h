/* lt_simutil: what the simulators (lt_simcatalog, lt_simpeer) share: their
 * numeric options read the same strict way, and the same start-up of
 * signals (stops read with sigtimedwait by the main thread). */
#ifndef LT_SIMUTIL_H
#define LT_SIMUTIL_H

#include <signal.h>
#include <stdbool.h>

/* A whole decimal number from lo to hi, nothing around it; *ret is left
 * untouched when s is not one. */
bool lt_sim_num(const char *s, long long lo, long long hi, long long *ret);

/* Blocks SIGTERM and SIGINT in the calling thread and so in every thread it
 * starts afterwards, and ignores SIGPIPE (a peer gone mid-answer); *ret_set
 * is the stop set for sigtimedwait. Call before starting any thread. */
void lt_sim_block_stop_signals(sigset_t *ret_set);

#endif
