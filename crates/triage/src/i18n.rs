//! The staff pages' message catalogs (their own words and the casework
//! vocabulary), compiled into the binary, the
//! language of a request, and the translated wording of every error and
//! refusal a page shows. Nothing here echoes what a person typed.

use std::sync::LazyLock;

use sunlight_core::case::Refusal;
use sunlight_core::i18n::{Catalog, CatalogError, Lang};
use sunlight_core::report::{Field, FieldError};
use sunlight_web::{Catalogs, Frame};

pub use sunlight_web::lang_of;

/// The pages' own words joined with the casework vocabulary and mail
/// text: a key in both is refused at start.
static CATALOGS: LazyLock<Result<Catalogs, String>> = LazyLock::new(|| {
    let vocabulary = sunlight_casework::i18n::vocabulary()?;
    Catalogs::parse(
        include_str!("../locales/zh-CN.toml"),
        include_str!("../locales/en.toml"),
    )
    .and_then(|pages| pages.joined(vocabulary))
    .map_err(|e: CatalogError| e.to_string())
});

static EMPTY: LazyLock<Catalog> = LazyLock::new(Catalog::default);

/// Fails at startup, not on a request, if a catalog does not parse.
pub fn check() -> Result<(), String> {
    CATALOGS.as_ref().map(|_| ()).map_err(Clone::clone)
}

pub fn catalog(lang: Lang) -> &'static Catalog {
    CATALOGS.as_ref().map_or(&EMPTY, |c| c.get(lang))
}

/// The frame of a page at `path` in `lang`.
pub fn frame(lang: Lang, path: impl Into<String>) -> Frame {
    Frame::new(lang, catalog(lang), path)
}

/// The label of `prefix.value` (a vocabulary word), or the value itself
/// when the catalog has no such word.
pub fn word(lang: Lang, prefix: &str, value: &str) -> String {
    sunlight_web::word(catalog(lang), prefix, value)
}

/// The label of a report form field.
pub fn field_label(lang: Lang, field: Field) -> &'static str {
    let key = match field {
        Field::Body => "case.reply_body",
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
        Field::Channel => "report.channel",
        Field::ReceivedOn => "intake.received_on",
        Field::PostmarkOn => "intake.postmark_on",
        Field::ReturnAddress => "intake.return_address",
        Field::Attachment => "intake.attachments",
        Field::Code => "report.other_field",
    };
    catalog(lang).get(key)
}

/// "Field: problem", translated.
pub fn field_error(lang: Lang, e: &FieldError) -> String {
    problem_with(lang, field_label(lang, e.field), e)
}

/// "Label: problem", translated, for a field whose label is `label`.
pub fn problem_with(lang: Lang, label: &str, e: &FieldError) -> String {
    let t = catalog(lang);
    let max = e.problem.max().map(|m| m.to_string()).unwrap_or_default();
    let problem = t.format(e.problem.key(), &[("max", &max)]);
    t.format("errors.field", &[("field", label), ("problem", &problem)])
}

/// Why the state machine refused, in the reader's language.
pub fn refusal(lang: Lang, r: &Refusal) -> String {
    let t = catalog(lang);
    let action = |a: sunlight_core::case::ActionKind| word(lang, "action", a.as_str());
    match r {
        Refusal::NotAllowedInStage { action: a, stage } => t.format(
            "refusal.not_allowed_in_stage",
            &[
                ("action", &action(*a)),
                ("stage", &word(lang, "stage", stage.as_str())),
            ],
        ),
        Refusal::AlreadyClosed => t.get("refusal.already_closed").to_owned(),
        Refusal::RoleNotAllowed { action: a, role } => t.format(
            "refusal.role_not_allowed",
            &[
                ("action", &action(*a)),
                ("role", &word(lang, "role", role.as_str())),
            ],
        ),
        Refusal::NotOwner { action: a } => {
            t.format("refusal.not_owner", &[("action", &action(*a))])
        }
        Refusal::AlreadyOwned => t.get("refusal.already_owned").to_owned(),
        Refusal::RecheckBySameStaff => t.get("refusal.recheck_by_same_staff").to_owned(),
        Refusal::MissingOutcome => t.get("refusal.missing_outcome").to_owned(),
        Refusal::MissingDecision => t.get("refusal.missing_decision").to_owned(),
        Refusal::MissingFeedback => t.get("refusal.missing_feedback").to_owned(),
        Refusal::AlreadyExtended => t.get("refusal.already_extended").to_owned(),
        Refusal::ExtensionTooLong { max } => {
            t.format("refusal.extension_too_long", &[("max", &max.to_string())])
        }
        Refusal::EmptyExtension => t.get("refusal.empty_extension").to_owned(),
        Refusal::EmptyText { field } => t.format(
            "refusal.empty_text",
            &[("field", &word(lang, "action_field", field))],
        ),
        Refusal::AlreadyPaused => t.get("refusal.already_paused").to_owned(),
        Refusal::MergeIntoSelf => t.get("refusal.merge_into_self").to_owned(),
        Refusal::MergedCase => t.get("refusal.merged_case").to_owned(),
        Refusal::ReopenTo { .. } => t.get("refusal.reopen_to").to_owned(),
        Refusal::NoReexamination => t.get("refusal.no_reexamination").to_owned(),
        Refusal::NotTheReexaminingUnit => t.get("refusal.not_the_reexamining_unit").to_owned(),
        Refusal::SpecificsAlreadyAsked => t.get("refusal.specifics_already_asked").to_owned(),
        Refusal::KnowinglyFalseByVerifier => {
            t.get("refusal.knowingly_false_by_verifier").to_owned()
        }
        Refusal::NotUnsubstantiated => t.get("refusal.not_unsubstantiated").to_owned(),
        Refusal::AlreadyKnowinglyFalse => t.get("refusal.already_knowingly_false").to_owned(),
    }
}
