//! Durable import through JetStream, against a real `nats-server -js`: an
//! importing process is killed (SIGKILL) mid-stream and started again, and
//! nothing is lost; a duplicate reaches a consumer only as a redelivery
//! the bridge marks, of a message the killed process had not acknowledged.
//!
//! With the position the application committed with its results
//! (`handled_through` and `handled`), the restarted importer delivers each
//! message exactly once.
//!
//! The importing process is this test binary run again with
//! `CHARTER_DURABLE_CHILD` set (the `durable_child` test below), so the
//! test needs no other binary.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use charter_bridge::seal::now_ms;
use charter_bridge::{wire, Bridge, BridgeOptions, DurableImport, Reason, Sealer, VerifyOptions};
use charter_core::bus::{Bus, BusLimits, SubscribeOptions, Subscription};
use common::jetstream::{self, JetStream};
use common::{Server, PATIENCE};

const CHILD: &str = "CHARTER_DURABLE_CHILD";
/// The position the importing process starts from: `<through>;<seq>,<seq>…`.
const RESUME: &str = "CHARTER_DURABLE_RESUME";
/// When set, the importing process verifies against this root public key.
const ROOT: &str = "CHARTER_DURABLE_ROOT";
/// With [`ROOT`], the seal position it starts from: `<through>;<id>,<id>…`.
const SEALED: &str = "CHARTER_DURABLE_SEALED";
const PATTERN: &str = "dur.>";
const STREAM: &str = "DUR";
const DURABLE: &str = "importer";
const MAX_ACK_PENDING: usize = 32;
const MESSAGES: u32 = 600;
/// What starts a line the importing process writes per message.
const MARK: &str = "MSG ";

/// One message as the importing process handled it.
#[derive(Clone, Copy, Debug)]
struct Handled {
    payload: u32,
    seq: u64,
    delivered: u64,
    floor: u64,
    /// When verifying: its seal id, seal time and seal floor.
    seal: Option<[u64; 3]>,
}

/// A message from one of the importer's lines.
fn parse(line: &str) -> Option<Handled> {
    let fields: Vec<&str> = line.strip_prefix(MARK)?.split(' ').collect();
    let (stream, seal) = fields.split_at_checked(4)?;
    let [payload, seq, delivered, floor] = stream[..] else { return None };
    let seal = match seal {
        [] => None,
        [id, time, floor] => Some([id.parse().ok()?, time.parse().ok()?, floor.parse().ok()?]),
        _ => return None,
    };
    Some(Handled {
        payload: payload.parse().ok()?,
        seq: seq.parse().ok()?,
        delivered: delivered.parse().ok()?,
        floor: floor.parse().ok()?,
        seal,
    })
}

/// The application's position after handling `handled`, as it would
/// commit it with its results: the highest floor, and the sequences above.
fn position(handled: &[Handled]) -> (u64, Vec<u64>) {
    let through = handled.iter().map(|h| h.floor).max().unwrap_or(0);
    (through, handled.iter().map(|h| h.seq).filter(|seq| *seq > through).collect())
}

fn durable_import() -> DurableImport {
    let mut import = DurableImport::new(PATTERN, STREAM, DURABLE);
    import.ack_wait = Duration::from_secs(1);
    import.max_ack_pending = MAX_ACK_PENDING;
    if let Ok(resume) = std::env::var(RESUME) {
        let (through, handled) = resume.split_once(';').unwrap();
        import.handled_through = through.parse().unwrap();
        import.handled = handled.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    }
    if let Ok(sealed) = std::env::var(SEALED) {
        let (through, ids) = sealed.split_once(';').unwrap();
        import.sealed_through = through.parse().unwrap();
        import.sealed = ids.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    }
    import
}

