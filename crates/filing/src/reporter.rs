//! The reporter's side with the code itself (the page without
//! JavaScript and the JSON API): find a case, its status opened with the
//! reporter's key, a follow-up message sealed on the server.

use chrono::{DateTime, Utc};
use sunlight_core::CaseId;
use sunlight_core::TrackingCode;
use sunlight_core::crypto::{CodeScheme, SealContext, StretchedCode, UnitPublicKey, open, seal};
use sunlight_core::report::{AttachmentMeta, MessageContent, decode_padded, encode_padded, item};
use sunlight_store::{Clash, NewAttachment, ReporterView, SealedTo, StoreError, unit_chain};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{Filing, FilingError, RatingState, ReportInclusion, unit_keys};

/// A message on the status page, opened for the reporter.
#[derive(Debug, Clone)]
pub struct ShownMessage {
    pub from_staff: bool,
    pub body: Zeroizing<String>,
    pub at: DateTime<Utc>,
}

/// What the reporter sees of their case.
#[derive(Debug)]
pub struct Status {
    pub view: ReporterView,
    pub messages: Vec<ShownMessage>,
    pub files: Vec<AttachmentMeta>,
    /// Whether the reporter may rate the feedback now, or how they did.
    pub rating: RatingState,
    /// Closed: the unit above `(name, English name)`, for a review.
    pub review_by: Option<(String, Option<String>)>,
    /// The report's place in the public log, with the current proof.
    pub inclusion: Option<ReportInclusion>,
}

/// A case found by its code, with the key material to add to it.
pub struct Found {
    pub case_id: CaseId,
    pub recipients: Vec<UnitPublicKey>,
    /// The unit keys among `recipients` with their generations, checked
    /// when a follow-up is stored.
    pub(crate) sealed_to: SealedTo,
    stretched: StretchedCode,
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Found")
            .field("case_id", &self.case_id)
            .finish_non_exhaustive()
    }
}

impl Filing {
    /// Finds a case by its code: in our own scheme first, then, while
    /// cases of other schemes exist, in each of them (a further stretch
    /// for each on a miss).
    pub async fn find(&self, code: &TrackingCode) -> Result<(Found, ReporterView), FilingError> {
        let own = self.own_scheme();
        // Schemes 2 and 3 share the stretch: kept for a miss in our own.
        let (stretched, stretch) = self
            .on_argon(code, move |s, code, memory| {
                let stretch = s.run_in(code, memory)?;
                Ok((s.keyed(&stretch, own)?, stretch))
            })
            .await?;
        if let Some(view) = self.store.reporter_view(&stretched.lookup_key).await? {
            return self.found(stretched, view).await;
        }
        for scheme in self.other_schemes().await? {
            let stretched = match scheme {
                CodeScheme::PepperedStretch => self.stretch_as(code, scheme).await?,
                keyed => self.stretcher.keyed(&stretch, keyed)?,
            };
            if let Some(view) = self.store.reporter_view(&stretched.lookup_key).await? {
                return self.found(stretched, view).await;
            }
        }
        Err(FilingError::UnknownCode)
    }

    /// Where new material on a found case goes.
    async fn found(
        &self,
        stretched: StretchedCode,
        view: ReporterView,
    ) -> Result<(Found, ReporterView), FilingError> {
        // New material goes to the units of the case it is filed on (the
        // surviving one, after a merge) and the units above, and to the
        // reporter — but never to a unit that could not read the reporter's
        // own case: only units on both chains. A merge never widens (the
        // store refuses any other), and this keeps a merged-in reporter's
        // follow-ups from their own unit when the case they now feed is,
        // say, a key-person case that unit may not read.
        let (recipients, sealed_to) = self.follow_up_recipients(&view, &stretched)?;
        Ok((
            Found {
                // New material goes where the work goes on: the surviving
                // case when this one was merged.
                case_id: view.case.id,
                recipients,
                sealed_to,
                stretched,
            },
            view,
        ))
    }

    /// Every key a reporter's follow-up on `view` is sealed to: the units'
    /// ([`Self::follow_up_units`]), then the reporter's own.
    fn follow_up_recipients(
        &self,
        view: &ReporterView,
        stretched: &StretchedCode,
    ) -> Result<(Vec<UnitPublicKey>, SealedTo), FilingError> {
        let (mut recipients, sealed_to) = self.follow_up_units(view)?;
        recipients.push(stretched.reporter_public());
        Ok((recipients, sealed_to))
    }

