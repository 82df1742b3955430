-- deploy/postgres/intake-role.sql
--
-- Least privilege for the public intake process (`sunlight intake`) on
-- PostgreSQL: a LOGIN role `sunlight_intake` that may read and write exactly
-- what the intake paths read and write, and nothing else.
--
-- How to run it: as a superuser, or as the owner of the sunlight tables (the
-- role `sunlight migrate` connects as), against the sunlight database, AFTER
-- `sunlight migrate`:
--
--     psql -v ON_ERROR_STOP=1 -d sunlight -f deploy/postgres/intake-role.sql
--
-- The owner may run it only once the role exists (creating a role takes a
-- superuser or CREATEROLE). The password is never in this file; set it once:
--
--     psql -d sunlight -c '\password sunlight_intake'
--
-- Then point the intake process at it (`database_url =
-- "postgres://sunlight_intake@…/sunlight"`) with `migrate_on_start = false`:
-- intake does not migrate; at start it only counts pending migrations in
-- `seaql_migrations`. That count must be read without DDL: sea-orm's
-- `get_pending_migrations` first runs `CREATE TABLE IF NOT EXISTS
-- seaql_migrations`, which PostgreSQL refuses ("permission denied for schema
-- public") to a role without CREATE on the schema even when the table
-- exists; `Store::pending_migrations` must use
-- `get_pending_migrations_read_only` (an information_schema probe plus a
-- SELECT, both covered by the grant on seaql_migrations below).
--
-- Re-run it after every upgrade: it revokes everything and grants the list
-- below again in one transaction, so it is idempotent, and an upgrade whose
-- intake paths use a new table (or update a new column) needs this file
-- updated and re-run before the new intake starts. Grants are per table, not
-- schema-wide defaults, on purpose: a table added by a migration stays closed
-- to intake until someone decides otherwise here.
--
-- What intake can therefore NOT do:
--   * read or write `staff` (password records, wrapped unit keys, TOTP
--     secrets, member keys, recovery codes), `unit_key_history` (retired unit
--     keys sealed to their successors), `outbox` (staff mail), `holds`,
--     `notices`, `leases`, `case_counters`, `stat_cells`, `stat_days`,
--     `hotspots`, `register_counts`: no grant at all;
--   * read the units' wrapped and escrowed private keys
--     (`recovery_wrapped_key`, `escrow_sealed_key`): only the public columns;
--   * read `attachment_chunks` (it only appends the chunks it seals);
--   * write `units`, `settings` or `transitions`;
--   * DELETE or TRUNCATE anything; UPDATE only the few columns listed below
--     (audit_log is additionally append-only by trigger for every role);
--   * create, alter or drop anything in schema public (no CREATE on it);
--   * use a sequence: the schema has none (every key is a UUID chosen by the
--     application, or audit_log.seq, which the application computes).
--
-- What it still can, because the code needs it (see the comments per grant):
--   * SELECT every row of cases, queue_entries, transitions, messages,
--     attachments, ratings and audit_log: the store reads whole rows by
--     key, and a grant cannot restrict rows. Report content is sealed;
--     routing metadata (unit, category, channel, dates, stage, case
--     numbers) and staff ids in transitions and the audit log are readable.
--   * UPDATE cases(version, unread) and queue_entries(due_at, paused_until,
--     next_sweep_at) of any row (a reporter's answer resumes a paused stage;
--     an objection counts as an unread message).
--
-- PUBLIC keeps what PostgreSQL gives it by default: CONNECT and TEMPORARY on
-- the database, EXECUTE on functions (pg_advisory_xact_lock, which the audit
-- log append takes), and on PostgreSQL 14 and older CREATE on schema public,
-- which this file cannot take from one role alone: it warns if so.

BEGIN;

-- The tables must exist: run `sunlight migrate` first.
DO $$
BEGIN
    IF to_regclass('public.seaql_migrations') IS NULL THEN
        RAISE EXCEPTION 'no sunlight schema in database %: run `sunlight migrate` first',
            current_database();
    END IF;
END
$$;

-- The role, if missing. Attributes are set only at creation: the owner may
-- re-run this file without CREATEROLE.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'sunlight_intake') THEN
        CREATE ROLE sunlight_intake LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOINHERIT NOREPLICATION NOBYPASSRLS;
    END IF;
END
$$;

-- Start from nothing: everything this role was ever granted in schema public
-- (REVOKE ALL on a table also drops its column grants), on the schema and on
-- the database. Relation by relation, so that one the running role may not
-- touch (another owner's, say an extension's) is a warning, not an abort.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel,
               CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    LOOP
        BEGIN
            EXECUTE format('REVOKE ALL ON %s %s FROM sunlight_intake', r.kind, r.rel);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot revoke on % (not the owner): check its grants to sunlight_intake by hand', r.rel;
        END;
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
    LOOP
        BEGIN
            EXECUTE format('REVOKE ALL ON ROUTINE %s FROM sunlight_intake', r.fn);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot revoke on % (not the owner): check its grants to sunlight_intake by hand', r.fn;
        END;
    END LOOP;
