"""The API contract of both apps, checked from outside against a running
`sunlight serve` (started by tests/contract/run): the OpenAPI documents are
valid, schemathesis finds no failure with every check, and a client
generated from each document files a report, looks it up, signs in and
reads a queue.

Usage: contract.py WORK_DIR INTAKE_URL TRIAGE_URL DEMO_LOGINS
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SEED = "20261204"
# Test cases per operation in each run; with the seed this fixes what is
# sent (stateful scenarios included): about 5,000 requests, under a minute.
EXAMPLES = os.environ.get("SUNLIGHT_CONTRACT_EXAMPLES", "50")
COOKIE = "sunlight_staff"


def totp(secret: str, at: float) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), as authenticator apps compute it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def logins(path: Path) -> dict:
    """`login EMAIL PASSWORD ROLE UNIT TOTP` lines of `sunlight demo`."""
    found = {}
    for line in path.read_text().splitlines():
        parts = line.split(" ")
        if parts[0] == "login":
            _, email, password, role, unit, secret = parts
            found[(role, unit)] = (email, password, None if secret == "-" else secret)
    return found


def sign_in(triage: str, login) -> tuple:
    """A session cookie and CSRF token; a member's code is never reused, so
    each login is signed in once (the runs use different members)."""
    email, password, secret = login
    body = {"email": email, "password": password}
    if secret:
        body["totp"] = totp(secret, time.time())
    res = httpx.post(f"{triage}/api/v1/session", json=body)
    res.raise_for_status()
    return res.cookies[COOKIE], res.json()["csrf_token"]


def validate(work: Path, name: str, url: str) -> Path:
    doc = work / f"{name}.json"
    doc.write_bytes(httpx.get(url).content)
    subprocess.run([BIN / "openapi-spec-validator", doc], check=True)
    return doc


# How schemathesis signs in: through the document's security schemes, so
# that its checks know the cookie and the header and can leave them out
# (ignored_auth, negative tests). The values come from the environment, not
# the command line.
STAFF_AUTH = """
[auth.openapi.session]
api_key = "${SUNLIGHT_CONTRACT_SESSION}"

[auth.openapi.csrf]
api_key = "${SUNLIGHT_CONTRACT_CSRF}"
"""


def schemathesis(work: Path, name: str, doc_url: str, *extra: str, session=None, real=None) -> list:
    """One schemathesis run with every check; returns the requests sent.
    Any failure fails the whole check."""
    har = work / f"{name}.har"
    config = work / f"{name}.toml"
    env = dict(os.environ)
    text = (HERE / "schemathesis.toml").read_text()
    if session:
        text += STAFF_AUTH
        env["SUNLIGHT_CONTRACT_SESSION"], env["SUNLIGHT_CONTRACT_CSRF"] = session
    # Paths whose `{id}` is a real case or member, so the handlers behind
    # the 404 are exercised too (the other runs send random ids).
    for regex, value in (real or {}).items():
        text += f'\n[[operations]]\ninclude-path-regex = "{regex}"\nparameters = {{ "path.id" = "{value}" }}\n'
    config.write_text(text)
    done = subprocess.run(
        [
            BIN / "schemathesis",
            "--config-file",
            config,
            "run",
            doc_url,
            "--checks",
            "all",
            "--seed",
            SEED,
            "--max-examples",
            EXAMPLES,
            "--workers",
            "1",
            "--report",
            "har",
            "--report-har-path",
            har,
            *extra,
        ],
        env=env,
    )
    if done.returncode != 0:
        sys.exit(f"schemathesis run {name}: failures (above); the API and its document disagree")
    return json.loads(har.read_text())["log"]["entries"]


def succeeded(entries, method: str, path: str) -> int:
    """How many requests to `method path…` were answered 2xx: a run whose
    session broke would pass on declared 401s alone, so each run must show
    that it got past the sign-in where it should."""
    return sum(
        1
        for e in entries
        if e["request"]["method"] == method
        and httpx.URL(e["request"]["url"]).path.startswith(path)
        and 200 <= e["response"]["status"] < 300
    )


def require(entries, name: str, wanted) -> int:
    for method, path in wanted:
        if succeeded(entries, method, path) == 0:
            sys.exit(f"schemathesis run {name}: no {method} {path} succeeded; was the session lost?")
    return len(entries)


def generated_clients(work: Path, intake: str, triage: str, login) -> str:
    """Clients generated from the two documents do the basic work; returns
    the id of the case filed."""
    for name in ("intake", "triage"):
        subprocess.run(
            [
                BIN / "openapi-python-client",
                "generate",
                "--path",
                work / f"{name}.json",
                "--meta",
                "none",
                "--output-path",
                work / f"{name}_client",
                "--overwrite",
            ],
            check=True,
            env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
        )
    sys.path.insert(0, str(work))
    from intake_client.api.default import add_message, create_report, status, units
    from triage_client.api.cases import case as case_op
    from triage_client.api.queues import queue
    from triage_client.api.session import sign_in as sign_in_op
    from intake_client import Client
    from intake_client.models import Accused, CodeRequest, MessageRequest, ReportRequest, Reporter
    from intake_client.models import AccusedRole, ReportRequestCategory, ReportRequestSelectionStage
    from triage_client import AuthenticatedClient
    from triage_client import Client as StaffClient
    from triage_client.models import SignIn

    client = Client(base_url=intake)
    listed = units.sync(client=client)
    assert any(u.id == "gd-gz-tianhe" for u in listed), listed
    report = ReportRequest(
        unit="gd-gz-tianhe",
        category=ReportRequestCategory.CANVASSING_BRIBERY,
        accused=Accused(name="王某", position="副局长", role=AccusedRole.UNIT_LEADER),
        selection_stage=ReportRequestSelectionStage.RECOMMENDATION,
        narrative="民主推荐前请客送礼，由生成的客户端提交。",
        real_name=False,
        reporter=Reporter(name="", phone=""),
    )
    receipt = create_report.sync(client=client, body=report)
    code = receipt.tracking_code
    found = status.sync(client=client, body=CodeRequest(code=code))
    assert found.stage.value in ("received", "verify"), found
    stored = add_message.sync(client=client, body=MessageRequest(code=code, body="补充：时间是上月。"))
    assert stored.received_at, stored
    wrong = status.sync_detailed(client=client, body=CodeRequest(code="1" * 20))
    assert wrong.status_code == 422, wrong

    email, password, secret = login
    anonymous = StaffClient(base_url=triage)
    signed = sign_in_op.sync_detailed(
        client=anonymous, body=SignIn(email=email, password=password, totp=totp(secret, time.time()) if secret else None)
    )
    assert signed.status_code == 200, signed
    cookie = signed.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    member = AuthenticatedClient(
        base_url=triage,
        token=cookie,
        prefix="",
        auth_header_name="X-Unused",
        cookies={COOKIE: cookie},
        headers={"X-CSRF-Token": signed.parsed.csrf_token},
    )
    # Routing runs every few seconds: the report reaches the unit's
    # acceptance (received) queue, where it waits for the desk's decision.
    deadline = time.time() + 30
    while True:
        lines = queue.sync(client=member, stage="received", unit="gd-gz-tianhe")
        if lines:
            break
        assert time.time() < deadline, "the report never reached the acceptance queue"
        time.sleep(1)
    assert all(line.unit == "gd-gz-tianhe" for line in lines), lines
    case = case_op.sync_detailed(client=member, id=lines[0].case_id)
    assert case.status_code == 200, case
    print(f"generated clients: filed, looked up, replied; signed in and read {len(lines)} queue line(s)")
    return lines[0].case_id


def a_member(triage: str, session, role: str) -> str:
    """The id of a member of the admin's unit with `role`."""
    cookie, _ = session
    res = httpx.get(f"{triage}/api/v1/staff", cookies={COOKIE: cookie})
    res.raise_for_status()
    return next(m["id"] for m in res.json() if m["role"] == role)


