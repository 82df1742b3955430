//! Chunked sealing for attachments (the STREAM construction, `aead-stream`
//! with a 32-bit big-endian counter and a last-block flag), so that a file is
//! sealed as it arrives and is never held whole in memory. Truncation,
//! reordering and dropping chunks are all detected.
//!
//! ```text
//! header = envelope header (see `envelope`) | stream_nonce(7)
//! chunk  = AEAD of CHUNK_SIZE bytes (the last may be shorter): ChaCha20-Poly1305
//!          after a version-1 header, SM4-GCM after a version-2 one
//! ```

use aead_stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::Payload;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit};

use super::envelope::{DataKey, SealContext, body_aad, read_header, write_header};
use super::shangmi::Sm4Gcm;
use super::{CryptoError, UnitPublicKey, UnitSecretKey, random_bytes};

/// The STREAM state for either suite's AEAD. SM4-GCM's expanded key and
/// GHASH table make its state about seven times ChaCha's; it lives on the
/// heap so a sealer's size does not depend on the suite.
enum Sealing {
    ChaCha(EncryptorBE32<ChaCha20Poly1305>),
    Sm4(Box<EncryptorBE32<Sm4Gcm>>),
}

enum Opening {
    ChaCha(DecryptorBE32<ChaCha20Poly1305>),
    Sm4(Box<DecryptorBE32<Sm4Gcm>>),
}

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Ciphertext bytes per full chunk.
pub const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + 16;
const STREAM_NONCE: usize = 7;

/// Seals one attachment chunk by chunk.
pub struct AttachmentSealer {
    inner: Sealing,
    aad: Vec<u8>,
}

impl std::fmt::Debug for AttachmentSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttachmentSealer")
    }
}

impl AttachmentSealer {
    /// Starts a stream; the returned header is stored before the chunks.
    pub fn start(
        ctx: &SealContext<'_>,
        recipients: &[UnitPublicKey],
    ) -> Result<(Vec<u8>, Self), CryptoError> {
        let mut header = Vec::new();
        let data_key = write_header(recipients, ctx, &mut header)?;
        let aad = body_aad(ctx, b"sunlight/stream", &header);
        let nonce = random_bytes::<STREAM_NONCE>()?;
        header.extend(nonce.iter());
        let inner = match data_key {
            DataKey::ChaCha(k) => Sealing::ChaCha(EncryptorBE32::from_aead(
                ChaCha20Poly1305::new(&Key::from(*k)),
                &(*nonce).into(),
            )),
            DataKey::Sm4(k) => Sealing::Sm4(Box::new(EncryptorBE32::from_aead(
                Sm4Gcm::new(&(*k).into()),
                &(*nonce).into(),
            ))),
        };
        Ok((header, Self { inner, aad }))
    }

    /// Seals a full chunk of exactly `CHUNK_SIZE` bytes.
    pub fn seal_chunk(&mut self, chunk: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if chunk.len() != CHUNK_SIZE {
            return Err(CryptoError::Malformed);
        }
        let payload = Payload {
            msg: chunk,
            aad: &self.aad,
        };
        match &mut self.inner {
            Sealing::ChaCha(s) => s.encrypt_next(payload),
            Sealing::Sm4(s) => s.encrypt_next(payload),
        }
        .map_err(|_| CryptoError::StreamTooLong)
    }

    /// Seals the final chunk (0 to `CHUNK_SIZE` bytes) and ends the stream.
    pub fn finish(self, last: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if last.len() > CHUNK_SIZE {
            return Err(CryptoError::Malformed);
        }
        let payload = Payload {
            msg: last,
            aad: &self.aad,
        };
        match self.inner {
            Sealing::ChaCha(s) => s.encrypt_last(payload),
            Sealing::Sm4(s) => (*s).encrypt_last(payload),
        }
        .map_err(|_| CryptoError::StreamTooLong)
    }
}

/// Opens a sealed attachment chunk by chunk.
pub struct AttachmentOpener {
    inner: Opening,
    aad: Vec<u8>,
}

impl std::fmt::Debug for AttachmentOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttachmentOpener")
    }
}

