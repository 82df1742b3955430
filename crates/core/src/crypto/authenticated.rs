//! Staff material that a database writer cannot forge (员工写入材料的认证).
//!
//! Anyone may seal to a unit's public key: that is how reports arrive
//! anonymously. But a staff message, a history note, a hold notice or a
//! TOTP secret is written only by a member who holds a unit key, so each
//! carries a tag under a key derived from a unit's *private* key, checked
//! on every open. Whoever can write the database but holds no unit key can
//! seal text to the public keys, and cannot make its tag.
//!
//! ```text
//! authenticated = 0x53 ('S') | 0x01 | signer_len(1) | signer | tag(32) | envelope
//! tag           = HMAC-H(auth_key, "sunlight/staff-tag/v1" | case_id(16)
//!                        | item_len(2, big-endian) | item | signer_len(1) | signer
//!                        | author_len(1) | author | envelope)
//! auth_key      = HKDF-H(ikm = the 32 secret bytes, salt = "sunlight/staff-auth/v1",
//!                        info = the public key's bytes), 32 bytes
//! ```
//!
//! H is SHA-256 for an X25519 key and SM3 for an SM2 key. `signer` names
//! the unit whose key made the tag (UTF-8, at most 64 bytes), so a reader
//! knows which key to check with; the caller decides whether that unit may
//! write the row. `author` (not stored in the blob: the reader takes it
//! from the row, e.g. the member's id) binds the text to who wrote it, so
//! a genuine note cannot be moved onto another member's name. An envelope whose first byte is an envelope version (1
//! or 2) is one written before tags existed: [`Sealed::Legacy`].

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::keys::SecretHalf;
use super::shangmi::{hkdf_sm3, hmac_sm3};
use super::{CryptoError, SealContext, UnitPublicKey, UnitSecretKey, seal};

/// The first byte of an authenticated envelope: no envelope version.
pub const AUTHENTICATED: u8 = 0x53;
const TAG_VERSION: u8 = 1;
const TAG_LEN: usize = 32;
const MAX_SIGNER: usize = 64;

/// A stored blob of staff material, as written: tagged, or from before tags.
#[derive(Debug, Clone, Copy)]
pub enum Sealed<'a> {
    Authenticated(Tagged<'a>),
    /// An envelope without a tag: written before tags existed, or by
    /// someone without a unit key. Only the caller can tell which.
    Legacy(&'a [u8]),
}

/// An authenticated envelope, split into its parts.
#[derive(Debug, Clone, Copy)]
pub struct Tagged<'a> {
    pub signer: &'a str,
    tag: &'a [u8],
    pub envelope: &'a [u8],
}

impl<'a> Sealed<'a> {
    pub fn parse(blob: &'a [u8]) -> Result<Self, CryptoError> {
        let Some((&AUTHENTICATED, rest)) = blob.split_first() else {
            return Ok(Self::Legacy(blob));
        };
        let (&version, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
        if version != TAG_VERSION {
            return Err(CryptoError::Version(version));
        }
        let (&len, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
        let len = usize::from(len);
        if len > MAX_SIGNER || rest.len() < len + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (signer, rest) = rest.split_at(len);
        let (tag, envelope) = rest.split_at(TAG_LEN);
        let signer = std::str::from_utf8(signer).map_err(|_| CryptoError::Malformed)?;
        Ok(Self::Authenticated(Tagged {
            signer,
            tag,
            envelope,
        }))
    }

    /// The envelope inside, tagged or not.
    pub fn envelope(&self) -> &'a [u8] {
        match self {
            Self::Authenticated(t) => t.envelope,
            Self::Legacy(e) => e,
        }
    }
}

/// Which generation of the signer's key made a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagBy {
    /// The current key: what a reader trusts.
    Current,
    /// A retired key only (a rotation that did not re-tag the row, or a
    /// key put into the unit's history by a database writer): not trusted.
    Retired,
}

impl Tagged<'_> {
    /// Checks the tag with `key`'s generations, current first.
    /// [`CryptoError::Forged`] when none made it.
    pub fn verify(
        &self,
        ctx: &SealContext<'_>,
        author: &[u8],
        key: &UnitSecretKey,
    ) -> Result<TagBy, CryptoError> {
        for (n, half) in key.generations().enumerate() {
            let expected = tag(half, ctx, self.signer, author, self.envelope)?;
            if bool::from(expected.as_slice().ct_eq(self.tag)) {
                return Ok(if n == 0 {
                    TagBy::Current
                } else {
                    TagBy::Retired
                });
            }
        }
        Err(CryptoError::Forged)
    }
}

/// Seals `payload` to `recipients` and tags it with the current key of
/// `signer`'s unit.
pub fn seal_authenticated(
    payload: &[u8],
    ctx: &SealContext<'_>,
    recipients: &[UnitPublicKey],
    signer: &str,
    author: &[u8],
    key: &UnitSecretKey,
) -> Result<Vec<u8>, CryptoError> {
    authenticate(&seal(payload, ctx, recipients)?, ctx, signer, author, key)
}

