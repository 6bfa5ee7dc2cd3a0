/* lt_report: the on-time report (see lt_report.h).
 *
 * Where each part runs, and why. PostgreSQL reads every dossier of the
 * period once (LT_REPORT_SQL), not from the jsonb record but from the facts
 * the database derives from it when the writer stores it (generated
 * columns, schemas/sql/0013_report.sql: received, NgayTiepNhan, due, end of
 * processing as yyyyMMddHHmmss numbers; channel; field; supplement rounds;
 * whether the calendar is needed). It keeps the dossiers the period touches
 * (received in it, ended in it, or still open at its end) and, for the
 * ordinary dossier — a due date and no supplement round — classifies and
 * sums right there: every rule is then an integer comparison, so a
 * province's year is counted without shipping its rows. What SQL cannot do
 * without re-implementing the working-time calendar is left to C, one row
 * per dossier (found through a partial index): no due date (the due date
 * from the receipt and the procedure's time limit, from its overlay or the
 * catalog), supplement rounds (the pause moves the due date by working
 * time; a second request is late; waiting for the citizen is measured at
 * the request) and status 5. Those are a small share in practice, so few
 * rows cross the wire. C then adds both parts per group and computes the
 * rates.
 *
 * Rules, from DOMAIN.md, and the choices its text leaves open:
 * - received: NgayTiepNhan in the period, or NgayNopHoSo for an online
 *   dossier not yet received; a withdrawn dossier only if it had been
 *   received (NgayTiepNhan set). online: the received with KenhThucHien 2.
 * - end of processing: for a dossier at 3, 8, 9 or 10, NgayKetThucXuLy, or
 *   when empty the first history step into a final state, or NgayTuChoi;
 *   for one re-opened since (9 -> 4...), that first history step: the end
 *   is the first of the final states, and is not lost.
 *   resolved: the end in the period; early: on an earlier day than the due
 *   date; on time: not after it; late: after it.
 * - open at the period's end (received by then, not withdrawn, not ended
 *   by then, whenever received): measured at the period's end or now,
 *   whichever is earlier; in progress when not past the due date, overdue
 *   otherwise. Month rows measure at each month's end.
 * - supplement rounds (DanhSachHoSoBoSung): NgayYeuCauBoSung is the
 *   request, NgayTiepNhanBoSung the completion. The due date before the
 *   first round (its NgayHenTraTruoc, else NgayHenTra) moves by the working
 *   time of each completed round; the ward's own NgayHenTraMoi is not
 *   trusted, so a pause is never counted twice. A procedure whose overlay
 *   says supplement_restart instead gets the full duration again from the
 *   latest completion: its time limit (as below) when known, else the
 *   working time from receipt to the due date before the first round.
 * - no due date: a procedure time limit (overlay, else the catalog's
 *   THOIGIANGIAIQUYET/DONVITINH for the dossier's channel) gives a due date
 *   computed from the receipt; within it is on time (never early); without
 *   any limit the dossier is on time / in progress. An overlay's same_day
 *   replaces the limit: due at the receipt day's closing, or the next
 *   working day's when received after 15:00 (lt_calendar_due_same_day).
 * - rates: (early + on time) / resolved and / received, in percent with two
 *   decimals, null when the denominator is 0. The total row is the whole
 *   period: the sum of the rows, except for months, where open dossiers are
 *   measured once at the period's end. */
#include "lt_report.h"
#include "lt_paths.h"
#include "lt_read_query.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ICT_OFFSET (7 * 3600) /* Asia/Ho_Chi_Minh: UTC+7 all year */

enum {
    C_RECEIVED,
    C_ONLINE,
    C_RESOLVED,
    C_EARLY,
    C_ON_TIME,
    C_LATE,
    C_IN_PROGRESS,
    C_OVERDUE,
    C_WITHDRAWN,
    NCOUNTS
};
static const char *const count_names[NCOUNTS] = {"received",    "online",  "resolved",
                                                 "early",       "on_time", "late",
                                                 "in_progress", "overdue", "withdrawn"};

