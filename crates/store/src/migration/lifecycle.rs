//! Units and keys over the years (#19): English unit names, each unit's
//! private key escrowed to its parent, the history of rotated keys, and
//! members' own key pairs (so a rotated unit key can be handed to each
//! member without their password), and the hashed single-use recovery
//! codes of a member's second factor.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct Lifecycle;

impl MigrationName for Lifecycle {
    fn name(&self) -> &str {
        "m20261207_000012_lifecycle"
    }
}

async fn add_column(m: &SchemaManager<'_>, table: &str, column: ColumnDef) -> Result<(), DbErr> {
    // One column per statement: SQLite adds one at a time.
    m.alter_table(
        Table::alter()
            .table(Alias::new(table))
            .add_column(column)
            .to_owned(),
    )
    .await
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Lifecycle {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            m,
            "units",
            ColumnDef::new(Alias::new("name_en"))
                .string()
                .null()
                .to_owned(),
        )
        .await?;
        // The unit's current private key sealed to its parent's current
        // public key (NULL for a root, and for a unit created before this
        // migration until one of its members signs in).
        add_column(
            m,
            "units",
            ColumnDef::new(Alias::new("escrow_sealed_key"))
                .blob()
                .null()
                .to_owned(),
        )
        .await?;
        add_column(
            m,
            "units",
            ColumnDef::new(Alias::new("key_generation"))
                .integer()
                .not_null()
                .default(1)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("unit_key_history"))
                .col(ColumnDef::new(Alias::new("unit_id")).string().not_null())
                .col(
                    ColumnDef::new(Alias::new("generation"))
                        .integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("public_key")).blob().not_null())
                // The retired private key sealed to the key that replaced it.
                .col(
                    ColumnDef::new(Alias::new("sealed_to_successor"))
                        .blob()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("retired_at"))
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(Alias::new("unit_id"))
                        .col(Alias::new("generation")),
                )
                .to_owned(),
        )
        .await?;
        // A member's own key pair: its public half, and the unit key sealed
        // to it (the private half lives in `wrapped_unit_key`, wrapped under
        // the password). NULL for an account made before this migration,
        // whose `wrapped_unit_key` still holds the unit key itself until
        // its next sign-in.
        for column in ["member_public_key", "unit_key_sealed"] {
            add_column(
                m,
                "staff",
                ColumnDef::new(Alias::new(column)).blob().null().to_owned(),
            )
            .await?;
        }
        add_column(
            m,
            "staff",
            ColumnDef::new(Alias::new("recovery_codes"))
                .blob()
                .null()
                .to_owned(),
        )
        .await
    }
}
