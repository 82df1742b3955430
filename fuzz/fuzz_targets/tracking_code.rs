//! The tracking-code parser (查询码) on any text a reporter or a prober may
//! type. What it accepts must be exactly 20 digits whose Damm check holds,
//! must read back as itself in every spelling the pages show, and must stop
//! parsing after any single mistyped digit or swap of neighbours.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sunlight_core::TrackingCode;
use sunlight_core::code::{CODE_DIGITS, CodeError, damm};

fuzz_target!(|raw: &str| {
    let code = match TrackingCode::parse(raw) {
        Ok(code) => code,
        Err(CodeError::Random) => panic!("parsing never draws randomness"),
        Err(_) => return,
    };
    let ascii = code.to_ascii();
    let digits: Vec<u8> = ascii.iter().map(|b| b - b'0').collect();
    assert_eq!(digits.len(), CODE_DIGITS);
    assert!(digits.iter().all(|d| *d <= 9));
    assert_eq!(damm(&digits), 0, "an accepted code fails its own check");

    let shown = code.to_string();
    assert_eq!(TrackingCode::parse(&shown).as_ref(), Ok(&code));
    assert_eq!(
        TrackingCode::parse(&shown.replace('-', " ")).as_ref(),
        Ok(&code)
    );
    let plain = std::str::from_utf8(&*ascii).expect("digits are ASCII");
    assert_eq!(TrackingCode::parse(plain).as_ref(), Ok(&code));

    let mut typo = *ascii;
    for i in 0..CODE_DIGITS {
        for d in b'0'..=b'9' {
            if d == ascii[i] {
                continue;
            }
            typo[i] = d;
            let text = std::str::from_utf8(&typo).expect("digits are ASCII");
            assert_eq!(TrackingCode::parse(text), Err(CodeError::CheckDigit));
        }
        typo[i] = ascii[i];
    }
    for i in 0..CODE_DIGITS - 1 {
        if ascii[i] == ascii[i + 1] {
            continue;
        }
        let mut swapped = *ascii;
        swapped.swap(i, i + 1);
        let text = std::str::from_utf8(&swapped).expect("digits are ASCII");
        assert_eq!(TrackingCode::parse(text), Err(CodeError::CheckDigit));
    }
});
