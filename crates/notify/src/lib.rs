//! `sunlight-notify`: the staff email outbox and its delivery over SMTP
//! (lettre, rustls only). Mails carry no report content, no tracking code and
//! no accused's name; nothing is ever mailed to reporters. Depends on
//! sunlight-core and sunlight-store.
//!
//! Delivery arrives with the reminders issue; the outbox table already exists
//! in `sunlight-store`.
