//! Staff secrets a database writer cannot forge: a member's TOTP secret and
//! recovery codes carry a tag only a holder of the unit key can make
//! (`sunlight_core::crypto::authenticated`), checked at every sign-in.

use sunlight_core::UnitId;
use sunlight_core::crypto::{
    AUTHENTICATED, CryptoError, RECOVERY_HASH, SealContext, Sealed, TagBy, UnitSecretKey, open,
    seal_authenticated, tag_bytes, verify_bytes,
};
use zeroize::Zeroizing;

/// The case id of material that belongs to no case (keys, staff secrets).
pub fn no_case() -> sunlight_core::CaseId {
    sunlight_core::CaseId::from_uuid(uuid::Uuid::nil())
}

/// The sealing context of a staff member's TOTP secret: bound to the member
/// so it cannot be copied onto another account.
pub fn totp_context(email: &str) -> Vec<u8> {
    let mut item = b"totp:".to_vec();
    item.extend(email.trim().to_lowercase().as_bytes());
    item
}

const RECOVERY_LABEL: &[u8] = b"sunlight/recovery-codes/v1";

/// Seals a TOTP secret to the unit key, bound to the member, tagged by the
/// unit.
pub fn seal_totp(
    secret: &str,
    email: &str,
    unit: &UnitId,
    key: &UnitSecretKey,
) -> Result<Vec<u8>, CryptoError> {
    let item = totp_context(email);
    seal_authenticated(
        secret.as_bytes(),
        &SealContext {
            case_id: no_case(),
            item: &item,
        },
        &[key.public()],
        unit.as_str(),
        b"",
        key,
    )
}

/// A member's TOTP secret (current or pending). [`CryptoError::Forged`]
/// when its tag is not the unit's, or it has none: a secret sealed to the
/// unit's public key by anyone else never stands in for the member's.
pub fn open_totp(
    sealed: &[u8],
    email: &str,
    unit: &UnitId,
    key: &UnitSecretKey,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let item = totp_context(email);
    let ctx = SealContext {
        case_id: no_case(),
        item: &item,
    };
    // Only the unit's current key vouches: a retired key's tag is one a
    // rotation did not carry over, or one made with a key a database
    // writer slipped into the unit's history.
    match Sealed::parse(sealed) {
        Ok(Sealed::Authenticated(t))
            if t.signer == unit.as_str() && t.verify(&ctx, b"", key) == Ok(TagBy::Current) =>
        {
            open(t.envelope, &ctx, key).map_err(|_| CryptoError::Forged)
        }
        _ => Err(CryptoError::Forged),
    }
}

/// Leaves only the envelope of a tagged blob (what a reporter is given:
/// they cannot check a unit's tag); an untagged or malformed one as it is.
pub fn strip_tag(blob: &mut Vec<u8>) {
    if let Ok(Sealed::Authenticated(t)) = Sealed::parse(blob) {
        let start = blob.len() - t.envelope.len();
        blob.drain(..start);
    }
}

/// The member a recovery list belongs to, length-prefixed so the list's
/// bytes cannot be shifted into the name.
fn who(email: &str) -> Vec<u8> {
    let context = totp_context(email);
    let len = u16::try_from(context.len()).unwrap_or(u16::MAX);
    [len.to_be_bytes().as_slice(), &context].concat()
}

/// Recovery codes' hashes as stored: `0x53 ‖ tag(32) ‖ hashes`.
pub fn tag_recovery_codes(
    hashes: &[u8],
    email: &str,
    key: &UnitSecretKey,
) -> Result<Vec<u8>, CryptoError> {
    let tag = tag_bytes(key, RECOVERY_LABEL, &[who(email).as_slice(), hashes])?;
    let mut out = Vec::with_capacity(1 + tag.len() + hashes.len());
    out.push(AUTHENTICATED);
    out.extend(tag);
    out.extend(hashes);
    Ok(out)
}

