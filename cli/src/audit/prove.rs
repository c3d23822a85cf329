//! `audit prove`: inclusion and consistency proofs, for an auditor who
//! holds a signed checkpoint and wants to check a record or a newer tree
//! against it without trusting the log.

use std::path::PathBuf;

use charter_core::audit::{Hash, LogView};
use clap::{ArgGroup, Args};
use serde_json::json;

use charter_core::text::hex;

use crate::output::Output;
use crate::status::{CliError, CliResult, Status};

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("proof").required(true).args(["index", "consistency"])))]
pub struct ProveArgs {
    /// The audit log file (opened read-only; no lock is taken)
    pub log: PathBuf,
    /// Prove that record I is in the tree
    #[arg(long, value_name = "I")]
    pub index: Option<u64>,
    /// Prove that the tree of the first M records is a prefix of the tree
    #[arg(long, value_name = "M")]
    pub consistency: Option<u64>,
    /// The size of the tree to prove against [default: the whole log]
    #[arg(long, value_name = "N")]
    pub size: Option<u64>,
}

pub fn run(args: &ProveArgs, out: &mut Output) -> CliResult<()> {
    // Read-only and without the writer's lock: proofs beside a live writer
    // cover the records complete when the command started.
    let log = LogView::open(&args.log)?;
    let size = args.size.unwrap_or_else(|| log.len());
    let root = hex(&log.root_at(size)?);
    let (proof, head, mut json) = match (args.index, args.consistency) {
        (Some(index), _) => {
            let proof = log.prove_inclusion(index, size)?;
            let leaf = hex(&log.leaf_hash(index)?);
            let head = format!(
                "inclusion of record {index} in the tree of {size} records\nleaf  {leaf}\nroot  {root}"
            );
            let json =
                json!({"kind": "inclusion", "index": index, "size": size, "leaf_hash": leaf, "root": root});
            (proof, head, json)
        }
        (None, Some(old)) => {
            let proof = log.prove_consistency(old, size)?;
            let old_root = hex(&log.root_at(old)?);
            let head = format!(
                "consistency of the tree of {old} records with the tree of {size}\nold root  {old_root}\nroot      {root}"
            );
            let json = json!({"kind": "consistency", "old_size": old, "size": size, "old_root": old_root, "root": root});
            (proof, head, json)
        }
        (None, None) => return Err(CliError::new(Status::Usage, "give --index I or --consistency M")),
    };
    let proof = hashes(&proof);
    let human = format!("{head}\n{}", lines(&proof));
    json["proof"] = json!(proof);
    out.emit(&human, &json)
}

fn hashes(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(|h| hex(h)).collect()
}

/// The proof's hashes, one per line, leaf (or old tree) first, as RFC 9162
/// orders them.
fn lines(proof: &[String]) -> String {
    let mut text = format!("proof ({} hashes)\n", proof.len());
    for hash in proof {
        text += &format!("  {hash}\n");
    }
    text
}
