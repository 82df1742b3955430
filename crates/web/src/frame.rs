//! The page frame every template extends, and the pieces of forms both
//! apps render the same way.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use sunlight_core::i18n::{Catalog, Lang};

/// What every page's frame needs: the language, its catalog, and the
/// page's own path (for the link to the other language).
#[derive(Debug)]
pub struct Frame {
    pub lang: Lang,
    catalog: &'static Catalog,
    path: String,
}

impl Frame {
    pub fn new(lang: Lang, catalog: &'static Catalog, path: impl Into<String>) -> Self {
        Self {
            lang,
            catalog,
            path: path.into(),
        }
    }

    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalog.get(key)
    }

    /// A vocabulary word (`stage`, `role`, `category`, …) in this language,
    /// or the value itself where the catalog has no such word.
    pub fn word(&self, prefix: &str, value: &str) -> String {
        word(self.catalog, prefix, value)
    }

    /// A link that keeps the language.
    pub fn href(&self, path: &str) -> String {
        // A path that carries a query already gets the language appended.
        let join = if path.contains('?') { '&' } else { '?' };
        format!("{path}{join}lang={}", self.lang.param())
    }

    fn other(&self) -> Lang {
        match self.lang {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }

    pub fn other_lang_href(&self) -> String {
        format!("{}?lang={}", self.path, self.other().param())
    }

    pub fn other_lang_tag(&self) -> &'static str {
        self.other().tag()
    }
}

/// The label of `prefix.value` (a vocabulary word), or the value itself
/// when the catalog has no such word.
pub fn word(catalog: &Catalog, prefix: &str, value: &str) -> String {
    catalog.word(prefix, value)
}

/// One line of a form's error summary; `anchor` is the id of the field to fix.
#[derive(Debug)]
pub struct ErrorLine {
    pub anchor: Option<&'static str>,
    pub text: String,
}

/// A choice of a `<select>`.
#[derive(Debug)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Options of a closed vocabulary, labelled from the catalog.
pub fn vocab_options<T: Copy>(
    catalog: &Catalog,
    prefix: &str,
    all: &[T],
    as_str: fn(T) -> &'static str,
    chosen: &str,
) -> Vec<Opt> {
    all.iter()
        .map(|v| {
            let value = as_str(*v);
            Opt {
                value: value.to_owned(),
                label: word(catalog, prefix, value),
                selected: value == chosen,
            }
        })
        .collect()
}

/// A rendered page, or an opaque 500 (logged once) if the template fails.
pub fn render(status: StatusCode, lang: Lang, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Language", lang.tag()))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_keeps_the_language_whether_or_not_it_has_a_query() {
        let catalog: &'static Catalog = Box::leak(Box::new(Catalog::parse("").unwrap()));
        let frame = Frame::new(Lang::En, catalog, "/log/heads");
        assert_eq!(frame.href("/verify"), "/verify?lang=en");
        assert_eq!(
            frame.href("/log/heads?format=json"),
            "/log/heads?format=json&lang=en"
        );
    }
}
