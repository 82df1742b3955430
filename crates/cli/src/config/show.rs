//! `sunlight config show`: the effective configuration, one `key = value`
//! line each, with where the value came from; secrets redacted.

use serde::Serialize;
use serde_json::Value;

use super::{Config, sources};

/// Every key with its effective value, as the file would spell it.
#[derive(Serialize)]
struct Effective<'a> {
    data_dir: &'a std::path::Path,
    database_url: String,
    intake_addr: String,
    triage_addr: String,
    smtp_url: Option<String>,
    policy: &'a str,
    log: &'a str,
    log_format: super::LogFormat,
    calendar_dir: Option<&'a std::path::Path>,
    migrate_on_start: bool,
    pepper_file: &'a std::path::Path,
    metrics_addr: Option<String>,
    intake: &'a sunlight_intake::IntakeSettings,
    triage: &'a sunlight_triage::TriageSettings,
    mail: &'a sunlight_notify::MailSettings,
    stats: &'a sunlight_casework::StatsSettings,
    tor: &'a super::TorSettings,
    backup: &'a super::BackupSettings,
}

/// The lines `config show` prints.
pub fn show(config: &Config) -> Vec<String> {
    let effective = Effective {
        data_dir: &config.data_dir,
        database_url: redact_url(&config.database_url),
        intake_addr: config.intake_addr.to_string(),
        triage_addr: config.triage_addr.to_string(),
        smtp_url: config.smtp_url.as_deref().map(redact_url),
        policy: &config.policy,
        log: &config.log,
        log_format: config.log_format,
        calendar_dir: config.calendar_dir.as_deref(),
        migrate_on_start: config.migrate_on_start,
        pepper_file: &config.pepper_file,
        metrics_addr: config.metrics_addr.map(|a| a.to_string()),
        intake: &config.intake,
        triage: &config.triage,
        mail: &config.mail,
        stats: &config.stats,
        tor: &config.tor,
        backup: &config.backup,
    };
    let mut leaves = Vec::new();
    if let Ok(value) = serde_json::to_value(&effective) {
        flatten("", &value, &mut leaves);
    }
    let mut out: Vec<String> = leaves
        .into_iter()
        .map(|(path, value)| {
            let from =
                if let Some(from) = config.sources.data_dir_from.filter(|_| path == "data_dir") {
                    from.to_owned()
                } else {
                    sources::origin(&config.sources.figment, &path)
                        .unwrap_or_else(|| "default".to_owned())
                };
            format!("{path} = {value}  # {from}")
        })
        .collect();
    for name in &config.sources.ignored {
        out.push(format!(
            "# ignored: {name} is not a configuration key (docs/cli.md#configuration)"
        ));
    }
    out
}

/// `a.b = value` pairs of every leaf; an unset option prints as `""` so
/// that every key is listed.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        Value::Null => out.push((prefix.to_owned(), "\"\"".to_owned())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// Drops any `user:password@` part and the query string (which may carry
/// `password=` or `sslpassword=`) of a URL. The user part ends at the last
/// `@`, even when a password holds an unencoded `?` or `/`; a string that
/// is not `scheme://…` keeps only its scheme.
pub fn redact_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        // A file path: no credentials.
        return url.to_owned();
    }
    let Some(scheme_end) = url.find("://") else {
        let scheme = url.split(':').next().unwrap_or_default();
        return format!("{scheme}:<redacted>");
    };
    let head = url.get(..scheme_end + 3).unwrap_or_default();
    let rest = url.get(scheme_end + 3..).unwrap_or_default();
    let (user, host_and_more) = match rest.rfind('@') {
        Some(at) => ("<redacted>@", rest.get(at + 1..).unwrap_or_default()),
        None => ("", rest),
    };
    let (host, query) = match host_and_more.split_once('?') {
        Some((host, _)) => (host, "?<redacted>"),
        None => (host_and_more, ""),
    };
    format!("{head}{user}{host}{query}")
}
