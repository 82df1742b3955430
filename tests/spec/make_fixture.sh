#!/usr/bin/env bash
# Make a fixture for tests/spec/reader.py from a real deployment.
#
# usage: make_fixture.sh SUNLIGHT_BINARY OUTPUT_DIR      (prints the fixture's path)
#
# In OUTPUT_DIR (created, must not hold a deployment yet): a config file, a
# fresh modern-suite deployment (`init`), a `serve` on free loopback ports,
# then through the intake side (docs/intake.md):
#   - a decoy report by JSON (POST /api/v1/reports), so the reader must find
#     the right case by its code;
#   - the report under test by the form (POST /report, multipart), with two
#     files: 150,000 random bytes (3 chunks) and an empty one;
#   - a reporter message by JSON (POST /api/v1/status/messages) and one with
#     a file of exactly 65,536 bytes by the form (POST /status/messages);
#   - a staff message from a supervisor made with `staff add` (triage API);
#   - `unit rotate-key`, so the older material needs the retired key;
#   - `sunlight log publish`, one more reporter message, `log publish` again,
#     so the head that includes the report is older than the newest;
#   - GET /log/heads, /api/v1/log/proof and /api/v1/log/consistency.
# It writes OUTPUT_DIR/fixture.json (with an "expected" object the reader
# ignores: what was sent) and stops the server. Needs curl and python3.
set -euo pipefail

BIN=$(realpath "$1")
OUT=$(mkdir -p "$2" && realpath "$2")
PY=${PYTHON:-/usr/bin/python3}
DATA="$OUT/data"
CFG="$OUT/sunlight.toml"
[ -e "$DATA" ] && { echo "error: $DATA exists" >&2; exit 1; }

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
INTAKE_PORT=$(free_port)
TRIAGE_PORT=$(free_port)
while [ "$TRIAGE_PORT" = "$INTAKE_PORT" ]; do TRIAGE_PORT=$(free_port); done
BASE="http://127.0.0.1:$INTAKE_PORT"

cat > "$CFG" <<EOF
data_dir = "$DATA"
intake_addr = "127.0.0.1:$INTAKE_PORT"
triage_addr = "127.0.0.1:$TRIAGE_PORT"
suite = "modern"
log = "warn"
EOF

# init without a terminal writes the recovery key to DATA_DIR/initial-secrets.txt (docs/cli.md).
"$BIN" --config "$CFG" init --unit-id province < /dev/null > "$OUT/init.out" 2> "$OUT/init.err"
RECOVERY_KEY=$(awk '$1 == "recovery" && $2 == "province" { print $3 }' "$DATA/initial-secrets.txt")
[ -n "$RECOVERY_KEY" ] || { echo "error: no recovery key in initial-secrets.txt" >&2; exit 1; }

"$BIN" --config "$CFG" serve > "$OUT/serve.log" 2>&1 &
SERVE_PID=$!
stop_server() {
    if kill -0 "$SERVE_PID" 2> /dev/null; then
        kill -TERM "$SERVE_PID"
        wait "$SERVE_PID" || true
    fi
}
trap stop_server EXIT

for _ in $(seq 1 100); do
    curl -sf "$BASE/healthz" > /dev/null 2>&1 && break
    kill -0 "$SERVE_PID" 2> /dev/null || { echo "error: serve exited, see $OUT/serve.log" >&2; exit 1; }
    sleep 0.1
done
curl -sf "$BASE/healthz" > /dev/null || { echo "error: serve does not answer" >&2; exit 1; }

# curl with the status checked; the body goes to $1.
post() { local out=$1; shift; curl -sS -o "$out" -w '%{http_code}' "$@"; }
expect() { [ "$1" = "$2" ] || { echo "error: $3 answered $1, expected $2" >&2; exit 1; }; }

# 1. A decoy report by JSON.
code=$(post "$OUT/decoy.json" -X POST "$BASE/api/v1/reports?lang=en" -H 'content-type: application/json' \
    -d '{"unit":"province","category":"office_trading","accused":{"name":"Decoy","position":"","role":"ordinary"},"selection_stage":"none","narrative":"a decoy report"}')
expect "$code" 201 "POST /api/v1/reports"

# 2. The report under test, with two files, by the form.
head -c 150000 /dev/urandom > "$OUT/evidence.bin"
: > "$OUT/empty.txt"
printf 'The narrative, with a line break\nand some 中文 (UTF-8).' > "$OUT/narrative.txt"
code=$(post "$OUT/report.html" -X POST "$BASE/report?lang=en" \
    -F unit=province -F category=other -F 'accused_name=Li Si' -F 'accused_position=Deputy director' \
    -F accused_role=ordinary -F selection_stage=inspection -F "narrative=<$OUT/narrative.txt" \
    -F "attachment=@$OUT/evidence.bin;type=application/x-evidence;filename=evidence.bin" \
    -F "attachment=@$OUT/empty.txt;type=text/plain;filename=empty.txt")
