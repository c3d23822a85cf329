//! JetStream beside a test's server: the configuration that enables it, a
//! client that creates streams and publishes, and what the durable-import
//! tests share (a slow local queue, and reading it back).

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use charter_bridge::DurableImport;
use charter_core::bus::{Bus, Message, Overflow, SubscribeOptions, Subscription};

use super::PATIENCE;

/// A server configuration with JetStream, storing in the server's own
/// temporary directory.
pub const CONFIG: &str = "jetstream {\n  store_dir: \"$STORE\"\n}\n";

/// Starts a server with JetStream, or says why the test is skipped and
/// returns from it.
#[macro_export]
macro_rules! jetstream_server_or_skip {
    () => {
        match common::Server::start(common::jetstream::CONFIG) {
            Some(server) => server,
            None => {
                eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
                return;
            }
        }
    };
}

/// A JetStream client of one server, on a runtime of its own.
pub struct JetStream {
    runtime: tokio::runtime::Runtime,
    pub js: jetstream::Context,
}

impl JetStream {
    pub fn connect(url: &str) -> JetStream {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let client = runtime.block_on(async_nats::connect(url)).unwrap();
        let js = {
            let _inside = runtime.enter();
            jetstream::new(client)
        };
        JetStream { runtime, js }
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Creates the stream `name` of the subjects `pattern`.
    pub fn create_stream(&self, name: &str, pattern: &str) {
        self.block_on(self.js.create_stream(stream::Config {
            name: name.into(),
            subjects: vec![pattern.into()],
            ..Default::default()
        }))
        .unwrap();
    }

    /// Publishes `count` messages on `subject`, the numbers from 0 as
    /// decimal text, each acknowledged by the stream.
    pub fn publish_numbers(&self, subject: &str, count: u32) {
        self.block_on(async {
            for i in 0..count {
                self.js.publish(subject.to_owned(), i.to_string().into()).await.unwrap().await.unwrap();
            }
        });
    }
}

/// A subscription to `pattern` on `bus` with a queue of 4 that refuses
/// more (overflow ERROR), so that an import outpaces it.
pub fn small_queue(bus: &Bus, pattern: &str) -> Subscription {
    bus.subscribe(pattern, SubscribeOptions::new().capacity(4).overflow(Overflow::Error)).unwrap()
}

/// A durable import with at most 8 messages unacknowledged, so that the
/// small queue fills while more are on their way.
pub fn import(pattern: &str, stream: &str, durable: &str) -> DurableImport {
    let mut import = DurableImport::new(pattern, stream, durable);
    import.max_ack_pending = 8;
    import
}

/// Receives `count` messages from `queue`, slower than they come, each
/// passed to `check`, and returns their payloads (decimal numbers) sorted.
/// `stuck` says what the test knows when one does not come.
pub fn receive_slowly(
    queue: &Subscription,
    count: u32,
    check: impl Fn(&Message),
    stuck: impl Fn() -> String,
) -> Vec<u32> {
    let mut got = Vec::new();
    while got.len() < count as usize {
        let message = queue.recv_timeout(PATIENCE).unwrap_or_else(|e| {
            panic!("a handed-back message is delivered again ({e}); {} so far; {}", got.len(), stuck())
        });
        check(&message);
        got.push(String::from_utf8(message.payload().to_vec()).unwrap().parse::<u32>().unwrap());
        std::thread::sleep(Duration::from_millis(5));
    }
    got.sort_unstable();
    got
}
