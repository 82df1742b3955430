//! The intake side's message catalogs, compiled into the binary, and the
//! language of a request.

use std::sync::LazyLock;

use sunlight_core::i18n::{Catalog, CatalogError, Lang};
use sunlight_core::report::{Field, FieldError, Limits};
use sunlight_web::{Catalogs, Frame};

pub use sunlight_web::{lang_of, size_limit};

static CATALOGS: LazyLock<Result<Catalogs, CatalogError>> = LazyLock::new(|| {
    Catalogs::parse(
        include_str!("../locales/zh-CN.toml"),
        include_str!("../locales/en.toml"),
    )
});

static EMPTY: LazyLock<Catalog> = LazyLock::new(Catalog::default);

/// Fails at startup, not on a request, if a catalog does not parse.
pub fn check() -> Result<(), String> {
    CATALOGS.as_ref().map(|_| ()).map_err(ToString::to_string)
}

pub fn catalog(lang: Lang) -> &'static Catalog {
    CATALOGS.as_ref().map_or(&EMPTY, |c| c.get(lang))
}

/// The frame of a page at `path` in `lang`.
pub fn frame(lang: Lang, path: impl Into<String>) -> Frame {
    Frame::new(lang, catalog(lang), path)
}

/// The label of a form field, as the form shows it.
pub fn field_label(lang: Lang, field: Field) -> &'static str {
    let key = match field {
        Field::Body => "status.reply_body",
        Field::Code => "status.code",
        Field::Unit => "report.unit",
        Field::Category => "report.category",
        Field::AccusedName => "report.accused_name",
        Field::AccusedPosition => "report.accused_position",
        Field::AccusedRole => "report.accused_role",
        Field::SelectionStage => "report.selection_stage",
        Field::Narrative => "report.narrative",
        Field::RealName => "report.real_name",
        Field::ReporterName => "report.reporter_name",
        Field::ReporterPhone => "report.reporter_phone",
        Field::Attachment
        | Field::Channel
        | Field::ReceivedOn
        | Field::PostmarkOn
        | Field::ReturnAddress => "report.attachment",
    };
    catalog(lang).get(key)
}

/// "Field: problem", translated.
pub fn field_error(lang: Lang, e: &FieldError) -> String {
    let t = catalog(lang);
    let max = e.problem.max().map(|m| m.to_string()).unwrap_or_default();
    let problem = t.format(e.problem.key(), &[("max", &max)]);
    t.format(
        "errors.field",
        &[("field", field_label(lang, e.field)), ("problem", &problem)],
    )
}

pub fn too_large(lang: Lang, limits: &Limits) -> String {
    catalog(lang).format(
        "errors.too_large",
        &[
            ("count", &limits.attachments.to_string()),
            ("size", &size_limit(limits.attachment_bytes)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_receipt_finding_is_worded_in_both_languages() {
        for lang in [Lang::ZhCn, Lang::En] {
            for key in sunlight_core::log::FINDINGS {
                let key = format!("verify.detail_{key}");
                assert!(catalog(lang).has(&key), "{lang:?}: {key}");
            }
        }
    }
}
