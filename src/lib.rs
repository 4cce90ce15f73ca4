//! fasttrack: the HTTP API, the command line and start-up. The domain and storage
//! live in `fasttrack-core`, background work in `fasttrack-workers`.

pub mod cli;
pub mod http;
pub mod metrics;
pub mod pages;
pub mod rescore;
pub mod startup;
pub mod telemetry;
