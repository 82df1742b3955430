//! The receipt checks of /verify, both ways: the served script
//! (crates/intake/static/sealing.js, run by Node) checks the same receipts
//! against the same heads and proofs as core's `check_receipt`, and must
//! find the same thing in every case, check for check and word for word:
//! included (in the due head, after quiet days of equal-sized heads, and
//! early), pending, stale, future, a broken promise, a served proof that
//! lies, one with a negative index, a fork, a shrink, a bad promise
//! signature, heads of another key, and receipts that are not version 1.
//! The script's reader of receipt text accepts exactly what the server's
//! does; and a promise whose R has a torsion part, which a cofactored
//! Ed25519 check takes, is refused by both.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sunlight_core::crypto::Suite;
use sunlight_core::log::{
    Check, Hash, InclusionProof, LeafRecord, LogKey, Outcome, Receipt, SignedHead, Tree,
    TreeHasher, check_receipt,
};

const HASHER: TreeHasher = TreeHasher(Suite::Modern);

fn day(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap() + chrono::Duration::days(offset)
}

fn filler(i: u64) -> Hash {
    Sha256::digest(i.to_be_bytes()).into()
}

/// `n` leaves, the receipt's at `at` when given.
fn tree(n: u64, at: Option<(u64, Hash)>, salt: u64) -> Tree {
    Tree::from_leaves(
        HASHER,
        (0..n).map(|i| match at {
            Some((j, leaf)) if j == i => leaf,
            _ => filler(i + salt * 1000),
        }),
    )
}

fn head(key: &LogKey, tree: &Tree, size: u64, offset: i64) -> SignedHead {
    key.sign_head(size, tree.root(size).unwrap(), day(offset))
        .unwrap()
}

/// One case: what the script is given, and what it must find.
struct Case {
    name: &'static str,
    receipt: Receipt,
    heads: Vec<SignedHead>,
    today: Option<NaiveDate>,
    /// The served tree: the proofs come from it.
    served: Tree,
    /// The finding the case is about: some check must report it.
    finding: &'static str,
}

struct Log {
    key: LogKey,
    receipt: Receipt,
    leaf: Hash,
}

fn log() -> Log {
    let key = LogKey::generate(Suite::Modern).unwrap();
    let record = LeafRecord {
        envelopes: [7; 32],
        nonce: [9; 16],
        day: day(0),
    };
    let leaf = record.hash(Suite::Modern);
    let promise = key.promise(&leaf, day(0)).unwrap();
    let receipt = Receipt::new(&record, &key.public(), promise);
    Log { key, receipt, leaf }
}

fn case(
    name: &'static str,
    finding: &'static str,
    l: &Log,
    served: Tree,
    heads: Vec<SignedHead>,
    today: Option<i64>,
) -> Case {
    Case {
        name,
        receipt: l.receipt.clone(),
        heads,
        today: today.map(day),
        served,
        finding,
    }
}

fn cases(l: &Log) -> Vec<Case> {
    let k = &l.key;
    let t = tree(40, Some((20, l.leaf)), 0);
    let without = tree(40, None, 0);
    let other = tree(40, None, 7);
    let stranger = LogKey::generate(Suite::Modern).unwrap();
    // Heads at 16 (a power of two), 20, 32, 40: both branches of the
    // consistency check.
    let timeline = vec![
        head(k, &t, 16, -1),
        head(k, &t, 20, 0),
        head(k, &t, 32, 1),
        head(k, &t, 40, 2),
    ];
    let mut out = vec![
        case("due", "included", l, t.clone(), timeline, Some(2)),
        case(
            "quiet days, equal sizes",
            "included",
            l,
            t.clone(),
            vec![
                head(k, &t, 16, -1),
                head(k, &t, 16, 0),
                head(k, &t, 32, 1),
                head(k, &t, 32, 2),
            ],
            Some(2),
        ),
        case(
            "early",
            "included",
            l,
            t.clone(),
            vec![head(k, &t, 16, -1), head(k, &t, 32, 0)],
            Some(0),
        ),
        case(
            "pending",
            "pending",
            l,
            t.clone(),
            vec![head(k, &t, 16, -1)],
            Some(1),
        ),
        case(
            "stale",
            "stale",
            l,
            t.clone(),
            vec![head(k, &t, 16, -1)],
            Some(3),
        ),
        case(
            "future",
            "future",
            l,
            t.clone(),
            vec![head(k, &t, 16, -1)],
            Some(-2),
        ),
        case(
            "broken",
            "broken",
            l,
            without.clone(),
            vec![head(k, &without, 16, -1), head(k, &without, 32, 1)],
            Some(1),
        ),
        case(
            "forked",
            "forked",
            l,
            t.clone(),
            vec![head(k, &other, 16, -1), head(k, &t, 32, 1)],
            Some(1),
        ),
        case(
            "shrank",
            "shrank",
            l,
            t.clone(),
            vec![head(k, &t, 32, -1), head(k, &t, 16, 1)],
            Some(1),
        ),
        case(
            "another key's heads",
            "head_unsigned",
            l,
            t.clone(),
            vec![head(k, &t, 16, -1), head(&stranger, &t, 32, 1)],
            Some(1),
        ),
        case(
            "no heads, no day",
            "promised",
            l,
            t.clone(),
            Vec::new(),
            None,
        ),
    ];
    let mut bad = case(
        "bad promise",
        "bad_signature",
        l,
        t.clone(),
        Vec::new(),
        None,
    );
    bad.receipt.promise[0] ^= 1;
    let mut v2 = case("version 2", "not_v1", l, t.clone(), Vec::new(), Some(0));
    v2.receipt.version = 2;
    let mut short = case("short nonce", "not_v1", l, t, Vec::new(), Some(0));
    short.receipt.leaf.nonce.pop();
    out.extend([bad, v2, short]);
    out
}

