//! What the casework engine refuses or fails at, by variant. The web app
//! turns each variant into its own status, code and catalog words
//! (`sunlight-triage`'s `error.rs`); nothing here is HTTP.

use sunlight_core::case::Refusal;
use sunlight_core::crypto::CryptoError;
use sunlight_store::{Clash, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CaseworkError {
    #[error("sign-in failed: wrong email, password or code")]
    BadCredentials,
    #[error("not signed in, or the session expired")]
    NoSession,
    #[error("your role may not do this")]
    Forbidden,
    #[error("the current password or the authenticator code is wrong")]
    WrongCurrentCredentials,
    #[error("no such case in your units")]
    NoSuchCase,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Conflict(Clash),
    #[error("{0}")]
    Invalid(Invalid),
    #[error("the database is unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

/// A request a member sent that the service cannot take, by what is wrong.
/// The API's `detail` is the fixed English text of the variant (naming the
/// field); pages show the catalog's words for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("unit: not a unit id")]
    UnitId,
    #[error("unit: you can enter reports only for your own units")]
    NotYourUnit,
    #[error("category: unknown")]
    Category,
    #[error("channel: phone, letter or visit")]
    Channel,
    #[error("role: intake, verifier, supervisor or admin")]
    Role,
    #[error("filter: unknown unit or category")]
    Filter,
    #[error("limit: between 1 and 1000")]
    Limit,
    /// A register filter that is not one of its values, by field: `unit`
    /// (not one of yours), `stage`, `category`, `channel`, `real_name`
    /// (true or false), `outcome`, `from`/`to` (YYYY-MM-DD, from not after
    /// to), `owner` (me or a member id), `number` (UNIT-YEAR-NNNNN), `page`.
    #[error("{0}: not a value this filter takes")]
    RegisterFilter(&'static str),
    /// A filter of the audit page that is not right, by field: `number`
    /// (a case number of your units), `actor` (a member's email),
    /// `action`, `from`/`to` (YYYY-MM-DD, from not after to), `before`.
    #[error("{0}: not a value this filter takes")]
    AuditFilter(&'static str),
    #[error("search: give a name, words or a position to search for")]
    SearchEmpty,
    #[error("unit: not one of your units")]
    SearchUnit,
    #[error("search: each part from 2 to 200 characters")]
    SearchLength,
    #[error("email: not an email address")]
    Email,
    #[error("body: {0}")]
    Body(&'static str),
    #[error("new_password: between 12 and 256 characters")]
    PasswordLength,
    #[error("new_password: choose a password other than the current one")]
    PasswordUnchanged,
    #[error("to: not a case merged into this one")]
    ReplyTo,
    #[error("notice_to must name who received the hold notice")]
    NoticeTo,
    #[error("this case predates reporter keys; it cannot receive messages")]
    NoReporterKey,
    /// The report's fields and what is wrong with each (no input).
    #[error("{}", field_list(.0))]
    Report(Vec<sunlight_core::report::FieldError>),
    /// A rule of the store's.
    #[error("{0}")]
    Store(&'static str),
}

/// The fields as `field: problem`, in fixed words that repeat nothing sent.
fn field_list(errors: &[sunlight_core::report::FieldError]) -> String {
    let list: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.field.as_str(),
                e.problem.key().trim_start_matches("problem.")
            )
        })
        .collect();
    list.join("; ")
}

impl From<StoreError> for CaseworkError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(clash) => Self::Conflict(clash),
            StoreError::Invalid(what) => Self::Invalid(Invalid::Store(what)),
            StoreError::NotFound(_) => Self::NotFound,
            e if e.is_unavailable() => Self::Unavailable(e.to_string()),
            e => Self::Internal(e.to_string()),
        }
    }
}

impl From<sunlight_filing::FilingError> for CaseworkError {
    fn from(e: sunlight_filing::FilingError) -> Self {
        use sunlight_filing::FilingError as F;
        match e {
            F::Invalid(fields) => Self::Invalid(Invalid::Report(fields)),
            F::UnknownCode => Self::NotFound,
            F::Code(c) => Self::Internal(format!("code: {c}")),
            F::Store(s) => s.into(),
            F::Crypto(c) => c.into(),
            F::Rating(r) => Self::Internal(format!("rating: {r}")),
            // The staff desk seals on the server; it never files sealed
            // material from a browser.
            F::Sealed(r) => Self::Internal(format!("sealed: {r}")),
            F::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<CryptoError> for CaseworkError {
    fn from(e: CryptoError) -> Self {
        Self::Internal(format!("crypto: {e}"))
    }
}

impl From<Refusal> for CaseworkError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<sunlight_store::provision::ProvisionError> for CaseworkError {
    fn from(e: sunlight_store::provision::ProvisionError) -> Self {
        use sunlight_store::provision::ProvisionError as P;
        match e {
            P::Store(s) => s.into(),
            P::NoEscrow(_) => Self::Conflict(Clash::NoEscrow),
            other => Self::Internal(other.to_string()),
        }
    }
}
