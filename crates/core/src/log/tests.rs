use super::*;
use crate::crypto::Suite;

fn hex(h: &Hash) -> String {
    data_encoding::HEXLOWER.encode(h)
}

fn h(text: &str) -> Hash {
    parse_hash(text).unwrap()
}

/// The leaves of the RFC 6962 reference test vectors
/// (certificate-transparency's `merkle_tree_test`).
fn vector_tree() -> Tree {
    let leaves = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    let hasher = TreeHasher(Suite::Modern);
    Tree::from_leaves(
        hasher,
        leaves
            .iter()
            .map(|l| hasher.leaf(&data_encoding::HEXLOWER.decode(l.as_bytes()).unwrap())),
    )
}

#[test]
fn roots_match_the_rfc_6962_vectors() {
    let t = vector_tree();
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    for (i, want) in roots.iter().enumerate() {
        assert_eq!(hex(&t.root(i as u64 + 1).unwrap()), *want, "size {}", i + 1);
    }
    assert_eq!(
        hex(&t.root(0).unwrap()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(t.root(9), None);
}

#[test]
fn proofs_match_the_rfc_6962_vectors() {
    let t = vector_tree();
    let hexes = |v: Vec<Hash>| v.iter().map(hex).collect::<Vec<_>>();
    assert_eq!(
        hexes(t.inclusion_proof(0, 8).unwrap()),
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]
    );
    assert_eq!(
        hexes(t.inclusion_proof(5, 8).unwrap()),
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]
    );
    assert_eq!(
        hexes(t.consistency_proof(6, 8).unwrap()),
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]
    );
    assert_eq!(
        hexes(t.consistency_proof(2, 5).unwrap()),
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]
    );
}

#[test]
fn every_proof_verifies_and_no_altered_one_does() {
    for suite in Suite::ALL {
        let hasher = TreeHasher(suite);
        let t = Tree::from_leaves(hasher, (0u32..37).map(|i| hasher.leaf(&i.to_be_bytes())));
        for size in 1..=37 {
            let root = t.root(size).unwrap();
            for index in 0..size {
                let leaf = t.leaf(index).unwrap();
                let proof = t.inclusion_proof(index, size).unwrap();
                assert!(verify_inclusion(hasher, index, size, &leaf, &proof, &root));
                assert!(
                    !verify_inclusion(hasher, index ^ 1, size.max(2), &leaf, &proof, &root)
                        || size == 1
                );
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = hasher.leaf(first);
                    assert!(!verify_inclusion(hasher, index, size, &leaf, &bad, &root));
                }
            }
            for old in 0..=size {
                let old_root = t.root(old).unwrap();
                let proof = t.consistency_proof(old, size).unwrap();
                assert!(
                    verify_consistency(hasher, old, size, &old_root, &root, &proof),
                    "{suite} {old}->{size}"
                );
                if old > 0 && old < size {
                    let other = hasher.leaf(b"forged");
                    assert!(!verify_consistency(
                        hasher, old, size, &other, &root, &proof
                    ));
                    assert!(!verify_consistency(
                        hasher, old, size, &old_root, &other, &proof
                    ));
                    assert!(!verify_consistency(
                        hasher,
                        old,
                        size,
                        &old_root,
                        &root,
                        &[]
                    ));
                }
            }
        }
    }
}

