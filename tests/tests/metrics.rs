//! The private metrics listener, read with `curl` as an operator would:
//! every promised series is there, and after reports, lookups, messages,
//! probes and failed sign-ins all carrying a canary (in the report text,
//! the accused's name, the path, the query, headers, a wrong code), no
//! metric label or value contains the canary, a tracking code, or an
//! address. The public ports do not serve /metrics.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use std::process::Command;

use serde_json::json;
use support::{Deployment, Processes, file_report};

const CANARY: &str = "CANARY-7f3a9c";

fn curl(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--fail", url])
        .output()
        .unwrap_or_else(|e| panic!("curl not runnable ({e}): apt-get install curl"));
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The value of the first sample line starting with `series`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_every_series_and_carry_no_report_data() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut procs = Processes::default();
    let live = Deployment::start(
        dir.path(),
        Some(&format!("metrics_addr = \"127.0.0.1:{port}\"\n")),
        &mut procs,
    )
    .await;
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let code = file_report(
        &live.intake,
        json!({
            "unit": "gd-gz-tianhe", "category": "canvassing_bribery",
            "accused": {"name": CANARY, "position": CANARY, "role": "unit_leader"},
            "selection_stage": "deliberation", "narrative": format!("{CANARY} 送钱拉票"),
            "real_name": true, "reporter": {"name": CANARY, "phone": "13800000000"}
        }),
    )
    .await;
    let http = reqwest::Client::new();
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let requests = [
        http.post(format!("{}/api/v1/status", live.intake))
            .json(&json!({"code": code})),
        http.post(format!("{}/api/v1/status/messages", live.intake))
            .json(&json!({"code": code, "body": CANARY})),
        http.post(format!("{}/status", live.intake))
            .form(&[("code", digits.as_str())]),
        http.post(format!("{}/status", live.intake))
            .form(&[("code", "1234-5678-9012-3456-7890")]),
        http.get(format!("{}/{CANARY}/{digits}", live.intake)),
        http.get(format!("{}/report?lang={CANARY}", live.intake))
            .header("User-Agent", CANARY)
            .header("X-Forwarded-For", "203.0.113.9"),
        http.post(format!("{}/api/v1/session", live.triage))
            .json(&json!({"email": format!("{CANARY}@example.org"), "password": CANARY, "totp": "000000"})),
        http.get(format!("{}/cases/{CANARY}", live.triage)),
    ];
    for req in requests {
        let res = req.send().await.unwrap();
        assert!(res.status().as_u16() < 500, "{}", res.status());
    }

    let text = curl(&metrics_url);
    for series in [
        r#"sunlight_http_requests_total{app="intake",route="/api/v1/reports",method="POST",class="2xx"}"#,
        r#"sunlight_http_requests_total{app="intake",route="unmatched",method="GET",class="4xx"}"#,
        r#"sunlight_http_requests_total{app="triage",route="/api/v1/session",method="POST",class="4xx"}"#,
        "sunlight_submission_duration_seconds_count",
        "sunlight_http_request_duration_seconds_bucket",
        "sunlight_argon2_waiting",
        "sunlight_argon2_running",
        r#"sunlight_queue_open{stage="received"}"#,
        r#"sunlight_queue_overdue{stage="verify"}"#,
        r#"sunlight_outbox_mails{state="pending"}"#,
        r#"sunlight_outbox_mails{state="failed"}"#,
        r#"sunlight_audit_head_mails{state="failed"}"#,
        r#"sunlight_audit_head_mails{state="retrying"}"#,
        "sunlight_build_info",
    ] {
        assert!(text.contains(series), "no {series} in\n{text}");
    }
    assert!(sample(&text, "sunlight_submission_duration_seconds_count") >= 1.0);
    // One report is either still received or already routed to verify.
    let open = sample(&text, r#"sunlight_queue_open{stage="received"}"#)
        + sample(&text, r#"sunlight_queue_open{stage="verify"}"#);
    assert!((open - 1.0).abs() < f64::EPSILON, "{text}");
    assert_eq!(sample(&text, "sunlight_argon2_waiting"), 0.0);

    for secret in [
        CANARY,
        "canary",
        &code,
        &digits,
        "203.0.113.9",
        "13800000000",
        "送钱",
    ] {
        assert!(!text.contains(secret), "metrics carry {secret:?}:\n{text}");
    }
    // Not on the public ports.
    for base in [&live.intake, &live.triage] {
        let res = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 404, "{base}/metrics");
    }
}
