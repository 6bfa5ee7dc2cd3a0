#!/usr/bin/env bash
# A working day, compressed into a minute or two (run by demo.sh, which sets
# the environment below). Five wards, two of them on vendor dialects, push
# realistic dossiers (lt_daygen: lt_dossiergen's records, each dossier's
# whole life step by step) in rounds: round 0 receives them, later rounds
# move them on (processing, supplement rounds, fees, results, returns). The
# wards of the Phúc Yên district also receive district-level procedures:
# those the ward only receives; the gateway forwards them up (liên thông)
# and the district office pushes the later steps with its parent token, and
# the gateway sends those results back down to the ward. The canonical wards
# also send two bad records each (a procedure the catalog does not publish, a
# date in the wrong shape), which the gateway refuses.
#
# Writes into LT_DEMO_RUNDIR: sent.jsonl (one line per record answered:
# MaHoSo, who sent it, the result) and summary.json (the figures t_demo.sh
# checks against the simulators).
set -euo pipefail
: "${LT_DEMO_GATEWAY:?}" "${LT_DEMO_RUNDIR:?}" "${LT_DAYGEN:?}" "${LT_DEMO_DAYINDEX:?}"
: "${LT_DEMO_DIALECTS:?}" "${LT_DEMO_DISTRICT_CONTROL:?}"
gw=$LT_DEMO_GATEWAY
dir=$LT_DEMO_RUNDIR
n=${LT_DEMO_DOSSIERS:-24}
pace=${LT_DEMO_PACE:-4}
# Run ids of one day share the code day (lt_dossiergen: day = run id / 100).
base=$((LT_DEMO_DAYINDEX * 100))

# code agency dialect district-level?
wards=(
  "08707 000.01.22.H56 - no"
  "08710 000.02.22.H56 vendor-b no"
  "08869 000.01.06.H56 vendor-a yes"
  "08872 000.02.06.H56 - yes"
  "08878 000.05.06.H56 - yes"
)
token_of() { awk -v u="$1" '$1 == u { print $2 }' "$dir/tokens"; }

# The procedures: published, commune level (the ward decides) and district
# level only (the district decides), from the catalog just synced.
curl -sf "$gw/v1/catalog?limit=5000" >"$dir/catalog.json"
pick() { # pick JQ-FILTER: up to 8 codes of published procedures
  jq -r "[.procedures[] | select($1) | .MATTHC][:8][]" "$dir/catalog.json"
}
levels='[.CAPTHUCHIEN[]?.CAPTHUCHIEN | tostring]'
mapfile -t commune < <(pick "(.TRANGTHAI | tostring) == \"1\" and ($levels | index(\"3\"))")
mapfile -t district < <(pick "(.TRANGTHAI | tostring) == \"1\" and ($levels | index(\"2\")) and ($levels | index(\"3\") | not)")
if [ "${#commune[@]}" -eq 0 ] || [ "${#district[@]}" -eq 0 ]; then
  echo "day: the catalog has no commune-level or no district-level procedure" >&2
  exit 1
fi
pargs() { for p in "$@"; do printf -- '--procedure\n%s\n' "$p"; done; }
mapfile -t cargs < <(pargs "${commune[@]}")
mapfile -t dargs < <(pargs "${district[@]}")

# Every record of the day, per ward: commune-level dossiers (+2 spare ones
# that become the bad records) and, in Phúc Yên, district-level ones.
for w in "${wards[@]}"; do
  read -r code agency dialect up <<<"$w"
  dia=()
  [ "$dialect" != - ] && dia=(--dialect "$LT_DEMO_DIALECTS/$dialect.json")
  extra=0
  [ "$dialect" = - ] && extra=2
  "$LT_DAYGEN" --seed "$((10#$code))" --agency "$agency" --count $((n + extra)) --run-id "$base" "${cargs[@]}" "${dia[@]}" \
    >"$dir/day-$code.jsonl"
  if [ "$dialect" = - ]; then
    # The two spare dossiers' first records, spoiled.
    jq -c "select(.i == $n and .first) | .record.MaTTHC = \"9.999999.000.00.00.H56\"" \
      "$dir/day-$code.jsonl" >"$dir/bad-$code.jsonl"
    jq -c "select(.i == $((n + 1)) and .first) | .record.NgayHenTra = \"31/10/2024\"" \
      "$dir/day-$code.jsonl" >>"$dir/bad-$code.jsonl"
    jq -c "select(.i < $n)" "$dir/day-$code.jsonl" >"$dir/day-$code.tmp"
    mv "$dir/day-$code.tmp" "$dir/day-$code.jsonl"
  fi
  if [ "$up" = yes ]; then
    "$LT_DAYGEN" --seed "$((10#$code))" --agency "$agency" --count $((n / 2)) --run-id $((base + 1)) "${dargs[@]}" "${dia[@]}" \
      >"$dir/up-$code.jsonl"
  fi
done