expect "$code" 200 "POST /report"
TRACKING_CODE=$(grep -o 'id="tracking-code"[^>]*>[0-9 -]*<' "$OUT/report.html" | sed 's/.*>\([0-9 -]*\)<$/\1/')
# The receipt page offers the receipt as a data: URL (base64 of its JSON).
grep -o 'data:application/json;base64,[A-Za-z0-9+/=]*' "$OUT/report.html" | head -n 1 \
    | sed 's/^data:application\/json;base64,//' | base64 -d > "$OUT/receipt.json"
[ -n "$TRACKING_CODE" ] && [ -s "$OUT/receipt.json" ] || { echo "error: no code or receipt on the receipt page" >&2; exit 1; }
# The case id, for the fixture only (the reader finds the case by its code too):
# the log's row of the receipt's leaf (table log_leaves, not described in crypto.md).
CASE_ID=$("$PY" - "$OUT" <<'PYEOF'
import hashlib, json, sqlite3, sys, uuid
out = sys.argv[1]
leaf = json.load(open(f"{out}/receipt.json"))["leaf"]
record = (b"sunlight/log-leaf/v1" + bytes.fromhex(leaf["envelopes"]) + bytes.fromhex(leaf["nonce"])
          + leaf["day"].encode())
db = sqlite3.connect(f"file:{out}/data/sunlight.db?mode=ro", uri=True)
row = db.execute("SELECT case_id FROM log_leaves WHERE leaf_hash = ?",
                 (hashlib.sha256(b"\x00" + record).digest(),)).fetchone()
print(uuid.UUID(bytes=row[0]) if row else "")
PYEOF
)
[ -n "$CASE_ID" ] || { echo "error: the receipt's leaf is not in log_leaves" >&2; exit 1; }

# 3. Reporter messages: one by JSON, one with a file by the form.
code=$(post "$OUT/msg1.json" -X POST "$BASE/api/v1/status/messages?lang=en" -H 'content-type: application/json' \
    -d "{\"code\":\"$TRACKING_CODE\",\"body\":\"A first follow-up from the reporter\"}")
expect "$code" 201 "POST /api/v1/status/messages"
head -c 65536 /dev/urandom > "$OUT/photo.png"
code=$(post "$OUT/msg2.html" -X POST "$BASE/status/messages?lang=en" -F "code=$TRACKING_CODE" \
    -F 'body=A message with a file of exactly one chunk' -F "attachment=@$OUT/photo.png;type=image/png;filename=photo.png")
expect "$code" 200 "POST /status/messages"

# 3b. A staff message (tagged, docs/crypto.md "Staff material that cannot be
# forged"): a supervisor from `staff add` signs in on the triage side
# (docs/triage.md), replaces the one-time password, confirms the new TOTP
# secret and writes to the reporter. TOTP codes of steps N-1, N (old secret)
# and N+1 (new secret) keep each code unused and inside the ±1-step window.
STAFF_EMAIL=supervisor@example.org
read -r _ _ STAFF_PASSWORD _ _ STAFF_TOTP < <(printf '%s\n' "$RECOVERY_KEY" \
    | "$BIN" --config "$CFG" staff add --unit province --email "$STAFF_EMAIL" --role supervisor 2>> "$OUT/staff.err")
[ -n "$STAFF_TOTP" ] && [ "$STAFF_TOTP" != - ] || { echo "error: staff add gave no TOTP secret" >&2; exit 1; }
"$PY" - "http://127.0.0.1:$TRIAGE_PORT" "$STAFF_EMAIL" "$STAFF_PASSWORD" "$STAFF_TOTP" "$CASE_ID" <<'PYEOF'
import base64, hashlib, hmac, http.cookiejar, json, struct, sys, time, urllib.error, urllib.request
base, email, password, secret, case_id = sys.argv[1:]
def totp(secret, step):  # RFC 6238: HMAC-SHA-1, 6 digits, 30 s
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
csrf = None
def call(path, data):
    headers = {"content-type": "application/json", "origin": base}
    if csrf:
        headers["x-csrf-token"] = csrf
    req = urllib.request.Request(base + path, json.dumps(data).encode(), headers, method="POST")
    try:
        with opener.open(req) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        sys.exit(f"error: POST {path} answered {e.code}: {e.read()[:300]!r}")