/// The importing process: a bridge with a durable import, and a local
/// subscriber whose handler runs inside the bridge's publish (so before
/// the acknowledgement) and commits one line per message to stdout:
/// `MSG <payload> <stream seq> <delivered> <floor>`. It then takes a
/// moment, so that a kill lands between that commit and the
/// acknowledgement. It runs until it is killed.
#[test]
#[ignore = "the importing process of the kill/restart test, which runs it"]
fn durable_child() {
    let Ok(url) = std::env::var(CHILD) else { return };
    let bus = Bus::new(BusLimits::default()).unwrap();
    let _subscription = bus
        .subscribe_with(PATTERN, SubscribeOptions::new(), |message| {
            let payload = String::from_utf8_lossy(message.payload()).into_owned();
            let seq = message.header("Charter-Stream-Seq").unwrap_or("-").to_owned();
            let delivered = message.header("Charter-Delivered").unwrap_or("1").to_owned();
            let floor = message.header("Charter-Stream-Floor").unwrap_or("-").to_owned();
            let seal = [wire::SEAL_ID, wire::SEAL_TIME, wire::SEAL_FLOOR].map(|name| message.header(name));
            let seal = match seal {
                [Some(id), Some(time), Some(floor)] => format!(" {id} {time} {floor}"),
                _ => String::new(),
            };
            let mut out = std::io::stdout().lock();
            // On a line of its own: the harness may have left one open.
            writeln!(out, "\n{MARK}{payload} {seq} {delivered} {floor}{seal}").unwrap();
            out.flush().unwrap();
            // Slow enough that the parent's kill lands mid-stream, and
            // most likely after this commit, before the acknowledgement.
            std::thread::sleep(Duration::from_millis(2));
            Ok(())
        })
        .unwrap();
    let mut options = BridgeOptions::new(&url);
    options.durable_imports = vec![durable_import()];
    if let Ok(root) = std::env::var(ROOT) {
        let root = charter_core::capability::PublicKey::from_text(&root).unwrap();
        let authority = charter_core::capability::Authority::new([root], Default::default());
        let mut verify = VerifyOptions::new(authority);
        verify.max_skew = Duration::from_secs(2);
        options.verify = Some(verify);
    }
    let _bridge = Bridge::start(&bus, options).unwrap();
    loop {
        std::thread::park();
    }
}

/// A running importing process and the lines it wrote.
struct Importer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Importer {
    fn start(url: &str) -> Importer {
        Importer::resume(url, None)
    }

    /// Starts an importer from the application's committed position.
    fn resume(url: &str, position: Option<&(u64, Vec<u64>)>) -> Importer {
        let env: Vec<(&str, String)> = position.map(|p| (RESUME, list(p))).into_iter().collect();
        Importer::spawn(url, &env)
    }

    /// Starts an importer that verifies against `root`, from the
    /// application's committed stream and seal positions.
    fn verifying(url: &str, root: &str, position: &(u64, Vec<u64>), sealed: &(u64, Vec<u64>)) -> Importer {
        Importer::spawn(url, &[(ROOT, root.to_owned()), (RESUME, list(position)), (SEALED, list(sealed))])
    }

    fn spawn(url: &str, env: &[(&str, String)]) -> Importer {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "durable_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD, url)
            .envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let (send, lines) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Importer { child, lines }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Reads `count` more message lines (the harness's own lines skipped).
    fn read(&self, count: usize, into: &mut Vec<Handled>) {
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut read = 0;
        while read < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("the importer stopped delivering after {} lines", into.len()));
            if let Some(delivery) = parse(&line) {
                into.push(delivery);
                read += 1;
            }
        }
    }

    /// SIGKILL, then every line it wrote before dying.
    fn kill(mut self, into: &mut Vec<Handled>) {
        self.stop();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            into.extend(parse(&line));
        }
    }
}

/// A position as the importing process reads it: `<through>;<n>,<n>…`.
fn list((through, items): &(u64, Vec<u64>)) -> String {
    let items: Vec<String> = items.iter().map(u64::to_string).collect();
    format!("{through};{}", items.join(","))
}

/// A test that fails midway leaves no importing process behind.
impl Drop for Importer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn a_killed_importer_restarted_loses_nothing_and_marks_every_redelivery() {
    let server = jetstream_server_or_skip!();
    // The stream exists before anything is published: JetStream keeps the
    // messages while no importer runs.
    let nats = JetStream::connect(&server.url());
    nats.create_stream(STREAM, PATTERN);

    // A bridge exports the messages from a bus of its own: each carries a
    // message id (its origin and a count), so a resend is stored once.
    let bus = Bus::new(BusLimits::default()).unwrap();
    let mut options = BridgeOptions::new(&server.url());
    options.exports = vec![PATTERN.into()];
    let exporter = Bridge::start(&bus, options).unwrap();
    exporter.flush(PATIENCE).unwrap();
    for i in 0..MESSAGES {
        bus.publish("dur.order", i.to_string().into_bytes(), &[]).unwrap();
    }
    common::eventually("every message exported", || exporter.stats().exported == u64::from(MESSAGES));
    exporter.flush(PATIENCE).unwrap();
    let resend_id = format!("{}-1", exporter.origin());
    nats.block_on(async {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", resend_id.as_str());
        let ack =
            nats.js.publish_with_headers("dur.order", headers, "0".into()).await.unwrap().await.unwrap();
        assert!(ack.duplicate, "the stream knows the exported message's id");
    });
    let stored = nats
        .block_on(async { nats.js.get_stream(STREAM).await.unwrap().info().await.unwrap().state.messages });
    assert_eq!(stored, u64::from(MESSAGES), "the resend is not stored");

