//! Typed, layered configuration: built-in defaults, then the TOML file, then
//! `SUNLIGHT_*` environment variables, then command-line flags. Validated
//! once at startup; secrets are redacted in `Debug`.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::Policy;

mod show;
mod sources;

pub use show::{redact_url, show};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "{name} = {value:?} is not a valid address (expected HOST:PORT such as 127.0.0.1:8080)"
    )]
    Addr { name: &'static str, value: String },
    #[error("database URL must start with sqlite:, postgres:// or postgresql:// (got {0:?})")]
    DatabaseUrl(String),
    #[error("SMTP URL must start with smtp:// or smtps://")]
    SmtpUrl,
    #[error("[mail] lang must be zh-CN or en (got {0:?})")]
    MailLang(String),
    #[error("[mail] from {0:?} is not a mail address such as \"Sunlight <sunlight@example.org>\"")]
    MailFrom(String),
    #[error("{0}")]
    Stats(String),
    #[error("onion location must be an http:// or https:// URL of a .onion host")]
    Onion,
    #[error(
        "SUNLIGHT_TRUSTED_PROXIES and SUNLIGHT_SHARED_PEERS must be IP addresses separated by commas (got {0:?})"
    )]
    TrustedProxies(String),
    #[error(
        "[tor] targets: {0:?} is not IP:PORT (Tor forwards only to IP addresses, e.g. 127.0.0.1:8080)"
    )]
    TorTarget(String),
    #[error("{0}")]
    Value(String),
    #[error("log_format must be text or json (got {0:?})")]
    LogFormat(String),
    #[error("[backup] age_recipient is not an age public key (age1…): {0}")]
    AgeRecipient(String),
    #[error("{0}")]
    Calendar(String),
    #[error(
        "policy {0:?} is neither a built-in preset (cn-12380, eu-2019-1937) nor a readable file"
    )]
    Policy(String),
    #[error("suite: {0}")]
    Suite(#[from] sunlight_core::crypto::UnknownSuite),
}

/// The file format: every key optional. Field names are the keys of the
/// file and, in capitals, of the `SUNLIGHT_*` variables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    intake_addr: Option<String>,
    triage_addr: Option<String>,
    smtp_url: Option<String>,
    policy: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    calendar_dir: Option<PathBuf>,
    migrate_on_start: Option<bool>,
    suite: Option<String>,
    pepper_file: Option<PathBuf>,
    metrics_addr: Option<String>,
    #[serde(default)]
    intake: sunlight_intake::IntakeSettings,
    #[serde(default)]
    triage: sunlight_triage::TriageSettings,
    #[serde(default)]
    mail: sunlight_notify::MailSettings,
    #[serde(default)]
    stats: sunlight_casework::StatsSettings,
    #[serde(default)]
    tor: TorSettings,
    #[serde(default)]
    backup: BackupSettings,
}

/// The keys at the top of the file (and the first level of variables).
const TOP_LEVEL: &[&str] = &[
    "data_dir",
    "database_url",
    "intake_addr",
    "triage_addr",
    "smtp_url",
    "policy",
    "log",
    "log_format",
    "calendar_dir",
    "migrate_on_start",
    "suite",
    "pepper_file",
    "metrics_addr",
    "intake",
    "triage",
    "mail",
    "stats",
    "tor",
    "backup",
];

