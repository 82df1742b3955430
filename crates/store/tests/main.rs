//! One test binary for this crate: each module below was its own binary
//! once, and linking them one by one cost more than running them.

mod filing_batch;
mod log;
mod reauthenticate;
mod register_counts;
mod reporter_view;
mod repository;
mod sealed_to;
mod stats;
mod suites;
mod units_recent;
