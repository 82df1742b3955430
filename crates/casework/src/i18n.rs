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

/// The vocabulary and mail catalogs; fails if one does not parse. The
/// staff app and `sunlight stats refresh` check it before they write mail.
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

    /// Mails are worded from this catalog alone (the staff app's own
    /// words are not joined here), so every key the engine names must be
    /// in it, or a mail would show the raw key.
    #[test]
    fn every_key_the_engine_names_is_in_its_own_catalog() {
        let c = vocabulary().expect("the catalogs parse");
        let sections: Vec<&str> = c
            .get(Lang::En)
            .keys()
            .filter_map(|k| k.split_once('.').map(|(s, _)| s))
            .collect();
        let mut named = Vec::new();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split('"').skip(1).step_by(2) {
                    let Some((section, rest)) = piece.split_once('.') else {
                        continue;
                    };
                    let word = !rest.is_empty()
                        && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                    if ["mail", "hotspot"].contains(&section) && word {
                        named.push(piece.to_owned());
                    }
                }
            }
        }
        assert!(
            named.len() > 15,
            "the scan found the keys ({})",
            named.len()
        );
        assert!(sections.contains(&"mail"));
        for lang in [Lang::ZhCn, Lang::En] {
            let missing: Vec<_> = named.iter().filter(|k| !c.get(lang).has(k)).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }
}
