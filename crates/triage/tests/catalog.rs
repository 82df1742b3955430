//! The staff pages' message catalogs (with the casework vocabulary): both languages have exactly the same
//! keys, and every key a template, the code or a vocabulary needs exists.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeSet;
use std::path::Path;

use sunlight_core::case::ActionKind;
use sunlight_core::i18n::Catalog;
use sunlight_core::report::Problem;
use sunlight_core::{AccusedRole, Category, Channel, Level, Outcome, Role, SelectionStage, Stage};

/// The staff app's catalog: its pages' words joined with the casework
/// vocabulary and mail text, as the app builds it.
fn catalog(name: &str) -> Catalog {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |dir: &str| {
        Catalog::parse(&std::fs::read_to_string(root.join(dir).join(name)).unwrap()).unwrap()
    };
    read("locales")
        .joined(&read("../casework/locales"))
        .unwrap()
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

/// Every string literal `"section.key"` whose section is one of the
/// catalog's: what `t("…")`, `get("…")`, `format("…")` and the error
/// mappings refer to.
fn literal_keys(text: &str, sections: &BTreeSet<String>, out: &mut BTreeSet<String>) {
    for (i, piece) in text.split('"').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let Some((section, rest)) = piece.split_once('.') else {
            continue;
        };
        let word =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        // Template and export file names and audit action names are not
        // keys.
        let not_key = matches!(rest, "html" | "txt")
            || matches!(
                piece,
                "case.read"
                    | "session.close"
                    | "search.run"
                    | "case.merge_candidates"
                    | "case.export"
                    | "case.exported"
                    | "case.not_sealed_to_unit"
            );
        if sections.contains(section) && word(rest) && !not_key {
            out.insert(piece.to_owned());
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
    let zh = catalog("zh-CN.toml");
    let sections: BTreeSet<String> = zh
        .keys()
        .filter_map(|k| k.split_once('.').map(|(s, _)| s.to_owned()))
        .collect();
    let mut texts = Vec::new();
    files(&root.join("templates"), &mut texts);
    // The shared templates (sunlight-web) are this app's pages too.
    files(&root.join("../web/templates"), &mut texts);
    files(&root.join("src"), &mut texts);
    // …and so are the engine's mails and the words they use.
    files(&root.join("../casework/src"), &mut texts);
    let mut used = BTreeSet::new();
    for text in &texts {
        literal_keys(text, &sections, &mut used);
    }
    assert!(used.len() > 150, "the scan found the keys ({})", used.len());
    let words: [(&str, Vec<&str>); 10] = [
        ("stage", Stage::ALL.iter().map(|v| v.as_str()).collect()),
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
        ("channel", Channel::ALL.iter().map(|v| v.as_str()).collect()),
        ("role", Role::ALL.iter().map(|v| v.as_str()).collect()),
        ("level", Level::ALL.iter().map(|v| v.as_str()).collect()),
        ("outcome", Outcome::ALL.iter().map(|v| v.as_str()).collect()),
        (
            "action",
            ActionKind::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "event",
            vec![
                "routed",
                "claimed",
                "verified",
                "hold_lifted",
                "transferred",
                "rechecked",
                "decided",
                "extended",
                "reporter_asked",
                "feedback_given",
                "closed",
                "merged",
                "reopened",
                "upheld",
            ],
        ),
    ];
    for (prefix, values) in words {
        for v in values {
            used.insert(format!("{prefix}.{v}"));
        }
    }
    for p in [
        Problem::Missing,
        Problem::TooLong { max: 1 },
        Problem::UnknownValue,
        Problem::ControlCharacters,
        Problem::NotAPhoneNumber,
        Problem::TooMany { max: 1 },
        Problem::NoSuchUnit,
    ] {
        used.insert(p.key().to_owned());
    }
    // Texts the state machine asks for by field name.
    for f in ["to", "decision", "reason", "question", "message"] {
        used.insert(format!("action_field.{f}"));
    }
    for code in ["you", "other", "none"] {
        used.insert(format!("owner.{code}"));
    }
    for name in ["zh-CN.toml", "en.toml"] {
        let c = catalog(name);
        let missing: Vec<_> = used.iter().filter(|k| !c.has(k)).collect();
        assert!(missing.is_empty(), "{name} lacks {missing:?}");
    }
}
