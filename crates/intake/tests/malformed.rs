//! A corpus of malformed requests against the intake app, on SQLite and
//! PostgreSQL. Every one must be answered with a 4xx (never a 2xx or a 5xx)
//! carrying a clear, translated error — a JSON error object on `/api/…`, a
//! page with `id="errors"` elsewhere — and none may write anything.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "tests fail loudly"
)]

use crate::common;

use std::collections::HashSet;

use common::{ENGINES, Harness, report_form, report_json};
use reqwest::Method;
use sunlight_core::report::Limits;
use sunlight_intake::{IntakeSettings, RateLimits};
use sunlight_testkit::raw_http_exchange;

/// The multipart boundary of every hand-built multipart body.
const B: &str = "sunlight-malformed-7f3a";

/// One malformed request and the 4xx it must get.
struct Case {
    name: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    expect: u16,
}

#[derive(Default)]
struct Corpus(Vec<Case>);

impl Corpus {
    fn raw(
        &mut self,
        name: &str,
        method: &str,
        path: &str,
        headers: &[(&'static str, &[u8])],
        body: impl Into<Vec<u8>>,
        expect: u16,
    ) {
        self.0.push(Case {
            name: name.to_owned(),
            method: method.parse().unwrap(),
            path: path.to_owned(),
            headers: headers.iter().map(|(k, v)| (*k, v.to_vec())).collect(),
            body: body.into(),
            expect,
        });
    }

    fn form(&mut self, name: &str, path: &str, body: impl Into<Vec<u8>>, expect: u16) {
        self.raw(
            name,
            "POST",
            path,
            &[("content-type", b"application/x-www-form-urlencoded")],
            body,
            expect,
        );
    }

    fn multipart(&mut self, name: &str, path: &str, body: impl Into<Vec<u8>>, expect: u16) {
        let ct = format!("multipart/form-data; boundary={B}");
        self.raw(
            name,
            "POST",
            path,
            &[("content-type", ct.as_bytes())],
            body,
            expect,
        );
    }

    fn json(&mut self, name: &str, path: &str, body: impl Into<Vec<u8>>, expect: u16) {
        self.raw(
            name,
            "POST",
            path,
            &[("content-type", b"application/json")],
            body,
            expect,
        );
    }
}

/// `application/x-www-form-urlencoded` of the pairs, as a browser sends it.
fn urlencode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        for (j, s) in [k, v].iter().enumerate() {
            if j > 0 {
                out.push(b'=');
            }
            for b in s.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        out.push(b);
                    }
                    b' ' => out.push(b'+'),
                    _ => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
                }
            }
        }
    }
    out
}

/// A valid report form with `changes` applied: `Some(v)` sets (or adds)
/// a field, `None` removes it.
fn form_with(changes: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = report_form("gd-gz", "有人在推荐阶段拉票")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for (key, value) in changes {
        let at = form.iter().position(|(k, _)| k == key);
        match (at, value) {
            (Some(i), Some(v)) => form[i].1 = (*v).to_owned(),
            (None, Some(v)) => form.push(((*key).to_owned(), (*v).to_owned())),
            (Some(i), None) => {
                form.remove(i);
            }
            (None, None) => {}
        }
    }
    form
}

fn encoded(form: &[(String, String)]) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    urlencode(&pairs)
}

fn part(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out =
        format!("--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").into_bytes();
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    out
}

