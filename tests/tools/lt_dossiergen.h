/* lt_dossiergen: realistic canonical dossier records for lt_push and the
 * ingest benchmark (test code, never installed). Dossier i of a run has a
 * life: a path of statuses (online 1→2→4→9→10, at the desk 2→4→9→10, with a
 * supplement round 4→5→4, fees 4→6→4, refused 1→3, withdrawn →7, stopped →8)
 * and one record per step, each a whole current record as a ward pushes it:
 * Vietnamese names, CCCD numbers, phones, e-mail, an address, submitted
 * files, fees, the processing history QuaTrinhXuLy up to that step, dates
 * yyyyMMddHHmmss that only grow, so step k+1 is always newer than step k.
 *
 * Deterministic: record (i, step) depends only on (seed, run id, i, step).
 * The dossier code {agency}-{yyMMdd}-{NNNNNNN} depends only on (run id, i):
 * codes are numbered L = run_id * 100,000 + i over ten years of days
 * (2016-01-01 .. 2025-12-28) times 10,000,000 numbers a day, so runs whose
 * ids differ by more than count / 100,000 never share a code (run ids 1, 2,
 * 3... are apart enough for runs under 100,000 records). lt_push's default
 * run id is the start time in seconds: runs one after the other never
 * collide when they push under 100,000 records a second and start in
 * different seconds; scripts give run ids. The numbering wraps after
 * 365,000 run ids (~4.2 days of seconds).
 *
 * Records are written as compact JSON text straight into a buffer (no
 * jansson on the sender's hot path: at tens of thousands of records a
 * second, building and dumping trees would be a measurable share of a CPU
 * the gateway needs). */
#ifndef LT_DOSSIERGEN_H
#define LT_DOSSIERGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable text buffer; a zeroed struct is an empty one. */
typedef struct lt_dgen_buf {
    char *data; /* NUL-terminated when len > 0; owned */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
} lt_dgen_buf;

/* Appends n bytes; -1 when out of memory (the buffer is unchanged). */
int lt_dgen_buf_add(lt_dgen_buf *b, const char *s, size_t n) __attribute__((warn_unused_result));
/* Appends a formatted string; -1 on error. */
int lt_dgen_buf_printf(lt_dgen_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
/* Empties the buffer, keeping its memory. */
void lt_dgen_buf_reset(lt_dgen_buf *b);
/* Frees the memory; the buffer is empty again. */
void lt_dgen_buf_free(lt_dgen_buf *b);

typedef struct lt_dgen lt_dgen;

/* A generator for one run: records of agency (the code prefix, e.g.
 * 000.02.22.H56) for the given procedure codes (copied; at least one).
 * NULL on bad arguments or out of memory. */
lt_dgen *lt_dgen_new(uint64_t seed, uint64_t run_id, const char *agency,
                     const char *const *procedures, size_t n_procedures)
    __attribute__((warn_unused_result));
void lt_dgen_destroy(lt_dgen **self_p);

/* The step of dossier i's first push: 0 mostly, 1 for the wards that join
 * mid-way and send a record that already has history. */
unsigned lt_dgen_first_step(const lt_dgen *self, uint64_t i);
/* The last step of dossier i (its path's length - 1): after it, no newer
 * status exists (the dossier is closed). */
unsigned lt_dgen_last_step(const lt_dgen *self, uint64_t i);
/* The status (1..10) of dossier i at step. */
int lt_dgen_status(const lt_dgen *self, uint64_t i, unsigned step);

/* Writes dossier i's code into buf; -1 when it does not fit. */
int lt_dgen_code(const lt_dgen *self, uint64_t i, char *buf, size_t size)
    __attribute__((warn_unused_result));

/* Appends the record of dossier i at step (≤ lt_dgen_last_step) to out as
 * compact JSON; -1 on error. */
int lt_dgen_record(const lt_dgen *self, uint64_t i, unsigned step, lt_dgen_buf *out)
    __attribute__((warn_unused_result));

#endif
