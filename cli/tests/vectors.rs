//! `vectors`: the files it writes are the committed ones.

mod common;

use common::{fails, ok, ok_json};

#[test]
fn writes_the_committed_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["vectors", "--dir", "."]);
    assert!(
        out.starts_with(
            "wrote status.json, topics.json, tokens.json, audit.json, bridge/messages.json into ."
        ),
        "{out}"
    );
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    for name in ["status.json", "topics.json", "tokens.json", "audit.json", "bridge/messages.json"] {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        assert!(fresh == std::fs::read(committed.join(name)).unwrap(), "{name} differs");
    }
    let json = ok_json(dir.path(), &["vectors", "--dir", "."]);
    assert_eq!(json["files"].as_array().unwrap().len(), 5);
}

#[test]
fn a_missing_directory_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["vectors", "--dir", "nowhere"], 12, "NOT_FOUND");
    assert!(err.contains("nowhere is not a directory"), "{err}");
}
