#!/usr/bin/env bash
# `lienthong catalog check`: an export judged offline with no database;
# every refused record is reported (not only the first) with its index,
# MATTHC and path; a malformed file is refused with its byte offset.
source "$(dirname "$0")/lib.sh"

export LIENTHONG_DATABASE_URL="postgresql:///nowhere?host=/nonexistent" # never used
good="$LT_TMP/good.json"
"$LT_GENCATALOG" --count 200 --seed 5 >"$good"
out=$("$LIENTHONG_BIN" catalog check "$good" 2>&1) || lt_fail "a generated catalog was refused: $out"
lt_assert_contains "$out" "200 record(s): 200 valid, 0 refused" "summary"

bad="$LT_TMP/bad.json"
jq '.[3].CAPTHUCHIEN[0].CAPTHUCHIEN = "7" | .[10] |= del(.MATTHC) | .[150].CACHTHUCTHUCHIEN[0].KENH = "9"' \
  "$good" >"$bad"
rc=0; out=$("$LIENTHONG_BIN" catalog check --json "$bad") || rc=$?
lt_assert_eq 1 "$rc" "exit status with three bad records"
lt_assert_eq "200 3" "$(jq -r '"\(.records) \(.rejected)"' <<<"$out")" "records and refusals"
lt_assert_eq "3 10 150" "$(jq -r '[.results[].index] | join(" ")' <<<"$out")" "every refusal, in order"
lt_assert_eq "CAPTHUCHIEN[0].CAPTHUCHIEN" "$(jq -r '.results[0].path' <<<"$out")" "path of the first"
lt_assert_eq "$(jq -r '.[3].MATTHC' "$bad")" "$(jq -r '.results[0].MATTHC' <<<"$out")" "MATTHC named"

head -c 5000 "$good" >"$LT_TMP/truncated.json"
rc=0; out=$("$LIENTHONG_BIN" catalog check --json "$LT_TMP/truncated.json") || rc=$?
lt_assert_eq 1 "$rc" "truncated file"
[ "$(jq -r '.error.offset' <<<"$out")" -gt 0 ] || lt_fail "no offset for a truncated file: $out"

rc=0; "$LIENTHONG_BIN" catalog check >/dev/null 2>&1 || rc=$?
lt_assert_eq 2 "$rc" "no file"
lt_log "ok"
