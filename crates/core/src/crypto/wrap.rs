//! A unit's private key sealed under a 32-byte key-encryption key (from a
//! staff password, or the unit's recovery key):
//!
//! ```text
//! version 1 (X25519 key) = 0x01 | kind | nonce(12) | ChaCha20-Poly1305(kek, secret(32), aad)
//! version 2 (SM2 key)    = 0x02 | kind | nonce(12) | SM4-GCM(sm4_kek, d(32), aad)
//! sm4_kek                = HKDF-SM3(ikm = kek, salt = "", info = "sunlight/unit-key/v2/sm4")[..16]
//! aad                    = "sunlight/unit-key" | version | kind | unit id or member email
//! ```
//!
//! The version says the key's suite, so an unwrap needs no other hint.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use zeroize::Zeroizing;

use super::keys::SecretHalf;
use super::shangmi::{hkdf_sm3, sm4_gcm_open, sm4_gcm_seal};
use super::{CryptoError, Suite, random_bytes};

const X25519_VERSION: u8 = 1;
const SM2_VERSION: u8 = 2;
pub(crate) const KIND_PASSWORD: u8 = 1;
pub(crate) const KIND_RECOVERY: u8 = 2;
pub(crate) const KIND_MEMBER: u8 = 3;

fn wrap_aad(version: u8, kind: u8, unit: &str) -> Vec<u8> {
    let mut aad = b"sunlight/unit-key".to_vec();
    aad.extend([version, kind]);
    aad.extend(unit.as_bytes());
    aad
}

fn sm4_kek(kek: &[u8; 32]) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; 16]);
    hkdf_sm3(kek, &[], b"sunlight/unit-key/v2/sm4", out.as_mut())?;
    Ok(out)
}

pub(crate) fn wrap(
    kind: u8,
    kek: &[u8; 32],
    unit: &str,
    secret: &SecretHalf,
) -> Result<Vec<u8>, CryptoError> {
    let nonce = random_bytes::<12>()?;
    let plain = secret.to_bytes();
    let (version, ct) = match secret {
        SecretHalf::X25519(_) => {
            let aad = wrap_aad(X25519_VERSION, kind, unit);
            let ct = ChaCha20Poly1305::new(&Key::from(*kek))
                .encrypt(
                    &Nonce::from(*nonce),
                    Payload {
                        msg: plain.as_ref(),
                        aad: &aad,
                    },
                )
                .map_err(|_| CryptoError::Open)?;
            (X25519_VERSION, ct)
        }
        SecretHalf::Sm2(_) => {
            let aad = wrap_aad(SM2_VERSION, kind, unit);
            let ct = sm4_gcm_seal(&*sm4_kek(kek)?, &nonce, plain.as_ref(), &aad)?;
            (SM2_VERSION, ct)
        }
    };
    let mut out = vec![version, kind];
    out.extend(nonce.iter());
    out.extend(ct);
    Ok(out)
}

pub(crate) fn unwrap(
    kind: u8,
    kek: &[u8; 32],
    unit: &str,
    bytes: &[u8],
) -> Result<SecretHalf, CryptoError> {
    let (&version, rest) = bytes.split_first().ok_or(CryptoError::Malformed)?;
    if version != X25519_VERSION && version != SM2_VERSION {
        return Err(CryptoError::Version(version));
    }
    let (&found_kind, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
    if found_kind != kind || rest.len() != 12 + 32 + 16 {
        return Err(CryptoError::Malformed);
    }
    let (nonce, ct) = rest.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
    let aad = wrap_aad(version, kind, unit);
    let (suite, plain) = if version == X25519_VERSION {
        let plain = ChaCha20Poly1305::new(&Key::from(*kek))
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| CryptoError::Open)?;
        (Suite::Modern, Zeroizing::new(plain))
    } else {
        (
            Suite::ShangMi,
            sm4_gcm_open(&*sm4_kek(kek)?, &nonce, ct, &aad)?,
        )
    };
    let arr: Zeroizing<[u8; 32]> = Zeroizing::new(
        plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?,
    );
    SecretHalf::from_suite_bytes(suite, &arr)
}
