#!/usr/bin/env bash
# `lienthong verify`: two gateways on one database take pushes at the same
# time (group commit in both, catalog events between), and the chain they
# wrote verifies. Then the log is tampered with directly in PostgreSQL, as
# someone with database access would (triggers off): an edited record, a
# deleted event, two events swapped, an event inserted beyond the head, and
# the last event deleted. Each time verify exits 1 and names the first
# broken link and the kind of damage; once repaired it exits 0 again.
source "$(dirname "$0")/lib.sh"

PUSH=${LT_PUSH:?LT_PUSH must name the lt_push tool}
lt_pg_start pg
lt_ingest_fixture
q() { lt_psql "$LT_PG_URL" "$1"; }
lt="$LIENTHONG_BIN"

# ---- usage --------------------------------------------------------------------
for args in "--from 0" "--from x" "--frob" "extra"; do
  rc=0
  # shellcheck disable=SC2086
  LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent" "$lt" verify $args \
    >/dev/null 2>"$LT_TMP/usage.err" || rc=$?
  lt_assert_eq 2 "$rc" "usage error for: verify $args"
done
help=$("$lt" verify --help) || lt_fail "verify --help"
for word in edited missing duplicate relinked head "--from" "Exit status"; do
  lt_assert_contains "$help" "$word" "--help mentions $word"
done

# ---- a chain written by two gateways at once ------------------------------------
lt_gw_start a
lt_gw_start b
lt_wait 30 status_is a /readyz 200 || lt_fail "gateway a not ready"
lt_wait 30 status_is b /readyz 200 || lt_fail "gateway b not ready"
pids=()
run=0
for gw in a b; do
  run=$((run + 1))
  "$PUSH" --http "$(lt_url "$gw" "")" --token "$LT_PARENT_TOKEN" --unit-agency 000.00.06.H56 \
    --procedure 2.000908 --procedure 1.001193 --senders 4 --batch 10 --updates 30 \
    --seconds 3 --deadline 30 --timeout-ms 5000 --run-id "$run" --seed "$run" --json \
    >"$LT_TMP/push-$gw.json" 2>"$LT_TMP/push-$gw.err" &
  pids+=("$!")
  LT_PIDS+=("$!")
done
# A catalog change in the middle of the pushes: its events share the chain.
sed 's/Chứng thực chữ ký/Chứng thực chữ ký (sửa đổi)/' "$LT_TMP/fixture-catalog.json" \
  >"$LT_TMP/catalog2.json"
"$lt" catalog sync --file "$LT_TMP/catalog2.json" >/dev/null 2>&1 || lt_fail "catalog re-sync"
for p in "${pids[@]}"; do wait "$p" || lt_fail "lt_push failed"; done
lt_gw_stop a
lt_gw_stop b
n=$(q "SELECT count(*) FROM dossier_events")
[ "$n" -ge 100 ] || lt_fail "only $n events stored"
[ "$(q "SELECT count(*) FROM dossier_events WHERE kind = 'catalog'")" -ge 6 ] ||
  lt_fail "the catalog events are missing"

out=$("$lt" verify --json) || lt_fail "verify of an untouched chain failed: $out"
lt_assert_eq "true|$n|1|$n" "$(jq -r '[.intact, .checked, .first_seq, .last_seq] | join("|")' <<<"$out")" \
  "untouched chain verifies"
lt_assert_eq "$(q "SELECT encode(last_hash, 'hex') FROM event_counter")" "$(jq -r .head.hash <<<"$out")" \
  "verify reports the head's hash"
table=$("$lt" verify) || lt_fail "verify (table) failed"
lt_assert_contains "$table" "chain intact: $n events verified" "table output"
# --from trusts the stored hash before it.
out=$("$lt" verify --from 50 --json) || lt_fail "verify --from 50 failed"
lt_assert_eq "$((n - 49))|50" "$(jq -r '[.checked, .first_seq] | join("|")' <<<"$out")" "--from 50"

