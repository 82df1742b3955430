//! Where configuration values come from: the TOML file and `SUNLIGHT_*`
//! variables, layered by figment, which remembers the origin of every value
//! for `sunlight config show` and for error messages.

use std::path::Path;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

/// Variables that are not configuration keys, though they start with
/// `SUNLIGHT_`: handled by clap or by [`super::Config::load`] itself. The
/// test suite's (`SUNLIGHT_TEST_*`, `SUNLIGHT_SCORECARD_*`) are passed over
/// too; any other is reported as ignored.
const NOT_KEYS: &[&str] = &[
    "config",
    "trusted_proxies",
    "shared_peers",
    "onion_location",
];

/// The name of the variable that sets a key path (`intake.rate_limits.x` →
/// `SUNLIGHT_INTAKE__RATE_LIMITS__X`).
pub fn variable_for(path: &[&str]) -> String {
    format!("SUNLIGHT_{}", path.join("__").to_ascii_uppercase())
}

/// `SUNLIGHT_*` variables as a figment provider: `__` separates nesting
/// levels, values are read as figment reads them (numbers, booleans,
/// `[a, b]` arrays, else strings). Empty values count as unset, so a
/// compose file can pass `${X:-}` through. Only variables whose first level
/// is a configuration key (`top_level`) are taken: `SUNLIGHT_DOMAIN`, read
/// by Caddy, or the tests' `SUNLIGHT_TEST_PG_URL` are not ours.
#[derive(Debug, Clone)]
pub struct Variables {
    pairs: Vec<(Vec<String>, String)>,
    ignored: Vec<String>,
}

impl Variables {
    pub fn new(vars: impl IntoIterator<Item = (String, String)>, top_level: &[&str]) -> Self {
        let mut pairs = Vec::new();
        let mut ignored = Vec::new();
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("SUNLIGHT_") else {
                continue;
            };
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            let first = path.first().map(String::as_str).unwrap_or_default();
            if NOT_KEYS.contains(&first)
                || rest.starts_with("TEST_")
                || rest.starts_with("SCORECARD_")
            {
                continue;
            }
            if !top_level.contains(&first) || path.iter().any(String::is_empty) {
                ignored.push(name);
                continue;
            }
            if !value.trim().is_empty() {
                pairs.push((path, value));
            }
        }
        pairs.sort();
        ignored.sort();
        Self { pairs, ignored }
    }

    /// `SUNLIGHT_*` variables that set nothing (for `config show`).
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }
}

fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [leaf] => {
            dict.insert(leaf.clone(), value);
        }
        [head, rest @ ..] => {
            let entry = dict
                .entry(head.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            } else {
                // `SUNLIGHT_MAIL=x` beside `SUNLIGHT_MAIL__FROM=y`: the
                // table wins, and extracting the scalar fails by name.
                let mut inner = Dict::new();
                insert(&mut inner, rest, value);
                *entry = Value::from(inner);
            }
        }
    }
}

impl Provider for Variables {
    fn metadata(&self) -> Metadata {
        Metadata::named("the environment")
            .interpolater(|_: &Profile, keys: &[&str]| variable_for(keys))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (path, raw) in &self.pairs {
            let value = match raw.parse::<Value>() {
                Ok(value) => value,
                Err(never) => match never {},
            };
            insert(&mut dict, path, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// The file (if any) under the variables.
pub fn layered(file: Option<&Path>, variables: &Variables) -> Figment {
    let mut figment = Figment::new();
    if let Some(path) = file {
        figment = figment.merge(Toml::file_exact(path));
    }
    figment.merge(variables.clone())
}

/// Where the value at a dotted key path came from: `file PATH`,
/// `environment SUNLIGHT_…`, or `None` (the built-in default).
pub fn origin(figment: &Figment, path: &str) -> Option<String> {
    let metadata = figment.find_metadata(path)?;
    Some(match &metadata.source {
        Some(source) => format!("file {source}"),
        None => {
            let keys: Vec<&str> = path.split('.').collect();
            format!("environment {}", variable_for(&keys))
        }
    })
}
