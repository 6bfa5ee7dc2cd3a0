#!/usr/bin/env bash
# `lienthong check`: every example in schemas/examples judged offline (exit 0
# for valid ones, 1 naming the manifest's field for invalid ones), standard
# input, the --json results document, request-level refusals, personal data
# masked, usage errors and --dialect.
source "$(dirname "$0")/lib.sh"
ex="$LT_SOURCE_DIR/schemas/examples"
manifest="$ex/invalid/MANIFEST.json"

for f in "$ex"/valid/*.json; do
  rc=0; out=$("$LIENTHONG_BIN" check "$f" 2>"$LT_TMP/err") || rc=$?
  lt_assert_eq 0 "$rc" "check $(basename "$f")"
  # The canonical form: the same record, keys sorted.
  lt_assert_eq "$(jq -cS . "$f")" "$(jq -cS . <<<"$out")" "canonical output of $(basename "$f")"
  lt_assert_contains "$(cat "$LT_TMP/err")" "1 record(s): 1 valid, 0 rejected" "summary line"
done

n=0
for f in "$ex"/invalid/*.json; do
  name=$(basename "$f")
  [ "$name" = MANIFEST.json ] && continue
  field=$(jq -r --arg k "$name" '.[$k].field' "$manifest")
  path=$(jq -r --arg k "$name" '.[$k].path' "$manifest")
  rc=0; out=$("$LIENTHONG_BIN" check "$f" 2>/dev/null) || rc=$?
  lt_assert_eq 1 "$rc" "check $name"
  lt_assert_contains "$out" ": $path: field $field: expected " "error line of $name"
  n=$((n + 1))
done
[ $n -ge 40 ] || lt_fail "only $n invalid examples"

# Standard input.
good="$ex/valid/10-da-tra-ket-qua-day-du.json"
rc=0; "$LIENTHONG_BIN" check - <"$good" >/dev/null 2>&1 || rc=$?
lt_assert_eq 0 "$rc" "valid record on stdin"
rc=0; "$LIENTHONG_BIN" check - <"$ex/invalid/NgayHenTra-format-dd-mm-yyyy.json" >/dev/null 2>&1 || rc=$?
lt_assert_eq 1 "$rc" "invalid record on stdin"

# --json: the HTTP answer's document, before or after the command.
out=$("$LIENTHONG_BIN" check --json "$good")
lt_assert_eq '{"results":[{"MaHoSo":"000.00.06.H56-20241231-000123","result":"accepted"}]}' "$out" \
  "--json for a valid record"
lt_assert_eq "$out" "$("$LIENTHONG_BIN" --json check "$good")" "--json before the command"
rc=0; out=$("$LIENTHONG_BIN" check --json "$ex/invalid/QuaTrinhXuLy-ThoiDiemXuLy-not-real.json") || rc=$?
lt_assert_eq 1 "$rc" "--json exit status for a rejected record"
lt_assert_eq 'MaHoSo,code,errors,field,message,path,result' "$(jq -r '.results[0] | keys | join(",")' <<<"$out")" \
  "keys of a rejected result"
lt_assert_eq 'rejected 422 ThoiDiemXuLy QuaTrinhXuLy[3].ThoiDiemXuLy' \
  "$(jq -r '.results[0] | "\(.result) \(.code) \(.field) \(.path)"' <<<"$out")" "rejected result"
lt_assert_eq 'field,path,expected,got' "$(jq -r '.results[0].errors[0] | keys_unsorted | join(",")' <<<"$out")" \
  "keys of an error"
lt_assert_eq 'field ThoiDiemXuLy: expected a real date and time yyyyMMddHHmmss, got "20241231103061"' \
  "$(jq -r '.results[0].message' <<<"$out")" "message"

# A batch: one result per record, in order; any rejection makes the exit 1.
jq -s '.' "$good" "$ex/invalid/HinhThuc-out-of-set.json" "$ex/valid/01-moi-dang-ky-truc-tuyen.json" \
  >"$LT_TMP/batch.json"
rc=0; out=$("$LIENTHONG_BIN" check --json "$LT_TMP/batch.json") || rc=$?
lt_assert_eq 1 "$rc" "batch with one rejected record"
lt_assert_eq 'accepted rejected accepted' "$(jq -r '[.results[].result] | join(" ")' <<<"$out")" "batch results"

# Personal data never appears in errors.
rc=0; out=$("$LIENTHONG_BIN" check --json "$ex/invalid/ChuHoSo-number.json") || rc=$?
case "$out" in *123456789*) lt_fail "personal data echoed: $out" ;; esac
jq -n '{MaHoSo: "000.00.06.H56-231027-0361", MaTTHC: "2.000908", TrangThaiHoSo: "1",
  KenhThucHien: "2", ChuHoSo: ("Nguyễn Văn An " * 30), SoDienThoai: ("0912345678" * 30)}' >"$LT_TMP/p.json"
out=$("$LIENTHONG_BIN" check "$LT_TMP/p.json" 2>&1) || true
lt_assert_contains "$out" "field ChuHoSo: expected at most 255 characters" "long name rejected"
case "$out" in *Nguyễn*|*0912345678*) lt_fail "personal data echoed: $out" ;; esac

# Request-level refusals: exit 1, the error document with --json.
req() { # EXPECTED_CODE FILE
  local rc=0 out
  out=$("$LIENTHONG_BIN" check --json "$2") || rc=$?
  lt_assert_eq 1 "$rc" "exit status for $2"
  lt_assert_eq "$1" "$(jq -r .error.code <<<"$out")" "error code for $(head -c 40 "$2")"
}
printf 'not json' >"$LT_TMP/a.json"; req malformed "$LT_TMP/a.json"
printf '["\\ud800"]' >"$LT_TMP/b.json"; req malformed "$LT_TMP/b.json"
lt_assert_contains "$("$LIENTHONG_BIN" check "$LT_TMP/b.json" 2>&1)" "lone surrogate" "surrogate message"
printf '{"a": "\xc3"}' >"$LT_TMP/c.json"; req malformed "$LT_TMP/c.json"
printf '"x"' >"$LT_TMP/d.json"; req malformed "$LT_TMP/d.json"
jq -cn '[range(1001) | {}]' >"$LT_TMP/e.json"; req too_large "$LT_TMP/e.json"
rc=0; "$LIENTHONG_BIN" check "$LT_TMP/no-such-file.json" 2>/dev/null || rc=$?
lt_assert_eq 1 "$rc" "missing file"

# Usage.
rc=0; "$LIENTHONG_BIN" check 2>/dev/null || rc=$?
lt_assert_eq 2 "$rc" "no input"
rc=0; "$LIENTHONG_BIN" check --bogus "$good" 2>/dev/null || rc=$?
lt_assert_eq 2 "$rc" "unknown option"
rc=0; out=$("$LIENTHONG_BIN" check --dialect vnpt "$good" 2>&1) || rc=$?
lt_assert_eq 2 "$rc" "unknown dialect"
lt_assert_contains "$out" "dialect vnpt" "unknown dialect message"

# Vendor dialects: every example maps to exactly its canonical twin, which
# the validator accepts.
dialects="$LT_SOURCE_DIR/adapters/dialects"
for d in vendor-a vendor-b; do
  for f in "$dialects/examples/$d"/*.json; do
    case "$f" in *.canonical.json) continue ;; esac
    twin="${f%.json}.canonical.json"
    out=$("$LIENTHONG_BIN" check --dialect "$d" "$f" 2>/dev/null) ||
      lt_fail "check --dialect $d rejected $(basename "$f")"
    lt_assert_eq "$(jq -cS . "$twin")" "$(jq -cS . <<<"$out")" "$d $(basename "$f") mapped"
  done
done
# A vendor's error names the vendor's own field.
bad="$LT_TMP/bad-vendor.json"
f=$(ls "$dialects/examples/vendor-a"/*.json | grep -v canonical | head -1)
jq '.ngayHenTra = "31/10/2024 17:00:00"' "$f" >"$bad"
rc=0; out=$("$LIENTHONG_BIN" check --json --dialect vendor-a "$bad") || rc=$?
lt_assert_eq 1 "$rc" "vendor record with a bad date"
lt_assert_eq "ngayHenTra" "$(jq -r '.results[0].field' <<<"$out")" "vendor field named"
lt_assert_eq 422 "$(jq -r '.results[0].code' <<<"$out")" "vendor rejection code"
# One more vendor is one more mapping file: a dialect that exists only here.
cat >"$LT_TMP/vendor-z.json" <<'JSON'
{"dialect": "vendor-z", "unknown_fields": "drop", "fields": [
  {"vendor": "id", "canonical": "MaHoSo", "required": true},
  {"vendor": "thuTuc", "canonical": "MaTTHC", "required": true},
  {"vendor": "tinhTrang", "canonical": "TrangThaiHoSo", "type": "enum",
   "map": {"MOI": "1", "DA_NHAN": "2"}},
  {"vendor": "kenh", "canonical": "KenhThucHien", "type": "number"},
  {"vendor": "nhan", "canonical": "NgayTiepNhan", "type": "date", "format": "dd/MM/yyyy HH:mm:ss"}]}
JSON
echo '{"id": "000.00.06.H56-231027-0361", "thuTuc": "2.000908", "tinhTrang": "DA_NHAN",
       "kenh": 2, "nhan": "27/10/2023 08:30:00"}' >"$LT_TMP/z.json"
out=$("$LIENTHONG_BIN" check --dialect "$LT_TMP/vendor-z.json" "$LT_TMP/z.json" 2>/dev/null) ||
  lt_fail "a dialect defined only by its file was refused"
lt_assert_eq '{"KenhThucHien":"2","MaHoSo":"000.00.06.H56-231027-0361","MaTTHC":"2.000908","NgayTiepNhan":"20231027083000","TrangThaiHoSo":"2"}' \
  "$(jq -cS . <<<"$out")" "vendor-z mapped"
rc=0; "$LIENTHONG_BIN" check --dialect canonical "$good" >/dev/null 2>&1 || rc=$?
lt_assert_eq 0 "$rc" "--dialect canonical"
rc=0; "$LIENTHONG_BIN" check --dialect=canonical "$good" >/dev/null 2>&1 || rc=$?
lt_assert_eq 0 "$rc" "--dialect=canonical"
out=$("$LIENTHONG_BIN" check --help)
lt_assert_contains "$out" "usage: lienthong check" "check --help"
lt_assert_eq "$out" "$("$LIENTHONG_BIN" help check)" "help check and check --help agree"
lt_assert_contains "$("$LIENTHONG_BIN" --help)" "  check " "command list"
lt_log "ok"
