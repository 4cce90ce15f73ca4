//! The notify worker: turns outbox rows into sent emails, exactly once per
//! occasion as far as a database can promise it. The outbox is the work list: a
//! `SendEmails` job is only a wake-up, and whoever runs it claims a batch of due
//! rows (a conditional UPDATE; on PostgreSQL skipping rows another worker holds),
//! sends them side by side and records them in one statement. So the queue holds a
//! handful of wake-ups however long the backlog, a job that runs twice sends
//! nothing twice, and a failure is counted on the row, not in the queue: the
//! attempt limit and the dead state hold on every backend.

pub mod backoff;
pub mod ics;
pub mod mailer;
pub mod render;
mod smtp;

use std::time::Duration;

use fasttrack_core::settings::Settings;
use fasttrack_core::store::notifications::Claimed;
use fasttrack_core::store::{Db, notifications};
use fasttrack_core::{Clock, NotificationId};
use futures::StreamExt;
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
    /// Where links in emails point, and how long a sign-in link works.
    site_url: String,
    link_ttl: jiff::SignedDuration,
    link_valid_for: String,
    /// One sending run at a time in a process: rows are claimed only as fast as the
    /// transport can take them, so none waits out its lease in a local queue (and is then
    /// taken and sent again by another worker).
    running: tokio::sync::Mutex<()>,
    /// A wake-up came while a run was going: the run goes round once more.
    again: std::sync::atomic::AtomicBool,
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
            site_url: settings.pages.public_url.trim_end_matches('/').to_owned(),
            link_ttl: settings.pages.link_ttl(),
            link_valid_for: match settings.pages.sign_in_link_hours {
                1 => "1 hour".to_owned(),
                h if h % 24 == 0 && h > 24 => format!("{} days", h / 24),
                h => format!("{h} hours"),
            },
            running: tokio::sync::Mutex::new(()),
            again: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// One attempt at the email `id`, if it is due. `Err` only for infrastructure trouble (the
    /// database is down): the row is untouched or still leased.
    #[tracing::instrument(name = "deliver email", skip_all, fields(notification = %id))]
    pub async fn deliver(&self, id: NotificationId) -> anyhow::Result<Outcome> {
        let now = self.clock.now();
        let Some(row) = notifications::claim(&self.db, id, now, self.lease).await? else {
            // An early job waits for its row: it never simply disappears.
            if let Some(at) = notifications::pending_due_at(&self.db, id).await?
                && at > now
            {
                return Ok(Outcome::NotYetDue(at));
            }
            return Ok(Outcome::Skipped);
        };
        let outcomes = self.send_claimed(vec![row]).await?;
        Ok(outcomes.into_iter().next().map_or(Outcome::Skipped, |(_, o, _)| o))
    }

    /// Sends due emails, a batch at a time, until none is due or `budget` has passed. A batch
    /// is as wide as the transport, so every claimed row is being sent at once and its lease
    /// covers one send. One run at a time per process: a wake-up that comes during a run
    /// makes it go round once more instead of claiming beside it. A batch the server could
    /// not even be reached for ends the run (the rest wait for the retry instead of each
    /// failing in turn: the outage is not theirs).
    #[tracing::instrument(name = "deliver due emails", skip_all)]
    pub async fn deliver_due(&self, budget: Duration) -> anyhow::Result<Delivered> {
        use std::sync::atomic::Ordering;
        let started = std::time::Instant::now();
        let mut done = Delivered::default();
        loop {
            // Said before trying the lock, so a run that is just ending sees it (below).
            self.again.store(true, Ordering::SeqCst);
            let Ok(guard) = self.running.try_lock() else {
                return Ok(done);
            };
            self.again.store(false, Ordering::SeqCst);
            let reachable = self.deliver_loop(started, budget, &mut done).await?;
            drop(guard);
            if done.more || !reachable || !self.again.load(Ordering::SeqCst) {
                return Ok(done);
            }
        }
    }

    /// Claims and sends batches until one is not full, the server is unreachable (`false`),
    /// or the budget is spent.
    async fn deliver_loop(
        &self,
        started: std::time::Instant,
        budget: Duration,
        done: &mut Delivered,
    ) -> anyhow::Result<bool> {
        let width = self.mailer.concurrency();
        // Rounds of `width` sends claimed at once: starts at one and grows while a round is
        // quick, so a database round trip is shared by many emails, yet a claimed row never
        // waits in line for more than a quarter of its lease (a slow server shrinks it).
        let mut rounds = 1usize;
        loop {
            let batch = (width * rounds) as i64;
            let claimed_at = std::time::Instant::now();
            let rows = notifications::claim_due(&self.db, self.clock.now(), self.lease, batch).await?;
            let full = rows.len() as i64 >= batch;
            let mut reached = rows.is_empty();
            for (_, outcome, unreachable) in self.send_claimed(rows).await? {
                reached |= !unreachable;
                done.count(outcome);
            }
            let per_round = claimed_at.elapsed() / rounds as u32;
            rounds =
                (self.lease.as_secs_f64() / 4.0 / per_round.as_secs_f64().max(1e-6)).clamp(1.0, MAX_ROUNDS) as usize;
            if !reached {
                return Ok(false);
            }
            if !full {
                return Ok(true);
            }
            if started.elapsed() >= budget {
                done.more = true;
                return Ok(true);
            }
        }
    }

    /// Sends claimed rows side by side (the transport's concurrency) and records them: the
    /// sent ones in one statement. Each outcome says whether the server was unreachable.
    async fn send_claimed(&self, rows: Vec<Claimed>) -> anyhow::Result<Vec<(NotificationId, Outcome, bool)>> {
        let links = self.mint_links(&rows).await?;
        let results: Vec<(Claimed, Result<(), mailer::SendError>)> = futures::stream::iter(rows.into_iter().zip(links))
            .map(|(row, link)| async move {
                let result = match self.render(&row, &link) {
                    Ok(message) => self.mailer.send(message).await,
                    Err(e) => Err(mailer::SendError { message: e, permanent: true, unreachable: false }),
                };
                (row, result)
            })
            .buffer_unordered(self.mailer.concurrency())
            .collect()
            .await;
        let sent: Vec<(NotificationId, u32)> =
            results.iter().filter(|(_, r)| r.is_ok()).map(|(row, _)| (row.id, row.attempt)).collect();
        self.keep_acceptance(&sent).await?;
        let mut outcomes = Vec::with_capacity(results.len());
        for (row, result) in results {
            let (outcome, unreachable) = match result {
                Ok(()) => {
                    tracing::info!(kind = %row.kind, attempt = row.attempt, notification = %row.id, "email sent");
                    (Outcome::Sent, false)
                }
                Err(e) => (self.record_failure(&row, &e).await?, e.unreachable),
            };
            outcomes.push((row.id, outcome, unreachable));
        }
        Ok(outcomes)
    }

    /// Mints the sign-in links of a batch (one statement for applicants' links, one for
    /// staff members'): each email to an applicant leads to the page it is about, a staff
    /// sign-in email to the staff pages. Returns each row's link path (empty where none
    /// applies).
    async fn mint_links(&self, rows: &[Claimed]) -> anyhow::Result<Vec<String>> {
        let mut applicants: Vec<(usize, fasttrack_core::store::web::LinkRequest)> = Vec::new();
        let mut staff: Vec<(usize, (String, String))> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if let Some(id) = row.context.get("staff_id").and_then(|v| v.as_str()) {
                let next = row.context.get("next").and_then(|v| v.as_str()).filter(|n| n.starts_with("/staff"));
                staff.push((i, (id.to_owned(), next.unwrap_or("/staff").to_owned())));
            } else if let Some(app) = row
                .context
                .get("application_id")
                .and_then(|v| v.as_str())
                .and_then(|a| a.parse::<fasttrack_core::ApplicationId>().ok())
            {
                let next = fasttrack_core::mail::landing_page(&row.kind, &app.to_string());
                applicants.push((i, fasttrack_core::store::web::LinkRequest { application: app, next }));
            }
        }
        let now = self.clock.now();
        let mut out = vec![String::new(); rows.len()];
        let requests: Vec<_> = applicants.iter().map(|(_, r)| r.clone()).collect();
        let secrets = fasttrack_core::store::web::mint_links(&self.db, &requests, now, self.link_ttl).await?;
        for ((i, _), secret) in applicants.into_iter().zip(secrets) {
            out[i] = format!("/sign-in/{secret}");
        }
        let requests: Vec<_> = staff.iter().map(|(_, r)| r.clone()).collect();
        let secrets = fasttrack_core::store::staff::mint_links(&self.db, &requests, now, self.link_ttl).await?;
        for ((i, _), secret) in staff.into_iter().zip(secrets) {
            out[i] = format!("/staff/sign-in/{secret}");
        }
        Ok(out)
    }

    fn render(&self, row: &Claimed, sign_in: &str) -> Result<lettre::Message, String> {
        let message_id = format!("<{}@{}>", row.id, self.id_domain);
        let context = render::with_links(&row.context, &self.site_url, sign_in, &self.link_valid_for);
        self.templates.message(&self.from, &row.recipient, &message_id, &row.template, &context).map_err(|e| {
            // A broken template or address will not mend by waiting.
            tracing::error!(kind = %row.kind, error = %e, "email cannot be rendered; marking dead");
            e.to_string()
        })
    }

    /// Records emails the server accepted. The acceptance is kept: while the database is
    /// away the mark is tried again (every half second at most) until it lands, instead of
    /// letting the rows fall due and go out a second time. Only if this process dies holding
    /// them may another worker send them again (after their lease, with the same Message-ID).
    async fn keep_acceptance(&self, sent: &[(NotificationId, u32)]) -> anyhow::Result<()> {
        if sent.is_empty() {
            return Ok(());
        }
        let (mut wait, mut tries) = (Duration::from_millis(50), 0u32);
        loop {
            match notifications::mark_sent_many(&self.db, sent, self.clock.now()).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    if tries % 20 == 0 {
                        tracing::warn!(error = %e, count = sent.len(), "could not record sent emails; keeping them and trying again");
                    }
                    tries += 1;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(500));
                }
            }
        }
    }

    async fn record_failure(&self, row: &Claimed, e: &mailer::SendError) -> anyhow::Result<Outcome> {
        let now = self.clock.now();
        if e.permanent || (row.attempt >= self.max_attempts && !e.unreachable) {
            tracing::warn!(kind = %row.kind, attempt = row.attempt, error = %e, "email failed for good; dead");
            notifications::mark_failed(&self.db, row.id, row.attempt, &e.message, None, now).await?;
            return Ok(Outcome::Dead);
        }
        let mut wait = backoff::delay(row.attempt, self.backoff_base, self.backoff_max);
        if e.unreachable {
            // Probing a server that is down costs nothing: keep the wait short so the
            // backlog goes soon after it returns.
            wait = wait.min(UNREACHABLE_RETRY_MAX);
        }
        let at = now + jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::from_secs(60));
        tracing::warn!(kind = %row.kind, attempt = row.attempt, retry_in_secs = wait.as_secs(), error = %e, "email failed; will retry");
        notifications::mark_failed(&self.db, row.id, row.attempt, &e.message, Some(at), now).await?;
        Ok(Outcome::Retrying(at))
    }
}

/// Most rounds of sends claimed at once.
const MAX_ROUNDS: f64 = 8.0;

/// The longest wait before trying again an email whose server could not be reached.
const UNREACHABLE_RETRY_MAX: Duration = Duration::from_secs(30);

/// What a `deliver_due` run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub dead: usize,
    pub retrying: usize,
    /// The earliest retry among the failures: a wake-up is due then.
    pub retry_at: Option<Timestamp>,
    /// The budget ran out with emails still due.
    pub more: bool,
}

impl Delivered {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::Dead => self.dead += 1,
            Outcome::Retrying(at) | Outcome::NotYetDue(at) => {
                self.retrying += 1;
                self.retry_at = Some(self.retry_at.map_or(at, |t| t.min(at)));
            }
            Outcome::Skipped => {}
        }
    }
}
