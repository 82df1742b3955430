//! What a batch of filings reads before it appends, in one round trip:
//! the newest log head's day (a leaf's promised day), the audit chain's
//! head and the suite (the next entry's hash), and the key generations of
//! the units its reports were sealed to (a rotation meanwhile refuses
//! them). On PostgreSQL every writer waits while a batch holds the log's
//! lock shared and the chain's lock, so both are taken in one statement and
//! everything under them read in the next: three round trips fewer than
//! taking and reading each where it is used (docs/performance.md).

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, Value};

use crate::StoreError;
use crate::audit::{AUDIT_HEAD_COLUMNS, AUDIT_LOCK, AuditHead};
use crate::log::{LOG_LOCK, NEWEST_DAY_COLUMN, newest_day_of};
use crate::unit_keys::Generations;

/// Read under the log's lock (shared) and the audit chain's lock, in the
/// transaction that appends.
pub(crate) struct BatchHeads {
    pub newest_day: Option<NaiveDate>,
    pub audit: AuditHead,
    pub generations: Generations,
}

/// Takes the locks (PostgreSQL; SQLite's write transaction holds the whole
/// file) and reads the heads and the generations of `units`. The locks in
/// the order every path that takes both takes them, the log's before the
/// chain's (a filing writes its leaf before its audit entry; the publisher
/// takes only the log's, a rotation only the chain's): the subquery, which
/// `OFFSET 0` keeps from being folded into the outer query, is scanned
/// before the outer target list is evaluated. The read is a statement of
/// its own, after the locks are granted: under read committed a statement
/// sees what committed before it began, and a read in the locking
/// statement could predate a writer it waited for.
pub(crate) async fn lock_and_read(
    txn: &DatabaseTransaction,
    units: &[&str],
) -> Result<BatchHeads, StoreError> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($2) \
             FROM (SELECT pg_advisory_xact_lock_shared($1) OFFSET 0) AS log_lock",
            [LOG_LOCK.into(), AUDIT_LOCK.into()],
        ))
        .await?;
    }
    let generations = if units.is_empty() {
        "CAST(NULL AS TEXT)".to_owned()
    } else {
        let (aggregate, marks) = if backend == DbBackend::Postgres {
            let marks: Vec<String> = (1..=units.len()).map(|i| format!("${i}")).collect();
            ("string_agg", marks.join(", "))
        } else {
            ("group_concat", vec!["?"; units.len()].join(", "))
        };
        format!(
            "(SELECT {aggregate}(id || '=' || CAST(key_generation AS TEXT), ',') \
             FROM units WHERE id IN ({marks}))"
        )
    };
    let values = units.iter().map(|u| Value::from(*u));
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT {NEWEST_DAY_COLUMN}, {AUDIT_HEAD_COLUMNS}, {generations} AS generations"
            ),
            values,
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("a batch's heads: no row".into()))?;
    let listed: Option<String> = row.try_get("", "generations")?;
    Ok(BatchHeads {
        newest_day: newest_day_of(&row)?,
        audit: AuditHead::of_row(&row)?,
        generations: generations_of(listed.as_deref().unwrap_or_default())?,
    })
}

/// `unit=generation` pairs joined by commas (unit ids are slugs: neither
/// sign appears in one, and the generation follows the last `=`).
fn generations_of(listed: &str) -> Result<Generations, StoreError> {
    listed
        .split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (unit, generation) = pair
                .rsplit_once('=')
                .ok_or_else(|| StoreError::Corrupt(format!("a unit's key generation: {pair}")))?;
            let generation = generation
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("a unit's key generation: {pair}")))?;
            Ok((unit.to_owned(), generation))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::generations_of;

    #[test]
    fn generations_are_read_back_from_their_list() {
        let read = generations_of("p=3,p-city-2=1").expect("a well-formed list");
        assert_eq!(read.get("p"), Some(&3));
        assert_eq!(read.get("p-city-2"), Some(&1));
        assert_eq!(read.len(), 2);
        assert!(generations_of("").expect("none").is_empty());
        assert!(generations_of("p=x").is_err());
        assert!(generations_of("p").is_err());
    }
}