/// Tags an envelope that is already sealed: a new one, or one written
/// before tags that a key holder vouches for (`sunlight staff
/// reauthenticate`).
pub fn authenticate(
    envelope: &[u8],
    ctx: &SealContext<'_>,
    signer: &str,
    author: &[u8],
    key: &UnitSecretKey,
) -> Result<Vec<u8>, CryptoError> {
    let len = u8::try_from(signer.len())
        .ok()
        .filter(|l| usize::from(*l) <= MAX_SIGNER)
        .ok_or(CryptoError::Malformed)?;
    let current = key.generations().next().ok_or(CryptoError::NoRecipients)?;
    let tag = tag(current, ctx, signer, author, envelope)?;
    let mut out = Vec::with_capacity(3 + signer.len() + TAG_LEN + envelope.len());
    out.extend([AUTHENTICATED, TAG_VERSION, len]);
    out.extend(signer.as_bytes());
    out.extend(tag.as_slice());
    out.extend(envelope);
    Ok(out)
}

/// A tag over plain bytes that only a holder of `key` can make: for staff
/// secrets that are not envelopes (the recovery codes' hashes). `label`
/// separates the uses.
pub fn tag_bytes(
    key: &UnitSecretKey,
    label: &[u8],
    parts: &[&[u8]],
) -> Result<[u8; 32], CryptoError> {
    let current = key.generations().next().ok_or(CryptoError::NoRecipients)?;
    mac(current, label, parts)
}

/// Checks a [`tag_bytes`] tag with `key`'s generations, current first.
pub fn verify_bytes(
    key: &UnitSecretKey,
    label: &[u8],
    parts: &[&[u8]],
    tag: &[u8],
) -> Result<TagBy, CryptoError> {
    for (n, half) in key.generations().enumerate() {
        if bool::from(mac(half, label, parts)?.as_slice().ct_eq(tag)) {
            return Ok(if n == 0 {
                TagBy::Current
            } else {
                TagBy::Retired
            });
        }
    }
    Err(CryptoError::Forged)
}

fn tag(
    key: &SecretHalf,
    ctx: &SealContext<'_>,
    signer: &str,
    author: &[u8],
    envelope: &[u8],
) -> Result<[u8; 32], CryptoError> {
    let item_len = u16::try_from(ctx.item.len()).map_err(|_| CryptoError::Malformed)?;
    let signer_len = u8::try_from(signer.len()).map_err(|_| CryptoError::Malformed)?;
    let author_len = u8::try_from(author.len()).map_err(|_| CryptoError::Malformed)?;
    mac(
        key,
        b"sunlight/staff-tag/v1",
        &[
            ctx.case_id.as_bytes(),
            &item_len.to_be_bytes(),
            ctx.item,
            &[signer_len],
            signer.as_bytes(),
            &[author_len],
            author,
            envelope,
        ],
    )
}

fn mac(key: &SecretHalf, label: &[u8], parts: &[&[u8]]) -> Result<[u8; 32], CryptoError> {
    let auth_key = auth_key(key)?;
    let mut data = Zeroizing::new(label.to_vec());
    for part in parts {
        data.extend_from_slice(part);
    }
    match key {
        SecretHalf::X25519(_) => {
            let mut m = Hmac::<Sha256>::new_from_slice(auth_key.as_ref())
                .map_err(|_| CryptoError::Params)?;
            m.update(&data);
            Ok(m.finalize().into_bytes().into())
        }
        SecretHalf::Sm2(_) => hmac_sm3(auth_key.as_ref(), &data),
    }
}

