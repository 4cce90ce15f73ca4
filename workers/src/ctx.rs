//! What every job runs with: the database, the queue and the clock. Passing one
//! context keeps "what time is it" a dependency a test can move.

use std::time::Duration;

use fasttrack_core::store::Db;
use fasttrack_core::{Clock, NotificationId};

use crate::queue::Queue;

#[derive(Clone)]
pub struct Ctx {
    pub db: Db,
    pub queue: Queue,
    pub clock: Clock,
    /// A running job silent for this long is taken to be dead (its worker was killed).
    pub stale: Duration,
    /// The .eml folder on the embedded default (erasure deletes a person's files there).
    pub outbox: Option<std::path::PathBuf>,
}

impl Ctx {
    /// The context a process runs work with, from its settings.
    pub fn new(db: Db, queue: Queue, clock: Clock, settings: &fasttrack_core::settings::Settings) -> Self {
        Self {
            db,
            queue,
            clock,
            stale: Duration::from_secs(settings.workers.requeue_after_secs),
            outbox: settings.eml_outbox(),
        }
    }

    /// Pushes the jobs of emails whose rows are committed. A failed push loses nothing: the
    /// sweeper finds the rows and pushes them again.
    pub async fn enqueue_emails(&self, ids: &[NotificationId], what: &str) {
        if let Err(e) = self.queue.enqueue_emails(ids).await {
            tracing::warn!(error = format!("{e:#}"), "could not enqueue {what}; the sweeper will");
        }
    }
}
