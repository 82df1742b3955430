//! `sunlight`: the one binary. Parses the command line and configuration,
//! wires the crates together and runs one subcommand.

mod backup;
mod bench;
mod commands;
mod config;
mod reveal;
mod secrets;
mod simulate;
mod units_file;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sunlight",
    version,
    about = "Sunlight: an anonymous reporting service for cadre-selection violations (12380)",
    after_help = ENVIRONMENT
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "SUNLIGHT_CONFIG", value_parser = clap::builder::OsStringValueParser::new())]
    config: Option<std::ffi::OsString>,
    /// Data folder (database, pepper, mail files).
    #[arg(long, global = true, env = "SUNLIGHT_DATA_DIR", value_parser = clap::builder::OsStringValueParser::new())]
    data_dir: Option<std::ffi::OsString>,
    #[command(subcommand)]
    command: Command,
}

/// The variables `--help` lists (docs/cli.md#configuration has them all).
const ENVIRONMENT: &str = "\
Environment (each overrides the configuration file; empty means unset):
  SUNLIGHT_CONFIG, SUNLIGHT_DATA_DIR    as --config and --data-dir
  SUNLIGHT_DATABASE_URL                 sqlite://DATA_DIR/sunlight.db, or postgres://…
  SUNLIGHT_INTAKE_ADDR                  127.0.0.1:8080
  SUNLIGHT_TRIAGE_ADDR                  127.0.0.1:8081
  SUNLIGHT_SMTP_URL                     unset: mail kept as .eml files
  SUNLIGHT_POLICY                       cn-12380, eu-2019-1937 or a policy file
  SUNLIGHT_LOG                          info (a tracing filter)
  SUNLIGHT_LOG_FORMAT                   text or json
  SUNLIGHT_CALENDAR_DIR                 folder of operator holiday files (cn-2027.toml)
  SUNLIGHT_MIGRATE_ON_START             true; false: only check the schema
  SUNLIGHT_PEPPER_FILE                  DATA_DIR/pepper.key
  SUNLIGHT_METRICS_ADDR                 unset: no metrics listener
  SUNLIGHT_TRUSTED_PROXIES, SUNLIGHT_SHARED_PEERS, SUNLIGHT_ONION_LOCATION
  SUNLIGHT_<SECTION>__<KEY>             any key of the file, e.g.
                                        SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST=50
