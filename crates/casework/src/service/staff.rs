//! Staff lists, adding members, and the outbox's state for admins.

use super::*;

impl Triage {
    /// Staff of the admin's unit.
    pub async fn staff_list(
        &self,
        session: &Session,
    ) -> Result<Vec<sunlight_store::StaffRow>, CaseworkError> {
        if session.role != sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        Ok(self.store.staff_of_unit(&session.unit).await?)
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

    /// An admin adds a member to their own unit, wrapping the unit key from
    /// their session (no recovery key needed). The one-time password and
    /// TOTP secret are returned once.
    pub async fn add_staff(
        &self,
        session: &Session,
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
        sunlight_store::provision::create_staff(
            &self.store,
            &session.unit,
            session.unit_key(),
            email,
            role,
            sunlight_core::crypto::StretchParams::PASSWORD,
            &format!("staff:{}", session.staff_id),
            now,
        )
        .await
        .map_err(|e| match e {
            sunlight_store::provision::ProvisionError::Store(s) => s.into(),
            other => CaseworkError::Internal(other.to_string()),
        })
    }
}
