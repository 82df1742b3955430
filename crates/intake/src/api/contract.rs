//! The public API's contract: which errors each operation can answer (from
//! the [`Answer`] table) and the closed vocabularies, added to utoipa's
//! document by `sunlight_web::contract`.

use serde_json::{Value, json};
use sunlight_core::{AccusedRole, Category, Level, SelectionStage, Stage};
use sunlight_web::contract::{
    self, Access, Contract, ContractError, ErrorKind, Operation, Vocabulary, complete,
};
use utoipa::OpenApi;

use super::ApiDoc;
use crate::error::Answer;
use crate::i18n;

/// The public API's OpenAPI document, whole.
pub fn document() -> Result<Value, ContractError> {
    let doc =
        serde_json::to_value(ApiDoc::openapi()).map_err(|_| ContractError::Shape("document"))?;
    complete(doc, &contract())
}

fn contract() -> Contract {
    use Answer::*;
    // What reading a JSON body can answer (`read_json`), what the rate
    // limits answer (`AppState::admit`), what a tracking code can be
    // (`parse_code`, then the lookup) and what any call to the store meets.
    let json = Answer::errors(&[Malformed, BadEncoding, UnsupportedMediaType, TooLarge]);
    let admitted = Answer::errors(&[RateLimited]);
    let code = Answer::errors(&[CheckDigit, MalformedCode, UnknownCode]);
    let server = Answer::errors(&[Internal, Unavailable]);
    let fields = Answer::errors(&[InvalidFields]);
    let unknown = Answer::errors(&[UnknownCode]);
    let sealed = Answer::errors(&[
        SealedStale,
        SealedMisaddressed,
        SealedMalformed,
        SealingNotOffered,
    ]);
    let offered = Answer::errors(&[SealingNotOffered]);
    let rating = Answer::errors(&[
        InvalidRating,
        RatingNotYet,
        AlreadyRated,
        ObjectionTooLate,
        NoUnitAbove,
    ]);
    let op = |id, sets: &[&[ErrorKind]]| Operation::new(id, Access::Public, sets);
    let error_extras = error_extras();
    Contract {
        session_cookie: None,
        error_extras,
        operations: vec![
            op("create_report", &[&admitted, &json, &fields, &server]),
            op("status", &[&admitted, &json, &code, &server]),
            op("add_message", &[&admitted, &json, &code, &fields, &server]),
            op(
                "rate",
                &[&admitted, &json, &code, &fields, &rating, &server],
            ),
            op("units", &[&server]),
            op("sealing_params", &[&offered, &server]),
            op(
                "sealed_prepare",
                &[&admitted, &json, &fields, &sealed, &server],
            ),
            op(
                "sealed_create",
                &[&admitted, &json, &fields, &sealed, &server],
            ),
            op(
                "sealed_status",
                &[&admitted, &json, &unknown, &sealed, &server],
            ),
            op(
                "sealed_add_message",
                &[&admitted, &json, &unknown, &sealed, &server],
            ),
            op(
                "sealed_rate",
                &[&admitted, &json, &unknown, &sealed, &rating, &server],
            ),
        ]
        .into_iter()
        .chain(log_operations())
        .collect(),
        vocabularies: vocabularies(),
    }
}

/// What `invalid_fields` errors carry besides the code and message.
fn error_extras() -> serde_json::Map<String, Value> {
    let mut extras = serde_json::Map::new();
    extras.insert(
        "fields".into(),
        json!({
            "type": "array",
            "description": "With `invalid_fields`: each field to correct.",
            "items": {
                "type": "object",
                "required": ["field", "problem", "message"],
                "properties": {
                    "field": {"type": "string", "description": "The field, as named in the request (`narrative`, `accused_name`, …)."},
                    "problem": {"description": "What is wrong: `missing`, `unknown_value`, `control_characters`, `not_a_phone_number`, `no_such_unit`, or `{\"too_long\": {\"max\": N}}` / `{\"too_many\": {\"max\": N}}`."},
                    "message": {"type": "string", "description": "The same, for people, in the request's language."},
                },
            },
        }),
    );
    extras
}

/// The transparency log's proofs: a malformed query, or a leaf or size the
/// log does not hold.
fn log_operations() -> Vec<Operation> {
    use Answer::*;
    let refused = Answer::errors(&[Malformed, NotFound]);
    let server = Answer::errors(&[Internal, Unavailable]);
    ["log_proof", "log_consistency"]
        .into_iter()
        .map(|id| Operation::new(id, Access::Public, &[&refused, &server]))
        .collect()
}

/// The values and their Chinese terms, from the domain and the catalog.
fn labelled<T: Copy>(
    all: &[T],
    kind: &str,
    wire: fn(T) -> &'static str,
) -> Vec<(&'static str, String)> {
    contract::labelled(
        i18n::catalog(sunlight_core::i18n::Lang::ZhCn),
        all,
        kind,
        wire,
    )
}

/// The three ratings with their Chinese words (满意度评价).
fn ratings() -> Vec<(&'static str, String)> {
    let t = i18n::catalog(sunlight_core::i18n::Lang::ZhCn);
    sunlight_core::Rating::ALL
        .iter()
        .map(|r| {
            (
                r.as_str(),
                t.get(&format!("status.rating_{}", r.as_str())).to_owned(),
            )
        })
        .collect()
}

fn vocabularies() -> Vec<Vocabulary> {
    let stage = labelled(Stage::ALL, "stage", Stage::as_str);
    let v = |schema, property, values: Vec<(&'static str, String)>| Vocabulary {
        schema,
        property,
        values,
    };
    vec![
        v(
            "ReportRequest",
            "category",
            labelled(Category::ALL, "category", Category::as_str),
        ),
        v(
            "ReportRequest",
            "selection_stage",
            labelled(
                SelectionStage::ALL,
                "selection_stage",
                SelectionStage::as_str,
            ),
        ),
        v(
            "Accused",
            "role",
            labelled(AccusedRole::ALL, "accused_role", AccusedRole::as_str),
        ),
        v("StatusResponse", "stage", stage.clone()),
        v("HistoryOut", "stage", stage),
        v(
            "UnitOut",
            "level",
            labelled(Level::ALL, "level", Level::as_str),
        ),
        v("RatingRequest", "rating", ratings()),
        v("RatingOut", "rating", ratings()),
        v(
            "MessageOut",
            "from",
            vec![
                ("staff", "工作人员".to_owned()),
                ("reporter", "举报人".to_owned()),
            ],
        ),
    ]
}
