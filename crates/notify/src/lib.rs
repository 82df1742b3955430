//! `sunlight-notify`: delivery of the staff mail outbox over SMTP (lettre,
//! rustls only), or into `.eml` files when no SMTP server is configured.
//! Mails are written to the outbox by the events that cause them; this crate
//! only sends them, retries with backoff, and records what the server said.
//! Mails carry no report content, no tracking code and no accused's name;
//! nothing is ever mailed to reporters. Depends on sunlight-core and
//! sunlight-store.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sunlight_store::{OutboxMail, Store, StoreError};

/// Delivery settings (`[mail]` in the configuration file).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// The sender, e.g. `阳光系统 <sunlight@zzb.example.gov.cn>`.
    pub from: String,
    /// Language of the mails: `zh-CN` or `en`.
    pub lang: String,
    /// The triage app as staff open it, for the link in each mail; empty:
    /// `http://` and the triage address.
    pub link_base: String,
    /// How often the outbox is checked (seconds).
    pub every_seconds: u32,
    /// First retry after a temporary failure (seconds), doubling each time…
    pub retry_base_seconds: u32,
    /// …up to this.
    pub retry_max_seconds: u32,
    /// How long a claimed mail is left to one sender before another may
    /// take it (seconds); longer than an SMTP timeout.
    pub claim_seconds: u32,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "Sunlight <sunlight@localhost>".into(),
            lang: "zh-CN".into(),
            link_base: String::new(),
            every_seconds: 5,
            retry_base_seconds: 30,
            retry_max_seconds: 3600,
            claim_seconds: 120,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(
        "SMTP URL {0}: use smtps://host:465, smtp://host:587?tls=required, or plain smtp:// only to a loopback address"
    )]
    SmtpUrl(String),
    #[error("mail sender {0:?} is not a valid address")]
    From(String),
    #[error("mail folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where mails go.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No SMTP server: each mail becomes `<id>.eml` in this folder.
    Folder(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The URL may hold a password.
            Self::Smtp(_) => f.write_str("Transport::Smtp"),
            Self::Folder(p) => f.debug_tuple("Transport::Folder").field(p).finish(),
        }
    }
}

/// Plain SMTP only to this machine: anything else would send staff
/// addresses and case numbers in the clear.
fn plain_allowed(url: &str) -> bool {
    let rest = url.strip_prefix("smtp://").unwrap_or_default();
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Transport {
    /// From `SUNLIGHT_SMTP_URL` (must be built inside a tokio runtime: the
    /// pool spawns its cleanup task), or the folder when there is none.
    pub fn new(smtp_url: Option<&str>, folder: &Path) -> Result<Self, NotifyError> {
        let Some(url) = smtp_url else {
            std::fs::create_dir_all(folder).map_err(|source| NotifyError::Folder {
                path: folder.to_owned(),
                source,
            })?;
            return Ok(Self::Folder(folder.to_owned()));
        };
        let redacted = redact(url);
        let encrypted = url.starts_with("smtps://")
            || (url.starts_with("smtp://") && url.contains("tls=required"));
        let loopback = url.starts_with("smtp://") && plain_allowed(url);
        if !(encrypted || loopback) {
            return Err(NotifyError::SmtpUrl(redacted));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| NotifyError::SmtpUrl(redacted))?
            .timeout(Some(StdDuration::from_secs(30)))
            .build();
        Ok(Self::Smtp(transport))
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let head = url.get(..scheme).unwrap_or_default();
            let tail = url.get(at + 1..).unwrap_or_default();
            format!("{head}://…@{tail}")
        }
        _ => url.to_owned(),
    }
}

/// When to try again after `attempts` failures: doubling from the base, up
/// to the maximum.
fn backoff(settings: &MailSettings, attempts: i32) -> Duration {
    let base = i64::from(settings.retry_base_seconds.max(1));
    let max = i64::from(settings.retry_max_seconds.max(1));
    let shift = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    Duration::seconds(base.saturating_mul(1 << shift).min(max))
}

/// Mails sent at once by one worker (lettre's pool keeps up to 10
/// connections).
const IN_FLIGHT: usize = 8;

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u64,
    /// Temporary failures, to be tried again.
    pub deferred: u64,
    /// Refused for good.
    pub failed: u64,
}

/// How a send went.
enum Outcome {
    Sent,
    Retry(String),
    Refused(String),
}

/// The delivery worker. Any number may run (in several processes): a mail
/// is claimed before it is sent.
#[derive(Debug, Clone)]
pub struct Delivery {
    store: Store,
    transport: Transport,
    from: Mailbox,
    settings: MailSettings,
}

