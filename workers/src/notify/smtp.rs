//! SMTP without TLS (a relay on the same network: the at-scale set-up) over our own small
//! pool of lettre connections whose sockets have TCP_NODELAY set.
//!
//! Why not lettre's pooled transport here: lettre 0.11.23 leaves Nagle's algorithm on, so
//! every message on a connection waits for the server's delayed ACK (~40 ms): about 23
//! messages a second per connection. Upstream lettre PR #1159 sets TCP_NODELAY; until a
//! release carries it, we open the socket ourselves and hand it to lettre's
//! `AsyncSmtpConnection::connect_with_transport`, which still speaks the protocol.
//! TLS relays (`smtps://`, `?tls=…`) keep lettre's own transport.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::Semaphore;

use super::mailer::{SendError, smtp_error};

/// A connection idle for longer than this is checked with NOOP before it carries a message;
/// servers close idle connections (RFC 5321 allows after 5 minutes), and a message must not
/// be the probe that finds out.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);

pub struct PlainSmtp {
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    slots: Semaphore,
}

impl PlainSmtp {
    /// For `smtp://[user:password@]host[:port]` with no `tls` parameter; `None` otherwise.
    pub fn from_url(url: &str, pool_size: u32, timeout: Duration) -> Option<Self> {
        let u = url::Url::parse(url).ok()?;
        if u.scheme() != "smtp" || u.query_pairs().any(|(k, _)| k == "tls") {
            return None;
        }
        let host = u.host_str()?.to_owned();
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = (!u.username().is_empty())
            .then(|| Credentials::new(decode(u.username()), decode(u.password().unwrap_or(""))));
        Some(Self {
            host,
            port: u.port().unwrap_or(25),
            credentials,
            hello: ClientId::default(),
            timeout,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(pool_size as usize),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let unreachable = |what: &str| SendError {
            message: format!("SMTP server unreachable: {what}"),
            permanent: false,
            unreachable: true,
        };
        let stream =
            tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect((self.host.as_str(), self.port)))
                .await
                .map_err(|_| unreachable("connect timed out"))?
                .map_err(|e| unreachable(&e.kind().to_string()))?;
        stream.set_nodelay(true).map_err(|e| unreachable(&e.kind().to_string()))?;
        let mut conn = tokio::time::timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello),
        )
        .await
        .map_err(|_| unreachable("no greeting in time"))?
        .map_err(|e| smtp_error(&e))?;
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await.map_err(|e| smtp_error(&e))?;
        }
        Ok(conn)
    }

    /// A live connection: an idle one (checked if it idled long), or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                None => return self.connect().await,
                Some((conn, _)) if conn.has_broken() => {}
                Some((conn, since)) if since.elapsed() < CHECK_AFTER_IDLE => return Ok(conn),
                Some((mut conn, _)) => {
                    if conn.test_connected().await {
                        return Ok(conn);
                    }
                }
            }
        }
    }

    /// Sends one message; at most `pool_size` at once. A connection that saw any error is
    /// dropped, never reused mid-conversation.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let _slot = self.slots.acquire().await.expect("never closed");
        let mut conn = self.checkout().await?;
        match tokio::time::timeout(self.timeout, conn.send(envelope, message)).await {
            Ok(Ok(_)) => {
                self.idle.lock().unwrap_or_else(|p| p.into_inner()).push((conn, Instant::now()));
                Ok(())
            }
            Ok(Err(e)) => Err(smtp_error(&e)),
            Err(_) => Err(SendError { message: "SMTP send timed out".into(), permanent: false, unreachable: false }),
        }
    }

    /// For a health check: a connection can be opened (or an idle one answers NOOP).
    pub async fn test_connection(&self) -> Result<(), SendError> {
        let conn = self.checkout().await?;
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push((conn, Instant::now()));
        Ok(())
    }
}
