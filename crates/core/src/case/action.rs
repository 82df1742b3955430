//! Staff actions: what each is called, in which stages and by which roles
//! it is allowed (the table in the parent module's doc).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{CaseId, Outcome, ReferralBody, Role, Stage};

/// A staff action; the JSON body of `POST /api/v1/cases/{id}/transitions`
/// (`{"action": "verified", "outcome": "partly"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Route,
    Claim,
    /// 受理: the report is within the remit; verification starts.
    Accept,
    /// 转交: outside the remit; the reporter is told where it went and why,
    /// and the case closes as `referred`.
    Refer {
        to: ReferralBody,
        message: String,
    },
    /// No substance yet: the reporter is asked, once, what, who, when and
    /// where; without an answer in time the case is filed for reference.
    AskSpecifics {
        question: String,
    },
    /// 诬告陷害, recorded after verification by a supervisor who did not
    /// verify; the reporter still reads only "not substantiated".
    KnowinglyFalse {
        reason: String,
    },
    Verified {
        outcome: Outcome,
    },
    /// 转办: hand the case to another body; it comes back for 复核.
    Transfer {
        to: String,
    },
    /// 复核 of the other body's result, which is recorded as the outcome.
    Rechecked {
        outcome: Outcome,
    },
    Decided {
        decision: String,
    },
    Extend {
        days: u32,
        reason: String,
    },
    AskReporter {
        question: String,
    },
    Feedback {
        message: String,
    },
    Close,
    Merge {
        into: CaseId,
    },
    /// 重新办理: a closed case goes back to verify (the default) or handle.
    Reopen {
        reason: String,
        #[serde(default = "verify_stage")]
        to: Stage,
    },
    /// 复查维持: the unit above re-examined the case on the reporter's
    /// objection and keeps the answer; `message` tells the reporter why.
    Uphold {
        message: String,
    },
}

fn verify_stage() -> Stage {
    Stage::Verify
}

/// The name of an [`Action`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Route,
    Claim,
    Accept,
    Refer,
    AskSpecifics,
    KnowinglyFalse,
    Verified,
    Transfer,
    Rechecked,
    Decided,
    Extend,
    AskReporter,
    Feedback,
    Close,
    Merge,
    Reopen,
    Uphold,
}

pub(crate) const OPEN: &[Stage] = &[
    Stage::Received,
    Stage::Verify,
    Stage::Handle,
    Stage::Recheck,
    Stage::Notify,
];
const WORKERS: &[Role] = &[Role::Verifier, Role::Supervisor];
const DESK: &[Role] = &[Role::Intake, Role::Supervisor];
const SUPERVISOR: &[Role] = &[Role::Supervisor];

impl ActionKind {
    pub const ALL: &'static [Self] = &[
        Self::Route,
        Self::Claim,
        Self::Accept,
        Self::Refer,
        Self::AskSpecifics,
        Self::KnowinglyFalse,
        Self::Verified,
        Self::Transfer,
        Self::Rechecked,
        Self::Decided,
        Self::Extend,
        Self::AskReporter,
        Self::Feedback,
        Self::Close,
        Self::Merge,
        Self::Reopen,
        Self::Uphold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::Claim => "claim",
            Self::Accept => "accept",
            Self::Refer => "refer",
            Self::AskSpecifics => "ask_specifics",
            Self::KnowinglyFalse => "knowingly_false",
            Self::Verified => "verified",
            Self::Transfer => "transfer",
            Self::Rechecked => "rechecked",
            Self::Decided => "decided",
            Self::Extend => "extend",
            Self::AskReporter => "ask_reporter",
            Self::Feedback => "feedback",
            Self::Close => "close",
            Self::Merge => "merge",
            Self::Reopen => "reopen",
            Self::Uphold => "uphold",
        }
    }

    /// The stages in which the action is allowed.
    pub fn stages(self) -> &'static [Stage] {
        match self {
            Self::Route | Self::Accept | Self::Refer | Self::AskSpecifics => &[Stage::Received],
            Self::KnowinglyFalse => &[Stage::Handle, Stage::Notify],
            Self::Claim | Self::Merge => OPEN,
            Self::Verified | Self::Transfer | Self::Extend => &[Stage::Verify],
            Self::Rechecked => &[Stage::Recheck],
            Self::Decided => &[Stage::Handle],
            Self::AskReporter => &[Stage::Verify, Stage::Handle, Stage::Recheck],
            Self::Feedback | Self::Close => &[Stage::Notify],
            Self::Reopen | Self::Uphold => &[Stage::Closed],
        }
    }

    /// The roles that may take the action in `stage` (see the module table).
    pub fn roles(self, stage: Stage) -> &'static [Role] {
        match (self, stage) {
            (Self::Route | Self::Accept | Self::Refer | Self::AskSpecifics, _)
            | (Self::Claim, Stage::Received) => DESK,
            (Self::KnowinglyFalse, _) => SUPERVISOR,
            (Self::Claim, Stage::Verify | Stage::Notify) => WORKERS,
            (Self::Claim, Stage::Handle | Stage::Recheck) => SUPERVISOR,
            (Self::Claim, Stage::Closed) => &[],
            (Self::Verified | Self::Transfer | Self::AskReporter, _) => WORKERS,
            (Self::Feedback | Self::Close, _) => WORKERS,
            (Self::Rechecked | Self::Decided | Self::Extend | Self::Merge, _) => SUPERVISOR,
            (Self::Reopen | Self::Uphold, _) => SUPERVISOR,
        }
    }

    /// Whether only the case's owner may take the action.
    pub fn needs_owner(self) -> bool {
        !matches!(
            self,
            Self::Route
                | Self::Claim
                | Self::Accept
                | Self::Refer
                | Self::AskSpecifics
                | Self::KnowinglyFalse
                | Self::Extend
                | Self::Merge
                | Self::Reopen
                | Self::Uphold
        )
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Route => ActionKind::Route,
            Self::Claim => ActionKind::Claim,
            Self::Accept => ActionKind::Accept,
            Self::Refer { .. } => ActionKind::Refer,
            Self::AskSpecifics { .. } => ActionKind::AskSpecifics,
            Self::KnowinglyFalse { .. } => ActionKind::KnowinglyFalse,
            Self::Verified { .. } => ActionKind::Verified,
            Self::Transfer { .. } => ActionKind::Transfer,
            Self::Rechecked { .. } => ActionKind::Rechecked,
            Self::Decided { .. } => ActionKind::Decided,
            Self::Extend { .. } => ActionKind::Extend,
            Self::AskReporter { .. } => ActionKind::AskReporter,
            Self::Feedback { .. } => ActionKind::Feedback,
            Self::Close => ActionKind::Close,
            Self::Merge { .. } => ActionKind::Merge,
            Self::Reopen { .. } => ActionKind::Reopen,
            Self::Uphold { .. } => ActionKind::Uphold,
        }
    }
}
