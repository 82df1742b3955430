//! Statistics (举报情况统计) and hotspots (重点管理): monthly cells and day
//! histograms that the triage side refreshes, the hotspot flags, and the
//! time indexes a refresh reads recent events through.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct Stats;

impl MigrationName for Stats {
    fn name(&self) -> &str {
        "m20261129_000004_stats"
    }
}

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}

fn ts(name: &str) -> ColumnDef {
    col(name).timestamp_with_time_zone().not_null().to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Stats {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let key = |cols: &[&str]| {
            let mut pk = Index::create();
            for c in cols {
                pk.col(Alias::new(*c));
            }
            pk
        };
        m.create_table(
            Table::create()
                .table(Alias::new("stat_cells"))
                .col(col("month").string().not_null())
                .col(col("unit_id").string().not_null())
                .col(col("category").string().not_null())
                .col(col("channel").string().not_null())
                .col(col("measure").string().not_null())
                .col(col("n").big_integer().not_null())
                .col(col("on_time").big_integer().not_null())
                .primary_key(&mut key(&[
                    "month", "unit_id", "category", "channel", "measure",
                ]))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("stat_days"))
                .col(col("month").string().not_null())
                .col(col("unit_id").string().not_null())
                .col(col("measure").string().not_null())
                .col(col("days").integer().not_null())
                .col(col("n").big_integer().not_null())
                .primary_key(&mut key(&["month", "unit_id", "measure", "days"]))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("hotspots"))
                .col(col("id").uuid().not_null().primary_key())
                .col(col("unit_id").string().not_null())
                .col(col("reason").string().not_null())
                .col(col("window_count").big_integer().not_null())
                .col(col("baseline").double().not_null())
                .col(ts("raised_at"))
                .col(col("cleared_at").timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        for sql in [
            // One open flag per unit: a second raiser's insert conflicts.
            "CREATE UNIQUE INDEX ux_hotspots_open ON hotspots (unit_id) WHERE cleared_at IS NULL",
            "CREATE INDEX ix_hotspots_raised ON hotspots (raised_at)",
            // A refresh reads one month of events through these (and the
            // existing ix_cases_received).
            "CREATE INDEX ix_cases_routed ON cases (routed_at) WHERE routed_at IS NOT NULL",
            "CREATE INDEX ix_cases_closed ON cases (closed_at) WHERE closed_at IS NOT NULL",
            "CREATE INDEX ix_transitions_at ON transitions (at)",
            "CREATE INDEX ix_queue_closed ON queue_entries (closed_at) WHERE closed_at IS NOT NULL",
            "CREATE INDEX ix_holds_opened ON holds (opened_at)",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
