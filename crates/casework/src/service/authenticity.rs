//! Staff texts that carry their unit's tag (#24): sealed with a tag under
//! the case unit's key, checked on every open. Whoever can write the
//! database but holds no key of the case's unit cannot make one, so a note
//! or a message put into the database in a member's name shows as what it
//! is instead of as theirs.

use sunlight_core::UnitId;
use sunlight_core::crypto::{
    CryptoError, Sealed, TagBy, UnitSecretKey, addressed_to, seal_authenticated,
};
use sunlight_store::keyring;

use super::*;

/// What a staff text's tag says about who wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticity {
    /// The tag of the case's unit: written by a holder of its key.
    Authenticated,
    /// No tag: written before tags existed (an upgraded deployment), or
    /// put into the database by someone without the key; or a tag of a
    /// retired key only. Shown, marked.
    Unauthenticated,
    /// Tagged, but the reader's unit cannot reach the case unit's key to
    /// check it (an escrow missing below). Shown, marked.
    Unchecked,
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
            Self::Unchecked => "unchecked",
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
            // The case's unit as stored is trusted only where the report
            // was sealed to it: a database writer who holds another unit's
            // key cannot make that unit the case's and sign its notes.
            Ok(signer)
                if signer
                    .key
                    .public_keys()
                    .iter()
                    .any(|k| addressed_to(&case.sealed_report, k)) =>
            {
                Some(signer)
            }
            Ok(_) => {
                tracing::warn!(case = %case.id, "the case's report is not sealed to its unit; its staff texts are not checked");
                None
            }
            Err(e) => {
                tracing::warn!(case = %case.id, error = %e, "staff texts of a case cannot be checked");
                None
            }
        }
    }
}

/// Seals a staff text (a message, a note, a hold notice) to `recipients`,
/// tagged with the case unit's key and bound to the member who writes it
/// (`author`: the row's `actor`, `staff_id` or `confirmed_by`).
pub(super) fn seal_staff_text(
    text: &str,
    case: CaseId,
    item: &[u8],
    recipients: &[UnitPublicKey],
    signer: &CaseSigner,
    author: Uuid,
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
        author.as_bytes(),
        &signer.key,
    )?)
}

/// Opens a staff text and checks its tag against the case unit's current
/// key and the row's `author`. A forged one, or one that does not open,
/// opens to an empty text, logged here once; one without a tag opens,
/// marked.
pub(super) fn open_staff_text(
    sealed: &[u8],
    case: CaseId,
    item: &[u8],
    author: Option<Uuid>,
    session: &Session,
    checker: Option<&CaseSigner>,
) -> (Zeroizing<String>, Authenticity) {
    let ctx = SealContext {
        case_id: case,
        item,
    };
    let author = author.map(|a| a.as_bytes().to_vec()).unwrap_or_default();
    let parsed = match Sealed::parse(sealed) {
        Ok(parsed) => parsed,
        Err(e) => return forged(case, &e),
    };
    let authenticity = match (&parsed, checker) {
        (Sealed::Legacy(_), _) => Authenticity::Unauthenticated,
        (Sealed::Authenticated(_), None) => Authenticity::Unchecked,
        (Sealed::Authenticated(t), Some(c)) if t.signer != c.unit.as_str() => {
            return forged(case, &CryptoError::Forged);
        }
        (Sealed::Authenticated(t), Some(c)) => match t.verify(&ctx, &author, &c.key) {
            Ok(TagBy::Current) => Authenticity::Authenticated,
            Ok(TagBy::Retired) => Authenticity::Unauthenticated,
            Err(e) => return forged(case, &e),
        },
    };
    let opened = open(parsed.envelope(), &ctx, session.unit_key())
        .ok()
        .and_then(|plain| decode_padded::<MessageContent>(&plain).ok());
    match opened {
        Some(content) => (Zeroizing::new(content.body.clone()), authenticity),
        None => forged(case, &CryptoError::Open),
    }
}

fn forged(case: CaseId, e: &CryptoError) -> (Zeroizing<String>, Authenticity) {
    tracing::warn!(case = %case, error = %e, "a staff text failed its authentication; not shown");
    (Zeroizing::new(String::new()), Authenticity::Forged)
}
