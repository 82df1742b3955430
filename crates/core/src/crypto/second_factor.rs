//! Single-use recovery codes of a member's second factor: 10 shown once
//! when an authenticator is confirmed, each standing in for one TOTP code
//! when the device is lost. Stored only as SHA-256 hashes: 80 random bits
//! each need no slow hash (nothing to guess from a dictionary).

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// How many codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// The length of one stored hash.
pub const RECOVERY_HASH: usize = 32;

/// A code as people type it: upper case, without spaces or dashes; `None`
/// when it cannot be one (16 base32 characters).
fn normalize(code: &str) -> Option<Zeroizing<String>> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        code.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    let ok = cleaned.len() == 16
        && cleaned
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    ok.then_some(cleaned)
}

/// The stored hash of a code, or `None` for text that is not one.
pub fn recovery_hash(code: &str) -> Option<[u8; RECOVERY_HASH]> {
    let code = normalize(code)?;
    let mut out = [0u8; RECOVERY_HASH];
    out.copy_from_slice(&Sha256::digest(format!(
        "sunlight/recovery-code/v1:{}",
        code.as_str()
    )));
    Some(out)
}

/// Fresh codes (`XXXX-XXXX-XXXX-XXXX`, 80 bits each) and their hashes,
/// concatenated as `staff.recovery_codes` keeps them.
pub fn new_recovery_codes() -> Result<(Vec<Zeroizing<String>>, Vec<u8>), CryptoError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES * RECOVERY_HASH);
    for _ in 0..RECOVERY_CODES {
        let raw = random_bytes::<10>()?;
        let text = Zeroizing::new(BASE32_NOPAD.encode(raw.as_ref()));
        let mut shown = Zeroizing::new(String::with_capacity(19));
        for (i, c) in text.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                shown.push('-');
            }
            shown.push(c);
        }
        hashes.extend(recovery_hash(&shown).ok_or(CryptoError::Malformed)?);
        codes.push(shown);
    }
    Ok((codes, hashes))
}

/// `stored` without `hash`, when `hash` is one of its entries.
pub fn spend_recovery_code(stored: &[u8], hash: &[u8; RECOVERY_HASH]) -> Option<Vec<u8>> {
    let at = stored
        .chunks_exact(RECOVERY_HASH)
        .position(|h| bool::from(subtle::ConstantTimeEq::ct_eq(h, hash.as_slice())))?;
    let mut rest = stored.to_vec();
    let start = at.checked_mul(RECOVERY_HASH)?;
    rest.drain(start..start.checked_add(RECOVERY_HASH)?);
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_spent_once_and_typing_slips_are_forgiven() {
        let (codes, hashes) = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(hashes.len(), RECOVERY_CODES * RECOVERY_HASH);
        assert_eq!(codes[0].len(), 19, "{}", codes[0].as_str());
        let typed = codes[3].to_lowercase().replace('-', " ");
        let hash = recovery_hash(&typed).unwrap();
        let rest = spend_recovery_code(&hashes, &hash).unwrap();
        assert_eq!(rest.len(), hashes.len() - RECOVERY_HASH);
        assert!(spend_recovery_code(&rest, &hash).is_none(), "spent");
        assert!(recovery_hash("123456").is_none(), "a TOTP code is not one");
        assert!(recovery_hash("AAAA-AAAA-AAAA-AAA1").is_none());
    }
}
