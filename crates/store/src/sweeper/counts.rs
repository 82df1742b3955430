//! Counts the sweeper's checks, the simulation and the benchmarks read: stages by state, every entry and notice.

use super::*;

impl Store {
    /// Notices recorded, by kind, with how many mails each wrote: for the
    /// simulation's summary and tests.
    pub async fn notice_counts(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        Ok(notice::Entity::find()
            .select_only()
            .column(notice::Column::Kind)
            .column_as(
                Expr::from(Func::count(Expr::col(notice::Column::Kind))),
                "n",
            )
            .column_as(
                Expr::from(Func::sum(Expr::col(notice::Column::Mails))),
                "mails",
            )
            .group_by(notice::Column::Kind)
            .into_tuple::<(String, i64, Option<i64>)>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|(k, n, m)| (k, n, m.unwrap_or(0)))
            .collect())
    }

    /// Every notice of kind `kind` with when it fell due and when it was
    /// recorded: `(case, stage, scheduled_at, recorded_at)`.
    pub async fn notices_of_kind(
        &self,
        kind: &str,
    ) -> Result<Vec<(Uuid, String, DateTime<Utc>, DateTime<Utc>)>, StoreError> {
        Ok(notice::Entity::find()
            .select_only()
            .column(notice::Column::CaseId)
            .column(notice::Column::Stage)
            .column(notice::Column::ScheduledAt)
            .column(notice::Column::RecordedAt)
            .filter(notice::Column::Kind.eq(kind))
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Open stages, and those of them past their deadline at `now`.
    /// Open and overdue stages per stage over the whole deployment, for the
    /// metrics gauges: two grouped counts that `ix_queue_open` answers.
    pub async fn stage_counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Stage, u64, u64)>, StoreError> {
        let count = |overdue: bool| {
            let mut q = queue_entry::Entity::find()
                .select_only()
                .column(queue_entry::Column::Stage)
                .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
                .filter(queue_entry::Column::ClosedAt.is_null());
            if overdue {
                q = q.filter(queue_entry::Column::DueAt.lt(now));
            }
            q.group_by(queue_entry::Column::Stage)
                .into_tuple::<(String, i64)>()
                .all(self.conn())
        };
        let open = count(false).await?;
        let overdue = count(true).await?;
        let mut out = Vec::with_capacity(open.len());
        for (raw, n) in open {
            let stage: Stage = raw
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("queue stage {raw}")))?;
            let late = overdue
                .iter()
                .find(|(s, _)| *s == raw)
                .map_or(0, |(_, d)| *d);
            out.push((
                stage,
                u64::try_from(n).unwrap_or_default(),
                u64::try_from(late).unwrap_or_default(),
            ));
        }
        Ok(out)
    }

    pub async fn open_stage_counts(&self, now: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        use sea_orm::PaginatorTrait;
        let open = queue_entry::Entity::find()
            .filter(queue_entry::Column::ClosedAt.is_null())
            .count(self.conn())
            .await?;
        let overdue = queue_entry::Entity::find()
            .filter(queue_entry::Column::ClosedAt.is_null())
            .filter(queue_entry::Column::DueAt.lt(now))
            .count(self.conn())
            .await?;
        Ok((open, overdue))
    }

    /// Every queue entry, open and closed: the simulation's final tally.
    pub async fn all_queue_entries(&self) -> Result<Vec<queue_entry::Model>, StoreError> {
        Ok(queue_entry::Entity::find().all(self.conn()).await?)
    }

    /// Every case's disposition: the simulation's final tally.
    pub async fn all_dispositions(
        &self,
    ) -> Result<Vec<(Uuid, sunlight_core::Disposition)>, StoreError> {
        use sea_orm::QuerySelect;
        let rows: Vec<(Uuid, String)> = crate::entity::case::Entity::find()
            .select_only()
            .column(crate::entity::case::Column::Id)
            .column(crate::entity::case::Column::Disposition)
            .into_tuple()
            .all(self.conn())
            .await?;
        rows.into_iter()
            .map(|(id, d)| {
                d.parse()
                    .map(|d| (id, d))
                    .map_err(|_| StoreError::Corrupt(format!("case {id}: bad disposition")))
            })
            .collect()
    }

    /// Every notice in the ledger.
    pub async fn all_notices(&self) -> Result<Vec<notice::Model>, StoreError> {
        Ok(notice::Entity::find().all(self.conn()).await?)
    }
}
