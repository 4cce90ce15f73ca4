//! The job contract shared by producers (the API, the sweeper) and consumers
//! (the workers). Queue names are set explicitly: renaming a Rust type must not
//! strand queued jobs.

use fasttrack_core::NotificationId;
use serde::{Deserialize, Serialize};

/// Send the outbox email with this id (if it is still due).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEmail {
    pub notification_id: NotificationId,
}

/// The queue name of `SendEmail` jobs under a namespace.
pub fn email_queue(namespace: &str) -> String {
    format!("{namespace}:send-email")
}