def main() -> None:
    work, intake, triage, demo = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    members = logins(demo)
    started = time.time()
    validate(work, "intake", f"{intake}/api/v1/openapi.json")
    validate(work, "triage", f"{triage}/api/v1/openapi.json")
    # The client test first: schemathesis files many reports after it.
    case_id = generated_clients(work, intake, triage, members[("verifier", "gd-gz-tianhe")])
    counts = {}
    entries = schemathesis(work, "intake", f"{intake}/api/v1/openapi.json")
    # A schema-valid report names a real unit by chance only: filing is
    # shown by the generated client above.
    counts["intake"] = require(entries, "intake", [("GET", "/api/v1/units")])
    # Sign-out and the password change end or change the session the
    # other runs use: they get short runs of their own, each with a member
    # of its own.
    session_changes = ["--exclude-operation-id", "sign_out", "--exclude-operation-id", "change_password", "--exclude-operation-id", "confirm_totp"]
    for role, unit in (("supervisor", "gd-gz-tianhe"), ("admin", "gd-gz")):
        session = sign_in(triage, members[(role, unit)])
        real = {"^/api/v1/cases/": case_id} if role == "supervisor" else {"^/api/v1/staff/": a_member(triage, session, "intake")}
        entries = schemathesis(
            work, f"triage-{role}", f"{triage}/api/v1/openapi.json", *session_changes, session=session, real=real
        )
        # Admins keep the accounts and read no queue or case.
        wanted = [("GET", "/api/v1/queues/"), ("GET", f"/api/v1/cases/{case_id}")]
        wanted = wanted if role == "supervisor" else [("GET", "/api/v1/staff")]
        counts[f"triage as {role}"] = require(entries, role, wanted)
    # The password run cannot succeed (schemathesis does not know the
    # current password): it checks the refusals and their declarations.
    for name, ops, login, wanted in (
        ("sign-out", ["sign_out"], members[("verifier", "gd")], [("DELETE", "/api/v1/session")]),
        ("password", ["change_password", "confirm_totp"], members[("supervisor", "gd")], []),
    ):
        include = [arg for op in ops for arg in ("--include-operation-id", op)]
        session = sign_in(triage, login)
        entries = schemathesis(work, f"triage-{name}", f"{triage}/api/v1/openapi.json", *include, session=session)
        counts[f"triage {name}"] = require(entries, name, wanted)
    total = sum(counts.values())
    print(f"schemathesis: {total} requests, 0 failures, in {time.time() - started:.0f} s: {counts}")


if __name__ == "__main__":
    main()