    let mut lines = Vec::new();
    let first = Importer::start(&server.url());
    first.read(MESSAGES as usize / 4, &mut lines);
    first.kill(&mut lines);
    let before_kill = lines.len();
    assert!(before_kill < MESSAGES as usize, "killed mid-stream");

    let second = Importer::start(&server.url());
    let deadline = std::time::Instant::now() + PATIENCE * 2;
    loop {
        let seen: std::collections::BTreeSet<u32> = lines.iter().map(|l| l.payload).collect();
        if seen.len() == MESSAGES as usize {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "lost: {} of {MESSAGES} delivered", seen.len());
        second.read(1, &mut lines);
    }
    // Whatever else the second run delivers now is a duplicate: give it a
    // moment to show up (ack wait is 1 s).
    std::thread::sleep(Duration::from_millis(1500));
    second.kill(&mut lines);

    let mut deliveries: BTreeMap<u32, Vec<(usize, u64, u64)>> = BTreeMap::new();
    for (at, line) in lines.iter().enumerate() {
        deliveries.entry(line.payload).or_default().push((at, line.seq, line.delivered));
    }
    assert_eq!(deliveries.len(), MESSAGES as usize, "nothing lost");
    assert_eq!(deliveries.keys().copied().collect::<Vec<_>>(), (0..MESSAGES).collect::<Vec<_>>());
    let mut duplicates = 0;
    for (payload, seen) in &deliveries {
        let (runs_first, runs_second): (Vec<&(usize, u64, u64)>, Vec<_>) =
            seen.iter().partition(|(at, _, _)| *at < before_kill);
        assert!(
            runs_first.len() <= 1 && runs_second.len() <= 1,
            "{payload} delivered twice by one importer: {seen:?}"
        );
        if let [(_, seq_a, _), (_, seq_b, delivered)] = seen[..] {
            duplicates += 1;
            assert_eq!(seq_a, seq_b, "one stream message");
            assert!(delivered > 1, "a duplicate is marked as a redelivery: {seen:?}");
        }
    }
    // Only what the killed importer had taken but not acknowledged comes
    // again: at most max_ack_pending messages.
    assert!(duplicates <= MAX_ACK_PENDING, "{duplicates} duplicates");
    eprintln!("delivered {MESSAGES}, killed after {before_kill}, redelivered {duplicates} (marked)");
}

#[test]
fn a_killed_importer_restarted_from_its_committed_position_delivers_each_message_once() {
    let server = jetstream_server_or_skip!();
    let nats = JetStream::connect(&server.url());
    nats.create_stream(STREAM, PATTERN);
    nats.publish_numbers("dur.order", MESSAGES);

    // The application's store is what the importers wrote before they
    // died: each line is one handled message, committed with its position.
    // Two runs are killed mid-stream, each restarted from the position the
    // runs before it committed; the third runs to the end.
    let mut handled: Vec<Handled> = Vec::new();
    let mut committed = (0, Vec::new());
    for kill_at in [MESSAGES as usize / 4, MESSAGES as usize / 2] {
        let run = Importer::resume(&server.url(), Some(&committed));
        run.read(kill_at - handled.len(), &mut handled);
        run.kill(&mut handled);
        assert!(handled.len() < MESSAGES as usize, "killed mid-stream");
        committed = position(&handled);
        assert!(
            !committed.1.is_empty(),
            "the floor lags what was handled, so the set carries some: {committed:?}"
        );
    }
    let killed_runs = handled.len();
    let last = Importer::resume(&server.url(), Some(&committed));
    last.read(MESSAGES as usize - handled.len(), &mut handled);
    // A redelivery of what a killed run handled and had not acknowledged
    // comes after the ack wait (1 s): give it time to show up.
    std::thread::sleep(Duration::from_millis(1500));
    last.kill(&mut handled);
    let (first_runs, last_run) = handled.split_at(killed_runs);

    for line in &handled {
        assert!(line.floor < line.seq, "a message is never at or below the floor it carries: {line:?}");
    }
    let mut payloads: Vec<u32> = handled.iter().map(|h| h.payload).collect();
    payloads.sort_unstable();
    let duplicates = payloads.windows(2).filter(|pair| pair[0] == pair[1]).count();
    payloads.dedup();
    assert_eq!(payloads, (0..MESSAGES).collect::<Vec<_>>(), "nothing lost");
    assert_eq!(duplicates, 0, "no duplicate delivered: {first_runs:?} then {last_run:?}");
    // The messages skipped as handled were acknowledged: nothing pends.
    let info = nats.block_on(async {
        let stream = nats.js.get_stream(STREAM).await.unwrap();
        let mut consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer(DURABLE).await.unwrap();
        consumer.info().await.unwrap().clone()
    });
    assert_eq!(info.num_ack_pending, 0, "{info:?}");
    assert_eq!(info.ack_floor.stream_sequence, u64::from(MESSAGES), "{info:?}");
    let out_of_order = last_run.windows(2).filter(|pair| pair[1].seq < pair[0].seq).count();
    eprintln!(
        "killed twice, after {killed_runs} handled; last position: through {} and {} more; last run: {} delivered, {out_of_order} out of stream order",
        committed.0,
        committed.1.len(),
        last_run.len()
    );
}

