//! The staff vocabulary (stages, roles, categories, channels, levels,
//! outcomes, hotspot reasons) and the text of the mails staff receive, in
//! both languages, compiled into the binary. The staff app joins its own
//! pages' words to this catalog (`vocabulary`), so a word is written once.

use std::sync::LazyLock;

use sunlight_core::i18n::{Catalog, CatalogError, Catalogs, Lang};

static CATALOGS: LazyLock<Result<Catalogs, CatalogError>> = LazyLock::new(|| {
    Catalogs::parse(
        include_str!("../locales/zh-CN.toml"),
        include_str!("../locales/en.toml"),
    )
});

static EMPTY: LazyLock<Catalog> = LazyLock::new(Catalog::default);

/// The vocabulary and mail catalogs; fails if one does not parse (checked
/// at start by every process that writes mail).
pub fn vocabulary() -> Result<&'static Catalogs, String> {
    CATALOGS.as_ref().map_err(ToString::to_string)
}

pub(crate) fn catalog(lang: Lang) -> &'static Catalog {
    CATALOGS.as_ref().map_or(&EMPTY, |c| c.get(lang))
}

pub(crate) fn word(lang: Lang, prefix: &str, value: &str) -> String {
    catalog(lang).word(prefix, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_words() {
        let c = vocabulary().expect("the catalogs parse");
        let zh: Vec<&str> = c.get(Lang::ZhCn).keys().collect();
        let en: Vec<&str> = c.get(Lang::En).keys().collect();
        assert_eq!(zh, en);
        assert!(zh.contains(&"mail.footer") && zh.contains(&"stage.verify"));
    }
}
