//! The API contract: what utoipa's macros leave out of an app's OpenAPI
//! document, added from the app's own code so that it cannot be written
//! twice or drift. Every error answer an operation can give comes from the
//! app's error enum (its [`error_kinds!`] table), grouped by status, with
//! the codes each status carries as an `enum`; the session cookie and the
//! CSRF header become security schemes applied per operation; the `lang`
//! query parameter every route reads is declared on every operation.
//!
//! [`complete`] refuses a document whose operations and table disagree, a
//! response without a description and an error status written by hand in a
//! path macro: each app's unit test builds its document, so such a slip
//! fails the build's tests instead of reaching an integrator.

use serde_json::{Map, Value, json};

/// One kind of error answer: its HTTP status, the stable `error.code` of
/// the body and what it means, for the document's reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorKind {
    pub status: u16,
    pub code: &'static str,
    pub meaning: &'static str,
}

/// Declares a fieldless enum of an app's error answers with its table:
/// `ALL` (every kind, by construction), and each kind's [`ErrorKind`].
/// The app's error maps each variant to one of these kinds with a match
/// that has no wildcard, so a new variant cannot answer with a status or
/// code that the documents do not know.
#[macro_export]
macro_rules! error_kinds {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = ($status:literal, $code:literal, $meaning:literal)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every kind, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The status, code and meaning of each of `kinds`.
            pub fn errors(kinds: &[Self]) -> Vec<$crate::contract::ErrorKind> {
                kinds.iter().map(|k| k.error()).collect()
            }

            /// The status, code and meaning of this kind.
            pub const fn error(self) -> $crate::contract::ErrorKind {
                match self {
                    $(Self::$variant => $crate::contract::ErrorKind {
                        status: $status,
                        code: $code,
                        meaning: $meaning,
                    }),+
                }
            }
        }
    };
}

/// What an operation needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the public intake API, staff sign-in).
    Public,
    /// A staff session cookie (reads).
    Session,
    /// A staff session cookie and its `X-CSRF-Token` (every state change).
    SessionCsrf,
}

/// One operation of a document: its `operationId`, who may call it and
/// every error it can answer with.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: &'static str,
    pub access: Access,
    pub errors: Vec<ErrorKind>,
}

impl Operation {
    pub fn new(id: &'static str, access: Access, errors: &[&[ErrorKind]]) -> Self {
        let mut all: Vec<ErrorKind> = errors.iter().flat_map(|e| e.iter().copied()).collect();
        all.sort_by_key(|e| (e.status, e.code));
        all.dedup();
        Self {
            id,
            access,
            errors: all,
        }
    }
}

/// How an app's documents are completed.
#[derive(Debug, Clone)]
pub struct Contract {
    /// The session cookie's name (needed for `Access::Session*`).
    pub session_cookie: Option<&'static str>,
    /// Properties of the `error` object besides `code` and `message`
    /// (JSON Schema), which some errors add.
    pub error_extras: Map<String, Value>,
    pub operations: Vec<Operation>,
    /// Closed vocabularies sent as strings, declared as `enum`s.
    pub vocabularies: Vec<Vocabulary>,
}

/// A string property of a component schema whose values are closed: the
/// values from the domain's own list, each with its label (for example the
/// Chinese term) in the description.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub schema: &'static str,
    pub property: &'static str,
    pub values: Vec<(&'static str, String)>,
}

/// A vocabulary's values (`wire` of each of `all`), each labelled with
/// its word under `kind` in `catalog` (the Chinese term, for the zh-CN
/// catalog).
pub fn labelled<T: Copy>(
    catalog: &sunlight_core::i18n::Catalog,
    all: &[T],
    kind: &str,
    wire: fn(T) -> &'static str,
) -> Vec<(&'static str, String)> {
    all.iter()
        .map(|v| (wire(*v), catalog.word(kind, wire(*v))))
        .collect()
}

/// Why a document and its app's table disagree.
#[derive(Debug, PartialEq, Eq)]
pub enum ContractError {
    /// An operation in the document has no row in the table.
    Undeclared(String),
    /// A row of the table names no operation of the document.
    Unknown(&'static str),
    /// A response without a description (OpenAPI requires one).
    NoDescription(String),
    /// An error status written in a path macro instead of the table.
    HandWritten(String),
    /// Not an object where the document must have one.
    Shape(&'static str),
    /// A vocabulary for a schema or property the document does not have.
    NoProperty(&'static str, &'static str),
}

impl std::fmt::Display for ContractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Undeclared(op) => write!(f, "operation {op} has no row in the error table"),
            Self::Unknown(op) => write!(f, "the error table names {op}, which is no operation"),
            Self::NoDescription(at) => write!(f, "response {at} has no description"),
            Self::HandWritten(at) => {
                write!(
                    f,
                    "error response {at} is written by hand; declare it in the table"
                )
            }
            Self::Shape(what) => write!(f, "the document's {what} is not an object"),
            Self::NoProperty(schema, property) => {
                write!(f, "schema {schema} has no property {property}")
            }
        }
    }
}

