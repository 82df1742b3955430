#!/usr/bin/python3
"""An independent reader of a Sunlight deployment (modern suite), written
only from docs/crypto.md. Section names in the comments are crypto.md's.

usage: python3 reader.py FIXTURE.json   -> one JSON object on stdout

The fixture names the SQLite database, the pepper file, a unit and its
recovery key, a tracking code with its case id, and the filing receipt with
the log's heads and proofs (see tests/spec/make_fixture.sh).
"""
import base64
import hashlib
import hmac
import json
import sqlite3
import struct
import sys
import uuid

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NIL = bytes(16)
RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Fail(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Fail(what)


def sha256(b):
    return hashlib.sha256(b).digest()


def hkdf(ikm, salt, info, length=32):
    # RFC 5869 Extract-and-Expand; salt None = HashLen zero bytes.
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def x25519_public(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(*RAW)


def aead_open(key, nonce, ct, aad, what):
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ct, aad)
    except InvalidTag:
        raise Fail(f"cannot open {what}: wrong key or altered data")


# ---- Wraps (a key under a symmetric key); Recovery key -------------------

def recovery_key_bytes(text):
    # "Reading it back ignores whitespace, dashes and letter case."
    s = "".join(c for c in text if not c.isspace() and c != "-").upper()
    need(len(s) == 52, f"recovery key: expected 52 base32 characters, got {len(s)}")
    key = base64.b32decode(s + "=" * (-len(s) % 8))
    need(len(key) == 32, "recovery key: not 32 bytes")
    return key


def unwrap(wrapped, kek, kind, binding):
    # wrapped = 0x01 ‖ kind ‖ nonce (12) ‖ ChaCha20-Poly1305(kek, nonce, secret, aad)
    # aad     = "sunlight/unit-key" ‖ 0x01 ‖ kind ‖ binding
    need(len(wrapped) == 62, f"wrap: {len(wrapped)} bytes, expected 62")
    need(wrapped[0] == 1, f"wrap: version {wrapped[0]} (only 1, X25519, is read here)")
    need(wrapped[1] == kind, f"wrap: kind {wrapped[1]}, expected {kind}")
    aad = b"sunlight/unit-key" + bytes([1, kind]) + binding.encode()
    return aead_open(kek, wrapped[2:14], wrapped[14:], aad, "the wrapped unit key")


# ---- Envelope (multi-recipient sealing), version 1 -----------------------

def parse_header(blob):
    """version ‖ count ‖ slot × count; returns (header bytes, slots, rest)."""
    need(len(blob) >= 2, "envelope: too short")
    need(blob[0] == 1, f"envelope: version {blob[0]} (only 1, modern, is read here)")
    count = blob[1]
    need(1 <= count <= 16, f"envelope: count {count}")
    end = 2 + 88 * count
    need(len(blob) >= end, "envelope: too few bytes for its slots")
    slots = [blob[2 + 88 * i: 2 + 88 * (i + 1)] for i in range(count)]
    return blob[:end], slots, blob[end:]


def data_key(slots, ctx, secret):
    """Find a slot for this key (key id = SHA-256(R)[0..8]) and unwrap it."""
    case_id, item = ctx
    r = X25519PrivateKey.from_private_bytes(secret)
    pub = r.public_key().public_bytes(*RAW)
    kid = sha256(pub)[:8]
    slot_aad = b"sunlight/slot" + b"\x01" + case_id + item
    for s in slots:
        if s[:8] != kid:
            continue
        eph = s[8:40]
        shared = r.exchange(X25519PublicKey.from_public_bytes(eph))
        kek = hkdf(shared, eph + pub, b"sunlight/seal/v1/kek")
        try:
            return ChaCha20Poly1305(kek).decrypt(bytes(12), s[40:88], slot_aad)
        except InvalidTag:
            continue  # an 8-byte id collision: skip
    return None


def has_slot_for(blob, public):
    _, slots, _ = parse_header(blob)
    return any(s[:8] == sha256(public)[:8] for s in slots)


def open_envelope(blob, ctx, secrets, what):
    header, slots, rest = parse_header(blob)
    for sk in secrets:
        dk = data_key(slots, ctx, sk)
        if dk is None:
            continue
        need(len(rest) >= 28, f"{what}: body shorter than nonce and tag")
        body_aad = b"sunlight/seal\x01" + ctx[0] + ctx[1] + sha256(header)
        return aead_open(dk, rest[:12], rest[12:], body_aad, what)
    raise Fail(f"cannot open {what}: no slot for the keys held")


# ---- Staff material that cannot be forged (tag prefix) -------------------

def split_tag(blob, ctx, unit_secrets_by_unit, signer_expected, author=b""):
    """Staff material starts with 0x53; return the inner envelope, tag checked.

    `author` is the row's writer (messages.staff_id, transitions.actor_id,
    holds.confirmed_by: 16 bytes; none: empty). Only the unit's current
    key vouches (the first of its secrets)."""
    if not blob or blob[0] != 0x53:
        return blob, "untagged"
    need(len(blob) >= 3 and blob[1] == 1, "tagged blob: bad tag version")
    n = blob[2]
    signer = blob[3:3 + n]
    tag = blob[3 + n:3 + n + 32]
    env = blob[3 + n + 32:]
    case_id, item = ctx
    msg = (b"sunlight/staff-tag/v1" + case_id + struct.pack(">H", len(item)) + item
           + bytes([n]) + signer + bytes([len(author)]) + author + env)
    if signer_expected not in unit_secrets_by_unit:
        return env, "unchecked"  # the case unit's key would come down the escrow chain
    ok = False
    if signer.decode() == signer_expected:
        sk = unit_secrets_by_unit[signer_expected][0]
        auth_key = hkdf(sk, b"sunlight/staff-auth/v1", x25519_public(sk))
        ok = hmac.compare_digest(hmac.new(auth_key, msg, hashlib.sha256).digest(), tag)
    return env, ("verified" if ok else "forged")


# ---- What each envelope holds: padding and the JSON payloads -------------

FIELDS = {  # required keys, optional keys (deny_unknown_fields)
    "ReportContent": ({"accused_name", "accused_position", "narrative"},
                      {"reporter_name", "reporter_phone", "letter"}),
    "MessageContent": ({"body"}, set()),
    "AttachmentMeta": ({"file_name", "declared_type", "size"}, set()),
}


def decode_padded(payload, kind):
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        need(len(keys) == len(set(keys)), f"{kind}: a key given twice")
        return dict(pairs)
    # The whole payload is one JSON value; JSON whitespace may surround it.
    try:
        value = json.loads(payload.decode("utf-8"), object_pairs_hook=no_dupes)
    except (UnicodeDecodeError, ValueError) as e:
        raise Fail(f"{kind}: not padded JSON: {e}")
    need(isinstance(value, dict), f"{kind}: not a JSON object")
    req, opt = FIELDS[kind]
    need(req <= value.keys(), f"{kind}: missing {sorted(req - value.keys())}")
    need(value.keys() <= req | opt, f"{kind}: unknown {sorted(value.keys() - req - opt)}")
    return value


# ---- Attachments (STREAM) ------------------------------------------------

def open_stream(header_blob, chunks, ctx, secrets):
    header, slots, rest = parse_header(header_blob)
    need(len(rest) == 7, "stream header: not exactly 7 bytes after the slots")
    for sk in secrets:
        dk = data_key(slots, ctx, sk)
        if dk is not None:
            break
    else:
        raise Fail("cannot open attachment stream: no slot for the keys held")
    aad = b"sunlight/stream\x01" + ctx[0] + ctx[1] + sha256(header)
    out = []
    for i, chunk in enumerate(chunks):
        last = 1 if i == len(chunks) - 1 else 0
        nonce = rest + struct.pack(">I", i) + bytes([last])
        out.append(aead_open(dk, nonce, chunk, aad, f"attachment chunk {i}"))
    return b"".join(out)


# ---- Tracking code; Code stretching, scheme 2 ----------------------------

# Damm's quasigroup of order 10 (H. M. Damm, 2004; the table everyone prints)
DAMM = ["0317598642", "7092154863", "4206871359", "1750983426", "6123045978",
        "3674209581", "5869720134", "8945362017", "9438617205", "2581436790"]


def parse_code(text):
    digits = []
    for c in text:
        if c in " -\t\u3000":
            continue
        if "0" <= c <= "9":
            digits.append(c)
        elif "\uff10" <= c <= "\uff19":
            digits.append(chr(ord(c) - 0xFF10 + 0x30))
        else:
            raise Fail("tracking code: not a digit")
    need(len(digits) == 20, "tracking code: not 20 digits")
    interim = 0
    for d in digits:  # Damm: a valid code (check digit included) ends at 0
        interim = int(DAMM[interim][int(d)])
    need(interim == 0, "tracking code: Damm check digit fails")
    return "".join(digits).encode("ascii")


def stretch_v2(code_ascii, salt, pepper):
    okm = hash_secret_raw(code_ascii, salt, time_cost=2, memory_cost=19456,
                          parallelism=1, hash_len=64, type=Type.ID, version=0x13)
    token = hkdf(okm, None, b"sunlight/code/v2/lookup")
    index = hmac.new(pepper, b"sunlight/code/v2/index" + token, hashlib.sha256).digest()
    share = hmac.new(pepper, b"sunlight/code/v2/reporter" + token, hashlib.sha256).digest()
    reporter_sk = hkdf(okm, share, b"sunlight/code/v2/reporter-x25519")
    return index, reporter_sk


def read_pepper(path):
    text = open(path, "rb").read().strip()  # surrounding whitespace trimmed
    need(len(text) == 64 and all(c in b"0123456789abcdef" for c in text),
         "pepper file is damaged (expected 64 lowercase hex digits)")
    return bytes.fromhex(text.decode())


# ---- Transparency log (proof of filing) ----------------------------------

def node(left, right):
    return sha256(b"\x01" + left + right)


def verify_inclusion(index, size, leaf_hash, path, root):
    # RFC 9162 §2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, path):
    # RFC 9162 §2.1.4.2
    if first == second:
        return not path and first_hash == second_hash
    if first == 0 or first > second or not path and first & (first - 1):
        return False
    if first & (first - 1) == 0:  # a power of two
        path = [first_hash] + list(path)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def ed25519_ok(public, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


def envelopes_hash(parts):
    h = b"sunlight/log-envelopes/v1"
    for p in parts:
        h += struct.pack(">Q", len(p)) + p
    return sha256(h)


def check_receipt(fx, db, pepper, case_id):
    rc = fx["receipt"]
    need(set(rc) == {"version", "suite", "log_key", "leaf", "promise"}, "receipt: fields")
    need(rc["version"] == 1 and rc["suite"] == "modern", "receipt: not version 1, modern")
    need(set(rc["leaf"]) == {"envelopes", "nonce", "day"}, "receipt: leaf fields")
    log_key = bytes.fromhex(rc["log_key"])
    # The log key: HKDF-SHA256(salt none, ikm = pepper, info = label ‖ 0x00) = Ed25519 seed
    seed = hkdf(pepper, None, b"sunlight/log-key/v1" + b"\x00")
    derived = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*RAW)
    need(derived == log_key, "receipt: log_key is not the key derived from the pepper")

    envelopes = bytes.fromhex(rc["leaf"]["envelopes"])
    nonce = bytes.fromhex(rc["leaf"]["nonce"])
    day = rc["leaf"]["day"].encode("ascii")
    need(len(envelopes) == 32 and len(nonce) == 16 and len(day) == 10, "receipt: leaf sizes")
    record = b"sunlight/log-leaf/v1" + envelopes + nonce + day
    leaf_hash = sha256(b"\x00" + record)
    signature = ed25519_ok(log_key, bytes.fromhex(rc["promise"]),
                           b"sunlight/log-promise/v1" + leaf_hash + day)
    need(signature, "receipt: bad signature")

    heads = fx["heads"]
    heads = heads["heads"] if isinstance(heads, dict) else heads
    by_size = {}
    for h in sorted(heads, key=lambda h: h["size"]):
        root = bytes.fromhex(h["root"])
        msg = b"sunlight/log-head/v1" + struct.pack(">Q", h["size"]) + root + h["day"].encode()
        need(ed25519_ok(log_key, bytes.fromhex(h["signature"]), msg),
             f"the head of size {h['size']} ({h['day']}) is not signed by this log's key")
        need(h["size"] not in by_size or by_size[h["size"]] == root, "the log forked")
        by_size[h["size"]] = root

    pr = fx["proof"]
    need(pr["size"] in by_size, f"inclusion proof: no head of size {pr['size']}")
    included = verify_inclusion(pr["index"], pr["size"], leaf_hash,
                                [bytes.fromhex(p) for p in pr["path"]], by_size[pr["size"]])
    need(included, f"inclusion proof fails against the head of size {pr['size']}")

    consistent = None
    co = fx.get("consistency")
    need(co or pr["size"] == max(by_size), "consistency: no proof up to the newest head")
    if co:
        need(co["from"] == pr["size"] and co["to"] in by_size, "consistency: wrong sizes")
        consistent = verify_consistency(co["from"], co["to"], by_size[co["from"]],
                                        by_size[co["to"]], [bytes.fromhex(p) for p in co["path"]])
        need(consistent, f"consistency proof {co['from']} -> {co['to']} fails: the log forked")
        need(co["to"] == max(by_size), "consistency: not up to the newest head")

    # Recompute the envelopes hash: the report, then its files (message_id NULL)
    # by attachments.id ascending: sealed_meta, stream_header, chunks by seq.
    (sealed_report,) = db.execute("SELECT sealed_report FROM cases WHERE id = ?",
                                  (case_id,)).fetchone()
    leaf_recomputed = None
    if sealed_report:
        parts = [sealed_report]
        files = db.execute("SELECT id, sealed_meta, stream_header FROM attachments "
                           "WHERE case_id = ? AND message_id IS NULL", (case_id,)).fetchall()
        for aid, meta, hdr in sorted(files):  # 16 id bytes compared as bytes
            parts += [meta, hdr] + [c for (c,) in db.execute(
                "SELECT data FROM attachment_chunks WHERE attachment_id = ? ORDER BY seq", (aid,))]
        leaf_recomputed = envelopes_hash(parts) == envelopes
        if not leaf_recomputed:
            print("warning: the envelopes hash recomputed from the database differs "
                  "from the receipt's", file=sys.stderr)
    return {"signature": signature, "included": included, "consistent": consistent,
            "leaf_recomputed": leaf_recomputed}


# ---- Implementing the format from this page ------------------------------

def main(path):
    fx = json.load(open(path))
    db = sqlite3.connect(f"file:{fx['db']}?mode=ro", uri=True)
    pepper = read_pepper(fx["pepper_file"])
    case_id = uuid.UUID(fx["case_id"]).bytes  # ids are 16-byte BLOBs (Storage)
    unit = fx["unit"]

    # Getting a unit's private key, 1: recovery key -> wrap of kind 2, bound to the unit id.
    row = db.execute("SELECT recovery_wrapped_key, public_key FROM units WHERE id = ?",
                     (unit,)).fetchone()
    need(row, f"no unit {unit}")
    wrapped, public = row
    need(len(wrapped) > 0, f"unit {unit} has no recovery key")
    unit_sk = unwrap(wrapped, recovery_key_bytes(fx["recovery_key"]), 2, unit)
    need(x25519_public(unit_sk) == public, "the unwrapped key is not units.public_key")
    # 3: add the retired keys, newest generation first, item unit-key-retired:U:G.
    secrets = [unit_sk]
    for g, pub, sealed in db.execute(
            "SELECT generation, public_key, sealed_to_successor FROM unit_key_history "
            "WHERE unit_id = ? ORDER BY generation DESC", (unit,)):
        sk = open_envelope(sealed, (NIL, f"unit-key-retired:{unit}:{g}".encode()),
                           secrets, f"retired key {g}")
        need(len(sk) == 32 and x25519_public(sk) == pub, f"retired key {g}: wrong key")
        secrets.append(sk)

    case = db.execute("SELECT sealed_report, unit_id, reporter_public_key, code_scheme "
                      "FROM cases WHERE id = ?", (case_id,)).fetchone()
    need(case, f"no case {fx['case_id']}")
    sealed_report, case_unit, reporter_pk, scheme = case
    need(len(sealed_report) > 0, "the case was purged")

    # Opening a case's material with a unit key: report, item "report".
    report = decode_padded(open_envelope(sealed_report, (case_id, b"report"), secrets,
                                         "the report"), "ReportContent")

    # Opening with a tracking code (scheme 2, modern).
    need(scheme == 2, f"code scheme {scheme}: only scheme 2 is implemented")
    (salt,) = db.execute("SELECT value FROM settings WHERE key = 'code_salt'").fetchone()
    need(len(salt) == 16, "code_salt is not 16 bytes")
    index, reporter_sk = stretch_v2(parse_code(fx["code"]), salt, pepper)
    found = db.execute("SELECT id FROM cases WHERE lookup_key = ?", (index,)).fetchone()
    need(found, "the tracking code finds no case (lookup_key)")
    need(found[0] == case_id, "the tracking code finds another case")
    need(x25519_public(reporter_sk) == reporter_pk,
         "reporter key from the code != cases.reporter_public_key")
    report_via_code = decode_padded(open_envelope(sealed_report, (case_id, b"report"),
                                                  [reporter_sk], "the report (by code)"),
                                    "ReportContent")
    need(report_via_code == report, "the report differs when opened by code")

    # Messages: item "message/" ‖ id; a staff message is tagged (0x53 ‖ …).
    messages = []
    for mid, author, staff_id, blob in db.execute(
            "SELECT id, author, staff_id, sealed_body FROM messages WHERE case_id = ? "
            "ORDER BY created_at, rowid", (case_id,)).fetchall():
        ctx = (case_id, b"message/" + mid)
        env, auth = split_tag(blob, ctx, {unit: secrets}, case_unit, staff_id or b"")
        need(author != "staff" or auth == "verified", f"staff message {uuid.UUID(bytes=mid)}: tag {auth}")
        need(author == "staff" or auth == "untagged", "a reporter message carries a tag")
        msg = decode_padded(open_envelope(env, ctx, secrets, "a message"), "MessageContent")
        if has_slot_for(env, reporter_pk):  # sealed to the reporter too: must open alike
            need(decode_padded(open_envelope(env, ctx, [reporter_sk], "a message (by code)"),
                               "MessageContent") == msg, "message differs by code")
        messages.append(msg)

    # Attachments: meta (item attachment-meta/ ‖ id) and STREAM (attachment/ ‖ id);
    # the report's files first, then the messages', each by arrival day and id.
    attachments = []
    for aid, meta_blob, header, count, sealed_bytes in db.execute(
            "SELECT id, sealed_meta, stream_header, chunk_count, sealed_bytes FROM attachments "
            "WHERE case_id = ? ORDER BY message_id IS NOT NULL, created_at, id",
            (case_id,)).fetchall():
        meta = decode_padded(open_envelope(meta_blob, (case_id, b"attachment-meta/" + aid),
                                           secrets, "attachment meta"), "AttachmentMeta")
        rows = db.execute("SELECT seq, data FROM attachment_chunks WHERE attachment_id = ? "
                          "ORDER BY seq", (aid,)).fetchall()
        need([q for q, _ in rows] == list(range(count)), "attachment: chunk rows missing or extra")
        chunks = [c for _, c in rows]
        need(sum(map(len, chunks)) == sealed_bytes, "attachment: sealed_bytes mismatch")
        data = open_stream(header, chunks, (case_id, b"attachment/" + aid), secrets)
        need(len(data) == meta["size"], "attachment: size differs from AttachmentMeta")
        if has_slot_for(header, reporter_pk):
            need(open_stream(header, chunks, (case_id, b"attachment/" + aid),
                             [reporter_sk]) == data, "attachment differs by code")
        attachments.append({"file_name": meta["file_name"], "declared_type": meta["declared_type"],
                            "size": meta["size"], "sha256": hashlib.sha256(data).hexdigest()})

    receipt = check_receipt(fx, db, pepper, case_id)
    print(json.dumps({"report": report, "report_via_code": report_via_code,
                      "messages": messages, "attachments": attachments, "receipt": receipt}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 reader.py FIXTURE.json")
    try:
        main(sys.argv[1])
    except Fail as e:
        sys.exit(f"error: {e}")
    except (KeyError, TypeError, ValueError, OSError, sqlite3.Error) as e:
        sys.exit(f"error: {type(e).__name__}: {e}")
