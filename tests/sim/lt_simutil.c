/* lt_simutil: the numeric options and the signal start-up both simulators
 * had written out the same way (see lt_simutil.h). */
#include "lt_simutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

bool lt_sim_num(const char *s, long long lo, long long hi, long long *ret)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < lo || v > hi)
        return false;
    *ret = v;
    return true;
}

void lt_sim_block_stop_signals(sigset_t *ret_set)
{
    sigemptyset(ret_set);
    sigaddset(ret_set, SIGTERM);
    sigaddset(ret_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, ret_set, NULL);
    signal(SIGPIPE, SIG_IGN);
}