#[test]
fn a_full_local_queue_hands_messages_back_instead_of_dropping_them() {
    let server = jetstream_server_or_skip!();
    let nats = JetStream::connect(&server.url());
    // A subscriber far slower than the import.
    let bus = Bus::new(BusLimits::default()).unwrap();
    let slow = jetstream::small_queue(&bus, "slow.>");
    let mut options = BridgeOptions::new(&server.url());
    options.durable_imports = vec![jetstream::import("slow.>", "SLOW", "slow-importer")];
    let bridge = Bridge::start(&bus, options).unwrap();
    // The bridge creates the stream: wait until it exists, then publish.
    common::eventually("the stream to exist", || nats.block_on(nats.js.get_stream("SLOW")).is_ok());
    let count = 40u32;
    nats.publish_numbers("slow.item", count);
    let got = jetstream::receive_slowly(&slow, count, |_| {}, || format!("{:?}", bridge.stats()));
    assert_eq!(got, (0..count).collect::<Vec<_>>(), "each exactly once");
    assert!(slow.recv_timeout(common::QUIET).is_err(), "no duplicate");
    let stats = bridge.stats();
    assert!(stats.redelivery_requested > 0, "the queue was full at times: {stats:?}");
    assert_eq!(stats.imported, u64::from(count));
    assert_eq!(slow.stats().dropped.rejected, stats.redelivery_requested, "every refusal handed back");
}

#[test]
fn a_verified_message_handed_back_is_delivered_again_not_refused_as_a_replay() {
    let server = jetstream_server_or_skip!();
    JetStream::connect(&server.url()).create_stream("SEALED", "sealed.>");
    let root = common::Root::new();
    let (verify, log) = common::verifying(&root.authority());
    // The importer: verifying, into a queue of 4 that refuses more.
    let bus_b = Bus::new(BusLimits::default()).unwrap();
    let slow = jetstream::small_queue(&bus_b, "sealed.>");
    let mut options = BridgeOptions::new(&server.url());
    options.durable_imports = vec![jetstream::import("sealed.>", "SEALED", "sealed-importer")];
    options.verify = Some(verify);
    let importer = Bridge::start(&bus_b, options).unwrap();
    // The exporter seals what it sends.
    let bus_a = Bus::new(BusLimits::default()).unwrap();
    let mut options = BridgeOptions::new(&server.url());
    options.exports = vec!["sealed.>".into()];
    options.credentials = Some(root.credentials(&["publish sealed.>"]));
    let exporter = Bridge::start(&bus_a, options).unwrap();
    exporter.flush(PATIENCE).unwrap();
    let count = 30u32;
    for i in 0..count {
        bus_a.publish("sealed.item", i.to_string().into_bytes(), &[]).unwrap();
    }
    let got = jetstream::receive_slowly(
        &slow,
        count,
        |message| assert!(message.header("Charter-Principal").is_some(), "verified"),
        || format!("{:?}", importer.stats()),
    );
    assert_eq!(got, (0..count).collect::<Vec<_>>(), "each exactly once");
    let stats = importer.stats();
    assert!(stats.redelivery_requested > 0, "the queue was full at times: {stats:?}");
    assert!(stats.refused.iter().all(|(_, n)| *n == 0), "nothing refused: {stats:?}");
    let refusals = log.records(charter_core::audit::Query::default()).count();
    assert_eq!(refusals, 0, "nothing audited as refused");
}