impl std::error::Error for ContractError {}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Adds what the macros leave out to `doc` (an OpenAPI 3.1 document as
/// JSON): error responses, security, the `lang` parameter.
pub fn complete(mut doc: Value, contract: &Contract) -> Result<Value, ContractError> {
    let mut seen = Vec::new();
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or(ContractError::Shape("paths"))?;
    for (path, item) in paths.iter_mut() {
        let item = item
            .as_object_mut()
            .ok_or(ContractError::Shape("path item"))?;
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let row = contract
                .operations
                .iter()
                .find(|o| o.id == id)
                .ok_or_else(|| ContractError::Undeclared(format!("{method} {path} ({id})")))?;
            seen.push(row.id);
            complete_operation(op, row, &format!("{method} {path}"))?;
        }
    }
    if let Some(row) = contract.operations.iter().find(|o| !seen.contains(&o.id)) {
        return Err(ContractError::Unknown(row.id));
    }
    let components = doc
        .as_object_mut()
        .ok_or(ContractError::Shape("document"))?
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or(ContractError::Shape("components"))?;
    if let Some(cookie) = contract.session_cookie {
        components.insert("securitySchemes".into(), security_schemes(cookie));
    }
    components
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or(ContractError::Shape("schemas"))?
        .insert("Error".into(), error_schema(contract));
    for vocabulary in &contract.vocabularies {
        declare_values(&mut doc, vocabulary)?;
    }
    Ok(doc)
}

/// Turns a string property into an `enum` of the vocabulary's values
/// (with `null` too where the property may be null).
fn declare_values(doc: &mut Value, v: &Vocabulary) -> Result<(), ContractError> {
    let property = doc
        .pointer_mut(&format!(
            "/components/schemas/{}/properties/{}",
            v.schema, v.property
        ))
        .and_then(Value::as_object_mut)
        .ok_or(ContractError::NoProperty(v.schema, v.property))?;
    let nullable = property
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|types| types.contains(&json!("null")));
    let mut values: Vec<Value> = v.values.iter().map(|(value, _)| json!(value)).collect();
    if nullable {
        values.push(Value::Null);
    }
    let labels: Vec<String> = v
        .values
        .iter()
        .map(|(value, label)| format!("`{value}` {label}"))
        .collect();
    let described = match property.get("description").and_then(Value::as_str) {
        Some(text) => format!("{text}\n\n{}", labels.join("; ")),
        None => labels.join("; "),
    };
    // A serde default ("" for a missing field, refused as a field error
    // like the form's) is no value of the vocabulary.
    property.remove("default");
    property.insert("enum".into(), Value::Array(values));
    property.insert("description".into(), json!(described));
    Ok(())
}

fn complete_operation(
    op: &mut Map<String, Value>,
    row: &Operation,
    at: &str,
) -> Result<(), ContractError> {
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or(ContractError::Shape("responses"))?;
    for (status, response) in responses.iter() {
        if status.starts_with('4') || status.starts_with('5') {
            return Err(ContractError::HandWritten(format!("{at} {status}")));
        }
        if response
            .get("description")
            .and_then(Value::as_str)
            .is_none()
        {
            return Err(ContractError::NoDescription(format!("{at} {status}")));
        }
    }
    let mut statuses: Vec<u16> = row.errors.iter().map(|e| e.status).collect();
    statuses.dedup();
    for status in statuses {
        let kinds: Vec<&ErrorKind> = row.errors.iter().filter(|e| e.status == status).collect();
        responses.insert(status.to_string(), error_response(&kinds));
    }
    let parameters = op
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or(ContractError::Shape("parameters"))?;
    if !parameters
        .iter()
        .any(|p| p.get("name") == Some(&json!("lang")))
    {
        parameters.push(lang_parameter());
    }
    let security = match row.access {
        Access::Public => None,
        Access::Session => Some(json!([{"session": []}])),
        Access::SessionCsrf => Some(json!([{"session": [], "csrf": []}])),
    };
    if let Some(security) = security {
        op.insert("security".into(), security);
    }
    Ok(())
}

/// One status's answer: the shared `Error` body, its code narrowed to the
/// codes this status carries for this operation.
fn error_response(kinds: &[&ErrorKind]) -> Value {
    let codes: Vec<&str> = kinds.iter().map(|k| k.code).collect();
    let lines: Vec<String> = kinds
        .iter()
        .map(|k| format!("`{}`: {}", k.code, k.meaning))
        .collect();
    json!({
        "description": lines.join("; "),
        "headers": {"Content-Language": {"description": "The language of `error.message`.", "schema": {"type": "string", "enum": ["zh-CN", "en"]}}},
        "content": {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Error"},
            {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
        ]}}},
    })
}

/// The error body every failed call answers with, `{"error": {"code",
/// "message", …}}`, with every code of the app.
fn error_schema(contract: &Contract) -> Value {
    let mut codes: Vec<&str> = contract
        .operations
        .iter()
        .flat_map(|o| o.errors.iter().map(|e| e.code))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mut error = Map::new();
    error.insert(
        "code".into(),
        json!({"type": "string", "enum": codes, "description": "Stable, for programs; each response lists the codes of its status."}),
    );
    error.insert(
        "message".into(),
        json!({"type": "string", "description": "For people, in the request's language (`lang` or Accept-Language); never repeats what was sent."}),
    );
    error.extend(contract.error_extras.clone());
    json!({
        "type": "object",
        "required": ["error"],
        "additionalProperties": false,
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": false,
            "properties": error,
        }},
    })
}