END
$$;
REVOKE ALL ON SCHEMA public FROM sunlight_intake;
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM sunlight_intake', current_database());
    -- Connecting (also where CONNECT was taken from PUBLIC).
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO sunlight_intake', current_database());
END
$$;

-- Names in schema public resolve (also inside the register_count() trigger
-- function, which runs as this role); no CREATE.
GRANT USAGE ON SCHEMA public TO sunlight_intake;

-- ---------------------------------------------------------------------------
-- Start-up (crates/cli/src/commands/serve.rs `serve`, intake=true triage=false)
-- ---------------------------------------------------------------------------

-- crates/cli/src/commands.rs `open` (migrate_on_start = false) ->
-- crates/store/src/lib.rs `Store::pending_migrations`: SELECT version,
-- applied_at FROM seaql_migrations (the information_schema.tables probe of
-- the read-only variant sees the table only because of this grant).
GRANT SELECT ON public.seaql_migrations TO sunlight_intake;

-- crates/cli/src/commands.rs `is_initialized` (initialized_at),
-- crates/cli/src/secrets.rs `stretcher` (code_salt),
-- crates/intake/src/bulletin.rs `published` (bulletin), all through
-- crates/store/src/settings.rs `Store::setting`: SELECT key, value by key.
-- Never written by intake.
GRANT SELECT ON public.settings TO sunlight_intake;

-- ---------------------------------------------------------------------------
-- Serving
-- ---------------------------------------------------------------------------

-- The unit tree and its public keys: crates/store/src/units.rs
-- `Store::public_units` (also via `public_unit` and
-- `public_unit_with_ancestors`), which selects these columns only; from
-- crates/intake/src/state.rs `AppState::unit_options` (report form),
-- crates/intake/src/api.rs `units`, crates/filing/src/lib.rs
-- `Filing::validate` / `prepare_received` / `find`,
-- crates/filing/src/rating.rs `Filing::rating_state`; and (id,
-- key_generation) from crates/store/src/unit_keys.rs `keys_still_current`,
-- inside every filing's transaction. Not the wrapped and escrowed private
-- keys (recovery_wrapped_key, escrow_sealed_key), and no UPDATE, so no
-- row locks (`FOR SHARE`) on units either.
GRANT SELECT (id, name, name_en, level, parent_id, public_key, key_generation)
    ON public.units TO sunlight_intake;

-- A new report: crates/filing/src/lib.rs `Filing::file` ->
-- crates/store/src/cases.rs `Store::insert_case_with`: INSERT cases.
-- Reporter look-up: crates/filing/src/lib.rs `Filing::find` / `status_again`
-- -> crates/store/src/reporter.rs `Store::reporter_view` ->
-- crates/store/src/cases.rs `Store::case_by_lookup_key` (whole row by
-- lookup_key) and the merge target (whole row by id);
-- crates/store/src/audit.rs `case_unit` (unit_id by id, from
-- crates/store/src/messages.rs `Store::add_message_at`);
-- crates/store/src/ratings.rs `Store::rate` (whole row by id after its UPDATE;
-- its WHERE reads round, feedback_given, stage, merged_into).
GRANT SELECT, INSERT ON public.cases TO sunlight_intake;
-- crates/store/src/ratings.rs `Store::rate` (version = version + 1) and
-- crates/store/src/messages.rs `resume_on_answer` (version = version + 1,
-- when the reporter answers a stage paused for them); `record_objection`
-- (unread = unread + 1, a rating with an objection). Neither changes the
-- columns the cases_count_update trigger watches, so it does not fire.
GRANT UPDATE (version, unread) ON public.cases TO sunlight_intake;

-- The deferred constraint trigger cases_count_insert (AFTER INSERT ON cases,
-- crates/store/src/migration/register_counts.rs) counts each new case in
-- register_counts at COMMIT of `Store::insert_case_with`. Its function
-- register_count() runs as the schema owner (SECURITY DEFINER with a fixed
-- search_path, migration m20261208_000014_definer), so this role needs no
-- grant on register_counts and cannot read the per-unit counts.

-- crates/store/src/cases.rs `Store::insert_case_with`: the first queue entry
-- (INSERT). crates/store/src/reporter.rs `Store::reporter_view`: the open
-- entry (whole row by open_case_id); crates/store/src/messages.rs
-- `resume_on_answer`: the same read, then the UPDATE below by id.
GRANT SELECT, INSERT ON public.queue_entries TO sunlight_intake;
-- crates/store/src/messages.rs `resume_on_answer`: a reporter's answer to a
-- paused stage moves the deadline back and the sweep to the answer's day.
GRANT UPDATE (due_at, paused_until, next_sweep_at) ON public.queue_entries TO sunlight_intake;

