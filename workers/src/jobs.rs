//! The job contract shared by producers (the API, the sweeper, other jobs) and
//! the workers. Every kind is one enum with one handler and one recovery path;
//! emails go on a lane of their own so that bulk email never delays the jobs
//! people wait for. The queue name is set explicitly:
//! renaming a Rust type must not strand queued jobs. A job only names a row;
//! the row decides what happens, so running a job twice is harmless.

use fasttrack_core::{ApplicationId, NotificationId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Wake-up for the email worker: send whatever the outbox has due. `at` (milliseconds
    /// since the epoch) is set on a wake-up pushed ahead for a retry; one that arrives before
    /// then waits for it rather than finding nothing and vanishing.
    SendEmails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<i64>,
    },
    /// Of earlier versions, which pushed a job per email: still understood, as a wake-up.
    SendEmail { notification_id: NotificationId },
    /// Score an application whose tests are all in.
    ScoreApplication { application_id: ApplicationId },
    /// Run the sift recorded as this row of `jobs`.
    RunSift { job_id: String },
    /// Schedule shortlisted candidates into assessment-centre sessions (this row of `jobs`).
    RunSchedule { job_id: String },
    /// Decide offers, reserve and rejections after the assessment centres (this row of `jobs`).
    RunDecisions { job_id: String },
}

impl Job {
    /// A wake-up for the email worker.
    pub const WAKE_EMAILS: Job = Job::SendEmails { at: None };

    pub fn name(&self) -> &'static str {
        match self {
            Job::SendEmails { .. } | Job::SendEmail { .. } => "send_emails",
            Job::ScoreApplication { .. } => "score_application",
            Job::RunSift { .. } => "run_sift",
            Job::RunSchedule { .. } => "run_schedule",
            Job::RunDecisions { .. } => "run_decisions",
        }
    }
}

impl Job {
    /// Bulk email travels on its own lane (`email_queue_name`).
    pub fn is_email(&self) -> bool {
        matches!(self, Job::SendEmails { .. } | Job::SendEmail { .. })
    }
}

/// The name of the lane of user-facing jobs under a namespace.
pub fn queue_name(namespace: &str) -> String {
    format!("{namespace}:jobs")
}

/// The name of the email lane under a namespace.
pub fn email_queue_name(namespace: &str) -> String {
    format!("{namespace}:emails")
}