static const char *const group_names[] = {"unit", "field", "procedure", "month"};

const char *lt_report_group_name(lt_report_group g)
{
    return group_names[g];
}

/* ---- parameters (pure) ----------------------------------------------------- */

static bool parse_date(const char *s, int64_t *ret_day)
{
    char buf[15];
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    snprintf(buf, sizeof(buf), "%.4s%.2s%.2s000000", s, s + 5, s + 8);
    int64_t t = lt_calendar_parse(buf);
    if (t < 0)
        return false;
    *ret_day = t / 86400;
    return true;
}

int lt_report_query_parse(const char *const *keys, const char *const *values, size_t n,
                          lt_report_query *ret, char *field, size_t fcap, char *msg, size_t mcap)
{
    static const char *const known[] = {"from", "to", "unit", "group", NULL};
    lt_report_query q = {.group = LT_REPORT_BY_UNIT};
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i], *v = values[i] ? values[i] : "";
        int which = lt_query_key(keys, i, known, field, fcap, msg, mcap);
        if (which < 0)
            return -1;
        int64_t day;
        switch (which) {
        case 0:
        case 1:
            if (!parse_date(v, &day)) {
                snprintf(msg, mcap, "%s: expected a date YYYY-MM-DD", k);
                return -1;
            }
            snprintf(which == 0 ? q.from : q.to, sizeof(q.from), "%s", v);
            break;
        case 2:
            if (!*v || strlen(v) > LT_REPORT_MAX_UNIT) {
                snprintf(msg, mcap, "unit: expected a unit code");
                return -1;
            }
            snprintf(q.unit, sizeof(q.unit), "%s", v);
            break;
        default: {
            size_t g = 0;
            while (g < 4 && strcmp(v, group_names[g]) != 0)
                g++;
            if (g == 4) {
                snprintf(msg, mcap, "group: expected unit, field, procedure or month");
                return -1;
            }
            q.group = (lt_report_group)g;
        }
        }
    }
    int64_t a, b;
    if (!q.from[0] || !q.to[0]) {
        snprintf(field, fcap, "%s", q.from[0] ? "to" : "from");
        snprintf(msg, mcap, "%s: required (a date YYYY-MM-DD)", field);
        return -1;
    }
    if (!parse_date(q.from, &a) || !parse_date(q.to, &b) || b < a) {
        snprintf(field, fcap, "to");
        snprintf(msg, mcap, "to: the period ends before it starts");
        return -1;
    }
    if (b - a >= LT_REPORT_MAX_DAYS) {
        snprintf(field, fcap, "to");
        snprintf(msg, mcap, "to: a report covers at most %d days", LT_REPORT_MAX_DAYS);
        return -1;
    }
    *ret = q;
    return 0;
}

json_t *lt_report_query_json(const lt_report_query *q)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "from", q->from, "to", q->to, "unit", q->unit, "group",
                     group_names[q->group]);
}

int lt_report_query_from_json(const json_t *j, lt_report_query *ret)
{
    const char *from, *to, *unit, *group;
    if (json_unpack((json_t *)j, "{s:s, s:s, s:s, s:s}", "from", &from, "to", &to, "unit", &unit,
                    "group", &group) < 0)
        return -1;
    const char *k[4] = {"from", "to", "group", "unit"};
    const char *v[4] = {from, to, group, unit};
    char field[16], msg[128];
    /* An empty unit means every unit: the parser refuses "" from a caller. */
    return lt_report_query_parse(k, v, *unit ? 4 : 3, ret, field, sizeof(field), msg, sizeof(msg));
}

int64_t lt_report_now_local(void)
{
    return (int64_t)time(NULL) + ICT_OFFSET;
}

/* ---- the statement ------------------------------------------------------- */

