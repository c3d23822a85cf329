//! `charter bridge`: a standalone bridge process (a sidecar) that carries
//! between NATS servers through a bus of its own, from a config file.

mod config;

use std::path::PathBuf;

use charter_bridge::{Bridge, BridgeStats};
use charter_core::bus::{Bus, BusLimits};
use clap::Args;
use serde_json::json;

use crate::output::Output;
use crate::status::CliResult;

#[derive(Args, Debug)]
pub struct BridgeArgs {
    /// The config file (JSON; see docs/bridge.md, "The sidecar")
    #[arg(long)]
    pub config: PathBuf,
    /// Check the config and exit without connecting
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &BridgeArgs, out: &mut Output) -> CliResult<()> {
    let planned = config::read(&args.config)?;
    if args.check {
        return out.emit(
            &format!("{}: {} bridge(s), config ok\n", args.config.display(), planned.len()),
            &json!({ "config": args.config.display().to_string(), "bridges": planned.len(), "ok": true }),
        );
    }
    let bus = Bus::new(BusLimits::default())?;
    let mut bridges = Vec::with_capacity(planned.len());
    for plan in planned {
        let name = plan.options.name.clone();
        bridges.push((name, Bridge::start(&bus, plan.options)?));
    }
    let origins: Vec<_> =
        bridges.iter().map(|(name, b)| json!({ "name": name, "origin": b.origin() })).collect();
    let human: String =
        bridges.iter().map(|(name, b)| format!("bridge {name} started, origin {}\n", b.origin())).collect();
    out.emit(&format!("{human}ready\n"), &json!({ "ready": true, "bridges": origins }))?;
    let signal = charter_bridge::signal::wait_for_shutdown()?;
    let mut human = format!("{signal}: stopping\n");
    let mut report = Vec::new();
    for (name, bridge) in bridges {
        let stats = bridge.stats();
        bridge.close();
        human.push_str(&format!("bridge {name}: {}\n", summary(&stats)));
        report.push(json!({ "name": name, "stats": stats_json(&stats) }));
    }
    bus.close();
    out.emit(&human, &json!({ "stopped": signal, "bridges": report }))
}

fn summary(stats: &BridgeStats) -> String {
    let refused: u64 = stats.refused.iter().map(|(_, n)| n).sum();
    format!(
        "exported {}, imported {}, requests out {}, requests in {}, refused {refused}",
        stats.exported, stats.imported, stats.requests_out, stats.requests_in
    )
}

fn stats_json(stats: &BridgeStats) -> serde_json::Value {
    let refused: serde_json::Map<String, serde_json::Value> =
        stats.refused.iter().map(|(reason, n)| (reason.name().to_owned(), json!(n))).collect();
    json!({
        "exported": stats.exported,
        "imported": stats.imported,
        "requests_out": stats.requests_out,
        "requests_in": stats.requests_in,
        "not_reexported": stats.not_reexported,
        "own_origin": stats.own_origin,
        "max_payload": stats.max_payload,
        "send_failed": stats.send_failed,
        "bad_header": stats.bad_header,
        "seal_failed": stats.seal_failed,
        "local_refused": stats.local_refused,
        "no_responders": stats.no_responders,
        "requests_busy": stats.requests_busy,
        "reply_timeout": stats.reply_timeout,
        "slow_consumer": stats.slow_consumer,
        "redelivery_requested": stats.redelivery_requested,
        "duplicate_suppressed": stats.duplicate_suppressed,
        "durable_terminated": stats.durable_terminated,
        "durable_bind_failed": stats.durable_bind_failed,
        "ack_failed": stats.ack_failed,
        "export_queue_dropped": stats.export_queue_dropped,
        "refused": refused,
    })
}