/// Inclusion proofs by head size; consistency proofs by pair of sizes.
type Proofs = (
    BTreeMap<u64, InclusionProof>,
    BTreeMap<(u64, u64), Vec<Hash>>,
);

/// The proofs the served tree gives for the case's heads, as the routes
/// serve them (absent where they answer 404).
fn served(c: &Case) -> Proofs {
    let index = c
        .receipt
        .leaf_hash()
        .and_then(|leaf| (0..c.served.len()).find(|&i| c.served.leaf(i) == Some(leaf)));
    let inclusion = c
        .receipt
        .proof_sizes(&c.heads)
        .into_iter()
        .filter_map(|size| Some((size, InclusionProof::from_tree(&c.served, index?, size)?)))
        .collect();
    let consistency = c
        .heads
        .windows(2)
        .filter_map(|w| {
            let (a, b) = (w[0].size, w[1].size);
            Some(((a, b), c.served.consistency_proof(a, b)?))
        })
        .collect();
    (inclusion, consistency)
}

fn outcome(o: &Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Pending => "pending",
        Outcome::Failed => "failed",
    }
}

fn checks_json(checks: &[Check]) -> Value {
    json!(
        checks
            .iter()
            .map(|c| json!({
                "name": c.name,
                "outcome": outcome(&c.outcome),
                "key": c.key,
                "args": c.args.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
            }))
            .collect::<Vec<_>>()
    )
}

fn hex(h: &Hash) -> String {
    data_encoding::HEXLOWER.encode(h)
}

/// The case as the script gets it, with what core's checks found.
fn vector(
    c: &Case,
    inclusion: &BTreeMap<u64, InclusionProof>,
    consistency: &BTreeMap<(u64, u64), Vec<Hash>>,
) -> Value {
    let found = check_receipt(
        &c.receipt,
        &c.heads,
        c.today,
        |_, size| inclusion.get(&size).cloned(),
        |a, b| consistency.get(&(a, b)).cloned(),
    );
    assert!(
        found.iter().any(|f| f.key == c.finding),
        "{}: core found {found:?}",
        c.name
    );
    json!({
        "name": c.name,
        "receipt": serde_json::to_string(&c.receipt).unwrap(),
        "heads": c.heads,
        "today": c.today.map(|d| d.to_string()),
        "inclusion": inclusion.iter().map(|(s, p)| (s.to_string(), json!(p))).collect::<serde_json::Map<_, _>>(),
        "consistency": consistency.iter().map(|((a, b), p)| (format!("{a}-{b}"), json!(p.iter().map(hex).collect::<Vec<_>>()))).collect::<serde_json::Map<_, _>>(),
        "expect": checks_json(&found),
    })
}

