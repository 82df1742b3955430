//! Staff lists, adding members, rotating unit keys, and the outbox's
//! state for admins.

use super::*;
use crate::mail::AccountChange;

impl Triage {
    /// Staff of the admin's unit and of every unit below it.
    pub async fn staff_list(
        &self,
        session: &Session,
    ) -> Result<Vec<sunlight_store::StaffRow>, CaseworkError> {
        if session.role != sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let mut rows: Vec<_> = self
            .store
            .all_staff()
            .await?
            .into_iter()
            .filter(|s| session.jurisdiction.contains(&s.unit))
            .collect();
        rows.sort_by(|a, b| (&a.unit, &a.email).cmp(&(&b.unit, &b.email)));
        Ok(rows)
    }

    /// Years that open deadlines reach without an official holiday file:
    /// their working days are counted on the provisional calendar (no
    /// 调休 known) until the operator adds the State Council's file.
    pub async fn provisional_years(&self) -> Result<Vec<i32>, CaseworkError> {
        use chrono::Datelike;
        let mut years = std::collections::BTreeSet::new();
        for d in self.store.open_deadlines().await? {
            let first = self.policy.local_date(d.opened_at).year();
            let last = self.policy.last_day(d.due_at).year();
            years.extend((first..=last).filter(|y| !self.calendar.has_year(*y)));
        }
        Ok(years.into_iter().collect())
    }

    /// Mail delivery for an admin: counts for the whole deployment, and
    /// the failing or failed mails of their own unit's members.
    pub async fn mail_status(
        &self,
        session: &Session,
    ) -> Result<
        (
            sunlight_store::OutboxStatus,
            Vec<sunlight_store::MailProblem>,
        ),
        CaseworkError,
    > {
        let members: std::collections::HashSet<String> = self
            .staff_list(session)
            .await?
            .into_iter()
            .map(|s| s.email)
            .collect();
        let status = self.store.outbox_status().await?;
        let problems = self
            .store
            .mail_problems(500)
            .await?
            .into_iter()
            .filter(|p| members.contains(&p.recipient))
            .take(100)
            .collect();
        Ok((status, problems))
    }

    /// Puts a mail that the server refused back in the queue (after the
    /// admin fixed the member's address or the server).
    pub async fn retry_mail(
        &self,
        session: &Session,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        let (_, problems) = self.mail_status(session).await?;
        if !problems.iter().any(|p| p.id == id && p.failed_at.is_some()) {
            return Err(CaseworkError::NotFound);
        }
        self.store.retry_failed_mail(id, now).await?;
        Ok(())
    }

    /// An admin adds a member to their own unit or a unit below it,
    /// sealing that unit's key (reached down the escrow chain from their
    /// session) to the member: no recovery key needed. The one-time
    /// password and TOTP secret are returned once.
    pub async fn add_staff(
        &self,
        session: &Session,
        unit: Option<&sunlight_core::UnitId>,
        email: &str,
        role: sunlight_core::Role,
        now: DateTime<Utc>,
    ) -> Result<sunlight_store::provision::NewStaffSecrets, CaseworkError> {
        if session.role != sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let email = email.trim();
        if email.len() > 320 || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(CaseworkError::Invalid(Invalid::Email));
        }
        let unit = unit.unwrap_or(&session.unit);
        if !session.jurisdiction.contains(unit) {
            return Err(CaseworkError::Invalid(Invalid::NotYourUnit));
        }
        let key = self.unit_key_for(session, unit).await?;
        Ok(sunlight_store::provision::create_staff(
            &self.store,
            unit,
            &key,
            email,
            role,
            sunlight_core::crypto::StretchParams::PASSWORD,
            &format!("staff:{}", session.staff_id),
            now,
        )
        .await?)
    }

    /// An admin replaces the key pair of their unit or a unit below it
    /// (`sunlight_store::keyring::rotate`): every member of the unit is
    /// told by mail and signs in again; disabled members never get the
    /// new key. Returns what to show once (the new recovery key, if the
    /// unit keeps one).
    pub async fn rotate_unit_key(
        &self,
        session: &Session,
        unit: &sunlight_core::UnitId,
        now: DateTime<Utc>,
    ) -> Result<sunlight_store::keyring::Rotated, CaseworkError> {
        if session.role != sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let key = self.unit_key_for(session, unit).await?;
        let done = sunlight_store::keyring::rotate(
            &self.store,
            unit,
            &key,
            &format!("staff:{}", session.staff_id),
            now,
        )
        .await?;
        for member in self.store.staff_of_unit(unit).await? {
            if !member.disabled {
                self.mail_account_change(&member, AccountChange::UnitKeyRotated, now)
                    .await?;
            }
        }
        Ok(done)
    }
}
