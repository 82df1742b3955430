//! The transparency log at a deployment's scale (#24): building the tree
//! of `leaves` leaves, the size of the proofs a receipt needs, and what
//! checking a receipt costs (`sunlight receipt verify` without the HTTP).

use std::time::Instant;

use chrono::NaiveDate;
use sunlight_core::crypto::Suite;
use sunlight_core::log::{
    Hash, InclusionProof, LeafRecord, LogKey, Outcome, Receipt, Tree, TreeHasher, check_receipt,
    envelopes_hash,
};

use super::{ms, time};

/// One row per figure, a column per suite.
pub fn rows(leaves: u64, runs: usize) -> Result<Vec<String>, String> {
    let mut columns = Vec::new();
    for suite in Suite::ALL {
        columns.push(measure(suite, leaves, runs)?);
    }
    let mut lines = vec![format!(
        "{:<44} {:>12} {:>12}",
        format!("transparency log, {leaves} leaves"),
        "modern",
        "shangmi"
    )];
    for (i, (name, _)) in columns
        .first()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| format!("{:>12}", c.get(i).map_or("", |(_, v)| v.as_str())))
            .collect();
        lines.push(format!("{name:<44} {}", cells.join(" ")));
    }
    Ok(lines)
}

fn measure(suite: Suite, leaves: u64, runs: usize) -> Result<Vec<(String, String)>, String> {
    let e = |err: sunlight_core::log::LogError| err.to_string();
    let hasher = TreeHasher(suite);
    let key = LogKey::generate(suite).map_err(e)?;
    let record =
        LeafRecord::new(envelopes_hash(suite, [b"sealed".as_slice()]), day(3)?).map_err(e)?;
    let leaf = record.hash(suite);
    let receipt = Receipt::new(
        &record,
        &key.public(),
        key.promise(&leaf, record.day).map_err(e)?,
    );
    // The receipt's leaf in the middle of the first head's leaves; a
    // second head 16 leaves later, so a consistency proof is needed.
    let first = leaves.saturating_sub(16).max(2);
    let at = first / 2;
    let started = Instant::now();
    let tree = Tree::from_leaves(
        hasher,
        (0..leaves.max(first + 16)).map(|i| {
            if i == at {
                leaf
            } else {
                hasher.leaf(&i.to_be_bytes())
            }
        }),
    );
    let built = started.elapsed();
    let size = tree.len();
    let heads = vec![
        key.sign_head(first, tree.root(first).ok_or("root")?, day(4)?)
            .map_err(e)?,
        key.sign_head(size, tree.root(size).ok_or("root")?, day(5)?)
            .map_err(e)?,
    ];
    let inclusion = InclusionProof::from_tree(&tree, at, first).ok_or("inclusion proof")?;
    let consistency: Vec<Hash> = tree
        .consistency_proof(first, size)
        .ok_or("consistency proof")?;
    let mut rows = vec![(
        "build the tree (once per head)".to_owned(),
        format!("{:.0}ms", ms(built)),
    )];
    rows.extend(sizes(&inclusion, &consistency, &receipt, first, size)?);
    let (proof, _, _) = time(runs, || {
        InclusionProof::from_tree(&tree, at, first)
            .map(|_| ())
            .ok_or(())
    })
    .map_err(|()| "no proof")?;
    rows.push((
        "serve an inclusion proof (cached tree)".into(),
        format!("{:.3}ms", ms(proof)),
    ));
    // The check with the proofs already fetched: what the reporter's
    // machine spends, without the network.
    let today = day(6)?;
    let (check, _, _) = time(runs, || {
        let checks = check_receipt(
            &receipt,
            &heads,
            Some(today),
            |_, _| Some(inclusion.clone()),
            |_, _| Some(consistency.clone()),
        );
        if checks.iter().all(|c| c.outcome == Outcome::Passed) {
            Ok(())
        } else {
            Err(())
        }
    })
    .map_err(|()| "the receipt did not check")?;
    rows.push((
        "check a receipt (2 heads, both proofs)".into(),
        format!("{:.3}ms", ms(check)),
    ));
    Ok(rows)
}

fn day(d: u32) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(2026, 12, d).ok_or_else(|| "a day of December".to_owned())
}

/// What a reporter fetches and keeps, in bytes as served.
fn sizes(
    inclusion: &InclusionProof,
    consistency: &[Hash],
    receipt: &Receipt,
    first: u64,
    size: u64,
) -> Result<Vec<(String, String)>, String> {
    let json = |v: serde_json::Value| serde_json::to_vec(&v).map_err(|x| x.to_string());
    let inclusion_json = serde_json::to_vec(inclusion).map_err(|x| x.to_string())?;
    let consistency_json = json(serde_json::json!({
        "from": first, "to": size,
        "path": consistency.iter().map(hex).collect::<Vec<_>>(),
    }))?;
    let receipt_json = serde_json::to_vec(receipt).map_err(|x| x.to_string())?;
    Ok(vec![
        (
            "inclusion proof: hashes / JSON bytes".into(),
            format!("{} / {}", inclusion.path.len(), inclusion_json.len()),
        ),
        (
            "consistency proof: hashes / JSON bytes".into(),
            format!("{} / {}", consistency.len(), consistency_json.len()),
        ),
        ("receipt JSON bytes".into(), receipt_json.len().to_string()),
    ])
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}