impl Delivery {
    pub fn new(
        store: Store,
        transport: Transport,
        settings: MailSettings,
    ) -> Result<Self, NotifyError> {
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|_| NotifyError::From(settings.from.clone()))?;
        Ok(Self {
            store,
            transport,
            from,
            settings,
        })
    }

    /// Sends every mail due at `now`, batch by batch, up to `IN_FLIGHT`
    /// at a time: each SMTP exchange is a few round trips, and one at a
    /// time a mail took 44 ms on loopback (measured with `sunlight bench
    /// --smtp-url`).
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let claim = Duration::seconds(i64::from(self.settings.claim_seconds.max(1)));
        loop {
            let batch = self.store.claim_mails(now, now + claim, 50).await?;
            if batch.is_empty() {
                return Ok(report);
            }
            let mut in_flight = tokio::task::JoinSet::new();
            for mail in batch {
                if in_flight.len() >= IN_FLIGHT
                    && let Some(done) = in_flight.join_next().await
                {
                    self.record(done, &mut report).await?;
                }
                let this = self.clone();
                in_flight.spawn(async move {
                    let outcome = this.send(&mail).await;
                    (mail, outcome)
                });
            }
            while let Some(done) = in_flight.join_next().await {
                self.record(done, &mut report).await?;
            }
        }
    }

    /// Stores how one send went. A send task that panicked leaves its mail
    /// claimed: it is tried again when the claim runs out.
    async fn record(
        &self,
        done: Result<(OutboxMail, Outcome), tokio::task::JoinError>,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let (mail, outcome) = match done {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "mail send task failed");
                return Ok(());
            }
        };
        match outcome {
            Outcome::Sent => {
                self.store.mark_mail_sent(mail.id, Utc::now()).await?;
                report.sent += 1;
            }
            Outcome::Retry(error) => {
                let next = Utc::now() + backoff(&self.settings, mail.attempts);
                tracing::warn!(mail = %mail.id, attempts = mail.attempts, %error, "mail deferred");
                self.store.mark_mail_retry(mail.id, next, &error).await?;
                report.deferred += 1;
            }
            Outcome::Refused(error) => {
                tracing::error!(mail = %mail.id, %error, "mail refused for good");
                self.store
                    .mark_mail_failed(mail.id, Utc::now(), &error)
                    .await?;
                report.failed += 1;
            }
        }
        Ok(())
    }

    async fn send(&self, mail: &OutboxMail) -> Outcome {
        let Ok(to) = mail.recipient.parse::<Mailbox>() else {
            return Outcome::Refused("the recipient address is not valid".into());
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            // The row id: a server that got a mail twice (a crash between
            // its 250 and our record of it) can tell.
            .message_id(Some(format!("<{}@sunlight>", mail.id)))
            .date(mail.created_at.into())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone());
        let message = match message {
            Ok(m) => m,
            Err(e) => return Outcome::Refused(format!("the mail could not be built: {e}")),
        };
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Outcome::Sent,
                Err(e) if e.is_permanent() => Outcome::Refused(e.to_string()),
                Err(e) => Outcome::Retry(e.to_string()),
            },
            Transport::Folder(dir) => match write_eml(dir, mail, &message.formatted()).await {
                Ok(()) => Outcome::Sent,
                Err(e) => Outcome::Retry(format!("writing the .eml file: {e}")),
            },
        }
    }

    /// Delivers until `stop` resolves.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let every = StdDuration::from_secs(u64::from(self.settings.every_seconds.max(1)));
        let work = async {
            loop {
                match self.deliver_due(Utc::now()).await {
                    Ok(r) if r.sent + r.deferred + r.failed > 0 => {
                        tracing::info!(
                            sent = r.sent,
                            deferred = r.deferred,
                            failed = r.failed,
                            "mail delivery round"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "mail delivery round failed"),
                }
                tokio::time::sleep(every).await;
            }
        };
        tokio::select! {
            () = work => {}
            () = stop => {}
        }
    }
}

/// Written under a temporary name and renamed, so a reader never sees half a mail.
async fn write_eml(dir: &Path, mail: &OutboxMail, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{}.eml.tmp", mail.id));
    let path = dir.join(format!("{}.eml", mail.id));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::File::open(&tmp).await?.sync_all().await?;
    tokio::fs::rename(&tmp, &path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_only_to_loopback() {
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://localhost:25",
            "smtp://[::1]:2525",
            "smtp://user:pw@127.0.0.1:25",
        ] {
            assert!(plain_allowed(ok), "{ok}");
        }
        for bad in [
            "smtp://mail.example.org:25",
            "smtp://10.0.0.5:25",
            "smtp://127.0.0.1.evil.org:25",
            "smtp://user:pw@mail.example.org:25",
        ] {
            assert!(!plain_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn errors_never_show_the_smtp_password() {
        assert_eq!(
            redact("smtps://user:secret@mail.example.org:465"),
            "smtps://…@mail.example.org:465"
        );
        assert_eq!(redact("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
    }

    #[tokio::test]
    async fn only_encrypted_or_loopback_urls_are_accepted() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Transport::new(Some("smtp://mail.example.org:25"), dir.path()).is_err());
        assert!(Transport::new(Some("http://mail.example.org"), dir.path()).is_err());
        assert!(matches!(
            Transport::new(Some("smtp://127.0.0.1:2525"), dir.path()),
            Ok(Transport::Smtp(_))
        ));
        assert!(matches!(
            Transport::new(Some("smtps://u:p@mail.example.org:465"), dir.path()),
            Ok(Transport::Smtp(_))
        ));
        assert!(matches!(
            Transport::new(None, &dir.path().join("mail")),
            Ok(Transport::Folder(_))
        ));
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let settings = MailSettings {
            retry_base_seconds: 30,
            retry_max_seconds: 3600,
            ..MailSettings::default()
        };
        let secs = |attempts: i32| backoff(&settings, attempts).num_seconds();
        assert_eq!(secs(1), 30);
        assert_eq!(secs(2), 60);
        assert_eq!(secs(3), 120);
        assert_eq!(secs(8), 3600);
        assert_eq!(secs(100), 3600);
    }
}
