//! Prometheus metrics. Counters of this process (HTTP requests, submissions, email
//! outcomes of its workers) plus gauges read from the database at scrape time, which
//! stay right however many API and worker processes there are.

use std::sync::atomic::AtomicU64;

use fasttrack_core::store::{self, Db};
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
        Self { registry, http_requests, applications_submitted, applications, notifications, jobs }
    }

    pub async fn render(&self, db: &Db) -> anyhow::Result<String> {
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
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
