-- 0001_init.sql: lienthong's first schema (PostgreSQL 15).
--
-- Applied inside one transaction by `lienthong migrate` (and at start-up),
-- which records it in schema_migrations (created by the migrator, not here).
-- Released migrations are never edited: later changes are new files
-- (0002_..., 0003_...). Hence no BEGIN/COMMIT and nothing that cannot run in
-- a transaction (no CREATE INDEX CONCURRENTLY).
--
-- Conventions:
--   * times are timestamptz; calendar days (holidays, alias validity) are date;
--   * hashes are raw SHA-256 bytes (bytea, 32 bytes), never hex text;
--   * value sets that DOMAIN.md fixes are CHECK constraints; value sets that
--     are configuration (dialects, code systems) are free text;
--   * updated_at is set by the application, not by triggers.

-- ---------------------------------------------------------------------------
-- Administrative units and agencies
-- ---------------------------------------------------------------------------

CREATE TABLE units (
    code        text PRIMARY KEY,
    code_system text NOT NULL DEFAULT 'gso',
    name        text NOT NULL,
    level       smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    parent      text REFERENCES units (code) ON UPDATE CASCADE ON DELETE RESTRICT,
    agency_id   text,
    url         text,
    dialect     text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent IS NULL OR parent <> code),
    CHECK (code <> ''),
    CHECK (agency_id IS NULL OR agency_id <> '')
);
COMMENT ON TABLE units IS
    'Administrative units and agencies (ministry, province, district, commune) as a tree; '
    'loaded by `lienthong units import`, re-imports update in place. Routing, unit scope of '
    'tokens and the competent unit of a dossier are all read from here.';
COMMENT ON COLUMN units.code IS
    'The unit''s code in code_system (GSO codes are zero-padded strings: 01, 001, 00001).';
COMMENT ON COLUMN units.code_system IS
    'Which code list `code` belongs to (gso, gso-2025, a sector system...): codes from '
    'different systems can look alike, so the system is always stored.';
COMMENT ON COLUMN units.level IS
    '0 ministry, 1 province, 2 district, 3 commune: the catalog''s CAPTHUCHIEN numbering, so a '
    'procedure''s level compares directly with a unit''s.';
COMMENT ON COLUMN units.parent IS
    'Parent unit; NULL at the root. With the 2-tier model (since 2025-07-01) communes hang '
    'directly under a province.';
COMMENT ON COLUMN units.agency_id IS
    'Agency id (mã định danh, LLL.KK.MM.Xnn) that prefixes the dossier codes this unit issues; '
    'unique when present. Old ids live in unit_aliases.';
COMMENT ON COLUMN units.url IS
    'Base URL of the unit''s own system (callback or gateway); NULL = none configured, and the '
    'liên thông leg to it stays unrouted until one is.';
COMMENT ON COLUMN units.dialect IS
    'Mapping (adapters/) used to talk to the unit''s system; NULL = our own contract.';

-- Unique where present; a plain UNIQUE constraint would also do, but the
-- partial index says "NULL means no agency id" explicitly.
CREATE UNIQUE INDEX units_agency_id_key ON units (agency_id) WHERE agency_id IS NOT NULL;
CREATE INDEX units_parent_idx ON units (parent);

