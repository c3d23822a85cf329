//! `status.json`: every status code and its name.

use charter_core::ErrorKind;
use serde_json::{json, Map, Value};

pub(crate) fn vectors() -> Value {
    let mut cases = vec![json!({ "code": 0, "name": "CHARTER_OK" })];
    cases.extend(ErrorKind::ALL.iter().map(|kind| json!({ "code": kind.code(), "name": kind.name() })));
    let mut body = Map::new();
    body.insert("cases".into(), cases.into());
    crate::file("Every status code with its stable numeric value and name.", body)
}
