//! The notify worker: turns outbox rows into sent emails, exactly once per
//! occasion as far as a database can promise it. A job names a row; the row
//! decides. Claiming is a conditional UPDATE, so a job that runs twice (or two
//! workers given the same job) sends once; a failure is counted on the row, not
//! in the queue, so the attempt limit and the dead state hold on every backend.

pub mod backoff;
pub mod ics;
pub mod mailer;
pub mod render;

use std::time::Duration;

use fasttrack_core::settings::Settings;
use fasttrack_core::store::{Db, notifications};
use fasttrack_core::{Clock, NotificationId};
use jiff::Timestamp;

pub use mailer::Mailer;
pub use render::Templates;

/// What one delivery attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do: already sent, dead, held by another worker, or not yet due.
    Skipped,
    Sent,
    /// Failed; the row is pending again and due at this time.
    Retrying(Timestamp),
    /// The job came before its row was due (a retry pushed early, or a clock between
    /// processes): nothing sent; it must run again at this time.
    NotYetDue(Timestamp),
    Dead,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Skipped => "skipped",
            Outcome::Sent => "sent",
            Outcome::Retrying(_) => "retrying",
            Outcome::NotYetDue(_) => "not_yet_due",
            Outcome::Dead => "dead",
        }
    }
}

pub struct Notifier {
    db: Db,
    clock: Clock,
    mailer: Mailer,
    templates: Templates,
    from: String,
    id_domain: String,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    lease: Duration,
}

impl Notifier {
    pub fn new(db: Db, mailer: Mailer, settings: &Settings, clock: Clock) -> Self {
        let from = settings.mail.from.clone();
        let id_domain = from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').to_owned())
            .unwrap_or_else(|| "fasttrack".into());
        Self {
            db,
            clock,
            mailer,
            templates: Templates::new(),
            from,
            id_domain,
            max_attempts: settings.mail.max_attempts,
            backoff_base: Duration::from_secs(settings.mail.backoff_base_secs),
            backoff_max: Duration::from_secs(settings.mail.backoff_max_secs),
            lease: Duration::from_secs(settings.workers.lease_secs),
        }
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// One attempt at the email `id`. `Err` only for infrastructure trouble (the database is
    /// down): the queue retries the job, and the row is untouched or still leased.
    #[tracing::instrument(name = "deliver email", skip_all, fields(notification = %id))]
    pub async fn deliver(&self, id: NotificationId) -> anyhow::Result<Outcome> {
        let now = self.clock.now();
        let Some(row) = notifications::claim(&self.db, id, now, self.lease).await? else {
            // An early job waits for its row: it never simply disappears.
            if let Some(at) = notifications::pending_due_at(&self.db, id).await?
                && at > now
            {
                tracing::debug!("not yet due");
                return Ok(Outcome::NotYetDue(at));
            }
            tracing::debug!("nothing to send");
            return Ok(Outcome::Skipped);
        };
        let message_id = format!("<{}@{}>", row.id, self.id_domain);
        let message = match self.templates.message(&self.from, &row.recipient, &message_id, &row.template, &row.context)
        {
            Ok(m) => m,
            Err(e) => {
                // A broken template or address will not mend by waiting.
                tracing::error!(kind = %row.kind, error = %e, "email cannot be rendered; marking dead");
                notifications::mark_failed(&self.db, id, row.attempt, &e.to_string(), None, self.clock.now()).await?;
                return Ok(Outcome::Dead);
            }
        };
        match self.mailer.send(message).await {
            Ok(()) => {
                notifications::mark_sent(&self.db, id, row.attempt, self.clock.now()).await?;
                tracing::info!(kind = %row.kind, attempt = row.attempt, "email sent");
                Ok(Outcome::Sent)
            }
            Err(e) if e.permanent || row.attempt >= self.max_attempts => {
                tracing::warn!(kind = %row.kind, attempt = row.attempt, error = %e, "email failed for good; dead");
                notifications::mark_failed(&self.db, id, row.attempt, &e.message, None, self.clock.now()).await?;
                Ok(Outcome::Dead)
            }
            Err(e) => {
                let wait = backoff::delay(row.attempt, self.backoff_base, self.backoff_max);
                let now = self.clock.now();
                let at = now + jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::from_secs(60));
                tracing::warn!(kind = %row.kind, attempt = row.attempt, retry_in_secs = wait.as_secs(), error = %e, "email failed; will retry");
                notifications::mark_failed(&self.db, id, row.attempt, &e.message, Some(at), now).await?;
                Ok(Outcome::Retrying(at))
            }
        }
    }
}
