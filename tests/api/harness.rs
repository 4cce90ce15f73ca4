//! What the tests that run the service as real processes share: `fasttrack` child
//! processes with their logs in files, a fresh PostgreSQL database, a Redis of the test's
//! own, a TCP proxy in front of PostgreSQL that the test can cut, and deadline waits.
//! Everything is stopped by `Drop`, so a failing test leaves no process behind.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::postgres_admin_url;

/// `FASTTRACK__<KEY>=<value>` variables for a process, from `(KEY, value)` pairs.
pub fn fasttrack_env<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Vec<(String, String)> {
    pairs.into_iter().map(|(k, v)| (format!("FASTTRACK__{k}"), v)).collect()
}

/// Whether the API at `base` (http://host:port) answers `/health`.
pub async fn healthy(client: &reqwest::Client, base: &str) -> bool {
    client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status() == 200)
}

/// A port nobody listens on now (the OS's choice; bind it soon).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 100 ms until it gives a value, or `secs` pass (then `None`).
pub async fn within<T>(secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `f` every 100 ms until it gives a value; fails the test after `secs`.
pub async fn until<T>(what: &str, secs: u64, f: impl AsyncFnMut() -> Option<T>) -> T {
    match within(secs, f).await {
        Some(v) => v,
        None => panic!("timed out waiting for {what} ({secs} s)"),
    }
}

/// A `fasttrack` process (`serve`, `work`, …) that the test starts, kills and starts again.
/// Its stdout and stderr (the logs) go to one file, kept across restarts; killed on drop.
pub struct Proc {
    pub name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Proc {
    /// Starts `fasttrack <args>` with `env` (FASTTRACK__… variables), logging to `<logs>/<name>.log`.
    pub fn start(name: &str, args: &[&str], env: &[(String, String)], logs: &Path) -> Proc {
        let mut p = Proc {
            name: name.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env.to_vec(),
            log: logs.join(format!("{name}.log")),
            child: None,
            starts: 0,
        };
        p.restart();
        p
    }

    /// Starts the process again (after `kill`), with the same arguments and environment.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is still running", self.name);
        self.starts += 1;
        let mut log = File::options().create(true).append(true).open(&self.log).expect("open the process log");
        let _ = writeln!(log, "=== {} start {} ===", self.name, self.starts);
        let child = Command::new(env!("CARGO_BIN_EXE_fasttrack"))
            .args(&self.args)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().cloned())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start fasttrack");
        self.child = Some(child);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a signal by name (`TERM`, `STOP`, …).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([format!("-{sig}"), self.pid().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -{sig} {}", self.name);
    }

    /// Waits up to `secs` for the process to exit by itself; its exit status, if it did.
    pub async fn exited_within(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let status = within(secs, async || child.try_wait().unwrap()).await;
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A database of the test's own on the shared PostgreSQL cluster, dropped on drop.
pub struct PgDatabase {
    pub name: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let name = format!("ft_test_{}", ulid::Ulid::generate().to_string().to_lowercase());
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("PostgreSQL");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
        PgDatabase { name }
    }

    /// Its URL on the cluster (direct, not through any proxy).
    pub fn url(&self) -> String {
        format!("{}/{}", postgres_admin_url().rsplit_once('/').unwrap().0, self.name)
    }

    /// Its URL through a proxy listening on `addr`.
    pub fn url_via(&self, addr: SocketAddr) -> String {
        let admin = postgres_admin_url();
        let (scheme, rest) = admin.split_once("://").unwrap();
        let user = rest.split_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
        format!("{scheme}://{user}{addr}/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop runs outside async: a thread of its own with its own runtime does the SQL.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut admin)
                        .await;
                }
            })
        })
        .join();
    }
}

/// A Redis of the test's own, on a spare port, that the test can empty, freeze, kill and
/// start again (on the same port). Nothing is kept on disk.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn start() -> Self {
        let mut r = OwnRedis { port: free_port(), child: None };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on its port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "our redis-server is still running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package) is needed for this test");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "our redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as when a
    /// Redis under load or behind a cut network stops responding.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let sig = if frozen { "-STOP" } else { "-CONT" };
        assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    }

    /// Kills it (SIGKILL): every queued job is gone, as in a restart without persistence.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-CONT", &c.id().to_string()]).status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs one command on it, e.g. `FLUSHALL` or `DBSIZE`.
    pub async fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query_async(&mut conn).await
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP proxy in front of PostgreSQL: the processes connect through it, and the test can
/// `cut` the database off (every open connection dropped, new ones refused) and `restore` it.
pub struct PgProxy {
    pub addr: SocketAddr,
    upstream: SocketAddr,
    live: Arc<AtomicUsize>,
    server: Option<JoinHandle<()>>,
}

impl PgProxy {
    /// A proxy to PostgreSQL at `upstream` (e.g. 127.0.0.1:5432) on a port of its own.
    pub async fn start(upstream: SocketAddr) -> PgProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let live = Arc::new(AtomicUsize::new(0));
        let server = Some(tokio::spawn(proxy(listener, upstream, live.clone())));
        PgProxy { addr, upstream, live, server }
    }

    /// Connections open through the proxy now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Drops every open connection and stops listening (a connect is refused) until `restore`.
    /// Returns how many connections were cut.
    pub async fn cut(&mut self) -> usize {
        let n = self.live();
        if let Some(s) = self.server.take() {
            s.abort();
            let _ = s.await; // the listener and every connection are closed once it returns
        }
        n
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        assert!(self.server.is_none(), "the proxy is not cut");
        let listener = TcpListener::bind(self.addr).await.expect("rebind the proxy");
        self.server = Some(tokio::spawn(proxy(listener, self.upstream, self.live.clone())));
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

/// Counts a connection as live while it is held.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn proxy(listener: TcpListener, upstream: SocketAddr, live: Arc<AtomicUsize>) {
    // Dropped (aborting, so closing, every connection) when this task is aborted.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else { continue };
                live.fetch_add(1, Ordering::SeqCst);
                let guard = LiveGuard(live.clone());
                connections.spawn(async move {
                    let _guard = guard;
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The PostgreSQL server the admin URL points at, as a socket address (for the proxy).
pub fn postgres_addr() -> SocketAddr {
    let url = postgres_admin_url();
    let host_port = url.split_once("://").unwrap().1;
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    let host_port = host_port.split('/').next().unwrap();
    let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    std::net::ToSocketAddrs::to_socket_addrs(&host_port).expect("PostgreSQL address").next().unwrap()
}
