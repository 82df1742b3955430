//! The last TOTP time step accepted for each staff member, so that a code
//! is accepted once (RFC 6238 §5.2): one seen over a shoulder or phished
//! cannot open a second session within its 90-second window.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct TotpReplay;

impl MigrationName for TotpReplay {
    fn name(&self) -> &str {
        "m20261130_000005_totp_replay"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for TotpReplay {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("staff"))
                .add_column(
                    ColumnDef::new(Alias::new("totp_last_step"))
                        .big_integer()
                        .null(),
                )
                .to_owned(),
        )
        .await
    }
}
