//! Why an action was refused, and which HTTP family that is.

use crate::domain::{Role, Stage};

use super::ActionKind;

/// Why an action was refused. [`Refusal::class`] gives the HTTP family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{action} is not allowed while the case is in stage {stage}")]
    NotAllowedInStage { action: ActionKind, stage: Stage },
    #[error("the case is closed")]
    AlreadyClosed,
    #[error("the {role} role may not {action} here")]
    RoleNotAllowed { action: ActionKind, role: Role },
    #[error("only the case's owner may {action}; claim it first")]
    NotOwner { action: ActionKind },
    #[error("someone else owns the case; a supervisor can reassign it")]
    AlreadyOwned,
    #[error("a transferred case is re-checked by someone other than who transferred it")]
    RecheckBySameStaff,
    #[error("the case has no verification outcome")]
    MissingOutcome,
    #[error("the case has no handling decision")]
    MissingDecision,
    #[error("the reporter has had no feedback")]
    MissingFeedback,
    #[error("verification has already been extended once")]
    AlreadyExtended,
    #[error("an extension may be at most {max} days")]
    ExtensionTooLong { max: u32 },
    #[error("an extension must be at least one day")]
    EmptyExtension,
    #[error("{field} must not be empty")]
    EmptyText { field: &'static str },
    #[error("the reporter has already been asked and has not answered yet")]
    AlreadyPaused,
    #[error("a case cannot be merged into itself")]
    MergeIntoSelf,
    #[error("a merged case is not reopened; reopen the case it was merged into")]
    MergedCase,
    #[error("a case is reopened to verify or handle, not to {to}")]
    ReopenTo { to: Stage },
    #[error("the reporter has asked for no re-examination")]
    NoReexamination,
    #[error("the reporter has already been asked for specifics once")]
    SpecificsAlreadyAsked,
    #[error("knowingly false is recorded by a supervisor who did not verify the case")]
    KnowinglyFalseByVerifier,
    #[error("only a report verified as unsubstantiated can be recorded as knowingly false")]
    NotUnsubstantiated,
    #[error("the case is already recorded as knowingly false")]
    AlreadyKnowinglyFalse,
    /// Checked by the casework service, which knows the units.
    #[error("a re-examination is answered by the unit above the one that handled the case")]
    NotTheReexaminingUnit,
}

/// How a web layer should answer a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalClass {
    /// 409: the case's state does not allow it now.
    Conflict,
    /// 403: this staff member may not do it.
    Forbidden,
    /// 422: the request itself is wrong.
    Invalid,
}

impl Refusal {
    pub fn class(&self) -> RefusalClass {
        match self {
            Self::RoleNotAllowed { .. }
            | Self::NotOwner { .. }
            | Self::RecheckBySameStaff
            | Self::KnowinglyFalseByVerifier
            | Self::NotTheReexaminingUnit => RefusalClass::Forbidden,
            Self::ExtensionTooLong { .. }
            | Self::EmptyExtension
            | Self::EmptyText { .. }
            | Self::MergeIntoSelf
            | Self::ReopenTo { .. } => RefusalClass::Invalid,
            Self::NotAllowedInStage { .. }
            | Self::AlreadyClosed
            | Self::AlreadyOwned
            | Self::MissingOutcome
            | Self::MissingDecision
            | Self::MissingFeedback
            | Self::AlreadyExtended
            | Self::AlreadyPaused
            | Self::MergedCase
            | Self::NoReexamination
            | Self::SpecificsAlreadyAsked
            | Self::NotUnsubstantiated
            | Self::AlreadyKnowinglyFalse => RefusalClass::Conflict,
        }
    }
}
