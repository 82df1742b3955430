//! A case as a member of its units reads it: the report, messages, history and attachments opened with the session's unit key.

use super::authenticity::{CaseSigner, open_staff_text};
use super::*;
use sunlight_core::crypto::addressed_to_any;

/// What a case's people read of it: everything sealed, opened.
#[derive(Debug)]
pub struct Opened {
    /// Empty when `report_unreadable`.
    pub report: ReportContent,
    /// The report does not open with the unit's key although it is
    /// addressed to it (sealed wrongly in the reporter's browser, damaged
    /// or altered): the case is shown with everything else, not refused.
    pub report_unreadable: bool,
    pub messages: Vec<OpenedMessage>,
    pub history: Vec<OpenedStep>,
    pub attachments: Vec<OpenedAttachment>,
}

impl Triage {
    pub(super) async fn load(
        &self,
        session: &Session,
        id: CaseId,
    ) -> Result<(CaseRow, Option<QueueRow>), CaseworkError> {
        let (case, entry) = self
            .store
            .case_with_entry(&session.jurisdiction, id)
            .await?
            .ok_or(CaseworkError::NoSuchCase)?;
        // A purged case is in the register, but nothing reads or writes it
        // any more (a reopened one could never close: its reporter's key
        // is gone).
        if case.purged_at.is_some() {
            return Err(CaseworkError::Conflict(sunlight_store::Clash::Purged));
        }
        Ok((case, entry))
    }

    /// The case, opened with the session's unit key. Audited as a read.
    pub async fn view(
        &self,
        session: &Session,
        id: CaseId,
        now: DateTime<Utc>,
    ) -> Result<CaseView, CaseworkError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let (case, entry) = self.load(session, id).await?;
        let Opened {
            report,
            report_unreadable,
            messages,
            history,
            attachments,
        } = self.open_contents(session, &case).await?;
        let holds = self.store.holds_of(case.id).await?;
        let merged_cases = self.store.merged_cases(case.id).await?;
        let tasks = self.store.tasks_of(case.id).await?;
        let ratings = self.store.ratings_of(case.id, case.round).await?;
        let state = state_of(&case, entry.as_ref());
        let allowed = allowed_actions(session, &state, &tasks);
        let (merge_candidates, merge_unreadable) = if allowed.contains(&"merge") {
            self.merge_candidates(session, &case, now).await?
        } else {
            (Vec::new(), 0)
        };
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "case.read".into(),
                    unit: case.unit.to_string(),
                    case_id: case.id.to_string(),
                    detail: String::new(),
                },
                now,
            )
            .await?;
        // Opened by one of its people: the reporter's messages are read.
        if case.unread > 0 {
            self.store.mark_read(case.id, case.unread).await?;
        }
        Ok(CaseView {
            case,
            entry,
            report,
            report_unreadable,
            messages,
            history,
            attachments,
            holds,
            merged_cases,
            allowed,
            tasks,
            ratings,
            merge_candidates,
            merge_unreadable,
        })
    }

    /// The report, messages, history and attachment list of `case`,
    /// opened with the session's unit key. Not audited: the caller audits
    /// what it does with them.
    pub(super) async fn open_contents(
        &self,
        session: &Session,
        case: &CaseRow,
    ) -> Result<Opened, CaseworkError> {
        if case.purged_at.is_some() {
            return Err(CaseworkError::Conflict(sunlight_store::Clash::Purged));
        }
        let (report, report_unreadable) = self.open_report(session, case).await?;
        // Staff texts are checked against the case unit's key, reached
        // once for the whole case.
        let checker = self.case_checker(session, case).await;
        let messages = self.open_messages(session, case, checker.as_ref()).await?;
        let history = self.open_history(session, case, checker.as_ref()).await?;
        let mut attachments = Vec::new();
        for a in self.store.attachments_of(case.id).await? {
            let meta_item = item::attachment_meta(a.id);
            let stream_item = item::attachment(a.id);
            let stream = SealContext {
                case_id: case.id,
                item: &stream_item,
            };
            let meta = open_sealed::<AttachmentMeta>(&a.sealed_meta, case.id, &meta_item, session)
                .filter(|_| {
                    AttachmentOpener::start(&a.stream_header, &stream, session.unit_key()).is_ok()
                });
            if meta.is_none() {
                tracing::warn!(case = %case.id, attachment = %a.id, "a file does not open with its unit's key; listed as unreadable");
            }
            attachments.push(OpenedAttachment {
                id: a.id,
                message_id: a.message_id,
                unreadable: meta.is_none(),
                meta: meta.unwrap_or_else(|| AttachmentMeta {
                    file_name: String::new(),
                    declared_type: String::new(),
                    size: 0,
                }),
            });
        }
        Ok(Opened {
            report,
            report_unreadable,
            messages,
            history,
            attachments,
        })
    }

    /// The case's report, or an empty one and `true` when it is damaged
    /// (sealed to this unit but not opening as a report). A report sealed
    /// to other units only is a case whose unit was changed in the
    /// database: refused and audited, its people must not see its content.
    async fn open_report(
        &self,
        session: &Session,
        case: &CaseRow,
    ) -> Result<(ReportContent, bool), CaseworkError> {
        let report =
            open_sealed::<ReportContent>(&case.sealed_report, case.id, item::REPORT, session);
        let report_unreadable = report.is_none();
        if report_unreadable {
            let keys = session.unit_key().public_keys();
            if addressed_to_any(&case.sealed_report, &keys) == Some(false) {
                self.store
                    .audit(
                        sunlight_store::AuditRecord {
                            actor: format!("staff:{}", session.staff_id),
                            action: "case.not_sealed_to_unit".into(),
                            unit: case.unit.to_string(),
                            case_id: case.id.to_string(),
                            detail: String::new(),
                        },
                        chrono::Utc::now(),
                    )
                    .await?;
                tracing::warn!(case = %case.id, "a case's report is not sealed to the unit that reads it; refused");
                return Err(CaseworkError::Conflict(
                    sunlight_store::Clash::NotSealedToUnit,
                ));
            }
            tracing::warn!(case = %case.id, "a case's report does not open with its unit's key; shown as unreadable");
        }
        let report = report.unwrap_or_else(|| ReportContent {
            accused_name: String::new(),
            accused_position: String::new(),
            narrative: String::new(),
            reporter_name: None,
            reporter_phone: None,
            letter: None,
        });
        Ok((report, report_unreadable))
    }

    /// The case's messages, opened; staff ones checked against `checker`.
    async fn open_messages(
        &self,
        session: &Session,
        case: &CaseRow,
        checker: Option<&CaseSigner>,
    ) -> Result<Vec<OpenedMessage>, CaseworkError> {
        let mut messages = Vec::new();
        for m in self.store.messages(case.id).await? {
            let from_staff = m.author == "staff";
            let item = item::message(m.id);
            let opened = if from_staff {
                Ok(open_staff_text(
                    &m.sealed_body,
                    case.id,
                    &item,
                    m.staff_id,
                    session,
                    checker,
                ))
            } else {
                open_text(&m.sealed_body, case.id, &item, session)
                    .map(|body| (body, Authenticity::Anonymous))
            };
            // The server seals staff messages itself; a reporter's may come
            // sealed from a browser, which the server could check only for
            // its addressing and size. One that does not open is shown as
            // such, not a case nobody can read any more.
            let (body, authenticity, unreadable) = match opened {
                Ok((body, a)) => (body, a, false),
                Err(_) if !from_staff => {
                    (Zeroizing::new(String::new()), Authenticity::Anonymous, true)
                }
                Err(e) => return Err(e),
            };
            messages.push(OpenedMessage {
                id: m.id,
                from_staff,
                body,
                unreadable,
                authenticity,
                at: m.created_at,
            });
        }
        Ok(messages)
    }

    /// The case's history, its notes opened and checked against `checker`.
    async fn open_history(
        &self,
        session: &Session,
        case: &CaseRow,
        checker: Option<&CaseSigner>,
    ) -> Result<Vec<OpenedStep>, CaseworkError> {
        let mut history = Vec::new();
        for t in self.store.transitions_of(case.id).await? {
            let (note, authenticity) = match &t.sealed_note {
                Some(sealed) => {
                    let item = note_item(t.id);
                    let (text, a) =
                        open_staff_text(sealed, case.id, &item, t.actor, session, checker);
                    (Some(text), Some(a))
                }
                None => (None, None),
            };
            history.push(OpenedStep {
                from: t.from,
                to: t.to,
                action: t.action,
                actor: t.actor,
                note,
                authenticity,
                reporter_visible: t.reporter_visible,
                at: t.at,
            });
        }
        Ok(history)
    }
}

