//! Case numbers: each routed case gets the next number of its unit's year
//! from a counter row updated in the numbering transaction, so routers in
//! any number of processes never hand out a number twice or leave a gap.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, sea_query::Expr,
};
use sunlight_core::{CaseId, CaseNumber, DomainError, UnitId};

use crate::audit::{AuditRecord, append};
use crate::entity::case;
use crate::{Store, StoreError};

/// A routed case that has no number yet.
#[derive(Debug, Clone)]
pub struct Unnumbered {
    pub id: CaseId,
    pub unit: UnitId,
    /// The day it was routed: its arrival's day, or for a letter the desk
    /// entered later, the day it was entered (its numbering batch).
    pub routed_at: DateTime<Utc>,
}

/// The number a row holds: all three columns or none.
pub(crate) fn number_of(m: &case::Model) -> Result<Option<CaseNumber>, DomainError> {
    number_from(m.number_unit.as_deref(), m.number_year, m.number_seq)
}

/// The number the three columns hold: all three or none.
pub(crate) fn number_from(
    unit: Option<&str>,
    year: Option<i32>,
    seq: Option<i64>,
) -> Result<Option<CaseNumber>, DomainError> {
    match (unit, year, seq) {
        (None, None, None) => Ok(None),
        (Some(unit), Some(year), Some(seq)) => Ok(Some(CaseNumber {
            unit: UnitId::parse(unit)?,
            year,
            seq: u32::try_from(seq).map_err(|_| DomainError::BadCaseNumber)?,
        })),
        _ => Err(DomainError::BadCaseNumber),
    }
}

impl Store {
    /// The routing day of the oldest routed case without a number that
    /// was routed in `from..before`. Routing carries the arrival's day, so
    /// a day's reports are numbered together; a letter the desk enters
    /// days after it came is routed on the day it is entered and numbered
    /// in that day's batch, not alone the moment it is typed in.
    pub async fn oldest_unnumbered(
        &self,
        from: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(unnumbered(before)
            .filter(case::Column::RoutedAt.gte(from))
            .select_only()
            .column(case::Column::RoutedAt)
            .order_by_asc(case::Column::RoutedAt)
            .into_tuple::<DateTime<Utc>>()
            .one(self.conn())
            .await?)
    }