if time.time() % 30 > 24:  # keep the three calls inside one 30 s step
    time.sleep(31 - time.time() % 30)
step = int(time.time()) // 30
csrf = call("/api/v1/session", {"email": email, "password": password, "totp": totp(secret, step - 1)})["csrf_token"]
new = call("/api/v1/password", {"current_password": password, "totp": totp(secret, step),
                                "new_password": "a new password for the fixture"})["totp_secret"]
if new:
    call("/api/v1/totp/confirm", {"totp": totp(new, step + 1)})
call(f"/api/v1/cases/{case_id}/messages", {"body": "A reply from staff"})
PYEOF

# 3c. Rotate the unit's key: what came before now opens only with the retired
# key (unit_key_history), reached from the new recovery key, which the fixture gets.
RECOVERY_KEY=$(printf '%s\n' "$RECOVERY_KEY" | "$BIN" --config "$CFG" unit rotate-key --unit province 2>> "$OUT/rotate.err" \
    | awk '$1 == "recovery" && $2 == "province" { print $3 }')
[ -n "$RECOVERY_KEY" ] || { echo "error: unit rotate-key printed no new recovery key" >&2; exit 1; }

# 4. A head, one more message (sealed to the new key), a newer head.
"$BIN" --config "$CFG" log publish > "$OUT/publish1.out" 2>> "$OUT/publish.err"
code=$(post "$OUT/msg3.json" -X POST "$BASE/api/v1/status/messages?lang=en" -H 'content-type: application/json' \
    -d "{\"code\":\"$TRACKING_CODE\",\"body\":\"A second follow-up, after the first head\"}")
expect "$code" 201 "POST /api/v1/status/messages"
"$BIN" --config "$CFG" log publish > "$OUT/publish2.out" 2>> "$OUT/publish.err"

# 5. Heads, proofs, and the fixture.
code=$(post "$OUT/heads.json" "$BASE/log/heads?format=json")
expect "$code" 200 "GET /log/heads"

"$PY" - "$OUT" "$BASE" "$TRACKING_CODE" "$RECOVERY_KEY" "$CASE_ID" <<'PYEOF'
import hashlib, json, sys, urllib.error, urllib.request
out, base, code, recovery_key, case_id = sys.argv[1:]
get = lambda path: json.load(urllib.request.urlopen(base + path))
receipt = json.load(open(f"{out}/receipt.json"))
heads = json.load(open(f"{out}/heads.json"))
leaf = receipt["leaf"]
record = (b"sunlight/log-leaf/v1" + bytes.fromhex(leaf["envelopes"]) + bytes.fromhex(leaf["nonce"])
          + leaf["day"].encode())
leaf_hash = hashlib.sha256(b"\x00" + record).hexdigest()
proof = None
for head in sorted(heads, key=lambda h: h["size"]):  # the first head that includes the leaf
    try:
        proof = get(f"/api/v1/log/proof?leaf={leaf_hash}&size={head['size']}")
        break
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
if proof is None:
    sys.exit("error: no published head includes the report's leaf")
newest = max(h["size"] for h in heads)
consistency = (get(f"/api/v1/log/consistency?from={proof['size']}&to={newest}")
               if proof["size"] != newest else None)
sha = lambda name: hashlib.sha256(open(f"{out}/{name}", "rb").read()).hexdigest()
fixture = {
    "db": f"{out}/data/sunlight.db", "pepper_file": f"{out}/data/pepper.key",
    "unit": "province", "recovery_key": recovery_key,
    "code": code, "case_id": case_id,
    "receipt": receipt, "heads": heads, "proof": proof, "consistency": consistency,
    "expected": {
        "report": {"accused_name": "Li Si", "accused_position": "Deputy director",
                   "narrative": open(f"{out}/narrative.txt", encoding="utf-8").read(),
                   "reporter_name": None, "reporter_phone": None},
        # as multisets: the reader orders by arrival (reporters' messages keep only the day)
        "messages": sorted(["A first follow-up from the reporter", "A message with a file of exactly one chunk",
                            "A reply from staff", "A second follow-up, after the first head"]),
        "attachments": [
            {"file_name": "evidence.bin", "declared_type": "application/x-evidence", "size": 150000, "sha256": sha("evidence.bin")},
            {"file_name": "empty.txt", "declared_type": "text/plain", "size": 0, "sha256": sha("empty.txt")},
            {"file_name": "photo.png", "declared_type": "image/png", "size": 65536, "sha256": sha("photo.png")},
        ],
    },
}
json.dump(fixture, open(f"{out}/fixture.json", "w"), indent=1, ensure_ascii=False)
PYEOF

stop_server
trap - EXIT
echo "$OUT/fixture.json"
