//! Languages and message catalogs. Every string a person reads comes from a
//! catalog (a TOML file per language, nested tables flattened to dotted
//! keys), so templates hold no prose and a translator edits one file.
//!
//! Chinese (zh-CN) is the default; English is chosen by `?lang=en` or by an
//! `Accept-Language` header that prefers it.

use std::collections::BTreeMap;

/// A language the services speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Self; 2] = [Self::ZhCn, Self::En];

    /// The BCP 47 tag, for `<html lang>` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    /// The value of the `lang` query parameter that selects it.
    pub fn param(self) -> &'static str {
        match self {
            Self::ZhCn => "zh",
            Self::En => "en",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Self::ZhCn),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// An explicit choice (`?lang=`) wins; then the highest-weighted
    /// language of `Accept-Language` that we speak; then Chinese.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Self {
        if let Some(lang) = explicit.and_then(Self::from_tag) {
            return lang;
        }
        let mut best: Option<(u16, Self)> = None;
        for item in accept_language.unwrap_or_default().split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Self::from_tag) else {
                continue;
            };
            // q-values have at most three decimals: compare them as integers.
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, parse_q);
            if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

fn parse_q(raw: &str) -> u16 {
    let raw = raw.trim();
    let (int, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let whole: u16 = match int {
        "1" => 1000,
        "0" => 0,
        _ => return 0,
    };
    let mut milli = 0u16;
    let mut scale = 100u16;
    for c in frac.chars().take(3) {
        let Some(d) = c.to_digit(10).and_then(|d| u16::try_from(d).ok()) else {
            return 0;
        };
        milli = milli.saturating_add(d.saturating_mul(scale));
        scale /= 10;
    }
    whole.saturating_add(milli).min(1000)
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid TOML: {0}")]
    Toml(String),
    #[error("catalog key {0:?} is not a string or table")]
    NotText(String),
    #[error("catalog key {0:?} is in two catalogs that are joined")]
    Twice(String),
}

/// One language's messages.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    messages: BTreeMap<String, String>,
}

impl Catalog {
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| CatalogError::Toml(e.message().to_owned()))?;
        let mut messages = BTreeMap::new();
        flatten("", &table, &mut messages)?;
        Ok(Self { messages })
    }

    /// The message for `key`. A missing key shows as `⟦key⟧`, visible on the
    /// page and caught by the catalog tests, rather than failing a request.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.messages.get(key).map_or(key, String::as_str)
    }

    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }

    /// The message with `{name}` placeholders filled in.
    pub fn format(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.get(key).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    /// This catalog and `other` as one; a key in both is an error, so
    /// neither silently hides the other's words.
    pub fn joined(mut self, other: &Catalog) -> Result<Self, CatalogError> {
        for (key, message) in &other.messages {
            if self.messages.insert(key.clone(), message.clone()).is_some() {
                return Err(CatalogError::Twice(key.clone()));
            }
        }
        Ok(self)
    }

    /// The label of `prefix.value` (a vocabulary word), or the value itself
    /// when the catalog has no such word.
    pub fn word(&self, prefix: &str, value: &str) -> String {
        let key = format!("{prefix}.{value}");
        if self.has(&key) {
            self.get(&key).to_owned()
        } else {
            value.to_owned()
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }
}

/// An app's catalogs, one per language. Built once from the TOML compiled
/// into the binary; a catalog that does not parse stops the app at start,
/// never on a request.
#[derive(Debug, Default)]
pub struct Catalogs {
    zh_cn: Catalog,
    en: Catalog,
}

impl Catalogs {
    pub fn parse(zh_cn: &str, en: &str) -> Result<Self, CatalogError> {
        Ok(Self {
            zh_cn: Catalog::parse(zh_cn)?,
            en: Catalog::parse(en)?,
        })
    }

    pub fn get(&self, lang: Lang) -> &Catalog {
        match lang {
            Lang::ZhCn => &self.zh_cn,
            Lang::En => &self.en,
        }
    }

    /// Each language's catalog joined with `other`'s (see `Catalog::joined`).
    pub fn joined(self, other: &Catalogs) -> Result<Self, CatalogError> {
        Ok(Self {
            zh_cn: self.zh_cn.joined(&other.zh_cn)?,
            en: self.en.joined(&other.en)?,
        })
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> Result<(), CatalogError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out)?,
            _ => return Err(CatalogError::NotText(key)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(Lang::negotiate(None, None), Lang::ZhCn);
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh"), Some("en")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(Some("fr"), Some("en-GB")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("fr, en;q=0.5, zh;q=0.8")),
            Lang::ZhCn
        );
        assert_eq!(Lang::negotiate(None, Some("zh;q=0.1, en;q=0.2")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en;q=0")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, Some(";;;,q=x")), Lang::ZhCn);
    }

    #[test]
    fn catalogs_flatten_and_format() {
        let c = Catalog::parse("[a]\nb = \"at most {max} characters\"\ntop = \"x\"").unwrap();
        assert_eq!(c.get("a.b"), "at most {max} characters");
        assert_eq!(c.format("a.b", &[("max", "5")]), "at most 5 characters");
        assert_eq!(c.get("missing.key"), "missing.key");
        assert!(Catalog::parse("a = 1").is_err());
    }

    #[test]
    fn joined_catalogs_hold_both_and_refuse_a_key_in_both() {
        let a = Catalog::parse("[stage]\nverify = \"Verify\"").unwrap();
        let b = Catalog::parse("[login]\ntitle = \"Sign in\"").unwrap();
        let both = a.clone().joined(&b).unwrap();
        assert_eq!(both.get("stage.verify"), "Verify");
        assert_eq!(both.get("login.title"), "Sign in");
        let again = Catalog::parse("[stage]\nverify = \"Check\"").unwrap();
        assert!(matches!(a.joined(&again), Err(CatalogError::Twice(k)) if k == "stage.verify"));
    }
}