CREATE TABLE unit_aliases (
    id         bigserial PRIMARY KEY,
    unit_code  text NOT NULL REFERENCES units (code) ON UPDATE CASCADE ON DELETE CASCADE,
    code       text,
    agency_id  text,
    valid_from date,
    valid_to   date,
    -- An alias is either an old unit code or an old agency id, never both.
    CHECK (num_nonnulls(code, agency_id) = 1),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE unit_aliases IS
    'Former codes and agency ids of a unit (mergers, the 2025 reorganisation, QĐ 19/2025): '
    'dossiers issued under an old agency id still belong to the unit that inherited it.';
COMMENT ON COLUMN unit_aliases.valid_from IS 'First day the alias was valid (inclusive); NULL = since always.';
COMMENT ON COLUMN unit_aliases.valid_to IS 'Last day the alias was valid (inclusive); NULL = still valid.';

CREATE INDEX unit_aliases_unit_idx ON unit_aliases (unit_code);
CREATE INDEX unit_aliases_agency_idx ON unit_aliases (agency_id) WHERE agency_id IS NOT NULL;
CREATE INDEX unit_aliases_code_idx ON unit_aliases (code) WHERE code IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Procedure catalog
-- ---------------------------------------------------------------------------

CREATE TABLE catalog_sync_runs (
    id              bigserial PRIMARY KEY,
    source          text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    outcome         text NOT NULL DEFAULT 'running'
                    CHECK (outcome IN ('running', 'ok', 'failed', 'partial')),
    added           integer NOT NULL DEFAULT 0 CHECK (added >= 0),
    changed         integer NOT NULL DEFAULT 0 CHECK (changed >= 0),
    abolished       integer NOT NULL DEFAULT 0 CHECK (abolished >= 0),
    unchanged       integer NOT NULL DEFAULT 0 CHECK (unchanged >= 0),
    error           text,
    error_position  text,
    CHECK ((outcome = 'running') = (finished_at IS NULL))
);
COMMENT ON TABLE catalog_sync_runs IS
    'One row per catalog sync (file import or national API): what came, what changed, how it '
    'ended. Shown by `lienthong status` and GET /v1/status.';
COMMENT ON COLUMN catalog_sync_runs.source IS
    'Where the records came from: "file:<path>" or the catalog URL.';
COMMENT ON COLUMN catalog_sync_runs.outcome IS
    'running while in progress; ok; failed (nothing applied); partial (some detail calls failed: '
    'what came was applied, nothing soft-abolished because the list was incomplete).';
COMMENT ON COLUMN catalog_sync_runs.error_position IS
    'Where in the input the error was found (e.g. "[17].CAPTHUCHIEN[0]" or a byte offset), so an '
    'operator can fix the export file.';

CREATE TABLE catalog_versions (
    version     bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sync_run_id bigint REFERENCES catalog_sync_runs (id) ON DELETE SET NULL
);
COMMENT ON TABLE catalog_versions IS
    'Monotonic catalog versions: a sync that changes anything creates one, and every procedure '
    'row it touches carries it, so GET /v1/catalog?since=V is "catalog_version > V". Gaps after '
    'a rolled-back sync are harmless (versions are only compared, never counted).';

CREATE TABLE procedures (
    code            text PRIMARY KEY,
    base_code       text NOT NULL,
    name            text NOT NULL,
    levels          smallint[] NOT NULL DEFAULT '{}'
                    CHECK (levels <@ ARRAY[0, 1, 2, 3]::smallint[]),
    status          text NOT NULL,
    abolished_at    timestamptz,
    published       boolean GENERATED ALWAYS AS (status = '1' AND abolished_at IS NULL) STORED,
    content_hash    bytea NOT NULL CHECK (octet_length(content_hash) = 32),
    record          jsonb NOT NULL,
    catalog_version bigint NOT NULL REFERENCES catalog_versions (version),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE procedures IS
    'Current state of each procedure of the national catalog (CSDLQG TTHC). Never deleted: a '
    'procedure missing from a full national list is soft-abolished (abolished_at).';
COMMENT ON COLUMN procedures.code IS
    'MATTHC as published: the national form (2.000908) or a province''s variant '
    '(1.003560.000.00.00.H56, 2.002621.H56).';
COMMENT ON COLUMN procedures.base_code IS
    'National base form (d.dddddd) of code; equal to code for national procedures. A dossier '
    'whose MaTTHC is a base code is valid when some published procedure has that base.';
COMMENT ON COLUMN procedures.levels IS
    'Implementing levels from CAPTHUCHIEN[] (0 ministry, 1 province, 2 district, 3 commune); '
    'drives the competent unit and the liên thông route.';
COMMENT ON COLUMN procedures.status IS
    'TRANGTHAI as the catalog gives it ("1" = published; any other value = not published).';
COMMENT ON COLUMN procedures.published IS
    'Derived: published and not abolished. Dossiers for an unpublished procedure are rejected.';
COMMENT ON COLUMN procedures.content_hash IS
    'SHA-256 of the normalized record; a sync compares it to tell changed from unchanged.';
COMMENT ON COLUMN procedures.record IS
    'The whole normalized procedure record (detail-call shape; unknown keys kept).';
COMMENT ON COLUMN procedures.catalog_version IS
    'Catalog version of the last change to this row (added, changed or abolished).';

CREATE INDEX procedures_base_code_idx ON procedures (base_code);
CREATE INDEX procedures_version_idx ON procedures (catalog_version, code);

CREATE TABLE procedure_history (
    code                 text NOT NULL REFERENCES procedures (code) ON UPDATE CASCADE,
    catalog_version      bigint NOT NULL REFERENCES catalog_versions (version),
    superseded_in        bigint NOT NULL REFERENCES catalog_versions (version),
    base_code            text NOT NULL,
    name                 text NOT NULL,
    levels               smallint[] NOT NULL,
    status               text NOT NULL,
    abolished_at         timestamptz,
    content_hash         bytea NOT NULL CHECK (octet_length(content_hash) = 32),
    record               jsonb NOT NULL,
    archived_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, catalog_version),
    CHECK (superseded_in > catalog_version)
);
COMMENT ON TABLE procedure_history IS
    'Previous versions of procedures: the row a sync replaced, copied here before the update, '
    'so a dossier can be judged later against the rules (time limit, fees) in force when it was '
    'received, and `catalog diff` can show what changed.';
COMMENT ON COLUMN procedure_history.catalog_version IS
    'Version in which this content became current.';
COMMENT ON COLUMN procedure_history.superseded_in IS
    'Version that replaced it; the content was current in [catalog_version, superseded_in).';

CREATE TABLE procedure_overlays (
    local_code      text PRIMARY KEY,
    base_code       text NOT NULL,
    unit_code       text REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    time_limit      numeric(8, 2) CHECK (time_limit > 0),
    time_limit_unit text CHECK (time_limit_unit IN ('working_day', 'day', 'hour')),
    fees            jsonb,
    note            text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((time_limit IS NULL) = (time_limit_unit IS NULL)),
    CHECK (fees IS NULL OR jsonb_typeof(fees) = 'array')
);
COMMENT ON TABLE procedure_overlays IS
    'A province''s local variant of a national procedure (shorter time limit, local fees) kept '
    'apart from procedures so that catalog re-syncs never overwrite it. Deliberately no foreign '
    'key to procedures: an overlay may be entered before the catalog brings its procedure, and '
    'outlives an abolition.';
COMMENT ON COLUMN procedure_overlays.local_code IS 'The local procedure code the overlay applies to.';
COMMENT ON COLUMN procedure_overlays.base_code IS 'National base code (d.dddddd) it derives from.';
COMMENT ON COLUMN procedure_overlays.unit_code IS 'Province (or unit) that decided the variant; NULL = the whole deployment.';
COMMENT ON COLUMN procedure_overlays.time_limit IS
    'Local time limit, replacing THOIGIANGIAIQUYET for every channel when shorter; NULL = keep the catalog''s.';
COMMENT ON COLUMN procedure_overlays.time_limit_unit IS
    'working_day ("Ngày làm việc"), day ("Ngày") or hour ("Giờ").';
COMMENT ON COLUMN procedure_overlays.fees IS
    'Local fees, a JSON array in the catalog''s PHILEPHI shape (MAPHILEPHI, SOTIEN...); NULL = the catalog''s.';

CREATE INDEX procedure_overlays_base_idx ON procedure_overlays (base_code);

-- ---------------------------------------------------------------------------
-- Gateway processes sharing this database
-- ---------------------------------------------------------------------------

CREATE TABLE gateway_instances (
    id           bigserial PRIMARY KEY,
    hostname     text NOT NULL,
    pid          integer NOT NULL CHECK (pid > 0),
    version      text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE gateway_instances IS
    'Gateway processes running against this database (several may share one). Each refreshes '
    'heartbeat_at; deliveries claimed by an instance whose heartbeat is stale are taken back.';

CREATE INDEX gateway_instances_heartbeat_idx ON gateway_instances (heartbeat_at);

-- ---------------------------------------------------------------------------
-- The global event sequence and hash chain
-- ---------------------------------------------------------------------------

CREATE TABLE event_counter (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq   bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_hash  bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex')
               CHECK (octet_length(last_hash) = 32),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE event_counter IS
    'The one global, gap-free sequence of stored events (dossier and catalog), and the head of '
    'their hash chain. Exactly one row. A writer takes N numbers with '
    '"UPDATE event_counter SET last_seq = last_seq + N, last_hash = ... RETURNING ..." inside the '
    'transaction that inserts the events: a rollback returns the numbers, and the row lock '
    'orders writers (several gateways included). A SEQUENCE cannot be used: it leaves gaps on '
    'rollback, and subscribers treat a gap as lost events.';
COMMENT ON COLUMN event_counter.id IS 'Always true: the constraint that keeps the table to one row.';
COMMENT ON COLUMN event_counter.last_seq IS 'Sequence of the last stored event; 0 before the first.';
COMMENT ON COLUMN event_counter.last_hash IS
    'Hash of the event last_seq (the next event''s prev_hash); 32 zero bytes before the first event.';

INSERT INTO event_counter (id) VALUES (true);

-- ---------------------------------------------------------------------------
-- Stored events (dossier and catalog), partitioned by month
-- ---------------------------------------------------------------------------

CREATE TABLE dossier_events (
    seq            bigint NOT NULL CHECK (seq > 0),
    kind           text NOT NULL CHECK (kind IN ('dossier', 'catalog')),
    topic          text NOT NULL,
    dossier_code   text,
    procedure_code text,
    unit_code      text,
    status         smallint CHECK (status BETWEEN 1 AND 10),
    record         jsonb NOT NULL,
    hash           bytea NOT NULL CHECK (octet_length(hash) = 32),
    prev_hash      bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- seq first: the primary key's index also serves "WHERE seq > $since
    -- ORDER BY seq" (replay, GET /v1/events) and lookups by seq. created_at
    -- is there only because a partitioned table's unique constraints must
    -- contain the partition key; seq alone is unique by event_counter.
    PRIMARY KEY (seq, created_at),
    CHECK (kind <> 'dossier' OR (dossier_code IS NOT NULL AND status IS NOT NULL)),
    CHECK (kind <> 'catalog' OR (procedure_code IS NOT NULL AND dossier_code IS NULL))
) PARTITION BY RANGE (created_at);
COMMENT ON TABLE dossier_events IS
    'Append-only log of stored events, both kinds (dossier changes and catalog changes), in the '
    'one global sequence, each hash-chained to the previous for tamper evidence '
    '(`lienthong verify`). Replay and GET /v1/events read it. Partitioned by month (months of '
    'Asia/Ho_Chi_Minh) so years of history stay fast and old months can be archived whole; see '
    'lt_ensure_event_partitions.';
COMMENT ON COLUMN dossier_events.seq IS 'Global gap-free sequence number, taken from event_counter.';
COMMENT ON COLUMN dossier_events.kind IS 'dossier: an accepted dossier change; catalog: a procedure added, changed or abolished.';
COMMENT ON COLUMN dossier_events.topic IS
    'PUB topic: dossier.<unit code>.<status> or catalog.<procedure code>; replay filters by its prefix.';
COMMENT ON COLUMN dossier_events.dossier_code IS 'MaHoSo for dossier events; NULL for catalog events.';
COMMENT ON COLUMN dossier_events.procedure_code IS 'MaTTHC of the dossier, or the procedure a catalog event is about.';
COMMENT ON COLUMN dossier_events.unit_code IS
    'Receiving unit of the dossier when the event was stored, so unit-scoped replay needs no join.';
COMMENT ON COLUMN dossier_events.status IS 'TrangThaiHoSo after the change (1..10); NULL for catalog events.';
COMMENT ON COLUMN dossier_events.record IS
    'The whole record as of this event (canonical dossier record, or the procedure record).';
COMMENT ON COLUMN dossier_events.hash IS
    'SHA-256 over prev_hash and the event''s content (seq, kind, topic, record), in sequence '
    'order; the exact byte layout is the writer''s and `lienthong verify`''s, defined in one place.';
COMMENT ON COLUMN dossier_events.prev_hash IS
    'hash of event seq-1 (32 zero bytes for seq 1): the chain link that verify checks.';
COMMENT ON COLUMN dossier_events.created_at IS
    'Time of the writing transaction (its now()); the partition key. Not monotonic in seq '
    'across concurrent writers: order by seq, never by created_at.';

CREATE INDEX dossier_events_dossier_idx ON dossier_events (dossier_code, seq)
    WHERE dossier_code IS NOT NULL;
-- Catalog events are rare among dossier events: a ward replaying "catalog."
-- should not walk every dossier event to find them.
CREATE INDEX dossier_events_catalog_idx ON dossier_events (seq) WHERE kind = 'catalog';

-- Rows that fall outside every monthly partition (a clock far off, or a
-- gateway that ran past the last prepared month) land here instead of failing
-- the write; lt_ensure_event_partitions moves them out when it creates their
-- month.
CREATE TABLE dossier_events_default PARTITION OF dossier_events DEFAULT;
COMMENT ON TABLE dossier_events_default IS
    'Catch-all partition of dossier_events; normally empty (lt_ensure_event_partitions empties it).';

-- Append-only: updates and deletes are refused. The only legitimate delete is
-- the move out of the default partition, which sets lienthong.event_maintenance
-- for its own transaction. (Dropping or detaching a whole old month is DDL and
-- stays possible for archival.)
CREATE FUNCTION lt_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('lienthong.event_maintenance', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'dossier_events is append-only (% of seq %)', TG_OP, OLD.seq
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
COMMENT ON FUNCTION lt_events_append_only() IS
    'Refuses UPDATE and DELETE on stored events: the hash chain is evidence, not a cache.';

CREATE TRIGGER dossier_events_append_only
    BEFORE UPDATE OR DELETE ON dossier_events
    FOR EACH ROW EXECUTE FUNCTION lt_events_append_only();

-- Creates the monthly partitions of dossier_events from the current month
-- (Asia/Ho_Chi_Minh) to months_ahead months after it. Idempotent: existing
-- partitions are left alone. Rows already in the default partition for a month
-- being created are moved into it (in this transaction), since PostgreSQL
-- refuses to create a partition whose rows sit in the default one. Returns
-- the number of partitions created. Called at migration, and by the gateway
-- at start-up and daily.
CREATE FUNCTION lt_ensure_event_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    tz        constant text := 'Asia/Ho_Chi_Minh';
    first     date := date_trunc('month', now() AT TIME ZONE tz)::date;
    month     date;
    lo        timestamptz;
    hi        timestamptz;
    part      text;
    created   integer := 0;
    moved     bigint;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'lt_ensure_event_partitions: months_ahead must be 0..120, got %', months_ahead;
    END IF;
    -- Serialise concurrent callers (several gateways starting at once).
    PERFORM pg_advisory_xact_lock(hashtext('lt_ensure_event_partitions'));

    FOR i IN 0 .. months_ahead LOOP
        month := (first + make_interval(months => i))::date;
        part  := format('dossier_events_%s', to_char(month, 'YYYY_MM'));
        IF to_regclass(format('%I.%I', current_schema(), part)) IS NOT NULL THEN
            CONTINUE;
        END IF;
        lo := month::timestamp AT TIME ZONE tz;
        hi := (month + interval '1 month')::timestamp AT TIME ZONE tz;

        PERFORM 1 FROM dossier_events_default WHERE created_at >= lo AND created_at < hi LIMIT 1;
        IF FOUND THEN
            CREATE TEMP TABLE lt_moved_events (LIKE dossier_events) ON COMMIT DROP;
            PERFORM set_config('lienthong.event_maintenance', 'on', true);
            WITH d AS (
                DELETE FROM dossier_events_default
                 WHERE created_at >= lo AND created_at < hi
                RETURNING *
            )
            INSERT INTO lt_moved_events SELECT * FROM d;
            GET DIAGNOSTICS moved = ROW_COUNT;
            PERFORM set_config('lienthong.event_maintenance', 'off', true);
            EXECUTE format('CREATE TABLE %I PARTITION OF dossier_events FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
            INSERT INTO dossier_events SELECT * FROM lt_moved_events;
            DROP TABLE lt_moved_events;
            RAISE NOTICE 'lt_ensure_event_partitions: moved % events from the default partition into %',
                moved, part;
        ELSE
            EXECUTE format('CREATE TABLE %I PARTITION OF dossier_events FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        END IF;
        EXECUTE format('COMMENT ON TABLE %I IS %L', part,
                       format('dossier_events of %s (Asia/Ho_Chi_Minh)', to_char(month, 'YYYY-MM')));
        created := created + 1;
    END LOOP;
    RETURN created;
END;
$$;
COMMENT ON FUNCTION lt_ensure_event_partitions(integer) IS
    'Creates monthly partitions of dossier_events for the current month and months_ahead more '
    '(idempotent; moves matching rows out of the default partition). Returns how many it created.';

SELECT lt_ensure_event_partitions(1);

-- ---------------------------------------------------------------------------
-- Dossiers: current state
-- ---------------------------------------------------------------------------

CREATE TABLE dossiers (
    code            text PRIMARY KEY,
    record          jsonb NOT NULL,
    status          smallint NOT NULL CHECK (status BETWEEN 1 AND 10),
    procedure_code  text NOT NULL,
    receiving_unit  text NOT NULL REFERENCES units (code) ON UPDATE CASCADE,
    competent_unit  text REFERENCES units (code) ON UPDATE CASCADE,
    processing_unit text,
    recency_at      timestamptz,
    history_len     integer NOT NULL DEFAULT 0 CHECK (history_len >= 0),
    content_hash    bytea NOT NULL CHECK (octet_length(content_hash) = 32),
    last_seq        bigint NOT NULL CHECK (last_seq > 0),
    first_seen      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dossiers IS
    'Current state of each dossier (hồ sơ): the last accepted whole record. Ingest judges every '
    'pushed record against this row only (same content = duplicate, older = stale, newer = meets '
    'the status machine). Written only by the writer, in the same transaction as its event and '
    'outbox rows.';
COMMENT ON COLUMN dossiers.code IS 'MaHoSo; its agency-id prefix names the issuing unit.';
COMMENT ON COLUMN dossiers.record IS 'Canonical dossier record (national field names, unknown fields kept).';
COMMENT ON COLUMN dossiers.status IS 'TrangThaiHoSo of the record (1..10), kept as a column for filters and the status machine.';
COMMENT ON COLUMN dossiers.procedure_code IS
    'MaTTHC as the record gives it (local or base form). No foreign key: the catalog may abolish '
    'or recode a procedure while its dossiers live on.';
COMMENT ON COLUMN dossiers.receiving_unit IS
    'Unit that received the dossier: the sender''s unit when it first arrived. Scopes ward tokens and reconciliation.';
COMMENT ON COLUMN dossiers.competent_unit IS
    'Unit competent to decide, from the procedure''s level and the unit tree; NULL when it could not be resolved. Target of the liên thông leg.';
COMMENT ON COLUMN dossiers.processing_unit IS 'DonViXuLy as the record gives it: free text, never validated.';
COMMENT ON COLUMN dossiers.recency_at IS
    'Recency key, part 1: latest time among QuaTrinhXuLy[].ThoiDiemXuLy and the status dates '
    '(NgayTiepNhan, NgayKetThucXuLy, NgayTra, NgayTuChoi); NULL when the record has none.';
COMMENT ON COLUMN dossiers.history_len IS 'Recency key, part 2: number of QuaTrinhXuLy entries (breaks ties of recency_at).';
COMMENT ON COLUMN dossiers.content_hash IS 'SHA-256 of the canonical record: equal hash = duplicate.';
COMMENT ON COLUMN dossiers.last_seq IS
    'Sequence of the event that stored this state (reported for duplicate/stale results; the '
    '"since" cursor of reconciliation). Not a foreign key: dossier_events is partitioned.';
COMMENT ON COLUMN dossiers.first_seen IS 'When the gateway first accepted this dossier.';

-- Reconciliation: "the unit's dossiers changed since SEQ", paged by last_seq.
CREATE INDEX dossiers_receiving_seq_idx ON dossiers (receiving_unit, last_seq);
-- The same for a parent office reading the dossiers transferred to it.
CREATE INDEX dossiers_competent_seq_idx ON dossiers (competent_unit, last_seq)
    WHERE competent_unit IS NOT NULL;
-- Operators and readers reconcile across all units.
CREATE INDEX dossiers_last_seq_idx ON dossiers (last_seq);

-- ---------------------------------------------------------------------------
-- Delivery: destinations and the outbox
-- ---------------------------------------------------------------------------

CREATE TABLE destinations (
    name       text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('portal', 'parent', 'ward')),
    url        text,
    dialect    text,
    unit_code  text REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    cursor_seq bigint NOT NULL DEFAULT 0 CHECK (cursor_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE destinations IS
    'Where events are delivered: the provincial portal, parent units (district office, federated '
    'gateway) and ward systems (results back down). Filled from configuration and units.';
COMMENT ON COLUMN destinations.kind IS 'portal: national dossier-sync protocol; parent: our own POST /v1/dossiers; ward: the ward''s callback.';
COMMENT ON COLUMN destinations.url IS
    'Base URL; NULL = not configured yet: its outbox rows wait and are counted as unrouted in status.';
COMMENT ON COLUMN destinations.dialect IS 'Mapping used for this destination; NULL = the kind''s default.';
COMMENT ON COLUMN destinations.unit_code IS 'Unit whose system this is (parent and ward kinds); NULL for the portal.';
COMMENT ON COLUMN destinations.cursor_seq IS
    'Highest event sequence fully handed to this destination: lets delivery run as a cursor over '
    'dossier_events with outbox rows only for exceptions, should measurement favour that.';

CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    event_seq       bigint NOT NULL CHECK (event_seq > 0),
    destination     text NOT NULL REFERENCES destinations (name) ON UPDATE CASCADE,
    dossier_code    text,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'inflight', 'retrying', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    last_status     integer,
    idempotency_key text NOT NULL,
    claimed_by      bigint REFERENCES gateway_instances (id) ON DELETE SET NULL,
    claimed_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (event_seq, destination),
    CHECK ((state = 'delivered') = (delivered_at IS NOT NULL)),
    CHECK (state <> 'inflight' OR claimed_at IS NOT NULL)
);
COMMENT ON TABLE outbox IS
    'One row per stored event per destination, written in the event''s transaction (transactional '
    'outbox) and worked by the delivery threads of every gateway, which claim due rows with '
    'FOR UPDATE SKIP LOCKED. Retries back off; rows still failing after the retry horizon, or '
    'refused outright, become dead letters (GET /v1/deadletters, replayable).';
COMMENT ON COLUMN outbox.event_seq IS 'dossier_events.seq of the event to deliver (no foreign key: the events table is partitioned).';
COMMENT ON COLUMN outbox.dossier_code IS
    'Dossier of the event (NULL for catalog events): deliveries of one dossier to one destination '
    'leave in sequence order, and several pending ones may be coalesced into the newest.';
COMMENT ON COLUMN outbox.state IS
    'pending (new, due at next_attempt_at) → inflight (claimed) → delivered; or retrying (408, 429, '
    '5xx, transport error; due at next_attempt_at) or dead (rejected, or retries exhausted). A '
    'row coalesced into a newer delivery of the same dossier is marked delivered with it.';
COMMENT ON COLUMN outbox.last_error IS 'Last failure as an operator reads it (transport error or the answer kept).';
COMMENT ON COLUMN outbox.last_status IS 'HTTP status of the last attempt; NULL when no answer came.';
COMMENT ON COLUMN outbox.idempotency_key IS
    'Sent as Idempotency-Key; fixed at the first attempt so that a retry of the same batch repeats it.';
COMMENT ON COLUMN outbox.claimed_by IS
    'Gateway instance holding the row while inflight; its stale heartbeat returns the row to retrying.';

-- The claim query: due rows in order, SKIP LOCKED. Only the two claimable
-- states are indexed, so the index stays small however much is delivered.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at)
    WHERE state IN ('pending', 'retrying');
-- Per-dossier ordering and coalescing among rows not yet delivered.
CREATE INDEX outbox_open_dossier_idx ON outbox (destination, dossier_code, event_seq)
    WHERE state IN ('pending', 'inflight', 'retrying');
-- Dead letters by destination, newest first (GET /v1/deadletters, status).
CREATE INDEX outbox_dead_idx ON outbox (destination, updated_at) WHERE state = 'dead';
-- Rows of a crashed instance.
CREATE INDEX outbox_inflight_idx ON outbox (claimed_by) WHERE state = 'inflight';

-- ---------------------------------------------------------------------------
-- Refused input
-- ---------------------------------------------------------------------------

CREATE TABLE rejects (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    sender_unit     text REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    channel         text NOT NULL CHECK (channel IN ('http', 'zmq')),
    dialect         text,
    dossier_code    text,
    payload         bytea NOT NULL,
    reason          jsonb NOT NULL,
    resubmitted_at  timestamptz,
    resubmit_result jsonb,
    CHECK (resubmit_result IS NULL OR resubmitted_at IS NOT NULL)
);
COMMENT ON TABLE rejects IS
    'What was refused at the door, kept so an operator can see why and resubmit after a fix '
    '(GET /v1/rejects, `lienthong rejects`). Holds personal data: readable by operators only.';
COMMENT ON COLUMN rejects.sender_unit IS 'Unit of the sender''s token; NULL without authentication.';
COMMENT ON COLUMN rejects.dialect IS 'Dialect the payload was decoded with; NULL = canonical.';
COMMENT ON COLUMN rejects.dossier_code IS 'MaHoSo when it could be read from the payload, for searching.';
COMMENT ON COLUMN rejects.payload IS
    'The bytes as received, not re-encoded: bytea, because invalid UTF-8 is itself a reason to refuse.';
COMMENT ON COLUMN rejects.reason IS 'The result(s) or error document the sender was answered with.';
COMMENT ON COLUMN rejects.resubmit_result IS 'The {"results": [...]} of the last resubmission.';

CREATE INDEX rejects_received_idx ON rejects (received_at);
CREATE INDEX rejects_sender_idx ON rejects (sender_unit, received_at);
CREATE INDEX rejects_dossier_idx ON rejects (dossier_code) WHERE dossier_code IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Credentials
-- ---------------------------------------------------------------------------

CREATE TABLE credentials (
    id           bigserial PRIMARY KEY,
    unit_code    text REFERENCES units (code) ON UPDATE CASCADE,
    role         text NOT NULL CHECK (role IN ('ward', 'parent', 'operator', 'reader')),
    token_hash   text NOT NULL,
    token_prefix text NOT NULL CHECK (token_prefix <> ''),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz,
    -- Unit-scoped roles need their unit; operators and readers see everything.
    CHECK (unit_code IS NOT NULL OR role IN ('operator', 'reader'))
);
COMMENT ON TABLE credentials IS
    'Bearer tokens (`lienthong token create`). The token itself is never stored, only its hash; '
    'revoked tokens stay for the audit trail. Read by running gateways on each lookup, so a '
    'change takes effect at once.';
COMMENT ON COLUMN credentials.role IS
    'ward: writes its own unit''s dossiers; parent: its subtree and transfers; operator: all, '
    'plus rejects and dead letters; reader: all, personal data masked.';
COMMENT ON COLUMN credentials.token_hash IS
    'libsodium crypto_pwhash_str string (or a salted SHA-256 in a self-describing text form).';
COMMENT ON COLUMN credentials.token_prefix IS
    'First characters of the token, stored in clear to find the candidate row(s) before the '
    'costly hash check. Not unique: a collision only means two hash checks.';

CREATE INDEX credentials_prefix_idx ON credentials (token_prefix) WHERE revoked_at IS NULL;
CREATE INDEX credentials_unit_idx ON credentials (unit_code);

-- ---------------------------------------------------------------------------
-- Working calendar
-- ---------------------------------------------------------------------------

CREATE TABLE holidays (
    day  date PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('off', 'workday')),
    name text,
    -- A compensatory working day is a weekend day that is worked; a weekday
    -- is a working day anyway.
    CHECK (kind <> 'workday' OR extract(isodow FROM day) IN (6, 7))
);
COMMENT ON TABLE holidays IS
    'Exceptions to the Monday–Friday working week used for due dates and on-time figures: days '
    'off (Tết, national holidays, bridges) and compensatory working days.';
COMMENT ON COLUMN holidays.kind IS 'off: not a working day; workday: a Saturday or Sunday worked in compensation.';
