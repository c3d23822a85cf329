//! `token mint`, `delegate`, `inspect` and `verify`: issuing capability
//! tokens and checking them as an authority would, from the shell.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use charter_core::capability::{Authority, AuthorityOptions, LinkId, ManualClock, Token};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::input;
use crate::output::Output;
use crate::status::{CliError, CliResult};
use charter_core::text::utc;

use crate::time::{self, WindowArgs};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Mint a root token: a root key gives grants to a subject for a window
    Mint(MintArgs),
    /// Delegate a narrower token to another subject (signed by the holder)
    Delegate(DelegateArgs),
    /// Show every link of a token, without checking signatures
    Inspect(InspectArgs),
    /// Verify a token as an authority trusting the given roots would
    Verify(VerifyArgs),
}

/// What any new link needs: who gets it, what it allows, for how long, and
/// where the token goes.
#[derive(Args, Debug)]
pub struct LinkArgs {
    /// The subject's public key (charter-pk1:...)
    #[arg(long, value_name = "PUBKEY")]
    pub subject: String,
    /// "ACTION PATTERN", such as "publish orders.*.created"; repeat for more
    #[arg(long, required = true, value_name = "GRANT")]
    pub grant: Vec<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Write the token's text form to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MintArgs {
    /// The root's private key file
    #[arg(long, value_name = "ROOT_KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub link: LinkArgs,
}

#[derive(Args, Debug)]
pub struct DelegateArgs {
    /// The token to narrow: a file, its text form, or - for standard input
    #[arg(long, value_name = "TOKEN")]
    pub token: String,
    /// The private key of the token's current subject
    #[arg(long, value_name = "HOLDER_KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub link: LinkArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A token file, its text form, or - for standard input
    pub token: String,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A token file, its text form, or - for standard input
    pub token: String,
    /// A trusted root public key (charter-pk1:...); repeat for more
    #[arg(long, required = true, value_name = "PUBKEY")]
    pub root: Vec<String>,
    /// Check at this time instead of now, in Unix seconds
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<u64>,
    /// A revoked link id (64 hex digits); repeat for more
    #[arg(long, value_name = "LINK_ID")]
    pub revoked: Vec<String>,
}

pub fn run(command: &TokenCommand, out: &mut Output) -> CliResult<()> {
    match command {
        TokenCommand::Mint(args) => {
            let root = input::load_key(&args.key)?;
            let link = &args.link;
            let (not_before, not_after) = link.window.resolve()?;
            let subject = input::public_key("--subject", &link.subject)?;
            let token = Token::mint(&root, &subject, &input::grants(&link.grant)?, not_before, not_after)?;
            issued(&token, link, out)
        }
        TokenCommand::Delegate(args) => {
            let parent = input::token(&args.token)?;
            let holder = input::load_key(&args.key)?;
            let link = &args.link;
            let (not_before, not_after) = link.window.resolve()?;
            let subject = input::public_key("--subject", &link.subject)?;
            let token = parent
                .delegate(&holder, &subject, &input::grants(&link.grant)?, not_before, not_after)
                .map_err(|e| {
                    CliError::from(e).hint(
                        "a delegation may only narrow: grants within the parent's, window inside its window",
                    )
                })?;
            issued(&token, link, out)
        }
        TokenCommand::Inspect(args) => inspect(&input::token(&args.token)?, out),
        TokenCommand::Verify(args) => verify(args, out),
    }
}

/// Hands a new token over: its text form to standard output (so
/// `$(charter token mint ...)` captures exactly the token) or to `--out`.
fn issued(token: &Token, link: &LinkArgs, out: &mut Output) -> CliResult<()> {
    let text = token.to_text();
    let last = token.links().len() - 1;
    let id = token.link_id(last).to_hex();
    let human = match &link.out {
        Some(path) => {
            fs::write(path, format!("{text}\n")).map_err(|e| CliError::io("cannot write", path, &e))?;
            format!("wrote {} (link {last}, id {id})\n", path.display())
        }
        None => format!("{text}\n"),
    };
    let links: Vec<String> = (0..token.links().len()).map(|i| token.link_id(i).to_hex()).collect();
    let subject = token.subject();
    out.emit(
        &human,
        &json!({
            "token": text,
            "out": link.out.as_ref().map(|p| p.display().to_string()),
            "subject": subject.to_text(),
            "principal": subject.principal().to_text(),
            "links": links,
        }),
    )
}

fn inspect(token: &Token, out: &mut Output) -> CliResult<()> {
    let links: Vec<Value> = token
        .links()
        .iter()
        .enumerate()
        .map(|(i, link)| {
            let issuer = if i == 0 { token.root_key() } else { token.links()[i - 1].subject() };
            json!({
                "index": i,
                "kind": if link.is_root() { "root" } else { "delegation" },
                "id": token.link_id(i).to_hex(),
                "issuer": issuer.to_text(),
                "issuer_principal": issuer.principal().to_text(),
                "subject": link.subject().to_text(),
                "subject_principal": link.subject().principal().to_text(),
                "not_before": link.not_before(),
                "not_after": link.not_after(),
                "grants": link.grants().iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    let human =
        format!("{}(structure only: `charter token verify` checks signatures and time)\n", token.inspect());
    out.emit(
        &human,
        &json!({ "bytes": token.as_bytes().len(), "root": token.root_key().to_text(), "links": links }),
    )
}

fn verify(args: &VerifyArgs, out: &mut Output) -> CliResult<()> {
    let token = input::token(&args.token)?;
    let roots = args.root.iter().map(|r| input::public_key("--root", r)).collect::<CliResult<Vec<_>>>()?;
    let at = args.at.unwrap_or_else(time::now);
    let options = AuthorityOptions { clock: Arc::new(ManualClock::new(at)), ..AuthorityOptions::default() };
    let authority = Authority::new(roots, options);
    for id in &args.revoked {
        let id = LinkId::from_hex(id).map_err(|e| {
            CliError::from(e).hint("--revoked takes a link id as `charter token inspect` shows it")
        })?;
        authority.revoke(id)?;
    }
    let verified = authority.verify(&token)?;
    let grants: Vec<String> = verified.grants.iter().map(ToString::to_string).collect();
    let links: Vec<String> = verified.links.iter().map(LinkId::to_hex).collect();
    let mut human = format!(
        "valid at {} ({at})\nsubject    {}\nprincipal  {}\nwindow     {} .. {}\n",
        utc(at),
        verified.subject,
        verified.principal,
        utc(verified.not_before),
        utc(verified.not_after)
    );
    for grant in &grants {
        human += &format!("grant      {grant}\n");
    }
    for (i, id) in links.iter().enumerate() {
        human += &format!("link {i}     {id}\n");
    }
    out.emit(
        &human,
        &json!({
            "valid": true,
            "at": at,
            "subject": verified.subject.to_text(),
            "principal": verified.principal.to_text(),
            "not_before": verified.not_before,
            "not_after": verified.not_after,
            "grants": grants,
            "links": links,
        }),
    )
}
