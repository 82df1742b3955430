//! The message catalogs: both languages have exactly the same keys, and
//! every key a template, the code or a vocabulary needs exists.

#![expect(
    clippy::unwrap_used,
    clippy::string_slice,
    reason = "tests fail loudly"
)]

use std::collections::BTreeSet;
use std::path::Path;

use sunlight_core::i18n::Catalog;
use sunlight_core::{AccusedRole, Category, SelectionStage, Stage};

fn catalog(name: &str) -> Catalog {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(name);
    Catalog::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// String literals that follow `marker` in `text`, e.g. `t("site.name")`.
fn literal_keys(text: &str, marker: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        rest = &rest[at + marker.len()..];
        if let Some(end) = rest.find('"') {
            let key = &rest[..end];
            if key.contains('.') && !key.contains('{') && !key.contains(' ') {
                out.insert(key.to_owned());
            }
        }
    }
}

fn files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(std::fs::read_to_string(path).unwrap());
        }
    }
}

#[test]
fn both_languages_have_the_same_keys() {
    let zh: BTreeSet<_> = catalog("zh-CN.toml").keys().map(str::to_owned).collect();
    let en: BTreeSet<_> = catalog("en.toml").keys().map(str::to_owned).collect();
    assert_eq!(
        zh.difference(&en).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "only in zh-CN"
    );
    assert_eq!(
        en.difference(&zh).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "only in en"
    );
}

#[test]
fn every_key_in_use_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    // The shared templates (sunlight-web) are this app's pages too; a key
    // they take from a `{% let … = "…" %}` counts as used.
    let mut templates = Vec::new();
    files(&root.join("templates"), &mut templates);
    files(&root.join("../web/templates"), &mut templates);
    files(&root.join("src"), &mut texts);
    let mut used = BTreeSet::new();
    for text in &templates {
        literal_keys(text, "= \"", &mut used);
    }
    texts.extend(templates);
    for text in &texts {
        for marker in ["t(\"", ".get(\"", ".format(\"", "format(\n            \""] {
            literal_keys(text, marker, &mut used);
        }
    }
    assert!(used.len() > 60, "the scan found the keys ({})", used.len());
    for (prefix, values) in [
        (
            "stage",
            Stage::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        ),
        (
            "category",
            Category::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "accused_role",
            AccusedRole::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "selection_stage",
            SelectionStage::ALL.iter().map(|v| v.as_str()).collect(),
        ),
    ] {
        for v in values {
            used.insert(format!("{prefix}.{v}"));
        }
    }
    for p in [
        "missing",
        "too_long",
        "unknown_value",
        "control_characters",
        "not_a_phone_number",
        "too_many",
        "no_such_unit",
    ] {
        used.insert(format!("problem.{p}"));
    }
    for name in ["zh-CN.toml", "en.toml"] {
        let c = catalog(name);
        let missing: Vec<_> = used.iter().filter(|k| !c.has(k)).collect();
        assert!(missing.is_empty(), "{name} lacks {missing:?}");
    }
}
