//! One test binary for this crate: each module below was its own binary
//! once, and linking them one by one cost more than running them.

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::unwrap_in_result,
    clippy::string_slice,
    reason = "the harness fails a test loudly"
)]
mod common;

mod catalog;
mod intake;
mod key_rotation;
mod malformed;
mod sealed;
