//! One test binary for this crate: each module below was its own binary
//! once, and linking them one by one cost more than running them.

#[expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "the harness fails a test loudly"
)]
mod support;

mod abuse;
mod backup;
mod browser;
mod casework_browser;
mod cli;
mod concurrency;
mod crash;
mod crypto_spec;
mod deploy;
mod disposition_browser;
mod e2e;
mod faults;
mod full_path_browser;
mod intake_process;
mod least_privilege;
mod mail_process;
mod metrics;
mod reexamination;
mod replies;
mod sealed_rating;
mod sealing_browser;
mod sealing_cross;
mod search;
mod shangmi;
mod staff_browser;
mod stats_browser;
mod topology;
mod transparency;
mod triage_process;
mod verify_cross;
mod xss_browser;
