//! `sunlight log publish`, `sunlight log verify` and `sunlight receipt
//! verify`: the transparency log from the operator's side and from the
//! reporter's.

use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;
use sunlight_core::log::{
    Check, Hash, InclusionProof, LogKey, Outcome, Receipt, SignedHead, check_receipt, parse_hash,
};
use sunlight_store::{LogCheck, Store};

use super::{CmdResult, open, say};
use crate::config::Config;

/// The log key of this deployment: derived from its pepper, in the log's
/// suite.
pub(crate) async fn log_key(config: &Config, store: &Store) -> Result<LogKey, String> {
    let pepper = crate::secrets::pepper(&config.pepper_file).map_err(|e| e.to_string())?;
    let suite = store.log_suite().await.map_err(|e| e.to_string())?;
    LogKey::derive(suite, &pepper).map_err(|e| e.to_string())
}

/// The log's day for `now`: the deployment's local date.
pub(crate) fn today(config: &Config) -> Result<chrono::NaiveDate, String> {
    let (policy, _) = config.deadline_rules().map_err(|e| e.to_string())?;
    Ok(policy.local_date(Utc::now()))
}

/// `sunlight log publish`.
pub(super) async fn publish(config: &Config) -> CmdResult {
    let store = open(config).await?;
    let key = log_key(config, &store).await?;
    let head = store
        .publish_log_head(&key, today(config)?, true)
        .await
        .map_err(|e| format!("publishing a log head failed: {e}"))?;
    say(&format!(
        "head: size {} root {} day {}",
        head.size,
        data_encoding::HEXLOWER.encode(&head.root),
        head.day
    ));
    Ok(ExitCode::SUCCESS)
}

/// `sunlight log verify`.
pub(super) async fn verify(config: &Config) -> CmdResult {
    let store = open(config).await?;
    let key = log_key(config, &store).await?;
    let heads = store.log_heads().await.map_err(|e| e.to_string())?;
    if let Some(h) = heads.iter().find(|h| !h.verify(&key.public())) {
        return Err(format!(
            "the head of size {} ({}) is not signed by this deployment's log key",
            h.size, h.day
        ));
    }
    match store.verify_log().await.map_err(|e| e.to_string())? {
        LogCheck::Intact {
            leaves,
            heads,
            purged,
        } => {
            say(&format!(
                "intact: {leaves} leaves placed, {heads} heads match, every filing's leaf matches its sealed material ({purged} of purged cases not checked)"
            ));
            Ok(ExitCode::SUCCESS)
        }
        LogCheck::Broken(what) => Err(format!("transparency log broken: {what}")),
    }
}

/// `sunlight receipt verify FILE [--url BASE]`.
pub(super) async fn verify_receipt(file: &Path, url: Option<&str>) -> CmdResult {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let receipt: Receipt = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a filing receipt: {e}", file.display()))?;
    let (heads, evidence) = match url {
        None => (Vec::new(), Evidence::default()),
        Some(base) => fetch(base.trim_end_matches('/'), &receipt).await?,
    };
    // Only against a deployment: a log that signed no head for days
    // after the promise has stopped (or hides its heads).
    // The earliest local date anywhere (UTC−14): never stricter than the
    // deployment's own calendar.
    let today = url.map(|_| (Utc::now() - chrono::Duration::hours(14)).date_naive());
    let checks = check_receipt(
        &receipt,
        &heads,
        today,
        |_, size| evidence.inclusion.iter().find(|p| p.size == size).cloned(),
        |from, to| {
            evidence
                .consistency
                .iter()
                .find(|c| c.0 == from && c.1 == to)
                .map(|c| c.2.clone())
        },
    );
    Ok(report(&checks, url.is_none()))
}

fn report(checks: &[Check], offline: bool) -> ExitCode {
    for c in checks {
        let mark = match c.outcome {
            Outcome::Passed => "ok",
            Outcome::Pending => "pending",
            Outcome::Failed => "FAILED",
        };
        say(&format!("{mark:8} {}: {}", c.name, c.detail));
    }
    if offline {
        say(
            "only the signature was checked: give --url (the deployment's public address) to check the published heads",
        );
    }
    if checks.iter().any(|c| c.outcome == Outcome::Failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(Default)]
struct Evidence {
    inclusion: Vec<InclusionProof>,
    consistency: Vec<(u64, u64, Vec<Hash>)>,
}

/// `Ok(None)` for a 404 (the log holds no such leaf or head); any other
/// failure is an error that names the address, never a verdict.
async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<T>, String> {
    let answer = http
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if answer.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !answer.status().is_success() {
        return Err(format!("{url}: answered {}", answer.status()));
    }
    answer
        .json()
        .await
        .map(Some)
        .map_err(|e| format!("{url}: {e}"))
}

/// The heads and every proof the checks need, from the deployment at `base`.
async fn fetch(base: &str, receipt: &Receipt) -> Result<(Vec<SignedHead>, Evidence), String> {
    // One client (one kept-alive connection) for every request.
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{base}/log/heads?format=json");
    let mut heads: Vec<SignedHead> = get_json(&http, &url)
        .await?
        .ok_or_else(|| format!("{url}: answered 404 Not Found"))?;
    heads.sort_by_key(|h| h.size);
    let mut evidence = Evidence::default();
    if let Some(leaf) = receipt.leaf_hash() {
        for size in receipt.proof_sizes(&heads) {
            let url = format!(
                "{base}/api/v1/log/proof?leaf={}&size={size}",
                data_encoding::HEXLOWER.encode(&leaf),
            );
            // A leaf the log does not hold answers 404: no proof, which
            // the check names as a broken promise.
            if let Some(proof) = get_json(&http, &url).await? {
                evidence.inclusion.push(proof);
            }
        }
    }
    for pair in heads.windows(2) {
        let [a, b] = pair else { continue };
        if a.size < b.size {
            let url = format!(
                "{base}/api/v1/log/consistency?from={}&to={}",
                a.size, b.size
            );
            // None: no proof, which the check names as a fork.
            let Some(proof) = get_json::<ConsistencyAnswer>(&http, &url).await? else {
                continue;
            };
            let path = proof
                .path
                .iter()
                .map(|h| parse_hash(h))
                .collect::<Option<Vec<_>>>();
            evidence.consistency.push((
                a.size,
                b.size,
                path.ok_or_else(|| format!("{url}: a malformed hash"))?,
            ));
        }
    }
    Ok((heads, evidence))
}

#[derive(serde::Deserialize)]
struct ConsistencyAnswer {
    path: Vec<String>,
}
