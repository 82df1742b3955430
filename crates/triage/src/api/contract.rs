//! The staff API's contract: which errors each operation can answer (from
//! the [`Answer`] table), who may call it, the closed vocabularies and the
//! transitions body, added to utoipa's document by `sunlight_web::contract`.

use serde_json::{Value, json};
use sunlight_core::case::ActionKind;
use sunlight_core::i18n::Lang;
use sunlight_core::{AccusedRole, Category, Outcome, Role, SelectionStage, Stage};
use sunlight_web::contract::{Access, Contract, ErrorKind, Operation, Vocabulary, complete};
use utoipa::OpenApi;

use super::ApiDoc;
use crate::error::Answer;
use crate::i18n;

/// The staff API's OpenAPI document, whole; `secure`: served over TLS,
/// where the session cookie carries the `__Host-` prefix.
pub fn document(secure: bool) -> Result<Value, sunlight_web::contract::ContractError> {
    let mut doc = serde_json::to_value(ApiDoc::openapi())
        .map_err(|_| sunlight_web::contract::ContractError::Shape("document"))?;
    transitions_body(&mut doc);
    complete(doc, &contract(secure))
}

use Access::{Public, Session, SessionCsrf};
use Answer::*;

// What the extractors answer before a handler runs: the session (`Staff`),
// the session and CSRF header even for a member who must change the
// password (`AnyStaffWrite`), both for a working member (`StaffWrite`); a
// JSON body; and what any call to the store can meet.
const SESSION: &[Answer] = &[NoSession, PasswordChangeRequired, TotpConfirmationRequired];
const ANY_WRITE: &[Answer] = &[NoSession, Csrf];
const WRITE: &[Answer] = &[
    NoSession,
    Csrf,
    PasswordChangeRequired,
    TotpConfirmationRequired,
];
const JSON: &[Answer] = &[Malformed, UnsupportedMediaType, TooLarge];
const SERVER: &[Answer] = &[Internal, Unavailable];
/// A case named in the path, and what the state machine can refuse.
const CASE: &[Answer] = &[NoSuchCase, Forbidden];
const ACT: &[Answer] = &[
    RefusedForbidden,
    RefusedConflict,
    RefusedInvalid,
    Conflict,
    Invalid,
];
/// A member named in the path, by an admin.
const MEMBER: &[Answer] = &[Forbidden, NotFound, Conflict, Invalid];