fn day(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

/// The checks of `receipt` with proofs served from `tree`.
fn check(receipt: &Receipt, heads: &[SignedHead], tree: &Tree) -> Vec<Check> {
    check_on(receipt, heads, tree, None)
}

/// [`check`], on a given day.
fn check_on(
    receipt: &Receipt,
    heads: &[SignedHead],
    tree: &Tree,
    today: Option<chrono::NaiveDate>,
) -> Vec<Check> {
    let inclusion = |leaf: &Hash, size: u64| {
        let index = (0..tree.len()).find(|i| tree.leaf(*i).as_ref() == Some(leaf))?;
        InclusionProof::from_tree(tree, index, size)
    };
    check_receipt(receipt, heads, today, inclusion, |x, y| {
        tree.consistency_proof(x, y)
    })
}

/// A log of 5 leaves with a head on 2026-12-03, then a receipt's leaf
/// filed that day, padded to 16 with a head on 2026-12-04.
struct Honest {
    key: LogKey,
    receipt: Receipt,
    tree: Tree,
    heads: Vec<SignedHead>,
}

fn honest(suite: Suite) -> Honest {
    let key = LogKey::generate(suite).unwrap();
    let hasher = TreeHasher(suite);
    let record = LeafRecord::new(
        envelopes_hash(suite, [b"sealed".as_slice()]),
        day("2026-12-03"),
    )
    .unwrap();
    let receipt = Receipt::new(
        &record,
        &key.public(),
        key.promise(&record.hash(suite), record.day).unwrap(),
    );
    // Round trip through its JSON, as the reporter keeps it.
    let json = serde_json::to_string(&receipt).unwrap();
    let receipt: Receipt = serde_json::from_str(&json).unwrap();
    let mut tree = Tree::from_leaves(hasher, (0u8..5).map(|i| hasher.leaf(&[i])));
    let head0 = key
        .sign_head(5, tree.root(5).unwrap(), day("2026-12-03"))
        .unwrap();
    tree.push(record.hash(suite));
    for _ in 0..10 {
        tree.push(dummy_leaf().unwrap());
    }
    let head1 = key
        .sign_head(16, tree.root(16).unwrap(), day("2026-12-04"))
        .unwrap();
    Honest {
        key,
        receipt,
        tree,
        heads: vec![head0, head1],
    }
}

#[test]
fn a_receipt_holds_against_honest_heads() {
    for suite in Suite::ALL {
        let h = honest(suite);
        let checks = check(&h.receipt, &h.heads, &h.tree);
        assert!(
            checks.iter().all(|c| c.outcome == Outcome::Passed),
            "{checks:?}"
        );
        // Only the first head, of the promise's day and without the leaf.
        let checks = check(&h.receipt, &h.heads[..1], &h.tree);
        assert_eq!(
            checks.last().unwrap().outcome,
            Outcome::Pending,
            "{checks:?}"
        );
        // ...still so two days on, but not three: the log signs daily.
        let stale = |today: &str, heads: &[SignedHead]| {
            check_receipt(
                &h.receipt,
                heads,
                Some(day(today)),
                |_, _| None,
                |a, b| h.tree.consistency_proof(a, b),
            )
        };
        let pending = stale("2026-12-05", &h.heads[..1]);
        assert_eq!(pending.last().unwrap().outcome, Outcome::Pending);
        // With its due head published, a receipt holds however old it is.
        let old = check_on(&h.receipt, &h.heads, &h.tree, Some(day("2027-06-01")));
        assert!(old.iter().all(|c| c.outcome != Outcome::Failed), "{old:?}");
        // A promise dated ahead of tomorrow never comes due.
        let future = check_on(&h.receipt, &h.heads, &h.tree, Some(day("2026-12-01")));
        assert!(
            future.last().unwrap().detail.contains("in the future"),
            "{future:?}"
        );
        for heads in [&h.heads[..1], &[]] {
            let checks = stale("2026-12-06", heads);
            assert!(
                checks.last().unwrap().detail.contains("no head since"),
                "{checks:?}"
            );
        }
    }
}

#[test]
fn a_receipt_check_names_what_failed() {
    for suite in Suite::ALL {
        let Honest {
            key,
            receipt,
            tree,
            heads,
        } = honest(suite);
        let hasher = TreeHasher(suite);
        let failed = |checks: &[Check], what: &str| {
            checks
                .iter()
                .any(|c| c.outcome == Outcome::Failed && c.detail.contains(what))
        };
        let mut forged = receipt.clone();
        forged.leaf.nonce[0] ^= 1;
        assert!(failed(&check(&forged, &heads, &tree), "bad signature"));
        // A later head without the leaf (a restore of an older backup).
        let mut old = Tree::from_leaves(hasher, (0u8..5).map(|i| hasher.leaf(&[i])));
        for _ in 0..11 {
            old.push(dummy_leaf().unwrap());
        }
        let restored = key
            .sign_head(16, old.root(16).unwrap(), day("2026-12-05"))
            .unwrap();
        let checks = check(&receipt, &[heads[0].clone(), restored.clone()], &old);
        assert!(failed(&checks, "promise broken"), "{checks:?}");
        // Heads that fork, and heads that shrink.
        let checks = check(
            &receipt,
            &[heads[0].clone(), heads[1].clone(), restored],
            &tree,
        );
        assert!(failed(&checks, "forked"), "{checks:?}");
        let small = key
            .sign_head(5, tree.root(5).unwrap(), day("2026-12-06"))
            .unwrap();
        let checks = check(
            &receipt,
            &[heads[0].clone(), heads[1].clone(), small],
            &tree,
        );
        assert!(failed(&checks, "shrank"), "{checks:?}");
        // A head signed by another key.
        let other = LogKey::generate(suite).unwrap();
        let stranger = other
            .sign_head(16, tree.root(16).unwrap(), day("2026-12-04"))
            .unwrap();
        assert!(failed(
            &check(&receipt, &[stranger], &tree),
            "not signed by this log's key"
        ));
    }
}

#[test]
fn the_log_key_is_derived_from_the_pepper_alone() {
    for suite in Suite::ALL {
        let a = LogKey::derive(suite, &[1u8; 32]).unwrap();
        let b = LogKey::derive(suite, &[1u8; 32]).unwrap();
        let c = LogKey::derive(suite, &[2u8; 32]).unwrap();
        assert_eq!(a.public(), b.public());
        assert_ne!(a.public(), c.public());
        assert_eq!(a.suite(), suite);
    }
}

#[test]
fn records_are_exactly_the_documented_bytes() {
    let record = LeafRecord {
        envelopes: [0xab; 32],
        nonce: [0x01; 16],
        day: day("2026-12-03"),
    };
    let bytes = record.bytes();
    assert_eq!(bytes.len(), 78);
    assert!(bytes.starts_with(b"sunlight/log-leaf/v1"));
    assert!(bytes.ends_with(b"2026-12-03"));
    assert_eq!(padded_size(0), 0);
    assert_eq!(padded_size(1), 16);
    assert_eq!(padded_size(16), 16);
    assert_eq!(padded_size(17), 32);
    // Length prefixes keep ["ab", "c"] and ["a", "bc"] apart.
    assert_ne!(
        envelopes_hash(Suite::Modern, [b"ab".as_slice(), b"c"]),
        envelopes_hash(Suite::Modern, [b"a".as_slice(), b"bc"])
    );
    let _ = h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

#[test]
fn every_finding_has_english_words() {
    for key in crate::log::FINDINGS {
        assert!(!super::receipt::english_for_tests(key).is_empty(), "{key}");
    }
}

#[test]
fn days_are_read_only_as_the_log_writes_them() {
    let h = honest(Suite::Modern);
    let mut receipt = serde_json::to_value(&h.receipt).unwrap();
    let head = serde_json::to_value(&h.heads[0]).unwrap();
    assert_eq!(receipt["leaf"]["day"], "2026-12-03");
    assert!(serde_json::from_value::<SignedHead>(head.clone()).is_ok());
    for loose in [
        "2026-12-3",
        "12026-12-03",
        "+2026-12-03",
        " 2026-12-03",
        "2026-12-03 ",
        "2026-13-01",
    ] {
        receipt["leaf"]["day"] = serde_json::json!(loose);
        assert!(
            serde_json::from_value::<Receipt>(receipt.clone()).is_err(),
            "{loose}"
        );
        let mut h = head.clone();
        h["day"] = serde_json::json!(loose);
        assert!(serde_json::from_value::<SignedHead>(h).is_err(), "{loose}");
    }
}