fn file(name: &str, file_name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn end() -> Vec<u8> {
    format!("--{B}--\r\n").into_bytes()
}

/// Text parts of a form, in order.
fn parts(form: &[(String, String)]) -> Vec<u8> {
    form.iter()
        .flat_map(|(k, v)| part(k, v.as_bytes()))
        .collect()
}

fn json_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v = report_json("gd-gz", "ordinary", "有人在考察阶段打招呼");
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// The same code with one digit changed (caught by the check digit).
fn mistyped(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().filter(u8::is_ascii_digit).collect();
    digits[7] = if digits[7] == b'9' {
        b'0'
    } else {
        digits[7] + 1
    };
    String::from_utf8(digits).unwrap()
}

fn corpus(known: &str, unknown: &str) -> Vec<Case> {
    let mut c = Corpus::default();
    let bad_digit = mistyped(known);
    let known_q = serde_json::to_string(known).unwrap();

    // --- Wrong encoding -------------------------------------------------
    c.form(
        "form: narrative percent-decodes to invalid UTF-8",
        "/report",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=%FF%FE".to_vec(),
        ]
        .concat(),
        400,
    );
    c.form(
        "form: raw 0xFF byte in a value",
        "/report?lang=en",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=ab\xFFcd".to_vec(),
        ]
        .concat(),
        400,
    );
    c.form(
        "form: invalid UTF-8 in a field name",
        "/report",
        b"%C3%28=x&unit=gd".to_vec(),
        400,
    );
    c.form(
        "form: overlong UTF-8 encoding",
        "/report",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=%C0%AF".to_vec(),
        ]
        .concat(),
        400,
    );
    c.form(
        "form: UTF-16 surrogate encoded as UTF-8",
        "/report",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=%ED%A0%80".to_vec(),
        ]
        .concat(),
        400,
    );
    c.form(
        "form: percent escape with a non-hex digit",
        "/report",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=%G1".to_vec(),
        ]
        .concat(),
        400,
    );
    c.form(
        "form: truncated percent escape",
        "/report",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=abc%4".to_vec(),
        ]
        .concat(),
        400,
    );
    c.form(
        "form: lone percent sign at the end",
        "/report?lang=en",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=%".to_vec(),
        ]
        .concat(),
        400,
    );
    c.form(
        "status form: code is invalid UTF-8",
        "/status",
        b"code=%FF".to_vec(),
        400,
    );
    c.form(
        "message form: bad percent escape in the body",
        "/status/messages",
        format!("code={known}&body=%ZZ").into_bytes(),
        400,
    );
    c.multipart(
        "multipart: text part is invalid UTF-8",
        "/report",
        [
            parts(&form_with(&[("narrative", None)])),
            part("narrative", b"\xC3\x28 broken"),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: Latin-1 text part on the message form",
        "/status/messages?lang=en",
        [
            part("code", known.as_bytes()),
            part("body", b"caf\xE9"),
            end(),
        ]
        .concat(),
        400,
    );
    c.json(
        "json: invalid UTF-8 in a string",
        "/api/v1/reports",
        {
            let body = String::from_utf8(json_with(|v| v["narrative"] = "MARK".into())).unwrap();
            let (head, tail) = body.split_once("MARK").unwrap();
            [head.as_bytes(), b"\xFF\xFE", tail.as_bytes()].concat()
        },
        400,
    );
    c.json(
        "json: lone surrogate escape",
        "/api/v1/status",
        br#"{"code":"\ud800"}"#.to_vec(),
        400,
    );
    c.json(
        "json: UTF-16 encoded body",
        "/api/v1/status",
        "{\"code\":\"1\"}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>(),
        400,
    );

    // --- Missing fields ---------------------------------------------------
    c.form("form: empty body", "/report?lang=en", Vec::new(), 422);
    c.form(
        "form: no narrative",
        "/report",
        encoded(&form_with(&[("narrative", None)])),
        422,
    );
    c.form(
        "form: narrative of spaces only",
        "/report",
        encoded(&form_with(&[("narrative", Some("  \r\n\t  "))])),
        422,
    );
    c.form(
        "form: no unit",
        "/report",
        encoded(&form_with(&[("unit", None)])),
        422,
    );
    c.json("json: empty object", "/api/v1/reports", b"{}".to_vec(), 422);
    c.json(
        "json: no accused",
        "/api/v1/reports?lang=en",
        json_with(|v| {
            v.as_object_mut().unwrap().remove("accused");
        }),
        422,
    );
    c.form("status form: no code", "/status", Vec::new(), 422);
    c.json(
        "status json: no code",
        "/api/v1/status",
        b"{}".to_vec(),
        400,
    );
    c.json(
        "message json: no body",
        "/api/v1/status/messages",
        format!("{{\"code\":{known_q}}}").into_bytes(),
        400,
    );
    c.form(
        "message form: no code",
        "/status/messages",
        b"body=hello".to_vec(),
        422,
    );

    // --- Unknown fields ---------------------------------------------------
    c.form(
        "form: unknown field",
        "/report",
        encoded(&form_with(&[("ip", Some("10.0.0.1"))])),
        400,
    );
    c.form(
        "form: field name differing in case",
        "/report?lang=en",
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&Narrative=x".to_vec(),
        ]
        .concat(),
        400,
    );
    c.json(
        "json: unknown top-level field",
        "/api/v1/reports",
        json_with(|v| v["ip"] = "10.0.0.1".into()),
        400,
    );
    c.json(
        "json: unknown nested field",
        "/api/v1/reports",
        json_with(|v| v["accused"]["age"] = 52.into()),
        400,
    );
    c.json(
        "json: flat form field names",
        "/api/v1/reports",
        json_with(|v| v["accused_name"] = "王五".into()),
        400,
    );
    c.json(
        "status json: unknown field",
        "/api/v1/status",
        format!("{{\"code\":{known_q},\"lang\":\"en\"}}").into_bytes(),
        400,
    );
    c.json(
        "message json: unknown field",
        "/api/v1/status/messages",
        format!("{{\"code\":{known_q},\"body\":\"x\",\"files\":[]}}").into_bytes(),
        400,
    );
    c.form(
        "status form: unknown field",
        "/status",
        format!("code={known}&remember=1").into_bytes(),
        400,
    );
    c.multipart(
        "multipart: unknown text part",
        "/report",
        [parts(&form_with(&[])), part("evidence_note", b"x"), end()].concat(),
        400,
    );
    c.multipart(
        "multipart: file under an unknown name",
        "/report",
        [
            parts(&form_with(&[])),
            file("evidence", "a.txt", b"abc"),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: text field sent as a file",
        "/report",
        [
            parts(&form_with(&[("narrative", None)])),
            file("narrative", "n.txt", b"text"),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "message multipart: unknown field",
        "/status/messages",
        [
            part("code", known.as_bytes()),
            part("body", b"x"),
            part("subject", b"y"),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "status multipart: file part",
        "/status",
        [
            part("code", known.as_bytes()),
            file("attachment", "a", b"x"),
            end(),
        ]
        .concat(),
        400,
    );

    // --- Duplicate fields ---------------------------------------------------
    c.form(
        "form: unit twice",
        "/report",
        [encoded(&form_with(&[])), b"&unit=gd".to_vec()].concat(),
        400,
    );
    c.form(
        "form: real_name twice",
        "/report?lang=en",
        [
            encoded(&form_with(&[])),
            b"&real_name=off&real_name=on".to_vec(),
        ]
        .concat(),
        400,
    );
    c.json(
        "json: key twice",
        "/api/v1/reports",
        {
            let mut body = json_with(|_| {});
            body.pop();
            body.extend_from_slice(br#","unit":"gd"}"#);
            body
        },
        400,
    );
    c.json(
        "status json: code twice",
        "/api/v1/status",
        format!("{{\"code\":{known_q},\"code\":{known_q}}}").into_bytes(),
        400,
    );
    c.form(
        "status form: code twice",
        "/status",
        format!("code={known}&code={known}").into_bytes(),
        400,
    );
    c.form(
        "message form: body twice",
        "/status/messages",
        format!("code={known}&body=a&body=b").into_bytes(),
        400,
    );
    c.multipart(
        "multipart: narrative twice",
        "/report",
        [parts(&form_with(&[])), part("narrative", b"again"), end()].concat(),
        400,
    );

    // --- Oversize -------------------------------------------------------------
    let long_narrative = "a".repeat(50_001);
    c.form(
        "form: narrative of 50,001 characters",
        "/report?lang=en",
        encoded(&form_with(&[("narrative", Some(&long_narrative))])),
        422,
    );
    c.multipart(
        "multipart: narrative of 50,001 Chinese characters",
        "/report",
        [
            parts(&form_with(&[("narrative", Some(&"字".repeat(50_001)))])),
            end(),
        ]
        .concat(),
        422,
    );
    c.json(
        "json: narrative of 50,001 characters",
        "/api/v1/reports",
        json_with(|v| v["narrative"] = long_narrative.clone().into()),
        422,
    );
    c.json(
        "json: accused name of 201 characters",
        "/api/v1/reports",
        json_with(|v| v["accused"]["name"] = "王".repeat(201).into()),
        422,
    );
    c.json(
        "json: body over the size limit",
        "/api/v1/reports",
        json_with(|v| v["narrative"] = "a".repeat(420_000).into()),
        413,
    );
    c.form(
        "form: body over the size limit",
        "/report",
        encoded(&form_with(&[("narrative", Some(&"a".repeat(650_000)))])),
        413,
    );
    c.multipart(
        "multipart: one text part over the size limit",
        "/report",
        [
            parts(&form_with(&[("narrative", Some(&"a".repeat(210_000)))])),
            end(),
        ]
        .concat(),
        413,
    );
    c.multipart(
        "multipart: whole body over the limit (unbounded empty-name file)",
        "/report?lang=en",
        [
            parts(&form_with(&[])),
            file("attachment", "", &vec![b'x'; 1024 * 1024]),
            end(),
        ]
        .concat(),
        413,
    );
    c.multipart(
        "multipart: attachment over the per-file limit",
        "/report",
        [
            parts(&form_with(&[])),
            file("attachment", "big.bin", &[7u8; 2048]),
            end(),
        ]
        .concat(),
        413,
    );
    c.multipart(
        "multipart: six attachments (five allowed)",
        "/report?lang=en",
        [
            parts(&form_with(&[])),
            (0..6)
                .flat_map(|i| file("attachment", &format!("f{i}.txt"), b"small"))
                .collect(),
            end(),
        ]
        .concat(),
        422,
    );
    c.multipart(
        "message multipart: attachment over the per-file limit",
        "/status/messages",
        [
            part("code", known.as_bytes()),
            part("body", b"see file"),
            file("attachment", "big.bin", &[7u8; 4096]),
            end(),
        ]
        .concat(),
        413,
    );
    c.multipart(
        "message multipart: six attachments (five allowed)",
        "/status/messages",
        [
            part("code", known.as_bytes()),
            part("body", b"files"),
            (0..6)
                .flat_map(|i| file("attachment", &format!("f{i}.txt"), b"small"))
                .collect(),
            end(),
        ]
        .concat(),
        422,
    );
    c.json(
        "message json: body of 20,001 characters",
        "/api/v1/status/messages",
        serde_json::to_vec(&serde_json::json!({"code": known, "body": "b".repeat(20_001)}))
            .unwrap(),
        422,
    );
    c.json(
        "message json: body over the size limit",
        "/api/v1/status/messages",
        serde_json::to_vec(&serde_json::json!({"code": known, "body": "b".repeat(170_000)}))
            .unwrap(),
        413,
    );
    c.form(
        "message form: body of 20,001 characters",
        "/status/messages",
        urlencode(&[("code", known), ("body", &"b".repeat(20_001))]),
        422,
    );
    c.json(
        "status json: body over the size limit",
        "/api/v1/status",
        serde_json::to_vec(&serde_json::json!({"code": " ".repeat(2000)})).unwrap(),
        413,
    );
    c.form(
        "status form: body over the size limit",
        "/status",
        urlencode(&[("code", &" ".repeat(5000))]),
        413,
    );

    // --- Broken multipart ---------------------------------------------------
    c.raw(
        "multipart: no boundary parameter",
        "POST",
        "/report",
        &[("content-type", b"multipart/form-data")],
        [parts(&form_with(&[])), end()].concat(),
        400,
    );
    c.multipart(
        "multipart: truncated in the middle of a part",
        "/report",
        {
            let mut body = parts(&form_with(&[]));
            body.truncate(body.len() - 20);
            body
        },
        400,
    );
    c.multipart(
        "multipart: no closing boundary",
        "/report?lang=en",
        parts(&form_with(&[])),
        400,
    );
    c.multipart(
        "multipart: file cut off after a line break",
        "/report",
        [
            parts(&form_with(&[])),
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"attachment\"; \
                 filename=\"a.txt\"\r\n\r\nabc\r\n"
            )
            .into_bytes(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: cut off inside the closing boundary",
        "/status/messages",
        [
            part("code", known.as_bytes()),
            part("body", b"x"),
            format!("--{}", &B[..6]).into_bytes(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: part with a Content-Length that is not a number",
        "/report",
        [
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"unit\"\r\n\
                 Content-Length: many\r\n\r\ngd\r\n"
            )
            .into_bytes(),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: part Content-Length past the end of the body",
        "/report",
        [
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"narrative\"\r\n\
                 Content-Length: 100000\r\n\r\nshort\r\n"
            )
            .into_bytes(),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: nested multipart part",
        "/report",
        [
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"narrative\"\r\n\
                 Content-Type: multipart/mixed; boundary=inner\r\n\r\n\
                 --inner\r\n\r\nx\r\n--inner--\r\n"
            )
            .into_bytes(),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: part with a hundred headers",
        "/report",
        [
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"unit\"\r\n{}\r\ngd\r\n",
                (0..100)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            )
            .into_bytes(),
            end(),
        ]
        .concat(),
        400,
    );
    c.raw(
        "multipart: empty boundary parameter",
        "POST",
        "/report",
        &[("content-type", b"multipart/form-data; boundary=")],
        [parts(&form_with(&[])), end()].concat(),
        400,
    );
    c.multipart(
        "multipart: close delimiter followed by a lone CR",
        "/report",
        [parts(&form_with(&[])), format!("--{B}--\r").into_bytes()].concat(),
        400,
    );
    c.multipart(
        "multipart: garbage",
        "/report",
        b"\x00\x01garbage that is not multipart at all\r\n\r\n".to_vec(),
        400,
    );
    c.raw(
        "multipart: body framed with another boundary",
        "POST",
        "/report",
        &[("content-type", b"multipart/form-data; boundary=not-the-one")],
        [parts(&form_with(&[])), end()].concat(),
        400,
    );
    c.multipart(
        "multipart: part without a name",
        "/report",
        [
            parts(&form_with(&[])),
            format!("--{B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n").into_bytes(),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: part without Content-Disposition",
        "/report",
        [
            format!("--{B}\r\nContent-Type: text/plain\r\n\r\nx\r\n").into_bytes(),
            parts(&form_with(&[])),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "multipart: part headers never end",
        "/status/messages",
        format!("--{B}\r\nContent-Disposition: form-data; name=\"code\"\r\n").into_bytes(),
        400,
    );
    c.multipart(
        "status multipart: truncated",
        "/status",
        format!("--{B}\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\n{known}")
            .into_bytes(),
        400,
    );

    // --- Wrong content types ------------------------------------------------
    let ok_form = encoded(&form_with(&[]));
    let ok_json = json_with(|_| {});
    c.raw(
        "form route: text/plain",
        "POST",
        "/report",
        &[("content-type", b"text/plain; charset=utf-8")],
        ok_form.clone(),
        415,
    );
    c.raw(
        "form route: no content type",
        "POST",
        "/report?lang=en",
        &[],
        ok_form.clone(),
        415,
    );
    c.json("form route: JSON", "/report", ok_json.clone(), 415);
    c.raw(
        "form route: content type not ASCII",
        "POST",
        "/report",
        &[("content-type", b"application/x-www-form-urlencoded\xFF")],
        ok_form.clone(),
        415,
    );
    c.raw(
        "form route: multipart/mixed",
        "POST",
        "/report",
        &[(
            "content-type",
            format!("multipart/mixed; boundary={B}").as_bytes(),
        )],
        [parts(&form_with(&[])), end()].concat(),
        415,
    );
    c.raw(
        "form route: Latin-1 charset",
        "POST",
        "/report?lang=en",
        &[(
            "content-type",
            b"application/x-www-form-urlencoded; charset=iso-8859-1",
        )],
        [
            encoded(&form_with(&[("narrative", None)])),
            b"&narrative=caf\xE9".to_vec(),
        ]
        .concat(),
        400,
    );
    c.raw(
        "form route: gzip content encoding on a plain body",
        "POST",
        "/report",
        &[
            ("content-type", b"application/x-www-form-urlencoded"),
            ("content-encoding", b"gzip"),
        ],
        encoded(&form_with(&[("narrative", Some("压缩标记"))])),
        415,
    );
    c.raw(
        "json route: brotli content encoding on a plain body",
        "POST",
        "/api/v1/reports",
        &[
            ("content-type", b"application/json"),
            ("content-encoding", b"br"),
        ],
        json_with(|v| v["narrative"] = "压缩标记".into()),
        415,
    );
    c.raw(
        "message route: deflate content encoding",
        "POST",
        "/status/messages",
        &[
            ("content-type", b"application/x-www-form-urlencoded"),
            ("content-encoding", b"deflate"),
        ],
        urlencode(&[("code", known), ("body", "压缩")]),
        415,
    );
    c.form(
        "json route: urlencoded form",
        "/api/v1/reports",
        ok_form.clone(),
        415,
    );
    c.raw(
        "json route: no content type",
        "POST",
        "/api/v1/reports",
        &[],
        ok_json.clone(),
        415,
    );
    c.raw(
        "json route: text/plain",
        "POST",
        "/api/v1/reports?lang=en",
        &[("content-type", b"text/plain")],
        ok_json.clone(),
        415,
    );
    c.raw(
        "json route: application/json-seq",
        "POST",
        "/api/v1/reports",
        &[("content-type", b"application/json-seq")],
        ok_json,
        415,
    );
    c.multipart(
        "status json route: multipart",
        "/api/v1/status",
        [part("code", known.as_bytes()), end()].concat(),
        415,
    );
    c.json(
        "status form route: JSON",
        "/status",
        format!("{{\"code\":{known_q}}}").into_bytes(),
        415,
    );
    c.json(
        "message form route: JSON",
        "/status/messages",
        format!("{{\"code\":{known_q},\"body\":\"x\"}}").into_bytes(),
        415,
    );
    c.form(
        "message json route: urlencoded form",
        "/api/v1/status/messages",
        format!("code={known}&body=x").into_bytes(),
        415,
    );

    // --- Unknown vocabulary values --------------------------------------------
    c.form(
        "form: well-formed unit that does not exist",
        "/report?lang=en",
        encoded(&form_with(&[("unit", Some("gd-nowhere"))])),
        422,
    );
    c.json(
        "json: well-formed unit that does not exist",
        "/api/v1/reports",
        json_with(|v| v["unit"] = "gd-nowhere".into()),
        422,
    );
    c.form(
        "form: malformed unit slug",
        "/report",
        encoded(&form_with(&[("unit", Some("../gd"))])),
        422,
    );
    c.json(
        "json: unit with upper case",
        "/api/v1/reports",
        json_with(|v| v["unit"] = "GD-GZ".into()),
        422,
    );
    c.form(
        "form: unknown category",
        "/report",
        encoded(&form_with(&[("category", Some("bribery"))])),
        422,
    );
    c.json(
        "json: category in upper case",
        "/api/v1/reports",
        json_with(|v| v["category"] = "OFFICE_TRADING".into()),
        422,
    );
    c.form(
        "form: unknown accused_role",
        "/report",
        encoded(&form_with(&[("accused_role", Some("mayor"))])),
        422,
    );
    c.json(
        "json: unknown accused role",
        "/api/v1/reports?lang=en",
        json_with(|v| v["accused"]["role"] = "secretary".into()),
        422,
    );
    c.form(
        "form: unknown selection_stage",
        "/report",
        encoded(&form_with(&[("selection_stage", Some("interview"))])),
        422,
    );
    c.json(
        "json: unknown selection stage",
        "/api/v1/reports",
        json_with(|v| v["selection_stage"] = "done".into()),
        422,
    );

    // --- real_name --------------------------------------------------------------
    c.form(
        "form: real_name=maybe",
        "/report?lang=en",
        encoded(&form_with(&[("real_name", Some("maybe"))])),
        422,
    );
    c.form(
        "form: real_name on without a name",
        "/report",
        encoded(&form_with(&[("real_name", Some("on"))])),
        422,
    );
    c.json(
        "json: real_name as a string",
        "/api/v1/reports",
        json_with(|v| v["real_name"] = "yes".into()),
        400,
    );
    c.json(
        "json: real_name as a number",
        "/api/v1/reports",
        json_with(|v| v["real_name"] = 1.into()),
        400,
    );
    c.json(
        "json: real_name null",
        "/api/v1/reports",
        json_with(|v| v["real_name"] = serde_json::Value::Null),
        400,
    );
    c.json(
        "json: real_name true without a name",
        "/api/v1/reports?lang=en",
        json_with(|v| v["real_name"] = true.into()),
        422,
    );

    // --- Control characters -------------------------------------------------------
    c.form(
        "form: bell in accused_name",
        "/report",
        encoded(&form_with(&[("accused_name", Some("王\u{7}五"))])),
        422,
    );
    c.form(
        "form: line break in accused_position",
        "/report?lang=en",
        encoded(&form_with(&[("accused_position", Some("副局长\n局长"))])),
        422,
    );
    c.form(
        "form: NUL in the narrative",
        "/report",
        encoded(&form_with(&[("narrative", Some("前文\0后文"))])),
        422,
    );
    c.json(
        "json: escape sequence in the accused name",
        "/api/v1/reports",
        json_with(|v| v["accused"]["name"] = "\u{1b}[31m王五".into()),
        422,
    );
    c.json(
        "json: NUL in the phone",
        "/api/v1/reports",
        json_with(|v| v["reporter"]["phone"] = "138\u{0}0000".into()),
        422,
    );
    c.json(
        "json: tab in the reporter name",
        "/api/v1/reports",
        json_with(|v| {
            v["real_name"] = true.into();
            v["reporter"]["name"] = "李\t四".into();
        }),
        422,
    );
    c.form(
        "form: letters in the phone",
        "/report",
        encoded(&form_with(&[("reporter_phone", Some("call me"))])),
        422,
    );
    c.json(
        "message json: control character in the body",
        "/api/v1/status/messages",
        serde_json::to_vec(&serde_json::json!({"code": known, "body": "a\u{8}b"})).unwrap(),
        422,
    );

    // --- Tracking codes -------------------------------------------------------------
    c.json(
        "status json: wrong check digit",
        "/api/v1/status",
        serde_json::to_vec(&serde_json::json!({ "code": bad_digit })).unwrap(),
        422,
    );
    c.form(
        "status form: wrong check digit",
        "/status?lang=en",
        urlencode(&[("code", &bad_digit)]),
        422,
    );
    c.json(
        "status json: 19 digits",
        "/api/v1/status",
        br#"{"code":"1234-5678-9012-3456-789"}"#.to_vec(),
        422,
    );
    c.json(
        "status json: 21 digits",
        "/api/v1/status",
        br#"{"code":"1234-5678-9012-3456-78901"}"#.to_vec(),
        422,
    );
    c.json(
        "status json: empty code",
        "/api/v1/status",
        br#"{"code":""}"#.to_vec(),
        422,
    );
    c.json(
        "status json: letters",
        "/api/v1/status",
        br#"{"code":"1234-5678-ABCD-3456-7890"}"#.to_vec(),
        422,
    );
    c.form(
        "status form: letters",
        "/status",
        b"code=O123-4567-8901-2345-6789".to_vec(),
        422,
    );
    c.form(
        "status form: code padded past 64 characters",
        "/status",
        urlencode(&[("code", &format!("{}{known}", " ".repeat(60)))]),
        422,
    );
    c.form(
        "status form: too short",
        "/status",
        b"code=1234".to_vec(),
        422,
    );
    c.json(
        "status json: code as a number",
        "/api/v1/status",
        br#"{"code":12345678901234567890}"#.to_vec(),
        400,
    );
    c.json(
        "message json: wrong check digit",
        "/api/v1/status/messages",
        serde_json::to_vec(&serde_json::json!({"code": bad_digit, "body": "x"})).unwrap(),
        422,
    );
    c.json(
        "message json: letters in the code",
        "/api/v1/status/messages",
        br#"{"code":"abcd-efgh-ijkl-mnop-qrst","body":"x"}"#.to_vec(),
        422,
    );
    c.form(
        "message form: wrong check digit",
        "/status/messages",
        urlencode(&[("code", &bad_digit), ("body", "x")]),
        422,
    );
    c.form(
        "message form: code too long",
        "/status/messages?lang=en",
        urlencode(&[("code", &format!("{known}1")), ("body", "x")]),
        422,
    );

    // --- Unknown well-formed codes ------------------------------------------------------
    c.json(
        "status json: unknown code",
        "/api/v1/status",
        serde_json::to_vec(&serde_json::json!({ "code": unknown })).unwrap(),
        404,
    );
    c.json(
        "message json: unknown code",
        "/api/v1/status/messages",
        serde_json::to_vec(&serde_json::json!({"code": unknown, "body": "补充"})).unwrap(),
        404,
    );
    c.form(
        "message form: unknown code",
        "/status/messages?lang=en",
        urlencode(&[("code", unknown), ("body", "more")]),
        404,
    );
    c.multipart(
        "message multipart: unknown code with a file",
        "/status/messages",
        [
            part("code", unknown.as_bytes()),
            part("body", b"see file"),
            file("attachment", "a.txt", b"abc"),
            end(),
        ]
        .concat(),
        404,
    );

    // --- Attachment order --------------------------------------------------------------
    c.multipart(
        "multipart: attachment before the text fields",
        "/report?lang=en",
        [
            file("attachment", "first.txt", b"abc"),
            parts(&form_with(&[])),
            end(),
        ]
        .concat(),
        422,
    );
    c.multipart(
        "multipart: a text field after the attachment",
        "/report",
        [
            parts(&form_with(&[("reporter_phone", None)])),
            file("attachment", "a.txt", b"abc"),
            part("reporter_phone", b"123"),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "message multipart: attachment before the code",
        "/status/messages",
        [
            file("attachment", "a.txt", b"abc"),
            part("code", known.as_bytes()),
            part("body", b"x"),
            end(),
        ]
        .concat(),
        400,
    );
    c.multipart(
        "message multipart: body after the attachment",
        "/status/messages",
        [
            part("code", known.as_bytes()),
            file("attachment", "a.txt", b"abc"),
            part("body", b"x"),
            end(),
        ]
        .concat(),
        400,
    );

    // --- Empty messages -------------------------------------------------------------------
    c.form(
        "message form: empty body, no files",
        "/status/messages?lang=en",
        urlencode(&[("code", known), ("body", "")]),
        422,
    );
    c.form(
        "message form: no body field at all",
        "/status/messages",
        urlencode(&[("code", known)]),
        422,
    );
    c.multipart(
        "message multipart: blank body and an empty file input",
        "/status/messages",
        [
            part("code", known.as_bytes()),
            part("body", b"   "),
            file("attachment", "", b""),
            end(),
        ]
        .concat(),
        422,
    );
    c.json(
        "message json: empty body",
        "/api/v1/status/messages",
        serde_json::to_vec(&serde_json::json!({"code": known, "body": ""})).unwrap(),
        422,
    );

    // --- JSON shapes and types ---------------------------------------------------------------
    c.json(
        "json: the report as an array",
        "/api/v1/reports",
        serde_json::to_vec(&serde_json::json!([
            "gd-gz",
            "office_trading",
            {"name": "王五", "position": "副局长", "role": "ordinary"},
            "inspection",
            "按位置排列的举报",
            false,
            {"name": "", "phone": ""}
        ]))
        .unwrap(),
        400,
    );
    c.json("json: empty array", "/api/v1/reports", b"[]".to_vec(), 400);
    c.json(
        "json: null",
        "/api/v1/reports?lang=en",
        b"null".to_vec(),
        400,
    );
    c.json("json: empty body", "/api/v1/reports", Vec::new(), 400);
    c.raw(
        "json: empty body, Accept-Language en",
        "POST",
        "/api/v1/status",
        &[
            ("content-type", b"application/json"),
            ("accept-language", b"en-GB,en;q=0.8"),
        ],
        Vec::new(),
        400,
    );
    c.raw(
        "json: Accept-Language not ASCII",
        "POST",
        "/api/v1/status",
        &[
            ("content-type", b"application/json"),
            ("accept-language", b"\xFFen"),
        ],
        b"{}".to_vec(),
        400,
    );
    c.json(
        "json: lang query not UTF-8",
        "/api/v1/status?lang=%FF",
        b"[]".to_vec(),
        400,
    );
    c.json(
        "json: whitespace only",
        "/api/v1/reports",
        b" \r\n ".to_vec(),
        400,
    );
    c.json(
        "json: a string",
        "/api/v1/reports",
        br#""report""#.to_vec(),
        400,
    );
    c.json(
        "status json: code in an array",
        "/api/v1/status",
        format!("[{known_q}]").into_bytes(),
        400,
    );
    c.json(
        "message json: code and body in an array",
        "/api/v1/status/messages",
        format!("[{known_q},\"位置参数\"]").into_bytes(),
        400,
    );
    c.json(
        "json: accused as an array",
        "/api/v1/reports",
        json_with(|v| v["accused"] = serde_json::json!(["王五", "副局长", "ordinary"])),
        400,
    );
    c.json(
        "json: narrative as a number",
        "/api/v1/reports",
        json_with(|v| v["narrative"] = 42.into()),
        400,
    );
    c.json(
        "json: accused as a string",
        "/api/v1/reports",
        json_with(|v| v["accused"] = "王五".into()),
        400,
    );
    c.json(
        "json: unit as an object",
        "/api/v1/reports",
        json_with(|v| v["unit"] = serde_json::json!({"id": "gd"})),
        400,
    );
    c.json(
        "json: trailing garbage",
        "/api/v1/reports",
        [json_with(|_| {}), b" and more".to_vec()].concat(),
        400,
    );
    c.json(
        "json: two objects",
        "/api/v1/reports",
        [json_with(|_| {}), json_with(|_| {})].concat(),
        400,
    );
    c.json(
        "json: truncated",
        "/api/v1/reports?lang=en",
        br#"{"unit":"gd","category":"oth"#.to_vec(),
        400,
    );
    c.json(
        "json: single quotes",
        "/api/v1/reports",
        b"{'unit':'gd'}".to_vec(),
        400,
    );
    c.json(
        "json: byte order mark",
        "/api/v1/reports",
        [b"\xEF\xBB\xBF".to_vec(), json_with(|_| {})].concat(),
        400,
    );
    c.json(
        "json: nested ten thousand deep",
        "/api/v1/reports",
        format!("{{\"unit\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        400,
    );

    // --- Wrong methods ---------------------------------------------------------------------------
    let routes = [
        "/",
        "/report",
        "/status",
        "/status/messages",
        "/bulletin",
        "/static/style.css",
        "/healthz",
        "/api/v1/reports",
        "/api/v1/status",
        "/api/v1/status/messages",
        "/api/v1/units",
        "/api/v1/openapi.json",
    ];
    for route in routes {
        for method in ["PUT", "DELETE", "PATCH"] {
            c.raw(
                &format!("{method} {route}"),
                method,
                route,
                &[],
                Vec::new(),
                405,
            );
        }
    }
    for route in [
        "/status/messages",
        "/api/v1/reports",
        "/api/v1/status",
        "/api/v1/status/messages",
    ] {
        c.raw(&format!("GET {route}"), "GET", route, &[], Vec::new(), 405);
    }
    for route in [
        "/",
        "/bulletin",
        "/healthz",
        "/static/style.css",
        "/api/v1/units",
        "/api/v1/openapi.json",
    ] {
        c.form(
            &format!("POST {route}"),
            route,
            encoded(&form_with(&[])),
            405,
        );
    }
    c.raw(
        "PUT /report with a valid form",
        "PUT",
        "/report",
        &[("content-type", b"application/x-www-form-urlencoded")],
        encoded(&form_with(&[])),
        405,
    );
    c.raw(
        "OPTIONS /api/v1/reports",
        "OPTIONS",
        "/api/v1/reports",
        &[],
        Vec::new(),
        405,
    );

    // --- Paths that do not exist -------------------------------------------------------------------
    for (path, method) in [
        ("/nope", "GET"),
        ("/report/extra", "POST"),
        ("/report/", "GET"),
        ("/%FF%FE", "GET"),
        ("/static/%2e%2e/%2e%2e/Cargo.toml", "GET"),
        ("/static/style.css.map", "GET"),
        ("/api", "GET"),
        ("/api/v1/nope", "GET"),
        ("/api/v2/reports", "POST"),
        ("/api/v1/reports/", "POST"),
        ("/api/v1/status/messages/1", "POST"),
    ] {
        c.raw(
            &format!("{method} {path} (no such path)"),
            method,
            path,
            &[],
            Vec::new(),
            404,
        );
    }
    c.0
}

/// Well-formed twins of corpus cases are accepted, so each case fails for
/// the reason it names and not for something it shares with the others.
async fn controls(h: &Harness, known: &str) {
    let ct = format!("multipart/form-data; boundary={B}");
    let accepted = [
        (
            "report, five files at the size limit, no line break after the close",
            "/report",
            ct.as_str(),
            [
                parts(&form_with(&[])),
                (0..5)
                    .flat_map(|i| file("attachment", &format!("f{i}.bin"), &[1u8; 1024]))
                    .collect(),
                format!("--{B}--").into_bytes(),
            ]
            .concat(),
            200,
        ),
        (
            "report with an epilogue after the close delimiter",
            "/report",
            ct.as_str(),
            [parts(&form_with(&[])), end(), b"epilogue\r\n".to_vec()].concat(),
            200,
        ),
        (
            "message with a file",
            "/status/messages",
            ct.as_str(),
            [
                part("code", known.as_bytes()),
                part("body", b"see file"),
                file("attachment", "a.txt", b"abc"),
                end(),
            ]
            .concat(),
            200,
        ),
        (
            "message form",
            "/status/messages",
            "application/x-www-form-urlencoded",
            urlencode(&[("code", known), ("body", "补充")]),
            200,
        ),
        (
            "JSON report with brackets inside strings",
            "/api/v1/reports",
            "application/json",
            json_with(|v| v["narrative"] = "[附件] 见 \"[1]\"".into()),
            201,
        ),
        (
            "JSON message",
            "/api/v1/status/messages",
            "application/json",
            serde_json::to_vec(&serde_json::json!({"code": known, "body": "再补充"})).unwrap(),
            201,
        ),
    ];
    for (name, path, ct, body, want) in accepted {
        let res = h
            .client
            .post(h.url(path))
            .header("content-type", ct)
            .body(body)
            .timeout(std::time::Duration::from_secs(20))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, want, "control {name}: {text}");
    }
}

/// A raw catalog key where a translated sentence should be.
fn has_raw_key(text: &str) -> bool {
    ["errors.", "problem.", "report.", "status."]
        .iter()
        .any(|key| {
            text.match_indices(key).any(|(at, _)| {
                text.as_bytes()
                    .get(at + key.len())
                    .is_some_and(u8::is_ascii_lowercase)
            })
        })
}

/// Sends one case and checks the answer; returns what went wrong.
async fn check(h: &Harness, case: &Case) -> Result<(), String> {
    let mut req = h.client.request(case.method.clone(), h.url(&case.path));
    for (name, value) in &case.headers {
        req = req.header(
            *name,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let res = req
        .timeout(std::time::Duration::from_secs(20))
        .body(case.body.clone())
        .send()
        .await
        .map_err(|e| format!("no answer: {e:?}"))?;
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let lang = res
        .headers()
        .get("content-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.text().await.map_err(|e| format!("no body: {e:?}"))?;
    let excerpt: String = body.chars().take(400).collect();
    if !status.is_client_error() {
        return Err(format!("status {status}, want 4xx: {excerpt}"));
    }
    if status.as_u16() != case.expect {
        return Err(format!("status {status}, want {}: {excerpt}", case.expect));
    }
    let english_header = case
        .headers
        .iter()
        .any(|(k, v)| *k == "accept-language" && v.starts_with(b"en"));
    let want_lang = if case.path.contains("lang=en") || english_header {
        "en"
    } else {
        "zh-CN"
    };
    if lang != want_lang {
        return Err(format!("Content-Language {lang:?}, want {want_lang}"));
    }
    if case.path.starts_with("/api/") {
        if !ctype.starts_with("application/json") {
            return Err(format!("content type {ctype:?} on a JSON route: {excerpt}"));
        }
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("not JSON ({e}): {excerpt}"))?;
        let code = v["error"]["code"].as_str().unwrap_or_default();
        let message = v["error"]["message"].as_str().unwrap_or_default();
        if code.is_empty() || message.trim().is_empty() {
            return Err(format!("no error code or message: {excerpt}"));
        }
        if has_raw_key(message) || message == code {
            return Err(format!("untranslated message: {message}"));
        }
        too_large_names_the_limit(case, message)?;
    } else {
        if !ctype.starts_with("text/html") {
            return Err(format!("content type {ctype:?} on a page route: {excerpt}"));
        }
        let Some(at) = body.find("id=\"errors\"") else {
            return Err(format!("no id=\"errors\" on the page: {excerpt}"));
        };
        let section = &body[at..];
        let section = &section[..section.find("</div>").unwrap_or(section.len())];
        let text: String = section
            .split('<')
            .filter_map(|s| s.split_once('>').map(|(_, t)| t.trim()))
            .collect();
        if text.is_empty() || has_raw_key(section) {
            return Err(format!("no clear message in the errors section: {section}"));
        }
        too_large_names_the_limit(case, &text)?;
    }
    Ok(())
}

/// A body too large is told the per-file limit this intake runs with
/// (1 KB here), not the default's 20 MB.
fn too_large_names_the_limit(case: &Case, message: &str) -> Result<(), String> {
    if case.expect == 413 && !message.contains("1 KB") {
        return Err(format!(
            "a 413 that does not name the 1 KB limit: {message}"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_gets_a_translated_4xx_and_writes_nothing() {
    let settings = IntakeSettings {
        limits: Limits {
            attachment_bytes: 1024,
            ..Limits::default()
        },
        rate_limits: RateLimits {
            submissions_per_minute: 60_000,
            submission_burst: 10_000,
            lookups_per_minute: 60_000,
            lookup_burst: 10_000,
            ..RateLimits::default()
        },
        ..IntakeSettings::default()
    };
    for engine in ENGINES {
        let h = Harness::start_with(engine, settings.clone()).await;
        // A real report, so message cases can name a code that exists.
        let known = h
            .file_json(report_json("gd-gz-tianhe", "ordinary", "已有的举报"))
            .await
            .to_string();
        controls(&h, &known).await;
        let unknown = sunlight_core::TrackingCode::generate().unwrap().to_string();
        let cases = corpus(&known, &unknown);
        assert!(cases.len() >= 60, "only {} cases", cases.len());
        let mut names = HashSet::new();
        let mut requests = HashSet::new();
        for case in &cases {
            assert!(
                names.insert(case.name.as_str()),
                "duplicate name {}",
                case.name
            );
            assert!(
                requests.insert((
                    case.method.as_str(),
                    case.path.as_str(),
                    &case.headers,
                    &case.body
                )),
                "{} repeats another case",
                case.name
            );
        }

        let before = h.row_counts().await;
        let mut failures = Vec::new();
        for case in &cases {
            if let Err(why) = check(&h, case).await {
                failures.push(format!("{engine:?} / {}: {why}", case.name));
            }
            let now = h.row_counts().await;
            if now != before {
                failures.push(format!(
                    "{engine:?} / {}: wrote rows: {before:?} -> {now:?}",
                    case.name
                ));
                break;
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
        assert_eq!(h.row_counts().await, before, "{engine:?}");
        // Nor on disk: spooled uploads of refused requests left nothing.
        assert!(
            std::fs::read_dir(h.spool.path()).unwrap().next().is_none(),
            "{engine:?}: files left in the spool"
        );
        sunlight_testkit::scorecard(
            &format!("intake_malformed_{engine:?}").to_lowercase(),
            &format!(
                "intake {engine:?}: {} malformed requests, all 4xx with a translated message, 0 rows written",
                cases.len()
            ),
        );
        h.stop().await;
    }
}

/// Requests an HTTP library refuses to build, sent as raw bytes: header
/// injection and folding, control bytes, request smuggling, broken
/// chunking, oversized heads. Each must be answered with a 4xx, or (for
/// bytes that are not HTTP at all) by closing the connection, never with
/// 2xx, 3xx or 5xx — and a smuggled second request must never be served.
fn raw_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let report = String::from_utf8(
        serde_json::to_vec(&report_json("gd-gz-tianhe", "ordinary", "走私的举报")).unwrap(),
    )
    .unwrap();
    let smuggled = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{report}",
        report.len()
    );
    let post = |head: &str, body: &str| -> Vec<u8> {
        format!("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n{head}\r\n{body}").into_bytes()
    };
    let mut cases: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "CL and TE both, smuggling a report",
            post(
                "Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                &format!("0\r\n\r\n{smuggled}"),
            ),
        ),
        (
            "TE then CL, smuggling a report",
            post(
                "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\nContent-Length: 3\r\n",
                &format!("0\r\n\r\n{smuggled}"),
            ),
        ),
        (
            "two different Content-Lengths",
            post(
                "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n",
                "{}",
            ),
        ),
        (
            "signed Content-Length",
            post(
                "Content-Type: application/json\r\nContent-Length: +2\r\n",
                "{}",
            ),
        ),
        (
            "non-numeric Content-Length",
            post(
                "Content-Type: application/json\r\nContent-Length: 2x\r\n",
                "{}",
            ),
        ),
        (
            "Content-Length of a petabyte",
            post(
                "Content-Type: application/json\r\nContent-Length: 1000000000000000\r\n",
                "{}",
            ),
        ),
        (
            "Transfer-Encoding: xchunked",
            post(
                "Content-Type: application/json\r\nTransfer-Encoding: xchunked\r\n",
                "2\r\n{}\r\n0\r\n\r\n",
            ),
        ),
        (
            "chunk size overflowing 64 bits",
            post(
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                "fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
            ),
        ),
        (
            "chunk size not hex",
            post(
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                "zz\r\n{}\r\n0\r\n\r\n",
            ),
        ),
        (
            "obs-fold continuation injecting a header",
            post(
                "Content-Type: application/json\r\n X-Injected: yes\r\nContent-Length: 2\r\n",
                "{}",
            ),
        ),
        (
            "NUL in a header value",
            post(
                "Content-Type: application/json\r\nX-A: a\0b\r\nContent-Length: 2\r\n",
                "{}",
            ),
        ),
        (
            "bare CR in a header value",
            post(
                "Content-Type: application/json\r\nX-A: a\rSet-Cookie: x=1\r\nContent-Length: 2\r\n",
                "{}",
            ),
        ),
        (
            "space in a header name",
            post(
                "Content Type: application/json\r\nContent-Length: 2\r\n",
                "{}",
            ),
        ),
        (
            "header line without a colon",
            post(
                "Content-Type application/json\r\nContent-Length: 2\r\n",
                "{}",
            ),
        ),
        (
            "space before the colon",
            post(
                "Content-Length : 2\r\nContent-Type: application/json\r\n",
                "{}",
            ),
        ),
        (
            "control byte in the method",
            b"PO\x01ST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ),
        (
            "NUL in the path",
            b"GET /sta\0tus HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "space in the path",
            b"GET /status /x HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "unknown HTTP version",
            b"GET / HTTP/7.3\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("HTTP/0.9 request line", b"GET /\r\n\r\n".to_vec()),
        (
            "TLS handshake on the plain port",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
        ),
        (
            "raw traversal in the path",
            b"GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "encoded traversal in the path",
            b"GET /static/..%2f..%2f..%2fCargo.toml HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
    ];
    let long_value = "a".repeat(64 * 1024);
    cases.push((
        "a 64 KiB header line",
        post(
            &format!("X-Long: {long_value}\r\nContent-Length: 2\r\n"),
            "{}",
        ),
    ));
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    cases.push((
        "200 header lines",
        post(&format!("{many}Content-Length: 2\r\n"), "{}"),
    ));
    cases.push((
        "a 100 KiB request target",
        format!(
            "GET /status?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
            "b".repeat(100 * 1024)
        )
        .into_bytes(),
    ));
    cases
}

/// Cases that are not HTTP/1.x at all: closing the connection is the answer.
const NOT_HTTP: &[&str] = &["TLS handshake on the plain port", "HTTP/0.9 request line"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_requests_no_client_library_would_send_get_a_4xx_and_write_nothing() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let addr = h.base.trim_start_matches("http://").to_owned();
        let before = h.row_counts().await;
        let cases = raw_corpus();
        let mut failures = Vec::new();
        let mut closed = 0;
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for (name, request) in &cases {
            let (addr, request) = (addr.clone(), request.clone());
            let answers = tokio::task::spawn_blocking(move || raw_http_exchange(&addr, &request))
                .await
                .unwrap();
            if answers.is_empty() {
                closed += 1;
                // Only bytes that are not an HTTP/1.1 request at all may
                // go unanswered; anything that reads as one gets a 400.
                if !NOT_HTTP.contains(name) {
                    failures.push(format!("{engine:?} / {name}: closed without an answer"));
                }
            }
            for (status, _) in &answers {
                *statuses.entry(*status).or_insert(0) += 1;
            }
            for (status, head) in &answers {
                if !(400..500).contains(status) {
                    failures.push(format!("{engine:?} / {name}: {head}"));
                }
                if head.to_ascii_lowercase().contains("x-injected")
                    || head.contains("Set-Cookie: x=1")
                {
                    failures.push(format!(
                        "{engine:?} / {name}: injected header echoed: {head}"
                    ));
                }
            }
            if h.row_counts().await != before {
                failures.push(format!("{engine:?} / {name}: wrote rows"));
                break;
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // Still healthy for a well-formed request.
        let res = h.client.get(h.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        sunlight_testkit::scorecard(
            &format!("intake_raw_{engine:?}").to_lowercase(),
            &format!(
                "intake {engine:?}: {} raw requests, answers {statuses:?}, {closed} closed unanswered (not HTTP), 0 other, 0 rows written",
                cases.len(),
            ),
        );
        h.stop().await;
    }
}