#[test]
fn a_durable_import_binds_once_the_server_comes_up() {
    if common::binary().is_none() {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    }
    let port = common::free_port();
    let bus = Bus::new(BusLimits::default()).unwrap();
    let received = bus.subscribe("late.>", SubscribeOptions::new()).unwrap();
    let mut options = BridgeOptions::new(&format!("nats://127.0.0.1:{port}"));
    options.durable_imports = vec![DurableImport::new("late.>", "LATE", "late-importer")];
    // A bind's requests wait this long for a server that is not there.
    options.request_timeout = Duration::from_millis(500);
    // No server yet: not an error; the bridge keeps trying to bind.
    let bridge = Bridge::start(&bus, options).unwrap();
    common::eventually("a failed bind, counted", || bridge.stats().durable_bind_failed > 0);
    let server = Server::start_on(port, jetstream::CONFIG);
    let nats = JetStream::connect(&server.url());
    // The bridge creates the stream once it binds; what is published then
    // is kept and delivered.
    let deadline = std::time::Instant::now() + PATIENCE * 2;
    while nats.block_on(nats.js.get_stream("LATE")).is_err() {
        assert!(std::time::Instant::now() < deadline, "the bridge never bound");
        std::thread::sleep(Duration::from_millis(50));
    }
    nats.block_on(async { nats.js.publish("late.one", "kept".into()).await.unwrap().await.unwrap() });
    let message = received.recv_timeout(PATIENCE).unwrap();
    assert_eq!(message.payload(), b"kept");
    assert_eq!(message.header("Charter-Stream-Seq"), Some("1"));
    assert_eq!(message.header("Charter-Delivered"), None, "a first delivery is not marked");
}

/// One message a verifying durable import delivered, as an application
/// that commits its position would read it.
#[derive(Clone, Debug)]
struct Stored {
    payload: String,
    principal: String,
    stream_seq: u64,
    stream_floor: u64,
    seal_id: u64,
    seal_time: u64,
    seal_floor: u64,
}

impl Stored {
    fn read(message: &charter_core::bus::Message) -> Stored {
        let number =
            |name: &str| message.header(name).unwrap_or_else(|| panic!("no {name}")).parse().unwrap();
        Stored {
            payload: String::from_utf8(message.payload().to_vec()).unwrap(),
            principal: message.header(wire::PRINCIPAL).unwrap().to_owned(),
            stream_seq: number(wire::STREAM_SEQ),
            stream_floor: number(wire::STREAM_FLOOR),
            seal_id: number(wire::SEAL_ID),
            seal_time: number(wire::SEAL_TIME),
            seal_floor: number(wire::SEAL_FLOOR),
        }
    }
}

/// The position an application commits after handling `handled`: the
/// stream floor and the sequences above it, the seal floor and the seal
/// ids sealed at or after it.
fn sealed_position(handled: &[Stored], import: &mut DurableImport) {
    import.handled_through = handled.iter().map(|h| h.stream_floor).max().unwrap_or(0);
    import.handled = handled.iter().map(|h| h.stream_seq).filter(|s| *s > import.handled_through).collect();
    import.sealed_through = handled.iter().map(|h| h.seal_floor).max().unwrap_or(0);
    import.sealed =
        handled.iter().filter(|h| h.seal_time >= import.sealed_through).map(|h| h.seal_id).collect();
}

/// A bus whose inline subscriber to `pattern` records every message it
/// handles (before the bridge acknowledges it), taking `pause` for each.
fn recording_bus(pattern: &str, pause: Duration) -> (Bus, Subscription, Arc<Mutex<Vec<Stored>>>) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let into = Arc::clone(&handled);
    let subscription = bus
        .subscribe_with(pattern, SubscribeOptions::new(), move |message| {
            into.lock().unwrap().push(Stored::read(message));
            std::thread::sleep(pause);
            Ok(())
        })
        .unwrap();
    (bus, subscription, handled)
}

/// A bridge with one verifying durable import of `pattern`.
fn verifying_import(bus: &Bus, url: &str, import: DurableImport, verify: VerifyOptions) -> Bridge {
    let mut options = BridgeOptions::new(url);
    options.durable_imports = vec![import];
    options.verify = Some(verify);
    Bridge::start(bus, options).unwrap()
}

fn refused(bridge: &Bridge, reason: Reason) -> u64 {
    bridge.stats().refused.iter().find(|(r, _)| *r == reason).map_or(0, |(_, n)| *n)
}

/// Messages sealed by `sealer` as `origin` with sequence numbers `seqs`,
/// each at the time `time(seq)`, their payloads `seq - 1` in decimal.
fn seal_all(
    sealer: &Sealer,
    origin: &[u8; 16],
    subject: &str,
    seqs: std::ops::RangeInclusive<u64>,
    time: impl Fn(u64) -> u64,
) -> Vec<(async_nats::HeaderMap, bytes::Bytes)> {
    seqs.map(|seq| {
        let payload = (seq - 1).to_string();
        let headers = common::sealed_headers(sealer, origin, seq, time(seq), subject, payload.as_bytes());
        (headers, payload.into())
    })
    .collect()
}

