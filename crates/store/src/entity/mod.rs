//! One sea-orm entity per table. Handlers never touch these directly: the
//! repository functions in this crate are the only way in.

pub mod attachment;
pub mod attachment_chunk;
pub mod audit_entry;
pub mod case;
pub mod hold;
pub mod hotspot;
pub mod lease;
pub mod log_head;
pub mod log_leaf;
pub mod message;
pub mod notice;
pub mod outbox;
pub mod queue_entry;
pub mod rating;
pub mod setting;
pub mod staff;
pub mod stat_cell;
pub mod stat_day;
pub mod task;
pub mod transition;
pub mod unit;
pub mod unit_key;
