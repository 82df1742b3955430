//! One test binary for this crate: each module below was its own binary
//! once, and linking them one by one cost more than running them.

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the harness fails a test loudly"
)]
mod common;
#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]
mod security;

mod audit_page;
mod calendars;
mod catalog;
mod desk;
mod dispositions;
mod export;
mod hostile;
mod lifecycle;
mod numbering;
mod pages;
mod register;
mod retention;
mod simulate;
mod stats;
mod sweeper;
mod triage;
