//! Tracking codes (查询码): 19 random digits and a Damm check digit.
//!
//! The Damm algorithm catches every single-digit error and every adjacent
//! transposition, so a mistyped code is refused before any (slow, Argon2id)
//! lookup. 19 random decimal digits carry 63.1 bits, above the 60 bits the
//! architecture asks for.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Number of digits including the check digit.
pub const CODE_DIGITS: usize = 20;

/// Why a typed code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a tracking code has 20 digits")]
    WrongLength,
    #[error("a tracking code contains only digits, spaces and dashes")]
    NotADigit,
    #[error("a digit was mistyped: the check digit does not match")]
    CheckDigit,
    #[error("the system's random generator failed")]
    Random,
}

/// Damm's quasigroup of order 10 (totally anti-symmetric).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm interim digit of `digits` (each 0..=9); 0 means valid when the
/// check digit is included.
pub fn damm(digits: &[u8]) -> u8 {
    digits.iter().fold(0u8, |interim, &d| {
        DAMM.get(usize::from(interim))
            .and_then(|row| row.get(usize::from(d)))
            .copied()
            .unwrap_or(u8::MAX)
    })
}

/// A well-formed tracking code. Never stored, logged or put in a URL: only
/// its Argon2id stretch is kept (see `crypto::stretch`).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct TrackingCode {
    digits: [u8; CODE_DIGITS],
}

impl TrackingCode {
    /// A fresh code from the operating system's random generator.
    pub fn generate() -> Result<Self, CodeError> {
        let mut digits = [0u8; CODE_DIGITS];
        let mut body = [0u8; CODE_DIGITS - 1];
        let mut filled = 0;
        // Rejection sampling keeps every digit uniform: bytes >= 250 are
        // dropped so that `% 10` has no bias.
        while filled < body.len() {
            let mut buf = [0u8; 32];
            getrandom::fill(&mut buf).map_err(|_| CodeError::Random)?;
            for b in buf.iter().copied().filter(|b| *b < 250) {
                if let Some(slot) = body.get_mut(filled) {
                    *slot = b % 10;
                    filled += 1;
                }
            }
            buf.zeroize();
        }
        let check = check_digit(&body);
        for (d, s) in digits
            .iter_mut()
            .zip(body.iter().chain(std::iter::once(&check)))
        {
            *d = *s;
        }
        body.zeroize();
        Ok(Self { digits })
    }

    /// Reads a code as a person typed it: spaces and dashes are ignored.
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let mut digits = [0u8; CODE_DIGITS];
        let mut n = 0usize;
        // Cap the work done on hostile input before looking at it further.
        if raw.len() > 64 {
            return Err(CodeError::WrongLength);
        }
        for c in raw.chars() {
            match c {
                ' ' | '-' | '\u{3000}' | '\t' => continue,
                // Full-width digits come from Chinese input methods.
                '0'..='9' | '０'..='９' => {
                    let zero = if c.is_ascii_digit() { '0' } else { '０' };
                    let slot = digits.get_mut(n).ok_or(CodeError::WrongLength)?;
                    *slot = u8::try_from(u32::from(c) - u32::from(zero))
                        .map_err(|_| CodeError::NotADigit)?;
                    n += 1;
                }
                _ => return Err(CodeError::NotADigit),
            }
        }
        if n != CODE_DIGITS {
            return Err(CodeError::WrongLength);
        }
        if damm(&digits) != 0 {
            return Err(CodeError::CheckDigit);
        }
        Ok(Self { digits })
    }

    /// The 20 ASCII digits, for key stretching.
    pub fn to_ascii(&self) -> zeroize::Zeroizing<[u8; CODE_DIGITS]> {
        let mut out = [0u8; CODE_DIGITS];
        for (o, d) in out.iter_mut().zip(self.digits.iter()) {
            *o = b'0' + d;
        }
        zeroize::Zeroizing::new(out)
    }
}

/// The Damm check digit for `body`.
pub fn check_digit(body: &[u8]) -> u8 {
    damm(body)
}

/// Five groups of four digits: `4821-0937-5561-2084-7735`.
impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.digits.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                f.write_str("-")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Redacted: a code must never reach a log through `{:?}`.
impl fmt::Debug for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrackingCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code_from(body: &[u8; 19]) -> String {
        let mut s: String = body.iter().map(|d| char::from(b'0' + d)).collect();
        s.push(char::from(b'0' + check_digit(body)));
        s
    }

    #[test]
    fn generated_codes_parse_back_and_display_in_groups() {
        for _ in 0..100 {
            let code = TrackingCode::generate().unwrap();
            let shown = code.to_string();
            assert_eq!(shown.len(), 24);
            assert_eq!(shown.matches('-').count(), 4);
            assert_eq!(TrackingCode::parse(&shown).unwrap(), code);
            assert_eq!(TrackingCode::parse(&shown.replace('-', " ")).unwrap(), code);
            assert_eq!(TrackingCode::parse(&shown.replace('-', "")).unwrap(), code);
            let full_width: String = shown
                .chars()
                .map(|c| {
                    c.to_digit(10)
                        .map_or(c, |d| char::from_u32(0xFF10 + d).unwrap())
                })
                .collect();
            assert_eq!(TrackingCode::parse(&full_width).unwrap(), code);
        }
    }

    #[test]
    fn malformed_input_has_its_own_errors() {
        assert_eq!(TrackingCode::parse(""), Err(CodeError::WrongLength));
        assert_eq!(TrackingCode::parse("1234"), Err(CodeError::WrongLength));
        assert_eq!(
            TrackingCode::parse(&"1".repeat(21)),
            Err(CodeError::WrongLength)
        );
        assert_eq!(
            TrackingCode::parse(&"1".repeat(500)),
            Err(CodeError::WrongLength)
        );
        assert_eq!(
            TrackingCode::parse("1234-5678-9012-3456-789a"),
            Err(CodeError::NotADigit)
        );
        assert_eq!(TrackingCode::parse("１２３４"), Err(CodeError::WrongLength));
        assert_eq!(TrackingCode::parse("1234x"), Err(CodeError::NotADigit));
    }

    #[test]
    fn debug_does_not_leak_the_code() {
        let code = TrackingCode::generate().unwrap();
        assert_eq!(format!("{code:?}"), "TrackingCode(<redacted>)");
    }

    proptest! {
        #[test]
        fn every_single_digit_error_is_caught(body in prop::array::uniform19(0u8..10), pos in 0usize..20, delta in 1u8..10) {
            let good = code_from(&body);
            prop_assert!(TrackingCode::parse(&good).is_ok());
            let mut bad: Vec<u8> = good.bytes().collect();
            bad[pos] = b'0' + (bad[pos] - b'0' + delta) % 10;
            let bad = String::from_utf8(bad).unwrap();
            prop_assert_eq!(TrackingCode::parse(&bad), Err(CodeError::CheckDigit));
        }

        #[test]
        fn every_adjacent_transposition_is_caught(body in prop::array::uniform19(0u8..10), pos in 0usize..19) {
            let good = code_from(&body);
            let mut bad: Vec<u8> = good.bytes().collect();
            prop_assume!(bad[pos] != bad[pos + 1]);
            bad.swap(pos, pos + 1);
            let bad = String::from_utf8(bad).unwrap();
            prop_assert_eq!(TrackingCode::parse(&bad), Err(CodeError::CheckDigit));
        }
    }
}
