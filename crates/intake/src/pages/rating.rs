//! /status/rating: the reporter rates the feedback (满意度评价) and may
//! object, asking the unit above for a re-examination (复查). Works with
//! JavaScript off, like every public page.

use super::*;
use sunlight_core::Rating;
use sunlight_filing::{ObjectionDraft, RatingState};

use status::{code_refused, status_view};

/// The three answers, in the reader's words, in the order shown.
pub(crate) fn choices(lang: Lang) -> Vec<(&'static str, String)> {
    let t = i18n::catalog(lang);
    Rating::ALL
        .iter()
        .map(|r| {
            (
                r.as_str(),
                t.get(&format!("status.rating_{}", r.as_str())).to_owned(),
            )
        })
        .collect()
}

/// What the status page shows of the rating: the rating given (in words),
/// whether the form is open, and until when an objection may be sent.
/// The page without script and the one the script draws say the same.
pub(crate) fn rating_view(
    state: &AppState,
    lang: Lang,
    rating: &RatingState,
) -> (Option<String>, bool, Option<String>) {
    let t = i18n::catalog(lang);
    let policy = &state.filing.policy;
    match rating {
        RatingState::NotYet => (None, false, None),
        RatingState::Open {
            objection_until, ..
        } => {
            let hint = objection_until.map(|until| {
                t.format(
                    "status.objection_hint",
                    &[
                        ("until", &policy.last_day(until).to_string()),
                        ("max", &state.filing.limits.message_chars.to_string()),
                    ],
                )
            });
            (None, true, hint)
        }
        RatingState::Rated(r) => {
            let mut line = t.format(
                "status.rated",
                &[
                    (
                        "rating",
                        t.get(&format!("status.rating_{}", r.rating.as_str())),
                    ),
                    ("day", &policy.local_date(r.rated_on).to_string()),
                ],
            );
            if r.objection {
                line.push(' ');
                line.push_str(t.get("status.rated_objection"));
            }
            (Some(line), false, None)
        }
    }
}

/// The rating form's fields: `code`, `rating`, optional `objection`.
struct RatingForm {
    code: TrackingCode,
    rating: Option<Rating>,
    objection: Option<zeroize::Zeroizing<String>>,
}

async fn read_rating_form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<RatingForm, IntakeError> {
    let text_limit = state
        .filing
        .limits
        .message_chars
        .saturating_mul(4)
        .saturating_add(1024);
    let total = u64::try_from(text_limit.saturating_mul(2)).unwrap_or(u64::MAX);
    let mut form = FormStream::open(
        req.headers(),
        payload,
        text_limit.saturating_mul(2),
        total,
        false,
    )
    .await?;
    let (mut code, mut rating, mut objection) = (None, None, None);
    while let Some(part) = form.next(text_limit).await? {
        let Part::Text { name, value } = part else {
            return Err(IntakeError::UnknownField("file".into()));
        };
        let value = zeroize::Zeroizing::new(value);
        let slot_taken = match name.as_str() {
            "code" => code.replace(TrackingCode::parse(&value)?).is_some(),
            "rating" => rating
                .replace(
                    value
                        .parse::<Rating>()
                        .map_err(|_| IntakeError::InvalidRating)?,
                )
                .is_some(),
            "objection" => objection.replace(value).is_some(),
            _ => return Err(IntakeError::UnknownField(name)),
        };
        if slot_taken {
            return Err(IntakeError::DuplicateField(name));
        }
    }
    Ok(RatingForm {
        code: code.ok_or(IntakeError::Code(sunlight_core::CodeError::WrongLength))?,
        rating,
        objection,
    })
}

/// Finds the case (one Argon2id stretch), then validates the objection
/// (blank: none) and rates: the case found, and whether the rating was
/// taken or why not. A code that finds nothing is the outer error.
pub(crate) async fn rate(
    state: &AppState,
    code: &TrackingCode,
    rating: Option<Rating>,
    objection: Option<&str>,
) -> Result<(Found, Result<(), IntakeError>), IntakeError> {
    let (found, view) = state.filing.find(code).await?;
    let outcome = async {
        let rating = rating.ok_or(IntakeError::InvalidRating)?;
        let objection = objection.filter(|o| !o.trim().is_empty());
        let text = objection
            .map(|o| sunlight_core::report::validate_message(o, &state.filing.limits))
            .transpose()
            .map_err(|e| IntakeError::Invalid(vec![e]))?;
        let objection = text.as_deref().map(|text| ObjectionDraft::Text {
            found: &found,
            text: text.as_str(),
        });
        Ok(state
            .filing
            .rate(&view, rating, objection, Utc::now())
            .await?)
    }
    .await;
    Ok((found, outcome))
}

/// The status and the lines a refused rating shows above the page.
fn refused(
    state: &AppState,
    lang: Lang,
    error: Option<&IntakeError>,
) -> (StatusCode, Vec<ErrorLine>) {
    match error {
        None => (StatusCode::OK, Vec::new()),
        Some(e) => (
            e.status(),
            vec![ErrorLine {
                anchor: Some("rating"),
                text: e.message(lang, &state.filing.limits),
            }],
        ),
    }
}

pub async fn rating_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit(&req, Limiters::message, Format::Html)?;
    let form = match read_rating_form(&req, payload, &state).await {
        Ok(f) => f,
        Err(e @ IntakeError::Code(_)) => return Ok(code_refused(&state, lang, &e)),
        Err(e) => return Err(html(e, lang)),
    };
    let objection = form.objection.as_deref().map(String::as_str);
    let (found, outcome) = match rate(&state, &form.code, form.rating, objection).await {
        Ok(r) => r,
        Err(e @ IntakeError::UnknownCode) => return Ok(code_refused(&state, lang, &e)),
        Err(e) => return Err(html(e, lang)),
    };
    // Read again with the key already stretched: one Argon2id per POST.
    let status = match state.filing.status_again(&found).await {
        Ok(status) => status,
        Err(e) => return Err(html(e, lang)),
    };
    if let Err(e @ (IntakeError::Internal(_) | IntakeError::Unavailable(_))) = outcome {
        return Err(html(e, lang));
    }
    let (code, errors) = refused(&state, lang, outcome.as_ref().err());
    let mut page = status_view(&state, lang, &form.code, &status, false, errors);
    page.rated_now = code == StatusCode::OK;
    Ok(render(code, lang, &page))
}