/// Receipt texts, and whether the server's reader takes each.
fn texts(l: &Log) -> Value {
    let good = serde_json::to_value(&l.receipt).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let list = [
        good.to_string(),
        serde_json::to_string_pretty(&l.receipt).unwrap(),
        with(&|v| v["extra"] = json!(1)),
        with(&|v| v["leaf"]["extra"] = json!(1)),
        with(&|v| v["log_key"] = json!(v["log_key"].as_str().unwrap().to_uppercase())),
        with(&|v| v["leaf"]["day"] = json!("2026-02-30")),
        with(&|v| v["leaf"]["day"] = json!("2026-2-3")),
        with(&|v| v["leaf"]["day"] = json!("12026-02-03")),
        with(&|v| v["leaf"]["day"] = json!("0099-01-05")),
        good.to_string().replace("\"version\":1", "\"version\":1.0"),
        good.to_string().replace("\"version\":1", "\"version\":1e0"),
        good.to_string()
            .replace("\"version\":1", "\"version\":7,\"version\":1"),
        with(&|v| v["leaf"]["envelopes"] = json!("ab")),
        with(&|v| v["suite"] = json!("other")),
        with(&|v| v["suite"] = json!("shangmi")),
        with(&|v| v["version"] = json!(256)),
        with(&|v| v["version"] = json!("1")),
        with(&|v| {
            v.as_object_mut().unwrap().remove("promise");
        }),
        with(&|v| v["promise"] = json!("abc")),
        "[]".to_owned(),
        "{".to_owned(),
    ];
    json!(
        list.iter()
            .map(|t| json!({"text": t, "accepted": serde_json::from_str::<Receipt>(t).is_ok()}))
            .collect::<Vec<_>>()
    )
}

/// The due head's proof served with the index -1 (which no `u64` reads):
/// the script must not take it for leaf 0's, or for anything.
fn negative(l: &Log) -> Value {
    let t = tree(40, Some((20, l.leaf)), 0);
    let heads = vec![head(&l.key, &t, 16, -1), head(&l.key, &t, 32, 1)];
    let consistency = BTreeMap::from([((16, 32), t.consistency_proof(16, 32).unwrap())]);
    let c = Case {
        name: "a negative index",
        receipt: l.receipt.clone(),
        heads,
        today: Some(day(1)),
        served: t.clone(),
        finding: "broken",
    };
    let mut v = vector(&c, &BTreeMap::new(), &consistency);
    let mut served = serde_json::to_value(InclusionProof::from_tree(&t, 0, 32).unwrap()).unwrap();
    served["index"] = json!(-1);
    v["inclusion"]["32"] = served;
    v
}

/// The due head's proof served for the leaf beside this one: it must not
/// pass as this leaf's.
fn lying(l: &Log) -> Value {
    let t = tree(40, Some((20, l.leaf)), 0);
    let heads = vec![head(&l.key, &t, 16, -1), head(&l.key, &t, 32, 1)];
    let proofs = BTreeMap::from([(32, InclusionProof::from_tree(&t, 21, 32).unwrap())]);
    let consistency = BTreeMap::from([((16, 32), t.consistency_proof(16, 32).unwrap())]);
    let c = Case {
        name: "a lying proof",
        receipt: l.receipt.clone(),
        heads,
        today: Some(day(1)),
        served: t,
        finding: "broken",
    };
    vector(&c, &proofs, &consistency)
}

#[test]
fn the_script_finds_what_core_finds_for_every_receipt_and_log() {
    let l = log();
    let vectors: Vec<Value> = cases(&l)
        .iter()
        .map(|c| {
            let (inclusion, consistency) = served(c);
            vector(c, &inclusion, &consistency)
        })
        .collect();
    let input = json!({"cases": vectors.into_iter().chain([lying(&l), negative(&l)]).collect::<Vec<_>>(), "texts": texts(&l)});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("verify.json");
    let made = dir.path().join("made.json");
    std::fs::write(&path, input.to_string()).unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/intake/web/test/verify.mjs");
    let run = std::process::Command::new("node")
        .arg(&script)
        .arg(&path)
        .arg(&made)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "node verify.mjs failed:\n{said}");
    assert!(said.contains("16 cases, 21 texts"), "{said}");
    signatures_made_by_the_script(&made);
}

/// What the script signed with a log key of its own: a promise core takes
/// (the control), and one whose R has a part of order 8, which passes a
/// cofactored check (noble's alone) and which core, as the script, refuses.
fn signatures_made_by_the_script(made: &std::path::Path) {
    let made: Value = serde_json::from_slice(&std::fs::read(made).unwrap()).unwrap();
    for (name, finding) in [("honest", "promised"), ("torsion", "bad_signature")] {
        let receipt: Receipt = serde_json::from_str(made[name].as_str().unwrap()).unwrap();
        let found = check_receipt(&receipt, &[], None, |_, _| None, |_, _| None);
        assert_eq!(found[0].key, finding, "{name}: {found:?}");
    }
}
