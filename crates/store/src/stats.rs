//! The statistics query layer: reads one month of events from the plain
//! routing metadata (arrivals, routing, conclusions, feedback, closures,
//! holds, stage completions), tallies them with `sunlight_core::stats`, and
//! replaces that month's stored cells in one transaction. Past months do not
//! change (cells count events by the month they happened), so a refresh
//! reads only recent months and costs the same at 10,000 or 1,000,000 cases.
//! Also the hotspot flags (重点管理) and the counts their rule needs.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, Statement, sea_query::Expr, sea_query::Func,
    sea_query::OnConflict,
};
use sunlight_core::stats::{
    CellKey, Count, DaysKey, Fact, HotspotReason, Month, Tally, whole_days,
};
use sunlight_core::{Category, Channel, Disposition, Measure, Outcome, Rating, Stage, UnitId};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::cases::Jurisdiction;
use crate::entity::{case, hotspot, queue_entry, stat_cell, stat_day};
use crate::sweeper::{NewMail, insert_mail};
use crate::{Store, StoreError};

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsRefresh {
    pub months: u32,
    pub facts: u64,
    pub cells: u64,
}

/// A hotspot flag.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotRow {
    pub id: Uuid,
    pub unit: UnitId,
    pub reason: HotspotReason,
    pub window_count: u64,
    pub baseline: f64,
    pub raised_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
}

impl TryFrom<hotspot::Model> for HotspotRow {
    type Error = StoreError;
    fn try_from(m: hotspot::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: m.id,
            unit: UnitId::parse(&m.unit_id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            reason: HotspotReason::parse(&m.reason)
                .ok_or_else(|| StoreError::Corrupt(format!("hotspot reason {}", m.reason)))?,
            window_count: u64::try_from(m.window_count).unwrap_or_default(),
            baseline: m.baseline,
            raised_at: m.raised_at,
            cleared_at: m.cleared_at,
        })
    }
}

