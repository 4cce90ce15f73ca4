//! How this process's workers are doing, per lane: when a worker last heard from its queue
//! (a heartbeat, a fetched job), its last error, how often it restarted, when it last
//! finished a job. `/ready` and `/metrics` read it, so a worker that cannot reach its queue
//! shows as not ready instead of only in the logs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The two lanes, as `Queue::lanes` orders them.
pub const LANES: [&str; 2] = ["jobs", "emails"];

#[derive(Debug, Clone, Default)]
pub struct LaneHealth {
    /// Last contact with the queue: start, heartbeat or a finished job.
    pub last_contact: Option<Instant>,
    pub last_job: Option<Instant>,
    pub last_error: Option<String>,
    pub restarts: u64,
    pub running: bool,
}

impl LaneHealth {
    /// Running, and heard from its queue within `within`.
    pub fn up(&self, within: Duration) -> bool {
        self.running && self.last_contact.is_some_and(|t| t.elapsed() <= within)
    }
}

/// How long a worker may go without hearing from its queue and still count as up: three
/// heartbeats and a little.
pub fn contact_window(heartbeat_secs: u64) -> Duration {
    Duration::from_secs(3 * heartbeat_secs + 2)
}

/// The health of one process's workers (one per `start`).
#[derive(Debug, Default)]
pub struct Health {
    lanes: Mutex<[Option<LaneHealth>; 2]>,
}

fn lane_of(worker: &str) -> Option<usize> {
    LANES.iter().position(|l| worker.contains(&format!("-{l}-")))
}

impl Health {
    fn update(&self, worker: &str, f: impl FnOnce(&mut LaneHealth)) {
        if let (Some(i), Ok(mut h)) = (lane_of(worker), self.lanes.lock()) {
            f(h[i].get_or_insert_with(LaneHealth::default));
        }
    }

    /// Feeds a worker event (from the monitor) into the lane's health.
    pub fn observe(&self, worker: &str, event: &apalis::prelude::Event) {
        use apalis::prelude::Event;
        let now = Instant::now();
        match event {
            Event::Start => self.update(worker, |h| {
                h.running = true;
                h.last_contact = Some(now);
            }),
            Event::HeartBeat => self.update(worker, |h| {
                h.last_contact = Some(now);
                h.last_error = None;
            }),
            Event::Success(_) => self.update(worker, |h| {
                h.last_contact = Some(now);
                h.last_job = Some(now);
            }),
            Event::Error(e) => self.update(worker, |h| h.last_error = Some(e.to_string())),
            Event::Stop | Event::Exit => self.update(worker, |h| h.running = false),
            _ => {}
        }
    }

    /// A worker of the lane stopped and is being started again.
    pub fn restarted(&self, worker: &str) {
        self.update(worker, |h| h.restarts += 1);
    }

    /// Every lane's health, in `LANES` order (`None`: no worker of that lane here).
    pub fn snapshot(&self) -> [Option<LaneHealth>; 2] {
        self.lanes.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Whether every lane with a worker heard from its queue within `within` (a few
    /// heartbeats): the process can do its work.
    pub fn in_contact(&self, within: Duration) -> Result<(), String> {
        for (name, lane) in LANES.iter().zip(self.snapshot()) {
            let Some(h) = lane else { continue };
            if !h.up(within) {
                let why = h.last_error.unwrap_or_else(|| "no contact".into());
                return Err(format!("{name} worker has not heard from its queue: {why}"));
            }
        }
        Ok(())
    }
}

impl Health {
    /// The lanes' health as JSON (for the database beat an admin reads): per lane, whether
    /// its worker runs, seconds since it heard from its queue and since its last job, its
    /// restarts and last error.
    pub fn to_json(&self) -> serde_json::Value {
        let age = |t: Option<Instant>| t.map(|t| (t.elapsed().as_secs_f64() * 10.0).round() / 10.0);
        let lanes: serde_json::Map<String, serde_json::Value> = LANES
            .iter()
            .zip(self.snapshot())
            .filter_map(|(name, h)| {
                let h = h?;
                Some((
                    (*name).to_owned(),
                    serde_json::json!({
                        "running": h.running,
                        "seconds_since_contact": age(h.last_contact),
                        "seconds_since_job": age(h.last_job),
                        "restarts": h.restarts,
                        "last_error": h.last_error,
                    }),
                ))
            })
            .collect();
        serde_json::Value::Object(lanes)
    }
}