    /// Whether a case that arrived in `from..to` still waits for routing
    /// (its day is not numbered before it is).
    pub async fn any_unrouted(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::RoutedAt.is_null())
            .filter(case::Column::ReceivedAt.gte(from))
            .filter(case::Column::ReceivedAt.lt(to))
            .into_tuple::<uuid::Uuid>()
            .one(self.conn())
            .await?
            .is_some())
    }

    /// Every routed case without a number routed in `from..to`: a
    /// whole day at a time, so the order rows happen to come in (the order
    /// of arrival, on disk) never decides which of a day's cases is
    /// numbered first.
    pub async fn unnumbered_cases(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Unnumbered>, StoreError> {
        unnumbered(to)
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::UnitId)
            .column(case::Column::RoutedAt)
            .filter(case::Column::RoutedAt.gte(from))
            .into_tuple::<(uuid::Uuid, String, DateTime<Utc>)>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|(id, unit, routed_at)| {
                Ok(Unnumbered {
                    id: CaseId::from_uuid(id),
                    unit: UnitId::parse(&unit)
                        .map_err(|_| StoreError::Corrupt(format!("case {id}: bad unit")))?,
                    routed_at,
                })
            })
            .collect()
    }

    /// The numbers of those of `cases` that have one (for staff mails).
    pub async fn case_numbers(
        &self,
        cases: &[CaseId],
    ) -> Result<std::collections::HashMap<CaseId, CaseNumber>, StoreError> {
        self.numbers_where(cases, None).await
    }

    /// As [`Self::case_numbers`], for the cases of `j` only.
    pub async fn case_numbers_in(
        &self,
        j: &crate::Jurisdiction,
        cases: &[CaseId],
    ) -> Result<std::collections::HashMap<CaseId, CaseNumber>, StoreError> {
        self.numbers_where(cases, Some(j)).await
    }

    async fn numbers_where(
        &self,
        cases: &[CaseId],
        j: Option<&crate::Jurisdiction>,
    ) -> Result<std::collections::HashMap<CaseId, CaseNumber>, StoreError> {
        let ids: Vec<uuid::Uuid> = cases.iter().map(|c| c.as_uuid()).collect();
        let mut find = case::Entity::find();
        if let Some(j) = j {
            find = find.filter(case::Column::UnitId.is_in(j.ids()));
        }
        let rows = find
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::NumberUnit)
            .column(case::Column::NumberYear)
            .column(case::Column::NumberSeq)
            .filter(case::Column::Id.is_in(ids))
            .filter(case::Column::NumberSeq.is_not_null())
            .into_tuple::<(uuid::Uuid, Option<String>, Option<i32>, Option<i64>)>()
            .all(self.conn())
            .await?;
        let mut out = std::collections::HashMap::new();
        for (id, unit, year, seq) in rows {
            if let Some(n) = number_from(unit.as_deref(), year, seq)
                .map_err(|_| StoreError::Corrupt(format!("case {id}: bad number")))?
            {
                out.insert(CaseId::from_uuid(id), n);
            }
        }
        Ok(out)
    }

    /// Gives `cases`, in this order, the next numbers of `unit`'s `year`,
    /// with one `case.numbered` audit entry each: all of them or none.
    /// `false` (and nothing written) when another router numbered one of
    /// them first or a case is not `unit`'s.
    pub async fn number_cases(
        &self,
        unit: &UnitId,
        year: i32,
        cases: &[CaseId],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Ok(count) = i64::try_from(cases.len()) else {
            return Ok(false);
        };
        if count == 0 {
            return Ok(true);
        }
        let txn = self.write_txn().await?;
        // The counter first: on PostgreSQL its row lock makes a second
        // router wait here, then find the cases numbered and give up.
        let last = advance_counter(&txn, unit, year, count).await?;
        let mut seq = last - count;
        let mut given = Vec::with_capacity(cases.len());
        for id in cases {
            seq += 1;
            let won = case::Entity::update_many()
                .col_expr(case::Column::NumberUnit, Expr::value(unit.as_str()))
                .col_expr(case::Column::NumberYear, Expr::value(year))
                .col_expr(case::Column::NumberSeq, Expr::value(seq))
                .filter(case::Column::Id.eq(id.as_uuid()))
                .filter(case::Column::UnitId.eq(unit.as_str()))
                .filter(case::Column::NumberSeq.is_null())
                .exec(&txn)
                .await?
                .rows_affected
                == 1;
            if !won {
                txn.rollback().await?;
                return Ok(false);
            }
            let number = CaseNumber {
                unit: unit.clone(),
                year,
                seq: u32::try_from(seq)
                    .map_err(|_| StoreError::Corrupt(format!("{unit} {year}: counter overflow")))?,
            };
            given.push((id, number));
        }
        // The audit entries after every case row: an action takes its case
        // row and then the audit lock, so taking the audit lock between
        // case rows could deadlock with it on PostgreSQL.
        for (id, number) in given {
            append(
                &txn,
                AuditRecord {
                    actor: "system:router".into(),
                    action: "case.numbered".into(),
                    unit: unit.as_str().to_owned(),
                    case_id: id.to_string(),
                    detail: number.to_string(),
                },
                now,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(true)
    }
}

/// Routed before `before`, unnumbered (the partial index
/// `cases_unnumbered`, on `routed_at`).
fn unnumbered(before: DateTime<Utc>) -> sea_orm::Select<case::Entity> {
    case::Entity::find()
        .filter(case::Column::NumberSeq.is_null())
        .filter(case::Column::RoutedAt.is_not_null())
        .filter(case::Column::RoutedAt.lt(before))
}

/// Adds `count` to the counter of `unit`'s `year` (creating it at 0) and
/// returns its new value, the last number now taken.
async fn advance_counter(
    txn: &DatabaseTransaction,
    unit: &UnitId,
    year: i32,
    count: i64,
) -> Result<i64, StoreError> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO case_counters (unit_id, year, last) VALUES ($1, $2, $3) \
             ON CONFLICT (unit_id, year) DO UPDATE SET last = case_counters.last + $3 \
             RETURNING last"
        }
        _ => {
            "INSERT INTO case_counters (unit_id, year, last) VALUES (?1, ?2, ?3) \
             ON CONFLICT (unit_id, year) DO UPDATE SET last = case_counters.last + ?3 \
             RETURNING last"
        }
    };
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [unit.as_str().into(), year.into(), count.into()],
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("case counter returned nothing".into()))?;
    Ok(row.try_get::<i64>("", "last")?)
}