/// The actions the member may take now: the state machine's rules, and
/// for a re-examination, only from the unit above (where its task sits).
fn allowed_actions(
    session: &Session,
    state: &CaseState,
    tasks: &[sunlight_store::TaskRow],
) -> Vec<&'static str> {
    use sunlight_core::case::ActionKind;
    let actor = session.actor();
    let pending: Vec<_> = tasks
        .iter()
        .filter(|t| t.is_open() && t.kind == sunlight_core::TaskKind::Reexamine)
        .collect();
    let reexamining = pending
        .iter()
        .any(|t| session.jurisdiction.contains(&t.unit));
    ActionKind::ALL
        .iter()
        .filter(|k| {
            k.stages().contains(&state.stage)
                && k.roles(state.stage).contains(&actor.role)
                && (!k.needs_owner() || state.owner == Some(actor.id))
        })
        .filter(|k| match k {
            // While the reporter's objection waits, only the unit above
            // answers it, by upholding or by reopening.
            ActionKind::Reopen => {
                state.merged_into.is_none() && (pending.is_empty() || reexamining)
            }
            ActionKind::Uphold => reexamining,
            // Routing runs by itself; the desk decides with `accept`,
            // `refer` or `ask_specifics`, which route first if need be.
            ActionKind::Route => false,
            ActionKind::AskSpecifics => !state.specifics_asked,
            ActionKind::KnowinglyFalse => {
                state.outcome == Some(sunlight_core::Outcome::Unsubstantiated)
                    && state.verified_by != Some(actor.id)
                    && state.disposition != sunlight_core::Disposition::KnowinglyFalse
            }
            _ => true,
        })
        .map(|k| k.as_str())
        .collect()
}

/// A padded JSON payload of `case` sealed under `item`, opened with the
/// session's key; `None` when it does not open or is not that payload.
/// For material a reporter's browser may have sealed: the server could
/// check only its addressing and size, so one that is garbage must spoil
/// only itself, never the case page.
pub(super) fn open_sealed<T: serde::de::DeserializeOwned>(
    sealed: &[u8],
    case_id: CaseId,
    item: &[u8],
    session: &Session,
) -> Option<T> {
    let plain = open(sealed, &SealContext { case_id, item }, session.unit_key()).ok()?;
    decode_padded(&plain).ok()
}