fn lang_parameter() -> Value {
    json!({
        "name": "lang",
        "in": "query",
        "required": false,
        "description": "The language of messages: `zh-CN` or `en`. Any other value, or none, falls back to Accept-Language, then to zh-CN.",
        "schema": {"type": "string"},
    })
}

fn security_schemes(cookie: &str) -> Value {
    json!({
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": cookie,
            "description": "The session cookie set by POST /api/v1/session (named `__Host-sunlight_staff` when the app is served over TLS).",
        },
        "csrf": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRF-Token",
            "description": "The `csrf_token` returned at sign-in; every state change carries it.",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::error_kinds! {
        enum Kind {
            Missing = (404, "not_found", "nothing here"),
            Gone = (404, "gone", "it went"),
            Broken = (500, "internal", "our fault"),
        }
    }

    fn doc() -> Value {
        json!({"openapi": "3.1.0", "paths": {
            "/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}},
            "/b/{id}": {"post": {"operationId": "b", "responses": {"201": {"description": "made"}}}},
        }})
    }

    fn contract(ops: Vec<Operation>) -> Contract {
        Contract {
            session_cookie: Some("sid"),
            error_extras: Map::new(),
            operations: ops,
            vocabularies: Vec::new(),
        }
    }

    fn both() -> Vec<Operation> {
        vec![
            Operation::new("a", Access::Public, &[&Kind::errors(Kind::ALL)]),
            Operation::new("b", Access::SessionCsrf, &[&Kind::errors(&[Kind::Broken])]),
        ]
    }

    #[test]
    fn errors_are_grouped_by_status_with_their_codes() {
        let done = complete(doc(), &contract(both())).unwrap();
        let a = &done["paths"]["/a"]["get"];
        let schema = &a["responses"]["404"]["content"]["application/json"]["schema"]["allOf"];
        assert_eq!(schema[0]["$ref"], "#/components/schemas/Error");
        let codes = &schema[1]["properties"]["error"]["properties"]["code"]["enum"];
        assert_eq!(codes, &json!(["gone", "not_found"]));
        let all = &done["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
            ["enum"];
        assert_eq!(all, &json!(["gone", "internal", "not_found"]));
        assert!(a["responses"]["500"].is_object());
        assert!(a.get("security").is_none());
        assert_eq!(a["parameters"][0]["name"], "lang");
        let b = &done["paths"]["/b/{id}"]["post"];
        assert_eq!(b["security"], json!([{"session": [], "csrf": []}]));
        assert!(b["responses"].get("404").is_none());
        assert_eq!(
            done["components"]["securitySchemes"]["session"]["name"],
            "sid"
        );
    }

    #[test]
    fn a_vocabulary_becomes_an_enum_with_its_labels() {
        let mut d = doc();
        d["components"] = json!({"schemas": {"In": {"properties": {
            "kind": {"type": "string", "description": "What."},
            "maybe": {"type": ["string", "null"]},
        }}}});
        let mut c = contract(both());
        let values = vec![("a", "甲".to_owned()), ("b", "乙".to_owned())];
        for property in ["kind", "maybe"] {
            c.vocabularies.push(Vocabulary {
                schema: "In",
                property,
                values: values.clone(),
            });
        }
        let done = complete(d.clone(), &c).unwrap();
        let props = &done["components"]["schemas"]["In"]["properties"];
        assert_eq!(props["kind"]["enum"], json!(["a", "b"]));
        assert_eq!(props["kind"]["description"], "What.\n\n`a` 甲; `b` 乙");
        assert_eq!(props["maybe"]["enum"], json!(["a", "b", null]));
        c.vocabularies[0].property = "absent";
        assert_eq!(
            complete(d, &c).unwrap_err(),
            ContractError::NoProperty("In", "absent")
        );
    }

    #[test]
    fn a_document_and_a_table_that_disagree_are_refused() {
        let only_a = vec![both().remove(0)];
        assert_eq!(
            complete(doc(), &contract(only_a)).unwrap_err(),
            ContractError::Undeclared("post /b/{id} (b)".into())
        );
        let mut extra = both();
        extra.push(Operation::new("c", Access::Public, &[]));
        assert_eq!(
            complete(doc(), &contract(extra)).unwrap_err(),
            ContractError::Unknown("c")
        );
        let mut by_hand = doc();
        by_hand["paths"]["/a"]["get"]["responses"]["404"] = json!({"description": "no"});
        assert!(matches!(
            complete(by_hand, &contract(both())),
            Err(ContractError::HandWritten(_))
        ));
        let mut bare = doc();
        bare["paths"]["/a"]["get"]["responses"]["200"] = json!({});
        assert!(matches!(
            complete(bare, &contract(both())),
            Err(ContractError::NoDescription(_))
        ));
    }
}
