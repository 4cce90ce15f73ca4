//! Where emails go: a folder of .eml files (embedded default), or an SMTP relay (at scale)
//! through our TCP_NODELAY pool for plain SMTP (`smtp.rs`) or lettre's pooled transport
//! for TLS.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fasttrack_core::settings::Settings;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::smtp::PlainSmtp;

#[derive(Clone)]
pub enum Mailer {
    /// `<notification id>.eml` files in a folder (named from the Message-ID, so erasure can
    /// find a person's emails and delete them).
    File { dir: PathBuf },
    /// Plain SMTP to a relay, on sockets with TCP_NODELAY.
    Plain { pool: Arc<PlainSmtp>, pool_size: u32 },
    /// SMTP over TLS, through lettre's pool.
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, timeout: Duration, pool_size: u32 },
}

/// Why a send failed: `permanent` (a 5xx from the server, e.g. no such mailbox) is not
/// retried; `unreachable` (no connection to the server at all) says nothing about the message,
/// so it does not use up the message's attempts.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
    pub unreachable: bool,
}

/// The file an email is written to: `<id>.eml`, `id` being the local part of its Message-ID
/// (the outbox row's id), so a re-send after a crash overwrites rather than duplicates.
pub fn eml_name(message: &Message) -> String {
    let id = message
        .headers()
        .get_raw("Message-ID")
        .and_then(|m| m.trim().trim_start_matches('<').split('@').next().map(str::to_owned))
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    format!("{id}.eml")
}

/// Writes the message whole, then renames it into place: a reader never sees half a file.
async fn write_eml(dir: &std::path::Path, message: &Message) -> std::io::Result<()> {
    let name = eml_name(message);
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, message.formatted()).await?;
    tokio::fs::rename(&tmp, dir.join(name)).await
}

/// How many .eml files are written at once.
const FILE_CONCURRENCY: usize = 16;

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        if settings.mail.url.is_empty() {
            let dir = settings.mail_outbox_dir();
            std::fs::create_dir_all(&dir).with_context(|| format!("creating the mail outbox {}", dir.display()))?;
            Ok(Self::File { dir })
        } else {
            let timeout = Duration::from_secs(settings.mail.send_timeout_secs);
            let pool_size = settings.mail.pool_size;
            if let Some(pool) = PlainSmtp::from_url(&settings.mail.url, pool_size, timeout) {
                return Ok(Self::Plain { pool: Arc::new(pool), pool_size });
            }
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.mail.url)
                .context("invalid settings: mail.url")?
                .timeout(Some(timeout))
                .pool_config(PoolConfig::new().max_size(settings.mail.pool_size))
                .build();
            Ok(Self::Smtp { transport, timeout, pool_size })
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Self::File { dir } => write_eml(dir, &message).await.map_err(|e| SendError {
                message: format!("writing the .eml file: {e}"),
                permanent: false,
                unreachable: false,
            }),
            Self::Plain { pool, .. } => pool.send(message.envelope(), &message.formatted()).await,
            Self::Smtp { transport, timeout, .. } => {
                // lettre's own timeout covers each socket operation; this bounds the whole
                // conversation to the same figure, so a send never outlives workers.lease_secs.
                match tokio::time::timeout(*timeout, transport.send(message)).await {
                    Err(_) => {
                        Err(SendError { message: "SMTP send timed out".into(), permanent: false, unreachable: false })
                    }
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(smtp_error(&e)),
                }
            }
        }
    }

    /// How many messages this transport takes at once (a batch is sent this wide).
    pub fn concurrency(&self) -> usize {
        match self {
            Self::File { .. } => FILE_CONCURRENCY,
            Self::Plain { pool_size, .. } | Self::Smtp { pool_size, .. } => *pool_size as usize,
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
            Self::Plain { pool, .. } => Ok(pool.test_connection().await?),
            Self::Smtp { transport, timeout, .. } => {
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
            Self::Plain { .. } | Self::Smtp { .. } => "smtp",
        }
    }
}

/// A lettre SMTP error as a `SendError`: a reply from the server is about the message; no
/// reply at all (a connection or network error) means the server is unreachable.
pub(super) fn smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    let answered = e.status().is_some() || e.is_response();
    SendError { permanent: e.is_permanent(), unreachable: !answered && !e.is_client(), message: smtp_error_text(e) }
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
