//! `sunlight-web`: what the intake and triage apps share and nothing else — security headers and the privacy-preserving request log, the language of a request and the message catalogs, the page frame and page rendering, errors answered from their request and the API contract they are declared in, and server setup with the health answer and the stylesheet. Depends on sunlight-core only (plus actix-web and askama); never on the store.

pub mod contract;
mod endpoint;
mod format;
mod frame;
mod guard;
mod lang;
pub mod multipart;
mod problem;
mod server;

pub use endpoint::{Allowed, Endpoint};
pub use format::{human_size, size_limit};
pub use frame::{ErrorLine, Frame, Opt, render, vocab_options, word};
pub use guard::{CSP_SEALING, HeaderPolicy, wrap};
pub use lang::{Catalogs, lang_of};
pub use problem::{Problem, answer_problems};
pub use server::{Served, health_answer, stylesheet};