/// Every operation: its id (the handler's name), who may call it, and the
/// sets of answers it can give.
const OPERATIONS: &[(&str, Access, &[&[Answer]])] = &[
    (
        "sign_in",
        Public,
        &[&[BadCredentials, Invalid], JSON, SERVER],
    ),
    ("sign_out", SessionCsrf, &[ANY_WRITE, SERVER]),
    (
        "change_password",
        SessionCsrf,
        &[
            ANY_WRITE,
            JSON,
            &[WrongCurrentCredentials, NotFound, Invalid],
            SERVER,
        ],
    ),
    (
        "confirm_totp",
        SessionCsrf,
        &[
            ANY_WRITE,
            JSON,
            &[WrongCurrentCredentials, Conflict, Invalid],
            SERVER,
        ],
    ),
    ("staff_disable", SessionCsrf, &[WRITE, MEMBER, SERVER]),
    ("staff_enable", SessionCsrf, &[WRITE, MEMBER, SERVER]),
    ("staff_reset", SessionCsrf, &[WRITE, MEMBER, SERVER]),
    ("staff_totp_reset", SessionCsrf, &[WRITE, MEMBER, SERVER]),
    (
        "legal_hold",
        SessionCsrf,
        &[WRITE, JSON, CASE, &[Conflict, Invalid], SERVER],
    ),
    (
        "rotate_key",
        SessionCsrf,
        &[WRITE, &[Forbidden, NotFound, Conflict], SERVER],
    ),
    (
        "queue",
        Session,
        &[SESSION, &[Malformed, NotFound, Forbidden, Invalid], SERVER],
    ),
    (
        "register",
        Session,
        &[SESSION, &[Malformed, Forbidden, Invalid], SERVER],
    ),
    ("tasks", Session, &[SESSION, &[Forbidden], SERVER]),
    (
        "search",
        SessionCsrf,
        &[WRITE, JSON, &[Forbidden, Invalid], SERVER],
    ),
    ("claim", SessionCsrf, &[WRITE, CASE, ACT, SERVER]),
    ("case", Session, &[SESSION, CASE, SERVER]),
    ("transition", SessionCsrf, &[WRITE, JSON, CASE, ACT, SERVER]),
    ("message", SessionCsrf, &[WRITE, JSON, CASE, ACT, SERVER]),
    (
        "comment",
        SessionCsrf,
        &[WRITE, JSON, CASE, &[NotFound, Invalid], SERVER],
    ),
    (
        "attachment",
        Session,
        &[SESSION, CASE, &[NotFound, Conflict], SERVER],
    ),
    (
        "confirm_hold",
        SessionCsrf,
        &[WRITE, JSON, CASE, &[NotFound, Conflict, Invalid], SERVER],
    ),
    (
        "intake",
        SessionCsrf,
        &[WRITE, JSON, &[Forbidden, Invalid], SERVER],
    ),
    ("staff_list", Session, &[SESSION, &[Forbidden], SERVER]),
    (
        "staff_add",
        SessionCsrf,
        &[WRITE, JSON, &[Forbidden, Conflict, Invalid], SERVER],
    ),
    ("stats", Session, &[SESSION, SERVER]),
];

fn contract(secure: bool) -> Contract {
    let operations = OPERATIONS
        .iter()
        .map(|(id, access, sets)| {
            let sets: Vec<Vec<ErrorKind>> = sets.iter().map(|set| Answer::errors(set)).collect();
            let sets: Vec<&[ErrorKind]> = sets.iter().map(Vec::as_slice).collect();
            Operation::new(id, *access, &sets)
        })
        .collect();
    let mut error_extras = serde_json::Map::new();
    error_extras.insert(
        "detail".into(),
        json!({"type": "string", "description": "With `invalid`: which value, in English."}),
    );
    Contract {
        session_cookie: Some(crate::cookie::cookie_name(secure)),
        error_extras,
        operations,
        vocabularies: vocabularies(),
    }
}

/// The values and their Chinese terms, from the domain and the catalog.
fn labelled<T: Copy>(
    all: &[T],
    kind: &str,
    wire: fn(T) -> &'static str,
) -> Vec<(&'static str, String)> {
    sunlight_web::contract::labelled(i18n::catalog(Lang::ZhCn), all, kind, wire)
}

fn vocabularies() -> Vec<Vocabulary> {
    let category = labelled(Category::ALL, "category", Category::as_str);
    let role = labelled(Role::ALL, "role", Role::as_str);
    let stage = labelled(Stage::ALL, "stage", Stage::as_str);
    let desk = [
        sunlight_core::Channel::Phone,
        sunlight_core::Channel::Letter,
        sunlight_core::Channel::Visit,
    ];
    let v = |schema, property, values: &Vec<(&'static str, String)>| Vocabulary {
        schema,
        property,
        values: values.clone(),
    };
    vec![
        v("IntakeIn", "category", &category),
        v(
            "IntakeIn",
            "selection_stage",
            &labelled(
                SelectionStage::ALL,
                "selection_stage",
                SelectionStage::as_str,
            ),
        ),
        v(
            "IntakeIn",
            "channel",
            &labelled(&desk, "channel", sunlight_core::Channel::as_str),
        ),
        v(
            "Accused",
            "role",
            &labelled(AccusedRole::ALL, "accused_role", AccusedRole::as_str),
        ),
        v("StaffIn", "role", &role),
        v("StaffOut", "role", &role),
        v("SessionOut", "role", &role),
        v("QueueLine", "category", &category),
        v("QueueLine", "stage", &stage),
        v("StageOut", "stage", &stage),
    ]
}

