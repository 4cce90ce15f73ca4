//! fasttrack-workers: background work. It owns the job contract (`jobs`), the
//! queue on either backend (`queue`: SQLite embedded, Redis at scale), the
//! workers — emails (`notify`), test scoring (`score`), the sift (`sift`) — the
//! sweeper that re-enqueues work whose job was lost (`sweep`), and starting and
//! stopping them all (`run`).
//!
//! The database is the source of truth: a job only names a row, and the row
//! decides what happens, so a job that runs twice or is lost changes nothing.

pub mod ctx;
pub mod decisions;
pub mod drain;
pub mod health;
pub mod jobs;
pub mod notify;
pub mod queue;
pub mod retention;
pub mod run;
pub mod schedule;
pub mod score;
pub mod sift;
pub mod stats;
pub mod sweep;
pub mod tracked;

pub use ctx::Ctx;
pub use notify::{Mailer, Notifier};
pub use queue::Queue;
pub use run::{Workers, start};
