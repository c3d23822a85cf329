//! `charter bridge`: config errors, `--check`, and a live sidecar relaying
//! between two real nats-servers until SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use charter_bridge::{Bridge, BridgeOptions, Import};
use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
use common::{fails, ok, BIN};

fn nats_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

/// A nats-server on a free loopback port, killed when dropped.
struct Server(Child, u16);

impl Server {
    fn start(binary: &PathBuf) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (ready, up) = mpsc::channel();
        let log = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in log.lines().map_while(Result::ok) {
                if line.contains("Server is ready") {
                    let _ = ready.send(());
                }
            }
        });
        up.recv_timeout(Duration::from_secs(10)).expect("nats-server became ready");
        Server(child, port)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_config_with_a_typo_or_bad_json_is_refused_and_a_good_one_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.json");
    std::fs::write(&path, r#"{"bridges": [{"servers": ["nats://127.0.0.1:4222"], "exprot": ["a.>"]}]}"#)
        .unwrap();
    let stderr = fails(dir.path(), &["bridge", "--config", "bridge.json"], 13, "INVALID_ARGUMENT");
    assert!(stderr.contains("exprot"), "{stderr}");
    std::fs::write(&path, "{not json").unwrap();
    fails(dir.path(), &["bridge", "--config", "bridge.json"], 8, "MALFORMED");
    std::fs::write(
        &path,
        r#"{"bridges": [{"servers": ["nats://127.0.0.1:4222"], "export": ["a.>"],
            "import": ["b.>", {"pattern": "c.>", "queue_group": "workers", "relay": true},
                {"pattern": "d.>", "durable": {"stream": "D", "name": "d-importer",
                    "ack_wait_ms": 5000, "max_ack_pending": 64}}]}]}"#,
    )
    .unwrap();
    let out = ok(dir.path(), &["bridge", "--config", "bridge.json", "--check"]);
    assert!(out.contains("1 bridge(s), config ok"), "{out}");
}

#[test]
fn a_durable_import_needs_its_stream_and_name_and_no_queue_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.json");
    for (durable, complaint) in [
        (r#"{"name": "d"}"#, "stream"),
        (r#"{"stream": "D", "name": "d", "ack_wait": 5}"#, "ack_wait"),
        (r#"{"stream": "D", "name": "d", "ack_wait_ms": 0}"#, "ack_wait_ms"),
        (r#"{"stream": "D", "name": "d"}, "queue_group": "workers""#, "queue_group"),
    ] {
        let config = format!(
            r#"{{"bridges": [{{"servers": ["nats://127.0.0.1:4222"], "import": [{{"pattern": "d.>", "durable": {durable}}}]}}]}}"#
        );
        std::fs::write(&path, config).unwrap();
        let stderr =
            fails(dir.path(), &["bridge", "--config", "bridge.json", "--check"], 13, "INVALID_ARGUMENT");
        assert!(stderr.contains(complaint), "{durable}: {stderr}");
    }
}

#[test]
fn a_sidecar_relays_between_two_servers_until_sigterm() {
    let Some(binary) = nats_server() else {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    };
    let (local, shared) = (Server::start(&binary), Server::start(&binary));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"{{"bridges": [
            {{"name": "local", "servers": ["{}"], "import": [{{"pattern": "out.>", "relay": true}}]}},
            {{"name": "shared", "servers": ["{}"], "export": ["out.>"]}}
        ]}}"#,
        local.url(),
        shared.url()
    );
    std::fs::write(dir.path().join("bridge.json"), config).unwrap();
    let mut sidecar = Command::new(BIN)
        .args(["bridge", "--config", "bridge.json"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(sidecar.stdout.take().unwrap());
    let mut line = String::new();
    while line.trim() != "ready" {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the sidecar exited before it was ready");
    }

    let (app, world) = (Bus::new(BusLimits::default()).unwrap(), Bus::new(BusLimits::default()).unwrap());
    let received = world.subscribe("out.>", SubscribeOptions::new()).unwrap();
    let mut options = BridgeOptions::new(&shared.url());
    options.imports = vec![Import::new("out.>")];
    let importer = Bridge::start(&world, options).unwrap();
    importer.flush(Duration::from_secs(10)).unwrap();
    let mut options = BridgeOptions::new(&local.url());
    options.exports = vec!["out.>".into()];
    let exporter = Bridge::start(&app, options).unwrap();
    exporter.flush(Duration::from_secs(10)).unwrap();
    // The sidecar's subscriptions reach the servers in the background:
    // probe until one message has crossed both hops.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        app.publish("out.order", &b"across"[..], &[]).unwrap();
        if let Ok(message) = received.recv_timeout(Duration::from_millis(100)) {
            assert_eq!(message.payload(), b"across");
            break;
        }
        assert!(Instant::now() < deadline, "nothing crossed the sidecar");
    }

    let status = Command::new("kill").args(["-TERM", &sidecar.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = sidecar.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "a SIGTERM stops the sidecar cleanly");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("SIGTERM: stopping"), "{rest}");
    assert!(rest.contains("bridge shared: exported "), "{rest}");
}
