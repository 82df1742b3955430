//! The queue order index (m20261127_000002).

use super::*;

/// Queue listings of a large jurisdiction read open entries in the order
/// they are shown (real-name first, then by deadline) and stop at the page
/// size, instead of sorting every open entry of every unit. Partial, so
/// closed entries (the bulk, over time) cost nothing here. Measured with
/// `sunlight bench --queue-cases 100000`: docs/performance.md.
#[derive(Debug)]
pub(super) struct QueueOrder;

impl MigrationName for QueueOrder {
    fn name(&self) -> &str {
        "m20261127_000002_queue_order"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for QueueOrder {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes are the same SQL on SQLite and PostgreSQL.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_queue_open_order ON queue_entries \
                 (stage, real_name DESC, due_at) WHERE closed_at IS NULL",
            )
            .await?;
        Ok(())
    }
}
