//! Prometheus metrics. Counters of this process (HTTP requests, submissions, email
//! outcomes of its workers) plus gauges read from the database at scrape time, which
//! stay right however many API and worker processes there are.

use std::sync::atomic::AtomicU64;

use fasttrack_core::store::{self, Db};
use fasttrack_workers::Queue;
use fasttrack_workers::health::Health;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern (`/api/v1/applications/{id}`), never the concrete path.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    scheme: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabels {
    lane: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
    outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub applications_submitted: Counter,
    applications: Family<StatusLabels, Gauge>,
    notifications: Family<StateLabels, Gauge>,
    jobs: Family<JobLabels, Counter<u64, AtomicU64>>,
    worker_up: Family<LaneLabels, Gauge>,
    worker_since_contact: Family<LaneLabels, Gauge<f64, AtomicU64>>,
    worker_since_job: Family<LaneLabels, Gauge<f64, AtomicU64>>,
    worker_restarts: Family<LaneLabels, Gauge>,
    queue_waiting: Family<LaneLabels, Gauge>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("fasttrack");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered by this process", http_requests.clone());
        let applications_submitted = Counter::default();
        registry.register(
            "applications_submitted",
            "Applications accepted by this process",
            applications_submitted.clone(),
        );
        let applications = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "applications",
            "Applications by scheme and status (from the database)",
            applications.clone(),
        );
        let notifications = Family::<StateLabels, Gauge>::default();
        registry.register(
            "emails",
            "Emails in the outbox by state: pending, sending, sent, dead (from the database)",
            notifications.clone(),
        );
        let jobs = Family::<JobLabels, Counter<u64, AtomicU64>>::default();
        registry.register("jobs_processed", "Background jobs run by this process's workers, by outcome", jobs.clone());
        let worker_up = Family::<LaneLabels, Gauge>::default();
        registry.register(
            "worker_up",
            "1 if this process's worker of the lane is running and heard from its queue within 3 heartbeats",
            worker_up.clone(),
        );
        let worker_since_contact = Family::<LaneLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "worker_seconds_since_contact",
            "Seconds since this process's worker of the lane last heard from its queue",
            worker_since_contact.clone(),
        );
        let worker_since_job = Family::<LaneLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "worker_seconds_since_job",
            "Seconds since this process's worker of the lane last finished a job",
            worker_since_job.clone(),
        );
        let worker_restarts = Family::<LaneLabels, Gauge>::default();
        registry.register(
            "worker_restarts",
            "Times this process's worker of the lane was restarted",
            worker_restarts.clone(),
        );
        let queue_waiting = Family::<LaneLabels, Gauge>::default();
        registry.register(
            "queue_waiting",
            "Jobs waiting in the lane (from the queue, shared by every process)",
            queue_waiting.clone(),
        );
        Self {
            registry,
            http_requests,
            applications_submitted,
            applications,
            notifications,
            jobs,
            worker_up,
            worker_since_contact,
            worker_since_job,
            worker_restarts,
            queue_waiting,
        }
    }

    /// `workers`: this process runs workers, on this queue (their health and the queue's
    /// depth are shown).
    pub async fn render(
        &self,
        db: &Db,
        workers: Option<(&Queue, &Health)>,
        heartbeat_secs: u64,
    ) -> anyhow::Result<String> {
        self.applications.clear();
        for (scheme, status, n) in store::applications::counts_by_status(db).await? {
            self.applications.get_or_create(&StatusLabels { scheme, status }).set(n);
        }
        self.notifications.clear();
        for state in store::notifications::STATES {
            self.notifications.get_or_create(&StateLabels { state: state.into() }).set(0);
        }
        for (state, n) in store::notifications::counts_by_state(db).await? {
            self.notifications.get_or_create(&StateLabels { state }).set(n);
        }
        for (job, outcome, n) in fasttrack_workers::stats::snapshot() {
            let c = self.jobs.get_or_create(&JobLabels { job: job.into(), outcome: outcome.into() });
            let seen = c.get();
            c.inc_by(n.saturating_sub(seen));
        }
        if let Some((queue, health)) = workers {
            self.worker_health(queue, health, heartbeat_secs).await;
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Metrics {
    async fn worker_health(&self, queue: &Queue, health: &Health, heartbeat_secs: u64) {
        let within = fasttrack_workers::health::contact_window(heartbeat_secs);
        for (lane, health) in fasttrack_workers::health::LANES.iter().zip(health.snapshot()) {
            let Some(h) = health else { continue };
            let l = LaneLabels { lane: (*lane).into() };
            self.worker_up.get_or_create(&l).set(i64::from(h.up(within)));
            let age = |t: Option<std::time::Instant>| t.map_or(f64::INFINITY, |t| t.elapsed().as_secs_f64());
            self.worker_since_contact.get_or_create(&l).set(age(h.last_contact));
            self.worker_since_job.get_or_create(&l).set(age(h.last_job));
            self.worker_restarts.get_or_create(&l).set(h.restarts as i64);
        }
        // The queue may be the thing that is down: its depth is then left out, not an error.
        if let Ok(Ok(depth)) = tokio::time::timeout(std::time::Duration::from_secs(1), queue.depth()).await {
            for (lane, n) in fasttrack_workers::health::LANES.iter().zip(depth) {
                self.queue_waiting.get_or_create(&LaneLabels { lane: (*lane).into() }).set(n as i64);
            }
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