/* $1 period start and $2 end (yyyyMMddHHmmss), $3 unit ('' = all), $4
 * group, $5 now, dates as yyyyMMddHHmmss numbers. Result columns: 0 kind
 * ('a' a sum of ordinary dossiers, 'd' one dossier for C, 'n' a key's name
 * for the table), 1 whole period (a) / unused, 2 key, 3 name (n),
 * 4-12 the counts (a); for 'd': 13 channel, 14 received, 15 NgayTiepNhan,
 * 16 status, 17 end, 18 due, 19 supplement rounds (json text), 20 time
 * limit, 21 its unit, 22 a same-day procedure, 23 supplement rounds restart
 * the duration (both from the overlay, 't'/'f'). A last row of kind 'u'
 * says that $3 names no unit. */
const char LT_REPORT_SQL[] =
    "WITH RECURSIVE scope AS ("
    "  SELECT code FROM units WHERE code = $3::text"
    "  UNION SELECT u.code FROM units u JOIN scope s ON u.parent = s.code),"
    " b AS ("
    "  SELECT '' AS bkey, $1::bigint AS lo, $2::bigint AS hi, true AS whole"
    "  WHERE $4::text <> 'month'"
    "  UNION ALL SELECT to_char(m, 'YYYY-MM'),"
    "   greatest($1::bigint, to_char(m, 'YYYYMMDD')::bigint * 1000000),"
    "   least($2::bigint, to_char(m + interval '1 month' - interval '1 day', 'YYYYMMDD')::bigint"
    "    * 1000000 + 235959), false"
    "  FROM generate_series(date_trunc('month', to_date(left($1::text, 8), 'YYYYMMDD')),"
    "   to_date(left($2::text, 8), 'YYYYMMDD'), interval '1 month') m"
    "  WHERE $4::text = 'month'),"
    " d AS ("
    "  SELECT CASE $4::text WHEN 'unit' THEN x.receiving_unit"
    "   WHEN 'procedure' THEN x.procedure_code WHEN 'field' THEN x.rp_field ELSE '' END AS gkey,"
    "   x.procedure_code AS proc, x.status, x.rp_online AS online, x.rp_tiepnhan AS tn,"
    "   x.rp_received AS recvd, x.rp_due AS due, x.rp_end AS fin, x.rp_calendar AS calendar,"
    "   x.rp_channel AS channel, x.rp_supplements AS sup"
    "  FROM dossiers x"
    "  WHERE ($3::text = '' OR x.receiving_unit IN (SELECT code FROM scope))"
    "   AND x.rp_received <= $2::bigint"
    "   AND (x.rp_received >= $1::bigint OR x.rp_end >= $1::bigint"
    "    OR (x.rp_end IS NULL AND x.status NOT IN (1, 3, 7, 8, 9, 10)))),"
    /* Each procedure's time limit per channel (the first THOIGIAN entry),
     * once, for the dossiers without a due date. */
    " lim AS MATERIALIZED ("
    "  SELECT DISTINCT ON (p.code, c.ch->>'KENH') p.code, c.ch->>'KENH' AS kenh,"
    "   t.tm->>'THOIGIANGIAIQUYET' AS amount, t.tm->>'DONVITINH' AS unit"
    "  FROM procedures p,"
    "   jsonb_array_elements(CASE jsonb_typeof(p.record->'CACHTHUCTHUCHIEN') WHEN 'array'"
    "    THEN p.record->'CACHTHUCTHUCHIEN' ELSE '[]' END) WITH ORDINALITY c(ch, ci),"
    "   jsonb_array_elements(CASE jsonb_typeof(c.ch->'THOIGIAN') WHEN 'array'"
    "    THEN c.ch->'THOIGIAN' ELSE '[]' END) WITH ORDINALITY t(tm, ti)"
    "  ORDER BY p.code, c.ch->>'KENH', ti),"
    " lim_any AS (SELECT DISTINCT ON (code) code, amount, unit FROM lim ORDER BY code, kenh)"
    " SELECT 'a', b.whole, CASE WHEN NOT b.whole THEN b.bkey ELSE d.gkey END, NULL,"
    "  count(*) FILTER (WHERE d.recvd BETWEEN b.lo AND b.hi),"
    "  count(*) FILTER (WHERE d.recvd BETWEEN b.lo AND b.hi AND d.online),"
    "  count(*) FILTER (WHERE d.fin BETWEEN b.lo AND b.hi),"
    "  count(*) FILTER (WHERE d.fin BETWEEN b.lo AND b.hi AND d.fin / 1000000 < d.due / 1000000),"
    "  count(*) FILTER (WHERE d.fin BETWEEN b.lo AND b.hi AND d.fin / 1000000 = d.due / 1000000"
    "   AND d.fin <= d.due),"
    "  count(*) FILTER (WHERE d.fin BETWEEN b.lo AND b.hi AND d.fin > d.due),"
    "  count(*) FILTER (WHERE d.recvd <= b.hi AND d.status NOT IN (1, 7)"
    "   AND (d.fin > b.hi OR (d.fin IS NULL AND d.status NOT IN (3, 8, 9, 10)))"
    "   AND least(b.hi, $5::bigint) <= d.due),"
    "  count(*) FILTER (WHERE d.recvd <= b.hi AND d.status NOT IN (1, 7)"
    "   AND (d.fin > b.hi OR (d.fin IS NULL AND d.status NOT IN (3, 8, 9, 10)))"
    "   AND least(b.hi, $5::bigint) > d.due),"
    "  count(*) FILTER (WHERE d.status = 7 AND d.tn BETWEEN b.lo AND b.hi),"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    /* A month row sees only the dossiers that touch it: the join keeps the
     * per-row work near one bucket per dossier instead of one per month. */
    " FROM d JOIN b ON b.whole OR d.recvd BETWEEN b.lo AND b.hi OR d.fin BETWEEN b.lo AND b.hi"
    "  OR (d.recvd <= b.hi AND d.status NOT IN (1, 7)"
    "   AND (d.fin > b.hi OR (d.fin IS NULL AND d.status NOT IN (3, 8, 9, 10))))"
    " WHERE NOT d.calendar"
    " GROUP BY 2, 3"
    " UNION ALL"
    " SELECT 'd', NULL, d.gkey, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    "  CASE WHEN d.online THEN '2' ELSE '' END, d.recvd::text, d.tn::text, d.status, d.fin::text,"
    "  d.due::text, d.sup,"
    "  coalesce(trim_scale(o.time_limit)::text, l1.amount, l2.amount),"
    "  coalesce(o.time_limit_unit, l1.unit, l2.unit),"
    "  coalesce(o.same_day, false), coalesce(o.supplement_restart, false)"
    " FROM d"
    " LEFT JOIN procedure_overlays o ON o.local_code = d.proc"
    /* The limit is needed for a due date to compute, or to restart. */
    " LEFT JOIN lim l1 ON (d.due IS NULL OR o.supplement_restart) AND l1.code = d.proc"
    "  AND l1.kenh = d.channel"
    " LEFT JOIN lim_any l2 ON (d.due IS NULL OR o.supplement_restart) AND l2.code = d.proc"
    " WHERE d.calendar"
    " UNION ALL"
    " SELECT 'n', NULL, code, name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    " FROM (SELECT code, name FROM units WHERE $4::text = 'unit'"
    "  UNION ALL SELECT code, name FROM procedures WHERE $4::text = 'procedure') n"
    " UNION ALL"
    " SELECT 'u', NULL, $3::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    " WHERE $3::text <> '' AND NOT EXISTS (SELECT 1 FROM units WHERE code = $3::text)";

void lt_report_params(const lt_report_query *q, int64_t now_local, lt_report_bufs *bufs,
                      const char *params[LT_REPORT_NPARAMS])
{
    snprintf(bufs->lo, sizeof(bufs->lo), "%.4s%.2s%.2s000000", q->from, q->from + 5, q->from + 8);
    snprintf(bufs->hi, sizeof(bufs->hi), "%.4s%.2s%.2s235959", q->to, q->to + 5, q->to + 8);
    lt_calendar_format(now_local, bufs->now, sizeof(bufs->now));
    snprintf(bufs->group, sizeof(bufs->group), "%s", group_names[q->group]);
    params[0] = bufs->lo;
    params[1] = bufs->hi;
    params[2] = q->unit;
    params[3] = bufs->group;
    params[4] = bufs->now;
}

/* ---- rows by key ----------------------------------------------------------- */

typedef struct {
    char *key;
    int64_t c[NCOUNTS];
} row;

typedef struct {
    row *rows;
    size_t n, cap;
    size_t *slots; /* open addressing over rows: index + 1, 0 = empty */
    size_t nslots;
} rowset;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int rehash(rowset *rs, size_t nslots)
{
    size_t *slots = calloc(nslots, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < rs->n; i++) {
        size_t h = hash_str(rs->rows[i].key) & (nslots - 1);
        while (slots[h])
            h = (h + 1) & (nslots - 1);
        slots[h] = i + 1;
    }
    free(rs->slots);
    rs->slots = slots;
    rs->nslots = nslots;
    return 0;
}

static row *row_get(rowset *rs, const char *key)
{
    if (rs->nslots) {
        size_t h = hash_str(key) & (rs->nslots - 1);
        while (rs->slots[h]) {
            row *r = &rs->rows[rs->slots[h] - 1];
            if (strcmp(r->key, key) == 0)
                return r;
            h = (h + 1) & (rs->nslots - 1);
        }
    }
    if ((rs->n + 1) * 2 > rs->nslots && rehash(rs, rs->nslots ? rs->nslots * 2 : 64) < 0)
        return NULL;
    if (rs->n == rs->cap) {
        size_t nc = rs->cap ? rs->cap * 2 : 32;
        row *nr = realloc(rs->rows, nc * sizeof(*nr));
        if (!nr)
            return NULL;
        rs->rows = nr;
        rs->cap = nc;
    }
    row *r = &rs->rows[rs->n];
    *r = (row){.key = strdup(key)};
    if (!r->key)
        return NULL;
    size_t h = hash_str(key) & (rs->nslots - 1);
    while (rs->slots[h])
        h = (h + 1) & (rs->nslots - 1);
    rs->slots[h] = ++rs->n;
    return r;
}

static void rowset_free(rowset *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->rows[i].key);
    free(rs->rows);
    free(rs->slots);
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const row *)a)->key, ((const row *)b)->key);
}