: >"$dir/sent.jsonl"
post() { # post WHO TOKEN FILE: the records of FILE (lines of lt_daygen), 25 a call
  local who=$1 token=$2 file=$3 total
  total=$(wc -l <"$file")
  [ "$total" -gt 0 ] || return 0
  local start=0
  while [ "$start" -lt "$total" ]; do
    sed -n "$((start + 1)),$((start + 25))p" "$file" | jq -cs '[.[].record]' >"$dir/body.json"
    local status
    status=$(curl -s -o "$dir/answer.json" -w '%{http_code}' -X POST "$gw/v1/dossiers" \
      -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
      --data-binary @"$dir/body.json")
    if [ "$status" != 200 ]; then
      echo "day: $who got HTTP $status: $(head -c 300 "$dir/answer.json")" >&2
      return 1
    fi
    # Results come in the order of the records; a record the dialect could
    # not map has no MaHoSo, so the code is taken from the line sent.
    sed -n "$((start + 1)),$((start + 25))p" "$file" | jq -r .MaHoSo >"$dir/codes.txt"
    jq -c --arg who "$who" --rawfile codes "$dir/codes.txt" \
      '($codes | split("\n")) as $c | .results | to_entries[] |
       {MaHoSo: $c[.key], who: $who, result: .value.result, field: .value.field}' \
      "$dir/answer.json" >>"$dir/sent.jsonl"
    start=$((start + 25))
  done
}

steps=$(cat "$dir"/day-*.jsonl "$dir"/up-*.jsonl | jq -s 'map(.step) | max')
district_token=$(token_of 244)
hour=7
for round in $(seq 0 "$steps"); do
  before=$(wc -l <"$dir/sent.jsonl")
  for w in "${wards[@]}"; do
    read -r code agency dialect up <<<"$w"
    jq -c "select(.step == $round)" "$dir/day-$code.jsonl" >"$dir/round.jsonl"
    if [ "$up" = yes ] && [ "$round" -eq 0 ]; then
      jq -c 'select(.step == 0)' "$dir/up-$code.jsonl" >>"$dir/round.jsonl"
    fi
    if [ "$round" -eq 1 ] && [ -f "$dir/bad-$code.jsonl" ]; then
      cat "$dir/bad-$code.jsonl" >>"$dir/round.jsonl"
    fi
    post "$code" "$(token_of "$code")" "$dir/round.jsonl"
  done
  if [ "$round" -eq 0 ]; then
    # The district answers only what reached it: wait (bounded) until the
    # liên thông leg has delivered every district-level dossier.
    want=$(jq -s '[.[] | select(.who != "244" and .result == "accepted")] | length' "$dir/sent.jsonl")
    want_up=$(cat "$dir"/up-*.jsonl | jq -s '[.[] | select(.step == 0)] | length')
    for _ in $(seq 600); do
      got=$(curl -s "http://127.0.0.1:$LT_DEMO_DISTRICT_CONTROL/_stats" | jq -r '.latest // 0')
      [ "$got" -ge "$want_up" ] && break
      sleep 0.1
    done
    echo "  liên thông: the district office has $got of $want_up district-level dossiers (of $want received)"
  else
    # The district's decisions, in the ward's dialect's canonical twin: the
    # district's system speaks our own contract.
    : >"$dir/district.jsonl"
    for w in "${wards[@]}"; do
      read -r code agency dialect up <<<"$w"
      [ "$up" = yes ] || continue
      if [ "$dialect" = - ]; then
        jq -c "select(.step == $round)" "$dir/up-$code.jsonl" >>"$dir/district.jsonl"
      else
        # A vendor ward's records were generated in its dialect; the
        # district sends the canonical ones (same seed, same run id).
        # Only the dossiers the vendor's system could send went up.
        jq -s '[.[].MaHoSo] | unique' "$dir/up-$code.jsonl" >"$dir/up-codes.json"
        "$LT_DAYGEN" --seed "$((10#$code))" --agency "$agency" --count $((n / 2)) --run-id $((base + 1)) "${dargs[@]}" |
          jq -c --slurpfile up "$dir/up-codes.json" \
            "select(.step == $round and (.MaHoSo as \$c | \$up[0] | index(\$c)))" >>"$dir/district.jsonl"
      fi
    done
    post 244 "$district_token" "$dir/district.jsonl"
  fi
  after=$(wc -l <"$dir/sent.jsonl")
  printf '  %02d:%02d  round %d: %d records answered: %s\n' "$hour" $((round % 2 * 30)) "$round" \
    $((after - before)) "$(tail -n $((after - before)) "$dir/sent.jsonl" |
      jq -rs 'group_by(.result) | map("\(.[0].result) \(length)") | join(", ")')"
  hour=$((hour + 1))
  sleep "$pace"
done

# The day's figures, from the answers.
jq -s '{
  wards_sent: ([.[] | select(.who != "244") | .MaHoSo] | unique | length),
  rejected: ([.[] | select(.who != "244" and .result == "rejected") | .MaHoSo] | unique | length),
  dossiers: ([.[] | select(.result == "accepted") | .MaHoSo] | unique | length),
  district_sent: ([.[] | select(.who == "244")] | length),
  district_accepted: ([.[] | select(.who == "244" and .result == "accepted")] | length),
  results: (group_by(.result) | map({key: .[0].result, value: length}) | from_entries)
}' "$dir/sent.jsonl" >"$dir/summary.json"
jq -r '"  the day: \(.wards_sent) dossiers sent by the wards, \(.rejected) refused, \(.dossiers) stored; the district sent \(.district_sent) decisions"' "$dir/summary.json"