/// Stores each message in the stream capturing `subject`, as a plain
/// client that holds no key: it can store any sealed bytes it has seen.
fn store(nats: &JetStream, subject: &str, messages: &[(async_nats::HeaderMap, bytes::Bytes)]) {
    nats.block_on(async {
        for (headers, payload) in messages {
            let subject = subject.to_owned();
            nats.js
                .publish_with_headers(subject, headers.clone(), payload.clone())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });
}

/// The audit records' details, in order.
fn audited(log: &charter_core::audit::AuditLog) -> Vec<String> {
    log.records(charter_core::audit::Query::default()).map(|r| r.unwrap().1.detail).collect()
}

#[test]
fn a_sealed_backlog_older_than_the_skew_is_delivered_once_in_order_and_a_stored_copy_is_refused() {
    let server = jetstream_server_or_skip!();
    let nats = JetStream::connect(&server.url());
    nats.create_stream("BACKLOG", "backlog.>");
    let root = common::Root::new();
    let credentials = root.credentials(&["publish backlog.>"]);
    let principal = credentials.key.principal();
    let origin = [7u8; 16];
    let sealer = Sealer::new(origin, &credentials).unwrap();
    // Sealed from 50 s to 42 s ago, before the verifying importer starts:
    // live, all of it would be refused (the window is 30 s). The seal floor
    // stays below all of it (at most the newest less 30 s), so the copy
    // below is known by its seal id alone.
    let now = now_ms();
    let backlog = seal_all(&sealer, &origin, "backlog.item", 1..=40, |seq| now - 50_000 + seq * 200);
    store(&nats, "backlog.item", &backlog);
    // A plain client stores the third message again, byte for byte.
    store(&nats, "backlog.item", &backlog[2..3]);

    let (verify, log) = common::verifying(&root.authority());
    let (bus, _subscription, handled) = recording_bus("backlog.>", Duration::ZERO);
    let importer =
        verifying_import(&bus, &server.url(), DurableImport::new("backlog.>", "BACKLOG", "backlog"), verify);
    common::eventually("the backlog and its copy judged", || {
        importer.stats().imported + refused(&importer, Reason::Replayed) == 41
    });
    std::thread::sleep(common::QUIET);
    let handled = handled.lock().unwrap().clone();
    let payloads: Vec<String> = handled.iter().map(|h| h.payload.clone()).collect();
    assert_eq!(payloads, (0..40).map(|i| i.to_string()).collect::<Vec<_>>(), "each once, in order");
    for (h, seq) in handled.iter().zip(1..) {
        assert_eq!(h.principal, principal.to_text(), "proven");
        assert_eq!(h.seal_id, charter_bridge::seal_id(&principal, &origin, seq));
        assert_eq!(h.seal_time, now - 50_000 + seq * 200);
    }
    let stats = importer.stats();
    assert_eq!(refused(&importer, Reason::Replayed), 1, "the copy: {stats:?}");
    assert_eq!(stats.durable_terminated, 1, "the copy is terminated: {stats:?}");
    let records = audited(&log);
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].starts_with("replayed: sequence number 3 of its sender"), "{records:?}");
}