/* ---- one dossier in C ------------------------------------------------------ */

typedef struct {
    bool online;
    int64_t recvd, tn, fin, due; /* -1 = none */
    int status;
    int requests;       /* supplement requests */
    int64_t waiting_at; /* request of a round not yet completed, -1 = none */
    bool computed_due;  /* due from the procedure's limit (no NgayHenTra) */
} dossier;

static int64_t t_of(const PGresult *r, int i, int col)
{
    return PQgetisnull(r, i, col) ? -1 : lt_calendar_parse(PQgetvalue(r, i, col));
}

static const char *member(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The time limit a detail row carries: none, same day, or an amount. */
typedef struct {
    bool same_day;         /* overlay: same day, next working day after 15:00 */
    bool amount_ok;        /* amount and unit below are a usable limit */
    double amount;         /* THOIGIANGIAIQUYET, or the overlay's */
    lt_calendar_unit unit; /* DONVITINH, or the overlay's */
} limit;

/* The due date of a limit counted from start; -1 when there is no limit. */
static int64_t limit_due(const lt_calendar *cal, const limit *l, int64_t start)
{
    if (l->same_day)
        return lt_calendar_due_same_day(cal, start);
    return l->amount_ok ? lt_calendar_due(cal, start, l->amount, l->unit) : -1;
}

/* Reads a detail row: the due date with its pauses (or restarts), the
 * rounds. Returns 0, or -1 for a value that cannot be read. */
static int read_dossier(const PGresult *r, int i, const lt_calendar *cal, dossier *d)
{
    *d = (dossier){.online = strcmp(PQgetvalue(r, i, 13), "2") == 0,
                   .recvd = t_of(r, i, 14),
                   .tn = t_of(r, i, 15),
                   .status = (int)strtol(PQgetvalue(r, i, 16), NULL, 10),
                   .fin = t_of(r, i, 17),
                   .due = t_of(r, i, 18),
                   .waiting_at = -1};
    if (d->recvd < 0)
        return -1;
    limit lim = {.same_day = strcmp(PQgetvalue(r, i, 22), "t") == 0};
    if (!lim.same_day && !PQgetisnull(r, i, 20) && !PQgetisnull(r, i, 21)) {
        lim.amount = strtod(PQgetvalue(r, i, 20), NULL);
        lim.amount_ok =
            lim.amount > 0 && lt_calendar_unit_parse(PQgetvalue(r, i, 21), &lim.unit) == 0;
    }
    bool restart = strcmp(PQgetvalue(r, i, 23), "t") == 0;
    int64_t start = d->tn >= 0 ? d->tn : d->recvd;
    json_t *rounds = PQgetisnull(r, i, 19) ? NULL : json_loads(PQgetvalue(r, i, 19), 0, NULL);
    if (d->due >= 0 && json_array_size(rounds) > 0) {
        int64_t before = lt_calendar_parse(member(json_array_get(rounds, 0), "NgayHenTraTruoc"));
        if (before >= 0)
            d->due = before;
    }
    if (d->due < 0 && (d->due = limit_due(cal, &lim, start)) >= 0)
        d->computed_due = true;
    int64_t paused_due = d->due, last_done = -1;
    size_t k;
    json_t *round;
    json_array_foreach(rounds, k, round)
    {
        int64_t req = lt_calendar_parse(member(round, "NgayYeuCauBoSung"));
        int64_t done = lt_calendar_parse(member(round, "NgayTiepNhanBoSung"));
        if (req < 0)
            continue;
        d->requests++;
        if (done < 0) {
            d->waiting_at = req;
            continue;
        }
        d->waiting_at = -1;
        if (done > last_done)
            last_done = done;
        if (paused_due >= 0)
            paused_due = lt_calendar_pause(cal, paused_due, req, done);
    }
    if (restart && last_done >= 0 && d->due >= 0) {
        /* The full duration again from the latest completion: the
         * procedure's own limit when known, else the duration the dossier
         * had (receipt to the due date before the first round). */
        int64_t again = limit_due(cal, &lim, last_done);
        d->due = again >= 0 ? again : lt_calendar_restart(cal, start, d->due, last_done);
    } else {
        d->due = paused_due;
    }
    json_decref(rounds);
    return 0;
}

static bool in(int64_t t, int64_t lo, int64_t hi)
{
    return t >= 0 && t >= lo && t <= hi;
}

/* Adds one dossier to counts for the bucket [lo, hi] (open dossiers measured
 * at min(hi, now)). */
static void classify(const dossier *d, int64_t lo, int64_t hi, int64_t now, int64_t *c)
{
    if (in(d->recvd, lo, hi)) {
        c[C_RECEIVED]++;
        if (d->online)
            c[C_ONLINE]++;
    }
    if (d->status == 7) {
        if (in(d->tn, lo, hi))
            c[C_WITHDRAWN]++;
        return;
    }
    /* Ended: at a final status, or re-opened after one (the end is kept,
     * lt_report_end in 0020_report_first_end.sql). */
    bool final =
        d->fin >= 0 || d->status == 3 || d->status == 8 || d->status == 9 || d->status == 10;
    if (final && in(d->fin, lo, hi)) {
        c[C_RESOLVED]++;
        if (d->requests >= 2)
            c[C_LATE]++; /* a second supplement request counts as late */
        else if (d->due < 0)
            c[C_ON_TIME]++; /* no time limit at all */
        else if (d->fin > d->due)
            c[C_LATE]++;
        else if (!d->computed_due && d->fin / 86400 < d->due / 86400)
            c[C_EARLY]++;
        else
            c[C_ON_TIME]++;
        return;
    }
    bool open = d->status != 1 && d->recvd <= hi && (final ? d->fin > hi : true);
    if (!open || (final && d->fin < 0))
        return;
    int64_t at = hi < now ? hi : now;
    if (d->waiting_at >= 0 && d->waiting_at < at)
        at = d->waiting_at; /* waiting for the citizen: measured at the request */
    if (d->requests >= 2 || (d->due >= 0 && at > d->due))
        c[C_OVERDUE]++;
    else
        c[C_IN_PROGRESS]++;
}

/* ---- the answer ------------------------------------------------------------ */

static json_t *rate(int64_t num, int64_t den)
{
    if (den <= 0)
        return json_null();
    return json_real(round(10000.0 * (double)num / (double)den) / 100.0);
}

static json_t *counts_json(const int64_t *c, const char *key)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (key)
        json_object_set_new(o, "key", json_string(key));
    for (int k = 0; k < NCOUNTS; k++)
        json_object_set_new(o, count_names[k], json_integer(c[k]));
    json_object_set_new(o, "rate_of_resolved", rate(c[C_EARLY] + c[C_ON_TIME], c[C_RESOLVED]));
    json_object_set_new(o, "rate_of_received", rate(c[C_EARLY] + c[C_ON_TIME], c[C_RECEIVED]));
    return o;
}

