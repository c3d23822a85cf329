//! A real `nats-server` on a free loopback port for each test, and the
//! identities the tests seal with. Tests skip, saying why, only when the
//! binary is not installed (scripts/install-deps.sh installs it).
#![allow(dead_code)]

pub mod jetstream;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use charter_bridge::{Credentials, VerifyOptions};
use charter_core::audit::{AuditLog, AuditOptions, Recorder, Scope};
use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, Token};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test waits for something that should not happen.
pub const QUIET: Duration = Duration::from_millis(300);

/// The `nats-server` binary, from PATH or where Debian puts it.
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

/// A free TCP port on loopback (free when asked; the server binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `nats-server`, killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    config: String,
    dir: tempfile::TempDir,
}

/// Starts a server, or says why the test is skipped and returns from it.
#[macro_export]
macro_rules! server_or_skip {
    () => {
        match common::Server::start("") {
            Some(server) => server,
            None => {
                eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
                return;
            }
        }
    };
}

impl Server {
    /// A server on a free port with `config` (nats-server's config format)
    /// added, or `None` when the binary is missing.
    pub fn start(config: &str) -> Option<Server> {
        binary()?;
        Some(Server::start_on(free_port(), config))
    }

    /// A server on `port` with `config`; panics if it does not come up.
    pub fn start_on(port: u16, config: &str) -> Server {
        let mut server =
            Server { child: None, port, config: config.into(), dir: tempfile::tempdir().unwrap() };
        server.restart();
        server
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again (after [`kill`](Self::kill)) on the same port.
    pub fn restart(&mut self) {
        let file = self.dir.path().join("server.conf");
        let store = self.dir.path().join("jetstream");
        let config = format!(
            "listen: 127.0.0.1:{}\n{}\n",
            self.port,
            self.config.replace("$STORE", &store.to_string_lossy())
        );
        std::fs::write(&file, config).unwrap();
        let mut child = Command::new(binary().unwrap())
            .arg("-c")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The server says when it is ready; the log is drained to the end
        // so the server never blocks on a full pipe.
        let (ready, up) = mpsc::channel();
        let log = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in log.lines().map_while(Result::ok) {
                if line.contains("Server is ready") {
                    let _ = ready.send(());
                }
            }
        });
        if up.recv_timeout(PATIENCE).is_err() {
            let _ = child.kill();
            panic!("nats-server did not become ready on port {}", self.port);
        }
        self.child = Some(child);
    }

    /// Stops the server without killing it (SIGSTOP): its clients stay
    /// connected and their writes back up in the sockets.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a [`pause`](Self::pause)d server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill").arg(signal).arg(child.id().to_string()).status().unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A root of trust and the tokens it mints.
pub struct Root {
    pub key: KeyPair,
}

impl Root {
    pub fn new() -> Root {
        Root { key: KeyPair::generate().unwrap() }
    }

    /// Credentials for a fresh holder with `grants` ("publish orders.>").
    pub fn credentials(&self, grants: &[&str]) -> Credentials {
        let holder = KeyPair::generate().unwrap();
        let grants: Vec<Grant> = grants.iter().map(|g| Grant::parse(g).unwrap()).collect();
        let token = Token::mint(&self.key, &holder.public_key(), &grants, now() - 60, now() + 3600).unwrap();
        Credentials { token, key: Arc::new(holder) }
    }

    /// An authority trusting this root.
    pub fn authority(&self) -> Authority {
        Authority::new([self.key.public_key()], AuthorityOptions::default())
    }
}

/// Verify options for `authority`, with refusals recorded in a fresh
/// in-memory log (returned too).
pub fn verifying(authority: &Authority) -> (VerifyOptions, AuditLog) {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let options = VerifyOptions {
        authority: authority.clone(),
        max_skew: Duration::from_secs(30),
        recorder: Some(Recorder::new(log.clone(), Scope::Denials)),
        clock: None,
    };
    (options, log)
}

/// Waits up to [`PATIENCE`] for `condition`, checking every 10 ms (for
/// counters the bridge updates on its own threads).
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The NATS headers of a message sealed by `sealer` for origin `origin`
/// with an explicit sequence number and time.
pub fn sealed_headers(
    sealer: &charter_bridge::Sealer,
    origin: &[u8; 16],
    seq: u64,
    time_ms: u64,
    subject: &str,
    payload: &[u8],
) -> async_nats::HeaderMap {
    use charter_bridge::wire;
    let seal = sealer.seal_at(seq, time_ms, subject, None, &[], payload).unwrap();
    let mut map = async_nats::HeaderMap::new();
    map.insert(wire::ORIGIN, wire::hex16(origin));
    map.insert(wire::SEQ, seal.seq.to_string());
    map.insert(wire::TIME, seal.time_ms.to_string());
    map.insert(wire::TOKEN, sealer.token_text());
    map.insert(wire::PROOF, seal.proof);
    map
}

/// Returns once the server has processed everything `client` sent before
/// (its subscriptions included): `flush` only writes to the socket, while a
/// request on a fresh inbox is answered (no responders) after them.
pub async fn round_trip(client: &async_nats::Client) {
    client.flush().await.unwrap();
    let _ = client.request(client.new_inbox(), bytes::Bytes::new()).await;
}
