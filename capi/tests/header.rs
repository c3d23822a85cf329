//! Fails when `include/charter.h` differs from a fresh cbindgen generation.
//! `CHARTER_BLESS=1 cargo test -p charter-capi --test header` (or
//! `make header`) rewrites it.
//!
//! The generation adds the version macros (`CHARTER_VERSION_MAJOR` and so
//! on) from this crate's version, which is the workspace's: cbindgen cannot
//! evaluate `env!`, so they cannot be Rust constants, and writing them here
//! keeps the header generated and the version set in one place.

use std::path::Path;

use charter_core::ErrorKind;

const BEGIN: &str = "// BEGIN CHARTER_E_*";
const END: &str = "// END CHARTER_E_*";

#[test]
fn committed_header_matches_a_fresh_generation() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    check_status_constants(&crate_dir.join("src/status.rs"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(version_macros());
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let path = crate_dir.join("../include/charter.h");
    if std::env::var_os("CHARTER_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/charter.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(committed == fresh, "include/charter.h is stale: run `make header` and commit the result");
}

/// The compile-time version macros; `charter_version()` returns the same
/// string at run time.
fn version_macros() -> String {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    let patch = env!("CARGO_PKG_VERSION_PATCH");
    [
        String::new(),
        "/** The major version of Charter this header belongs to. */".into(),
        format!("#define CHARTER_VERSION_MAJOR {major}"),
        "/** The minor version of Charter this header belongs to. */".into(),
        format!("#define CHARTER_VERSION_MINOR {minor}"),
        "/** The patch version of Charter this header belongs to. */".into(),
        format!("#define CHARTER_VERSION_PATCH {patch}"),
        "/** The version as a string; charter_version() returns the same one when the".into(),
        " * loaded library is the one this header belongs to. */".into(),
        format!("#define CHARTER_VERSION \"{major}.{minor}.{patch}\""),
    ]
    .join("\n")
}

/// Fails when the `CHARTER_E_*` constants in `src/status.rs` differ from
/// the core's `ErrorKind` table (rewrites them under `CHARTER_BLESS`): the
/// table is the one definition, and cbindgen can only read literals.
fn check_status_constants(path: &Path) {
    let text = std::fs::read_to_string(path).expect("read src/status.rs");
    let begin = text.find(BEGIN).expect("src/status.rs has the BEGIN marker");
    let begin = begin + text[begin..].find("\n// ").expect("a second marker line") + 1;
    let begin = begin + text[begin..].find('\n').expect("end of the marker") + 1;
    let end = text.find(END).expect("src/status.rs has the END marker");
    let fresh: String = ErrorKind::ALL
        .iter()
        .map(|kind| {
            let doc: String = kind.doc_lines().iter().map(|line| format!("///{line}\n")).collect();
            format!("{doc}pub const {}: charter_status_t = {};\n", kind.name(), kind.code())
        })
        .collect();
    if std::env::var_os("CHARTER_BLESS").is_some() {
        let updated = format!("{}{fresh}{}", &text[..begin], &text[end..]);
        std::fs::write(path, updated).expect("write src/status.rs");
        return;
    }
    assert!(
        text[begin..end] == fresh,
        "the CHARTER_E_* constants are stale: run `make header` and commit the result"
    );
}
