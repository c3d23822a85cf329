//! Running the built `charter` binary and checking how it ended.

#![allow(dead_code)] // Each test file uses its own subset.

pub mod log;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_charter");

/// How one run ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `charter args` in `dir`, with `stdin` as standard input.
pub fn run_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the charter binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let run = Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!run.stderr.contains("panicked"), "charter {args:?} panicked: {}", run.stderr);
    run
}

pub fn run(dir: &Path, args: &[&str]) -> Run {
    run_with_stdin(dir, args, "")
}

/// Runs a command that must succeed and returns its standard output.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let run = run(dir, args);
    assert_eq!(run.code, 0, "charter {args:?} failed: {}", run.stderr);
    run.stdout
}

/// Runs a command that succeeds with `--json` and parses its one line.
pub fn ok_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    serde_json::from_str(ok(dir, &with_json).trim()).expect("one JSON value")
}

/// Runs a command that must fail with `code` and `status`, report it in
/// the CLI's error format with a hint, and print nothing on stdout.
/// Returns standard error for further checks.
pub fn fails(dir: &Path, args: &[&str], code: i32, status: &str) -> String {
    let run = run(dir, args);
    assert_eq!(run.code, code, "charter {args:?}: wrong exit code; stderr: {}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!("error: {status}: ")),
        "charter {args:?}: stderr should start with the status: {}",
        run.stderr
    );
    assert!(run.stderr.contains("\nhint: "), "charter {args:?}: no hint: {}", run.stderr);
    assert_eq!(run.stdout, "", "charter {args:?}: a failure prints nothing on stdout");
    run.stderr
}

/// Makes a key in `dir` and returns its public key text.
pub fn keygen(dir: &Path, name: &str) -> String {
    ok_json(dir, &["keygen", name])["public_key"].as_str().unwrap().to_string()
}
