//! Charter's cross-language test vectors.
//!
//! Every file in `vectors/` is generated here, from the core, with fixed
//! keys and a fixed clock, so it is byte-for-byte reproducible: the test
//! in `tests/` regenerates them and fails on any drift, and runners in Rust,
//! C, Go, Python and Node check every case. Each file carries a schema
//! version and a description; `vectors/README.md` documents the fields.

mod audit;
mod bridge;
mod keys;
pub mod rules;
mod status;
mod tokens;
mod topics;

use std::path::Path;

use serde_json::Value;

/// The version of the vector files' layout. Runners check it.
pub const SCHEMA: u64 = 1;

/// Every vector file: its name in `vectors/` and its JSON text.
pub fn generate() -> Vec<(&'static str, String)> {
    [
        ("status.json", status::vectors()),
        ("topics.json", topics::vectors()),
        ("tokens.json", tokens::vectors()),
        ("audit.json", audit::vectors()),
        // In a directory of its own: the C, Go, Python and Node runners
        // check every file at the top level, and do not check this one yet.
        ("bridge/messages.json", bridge::vectors()),
        // Also apart: the binding runners that check it are tests of their
        // own (each binding's rules test), and C has no case of its own.
        ("rules/refusals.json", rules::vectors()),
    ]
    .into_iter()
    .map(|(name, value)| (name, to_text(&value)))
    .collect()
}

/// Writes every vector file into `dir`.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    for (name, text) in generate() {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// One file's envelope: the schema version, what it holds, and its body.
fn file(description: &str, mut body: serde_json::Map<String, Value>) -> Value {
    body.insert("schema".into(), SCHEMA.into());
    body.insert("description".into(), description.into());
    Value::Object(body)
}

fn to_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vectors are plain JSON values");
    text.push('\n');
    text
}
