//! docs/crypto.md is enough to implement the format (#24, item 6): a
//! Python program written from it alone (`tests/spec/reader.py`, with PyCA
//! `cryptography` and `argon2-cffi`) opens a report, its files and its
//! messages that the Rust code sealed, by the unit's recovery key and by
//! the tracking code, checks a staff message's tag, recomputes the
//! receipt's leaf and verifies the receipt with its proofs — on a real
//! deployment that `tests/spec/make_fixture.sh` fills through the HTTP
//! sides and the CLI. If the spec drifts from the code, this fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::binary;

const PYTHON: &str = "/usr/bin/python3";

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec")
}

/// Runs the reader on `fixture`: its JSON answer, or its error output.
fn read(fixture: &Path) -> Result<Value, String> {
    let out = Command::new(PYTHON)
        .arg(spec_dir().join("reader.py"))
        .arg(fixture)
        .output()
        .map_err(|e| format!("{PYTHON}: {e}"))?;
    if out.status.success() {
        serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn sorted(v: &Value, key: Option<&str>) -> Vec<Value> {
    let mut items = v.as_array().cloned().unwrap_or_default();
    items.sort_by_key(|i| match key {
        Some(k) => i[k].to_string(),
        None => i.to_string(),
    });
    items
}

#[test]
fn a_reader_written_from_the_spec_opens_what_rust_sealed_and_checks_the_receipt() {
    let dir = tempfile::tempdir().unwrap();
    // The reader implements the modern suite (PyCA has no SM2): the
    // fixture is a modern deployment in the shangmi pass too.
    let made = Command::new("bash")
        .env_remove("SUNLIGHT_SUITE")
        .arg(spec_dir().join("make_fixture.sh"))
        .arg(binary())
        .arg(dir.path().join("deployment"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "make_fixture.sh: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let fixture = PathBuf::from(String::from_utf8(made.stdout).unwrap().trim());
    let given: Value = serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    let expected = &given["expected"];

    let got = read(&fixture).unwrap_or_else(|e| panic!("reader.py: {e}"));
    assert_eq!(
        got["report"], expected["report"],
        "the report by the unit key"
    );
    assert_eq!(
        got["report_via_code"], expected["report"],
        "the report by the code"
    );
    let bodies: Vec<Value> = got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(
        sorted(&Value::Array(bodies), None),
        sorted(&expected["messages"], None),
        "every message, the staff one with its tag checked"
    );
    assert_eq!(
        sorted(&got["attachments"], Some("file_name")),
        sorted(&expected["attachments"], Some("file_name")),
        "every file: name, type, size and the SHA-256 of the opened bytes"
    );
    for check in ["signature", "included", "consistent", "leaf_recomputed"] {
        assert_eq!(got["receipt"][check], true, "receipt: {check}");
    }

    // The reader is no rubber stamp: an altered nonce breaks the leaf, and
    // a flipped byte of the inclusion path breaks the proof.
    let mut bad_nonce = given.clone();
    let nonce = bad_nonce["receipt"]["leaf"]["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if nonce.starts_with('0') { "1" } else { "0" };
    bad_nonce["receipt"]["leaf"]["nonce"] = Value::String(format!(
        "{flipped}{}",
        nonce.chars().skip(1).collect::<String>()
    ));
    let mut bad_path = given.clone();
    let first = bad_path["proof"]["path"].get_mut(0).unwrap();
    let h = first.as_str().unwrap().to_owned();
    let c = if h.starts_with('0') { "1" } else { "0" };
    *first = Value::String(format!("{c}{}", h.chars().skip(1).collect::<String>()));
    for (name, bad) in [("nonce", bad_nonce), ("proof path", bad_path)] {
        let path = dir
            .path()
            .join(format!("bad-{}.json", name.replace(' ', "-")));
        std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
        assert!(
            read(&path).is_err(),
            "an altered {name} must fail the reader"
        );
    }
}