static int64_t t_local(const char *yyyymmdd_hhmmss)
{
    return lt_calendar_parse(yyyymmdd_hhmmss);
}

json_t *lt_report_build(const lt_report_query *q, const PGresult *r, const lt_calendar *cal,
                        int64_t now_local, json_t **ret_labels, char *ret_err, size_t cap)
{
    rowset rs = {0};
    int64_t total[NCOUNTS] = {0};
    bool month = q->group == LT_REPORT_BY_MONTH;
    lt_report_bufs bufs = {0};
    const char *params[LT_REPORT_NPARAMS];
    lt_report_params(q, now_local, &bufs, params);
    int64_t lo = t_local(bufs.lo), hi = t_local(bufs.hi);
    json_t *labels = json_object(), *doc = NULL;
    if (!labels)
        goto fail;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *kind = PQgetvalue(r, i, 0), *key = PQgetvalue(r, i, 2);
        if (kind[0] == 'u')
            continue; /* lt_report_unknown_unit's marker */
        if (kind[0] == 'n') {
            if (ret_labels && !month)
                json_object_set_new(labels, key, json_string(PQgetvalue(r, i, 3)));
            continue;
        }
        if (kind[0] == 'a') {
            row *rw = row_get(&rs, key);
            if (!rw)
                goto fail;
            for (int k = 0; k < NCOUNTS; k++)
                rw->c[k] += strtoll(PQgetvalue(r, i, 4 + k), NULL, 10);
            continue;
        }
        dossier d;
        if (read_dossier(r, i, cal, &d) < 0) {
            snprintf(ret_err, cap, "a stored date of the report could not be read");
            goto fail;
        }
        if (!month) {
            row *rw = row_get(&rs, key);
            if (!rw)
                goto fail;
            classify(&d, lo, hi, now_local, rw->c);
            continue;
        }
        /* Each month of the period that the dossier touches. */
        int y, m, dd;
        lt_calendar_civil(lo / 86400, &y, &m, &dd);
        for (;;) {
            int64_t mlo = lt_calendar_days(y, m, 1) * 86400;
            int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
            int64_t mhi = lt_calendar_days(ny, nm, 1) * 86400 - 1;
            if (mlo > hi)
                break;
            int64_t c[NCOUNTS] = {0};
            classify(&d, mlo < lo ? lo : mlo, mhi > hi ? hi : mhi, now_local, c);
            bool any = false;
            for (int k = 0; k < NCOUNTS; k++)
                any = any || c[k];
            if (any) {
                char label[32];
                snprintf(label, sizeof(label), "%04d-%02d", y, m);
                row *rw = row_get(&rs, label);
                if (!rw)
                    goto fail;
                for (int k = 0; k < NCOUNTS; k++)
                    rw->c[k] += c[k];
            }
            y = ny;
            m = nm;
        }
    }
    /* The total is the whole period. Months partition it, so it is the sum
     * of the rows, except what is open at its end: that is the last month's
     * figure (the same instant), not a sum. */
    char last[8];
    snprintf(last, sizeof(last), "%.7s", q->to);
    for (size_t i = 0; i < rs.n; i++)
        for (int k = 0; k < NCOUNTS; k++)
            if (!month || (k != C_IN_PROGRESS && k != C_OVERDUE) ||
                strcmp(rs.rows[i].key, last) == 0)
                total[k] += rs.rows[i].c[k];
    if (rs.n) /* qsort's array may not be NULL, even for no rows (UBSan) */
        qsort(rs.rows, rs.n, sizeof(*rs.rows), cmp_rows); /* the hash index is stale from here */
    json_t *rows = json_array();
    doc = json_pack("{s:s, s:s, s:s, s:o}", "from", q->from, "to", q->to, "group",
                    group_names[q->group], "rows", rows);
    if (!doc)
        goto fail;
    for (size_t i = 0; i < rs.n; i++) {
        bool any = false;
        for (int k = 0; k < NCOUNTS; k++)
            any = any || rs.rows[i].c[k];
        if (any && json_array_append_new(rows, counts_json(rs.rows[i].c, rs.rows[i].key)) < 0)
            goto fail;
    }
    if (json_object_set_new(doc, "total", counts_json(total, NULL)) < 0)
        goto fail;
    rowset_free(&rs);
    if (ret_labels)
        *ret_labels = labels;
    else
        json_decref(labels);
    return doc;
