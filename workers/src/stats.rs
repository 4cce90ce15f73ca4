//! Counts of jobs this process ran, by job and outcome, for `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

static COUNTS: Mutex<BTreeMap<(&'static str, &'static str), u64>> = Mutex::new(BTreeMap::new());

pub fn record(job: &'static str, outcome: &'static str) {
    if let Ok(mut c) = COUNTS.lock() {
        *c.entry((job, outcome)).or_default() += 1;
    }
}

pub fn snapshot() -> Vec<(&'static str, &'static str, u64)> {
    COUNTS.lock().map(|c| c.iter().map(|((j, o), n)| (*j, *o, *n)).collect()).unwrap_or_default()
}