/// `[backup]`: how `sunlight backup` protects its files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    /// An age recipient (`age1…`): backups are encrypted to it and only its
    /// identity file, kept offline, restores them. Unset: plain files.
    pub age_recipient: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines; colour only on a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `[tor]`: the onion service in front of intake (`sunlight torrc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TorSettings {
    /// Tor's folder for the service's keys and `hostname` file.
    pub hidden_service_dir: PathBuf,
    /// The port Tor users connect to on the onion address.
    pub virtual_port: u16,
    /// Intake replicas Tor forwards to (IP:PORT); empty: `intake_addr`.
    pub targets: Vec<String>,
}

impl Default for TorSettings {
    fn default() -> Self {
        Self {
            hidden_service_dir: PathBuf::from("/var/lib/tor/sunlight"),
            virtual_port: 80,
            targets: Vec::new(),
        }
    }
}

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub intake_addr: SocketAddr,
    pub triage_addr: SocketAddr,
    pub smtp_url: Option<String>,
    pub policy: String,
    pub log: String,
    pub log_format: LogFormat,
    /// Operator holiday files (`cn-2027.toml`, …) beside the shipped ones.
    pub calendar_dir: Option<PathBuf>,
    /// Apply pending migrations at start; `false`: only check the schema is
    /// current (a process whose database role may not change the schema).
    pub migrate_on_start: bool,
    /// The cipher suite a new deployment is made in (`init` without
    /// `--suite`, `demo`, the first `serve`); the database records it.
    pub suite: sunlight_core::crypto::Suite,
    /// The deployment pepper (default `data_dir/pepper.key`); replicas on
    /// other hosts or containers point here at one shared secret file.
    pub pepper_file: PathBuf,
    /// The private Prometheus listener; `None`: off.
    pub metrics_addr: Option<SocketAddr>,
    pub intake: sunlight_intake::IntakeSettings,
    pub triage: sunlight_triage::TriageSettings,
    pub mail: sunlight_notify::MailSettings,
    pub stats: sunlight_casework::StatsSettings,
    pub tor: TorSettings,
    pub backup: BackupSettings,
    /// Tor forwards here: `[tor] targets`, or `intake_addr`.
    pub tor_targets: Vec<SocketAddr>,
    /// Where each value came from, for `sunlight config show`.
    pub sources: Sources,
}

/// The layers the configuration was read from.
#[derive(Clone)]
pub struct Sources {
    pub figment: figment::Figment,
    /// `SUNLIGHT_*` variables that set nothing (misspelt keys, or another
    /// program's).
    pub ignored: Vec<String>,
    /// Where `--data-dir` came from, when clap gave one.
    pub data_dir_from: Option<&'static str>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("intake_addr", &self.intake_addr)
            .field("triage_addr", &self.triage_addr)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("policy", &self.policy)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("calendar_dir", &self.calendar_dir)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("suite", &self.suite)
            .field("pepper_file", &self.pepper_file)
            .field("metrics_addr", &self.metrics_addr)
            .field("intake", &self.intake)
            .field("triage", &self.triage)
            .field("mail", &self.mail)
            .field("stats", &self.stats)
            .field("tor", &self.tor)
            .field("backup", &self.backup)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Loads the built-in defaults, then `file` (if given), then the
    /// `SUNLIGHT_*` variables among `vars`, then `data_dir_flag`.
    pub fn load(
        file: Option<&Path>,
        data_dir_flag: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.trim().is_empty())
        };
        if let Some(path) = file {
            // Syntax first, with the line only: the parser's own message
            // quotes the line, which may hold a database password.
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: sunlight_core::calendar::toml_message(&text, &e),
            })?;
        }
        let variables = sources::Variables::new(vars.iter().cloned(), TOP_LEVEL);
        let figment = sources::layered(file, &variables);
        // figment's message names the file or the variable it came from.
        let fc: FileConfig = figment
            .extract()
            .map_err(|e| ConfigError::Value(e.to_string()))?;
        // clap fills `--data-dir` from SUNLIGHT_DATA_DIR too; say which.
        let data_dir_from = data_dir_flag.map(|flag| {
            if env("SUNLIGHT_DATA_DIR").is_some_and(|v| Path::new(&v) == flag) {
                "environment SUNLIGHT_DATA_DIR"
            } else {
                "flag --data-dir"
            }
        });
        let sources = Sources {
            figment,
            ignored: variables.ignored().to_vec(),
            data_dir_from,
        };
        let pick = |from_config: Option<String>, default: &str| -> String {
            from_config
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let data_dir = data_dir_flag
            .map(Path::to_path_buf)
            .or(fc.data_dir)
            .unwrap_or_else(|| PathBuf::from("./sunlight-data"));
        let default_db = format!("sqlite://{}/sunlight.db", data_dir.display());
        let database_url = pick(fc.database_url, &default_db);
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::DatabaseUrl(redact_url(&database_url)));
        }
        let addr = |name: &'static str, value: String| -> Result<SocketAddr, ConfigError> {
            value.parse().map_err(|_| ConfigError::Addr { name, value })
        };
        let intake_addr = addr(
            "SUNLIGHT_INTAKE_ADDR",
            pick(fc.intake_addr, "127.0.0.1:8080"),
        )?;
        let triage_addr = addr(
            "SUNLIGHT_TRIAGE_ADDR",
            pick(fc.triage_addr, "127.0.0.1:8081"),
        )?;
        let smtp_url = fc.smtp_url.filter(|v| !v.is_empty());
        if smtp_url
            .as_deref()
            .is_some_and(|url| !(url.starts_with("smtp://") || url.starts_with("smtps://")))
        {
            return Err(ConfigError::SmtpUrl);
        }
        let pepper_file = fc
            .pepper_file
            .unwrap_or_else(|| data_dir.join("pepper.key"));
        let metrics_addr = fc
            .metrics_addr
            .filter(|v| !v.is_empty())
            .map(|v| addr("SUNLIGHT_METRICS_ADDR", v))
            .transpose()?;
        let tor_targets = if fc.tor.targets.is_empty() {
            vec![intake_addr]
        } else {
            fc.tor
                .targets
                .iter()
                .map(|t| t.parse().map_err(|_| ConfigError::TorTarget(t.clone())))
                .collect::<Result<_, _>>()?
        };
        let policy = pick(fc.policy, "cn-12380");
        let log = pick(fc.log, "info");
        let suite = pick(fc.suite, "modern").parse()?;
        let log_format = match pick(fc.log_format, "text").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(ConfigError::LogFormat(other.to_owned())),
        };
        let mut intake = fc.intake;
        if let Some(list) = env("SUNLIGHT_TRUSTED_PROXIES").filter(|v| !v.trim().is_empty()) {
            intake.trusted_proxies = ip_list(&list)?;
        }
        if let Some(list) = env("SUNLIGHT_SHARED_PEERS").filter(|v| !v.trim().is_empty()) {
            intake.shared_peers = ip_list(&list)?;
        }
        if let Some(onion) = env("SUNLIGHT_ONION_LOCATION").filter(|v| !v.is_empty()) {
            intake.onion_location = Some(onion);
        }
        if intake.onion_location.as_deref() == Some("") {
            intake.onion_location = None;
        }
        if intake.onion_location.as_deref().is_some_and(|o| {
            !(o.starts_with("http://") || o.starts_with("https://")) || !o.contains(".onion")
        }) {
            return Err(ConfigError::Onion);
        }
        let mut mail = fc.mail;
        if !matches!(mail.lang.as_str(), "zh-CN" | "en") {
            return Err(ConfigError::MailLang(mail.lang));
        }
        if !mail.from.contains('@') {
            return Err(ConfigError::MailFrom(mail.from));
        }
        if mail.link_base.is_empty() {
            mail.link_base = format!("http://{triage_addr}");
        }
        fc.stats.check().map_err(ConfigError::Stats)?;
        let config = Self {
            data_dir,
            database_url,
            intake_addr,
            triage_addr,
            smtp_url,
            policy,
            log,
            log_format,
            calendar_dir: fc.calendar_dir.filter(|d| !d.as_os_str().is_empty()),
            migrate_on_start: fc.migrate_on_start.unwrap_or(true),
            suite,
            pepper_file,
            metrics_addr,
            intake,
            triage: fc.triage,
            mail,
            stats: fc.stats,
            tor: fc.tor,
            backup: BackupSettings {
                age_recipient: fc.backup.age_recipient.filter(|r| !r.trim().is_empty()),
            },
            tor_targets,
            sources,
        };
        config.check_backup()?;
        config.deadline_rules()?;
        Ok(config)
    }

    /// The intake's onion origin: `onion_location`, or else the address Tor
    /// wrote into `[tor] hidden_service_dir/hostname` when this process can
    /// read it (all-in-one installs).
    pub fn onion_location(&self) -> Option<String> {
        self.intake.onion_location.clone().or_else(|| {
            let host =
                std::fs::read_to_string(self.tor.hidden_service_dir.join("hostname")).ok()?;
            let host = host.trim();
            (host.ends_with(".onion")
                && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'))
            .then(|| format!("http://{host}"))
        })
    }

    /// The torrc that puts intake behind an onion service (v3), for
    /// `sunlight torrc`. Tor then runs as a client of nobody: no SOCKS port.
    pub fn torrc(&self) -> String {
        let mut out = String::from(
            "# Generated by `sunlight torrc` from the Sunlight configuration.\n\
             # Check with: tor --verify-config -f THIS_FILE\n\
             SocksPort 0\n\
             # Tor's own log: notices only, never connection details.\n\
             Log notice stderr\n\
             SafeLogging 1\n",
        );
        out.push_str(&format!(
            "HiddenServiceDir {}\nHiddenServiceVersion 3\n",
            self.tor.hidden_service_dir.display()
        ));
        // Several lines for one port: Tor picks a target at random per
        // connection, which spreads Tor users over the intake replicas.
        for target in &self.tor_targets {
            out.push_str(&format!(
                "HiddenServicePort {} {target}\n",
                self.tor.virtual_port
            ));
        }
        // Introduction-point flood protection (Tor >= 0.4.2) and a cap on
        // streams per circuit, closing circuits that exceed it.
        // Proof-of-work before introduction (Tor >= 0.4.8): all onion
        // clients reach intake as one address, so per-client fairness
        // cannot tell them apart; under a flood Tor makes each new client
        // solve a puzzle whose cost rises with the load instead.
        out.push_str(
            "HiddenServiceEnableIntroDoSDefense 1\n\
             HiddenServicePoWDefensesEnabled 1\n\
             HiddenServiceMaxStreams 64\n\
             HiddenServiceMaxStreamsCloseCircuit 1\n",
        );
        out
    }

    /// How the sweeper words and links its mails.
    pub fn mail_style(&self) -> sunlight_casework::MailStyle {
        sunlight_casework::MailStyle {
            lang: if self.mail.lang == "en" {
                sunlight_core::i18n::Lang::En
            } else {
                sunlight_core::i18n::Lang::ZhCn
            },
            link_base: self.mail.link_base.clone(),
        }
    }

    /// The deadline policy and the calendar it names: a built-in preset
    /// name, or a path to a policy file.
    pub fn deadline_rules(&self) -> Result<(Policy, Calendar), ConfigError> {
        let policy = match Policy::preset(&self.policy) {
            Ok(p) => p,
            Err(_) if Path::new(&self.policy).is_file() => {
                let text =
                    std::fs::read_to_string(&self.policy).map_err(|source| ConfigError::Read {
                        path: PathBuf::from(&self.policy),
                        source,
                    })?;
                Policy::from_toml(&text).map_err(|e| ConfigError::Parse {
                    path: PathBuf::from(&self.policy),
                    message: e.to_string(),
                })?
            }
            Err(_) => return Err(ConfigError::Policy(self.policy.clone())),
        };
        let calendar = self.calendar(&policy, &BTreeSet::new())?;
        Ok((policy, calendar))
    }

    /// The policy's shipped calendar and the operator's files in
    /// `calendar_dir`, except the year files of `skip` (the calendar as it
    /// was before those were added). Each operator file must be named
    /// `FAMILY-YEAR.toml` (`cn-2027.toml`) and hold that year.
    pub fn calendar(&self, policy: &Policy, skip: &BTreeSet<i32>) -> Result<Calendar, ConfigError> {
        let family = policy.calendar_name();
        let operator = self.operator_calendar_files(family)?;
        // An operator file for a year a release also ships wins over it
        // (it may be a correction), so an upgrade never refuses to start.
        let shipped_skip: BTreeSet<i32> = skip
            .iter()
            .copied()
            .chain(operator.iter().map(|(year, _)| *year))
            .collect();
        let mut calendar = Calendar::builtin_except(family, &shipped_skip)
            .map_err(|e| ConfigError::Calendar(e.to_string()))?;
        for (year, path) in operator {
            if skip.contains(&year) {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::Calendar(format!("{}: {e}", path.display())))?;
            let shown = path.display().to_string();
            calendar
                .add_toml(&shown, &text)
                .map_err(|e| ConfigError::Calendar(e.to_string()))?;
            if !calendar.has_year(year) {
                return Err(ConfigError::Calendar(format!(
                    "{shown}: the file's name says {year} but its `year` is another"
                )));
            }
        }
        Ok(calendar)
    }

    /// The operator's holiday files in `calendar_dir`, by year: every
    /// `*.toml` file, which must be named `FAMILY-YEAR.toml`; other files
    /// (an editor's backup, a README) are passed over.
    fn operator_calendar_files(&self, family: &str) -> Result<Vec<(i32, PathBuf)>, ConfigError> {
        let Some(dir) = &self.calendar_dir else {
            return Ok(Vec::new());
        };
        let read_dir = |e: std::io::Error| {
            ConfigError::Calendar(format!("calendar_dir {}: {e}", dir.display()))
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_dir)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(read_dir)?;
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with('.') || !name.ends_with(".toml") || !path.is_file() {
                continue;
            }
            let year = name
                .strip_prefix(family)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|rest| rest.strip_suffix(".toml"))
                .and_then(|year| year.parse::<i32>().ok())
                .ok_or_else(|| {
                    ConfigError::Calendar(format!(
                        "{}: calendar files are named {family}-YEAR.toml (e.g. {family}-2027.toml)",
                        path.display()
                    ))
                })?;
            out.push((year, path));
        }
        Ok(out)
    }

    /// The age recipient, if any, must parse before any backup runs.
    fn check_backup(&self) -> Result<(), ConfigError> {
        if let Some(text) = &self.backup.age_recipient {
            text.trim()
                .parse::<age::x25519::Recipient>()
                .map_err(|e| ConfigError::AgeRecipient(e.to_string()))?;
        }
        Ok(())
    }
}

/// Addresses separated by commas (`SUNLIGHT_TRUSTED_PROXIES`,
/// `SUNLIGHT_SHARED_PEERS`).
fn ip_list(list: &str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| a.parse::<std::net::IpAddr>())
        .collect::<Result<_, _>>()
        .map_err(|_| ConfigError::TrustedProxies(list.to_owned()))
}

#[cfg(test)]
mod tests;
