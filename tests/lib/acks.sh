# shellcheck shell=bash
# "Nothing acknowledged is lost", checked the same way by the integration
# tests and the soak: an lt_push ack log ("MaHoSo sequence" per accepted
# record) against the events stored, and the stored events against what the
# portal simulator received, de-duplicated by Idempotency-Key (lt-<seq>).

# lt_acks_counts URL ACK_LOG: prints "check|count" lines, each count 0 when
# the property holds:
#   missing      acknowledged records not stored exactly once with their sequence;
#   acked_twice  sequences acknowledged more than once;
#   gap          holes in the event sequence;
#   counter      the event counter ahead of or behind the last event.
lt_acks_counts() {
  {
    echo "CREATE TEMP TABLE acks (code text, seq bigint);"
    echo "COPY acks FROM STDIN WITH (FORMAT text, DELIMITER ' ');"
    cat "$2"
    echo '\.'
    cat <<'SQL'
SELECT 'missing', count(*) FROM acks a
  WHERE (SELECT count(*) FROM dossier_events e WHERE e.seq = a.seq AND e.dossier_code = a.code) <> 1;
SELECT 'acked_twice', count(*) FROM (SELECT seq FROM acks GROUP BY seq HAVING count(*) > 1) x;
SELECT 'gap', (SELECT max(seq) FROM dossier_events) - (SELECT count(*) FROM dossier_events);
SELECT 'counter', (SELECT last_seq FROM event_counter) - (SELECT max(seq) FROM dossier_events);
SQL
  } | psql "$1" -qAt -v ON_ERROR_STOP=1
}

# lt_stored_keys URL: "lt-<seq> <MaHoSo>" of every stored dossier event,
# sorted: what the portal must hold once each.
lt_stored_keys() {
  psql "$1" -qAt -v ON_ERROR_STOP=1 \
    -c "SELECT 'lt-' || seq || ' ' || dossier_code FROM dossier_events WHERE kind = 'dossier'" | sort
}

# lt_portal_keys RECORDS_JSON: the same lines from the portal simulator's
# /_records, first deliveries only (a repeat is marked duplicate), sorted.
lt_portal_keys() {
  jq -r '.records[] | select(.service == "DongBoHoSoMC" and .duplicate == false)
    | "\(.idempotency_key) \(.MaHoSo)"' "$1" | sort
}

# lt_acked_keys ACK_LOG: the ack log as "lt-<seq> <MaHoSo>", sorted.
lt_acked_keys() {
  sed 's/^\([^ ]*\) \(.*\)$/lt-\2 \1/' "$1" | sort
}
