//! Least privilege (#20): the register's count trigger runs as the owner of
//! the schema (`SECURITY DEFINER`, fixed `search_path`), so the role that
//! inserts a case — intake's restricted `sunlight_intake` — needs no grant
//! on `register_counts` and cannot read the per-unit counts. PostgreSQL
//! only; SQLite has no roles.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug)]
pub(super) struct Definer;

impl MigrationName for Definer {
    fn name(&self) -> &str {
        "m20261208_000014_definer"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Definer {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER FUNCTION register_count() SECURITY DEFINER SET search_path = public, pg_temp",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER FUNCTION register_count() SECURITY INVOKER RESET search_path",
                )
                .await?;
        }
        Ok(())
    }
}