#[test]
fn a_verifying_import_restarted_from_its_committed_position_delivers_the_rest_once_and_refuses_copies() {
    let server = jetstream_server_or_skip!();
    let nats = JetStream::connect(&server.url());
    nats.create_stream("RESUMED", "resumed.>");
    let root = common::Root::new();
    let credentials = root.credentials(&["publish resumed.>"]);
    let origin = [9u8; 16];
    let sealer = Sealer::new(origin, &credentials).unwrap();
    // Two batches, sealed 50 s and 20 s ago.
    let now = now_ms();
    let time = |seq: u64| if seq <= 10 { now - 50_000 + seq } else { now - 20_000 + seq };
    let backlog = seal_all(&sealer, &origin, "resumed.item", 1..=40, time);
    store(&nats, "resumed.item", &backlog);
    // A 2 s window: once the first batch is acknowledged, the seal floor
    // passes it.
    let verify = |log: &mut Option<charter_core::audit::AuditLog>| {
        let (mut verify, audit) = common::verifying(&root.authority());
        verify.max_skew = Duration::from_secs(2);
        *log = Some(audit);
        verify
    };
    let mut import = DurableImport::new("resumed.>", "RESUMED", "resumed");
    import.ack_wait = Duration::from_secs(1);
    import.max_ack_pending = 8;

    // The first run handles 34 messages, slowly enough that the floors
    // are read while it does (every 100 ms), and stops with more taken
    // than handled.
    let mut first_log = None;
    let (bus, subscription, handled) = recording_bus("resumed.>", Duration::from_millis(30));
    let first = verifying_import(&bus, &server.url(), import.clone(), verify(&mut first_log));
    common::eventually("34 handled", || handled.lock().unwrap().len() >= 34);
    first.close();
    drop(subscription);
    let first_run = handled.lock().unwrap().clone();
    assert!(first_run.len() < 40, "stopped mid-stream");
    let mut resumed = import.clone();
    sealed_position(&first_run, &mut resumed);
    assert!(resumed.sealed_through > time(10), "the seal floor passed the first batch: {resumed:?}");
    assert!(resumed.sealed_through <= time(11), "and not the second: {resumed:?}");

    // A plain client stores copies of a message of each batch the first
    // run handled: the first sealed before the committed seal floor, the
    // second after it (only its committed seal id tells it was delivered).
    store(&nats, "resumed.item", &[backlog[0].clone(), backlog[20].clone()]);
    let mut second_log = None;
    let (bus, _subscription, handled) = recording_bus("resumed.>", Duration::ZERO);
    let second = verifying_import(&bus, &server.url(), resumed, verify(&mut second_log));
    let rest = 40 - first_run.len();
    // What the first run took and did not acknowledge comes after the ack
    // wait (1 s).
    common::eventually("the rest delivered and the copies refused", || {
        handled.lock().unwrap().len() == rest
            && refused(&second, Reason::Stale) + refused(&second, Reason::Replayed) == 2
    });
    std::thread::sleep(Duration::from_millis(1500));
    let second_run = handled.lock().unwrap().clone();
    let mut payloads: Vec<u32> =
        first_run.iter().chain(&second_run).map(|h| h.payload.parse().unwrap()).collect();
    payloads.sort_unstable();
    assert_eq!(payloads, (0..40).collect::<Vec<_>>(), "each message once across the two runs");
    assert_eq!(refused(&second, Reason::Stale), 1, "the copy sealed before the floor");
    assert_eq!(refused(&second, Reason::Replayed), 1, "the copy of a committed seal id");
    let records = audited(second_log.as_ref().unwrap());
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(
        records.iter().any(|r| r.starts_with("stale: sealed at") && r.contains("seal floor")),
        "{records:?}"
    );
    assert!(records.iter().any(|r| r.starts_with("replayed: sequence number 21 ")), "{records:?}");
    assert!(audited(first_log.as_ref().unwrap()).is_empty(), "the first run refused nothing");
}

#[test]
fn a_stored_message_past_its_tokens_bounds_or_from_a_revoked_token_is_refused() {
    let server = jetstream_server_or_skip!();
    let nats = JetStream::connect(&server.url());
    nats.create_stream("BOUNDS", "bounds.>");
    let root = common::Root::new();
    let authority = root.authority();
    let now_s = common::now();
    let token_for = |not_before: u64, not_after: u64| {
        let holder = charter_core::capability::KeyPair::generate().unwrap();
        let grants = [charter_core::capability::Grant::parse("publish bounds.>").unwrap()];
        let token = charter_core::capability::Token::mint(
            &root.key,
            &holder.public_key(),
            &grants,
            not_before,
            not_after,
        )
        .unwrap();
        charter_bridge::Credentials { token, key: Arc::new(holder) }
    };
    let now = now_ms();
    // Expired since: valid for an hour that ended an hour ago, sealed then.
    let expired = Sealer::new([1; 16], &token_for(now_s - 7200, now_s - 3600)).unwrap();
    store(
        &nats,
        "bounds.expired",
        &seal_all(&expired, &[1; 16], "bounds.expired", 1..=2, |_| now - 5_000_000),
    );
    // Valid now, but the messages claim a time before its window (a holder
    // backdating) or after now.
    let current = Sealer::new([2; 16], &token_for(now_s - 60, now_s + 3600)).unwrap();
    store(&nats, "bounds.early", &seal_all(&current, &[2; 16], "bounds.early", 1..=1, |_| now - 600_000));
    store(&nats, "bounds.late", &seal_all(&current, &[2; 16], "bounds.late", 2..=2, |_| now + 120_000));
    // Revoked: sealed while valid, revoked before the importer reads it.
    let revoked = token_for(now_s - 60, now_s + 3600);
    authority.revoke(revoked.token.link_id(0)).unwrap();
    let revoked = Sealer::new([3; 16], &revoked).unwrap();
    store(&nats, "bounds.revoked", &seal_all(&revoked, &[3; 16], "bounds.revoked", 1..=3, |_| now - 40_000));
    // And one that passes, last.
    store(&nats, "bounds.fine", &seal_all(&current, &[2; 16], "bounds.fine", 3..=3, |_| now - 40_000));

    let (verify, log) = common::verifying(&authority);
    let (bus, _subscription, handled) = recording_bus("bounds.>", Duration::ZERO);
    let importer =
        verifying_import(&bus, &server.url(), DurableImport::new("bounds.>", "BOUNDS", "bounds"), verify);
    common::eventually("every message judged", || {
        importer.stats().durable_terminated + importer.stats().imported == 8
    });
    let delivered: Vec<String> = handled.lock().unwrap().iter().map(|h| h.payload.clone()).collect();
    assert_eq!(delivered, ["2"], "only the message within every bound");
    assert_eq!(refused(&importer, Reason::Chain), 2, "the expired token");
    assert_eq!(refused(&importer, Reason::Stale), 2, "before its token's window, and from the future");
    assert_eq!(refused(&importer, Reason::Revoked), 3, "the revoked token");
    let records = audited(&log);
    assert_eq!(records.len(), 7, "{records:?}");
    assert!(records[2].contains("outside its token's window"), "{records:?}");
    assert!(records[3].contains("later than"), "{records:?}");
}

