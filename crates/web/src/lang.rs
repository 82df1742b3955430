//! The language of a request and the message catalogs compiled into an app.

use actix_web::HttpRequest;
use sunlight_core::i18n::{Catalog, CatalogError, Lang};

/// `?lang=` wins over `Accept-Language`; Chinese by default.
pub fn lang_of(req: &HttpRequest) -> Lang {
    let explicit = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="));
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::negotiate(explicit, accept)
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
}
