//! Leases: one process at a time holds a named job (the sweeper, the statistics refresh) until it lets go or its time runs out.

use crate::entity::lease;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr, sea_query::OnConflict,
};

impl Store {
    /// Takes (or renews) the lease `name` for `holder` until `until`, when
    /// it is free, expired, or already this holder's. `true`: the caller
    /// may run the job until `until`.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        let inserted = lease::Entity::insert(lease::ActiveModel {
            name: Set(name.to_owned()),
            holder: Set(holder.to_owned()),
            until: Set(until),
        })
        .on_conflict(
            OnConflict::column(lease::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?
            == 1;
        let won = inserted
            || lease::Entity::update_many()
                .col_expr(lease::Column::Holder, Expr::value(holder))
                .col_expr(lease::Column::Until, Expr::value(until))
                .filter(lease::Column::Name.eq(name))
                .filter(
                    sea_orm::Condition::any()
                        .add(lease::Column::Holder.eq(holder))
                        .add(lease::Column::Until.lt(now)),
                )
                .exec(&txn)
                .await?
                .rows_affected
                == 1;
        txn.commit().await?;
        Ok(won)
    }

    /// Gives the lease up (at shutdown), so another process takes over at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        lease::Entity::delete_many()
            .filter(lease::Column::Name.eq(name))
            .filter(lease::Column::Holder.eq(holder))
            .exec(self.conn())
            .await?;
        Ok(())
    }
}
