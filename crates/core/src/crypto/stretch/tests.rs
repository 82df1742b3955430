use super::*;

fn fixed() -> (CodeStretcher, TrackingCode) {
    let secrets = DeploymentSecrets {
        salt: [1u8; 16],
        pepper: Zeroizing::new([2u8; 32]),
    };
    let code = TrackingCode::parse("4821-0937-5561-2084-7735")
        .or_else(|_| TrackingCode::generate())
        .unwrap();
    (CodeStretcher::new(secrets, StretchParams::TEST), code)
}

#[test]
fn same_code_same_keys_other_code_or_pepper_other_keys() {
    let secrets = DeploymentSecrets::generate().unwrap();
    let s = CodeStretcher::new(secrets.clone(), StretchParams::TEST);
    let code = TrackingCode::generate().unwrap();
    let a = s.stretch(&code).unwrap();
    let b = s.stretch(&code).unwrap();
    assert_eq!(a.lookup_key, b.lookup_key);
    assert_eq!(a.scheme, CodeScheme::KeyedIndex);
    assert_eq!(a.reporter_public(), b.reporter_public());
    assert_ne!(&a.lookup_key[..], a.reporter_public().as_bytes());

    let other = s.stretch(&TrackingCode::generate().unwrap()).unwrap();
    assert_ne!(a.lookup_key, other.lookup_key);

    let mut peppered = secrets;
    peppered.pepper = Zeroizing::new([7u8; 32]);
    let c = CodeStretcher::new(peppered, StretchParams::TEST)
        .stretch(&code)
        .unwrap();
    assert_ne!(a.lookup_key, c.lookup_key);
    // Without the pepper a guess cannot be checked against the stored
    // reporter key either: the share carries the pepper into it.
    assert_ne!(a.reporter_public(), c.reporter_public());
}

#[test]
fn the_browser_path_and_the_server_path_agree_and_the_token_is_not_the_index() {
    let (s, code) = fixed();
    let mut mem = StretchMemory::new(StretchParams::TEST).unwrap();
    let server = s.stretch_in(&code, &mut mem).unwrap();
    let browser = CodeStretch::run(&code, &s.salt(), s.params(), &mut mem).unwrap();
    let token = browser.lookup_token().unwrap();
    assert_ne!(token.0, server.lookup_key, "the index needs the pepper");
    assert_eq!(s.secrets().index_of(&token), server.lookup_key);
    let share = s.secrets().share_of(&token);
    assert_eq!(
        browser.reporter_secret(&share).unwrap().public(),
        server.reporter_public()
    );
}

#[test]
fn the_pepper_macs_are_hmac_sha256() {
    // HKDF-Extract(salt, ikm) is HMAC(salt, ikm) (RFC 5869 §2.2): an
    // independent computation of the same MAC.
    let (s, _) = fixed();
    let token = LookupToken([9u8; 32]);
    let (prk, _) = Hkdf::<Sha256>::extract(
        Some(s.secrets().pepper.as_ref()),
        &[b"sunlight/code/v2/index".as_slice(), &token.0].concat(),
    );
    assert_eq!(s.secrets().index_of(&token).as_slice(), prk.as_slice());
    assert_ne!(
        s.secrets().index_of(&token),
        *s.secrets().share_of(&token).0
    );
}

#[test]
fn scheme_one_is_kept_apart_and_stable() {
    let (s, code) = fixed();
    let mut mem = StretchMemory::new(StretchParams::TEST).unwrap();
    let old = s.stretch_legacy_in(&code, &mut mem).unwrap();
    let new = s.stretch_in(&code, &mut mem).unwrap();
    assert_eq!(old.scheme, CodeScheme::PepperedStretch);
    assert_ne!(old.lookup_key, new.lookup_key);
    assert_ne!(old.reporter_public(), new.reporter_public());
    assert_eq!(
        s.stretch_legacy_in(&code, &mut mem).unwrap().lookup_key,
        old.lookup_key
    );
}

#[test]
fn scheme_three_gives_an_sm2_reporter_key_and_its_own_index() {
    let (s, code) = fixed();
    let s = s.with_suite(Suite::ShangMi);
    let mut mem = StretchMemory::new(StretchParams::TEST).unwrap();
    let sm = s.stretch_in(&code, &mut mem).unwrap();
    assert_eq!(sm.scheme, CodeScheme::ShangMi);
    assert_eq!(sm.reporter_public().suite(), Suite::ShangMi);
    assert_eq!(sm.reporter_public().as_bytes().len(), 65);
    let modern = s
        .stretch_as_in(&code, CodeScheme::KeyedIndex, &mut mem)
        .unwrap();
    assert_ne!(sm.lookup_key, modern.lookup_key);
    assert_eq!(modern.reporter_public().suite(), Suite::Modern);
    // Stable, and the index is HMAC-SM3 of the SM3 token under the pepper.
    let again = s.stretch_in(&code, &mut mem).unwrap();
    assert_eq!(again.lookup_key, sm.lookup_key);
    assert_eq!(again.reporter_public(), sm.reporter_public());
    let browser = CodeStretch::run(&code, &s.salt(), s.params(), &mut mem).unwrap();
    let token = browser.sm3_token().unwrap();
    let mut index_input = b"sunlight/code/v3/index".to_vec();
    index_input.extend(token.0);
    assert_eq!(
        crate::crypto::shangmi::hmac_sm3(s.secrets().pepper.as_ref(), &index_input).unwrap(),
        sm.lookup_key
    );
    for n in 1..=3 {
        assert_eq!(CodeScheme::from_i16(n).map(CodeScheme::as_i16), Some(n));
    }
    assert_eq!(CodeScheme::from_i16(4), None);
}

#[test]
fn reused_memory_gives_the_same_keys() {
    let s = CodeStretcher::new(DeploymentSecrets::generate().unwrap(), StretchParams::TEST);
    let mut mem = StretchMemory::new(StretchParams::TEST).unwrap();
    for _ in 0..3 {
        let code = TrackingCode::generate().unwrap();
        let fresh = s.stretch(&code).unwrap();
        let reused = s.stretch_in(&code, &mut mem).unwrap();
        assert_eq!(fresh.lookup_key, reused.lookup_key);
        assert_eq!(fresh.reporter_public(), reused.reporter_public());
    }
    assert!(
        mem.blocks
            .iter()
            .all(|b| b.as_ref().iter().all(|w| *w == 0)),
        "wiped"
    );
}

#[test]
fn one_run_serves_schemes_two_and_three_and_the_browser_path_follows_the_suite() {
    let (s, code) = fixed();
    assert!(s.offers_browser_path());
    let sm = s.clone().with_suite(Suite::ShangMi);
    assert!(!sm.offers_browser_path());
    assert!(!s.clone().without_browser_path().offers_browser_path());
    assert!(sm.with_suite(Suite::Modern).offers_browser_path());
    let mut mem = StretchMemory::new(StretchParams::TEST).unwrap();
    let run = s.run_in(&code, &mut mem).unwrap();
    for scheme in [CodeScheme::KeyedIndex, CodeScheme::ShangMi] {
        let shared = s.keyed(&run, scheme).unwrap();
        let alone = s.stretch_as_in(&code, scheme, &mut mem).unwrap();
        assert_eq!(shared.lookup_key, alone.lookup_key);
        assert_eq!(shared.reporter_public(), alone.reporter_public());
        assert_eq!(shared.scheme, scheme);
    }
    assert_eq!(
        s.keyed(&run, CodeScheme::PepperedStretch).unwrap_err(),
        CryptoError::Params
    );
}
