//! The email worker's throughput and the queue's figures, each beside its raw ceiling from
//! the same run:
//! - `.eml` outbox (embedded: SQLite): `Notifier::deliver_due` over N committed outbox rows
//!   (claim in batches, render, write, mark in batches) vs writing the same bytes to N files,
//!   16 at a time, with nothing else;
//! - SMTP (PostgreSQL): the same over our TCP_NODELAY pool to a local sink vs a raw SMTP
//!   client (EHLO once, then MAIL/RCPT/DATA per message, TCP_NODELAY) on as many connections;
//! - enqueue: one push of one job (what a request does after its commit) on Redis and the
//!   SQLite queue vs a raw RPUSH / a raw single-row INSERT into the same store;
//! - priority: a schedule job pushed through real workers on an idle queue, and again with
//!   10,000 emails pending and being sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fasttrack_core::settings::Settings;
use fasttrack_core::store::Db;
use fasttrack_core::store::notifications::{NewNotification, insert_many};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{drop_pg, env_or, fresh_pg, settings};

/// A fast local SMTP server: answers every command at once, counts messages.
pub async fn sink() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                stream.set_nodelay(true).ok();
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let mut line = String::new();
                w.write_all(b"220 sink ESMTP\r\n").await.ok();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match cmd.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            w.write_all(b"354 go on\r\n").await.ok();
                            loop {
                                line.clear();
                                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                            }
                            c.fetch_add(1, Ordering::Relaxed);
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            w.write_all(b"221 bye\r\n").await.ok();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, count)
}

