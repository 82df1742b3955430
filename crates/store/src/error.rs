//! Storage errors. A database failure is never turned into "not found".

use sea_orm::{DbErr, RuntimeErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("already exists: {0}")]
    Conflict(Clash),
    #[error("not allowed: {0}")]
    Invalid(&'static str),
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("reading a spooled attachment: {0}")]
    Spool(#[from] std::io::Error),
}

/// What a write lost to, or the rule of the data it would break. Each is a
/// variant, not a sentence, so that the apps translate it by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Clash {
    #[error("the case changed meanwhile; reload it")]
    CaseChanged,
    #[error("someone else took the case meanwhile")]
    Taken,
    #[error("merge would let another unit read this case")]
    MergeWouldWiden,
    #[error("the hold was confirmed or lifted already")]
    HoldSettled,
    #[error("this member is already disabled")]
    AlreadyDisabled,
    #[error("this member is not disabled")]
    NotDisabled,
    #[error("no new authenticator secret is waiting for a code")]
    NoPendingTotp,
    #[error("staff email")]
    EmailTaken,
    #[error("the task was done already")]
    TaskDone,
    #[error("this round of feedback was rated already")]
    AlreadyRated,
    #[error(
        "the case is under legal hold already (or not), a unit above set the hold, or its content was purged"
    )]
    LegalHoldUnchanged,
    #[error("the content of this case was purged under the retention rule")]
    Purged,
    /// Sealed material that does not open with the unit's key although it
    /// is addressed to it: sealed wrongly in a reporter's browser, damaged,
    /// or altered in the database.
    #[error("this file does not open with the unit's key: it is damaged or was altered")]
    Unreadable,
    /// A case whose report is not sealed to the unit that reads it: its
    /// unit was changed in the database. Its content is not shown.
    #[error("this case's report is not sealed to your unit: its unit was changed in the database")]
    NotSealedToUnit,
    #[error("the unit's key or its members changed meanwhile; try again")]
    KeyChanged,
    /// A unit below whose key its parent cannot reach yet (made before
    /// escrow, and none of its members has signed in since).
    #[error(
        "that unit's key is not escrowed to its parent yet: one of its members signs in once, or use its recovery key"
    )]
    NoEscrow,
    /// A member's TOTP secret without the unit key's tag: written before
    /// tags existed, or by someone who could write the database but held
    /// no unit key. It signs nobody in.
    #[error(
        "this account's second factor failed its authentication: an administrator resets it, or the operator runs `sunlight staff reauthenticate`"
    )]
    SecondFactorUnauthenticated,
    /// A unique key other than the above (a case, a unit, an open entry).
    #[error("{0}")]
    Exists(&'static str),
}

impl StoreError {
    /// Maps unique-constraint violations to `Conflict`.
    pub(crate) fn unique(err: DbErr, what: Clash) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(what),
            _ => Self::Db(err),
        }
    }

    /// True when the database is unreachable, restarting, overloaded or
    /// out of space rather than the request being wrong: web layers answer
    /// 503 ("try again later; nothing was stored"), never 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Db(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) => true,
            Self::Db(
                DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)),
            ) => lost_database(e),
            _ => false,
        }
    }
}

/// A connection that broke under a statement (the server went away or is
/// shutting down), a pool with no connection to give, or a full disk.
fn lost_database(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Database(db) => {
            let code = db.code();
            if db
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // SQLite's extended codes: the low byte is the primary
                // code, 10 SQLITE_IOERR (any I/O error, e.g. a failed
                // write), 13 SQLITE_FULL.
                code.and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|n| matches!(n & 0xff, 10 | 13))
            } else {
                // PostgreSQL: class 08 (connection exception), 57P01-57P03
                // (admin shutdown, crash shutdown, cannot connect now),
                // 53100 (disk full).
                code.is_some_and(|c| {
                    c.starts_with("08")
                        || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53100")
                })
            }
        }
        _ => false,
    }
}