    /// The unit keys a reporter's follow-up on `view` is sealed to, and
    /// their generations.
    pub fn follow_up_units(
        &self,
        view: &ReporterView,
    ) -> Result<(Vec<UnitPublicKey>, SealedTo), FilingError> {
        // The units as the view holds them (the copy new reports are
        // addressed from): no further query. A key rotated since gets the
        // follow-up refused by its transaction's check.
        let own = unit_chain(&view.units, &view.own_unit)?;
        let chain: Vec<_> = if view.case.id == view.own_case {
            own
        } else {
            let surviving = unit_chain(&view.units, &view.case.unit)?;
            surviving
                .into_iter()
                .filter(|u| own.iter().any(|o| o.id == u.id))
                .collect()
        };
        Ok((unit_keys(&chain), SealedTo::of(&chain)))
    }

    /// The status page's content: the view, with the messages and file
    /// names opened with the reporter's key.
    pub async fn status(&self, code: &TrackingCode) -> Result<(Found, Status), FilingError> {
        let (found, view) = self.find(code).await?;
        let status = self.opened(&found, view).await?;
        Ok((found, status))
    }

    /// The status of a case found before, read again (after the reporter
    /// acted on it) without stretching the code a second time.
    pub async fn status_again(&self, found: &Found) -> Result<Status, FilingError> {
        let view = self
            .store
            .reporter_view(&found.stretched.lookup_key)
            .await?
            .ok_or(FilingError::UnknownCode)?;
        self.opened(found, view).await
    }

    async fn opened(&self, found: &Found, view: ReporterView) -> Result<Status, FilingError> {
        let secret = &found.stretched.reporter_secret;
        let mut messages = Vec::new();
        for m in &view.messages {
            let item = item::message(m.id);
            let ctx = SealContext {
                case_id: CaseId::from_uuid(m.case_id),
                item: &item,
            };
            // A message sealed before this reporter's key was a recipient
            // (another reporter's, in a merged case) is not theirs to see.
            // One that opens but holds no message (sealed wrongly in the
            // reporter's own browser) is left out too: it must not lock
            // the reporter out of their case.
            let Some(content) = open(&m.sealed_body, &ctx, secret)
                .ok()
                .and_then(|plain| decode_padded::<MessageContent>(&plain).ok())
            else {
                continue;
            };
            messages.push(ShownMessage {
                from_staff: m.author == "staff",
                body: Zeroizing::new(content.body.clone()),
                at: m.created_at,
            });
        }
        let mut files = Vec::new();
        for a in &view.attachments {
            let item = item::attachment_meta(a.id);
            let ctx = SealContext {
                case_id: a.case_id,
                item: &item,
            };
            let meta = open(&a.sealed_meta, &ctx, secret)
                .ok()
                .and_then(|plain| decode_padded::<AttachmentMeta>(&plain).ok());
            files.extend(meta);
        }
        let rating = self.rating_state(&view, chrono::Utc::now()).await?;
        Ok(Status {
            review_by: self.review_by(&view).await?,
            // Best effort: odd log rows must not keep a reporter from
            // their case (`sunlight log verify` names them).
            inclusion: self.report_inclusion(&view).await.ok().flatten(),
            view,
            messages,
            files,
            rating,
        })
    }

    /// Seals and stores a reporter's message (and files) on their case.
    pub async fn add_message(
        &self,
        found: &Found,
        message_id: Uuid,
        body: &str,
        attachments: Vec<NewAttachment>,
        now: DateTime<Utc>,
    ) -> Result<(), FilingError> {
        let content = MessageContent {
            body: body.to_owned(),
        };
        let payload = Zeroizing::new(
            encode_padded(&content).map_err(|e| FilingError::Internal(e.to_string()))?,
        );
        let item = item::message(message_id);
        let day = self.arrival_day(now);
        let without_files = attachments.is_empty();
        let seal_for = |case_id, recipients: &[UnitPublicKey]| {
            seal(
                &payload,
                &SealContext {
                    case_id,
                    item: &item,
                },
                recipients,
            )
        };
        let sealed = seal_for(found.case_id, &found.recipients)?;
        let to = &found.sealed_to;
        let (case, store) = (found.case_id, &self.store);
        match store
            .add_message_at(case, message_id, None, sealed, attachments, to, day, now)
            .await
        {
            // A unit's key was replaced since the status was read: a
            // message without files is sealed again to the keys read now
            // (as `file` does with a report).
            Err(StoreError::Conflict(Clash::KeyChanged)) if without_files => {
                let view = store
                    .reporter_view(&found.stretched.lookup_key)
                    .await?
                    .ok_or(FilingError::UnknownCode)?;
                let (recipients, to) = self.follow_up_recipients(&view, &found.stretched)?;
                let (case, sealed) = (view.case.id, seal_for(view.case.id, &recipients)?);
                store
                    .add_message_at(case, message_id, None, sealed, Vec::new(), &to, day, now)
                    .await?;
            }
            other => drop(other?),
        }
        Ok(())
    }
}