`sunlight config show` prints every value and where it came from.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run intake and triage in one process.
    Serve,
    /// Run the public intake side only.
    Intake,
    /// Run the staff triage side only.
    Triage,
    /// Create the data folder and database, the root unit and an admin.
    Init {
        #[arg(long, default_value = "province")]
        unit_id: String,
        #[arg(long, default_value = "省委组织部")]
        unit_name: String,
        #[arg(long, default_value = "admin@example.org")]
        admin_email: String,
        /// The cipher suite for new material: `modern` (X25519,
        /// ChaCha20-Poly1305, SHA-256) or `shangmi` (SM2, SM4-GCM, SM3).
        /// Default: the `suite` setting, itself `modern` by default.
        #[arg(long)]
        suite: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage units.
    Unit {
        #[command(subcommand)]
        action: UnitCommand,
    },
    /// Manage staff.
    Staff {
        #[command(subcommand)]
        action: StaffCommand,
    },
    /// Fill an empty data folder with a demo hierarchy and one login per role and unit.
    Demo,
    /// Show the deployment's cipher suite, or move new material to another
    /// (`sunlight suite move shangmi`); then rotate each unit's key.
    Suite {
        #[command(subcommand)]
        action: Option<SuiteCommand>,
    },
    /// Measure Argon2id and sealing costs on this machine.
    Bench {
        /// Repetitions per measurement (the median is reported).
        #[arg(long, default_value_t = 15)]
        runs: usize,
        /// Also seed this many open cases into a fresh database and measure
        /// queue listings and claims (0: skip).
        #[arg(long, default_value_t = 0)]
        queue_cases: u64,
        /// Database for the queue benchmark (default: a temporary SQLite
        /// file). Use an empty PostgreSQL database to measure PostgreSQL.
        #[arg(long)]
        bench_database_url: Option<String>,
        /// Also deliver `--mails` mails to this SMTP server and time it.
        #[arg(long)]
        smtp_url: Option<String>,
        #[arg(long, default_value_t = 2000)]
        mails: u64,
        /// Also seed this many case histories (about 70 % closed) over two
        /// years and time the statistics refresh, dashboard and bulletin (0: skip).
        #[arg(long, default_value_t = 0)]
        stats_cases: u64,
        /// Also seed this many sealed reports (each size in turn, on one
        /// database) and time a search of them all (0: skip).
        #[arg(long, value_delimiter = ',', default_value = "0")]
        search_cases: Vec<u64>,
        /// Also submit reports and look them up over HTTP for this many
        /// seconds per row, against an in-process intake (0: skip).
        #[arg(long, default_value_t = 0.0)]
        http_seconds: f64,
        /// Concurrent connections of the HTTP rows.
        #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
        http_clients: Vec<usize>,
        /// Every part at a tiny size, for CI: shows the harness still
        /// works, not how fast anything is.
        #[arg(long)]
        smoke: bool,
    },
    /// Run the real triage engine (routing, queues, sweeper, outbox) over a
    /// virtual year with a model of staff behaviour; print what happened to
    /// every report and write a chart of open and overdue cases.
    Simulate {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 10_000)]
        reports: u32,
        /// First day (local), YYYY-MM-DD.
        #[arg(long, default_value = "2026-01-01")]
        start: chrono::NaiveDate,
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Virtual minutes between sweeper passes.
        #[arg(long, default_value_t = 60)]
        sweep_minutes: u32,
        /// Share of due work each staff member acts on per working day.
        #[arg(long, default_value_t = 0.7)]
        share: f64,
        /// Units that go idle for --idle-weeks at a random time.
        #[arg(long, default_value_t = 3)]
        idle_units: u32,
        #[arg(long, default_value_t = 6)]
        idle_weeks: u32,
        /// Nobody acts at all: shows that every report is still escalated.
        #[arg(long)]
        all_idle: bool,
        /// Where to write the SVG chart.
        #[arg(long, default_value = "simulation.svg")]
        chart: PathBuf,
        /// An empty database to run on (default: a temporary SQLite file).
        #[arg(long)]
        sim_database_url: Option<String>,
    },
    /// Write a consistent copy of the database to FILE while the service
    /// runs, with a progress bar, and check it (integrity, audit chain).
    /// SQLite: VACUUM INTO; PostgreSQL: pg_dump --format=custom. The pepper
    /// file is never included: keep it apart (docs/operations.md).
    /// With `[backup] age_recipient` set, the file is encrypted to it.
    Backup {
        /// A new file, or a folder: then `sunlight-YYYY-MM-DD.backup`
        /// (`.backup.age` when encrypted) inside it.
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup into an empty data folder (SQLite) or an empty
    /// database (PostgreSQL), check it, and install the pepper file.
    Restore {
        #[arg(long)]
        from: PathBuf,
        /// The deployment's pepper file, kept apart from backups.
        #[arg(long)]
        pepper: Option<PathBuf>,
        /// The age identity file that decrypts an encrypted backup.
        #[arg(long)]
        identity: Option<PathBuf>,
    },
    /// Print the torrc that publishes intake as a Tor onion service.
    Torrc,
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Statistics commands.
    Stats {
        #[command(subcommand)]
        action: StatsCommand,
    },
    /// The effective configuration.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Holiday calendars.
    Calendar {
        #[command(subcommand)]
        action: CalendarCommand,
    },
    /// Exit 0 when the running service answers its `/healthz` (for
    /// container health checks; the image has no curl).
    Healthcheck {
        #[arg(value_enum, default_value = "intake")]
        side: Side,
    },
    /// The retention rule (the policy's `retention_months`).
    Retention {
        #[command(subcommand)]
        action: RetentionCommand,
    },
    /// The transparency log of filings.
    Log {
        #[command(subcommand)]
        action: LogCommand,
    },
    /// Filing receipts.
    Receipt {
        #[command(subcommand)]
        action: ReceiptCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Sign and publish a head now, covering every leaf so far (the sweeper
    /// also publishes one at least daily).
    Publish,
    /// Recompute the log from its stored leaves and check every published
    /// head and every filing's leaf against its sealed material.
    Verify,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReceiptCommand {
    /// Check a filing receipt: the promise's signature and, with --url,
    /// that the first head published after it includes the leaf and that
    /// every head is consistent with the one before.
    Verify {
        file: std::path::PathBuf,
        /// The deployment's public intake address, e.g. https://12380.example.gov.cn
        #[arg(long)]
        url: Option<String>,
    },
}

/// Which side a health check asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Side {
    Intake,
    Triage,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every key's effective value and where it came from (default,
    /// file, environment variable or flag); secrets redacted.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// List, for every year an open deadline reaches, whether an official
    /// holiday file is loaded; exit 1 when one is missing (deadlines in
    /// that year use the provisional calendar).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Purge the sealed content of closed cases past their retention period
    /// and not under legal hold (what triage does once a day); with
    /// `--dry-run`, only list them.
    Run {
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Refresh the figures now, publish the bulletin and judge hotspots
    /// (what triage does every `[stats] refresh_minutes`).
    Refresh,
}

#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Create a unit and its key pair, escrowed to its parent; prints its
    /// recovery key once (a root always gets one).
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// The name shown on English pages.
        #[arg(long)]
        name_en: Option<String>,
        #[arg(long, value_parser = level_parser())]
        level: sunlight_core::Level,
        #[arg(long)]
        parent: Option<String>,
        /// No recovery key of its own: the unit above recovers it.
        #[arg(long)]
        no_recovery_key: bool,
    },
    /// Create a whole unit tree from a TOML or CSV file in one transaction;
    /// refuses the whole file on any error, naming the line. Units that
    /// exist unchanged are skipped.
    Import {
        file: std::path::PathBuf,
        /// Recovery keys only for new roots: the units below are recovered
        /// through the escrow to their parents.
        #[arg(long)]
        no_recovery_key: bool,
    },
    /// Replace a unit's key pair. Reads a recovery key (the unit's own or
    /// one of a unit above it) from standard input. New reports seal to
    /// the new key; enabled members get it, disabled ones never do.
    RotateKey {
        #[arg(long)]
        unit: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SuiteCommand {
    /// Make new keys (units, members, reporters) in `SUITE` from now on.
    /// What was sealed before keeps opening; a unit's reports move to the
    /// new suite once its key is rotated (`sunlight unit rotate-key`).
    Move { suite: String },
    /// How new staff passwords are stretched: `argon2id` (the default) or
    /// `pbkdf2-sm3` (PBKDF2-HMAC-SM3, 600,000 rounds; shangmi only), the
    /// fallback an assessor may ask for. Existing passwords keep theirs
    /// until changed or reset.
    Passwords { kdf: String },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff member; reads a recovery key from standard input: the
    /// unit's own or that of any unit above it.
    Add {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = role_parser())]
        role: sunlight_core::Role,
    },
    /// Give the staff material of UNIT and the units below it that was
    /// written before tags existed (an upgraded deployment) its unit's
    /// tag, once; reads a recovery key from standard input: UNIT's own or
    /// that of a unit above it. Run it right after the upgrade: it vouches
    /// for the database as it stands.
    Reauthenticate {
        #[arg(long)]
        unit: String,
        /// Run again although a run is in the audit log (it vouches for
        /// whatever untagged rows were written since).
        #[arg(long)]
        force: bool,
    },
    /// Rotate a member out: no more sign-in or mail; kept in the audit
    /// trail. Open sessions end at their idle or absolute limit, or at once
    /// when triage restarts.
    Disable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; the last line is `head SEQ HASH`.
    Verify {
        /// `SEQ:HASH` from an earlier run (or the daily audit-head mail):
        /// fail unless that entry is still there with that hash, so a log
        /// cut back to before it is caught.
        #[arg(long, value_name = "SEQ:HASH")]
        expect: Option<String>,
    },
}

/// `--role`: the values listed in `--help`; any other exits 2.
fn role_parser() -> impl clap::builder::TypedValueParser<Value = sunlight_core::Role> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(sunlight_core::Role::ALL.iter().map(|r| r.as_str()))
        .try_map(|name| {
            sunlight_core::Role::ALL
                .iter()
                .copied()
                .find(|r| r.as_str() == name)
                .ok_or("not a role")
        })
}

