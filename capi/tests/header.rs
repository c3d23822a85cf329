//! Fails when `include/charter.h` differs from a fresh cbindgen generation.
//! `CHARTER_BLESS=1 cargo test -p charter-capi --test header` (or
//! `make header`) rewrites it.

use std::path::Path;

#[test]
fn committed_header_matches_a_fresh_generation() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
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
