//! Every property runs for both suites; a mixed envelope (an X25519 unit
//! above an SM2 one, during a move between suites) has its own tests.

use super::*;
use crate::crypto::{Suite, UnitKeyPair};
use proptest::prelude::*;

fn ctx(case: u64) -> SealContext<'static> {
    SealContext {
        case_id: CaseId::new_v7(case),
        item: b"report",
    }
}

fn pair(suite: Suite) -> UnitKeyPair {
    UnitKeyPair::generate(suite).unwrap()
}

/// The length of one slot for a recipient of `suite`, in an envelope of
/// that suite's own format.
fn slot_len(suite: Suite) -> usize {
    match suite {
        Suite::Modern => V1_SLOT_LEN,
        Suite::ShangMi => 1 + 8 + SM2_WRAP_OVERHEAD + 16,
    }
}

fn suite_of(i: bool) -> Suite {
    if i { Suite::ShangMi } else { Suite::Modern }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_recipient_opens_and_outsiders_cannot(payload in prop::collection::vec(any::<u8>(), 0..4096), n in 1usize..5, sm in any::<bool>()) {
        let suite = suite_of(sm);
        let pairs: Vec<_> = (0..n).map(|_| pair(suite)).collect();
        let publics: Vec<_> = pairs.iter().map(|p| p.public).collect();
        let c = ctx(1_700_000_000_000);
        let env = seal(&payload, &c, &publics).unwrap();
        prop_assert_eq!(env[0], if sm { SHANGMI } else { VERSION });
        prop_assert_eq!(env.len(), 2 + n * slot_len(suite) + 12 + payload.len() + 16);
        for pair in &pairs {
            let opened = open(&env, &c, &pair.secret).unwrap();
            prop_assert_eq!(opened.as_slice(), payload.as_slice());
            let again = Opener::new(&pair.secret).open(&env, &c).unwrap();
            prop_assert_eq!(again.as_slice(), payload.as_slice());
        }
        for other in Suite::ALL {
            let outsider = UnitKeyPair::generate(other).unwrap();
            prop_assert_eq!(open(&env, &c, &outsider.secret).unwrap_err(), CryptoError::Open);
            prop_assert_eq!(Opener::new(&outsider.secret).open(&env, &c).unwrap_err(), CryptoError::Open);
        }
    }

    #[test]
    fn any_flipped_bit_is_rejected(payload in prop::collection::vec(any::<u8>(), 1..512), at in any::<prop::sample::Index>(), bit in 0u8..8, sm in any::<bool>()) {
        let pair = pair(suite_of(sm));
        let c = ctx(5);
        let mut env = seal(&payload, &c, &[pair.public]).unwrap();
        let i = at.index(env.len());
        env[i] ^= 1 << bit;
        prop_assert!(open(&env, &c, &pair.secret).is_err());
    }

    #[test]
    fn other_case_or_item_is_rejected(payload in prop::collection::vec(any::<u8>(), 0..256), sm in any::<bool>()) {
        let pair = pair(suite_of(sm));
        let c = ctx(5);
        let env = seal(&payload, &c, &[pair.public]).unwrap();
        prop_assert!(open(&env, &ctx(6), &pair.secret).is_err());
        let other_item = SealContext { case_id: c.case_id, item: b"message-1" };
        prop_assert!(open(&env, &other_item, &pair.secret).is_err());
    }
}

#[test]
fn removing_a_recipient_slot_is_rejected() {
    for suite in Suite::ALL {
        let unit = pair(suite);
        let oversight = pair(suite);
        let c = ctx(11);
        let env = seal(b"report", &c, &[unit.public, oversight.public]).unwrap();
        assert!(open(&env, &c, &unit.secret).is_ok());
        // Drop the oversight slot and lower the count: the unit's own slot
        // still unwraps the data key, but the body no longer opens.
        let len = slot_len(suite);
        let mut cut = vec![env[0], 1];
        cut.extend(&env[2..2 + len]);
        cut.extend(&env[2 + 2 * len..]);
        assert_eq!(
            open(&cut, &c, &unit.secret).unwrap_err(),
            CryptoError::Open,
            "{suite}"
        );
    }
}

#[test]
fn swapping_a_recipient_slot_is_rejected() {
    for suite in Suite::ALL {
        let a = pair(suite);
        let b = pair(suite);
        let c = ctx(9);
        let env_a = seal(b"one", &c, &[a.public]).unwrap();
        let env_b = seal(b"two", &c, &[b.public]).unwrap();
        // Put b's slot in front of a's body: b must not read a's payload.
        let len = slot_len(suite);
        let mut franken = env_b[..2 + len].to_vec();
        franken.extend(&env_a[2 + len..]);
        assert!(open(&franken, &c, &b.secret).is_err(), "{suite}");
        assert_eq!(seal(b"x", &c, &[]).unwrap_err(), CryptoError::NoRecipients);
        assert!(open(&[2, 1], &c, &a.secret).is_err());
        assert!(open(&[], &c, &a.secret).is_err());
    }
}