# ---- tampering ----------------------------------------------------------------------
# The log refuses updates and deletes by trigger; someone with database access
# switches triggers off (session_replication_role) to tamper anyway.
tamper() { psql "$LT_PG_URL" -qAt -v ON_ERROR_STOP=1 -c "SET session_replication_role = replica; $1"; }
# broken_at PROBLEM SEQ WHAT: verify exits 1 naming SEQ and PROBLEM.
broken_at() {
  local rc=0 out
  out=$("$lt" verify --json) || rc=$?
  lt_assert_eq 1 "$rc" "$3: verify exit status"
  lt_assert_eq "false|$2|$1" "$(jq -r '[.intact, .broken.seq, .broken.problem] | join("|")' <<<"$out")" \
    "$3: first broken link"
  rc=0
  out=$("$lt" verify) || rc=$?
  lt_assert_eq 1 "$rc" "$3: verify (table) exit status"
  lt_assert_contains "$out" "chain BROKEN at event $2 ($1)" "$3: table names the link"
}
intact() {
  local out
  out=$("$lt" verify --json) || lt_fail "$1: verify fails after the repair: $out"
  lt_assert_eq true "$(jq -r .intact <<<"$out")" "$1: repaired"
}
q "CREATE TABLE saved AS SELECT * FROM dossier_events" >/dev/null

# 1. A record edited: a status in the history changed.
k=$((n / 3))
tamper "UPDATE dossier_events SET record = jsonb_set(record, '{TrangThaiHoSo}', '\"10\"') WHERE seq = $k"
broken_at edited "$k" "edited record"
tamper "UPDATE dossier_events e SET record = s.record FROM saved s WHERE e.seq = $k AND s.seq = $k"
intact "edited record"

# 2. An edit covered up by recomputing that event's own hash: the next link breaks.
tamper "UPDATE dossier_events SET record = jsonb_set(record, '{TrangThaiHoSo}', '\"10\"') WHERE seq = $k;
        UPDATE dossier_events SET hash = lt_event_hash(prev_hash, seq, kind, topic, record) WHERE seq = $k"
broken_at relinked "$((k + 1))" "edit with its hash recomputed"
tamper "UPDATE dossier_events e SET record = s.record, hash = s.hash FROM saved s WHERE e.seq = $k AND s.seq = $k"
intact "rehashed edit"

# 3. An event deleted in the middle.
tamper "DELETE FROM dossier_events WHERE seq = $k"
broken_at missing "$k" "deleted event"
tamper "INSERT INTO dossier_events SELECT * FROM saved WHERE seq = $k"
intact "deleted event"

# 4. Two events swapped (reordered): the first of them no longer chains.
far=1000000000 # seq must stay positive: swap through a far-away number
tamper "UPDATE dossier_events SET seq = seq + $far WHERE seq IN ($k, $((k + 1)));
        UPDATE dossier_events SET seq = CASE seq WHEN $((far + k)) THEN $((k + 1)) ELSE $k END
        WHERE seq > $far"
broken_at relinked "$k" "swapped events"
tamper "DELETE FROM dossier_events WHERE seq IN ($k, $((k + 1)));
        INSERT INTO dossier_events SELECT * FROM saved WHERE seq IN ($k, $((k + 1)))"
intact "swapped events"

# 5. An event inserted beyond the head, around the counter.
tamper "INSERT INTO dossier_events (seq, kind, topic, dossier_code, status, record, hash, prev_hash)
        SELECT $((n + 1)), kind, topic, dossier_code, status, record, hash, hash FROM saved WHERE seq = $n"
broken_at head "$((n + 1))" "event beyond the head"
tamper "DELETE FROM dossier_events WHERE seq = $((n + 1))"
intact "event beyond the head"

# 6. The last event deleted: the head says it was stored.
tamper "DELETE FROM dossier_events WHERE seq = $n"
broken_at missing "$n" "last event deleted"
tamper "INSERT INTO dossier_events SELECT * FROM saved WHERE seq = $n"
intact "last event deleted"

# 7. The head rewritten.
tamper "UPDATE event_counter SET last_hash = sha256('forged')"
broken_at head "$n" "forged head"
lt_log "ok: $n events, two gateways; edits, deletions, swaps, insertions and a forged head named"
