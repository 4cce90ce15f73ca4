//! A real SMTP server for the tests, speaking SMTP over TCP to lettre's
//! transport. It can be stopped and started again on the same port (to play
//! "SMTP is down"), and can answer every message with a chosen failure.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// 451: try again later.
    Transient,
    /// 550: no such mailbox.
    Permanent,
    /// Accept, but wait this long before the final 250 of DATA. A message counts as received
    /// only once that 250 is written: a client that disconnects first has not sent it.
    Slow(std::time::Duration),
}

#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// When the final 250 of DATA was written: the server accepted the message.
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

struct Shared {
    received: Mutex<Vec<Received>>,
    mode: Mutex<Mode>,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<JoinHandle<()>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared { received: Mutex::new(Vec::new()), mode: Mutex::new(Mode::Accept) });
        let server = Some(tokio::spawn(serve(listener, shared.clone())));
        Self { addr, shared, server }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Stops listening and drops every open connection: SMTP is down.
    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        let listener = TcpListener::bind(self.addr).await.expect("rebind SMTP sink");
        self.server = Some(tokio::spawn(serve(listener, self.shared.clone())));
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            return;
        };
        // The JoinSet is dropped (aborting every connection) when this task is aborted.
        connections.spawn(session(socket, shared.clone()));
    }
}

async fn session(socket: tokio::net::TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 fasttrack-test-sink ESMTP\r\n").await.is_err() {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let upper = line.to_ascii_uppercase();
        let mode = *shared.mode.lock().unwrap();
        let out: &str = if upper.starts_with("EHLO") {
            "250-fasttrack-test-sink\r\n250-8BITMIME\r\n250 PIPELINING\r\n"
        } else if upper.starts_with("HELO") {
            "250 fasttrack-test-sink\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            match mode {
                Mode::Accept | Mode::Slow(_) => {
                    from = line[10..].trim().to_owned();
                    to.clear();
                    "250 OK\r\n"
                }
                Mode::Transient => "451 4.3.0 try again later\r\n",
                Mode::Permanent => "550 5.1.1 mailbox unavailable\r\n",
            }
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_owned());
            "250 OK\r\n"
        } else if upper.starts_with("DATA") {
            if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
            }
            if let Mode::Slow(wait) = mode {
                // Wait, but notice a client that goes away meanwhile (EOF): it never got the 250.
                let mut probe = String::new();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    r = lines.read_line(&mut probe) => if matches!(r, Ok(0) | Err(_)) { return },
                }
            }
            if write.write_all(b"250 OK queued\r\n").await.is_err() || write.flush().await.is_err() {
                return;
            }
            shared.received.lock().unwrap().push(Received {
                from: from.clone(),
                to: to.clone(),
                data,
                at: std::time::Instant::now(),
            });
            continue;
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            // RSET, NOOP and anything else
            "250 OK\r\n"
        };
        if write.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}
