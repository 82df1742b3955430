//! `sunlight-casework`: the casework engine behind the staff app — routing new reports to their units, the staff service (reading a case with the session's unit key, actions through the state machine, messages, holds, attachments, staff-entered reports, accounts), sessions that hold unwrapped unit keys, the sweeper, the statistics refresh and the mails staff receive, run by `Workers`. No HTTP: `sunlight-triage` is its web app, `sunlight simulate` drives it without one. Depends on sunlight-core, sunlight-store, sunlight-filing and sunlight-metrics.
//!
//! Unit private keys exist here only unwrapped in a session's memory
//! (`session.rs`); see docs/triage.md.

pub mod auth;
pub mod error;
pub mod i18n;
pub mod mail;
pub mod service;
pub mod session;
pub mod simulate;
pub mod stats;
pub mod sweeper;
mod workers;

pub use error::{CaseworkError, Invalid};
pub use mail::{MailStyle, short_case};
pub use service::{ActionRequest, Triage, state_of};
pub use stats::{Stats, StatsPass, StatsSettings};
pub use sweeper::{MovedDeadline, RetentionReport, Rules, SweepReport, Sweeper};
pub use workers::Workers;