/// The hashes of a stored list whose tag the unit key made; none (an empty
/// list) when there are none. A list without a tag, or with a wrong one,
/// is [`CryptoError::Forged`]: its codes sign nobody in.
pub fn recovery_hashes<'a>(
    stored: &'a [u8],
    email: &str,
    key: &UnitSecretKey,
) -> Result<&'a [u8], CryptoError> {
    if stored.is_empty() {
        return Ok(stored);
    }
    let Some((&AUTHENTICATED, rest)) = stored.split_first() else {
        return Err(CryptoError::Forged);
    };
    if rest.len() < 32 || (rest.len() - 32) % RECOVERY_HASH != 0 {
        return Err(CryptoError::Forged);
    }
    let (tag, hashes) = rest.split_at(32);
    match verify_bytes(key, RECOVERY_LABEL, &[who(email).as_slice(), hashes], tag)? {
        TagBy::Current => Ok(hashes),
        TagBy::Retired => Err(CryptoError::Forged),
    }
}

/// Which generation of `key` tagged a stored recovery list; `None` for
/// an untagged or forged one.
pub(crate) fn recovery_hashes_by(stored: &[u8], email: &str, key: &UnitSecretKey) -> Option<TagBy> {
    let (&first, rest) = stored.split_first()?;
    if first != AUTHENTICATED || rest.len() < 32 || (rest.len() - 32) % RECOVERY_HASH != 0 {
        return None;
    }
    let (tag, hashes) = rest.split_at(32);
    verify_bytes(key, RECOVERY_LABEL, &[who(email).as_slice(), hashes], tag).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sunlight_core::crypto::{Suite, UnitKeyPair, seal};

    fn unit() -> UnitId {
        UnitId::parse("gd").unwrap()
    }

    #[test]
    fn a_totp_secret_sealed_to_the_public_key_without_the_unit_key_is_refused() {
        let key = UnitKeyPair::generate(Suite::Modern).unwrap();
        let good = seal_totp("SECRET", "a@b.cn", &unit(), &key.secret).unwrap();
        assert_eq!(
            open_totp(&good, "a@b.cn", &unit(), &key.secret)
                .unwrap()
                .as_slice(),
            b"SECRET"
        );
        // What a database writer can do: seal to the public key.
        let item = totp_context("a@b.cn");
        let forged = seal(
            b"MINE",
            &SealContext {
                case_id: no_case(),
                item: &item,
            },
            &[key.public],
        )
        .unwrap();
        assert_eq!(
            open_totp(&forged, "a@b.cn", &unit(), &key.secret).unwrap_err(),
            CryptoError::Forged
        );
        // Another unit's key holder names themselves: refused too.
        let other = UnitId::parse("gx").unwrap();
        let theirs = seal_totp("MINE", "a@b.cn", &other, &key.secret).unwrap();
        assert_eq!(
            open_totp(&theirs, "a@b.cn", &unit(), &key.secret).unwrap_err(),
            CryptoError::Forged
        );
    }

    #[test]
    fn recovery_codes_need_the_unit_keys_tag() {
        let key = UnitKeyPair::generate(Suite::ShangMi).unwrap();
        let hashes = [7u8; 64];
        let stored = tag_recovery_codes(&hashes, "a@b.cn", &key.secret).unwrap();
        assert_eq!(
            recovery_hashes(&stored, "a@b.cn", &key.secret).unwrap(),
            &hashes
        );
        assert!(recovery_hashes(&stored, "c@b.cn", &key.secret).is_err());
        assert!(recovery_hashes(&hashes, "a@b.cn", &key.secret).is_err());
        let mut more = stored.clone();
        more.extend([9u8; 32]);
        assert!(recovery_hashes(&more, "a@b.cn", &key.secret).is_err());
        assert!(
            recovery_hashes(&[], "a@b.cn", &key.secret)
                .unwrap()
                .is_empty()
        );
    }
}