pub async fn backlog(db: &Db, n: usize) {
    let mail = fasttrack_core::domain::mail::Mail::examples().remove(0);
    let rows: Vec<NewNotification> = (0..n)
        .map(|i| NewNotification::new("", &format!("bench{i}@example.ac.uk"), &mail, format!("bench:{i}")))
        .collect();
    let mut tx = db.begin().await.unwrap();
    insert_many(&mut tx, &rows, jiff::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
}

/// One rendered email, as the worker would send it.
fn sample_message() -> Vec<u8> {
    let mail = fasttrack_core::domain::mail::Mail::examples().remove(0);
    fasttrack_workers::notify::Templates::new()
        .message(
            "fasttrack <noreply@fasttrack.example>",
            "bench@example.ac.uk",
            "<x@fasttrack.example>",
            mail.kind(),
            &mail.context(),
        )
        .unwrap()
        .formatted()
}

/// `deliver_due` until the outbox is empty: emails a second.
async fn worker_rate(s: &Settings, n: usize) -> f64 {
    let (db, _queue) = fasttrack::startup::connect(s).await.unwrap();
    backlog(&db, n).await;
    let clock = fasttrack_core::Clock::system(jiff::tz::TimeZone::UTC);
    let mailer = fasttrack_workers::Mailer::from_settings(s).unwrap();
    let notifier = fasttrack_workers::Notifier::new(db.clone(), mailer, s, clock);
    let t = Instant::now();
    let mut sent = 0;
    while sent < n {
        let d = notifier.deliver_due(Duration::MAX).await.unwrap();
        assert!(d.sent > 0, "nothing sent: {d:?}");
        sent += d.sent;
    }
    let secs = t.elapsed().as_secs_f64();
    db.close().await;
    n as f64 / secs
}

/// The mailer alone: pre-built messages, `conns` at once, no database.
async fn transport_rate(s: &Settings, n: usize, conns: usize) -> f64 {
    use futures::StreamExt;
    let mailer = fasttrack_workers::Mailer::from_settings(s).unwrap();
    let (templates, mail) =
        (fasttrack_workers::notify::Templates::new(), fasttrack_core::domain::mail::Mail::examples().remove(0));
    let messages: Vec<_> = (0..n)
        .map(|_| {
            templates
                .message(
                    "fasttrack <noreply@fasttrack.example>",
                    "bench@example.ac.uk",
                    "<x@fasttrack.example>",
                    mail.kind(),
                    &mail.context(),
                )
                .unwrap()
        })
        .collect();
    let t = Instant::now();
    futures::stream::iter(messages)
        .map(|m| {
            let mailer = &mailer;
            async move { mailer.send(m).await.unwrap() }
        })
        .buffer_unordered(conns)
        .collect::<Vec<()>>()
        .await;
    n as f64 / t.elapsed().as_secs_f64()
}

/// Raw SMTP: `conns` connections with TCP_NODELAY, each sending its share in turn.
async fn raw_smtp_rate(addr: SocketAddr, conns: usize, n: usize, message: Arc<Vec<u8>>) -> f64 {
    let t = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|k| {
            let message = message.clone();
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let mut line = String::new();
                async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, line: &mut String) {
                    loop {
                        line.clear();
                        r.read_line(line).await.unwrap();
                        if line.as_bytes().get(3) != Some(&b'-') {
                            return;
                        }
                    }
                }
                reply(&mut r, &mut line).await;
                w.write_all(b"EHLO raw\r\n").await.unwrap();
                reply(&mut r, &mut line).await;
                for _ in (k..n).step_by(conns) {
                    for cmd in [
                        &b"MAIL FROM:<noreply@fasttrack.example>\r\n"[..],
                        b"RCPT TO:<bench@example.ac.uk>\r\n",
                        b"DATA\r\n",
                    ] {
                        w.write_all(cmd).await.unwrap();
                        reply(&mut r, &mut line).await;
                    }
                    w.write_all(&message).await.unwrap();
                    w.write_all(b"\r\n.\r\n").await.unwrap();
                    reply(&mut r, &mut line).await;
                }
                w.write_all(b"QUIT\r\n").await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// Python's smtplib (one `SMTP.sendmail` per message, `conns` threads with a connection
/// each): the client STACK-NOTES measured lettre against. `None` without python3.
fn smtplib_rate(addr: SocketAddr, conns: usize, n: usize, message: &[u8]) -> Option<f64> {
    let dir = tempfile::tempdir().ok()?;
    let msg = dir.path().join("message.eml");
    std::fs::write(&msg, message).ok()?;
    let script = format!(
        r#"
import smtplib, socket, threading, time
msg = open({msg:?}, 'rb').read()
def run(k):
    s = smtplib.SMTP('{ip}', {port})
    s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(k, {n}, {conns}):
        s.sendmail('noreply@fasttrack.example', ['bench@example.ac.uk'], msg)
    s.quit()
t = time.time()
ts = [threading.Thread(target=run, args=(k,)) for k in range({conns})]
[x.start() for x in ts]; [x.join() for x in ts]
print({n} / (time.time() - t))
"#,
        ip = addr.ip(),
        port = addr.port(),
    );
    let out = std::process::Command::new("python3").arg("-c").arg(script).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Writing the same bytes to `n` files, 16 at a time: the folder's ceiling.
async fn raw_files_rate(dir: &std::path::Path, n: usize, message: Arc<Vec<u8>>) -> f64 {
    use futures::StreamExt;
    let t = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let (path, message) = (dir.join(format!("raw-{i}.eml")), message.clone());
            async move { tokio::fs::write(path, &*message).await.unwrap() }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    n as f64 / t.elapsed().as_secs_f64()
}

pub async fn email_table(redis: &str) -> String {
    let n = env_or("BENCH_EMAIL_N", 5_000) as usize;
    let message = Arc::new(sample_message());
    let (templates, mail) =
        (fasttrack_workers::notify::Templates::new(), fasttrack_core::domain::mail::Mail::examples().remove(0));
    let t = Instant::now();
    for i in 0..n {
        let to = format!("bench{i}@example.ac.uk");
        let m = templates.message(
            "fasttrack <noreply@fasttrack.example>",
            &to,
            "<x@fasttrack.example>",
            mail.kind(),
            &mail.context(),
        );
        std::hint::black_box(m.unwrap().formatted());
    }
    let render = n as f64 / t.elapsed().as_secs_f64();
    let mut out = format!(
        "\n| emails ({n}; rendering alone, one core: {render:.0}/s) | fasttrack emails/s | raw ceiling/s | ratio |\n|---|---|---|---|"
    );
    // .eml outbox on the embedded default.
    let dir = tempfile::tempdir().unwrap();
    let lite = settings(dir.path(), &[]);
    let ours = worker_rate(&lite, n).await;
    let raw_dir = tempfile::tempdir().unwrap();
    let raw = raw_files_rate(raw_dir.path(), n, message.clone()).await;
    out += &format!(
        "\n| .eml folder (SQLite), claim/mark in batches | {ours:.0} | {raw:.0} (files written, 16 at once) | {:.2} |",
        ours / raw
    );
    // SMTP at scale.
    let (addr, received) = sink().await;
    let (url, name) = fresh_pg("email").await;
    let dir = tempfile::tempdir().unwrap();
    let pool = 8;
    let pg = settings(
        dir.path(),
        &[
            ("DATABASE__URL", url),
            ("QUEUE__URL", redis.to_owned()),
            ("QUEUE__NAMESPACE", name.clone()),
            ("MAIL__URL", format!("smtp://{addr}")),
            ("MAIL__POOL_SIZE", pool.to_string()),
        ],
    );
    let ours = worker_rate(&pg, n).await;
    assert_eq!(received.load(Ordering::Relaxed), n as u64, "every email reached the sink once");
    let smtplib = tokio::task::spawn_blocking({
        let message = message.clone();
        move || smtplib_rate(addr, pool, n, &message)
    })
    .await
    .unwrap();
    let raw = raw_smtp_rate(addr, pool, n, message).await;
    let alone = transport_rate(&pg, n, pool).await;
    out += &format!(
        "\n| SMTP (PostgreSQL), pool of {pool}, TCP_NODELAY | {ours:.0} | {raw:.0} (raw client, {pool} connections, TCP_NODELAY) | {:.2} |\n| — the transport alone (lettre on our sockets, pre-built messages, no database) | {alone:.0} | {raw:.0} | {:.2} |",
        ours / raw,
        alone / raw
    );
    if let Some(py) = smtplib {
        out += &format!(
            "\n| — beside Python's smtplib ({pool} threads, TCP_NODELAY; the client STACK-NOTES measured) | {ours:.0} | {py:.0} | {:.2} |",
            ours / py
        );
    }
    drop_pg(&name).await;
    out
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// One push of one job, `n` times in a row: p50 and p99 in ms, beside the raw store's.
pub async fn enqueue_table(redis: &str) -> String {
    use fasttrack_workers::jobs::Job;
    let n = 2_000;
    let mut out = "\n| enqueue one job (after a commit) | p50 / p99 ms | raw store p50 / p99 ms | ratio (p50) |\n|---|---|---|---|".to_owned();
    // `n` runs of one awaited push, timed one by one: (p50, p99) in ms.
    macro_rules! timed {
        ($push:expr) => {{
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                $push;
                v.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (percentile(&mut v, 0.5), percentile(&mut v, 0.99))
        }};
    }
    // Redis.
    let ns = format!("ft_test_bench_enqueue_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &[("QUEUE__URL", redis.to_owned()), ("QUEUE__NAMESPACE", ns.clone())]);
    let queue = fasttrack_workers::Queue::connect(&s).await.unwrap();
    let ours = timed!(queue.enqueue(&[Job::WAKE_EMAILS]).await.unwrap());
    let client = redis::Client::open(redis).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{ns}:raw");
    let raw = timed!({
        let _: i64 =
            redis::cmd("RPUSH").arg(&key).arg("{\"job\":\"send_emails\"}").query_async(&mut conn).await.unwrap();
    });
    out += &format!(
        "\n| Redis | {:.2} / {:.2} | {:.2} / {:.2} (RPUSH) | {:.1} |",
        ours.0,
        ours.1,
        raw.0,
        raw.1,
        ours.0 / raw.0
    );
    super::drop_redis_namespace(redis, &ns).await;
    // The SQLite queue.
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &[]);
    let queue = fasttrack_workers::Queue::connect(&s).await.unwrap();
    let ours = timed!(queue.enqueue(&[Job::WAKE_EMAILS]).await.unwrap());
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("raw.db")).create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.unwrap();
    sqlx::query("CREATE TABLE raw (id TEXT PRIMARY KEY, job TEXT)").execute(&pool).await.unwrap();
    let raw = timed!(
        sqlx::query("INSERT INTO raw VALUES (?1, ?2)")
            .bind(ulid::Ulid::generate().to_string())
            .bind("{\"job\":\"send_emails\"}")
            .execute(&pool)
            .await
            .unwrap()
    );
    out += &format!(
        "\n| SQLite queue | {:.2} / {:.2} | {:.2} / {:.2} (INSERT, WAL) | {:.1} |",
        ours.0,
        ours.1,
        raw.0,
        raw.1,
        ours.0 / raw.0
    );
    out
}
