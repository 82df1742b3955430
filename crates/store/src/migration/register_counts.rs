//! The register's true totals at a million cases (#18 item 2): a count of
//! cases per unit, stage, category, channel, real name and outcome, kept
//! by triggers in the same transaction as every insert, update or delete
//! of a case, whatever code path writes it. A total the filters allow is
//! then a sum over a few thousand rows, not a count over a million.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct RegisterCounts;

impl MigrationName for RegisterCounts {
    fn name(&self) -> &str {
        "m20261206_000011_register_counts"
    }
}

/// The key of a case's count, as the columns of `register_counts`; an open
/// case's outcome is `''` (a primary key cannot hold NULL alike on both).
const KEY: &str = "unit_id, stage, category, channel, real_name, outcome";

const TABLE: &str = "CREATE TABLE register_counts (\
     unit_id TEXT NOT NULL, stage TEXT NOT NULL, category TEXT NOT NULL, \
     channel TEXT NOT NULL, real_name BOOLEAN NOT NULL, outcome TEXT NOT NULL, \
     n BIGINT NOT NULL, \
     PRIMARY KEY (unit_id, stage, category, channel, real_name, outcome))";

const BACKFILL: &str = "INSERT INTO register_counts \
     SELECT unit_id, stage, category, channel, real_name, COALESCE(outcome, ''), COUNT(*) \
     FROM cases GROUP BY unit_id, stage, category, channel, real_name, COALESCE(outcome, '')";

/// `r` is `NEW` or `OLD`.
fn add(r: &str) -> String {
    format!(
        "INSERT INTO register_counts ({KEY}, n) VALUES ({r}.unit_id, {r}.stage, {r}.category, \
         {r}.channel, {r}.real_name, COALESCE({r}.outcome, ''), 1) \
         ON CONFLICT ({KEY}) DO UPDATE SET n = register_counts.n + 1"
    )
}

fn take(r: &str) -> String {
    format!(
        "UPDATE register_counts SET n = n - 1 WHERE unit_id = {r}.unit_id AND stage = {r}.stage \
         AND category = {r}.category AND channel = {r}.channel AND real_name = {r}.real_name \
         AND outcome = COALESCE({r}.outcome, '')"
    )
}

/// The key moved: any of its columns differs.
const MOVED: &str = "OLD.unit_id IS NOT NEW.unit_id OR OLD.stage IS NOT NEW.stage \
     OR OLD.category IS NOT NEW.category OR OLD.channel IS NOT NEW.channel \
     OR OLD.real_name IS NOT NEW.real_name OR OLD.outcome IS NOT NEW.outcome";

fn sqlite() -> Vec<String> {
    vec![
        format!(
            "CREATE TRIGGER cases_count_insert AFTER INSERT ON cases BEGIN {}; END",
            add("NEW")
        ),
        format!(
            "CREATE TRIGGER cases_count_update AFTER UPDATE ON cases WHEN {MOVED} \
             BEGIN {}; {}; END",
            take("OLD"),
            add("NEW")
        ),
        format!(
            "CREATE TRIGGER cases_count_delete AFTER DELETE ON cases BEGIN {}; END",
            take("OLD")
        ),
    ]
}

/// On PostgreSQL the counts are written at commit (deferred constraint
/// triggers), so a counter row is locked for an instant, not while a
/// filing writes 20 MiB of attachments; an update touches its two rows in
/// one order (the smaller key first), so two moves in opposite directions
/// cannot deadlock.
fn postgres() -> Vec<String> {
    let key = |r: &str| {
        format!(
            "ROW({r}.unit_id, {r}.stage, {r}.category, {r}.channel, {r}.real_name, \
             COALESCE({r}.outcome, ''))"
        )
    };
    vec![
        format!(
            "CREATE FUNCTION register_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF TG_OP = 'INSERT' THEN {add}; \
             ELSIF TG_OP = 'DELETE' THEN {take}; \
             ELSIF {old} < {new} THEN {take}; {add}; \
             ELSE {add}; {take}; END IF; \
             RETURN NULL; END $$",
            take = take("OLD"),
            add = add("NEW"),
            old = key("OLD"),
            new = key("NEW"),
        ),
        "CREATE CONSTRAINT TRIGGER cases_count_insert AFTER INSERT OR DELETE ON cases \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION register_count()"
            .to_owned(),
        format!(
            "CREATE CONSTRAINT TRIGGER cases_count_update AFTER UPDATE ON cases \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
             WHEN ({}) EXECUTE FUNCTION register_count()",
            MOVED.replace(" IS NOT ", " IS DISTINCT FROM ")
        ),
    ]
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for RegisterCounts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(TABLE).await?;
        // Triggers first: creating them locks `cases` against writes until
        // the migration commits, so no case is both counted by the
        // backfill and by a trigger, or by neither.
        let triggers = match m.get_database_backend() {
            DbBackend::Sqlite => sqlite(),
            _ => postgres(),
        };
        for sql in triggers {
            db.execute_unprepared(&sql).await?;
        }
        db.execute_unprepared(BACKFILL).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "DROP TRIGGER cases_count_insert",
            "DROP TRIGGER cases_count_update",
            "DROP TRIGGER cases_count_delete",
        ] {
            if m.get_database_backend() == DbBackend::Sqlite {
                db.execute_unprepared(sql).await?;
            }
        }
        if m.get_database_backend() != DbBackend::Sqlite {
            db.execute_unprepared("DROP TRIGGER cases_count_insert ON cases")
                .await?;
            db.execute_unprepared("DROP TRIGGER cases_count_update ON cases")
                .await?;
            db.execute_unprepared("DROP FUNCTION register_count()")
                .await?;
        }
        db.execute_unprepared("DROP TABLE register_counts").await?;
        Ok(())
    }
}
