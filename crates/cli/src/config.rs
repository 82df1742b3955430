//! Typed, layered configuration: built-in defaults, then the TOML file, then
//! `SUNLIGHT_*` environment variables, then command-line flags. Validated
//! once at startup; secrets are redacted in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::Policy;

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
    #[error(
        "policy {0:?} is neither a built-in preset (cn-12380, eu-2019-1937) nor a readable file"
    )]
    Policy(String),
}

/// The file format: every key optional.
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
}

/// `[tor]`: the onion service in front of intake (`sunlight torrc`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
    /// Tor forwards here: `[tor] targets`, or `intake_addr`.
    pub tor_targets: Vec<SocketAddr>,
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
            .field("pepper_file", &self.pepper_file)
            .field("metrics_addr", &self.metrics_addr)
            .field("intake", &self.intake)
            .field("triage", &self.triage)
            .field("mail", &self.mail)
            .field("stats", &self.stats)
            .field("tor", &self.tor)
            .finish()
    }
}

/// Drops any `user:password@` part and the query string (which may carry
/// `password=` or `sslpassword=`) of a URL.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, _)) => (base, "?<redacted>"),
        None => (url, ""),
    };
    match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let head = base.get(..scheme + 3).unwrap_or_default();
            let tail = base.get(at + 1..).unwrap_or_default();
            format!("{head}<redacted>@{tail}{query}")
        }
        _ => format!("{base}{query}"),
    }
}

impl Config {
    /// Loads from `file` (if given), then `env`, then `data_dir_flag`.
    pub fn load(
        file: Option<&Path>,
        data_dir_flag: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let fc = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.message().to_owned(),
                })?
            }
            None => FileConfig::default(),
        };
        let pick = |var: &str, from_file: Option<String>, default: &str| -> String {
            env(var)
                .filter(|v| !v.is_empty())
                .or(from_file)
                .unwrap_or_else(|| default.to_owned())
        };
        let data_dir = data_dir_flag
            .map(Path::to_path_buf)
            .or_else(|| {
                env("SUNLIGHT_DATA_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or(fc.data_dir)
            .unwrap_or_else(|| PathBuf::from("./sunlight-data"));
        let default_db = format!("sqlite://{}/sunlight.db", data_dir.display());
        let database_url = pick("SUNLIGHT_DATABASE_URL", fc.database_url, &default_db);
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
            pick("SUNLIGHT_INTAKE_ADDR", fc.intake_addr, "127.0.0.1:8080"),
        )?;
        let triage_addr = addr(
            "SUNLIGHT_TRIAGE_ADDR",
            pick("SUNLIGHT_TRIAGE_ADDR", fc.triage_addr, "127.0.0.1:8081"),
        )?;
        let smtp_url = env("SUNLIGHT_SMTP_URL")
            .filter(|v| !v.is_empty())
            .or(fc.smtp_url);
        if smtp_url
            .as_deref()
            .is_some_and(|url| !(url.starts_with("smtp://") || url.starts_with("smtps://")))
        {
            return Err(ConfigError::SmtpUrl);
        }
        let pepper_file = env("SUNLIGHT_PEPPER_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or(fc.pepper_file)
            .unwrap_or_else(|| data_dir.join("pepper.key"));
        let metrics_addr = env("SUNLIGHT_METRICS_ADDR")
            .filter(|v| !v.is_empty())
            .or(fc.metrics_addr)
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
        let policy = pick("SUNLIGHT_POLICY", fc.policy, "cn-12380");
        let log = pick("SUNLIGHT_LOG", fc.log, "info");
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
            pepper_file,
            metrics_addr,
            intake,
            triage: fc.triage,
            mail,
            stats: fc.stats,
            tor: fc.tor,
            tor_targets,
        };
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
        let calendar =
            Calendar::builtin(policy.calendar_name()).map_err(|e| ConfigError::Parse {
                path: PathBuf::from(&self.policy),
                message: e.to_string(),
            })?;
        Ok((policy, calendar))
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
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_follow_interfaces_md() {
        let c = Config::load(None, None, env_of(&[])).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./sunlight-data"));
        assert_eq!(c.database_url, "sqlite://./sunlight-data/sunlight.db");
        assert_eq!(c.intake_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.triage_addr.to_string(), "127.0.0.1:8081");
        assert_eq!(c.policy, "cn-12380");
        assert_eq!(c.log, "info");
        assert!(c.smtp_url.is_none());
    }

    #[test]
    fn environment_overrides_file_and_flag_overrides_environment() {
        let dir = std::env::temp_dir().join(format!("sunlight-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sunlight.toml");
        std::fs::write(
            &file,
            "intake_addr = \"0.0.0.0:9000\"\npolicy = \"eu-2019-1937\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            Some(Path::new("/srv/x")),
            env_of(&[
                ("SUNLIGHT_DATA_DIR", "/env"),
                ("SUNLIGHT_POLICY", "cn-12380"),
            ]),
        )
        .unwrap();
        assert_eq!(c.intake_addr.to_string(), "0.0.0.0:9000");
        assert_eq!(c.policy, "cn-12380");
        assert_eq!(c.data_dir, PathBuf::from("/srv/x"));
        assert_eq!(c.database_url, "sqlite:///srv/x/sunlight.db");

        std::fs::write(&file, "intake_adr = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), None, env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("intake_adr"), "{err}");
    }

    #[test]
    fn bad_values_are_named_and_secrets_redacted() {
        let err =
            Config::load(None, None, env_of(&[("SUNLIGHT_INTAKE_ADDR", "localhost")])).unwrap_err();
        assert!(err.to_string().contains("SUNLIGHT_INTAKE_ADDR"));
        assert!(
            Config::load(
                None,
                None,
                env_of(&[("SUNLIGHT_DATABASE_URL", "mysql://x")])
            )
            .is_err()
        );
        assert!(Config::load(None, None, env_of(&[("SUNLIGHT_POLICY", "nope")])).is_err());
        let dir = std::env::temp_dir().join(format!("sunlight-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("policy.toml");
        std::fs::write(
            &file,
            "preset = \"cn-12380\"\n[deadlines]\nverify = { calendar_days = 0 }\n",
        )
        .unwrap();
        let err = Config::load(
            None,
            None,
            env_of(&[("SUNLIGHT_POLICY", file.to_str().unwrap())]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("policy.toml"), "{err}");
        let c = Config::load(
            None,
            None,
            env_of(&[
                ("SUNLIGHT_DATABASE_URL", "postgres://u:hunter2@db/s"),
                ("SUNLIGHT_SMTP_URL", "smtps://m:pw123@mail:465"),
            ]),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("pw123"),
            "{shown}"
        );
    }

    #[test]
    fn the_example_config_in_deploy_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/sunlight.example.toml");
        let c = Config::load(Some(&path), None, env_of(&[])).unwrap();
        assert_eq!(c.policy, "cn-12380");
        // The example documents the defaults.
        assert_eq!(c.intake.limits, sunlight_core::report::Limits::default());
        assert_eq!(c.intake.rate_limits, sunlight_intake::RateLimits::default());
        let t = sunlight_triage::TriageSettings::default();
        assert_eq!(
            (
                c.triage.session_idle_minutes,
                c.triage.session_absolute_hours,
                c.triage.secure_cookies,
                c.triage.route_every_seconds,
                c.triage.workers,
                &c.triage.second_factor_roles
            ),
            (
                t.session_idle_minutes,
                t.session_absolute_hours,
                t.secure_cookies,
                t.route_every_seconds,
                t.workers,
                &t.second_factor_roles
            )
        );
    }
}