#[test]
fn a_mixed_envelope_is_shangmi_and_opens_for_both_kinds() {
    let sm2_unit = pair(Suite::ShangMi);
    let x25519_above = pair(Suite::Modern);
    let c = ctx(12);
    let env = seal(b"moving", &c, &[sm2_unit.public, x25519_above.public]).unwrap();
    assert_eq!(env[0], SHANGMI);
    // An SM2 slot, then an X25519 one carrying a 16-byte SM4 key.
    assert_eq!(env[2], KIND_SM2);
    let second = 2 + slot_len(Suite::ShangMi);
    assert_eq!(env[second], KIND_X25519);
    let header = second + 1 + 8 + 32 + 16 + 16;
    assert_eq!(env.len(), header + 12 + b"moving".len() + 16);
    for key in [&sm2_unit.secret, &x25519_above.secret] {
        assert_eq!(open(&env, &c, key).unwrap().as_slice(), b"moving");
    }
    assert_eq!(
        check_addressed(&env, &[sm2_unit.public, x25519_above.public]),
        Ok(header)
    );
    assert!(addressed_to(&env, &x25519_above.public));
    // A version-2 envelope to X25519 keys only is not what `seal` makes.
    let only_x = seal(b"x", &c, &[x25519_above.public]).unwrap();
    let mut relabelled = vec![SHANGMI, 1, KIND_X25519];
    relabelled.extend(&only_x[2..]);
    assert_eq!(
        check_addressed(&relabelled, &[x25519_above.public]),
        Err(CryptoError::Malformed)
    );
    // A slot kind the version does not allow is malformed, not unopenable.
    let mut wrong_kind = env.clone();
    wrong_kind[2] = 9;
    assert_eq!(
        open(&wrong_kind, &c, &sm2_unit.secret).unwrap_err(),
        CryptoError::Malformed
    );
}

#[test]
fn a_key_rotated_into_the_other_suite_still_opens_what_came_before() {
    for (from, to) in [
        (Suite::Modern, Suite::ShangMi),
        (Suite::ShangMi, Suite::Modern),
    ] {
        let old = pair(from);
        let new = pair(to);
        let c = ctx(13);
        let before = seal(b"before", &c, &[old.public]).unwrap();
        let h = ctx(14);
        let history = old.secret.seal_to(&new.public, &h).unwrap();
        assert_eq!(
            history[0],
            if to == Suite::ShangMi {
                SHANGMI
            } else {
                VERSION
            }
        );
        let retired = UnitSecretKey::open_sealed(&history, &h, &new.secret).unwrap();
        assert_eq!(retired.public(), old.public);
        let ring = new.secret.clone().with_retired(retired);
        assert_eq!(open(&before, &c, &ring).unwrap().as_slice(), b"before");
        assert_eq!(
            Opener::new(&ring).open(&before, &c).unwrap().as_slice(),
            b"before"
        );
    }
}

#[test]
fn addressed_to_reads_the_slots_and_nothing_else() {
    for suite in Suite::ALL {
        let a = pair(suite);
        let b = pair(suite);
        let env = seal(b"x", &ctx(4), &[a.public]).unwrap();
        assert!(addressed_to(&env, &a.public));
        assert!(!addressed_to(&env, &b.public));
        assert!(!addressed_to(&[], &a.public));
        assert!(!addressed_to(&env[..30], &a.public));
        // Of several keys: other units' (Some(false)) is not damage (None).
        assert_eq!(addressed_to_any(&env, &[b.public, a.public]), Some(true));
        assert_eq!(addressed_to_any(&env, &[b.public]), Some(false));
        assert_eq!(addressed_to_any(&env[..30], &[a.public]), None);
        assert_eq!(addressed_to_any(&[0xA5; 64], &[a.public]), None);
    }
}

#[test]
fn low_order_keys_are_not_contributory() {
    for suite in Suite::ALL {
        assert!(pair(suite).public.is_contributory().unwrap());
    }
    // The all-zero point and 1 are of low order.
    for low in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        assert!(!UnitPublicKey::from_bytes(low).is_contributory().unwrap());
    }
}

#[test]
fn check_addressed_accepts_the_right_slots_in_order_only() {
    for suite in Suite::ALL {
        let a = pair(suite);
        let b = pair(suite);
        let env = seal(b"x", &ctx(3), &[a.public, b.public]).unwrap();
        assert_eq!(
            check_addressed(&env, &[a.public, b.public]),
            Ok(2 + 2 * slot_len(suite))
        );
        assert!(check_addressed(&env, &[b.public, a.public]).is_err());
        assert!(check_addressed(&env, &[a.public]).is_err());
        assert!(check_addressed(&env[..40], &[a.public, b.public]).is_err());
        let mut other_version = env.clone();
        other_version[0] = 9;
        assert_eq!(
            check_addressed(&other_version, &[a.public, b.public]),
            Err(CryptoError::Version(9))
        );
    }
}