/// The seal position an application commits after handling `handled`:
/// the highest seal floor, and the seal ids sealed at or after it.
fn seal_position(handled: &[Handled]) -> (u64, Vec<u64>) {
    let seals: Vec<[u64; 3]> = handled.iter().map(|h| h.seal.expect("verified")).collect();
    let through = seals.iter().map(|[_, _, floor]| *floor).max().unwrap_or(0);
    (through, seals.iter().filter(|[_, time, _]| *time >= through).map(|[id, _, _]| *id).collect())
}

#[test]
fn a_killed_verifying_importer_restarted_from_its_committed_positions_delivers_each_sealed_message_once() {
    let server = jetstream_server_or_skip!();
    let nats = JetStream::connect(&server.url());
    nats.create_stream(STREAM, PATTERN);
    let root = common::Root::new();
    let origin = [5u8; 16];
    let sealer = Sealer::new(origin, &root.credentials(&["publish dur.>"])).unwrap();
    // A backlog sealed over the 30 s before the importers start, 100 ms
    // apart: with their 2 s window, the seal floor moves while they run.
    let count = 300u64;
    let now = now_ms();
    let backlog = seal_all(&sealer, &origin, "dur.order", 1..=count, |seq| now - 31_000 + seq * 100);
    store(&nats, "dur.order", &backlog);
    let root_key = root.key.public_key().to_text();

    // Two runs SIGKILLed mid-stream, each restarted from what the runs
    // before it committed; the third runs to the end.
    let mut handled: Vec<Handled> = Vec::new();
    let (mut committed, mut sealed) = ((0, Vec::new()), (0, Vec::new()));
    for kill_at in [count as usize / 4, count as usize / 2] {
        let run = Importer::verifying(&server.url(), &root_key, &committed, &sealed);
        run.read(kill_at - handled.len(), &mut handled);
        run.kill(&mut handled);
        assert!(handled.len() < count as usize, "killed mid-stream");
        committed = position(&handled);
        sealed = seal_position(&handled);
    }
    assert!(sealed.0 > 0, "the seal floor moved: {sealed:?}");
    // A plain client stores copies of a message handled before the
    // committed seal floor and of one handled after it.
    let (before, after) = (0, handled.iter().map(|h| h.payload as usize).max().unwrap());
    store(&nats, "dur.order", &[backlog[before].clone(), backlog[after].clone()]);
    let killed_runs = handled.len();
    let last = Importer::verifying(&server.url(), &root_key, &committed, &sealed);
    last.read(count as usize - handled.len(), &mut handled);
    // What a killed run handled and had not acknowledged comes after the
    // ack wait (1 s), and so would a copy wrongly let through.
    std::thread::sleep(Duration::from_millis(1500));
    last.kill(&mut handled);

    let mut payloads: Vec<u32> = handled.iter().map(|h| h.payload).collect();
    payloads.sort_unstable();
    let duplicates = payloads.windows(2).filter(|pair| pair[0] == pair[1]).count();
    payloads.dedup();
    assert_eq!(payloads, (0..count as u32).collect::<Vec<_>>(), "nothing lost");
    assert_eq!(duplicates, 0, "no duplicate delivered, copies included");
    for h in &handled {
        let [_, time, floor] = h.seal.unwrap();
        assert!(floor <= time, "a message is never sealed before the seal floor it carries: {h:?}");
    }
    // Every stream message is done: the copies were terminated.
    let info = nats.block_on(async {
        let stream = nats.js.get_stream(STREAM).await.unwrap();
        let mut consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer(DURABLE).await.unwrap();
        consumer.info().await.unwrap().clone()
    });
    assert_eq!(info.num_ack_pending, 0, "{info:?}");
    assert_eq!(info.ack_floor.stream_sequence, count + 2, "{info:?}");
    eprintln!(
        "killed twice, after {killed_runs} handled; seal position: from {} ms with {} ids",
        sealed.0,
        sealed.1.len()
    );
}