/// `--level`: the values listed in `--help`; any other exits 2.
fn level_parser() -> impl clap::builder::TypedValueParser<Value = sunlight_core::Level> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(sunlight_core::Level::ALL.iter().map(|l| l.as_str()))
        .try_map(|name| {
            sunlight_core::Level::ALL
                .iter()
                .copied()
                .find(|l| l.as_str() == name)
                .ok_or("not a level")
        })
}

/// The simulation's thread and SQLite's worker thread hand every statement
/// back and forth; on one CPU that is a cheap switch, across two it costs
/// an inter-processor wake-up each time (measured: 2.7 times slower).
/// Threads started later (the database worker) inherit the mask.
fn pin_to_one_cpu() {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let me = Pid::from_raw(0);
    let Ok(allowed) = sched_getaffinity(me) else {
        return;
    };
    let Some(first) = (0..CpuSet::count()).find(|&c| allowed.is_set(c).unwrap_or(false)) else {
        return;
    };
    let mut one = CpuSet::new();
    if one.set(first).is_ok() && sched_setaffinity(me, &one).is_err() {
        // Not pinned: the simulation is only slower.
    }
}

/// The operator's log filter, with actix's HTTP parser kept quiet: it
/// writes an ERROR line for every request it cannot parse (a NUL in a
/// header, say), so any client could fill the log at will. The parser
/// answers those requests 400 before any app code runs; an operator who
/// wants the lines names the target in `log`.
fn log_filter(log: &str) -> tracing_subscriber::EnvFilter {
    const PARSER: &str = "actix_http::h1::dispatcher";
    let spec = if log.contains(PARSER) {
        log.to_owned()
    } else {
        format!("{log},{PARSER}=off")
    };
    tracing_subscriber::EnvFilter::try_new(&spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("info,{PARSER}=off")))
}

