//! The transparency log as a reporter and an operator meet it, through the
//! real binary (SQLite): the receipt from `POST /api/v1/reports`, never the
//! code; `sunlight receipt verify` against the deployment's published heads
//! (pending, then included; the store tests cover tampering on both
//! engines); `sunlight log publish`/`verify`; `/log/heads` and `/verify`.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Deployment, Processes, binary};

/// `sunlight receipt verify FILE --url BASE`: exit status and output.
fn verify(file: &std::path::Path, base: &str) -> (bool, String) {
    let out = Command::new(binary())
        .args(["receipt", "verify"])
        .arg(file)
        .args(["--url", base])
        .env("SUNLIGHT_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn file(intake: &str) -> (String, Value) {
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/reports"))
        .json(&json!({
            "unit": "gd-gz-tianhe", "category": "office_trading",
            "accused": {"name": "甲", "position": "局长", "role": "unit_leader"},
            "selection_stage": "deliberation", "narrative": "跑官要官，收受财物",
            "real_name": true, "reporter": {"name": "乙", "phone": "13800000000"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    (
        v["tracking_code"].as_str().unwrap().to_owned(),
        v["receipt"].clone(),
    )
}

#[tokio::test]
async fn a_receipt_is_checked_against_the_published_heads() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let live = Deployment::start(dir.path(), None, &mut procs).await;
    let (code, receipt) = file(&live.intake).await;
    let text = receipt.to_string();
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    assert!(!text.contains(&digits) && !text.contains(&code), "{text}");
    assert_eq!(receipt["version"], 1);
    let path = dir.path().join("receipt.json");
    std::fs::write(&path, &text).unwrap();

    // The signature holds; inclusion is pending, unless the sweeper's
    // first head (at start) came after the filing.
    let (ok, out) = verify(&path, &live.intake);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok       signature")
            && (out.contains("pending") || out.contains("ok       inclusion")),
        "{out}"
    );

    // A head now: it includes the leaf, signed today (the sweeper may
    // have signed one at start already, of padding alone).
    let published = live.run(&["log", "publish"]);
    assert!(published.starts_with("head: size "), "{published}");
    let size: u64 = published.split(' ').nth(2).unwrap().parse().unwrap();
    assert!(size >= 16 && size.is_multiple_of(16), "{published}");
    let (ok, out) = verify(&path, &live.intake);
    assert!(ok, "{out}");
    assert!(out.contains("ok       inclusion: leaf "), "{out}");
    let verified = live.run(&["log", "verify"]);
    assert!(
        verified.starts_with(&format!("intact: {size} leaves placed, ")),
        "{verified}"
    );

    // The status page shows the report's entry and the current proof,
    // the same the proof route serves for the newest head.
    let http = reqwest::Client::new();
    let leaf = serde_json::from_value::<sunlight_core::log::Receipt>(receipt.clone())
        .unwrap()
        .leaf_hash()
        .unwrap();
    let leaf_hex: String = leaf.iter().map(|b| format!("{b:02x}")).collect();
    let status = http
        .post(format!("{}/status?lang=en", live.intake))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let proof: Value = http
        .get(format!(
            "{}/api/v1/log/proof?leaf={leaf_hex}&size={size}",
            live.intake
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        status.contains("id=\"inclusion\"") && status.contains(&leaf_hex),
        "{status}"
    );
    assert!(
        status.contains(&format!("id=\"inclusion-index\">{}<", proof["index"])),
        "{status}"
    );
    for hash in proof["path"].as_array().unwrap() {
        assert!(status.contains(hash.as_str().unwrap()), "{status}");
    }

    // The heads, as a page and as JSON.
    let heads: Value = http
        .get(format!("{}/log/heads?format=json", live.intake))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(heads[0]["size"], size);
    assert_eq!(heads[0]["root"].as_str().unwrap().len(), 64);
    let page = http
        .get(format!("{}/log/heads", live.intake))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"log-heads\"") && page.contains(receipt["log_key"].as_str().unwrap())
    );

    // /verify does the same on the server, JavaScript off.
    let page = http
        .post(format!("{}/verify?lang=en", live.intake))
        .form(&[("receipt", text.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("The receipt holds."), "{page}");
    // Every step in the reader's language, its details too.
    let page = http
        .post(format!("{}/verify?lang=zh", live.intake))
        .form(&[("receipt", text.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("签名承诺包含这条记录") && !page.contains("the log promised"),
        "{page}"
    );
    let page = http
        .post(format!("{}/verify?lang=en", live.intake))
        .form(&[("receipt", "not a receipt")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 422);

    // A forged receipt (another nonce) fails on its signature.
    let mut forged = receipt.clone();
    forged["leaf"]["nonce"] = json!("00000000000000000000000000000000");
    let forged_path = dir.path().join("forged.json");
    std::fs::write(&forged_path, forged.to_string()).unwrap();
    let (ok, out) = verify(&forged_path, &live.intake);
    assert!(!ok && out.contains("bad signature"), "{out}");

    // The proofs refuse what they do not hold, in the API's error shape.
    let res = http
        .get(format!(
            "{}/api/v1/log/proof?leaf={}&size=17",
            live.intake,
            "ab".repeat(32)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .get(format!(
            "{}/api/v1/log/proof?leaf=zz&size=16&lang=en",
            live.intake
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    let res = http
        .get(format!(
            "{}/api/v1/log/consistency?from=x&to=16",
            live.intake
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "malformed_body");
}
