//! Staff texts that carry their unit's tag (#24): sealed with a tag under
//! the case unit's key, checked on every open. Whoever can write the
//! database but holds no key of the case's unit cannot make one, so a note
//! or a message put into the database in a member's name shows as what it
//! is instead of as theirs.

use sunlight_core::UnitId;
use sunlight_core::crypto::{CryptoError, Sealed, UnitSecretKey, seal_authenticated};
use sunlight_store::keyring;

use super::*;

/// What a staff text's tag says about who wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticity {
    /// The tag of the case's unit: written by a holder of its key.
    Authenticated,
    /// No tag: written before tags existed (an upgraded deployment), or
    /// put into the database by someone without the key. Shown, marked.
    Unauthenticated,
    /// A tag that the case unit's key did not make, or that names another
    /// unit: forged or altered. Its text is not shown.
    Forged,
    /// A reporter's text: anonymous by design, never tagged.
    Anonymous,
}

impl Authenticity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Unauthenticated => "unauthenticated",
            Self::Forged => "forged",
            Self::Anonymous => "anonymous",
        }
    }
}

/// The key staff texts of one case are tagged with: its unit's.
pub(super) struct CaseSigner {
    unit: UnitId,
    key: UnitSecretKey,
}

impl Triage {
    /// The case unit's key, from the member's session: their own unit's,
    /// or reached down the escrow chain from a unit above it.
    pub(super) async fn case_signer(
        &self,
        session: &Session,
        case: &CaseRow,
    ) -> Result<CaseSigner, CaseworkError> {
        let key = if session.unit == case.unit {
            session.unit_key().clone()
        } else {
            keyring::key_below(&self.store, &session.unit, session.unit_key(), &case.unit).await?
        };
        Ok(CaseSigner {
            unit: case.unit.clone(),
            key,
        })
    }

    /// [`Self::case_signer`] for reading: `None` (every tag then reads as
    /// unchecked) when the escrow chain does not reach the case's unit.
    pub(super) async fn case_checker(
        &self,
        session: &Session,
        case: &CaseRow,
    ) -> Option<CaseSigner> {
        match self.case_signer(session, case).await {
            Ok(signer) => Some(signer),
            Err(e) => {
                tracing::warn!(case = %case.id, error = %e, "staff texts of a case cannot be checked");
                None
            }
        }
    }
}

/// Seals a staff text (a message, a note, a hold notice) to `recipients`,
/// tagged with the case unit's key.
pub(super) fn seal_staff_text(
    text: &str,
    case: CaseId,
    item: &[u8],
    recipients: &[UnitPublicKey],
    signer: &CaseSigner,
) -> Result<Vec<u8>, CaseworkError> {
    let payload = encode_padded(&MessageContent {
        body: text.to_owned(),
    })
    .map_err(|e| CaseworkError::Internal(e.to_string()))?;
    Ok(seal_authenticated(
        &payload,
        &SealContext {
            case_id: case,
            item,
        },
        recipients,
        signer.unit.as_str(),
        &signer.key,
    )?)
}

/// Opens a staff text and checks its tag. A forged one opens to an empty
/// text, logged here once; one without a tag opens, marked.
pub(super) fn open_staff_text(
    sealed: &[u8],
    case: CaseId,
    item: &[u8],
    session: &Session,
    checker: Option<&CaseSigner>,
) -> Result<(Zeroizing<String>, Authenticity), CaseworkError> {
    let ctx = SealContext {
        case_id: case,
        item,
    };
    let parsed = match Sealed::parse(sealed) {
        Ok(parsed) => parsed,
        Err(e) => return Ok(forged(case, &e)),
    };
    let authenticity = match (&parsed, checker) {
        (Sealed::Legacy(_), _) | (Sealed::Authenticated(_), None) => Authenticity::Unauthenticated,
        (Sealed::Authenticated(t), Some(c)) => {
            if t.signer != c.unit.as_str() {
                return Ok(forged(case, &CryptoError::Forged));
            }
            if let Err(e) = t.verify(&ctx, &c.key) {
                return Ok(forged(case, &e));
            }
            Authenticity::Authenticated
        }
    };
    let plain = open(parsed.envelope(), &ctx, session.unit_key())?;
    let content: MessageContent =
        decode_padded(&plain).map_err(|e| CaseworkError::Internal(e.to_string()))?;
    Ok((Zeroizing::new(content.body.clone()), authenticity))
}

fn forged(case: CaseId, e: &CryptoError) -> (Zeroizing<String>, Authenticity) {
    tracing::warn!(case = %case, error = %e, "a staff text failed its authentication; not shown");
    (Zeroizing::new(String::new()), Authenticity::Forged)
}