/// Log lines go to standard error: text (colour only on a terminal, so the
/// journal gets none) or one JSON object per line.
fn start_logging(config: &config::Config) {
    use std::io::IsTerminal;
    let filter = log_filter(&config.log);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        config::LogFormat::Json => builder.json().with_ansi(false).init(),
        config::LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // An empty variable counts as unset, as for every other setting.
    let given =
        |value: Option<std::ffi::OsString>| value.filter(|v| !v.is_empty()).map(PathBuf::from);
    let (config_file, data_dir) = (given(cli.config), given(cli.data_dir));
    let config = match config::Config::load(
        config_file.as_deref(),
        data_dir.as_deref(),
        std::env::vars(),
    ) {
        Ok(c) => c,
        Err(e) => return commands::fail(&format!("configuration: {e}")),
    };
    start_logging(&config);
    // Names only, never values: a misspelt key would otherwise pass
    // silently (an unencrypted backup, SQLite instead of PostgreSQL).
    for name in &config.sources.ignored {
        tracing::warn!(
            variable = %name,
            "not a configuration key, ignored (see `sunlight config show`)"
        );
    }
    // The simulation is one sequential loop over the database: on one
    // thread it spends its time working, not waking worker threads (the
    // multi-threaded runtime tripled its time in futex calls).
    let mut builder = if matches!(cli.command, Command::Simulate { .. }) {
        pin_to_one_cpu();
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return commands::fail(&format!("cannot start runtime: {e}")),
    };
    runtime.block_on(commands::run(cli.command, config))
}
