//! `sunlight-core`: the domain of a 12380-style reporting service — its types
//! and rules, the crypto that seals reports, tracking codes, the working-day
//! calendar and deadline policy, and the case state machine.
//!
//! It is pure: no I/O, no async, no clock (callers pass `now`). The only
//! outside input is the operating system's random generator for keys and
//! codes. Every other Sunlight crate may depend on it; it depends on none.

pub mod addressing;
pub mod audit;
pub mod calendar;
pub mod case;
pub mod case_number;
pub mod code;
pub mod crypto;
pub mod domain;
pub mod i18n;
pub mod log;
pub mod notice;
pub mod policy;
pub mod report;
pub mod search;
pub mod stats;
pub mod unit_tree;

pub use case_number::CaseNumber;
pub use code::{CodeError, TrackingCode};
pub use domain::{
    AccusedRole, CaseId, Category, Channel, Disposition, DomainError, Level, Measure, Outcome,
    Rating, ReferralBody, Role, SelectionStage, Stage, TaskKind, UnitId, arrival_id,
};