fail:
    if (!ret_err[0])
        snprintf(ret_err, cap, "out of memory");
    rowset_free(&rs);
    json_decref(labels);
    json_decref(doc);
    return NULL;
}

bool lt_report_unknown_unit(const PGresult *r)
{
    for (int i = PQntuples(r) - 1; i >= 0; i--)
        if (PQgetvalue(r, i, 0)[0] == 'u')
            return true;
    return false;
}

char *lt_report_dumps(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12));
}

lt_calendar *lt_report_calendar(const lt_config *cfg, char *err, size_t cap)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    lt_calendar *cal = lt_calendar_new();
    if (!cal) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (cfg->calendar.holidays[0]) {
        snprintf(path, sizeof(path), "%s", cfg->calendar.holidays);
    } else if (lt_paths_dir(LT_PATH_SCHEMAS, dir, sizeof(dir)) < 0) {
        snprintf(err, cap, "cannot locate the shipped holiday table");
        goto fail;
    } else {
        snprintf(path, sizeof(path), "%s/holidays/vn.json", dir);
    }
    if (lt_calendar_set_hours(cal, cfg->calendar.hours, err, cap) < 0 ||
        lt_calendar_load_file(cal, path, err, cap) < 0)
        goto fail;
    return cal;
fail:
    lt_calendar_destroy(&cal);
    return NULL;
}

json_t *lt_report_run(PGconn *conn, const lt_report_query *q, const lt_calendar *cal,
                      json_t **ret_labels, char *err, size_t cap)
{
    lt_report_bufs bufs = {0};
    const char *params[LT_REPORT_NPARAMS];
    int64_t now = lt_report_now_local();
    lt_report_params(q, now, &bufs, params);
    PGresult *r = PQexecParams(conn, LT_REPORT_SQL, LT_REPORT_NPARAMS, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, cap, "the report query failed: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    if (lt_report_unknown_unit(r)) {
        snprintf(err, cap, "--unit: no unit %s", q->unit);
        PQclear(r);
        return NULL;
    }
    err[0] = '\0';
    json_t *doc = lt_report_build(q, r, cal, now, ret_labels, err, cap);
    PQclear(r);
    return doc;
}