impl AttachmentOpener {
    pub fn start(
        header: &[u8],
        ctx: &SealContext<'_>,
        secret: &UnitSecretKey,
    ) -> Result<Self, CryptoError> {
        let (data_key, slots, rest) = read_header(header, ctx, secret)?;
        let nonce: [u8; STREAM_NONCE] = rest.try_into().map_err(|_| CryptoError::Malformed)?;
        let inner = match data_key {
            DataKey::ChaCha(k) => Opening::ChaCha(DecryptorBE32::from_aead(
                ChaCha20Poly1305::new(&Key::from(*k)),
                &nonce.into(),
            )),
            DataKey::Sm4(k) => Opening::Sm4(Box::new(DecryptorBE32::from_aead(
                Sm4Gcm::new(&(*k).into()),
                &nonce.into(),
            ))),
        };
        Ok(Self {
            inner,
            aad: body_aad(ctx, b"sunlight/stream", slots),
        })
    }

    pub fn open_chunk(&mut self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let payload = Payload {
            msg: sealed,
            aad: &self.aad,
        };
        match &mut self.inner {
            Opening::ChaCha(o) => o.decrypt_next(payload),
            Opening::Sm4(o) => o.decrypt_next(payload),
        }
        .map_err(|_| CryptoError::Open)
    }

    pub fn finish(self, sealed_last: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let payload = Payload {
            msg: sealed_last,
            aad: &self.aad,
        };
        match self.inner {
            Opening::ChaCha(o) => o.decrypt_last(payload),
            Opening::Sm4(o) => (*o).decrypt_last(payload),
        }
        .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaseId;
    use crate::crypto::{Suite, UnitKeyPair};
    use proptest::prelude::*;

    fn seal_all(
        data: &[u8],
        ctx: &SealContext<'_>,
        to: &[UnitPublicKey],
    ) -> (Vec<u8>, Vec<Vec<u8>>) {
        let (header, mut s) = AttachmentSealer::start(ctx, to).unwrap();
        let mut chunks = Vec::new();
        let mut rest = data;
        while rest.len() > CHUNK_SIZE {
            let (head, tail) = rest.split_at(CHUNK_SIZE);
            chunks.push(s.seal_chunk(head).unwrap());
            rest = tail;
        }
        chunks.push(s.finish(rest).unwrap());
        (header, chunks)
    }

    fn open_all(
        header: &[u8],
        chunks: &[Vec<u8>],
        ctx: &SealContext<'_>,
        key: &UnitSecretKey,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut o = AttachmentOpener::start(header, ctx, key)?;
        let mut out = Vec::new();
        let (last, body) = chunks.split_last().ok_or(CryptoError::Malformed)?;
        for c in body {
            out.extend(o.open_chunk(c)?);
        }
        out.extend(o.finish(last)?);
        Ok(out)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn round_trip_any_length(len in 0usize..(3 * CHUNK_SIZE + 10), fill in any::<u8>(), sm in any::<bool>()) {
            let suite = if sm { Suite::ShangMi } else { Suite::Modern };
            let pair = UnitKeyPair::generate(suite).unwrap();
            let ctx = SealContext { case_id: CaseId::new_v7(1), item: b"att-1" };
            let data = vec![fill; len];
            let (h, chunks) = seal_all(&data, &ctx, &[pair.public]);
            prop_assert_eq!(open_all(&h, &chunks, &ctx, &pair.secret).unwrap(), data);
        }
    }

    #[test]
    fn truncation_reordering_and_tampering_fail() {
        for suite in Suite::ALL {
            truncation_reordering_and_tampering_fail_in(suite);
        }
    }

    fn truncation_reordering_and_tampering_fail_in(suite: Suite) {
        let pair = UnitKeyPair::generate(suite).unwrap();
        let ctx = SealContext {
            case_id: CaseId::new_v7(1),
            item: b"att-1",
        };
        let data: Vec<u8> = (0..(2 * CHUNK_SIZE + 100))
            .map(|i| (i % 251) as u8)
            .collect();
        let (h, chunks) = seal_all(&data, &ctx, &[pair.public]);
        assert_eq!(chunks.len(), 3);
        // Dropping the last chunk: the new last was sealed as a middle chunk.
        assert!(open_all(&h, &chunks[..2], &ctx, &pair.secret).is_err());
        let swapped = vec![chunks[1].clone(), chunks[0].clone(), chunks[2].clone()];
        assert!(open_all(&h, &swapped, &ctx, &pair.secret).is_err());
        let mut flipped = chunks.clone();
        flipped[1][7] ^= 1;
        assert!(open_all(&h, &flipped, &ctx, &pair.secret).is_err());
        let other_ctx = SealContext {
            case_id: CaseId::new_v7(1),
            item: b"att-2",
        };
        assert!(open_all(&h, &chunks, &other_ctx, &pair.secret).is_err());
        let outsider = UnitKeyPair::generate(suite).unwrap();
        assert!(open_all(&h, &chunks, &ctx, &outsider.secret).is_err());
    }
}