/// `POST /api/v1/cases/{id}/transitions` takes one of seventeen bodies, told
/// apart by `action`: a `oneOf` with a discriminator, built from every
/// action kind (the match has no wildcard, so a new action needs its body
/// here).
fn transitions_body(doc: &mut Value) {
    let outcome: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    let bodies: Vec<&str> = sunlight_core::ReferralBody::ALL
        .iter()
        .map(|b| b.as_str())
        .collect();
    let text = |what: &str| json!({"type": "string", "minLength": 1, "description": what});
    let variants: Vec<Value> = ActionKind::ALL
        .iter()
        .map(|kind| {
            let (fields, required): (Value, &[&str]) = match kind {
                ActionKind::Route | ActionKind::Claim | ActionKind::Close | ActionKind::Accept => {
                    (json!({}), &[])
                }
                ActionKind::Refer => (
                    json!({"to": {"type": "string", "enum": bodies,
                                  "description": "Where the matter goes (转交): 纪委监委, 信访部门, 公安机关 or another body named in the message."},
                           "message": text("Why, and where to turn: read by the reporter with the code.")}),
                    &["to", "message"],
                ),
                ActionKind::AskSpecifics => (
                    json!({"question": text("What, who, when, where: read by the reporter; asked once.")}),
                    &["question"],
                ),
                ActionKind::KnowinglyFalse => (
                    json!({"reason": text("Why the report was knowingly false (诬告陷害); staff only.")}),
                    &["reason"],
                ),
                ActionKind::Verified | ActionKind::Rechecked => (
                    json!({"outcome": {"type": "string", "enum": outcome}}),
                    &["outcome"],
                ),
                ActionKind::Transfer => (json!({"to": text("The body the case goes to (转办).")}), &["to"]),
                ActionKind::Decided => (json!({"decision": text("What was decided (处理).")}), &["decision"]),
                ActionKind::Extend => (
                    json!({"days": {"type": "integer", "minimum": 1, "maximum": 4294967295_u64},
                           "reason": text("Why the deadline is extended.")}),
                    &["days", "reason"],
                ),
                ActionKind::AskReporter => (json!({"question": text("Read by the reporter with the code.")}), &["question"]),
                ActionKind::Feedback => (json!({"message": text("The result, told to the reporter (反馈).")}), &["message"]),
                ActionKind::Merge => (
                    json!({"into": {"type": "string", "format": "uuid", "description": "The case this one joins."}}),
                    &["into"],
                ),
                ActionKind::Reopen => (
                    json!({"reason": text("Why the closed case is handled again (for staff)."),
                           "to": {"type": "string", "enum": ["verify", "handle"], "default": "verify",
                                  "description": "Back to verification (a new outcome) or to handling (the outcome stands)."}}),
                    &["reason"],
                ),
                ActionKind::Uphold => (
                    json!({"message": text("The re-examination's answer, told to the reporter (复查意见).")}),
                    &["message"],
                ),
            };
            let mut properties = fields.as_object().cloned().unwrap_or_default();
            properties.insert("action".into(), json!({"type": "string", "const": kind.as_str()}));
            properties.insert(
                "note".into(),
                json!({"type": ["string", "null"], "description": "An internal note, sealed to the unit."}),
            );
            let mut required: Vec<&str> = required.to_vec();
            required.push("action");
            json!({"type": "object", "title": kind.as_str(), "required": required, "properties": properties})
        })
        .collect();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            "ActionRequest".into(),
            json!({"oneOf": variants, "discriminator": {"propertyName": "action"}}),
        );
    }
    if let Some(body) = doc.pointer_mut("/paths/~1api~1v1~1cases~1{id}~1transitions/post/requestBody/content/application~1json/schema") {
        *body = json!({"$ref": "#/components/schemas/ActionRequest"});
    }
}
