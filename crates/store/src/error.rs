//! Storage errors. A database failure is never turned into "not found".

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("not allowed: {0}")]
    Invalid(&'static str),
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("reading a spooled attachment: {0}")]
    Spool(#[from] std::io::Error),
}

impl StoreError {
    /// Maps unique-constraint violations to `Conflict`.
    pub(crate) fn unique(err: DbErr, what: &'static str) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(what),
            _ => Self::Db(err),
        }
    }

    /// True when the database is unreachable or overloaded rather than the
    /// request being wrong: web layers answer 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Db(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)))
    }
}
