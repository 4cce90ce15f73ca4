//! Where emails go: a folder of .eml files (embedded default) or an SMTP relay
//! through lettre's pooled transport (at scale).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use fasttrack_core::settings::Settings;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub enum Mailer {
    File { dir: PathBuf, transport: AsyncFileTransport<Tokio1Executor> },
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, timeout: Duration },
}

/// Why a send failed: `permanent` (a 5xx from the server, e.g. no such mailbox) is not retried.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        if settings.mail.url.is_empty() {
            let dir = settings.mail_outbox_dir();
            std::fs::create_dir_all(&dir).with_context(|| format!("creating the mail outbox {}", dir.display()))?;
            Ok(Self::File { transport: AsyncFileTransport::new(&dir), dir })
        } else {
            let timeout = Duration::from_secs(settings.mail.send_timeout_secs);
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.mail.url)
                .context("invalid settings: mail.url")?
                .timeout(Some(timeout))
                .pool_config(PoolConfig::new().max_size(settings.mail.pool_size))
                .build();
            Ok(Self::Smtp { transport, timeout })
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Self::File { transport, .. } => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| SendError { message: e.to_string(), permanent: false }),
            Self::Smtp { transport, timeout } => {
                // lettre's own timeout covers each socket operation; this bounds the whole
                // conversation to the same figure, so a send never outlives workers.lease_secs.
                match tokio::time::timeout(*timeout, transport.send(message)).await {
                    Err(_) => Err(SendError { message: "SMTP send timed out".into(), permanent: false }),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(SendError { permanent: e.is_permanent(), message: smtp_error_text(&e) }),
                }
            }
        }
    }

    /// For /ready: the outbox folder exists, or the SMTP server answers.
    pub async fn ping(&self) -> anyhow::Result<()> {
        match self {
            Self::File { dir, .. } => {
                anyhow::ensure!(
                    tokio::fs::metadata(dir).await.is_ok_and(|m| m.is_dir()),
                    "mail outbox folder is missing"
                );
                Ok(())
            }
            Self::Smtp { transport, timeout } => {
                let ok = tokio::time::timeout(*timeout, transport.test_connection())
                    .await
                    .context("SMTP did not answer in time")??;
                anyhow::ensure!(ok, "SMTP server refused the connection test");
                Ok(())
            }
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::File { .. } => "eml-folder",
            Self::Smtp { .. } => "smtp",
        }
    }
}

/// The error without recipient addresses (lettre errors can quote the server's reply,
/// which may echo the address; keep the status code and the first words only).
fn smtp_error_text(e: &lettre::transport::smtp::Error) -> String {
    let code = e.status().map(|c| format!("SMTP {c}: ")).unwrap_or_default();
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_transient() {
        "transient error"
    } else if e.is_permanent() {
        "permanent error"
    } else if e.is_client() {
        "client error"
    } else {
        "connection error"
    };
    format!("{code}{kind}")
}
