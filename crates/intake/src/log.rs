//! The transparency log, public side: the signed heads (`GET /log/heads`,
//! a page or JSON), the proofs a verifier asks for (`/api/v1/log/proof`,
//! `/api/v1/log/consistency`), and `/verify`, where the server checks a
//! pasted receipt and shows every step (no script needed). Proofs are
//! served only against published heads: the tree between two heads is
//! not shown.

mod verify;

pub use verify::{verify_form, verify_submit};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};
use sunlight_core::log::{SignedHead, parse_hash};
use utoipa::ToSchema;

use crate::error::{Failure, Format, IntakeError};
use crate::i18n;
use crate::pages::{Frame, render};
use crate::state::AppState;

fn failure(error: impl Into<IntakeError>, req: &HttpRequest, format: Format) -> Failure {
    Failure {
        error: error.into(),
        lang: i18n::lang_of(req),
        format,
    }
}

fn wants_json(req: &HttpRequest) -> bool {
    req.query_string().split('&').any(|p| p == "format=json")
        || req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
}

struct HeadLine {
    size: u64,
    day: String,
    root: String,
    signature: String,
}

#[derive(Template)]
#[template(path = "log_heads.html")]
struct HeadsPage {
    ui: Frame,
    log_key: String,
    suite: String,
    heads: Vec<HeadLine>,
}

/// `GET /log/heads`: every signed head, newest first.
pub async fn heads(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let format = if wants_json(&req) {
        Format::Json
    } else {
        Format::Html
    };
    let mut heads = state
        .filing
        .store
        .log_heads()
        .await
        .map_err(|e| failure(e, &req, format))?;
    heads.reverse();
    if format == Format::Json {
        return Ok(HttpResponse::Ok().json(heads));
    }
    let key = state
        .filing
        .log_key()
        .await
        .map_err(|e| failure(e, &req, format))?;
    let hex = |b: &[u8]| data_encoding::HEXLOWER.encode(b);
    let lang = i18n::lang_of(&req);
    let page = HeadsPage {
        ui: i18n::frame(lang, "/log/heads"),
        log_key: hex(&key.public().bytes),
        suite: key.suite().to_string(),
        heads: heads
            .iter()
            .map(|h: &SignedHead| HeadLine {
                size: h.size,
                day: h.day.to_string(),
                root: hex(&h.root),
                signature: hex(&h.signature),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, lang, &page))
}

/// `lang` is every route's (the language of an error's message).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofQuery {
    leaf: String,
    size: u64,
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

/// An inclusion proof (RFC 9162 §2.1.3): the leaf's index and its audit
/// path, hashes in lower-case hex.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionOut {
    pub index: u64,
    pub size: u64,
    pub path: Vec<String>,
}

/// A consistency proof (RFC 9162 §2.1.4) between two published heads.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyOut {
    pub from: u64,
    pub to: u64,
    pub path: Vec<String>,
}

fn query<T: for<'de> Deserialize<'de>>(req: &HttpRequest) -> Result<T, IntakeError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| {
            IntakeError::Malformed("the query does not match this route's parameters".into())
        })
}

/// The tree under the newest head, and whether each size asked about
/// is that of a published head.
async fn published(
    state: &AppState,
    sizes: &[u64],
) -> Result<Option<std::sync::Arc<sunlight_core::log::Tree>>, IntakeError> {
    let (heads, tree) = state.filing.store.published_tree().await?;
    let all = sizes.iter().all(|s| heads.iter().any(|h| h.size == *s));
    Ok(all.then_some(tree))
}

#[utoipa::path(
    get, path = "/api/v1/log/proof", operation_id = "log_proof",
    params(
        ("leaf" = String, Query, description = "The leaf's hash, 64 lower-case hex digits (`sunlight receipt verify` computes it from the receipt); anything else is a leaf the log does not hold (404)"),
        ("size" = u64, Query, description = "The size of a published head")
    ),
    responses((status = 200, description = "The leaf's inclusion proof in that head", body = InclusionOut))
)]
pub async fn proof(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let fail = |e| failure(e, &req, Format::Json);
    let q: ProofQuery = query(&req).map_err(fail)?;
    // Text that is no hash names no leaf the log holds.
    let leaf = parse_hash(&q.leaf).ok_or_else(|| fail(IntakeError::NotFound))?;
    let Some(tree) = published(&state, &[q.size]).await.map_err(fail)? else {
        return Err(fail(IntakeError::NotFound));
    };
    let index = state
        .filing
        .store
        .log_index_of(&leaf)
        .await
        .map_err(|e| fail(e.into()))?;
    let found = index.and_then(|i| Some((i, tree.inclusion_proof(i, q.size)?)));
    let Some((index, path)) = found else {
        return Err(fail(IntakeError::NotFound));
    };
    Ok(HttpResponse::Ok().json(InclusionOut {
        index,
        size: q.size,
        path: path
            .iter()
            .map(|h| data_encoding::HEXLOWER.encode(h))
            .collect(),
    }))
}

#[utoipa::path(
    get, path = "/api/v1/log/consistency", operation_id = "log_consistency",
    params(
        ("from" = u64, Query, description = "The size of a published head"),
        ("to" = u64, Query, description = "The size of a later published head")
    ),
    responses((status = 200, description = "The proof that the head of size `to` extends the head of size `from`", body = ConsistencyOut))
)]
pub async fn consistency(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let fail = |e| failure(e, &req, Format::Json);
    let q: ConsistencyQuery = query(&req).map_err(fail)?;
    let Some(tree) = published(&state, &[q.from, q.to]).await.map_err(fail)? else {
        return Err(fail(IntakeError::NotFound));
    };
    let path = tree
        .consistency_proof(q.from, q.to)
        .ok_or_else(|| fail(IntakeError::NotFound))?;
    Ok(HttpResponse::Ok().json(ConsistencyOut {
        from: q.from,
        to: q.to,
        path: path
            .iter()
            .map(|h| data_encoding::HEXLOWER.encode(h))
            .collect(),
    }))
}