/// The key a unit key's holder tags with; derived, so the private key
/// itself never keys a MAC.
fn auth_key(key: &SecretHalf) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let secret = key.to_bytes();
    let public = key.public();
    let mut out = Zeroizing::new([0u8; 32]);
    match key {
        SecretHalf::X25519(_) => {
            Hkdf::<Sha256>::new(Some(b"sunlight/staff-auth/v1"), secret.as_ref())
                .expand(public.as_bytes(), out.as_mut())
                .map_err(|_| CryptoError::Params)?
        }
        SecretHalf::Sm2(_) => hkdf_sm3(
            secret.as_ref(),
            b"sunlight/staff-auth/v1",
            public.as_bytes(),
            out.as_mut(),
        )?,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Suite, UnitKeyPair, open};
    use uuid::Uuid;

    fn ctx(item: &[u8]) -> SealContext<'_> {
        SealContext {
            case_id: crate::CaseId::from_uuid(Uuid::from_u128(7)),
            item,
        }
    }

    #[test]
    fn a_tag_made_with_the_unit_key_verifies_and_the_envelope_opens() {
        for suite in [Suite::Modern, Suite::ShangMi] {
            let unit = UnitKeyPair::generate(suite).unwrap();
            let blob = seal_authenticated(
                b"text",
                &ctx(b"note/x"),
                &[unit.public],
                "gd",
                b"m",
                &unit.secret,
            )
            .unwrap();
            assert_eq!(blob[0], AUTHENTICATED);
            let Sealed::Authenticated(t) = Sealed::parse(&blob).unwrap() else {
                panic!("not tagged")
            };
            assert_eq!(t.signer, "gd");
            t.verify(&ctx(b"note/x"), b"m", &unit.secret).unwrap();
            assert_eq!(
                open(t.envelope, &ctx(b"note/x"), &unit.secret)
                    .unwrap()
                    .as_slice(),
                b"text"
            );
        }
    }

    #[test]
    fn whoever_holds_only_public_keys_cannot_make_a_tag_that_verifies() {
        for suite in [Suite::Modern, Suite::ShangMi] {
            let unit = UnitKeyPair::generate(suite).unwrap();
            // The forger seals to the public key and tags with a key of
            // their own, naming the unit.
            let forger = UnitKeyPair::generate(suite).unwrap();
            let forged = seal_authenticated(
                b"text",
                &ctx(b"note/x"),
                &[unit.public],
                "gd",
                b"m",
                &forger.secret,
            )
            .unwrap();
            let Sealed::Authenticated(t) = Sealed::parse(&forged).unwrap() else {
                panic!("not tagged")
            };
            assert_eq!(
                t.verify(&ctx(b"note/x"), b"m", &unit.secret),
                Err(CryptoError::Forged)
            );
        }
    }

    #[test]
    fn a_tag_is_bound_to_its_row_its_signer_and_its_bytes() {
        let unit = UnitKeyPair::generate(Suite::Modern).unwrap();
        let blob = seal_authenticated(
            b"text",
            &ctx(b"note/x"),
            &[unit.public],
            "gd",
            b"m",
            &unit.secret,
        )
        .unwrap();
        let Sealed::Authenticated(t) = Sealed::parse(&blob).unwrap() else {
            panic!("not tagged")
        };
        // Moved to another row.
        assert_eq!(
            t.verify(&ctx(b"note/y"), b"m", &unit.secret),
            Err(CryptoError::Forged)
        );
        let other_case = SealContext {
            case_id: crate::CaseId::from_uuid(Uuid::from_u128(8)),
            item: b"note/x",
        };
        assert_eq!(
            t.verify(&other_case, b"m", &unit.secret),
            Err(CryptoError::Forged)
        );
        // Put on another member's name.
        assert_eq!(
            t.verify(&ctx(b"note/x"), b"n", &unit.secret),
            Err(CryptoError::Forged)
        );
        // Another signer named, or one byte of the envelope changed.
        let mut renamed = blob.clone();
        renamed[3] = b'x';
        let mut altered = blob.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        for bad in [renamed, altered] {
            let Sealed::Authenticated(t) = Sealed::parse(&bad).unwrap() else {
                panic!("not tagged")
            };
            assert_eq!(
                t.verify(&ctx(b"note/x"), b"m", &unit.secret),
                Err(CryptoError::Forged)
            );
        }
    }

    #[test]
    fn an_untagged_envelope_is_legacy_and_a_bad_header_is_malformed() {
        let unit = UnitKeyPair::generate(Suite::Modern).unwrap();
        let plain = seal(b"text", &ctx(b"note/x"), &[unit.public]).unwrap();
        assert!(matches!(Sealed::parse(&plain).unwrap(), Sealed::Legacy(_)));
        assert_eq!(
            Sealed::parse(&[AUTHENTICATED, 2]).unwrap_err(),
            CryptoError::Version(2)
        );
        assert_eq!(
            Sealed::parse(&[AUTHENTICATED, 1, 3, b'g']).unwrap_err(),
            CryptoError::Malformed
        );
    }

    #[test]
    fn a_retired_generation_still_verifies_what_it_tagged() {
        let old = UnitKeyPair::generate(Suite::Modern).unwrap();
        let blob = seal_authenticated(b"t", &ctx(b"totp:a"), &[old.public], "gd", b"", &old.secret)
            .unwrap();
        let new = UnitKeyPair::generate(Suite::ShangMi).unwrap();
        let ring = new.secret.clone().with_retired(old.secret.clone());
        let Sealed::Authenticated(t) = Sealed::parse(&blob).unwrap() else {
            panic!("not tagged")
        };
        assert_eq!(
            t.verify(&ctx(b"totp:a"), b"", &ring).unwrap(),
            TagBy::Retired
        );
        assert_eq!(
            t.verify(&ctx(b"totp:a"), b"", &new.secret),
            Err(CryptoError::Forged)
        );
    }

    #[test]
    fn byte_tags_need_the_key_and_the_same_parts() {
        let unit = UnitKeyPair::generate(Suite::ShangMi).unwrap();
        let other = UnitKeyPair::generate(Suite::ShangMi).unwrap();
        let tag = tag_bytes(&unit.secret, b"l", &[b"a", b"b"]).unwrap();
        assert_eq!(
            verify_bytes(&unit.secret, b"l", &[b"a", b"b"], &tag).unwrap(),
            TagBy::Current
        );
        assert!(verify_bytes(&unit.secret, b"l", &[b"a", b"c"], &tag).is_err());
        assert!(verify_bytes(&other.secret, b"l", &[b"a", b"b"], &tag).is_err());
    }
}