-- A reporter's message: crates/filing/src/lib.rs `Filing::add_message` ->
-- crates/store/src/messages.rs `Store::add_message_at` (INSERT); an
-- objection: crates/store/src/ratings.rs `record_objection` (INSERT).
-- crates/store/src/reporter.rs `Store::reporter_view` ->
-- crates/store/src/messages.rs `Store::messages` (whole rows by case_id).
GRANT SELECT, INSERT ON public.messages TO sunlight_intake;

-- Files with a report or a message: crates/store/src/attachments.rs
-- `insert_all` (from `Store::insert_case_with` and `Store::add_message_at`):
-- INSERT the row, then UPDATE its counts by id with sea-orm's
-- `UpdateOne::exec`, which on PostgreSQL adds RETURNING of every column (so
-- SELECT of every column). crates/store/src/reporter.rs
-- `Store::reporter_view` -> `Store::attachments_of` (whole rows by case_id:
-- the sealed names shown on the status page).
GRANT SELECT, INSERT ON public.attachments TO sunlight_intake;
GRANT UPDATE (chunk_count, sealed_bytes) ON public.attachments TO sunlight_intake;

-- crates/store/src/attachments.rs `insert_all`: the sealed chunks, appended.
-- Intake never reads them back.
GRANT INSERT ON public.attachment_chunks TO sunlight_intake;

-- crates/store/src/reporter.rs `Store::reporter_view` (the reporter-visible
-- history: whole rows by case_id) and crates/store/src/transitions.rs
-- `Store::transitions_of` via crates/store/src/ratings.rs
-- `Store::feedback_given_at` (from crates/filing/src/rating.rs
-- `Filing::rating_state`). Read only.
GRANT SELECT ON public.transitions TO sunlight_intake;

-- crates/filing/src/rating.rs `Filing::rate` -> crates/store/src/ratings.rs
-- `Store::rate` (INSERT) and `Filing::rating_state` -> `Store::rating_of`
-- (whole row by primary key).
GRANT SELECT, INSERT ON public.ratings TO sunlight_intake;

-- An objection opens the re-examination: crates/store/src/ratings.rs
-- `record_objection` -> crates/store/src/tasks.rs `open_task`: INSERT …
-- ON CONFLICT (open_key) DO NOTHING, for which PostgreSQL wants SELECT on
-- the conflict column.
GRANT INSERT ON public.tasks TO sunlight_intake;
GRANT SELECT (open_key) ON public.tasks TO sunlight_intake;

-- Every intake write is audited in its own transaction:
-- crates/store/src/audit.rs `append` (from `Store::insert_case_with`,
-- `Store::add_message_at`, `Store::rate`): pg_advisory_xact_lock, SELECT of
-- the newest entry (whole row, ORDER BY seq DESC LIMIT 1), INSERT of the
-- next. The triggers audit_log_no_change / audit_log_no_truncate
-- (crates/store/src/migration/security.rs) refuse UPDATE, DELETE and
-- TRUNCATE to everyone; intake has none of those privileges anyway.
GRANT SELECT, INSERT ON public.audit_log TO sunlight_intake;

-- The transparency log (crates/store/src/log.rs): every filing and reporter
-- message inserts its leaf in its own transaction (`append_leaf`); the
-- public pages read the heads and the placed leaves to serve proofs
-- (`log_heads`, `log_tree`, `log_index_of`). Placing leaves and signing
-- heads is the sweeper's (triage), so intake cannot UPDATE a leaf.
GRANT SELECT, INSERT ON public.log_leaves TO sunlight_intake;
GRANT SELECT ON public.log_heads TO sunlight_intake;

-- /healthz (crates/intake/src/lib.rs `healthz` -> `Store::ping`) needs no
-- table. The metrics listener reads the database only where triage runs
-- (serve.rs passes the store when triage is on), so never as this role.

-- ---------------------------------------------------------------------------
-- Checks: fail on what must not be, warn on what this file cannot change.
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['staff', 'unit_key_history', 'outbox', 'holds', 'notices',
                             'leases', 'case_counters', 'stat_cells', 'stat_days', 'hotspots',
                             'attachment_chunks', 'register_counts']
    LOOP
        IF to_regclass('public.' || t) IS NOT NULL
           AND has_table_privilege('sunlight_intake', 'public.' || t, 'SELECT') THEN
            RAISE EXCEPTION 'sunlight_intake can read %: a grant to PUBLIC or to a role it belongs to?', t;
        END IF;
    END LOOP;
    IF has_schema_privilege('sunlight_intake', 'public', 'CREATE') THEN
        RAISE WARNING 'sunlight_intake may CREATE in schema public through PUBLIC (PostgreSQL 14 or older): '
            'REVOKE CREATE ON SCHEMA public FROM PUBLIC, once the table owner has CREATE of its own';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m
               JOIN pg_catalog.pg_roles r ON r.oid = m.member
               WHERE r.rolname = 'sunlight_intake') THEN
        RAISE WARNING 'sunlight_intake is a member of other roles: it may hold more than this file grants';
    END IF;
END
$$;

COMMIT;