fn corrupt(what: &str) -> impl Fn(sunlight_core::DomainError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

/// The dimensions every event query returns first.
struct Dims {
    unit: UnitId,
    category: Category,
    channel: Channel,
    at: DateTime<Utc>,
    received_at: DateTime<Utc>,
}

fn dims(row: &QueryResult) -> Result<Dims, StoreError> {
    let unit: String = row.try_get("", "unit_id")?;
    let category: String = row.try_get("", "category")?;
    let channel: String = row.try_get("", "channel")?;
    Ok(Dims {
        unit: UnitId::parse(&unit).map_err(corrupt("unit"))?,
        category: category.parse().map_err(corrupt("category"))?,
        channel: channel.parse().map_err(corrupt("channel"))?,
        at: row.try_get("", "at")?,
        received_at: row.try_get("", "received_at")?,
    })
}

fn fact(d: Dims, measure: Measure, on_time: bool, with_days: bool) -> Fact {
    Fact {
        days: with_days.then(|| whole_days(d.received_at, d.at)),
        at: d.at,
        unit: d.unit,
        category: d.category,
        channel: d.channel,
        measure,
        on_time,
    }
}

// Each query reads the events of one measure family in [$1, $2). The same
// SQL runs on both engines (sqlx binds `$n` on SQLite too).
const RECEIVED: &str = "SELECT unit_id, category, channel, received_at AS at, received_at \
     FROM cases WHERE received_at >= $1 AND received_at < $2";
const ROUTED: &str = "SELECT unit_id, category, channel, routed_at AS at, received_at \
     FROM cases WHERE routed_at >= $1 AND routed_at < $2";
const CLOSED: &str = "SELECT unit_id, category, channel, closed_at AS at, received_at, outcome, \
     disposition FROM cases WHERE closed_at >= $1 AND closed_at < $2 AND merged_into IS NULL";
const STEPS: &str = "SELECT c.unit_id, c.category, c.channel, t.at AS at, c.received_at, t.action \
     FROM transitions t JOIN cases c ON c.id = t.case_id \
     WHERE t.at >= $1 AND t.at < $2 AND t.action IN ('verified', 'rechecked', 'feedback_given', \
     'accepted', 'reopened', 'reopened_on_material')";
const HOLDS: &str = "SELECT h.unit_id, c.category, c.channel, h.opened_at AS at, c.received_at \
     FROM holds h JOIN cases c ON c.id = h.case_id WHERE h.opened_at >= $1 AND h.opened_at < $2";
const RATINGS: &str = "SELECT r.unit_id, c.category, c.channel, r.rated_on AS at, c.received_at, \
     r.rating, r.objection FROM ratings r JOIN cases c ON c.id = r.case_id \
     WHERE r.rated_on >= $1 AND r.rated_on < $2";
const STAGES: &str = "SELECT q.unit_id, c.category, c.channel, q.closed_at AS at, c.received_at, \
     q.stage, q.due_at FROM queue_entries q JOIN cases c ON c.id = q.case_id \
     WHERE q.closed_at >= $1 AND q.closed_at < $2 \
     AND (q.stage <> 'received' OR q.closed_at > q.opened_at)";

impl Store {
    async fn rows_between(
        &self,
        sql: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<QueryResult>, StoreError> {
        let backend = self.backend();
        Ok(self
            .conn()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [from.into(), to.into()],
            ))
            .await?)
    }

    /// Every event in [from, to), as facts.
    pub async fn facts_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Fact>, StoreError> {
        let mut facts = Vec::new();
        for row in self.rows_between(RECEIVED, from, to).await? {
            facts.push(fact(dims(&row)?, Measure::Received, false, false));
        }
        for row in self.rows_between(ROUTED, from, to).await? {
            facts.push(fact(dims(&row)?, Measure::Routed, false, false));
        }
        for row in self.rows_between(CLOSED, from, to).await? {
            facts.extend(closing_facts(&row)?);
        }
        for row in self.rows_between(STEPS, from, to).await? {
            let action: String = row.try_get("", "action")?;
            let measure = match action.as_str() {
                "feedback_given" => Measure::Feedback,
                "accepted" => Measure::Accepted,
                "reopened" | "reopened_on_material" => Measure::Reopened,
                _ => Measure::Verified,
            };
            facts.push(fact(dims(&row)?, measure, false, true));
        }
        for row in self.rows_between(HOLDS, from, to).await? {
            facts.push(fact(dims(&row)?, Measure::Hold, false, false));
        }
        for row in self.rows_between(RATINGS, from, to).await? {
            let rating: String = row.try_get("", "rating")?;
            let objection: bool = row.try_get("", "objection")?;
            let rating: Rating = rating.parse().map_err(corrupt("rating"))?;
            facts.push(fact(dims(&row)?, Measure::Rated, false, false));
            if rating.is_satisfied() {
                facts.push(fact(dims(&row)?, Measure::Satisfied, false, false));
            }
            if objection {
                facts.push(fact(dims(&row)?, Measure::Objected, false, false));
            }
        }
        for row in self.rows_between(STAGES, from, to).await? {
            let stage: String = row.try_get("", "stage")?;
            let due_at: DateTime<Utc> = row.try_get("", "due_at")?;
            let stage: Stage = stage.parse().map_err(corrupt("stage"))?;
            if let Some(measure) = Measure::stage_done(stage) {
                let d = dims(&row)?;
                let on_time = d.at <= due_at;
                facts.push(fact(d, measure, on_time, true));
            }
        }
        Ok(facts)
    }

    /// Recomputes the stored cells of every month from `from` to the month
    /// of `now`, one month per transaction.
    pub async fn refresh_stats(
        &self,
        from: Month,
        now: DateTime<Utc>,
        offset: FixedOffset,
    ) -> Result<StatsRefresh, StoreError> {
        let last = Month::of(now, offset);
        let mut done = StatsRefresh::default();
        let mut month = from;
        while month <= last {
            let facts = self
                .facts_between(month.start(offset), month.next().start(offset))
                .await?;
            let mut tally = Tally::default();
            for f in &facts {
                tally.add(f, offset);
            }
            done.facts += facts.len() as u64;
            done.cells += tally.cells.len() as u64;
            done.months += 1;
            self.replace_month(month, &tally).await?;
            month = month.next();
        }
        Ok(done)
    }

    async fn replace_month(&self, month: Month, tally: &Tally) -> Result<(), StoreError> {
        let label = month.to_string();
        let txn = self.write_txn().await?;
        stat_cell::Entity::delete_many()
            .filter(stat_cell::Column::Month.eq(&label))
            .exec(&txn)
            .await?;
        stat_day::Entity::delete_many()
            .filter(stat_day::Column::Month.eq(&label))
            .exec(&txn)
            .await?;
        let cells: Vec<_> = tally
            .cells
            .iter()
            .filter(|(k, _)| k.month == month)
            .map(|(k, c)| stat_cell::ActiveModel {
                month: Set(label.clone()),
                unit_id: Set(k.unit.as_str().to_owned()),
                category: Set(k.category.as_str().to_owned()),
                channel: Set(k.channel.as_str().to_owned()),
                measure: Set(k.measure.as_str().to_owned()),
                n: Set(i64::try_from(c.n).unwrap_or(i64::MAX)),
                on_time: Set(i64::try_from(c.on_time).unwrap_or(i64::MAX)),
            })
            .collect();
        for chunk in cells.chunks(500) {
            stat_cell::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        let days: Vec<_> = tally
            .days
            .iter()
            .filter(|(k, _)| k.month == month)
            .map(|(k, n)| stat_day::ActiveModel {
                month: Set(label.clone()),
                unit_id: Set(k.unit.as_str().to_owned()),
                measure: Set(k.measure.as_str().to_owned()),
                days: Set(i32::try_from(k.days).unwrap_or(i32::MAX)),
                n: Set(i64::try_from(*n).unwrap_or(i64::MAX)),
            })
            .collect();
        for chunk in days.chunks(500) {
            stat_day::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The stored cells and histograms of months `from..=to`.
    pub async fn stat_tally(&self, from: Month, to: Month) -> Result<Tally, StoreError> {
        let (lo, hi) = (from.to_string(), to.to_string());
        let mut tally = Tally::default();
        for m in stat_cell::Entity::find()
            .filter(stat_cell::Column::Month.between(&lo, &hi))
            .all(self.conn())
            .await?
        {
            tally.cells.insert(
                CellKey {
                    month: m.month.parse().map_err(|_| corrupt_month(&m.month))?,
                    unit: UnitId::parse(&m.unit_id).map_err(corrupt("unit"))?,
                    category: m.category.parse().map_err(corrupt("category"))?,
                    channel: m.channel.parse().map_err(corrupt("channel"))?,
                    measure: m.measure.parse().map_err(corrupt("measure"))?,
                },
                Count {
                    n: u64::try_from(m.n).unwrap_or_default(),
                    on_time: u64::try_from(m.on_time).unwrap_or_default(),
                },
            );
        }
        for m in stat_day::Entity::find()
            .filter(stat_day::Column::Month.between(&lo, &hi))
            .all(self.conn())
            .await?
        {
            tally.days.insert(
                DaysKey {
                    month: m.month.parse().map_err(|_| corrupt_month(&m.month))?,
                    unit: UnitId::parse(&m.unit_id).map_err(corrupt("unit"))?,
                    measure: m.measure.parse().map_err(corrupt("measure"))?,
                    days: u32::try_from(m.days).unwrap_or_default(),
                },
                u64::try_from(m.n).unwrap_or_default(),
            );
        }
        Ok(tally)
    }

    /// When the first report arrived: where a first refresh starts.
    pub async fn first_received_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(case::Entity::find()
            .select_only()
            .column(case::Column::ReceivedAt)
            .order_by_asc(case::Column::ReceivedAt)
            .limit(1)
            .into_tuple::<DateTime<Utc>>()
            .one(self.conn())
            .await?)
    }

    /// Whether any cell was ever stored.
    pub async fn has_stats(&self) -> Result<bool, StoreError> {
        Ok(stat_cell::Entity::find().count(self.conn()).await? > 0)
    }

    /// Reports received in [from, to) per unit.
    pub async fn received_per_unit(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<UnitId, u64>, StoreError> {
        let rows = case::Entity::find()
            .select_only()
            .column(case::Column::UnitId)
            .column_as(Expr::from(Func::count(Expr::col(case::Column::Id))), "n")
            .filter(case::Column::ReceivedAt.gte(from))
            .filter(case::Column::ReceivedAt.lt(to))
            .group_by(case::Column::UnitId)
            .into_tuple::<(String, i64)>()
            .all(self.conn())
            .await?;
        rows.into_iter()
            .map(|(unit, n)| {
                Ok((
                    UnitId::parse(&unit).map_err(corrupt("unit"))?,
                    u64::try_from(n).unwrap_or_default(),
                ))
            })
            .collect()
    }

    /// Open flags, and those cleared since `cleared_since`, newest first.
    pub async fn hotspots(
        &self,
        cleared_since: DateTime<Utc>,
    ) -> Result<Vec<HotspotRow>, StoreError> {
        hotspot::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(hotspot::Column::ClearedAt.is_null())
                    .add(hotspot::Column::ClearedAt.gte(cleared_since)),
            )
            .order_by_desc(hotspot::Column::RaisedAt)
            .all(self.conn())
            .await?
            .into_iter()
            .map(HotspotRow::try_from)
            .collect()
    }

    /// Flags `unit`, audits it and queues the mails, in one transaction.
    /// `None` when the unit already has an open flag (another process
    /// raised it first).
    pub async fn raise_hotspot(
        &self,
        unit: &UnitId,
        reason: HotspotReason,
        window_count: u64,
        baseline: f64,
        mails: &[NewMail],
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError> {
        let txn = self.write_txn().await?;
        let id = Uuid::now_v7();
        let inserted = hotspot::Entity::insert(hotspot::ActiveModel {
            id: Set(id),
            unit_id: Set(unit.as_str().to_owned()),
            reason: Set(reason.as_str().to_owned()),
            window_count: Set(i64::try_from(window_count).unwrap_or(i64::MAX)),
            baseline: Set(baseline),
            raised_at: Set(now),
            cleared_at: Set(None),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
        if inserted == 0 {
            return Ok(None);
        }
        append(
            &txn,
            AuditRecord {
                actor: "stats".into(),
                action: "hotspot.raised".into(),
                unit: unit.as_str().to_owned(),
                case_id: String::new(),
                detail: format!(
                    "{}: {window_count} reports in the window, earlier mean {baseline:.1}",
                    reason.as_str()
                ),
            },
            now,
        )
        .await?;
        for mail in mails {
            insert_mail(&txn, mail, now).await?;
        }
        txn.commit().await?;
        Ok(Some(id))
    }

    /// Clears an open flag (the unit fell back under the rule), audited.
    pub async fn clear_hotspot(
        &self,
        flag: &HotspotRow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        let res = hotspot::Entity::update_many()
            .col_expr(hotspot::Column::ClearedAt, Expr::value(now))
            .filter(hotspot::Column::Id.eq(flag.id))
            .filter(hotspot::Column::ClearedAt.is_null())
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Ok(false);
        }
        append(
            &txn,
            AuditRecord {
                actor: "stats".into(),
                action: "hotspot.cleared".into(),
                unit: flag.unit.as_str().to_owned(),
                case_id: String::new(),
                detail: format!("raised {}", flag.raised_at.to_rfc3339()),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }
}

impl Store {
    /// Open stages past their deadline at `now`, per stage, in a jurisdiction.
    pub async fn overdue_counts(
        &self,
        j: &Jurisdiction,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Stage, u64)>, StoreError> {
        let rows = queue_entry::Entity::find()
            .select_only()
            .column(queue_entry::Column::Stage)
            // COUNT(*), not COUNT(id): then ix_queue_open (unit_id, stage,
            // closed_at, due_at) answers alone, without a row lookup per
            // overdue stage (1.4 s → see docs/performance.md at 1M cases).
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(queue_entry::Column::ClosedAt.is_null())
            .filter(queue_entry::Column::DueAt.lt(now))
            .filter(queue_entry::Column::UnitId.is_in(j.ids()))
            .group_by(queue_entry::Column::Stage)
            .into_tuple::<(String, i64)>()
            .all(self.conn())
            .await?;
        rows.into_iter()
            .map(|(stage, n)| {
                Ok((
                    stage.parse().map_err(corrupt("stage"))?,
                    u64::try_from(n).unwrap_or_default(),
                ))
            })
            .collect()
    }
}

/// What a closing counts: the closure, its disposition, and over the
/// cases accepted and verified only, whether it was substantiated (a
/// referred or filed report never lowers the substantiated rate).
fn closing_facts(row: &QueryResult) -> Result<Vec<Fact>, StoreError> {
    let outcome: Option<String> = row.try_get("", "outcome")?;
    let disposition: String = row.try_get("", "disposition")?;
    let disposition: Disposition = disposition.parse().map_err(corrupt("disposition"))?;
    let mut out = vec![fact(dims(row)?, Measure::Closed, false, true)];
    let also = match disposition {
        Disposition::Referred => vec![Measure::Referred],
        Disposition::FiledForReference => vec![Measure::FiledForReference],
        Disposition::KnowinglyFalse => vec![Measure::Concluded, Measure::KnowinglyFalse],
        Disposition::Concluded => vec![Measure::Concluded],
        Disposition::Open | Disposition::Accepted | Disposition::Merged => vec![],
    };
    let substantiated = disposition.was_verified()
        && matches!(
            outcome.as_deref().map(str::parse::<Outcome>),
            Some(Ok(Outcome::Substantiated | Outcome::Partly))
        );
    for m in also {
        out.push(fact(dims(row)?, m, false, false));
    }
    if substantiated {
        out.push(fact(dims(row)?, Measure::Substantiated, false, false));
    }
    Ok(out)
}

fn corrupt_month(raw: &str) -> StoreError {
    StoreError::Corrupt(format!("stat month {raw}"))
}
