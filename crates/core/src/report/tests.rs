use super::*;

fn good() -> ReportDraft {
    ReportDraft {
        unit: "gd-gz".into(),
        category: "office_trading".into(),
        accused_name: "张三".into(),
        accused_position: "副局长".into(),
        accused_role: "ordinary".into(),
        selection_stage: "inspection".into(),
        narrative: "第一段\n第二段".into(),
        real_name: false,
        reporter_name: String::new(),
        reporter_phone: String::new(),
    }
}

#[test]
fn a_complete_draft_validates_and_keeps_paragraphs() {
    let v = good().validate(Channel::Web, &Limits::default()).unwrap();
    assert_eq!(v.unit.as_str(), "gd-gz");
    assert_eq!(v.category, Category::OfficeTrading);
    assert_eq!(v.content.narrative, "第一段\n第二段");
    assert_eq!(v.content.reporter_name, None);
}

#[test]
fn every_problem_is_reported_at_once_in_form_order() {
    let mut draft = ReportDraft::default();
    draft.unit = "Not A Slug".into();
    draft.category = "bogus".into();
    draft.accused_name = " ".into();
    draft.selection_stage = "inspection".into();
    draft.narrative = "a\u{0}b".into();
    draft.real_name = true;
    draft.reporter_phone = "call me".into();
    let errs = draft
        .validate(Channel::Web, &Limits::default())
        .unwrap_err();
    let got: Vec<_> = errs.iter().map(|e| (e.field, e.problem)).collect();
    assert_eq!(
        got,
        vec![
            (Field::Unit, Problem::NoSuchUnit),
            (Field::Category, Problem::UnknownValue),
            (Field::AccusedName, Problem::Missing),
            (Field::AccusedRole, Problem::Missing),
            (Field::Narrative, Problem::ControlCharacters),
            (Field::ReporterName, Problem::Missing),
            (Field::ReporterPhone, Problem::NotAPhoneNumber),
        ]
    );
}

#[test]
fn limits_count_characters_not_bytes() {
    let limits = Limits {
        narrative_chars: 3,
        ..Limits::default()
    };
    let mut d = good();
    d.narrative = "举报人".into();
    assert!(d.validate(Channel::Web, &limits).is_ok());
    d.narrative = "举报人啊".into();
    assert_eq!(
        d.validate(Channel::Web, &limits).unwrap_err(),
        vec![FieldError {
            field: Field::Narrative,
            problem: Problem::TooLong { max: 3 }
        }]
    );
}

#[test]
fn single_line_fields_refuse_line_breaks() {
    let mut d = good();
    d.accused_name = "张\n三".into();
    let errs = d.validate(Channel::Web, &Limits::default()).unwrap_err();
    assert_eq!(errs.first().map(|e| e.field), Some(Field::AccusedName));
}

#[test]
fn padding_hides_length_within_a_kibibyte_and_decodes() {
    let short = encode_padded(
        &good()
            .validate(Channel::Web, &Limits::default())
            .unwrap()
            .content,
    )
    .unwrap();
    let mut d = good();
    d.narrative = "x".repeat(600);
    let longer = encode_padded(
        &d.validate(Channel::Web, &Limits::default())
            .unwrap()
            .content,
    )
    .unwrap();
    assert_eq!(short.len(), 1024);
    assert_eq!(longer.len(), 1024);
    let back: ReportContent = decode_padded(&longer).unwrap();
    assert_eq!(back.narrative.len(), 600);
}

#[test]
fn file_names_lose_paths_and_hidden_dots() {
    let l = Limits::default();
    assert_eq!(
        clean_file_name(Some("C:\\Users\\me\\证据.pdf"), &l),
        "证据.pdf"
    );
    assert_eq!(clean_file_name(Some("../../etc/passwd"), &l), "passwd");
    assert_eq!(clean_file_name(Some(".htaccess"), &l), "htaccess");
    assert_eq!(clean_file_name(Some("a\u{0}b"), &l), "ab");
    // A right-to-left override would show this as "Minutesexe.pdf".
    assert_eq!(
        clean_file_name(Some("Minutes\u{202E}fdp.exe"), &l),
        "Minutesfdp.exe"
    );
    for c in [
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{200E}',
        '\u{200F}',
        '\u{200B}',
        '\u{061C}',
        '\u{FEFF}',
        '\u{E0041}',
        '\u{00AD}',
    ] {
        assert_eq!(
            clean_file_name(Some(&format!("a{c}b.pdf")), &l),
            "ab.pdf",
            "{c:?}"
        );
    }
    assert_eq!(clean_file_name(Some("\u{202E}"), &l), "attachment");
    // Names stored before the filter lose them when shown.
    assert_eq!(
        without_format_chars("Minutes\u{202E}fdp.exe"),
        "Minutesfdp.exe"
    );
    // Letters of right-to-left scripts stay: only the invisible go.
    assert_eq!(clean_file_name(Some("تقرير.pdf"), &l), "تقرير.pdf");
    assert_eq!(clean_file_name(None, &l), "attachment");
    assert_eq!(clean_file_name(Some("/"), &l), "attachment");
}

#[test]
fn messages_are_bounded_and_required() {
    let l = Limits {
        message_chars: 5,
        ..Limits::default()
    };
    assert!(validate_message("hello", &l).is_ok());
    assert_eq!(
        validate_message("  ", &l).unwrap_err().problem,
        Problem::Missing
    );
    assert_eq!(
        validate_message("hello!", &l).unwrap_err().problem,
        Problem::TooLong { max: 5 }
    );
}
