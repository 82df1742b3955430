//! The holes of the security issue (#16), each proved closed over real
//! HTTP on SQLite and PostgreSQL: merges that would widen who reads a
//! report, messages that reach one reporter only, accounts that a stolen
//! session cannot take over, and sessions that follow the account.

mod accounts;
mod arrival;
mod cookies;
mod forgery;
mod merge;
mod signin;
mod unreadable;
