//! The bridge config file: JSON, strict (an unknown key is an error, so a
//! typo never silently turns a check off). docs/bridge.md, "The sidecar",
//! documents every key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use charter_bridge::{BridgeOptions, Credentials, DurableImport, Import, VerifyOptions};
use charter_core::audit::{AuditLog, AuditOptions, Recorder, Scope};
use charter_core::capability::{Authority, AuthorityOptions};
use serde_json::{Map, Value};

use crate::input::{load_key, public_key, read_bounded, token};
use crate::status::{CliError, CliResult, Status};

/// The largest config file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The largest revocation list read.
const MAX_REVOCATIONS_BYTES: u64 = 8 << 20;

/// One bridge of the file, ready to start.
pub struct Planned {
    pub options: BridgeOptions,
}

/// Reads `path`: `{"bridges": [BRIDGE, ...]}`. Relative paths inside it
/// are taken from the config file's directory.
pub fn read(path: &Path) -> CliResult<Vec<Planned>> {
    let bytes = read_bounded(path, "bridge config", MAX_CONFIG_BYTES)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        CliError::new(Status::Malformed, format!("bridge config {}: {e}", path.display()))
            .hint("the config is JSON: {\"bridges\": [{\"servers\": [...], ...}]}; see docs/bridge.md")
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let top = object(&value, "the config")?;
    only(top, "the config", &["bridges"])?;
    let bridges = top
        .get("bridges")
        .and_then(Value::as_array)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| invalid("\"bridges\" must be a non-empty list"))?;
    bridges.iter().enumerate().map(|(i, b)| bridge(b, &format!("bridges[{i}]"), &base)).collect()
}

fn bridge(value: &Value, at: &str, base: &Path) -> CliResult<Planned> {
    let map = object(value, at)?;
    only(
        map,
        at,
        &[
            "servers",
            "name",
            "export",
            "import",
            "request_timeout_ms",
            "export_capacity",
            "export_max_bytes",
            "worker_threads",
            "import_capacity",
            "max_requests_in_flight",
            "credentials",
            "verify",
            "bare_exports",
        ],
    )?;
    let servers = strings(map.get("servers"), &format!("{at}.servers"))?;
    if servers.is_empty() {
        return Err(invalid(&format!("{at}.servers must name at least one server")));
    }
    let mut options = BridgeOptions::new(&servers[0]);
    options.servers = servers;
    if let Some(name) = map.get("name") {
        options.name = name.as_str().ok_or_else(|| invalid(&format!("{at}.name must be a string")))?.into();
    }
    options.exports = strings(map.get("export"), &format!("{at}.export"))?;
    if let Some(imports) = map.get("import") {
        let list = imports.as_array().ok_or_else(|| invalid(&format!("{at}.import must be a list")))?;
        for (i, value) in list.iter().enumerate() {
            match import(value, &format!("{at}.import[{i}]"))? {
                Imported::Core(import) => options.imports.push(import),
                Imported::Durable(import) => options.durable_imports.push(import),
            }
        }
    }
    if let Some(ms) = map.get("request_timeout_ms") {
        options.request_timeout = Duration::from_millis(number(ms, &format!("{at}.request_timeout_ms"))?);
    }
    if let Some(capacity) = map.get("export_capacity") {
        options.export_capacity = number(capacity, &format!("{at}.export_capacity"))? as usize;
    }
    if let Some(bytes) = map.get("export_max_bytes") {
        options.export_max_bytes = number(bytes, &format!("{at}.export_max_bytes"))? as usize;
    }
    if let Some(capacity) = map.get("import_capacity") {
        options.import_capacity = number(capacity, &format!("{at}.import_capacity"))?.max(1) as usize;
    }
    if let Some(limit) = map.get("max_requests_in_flight") {
        options.max_requests_in_flight =
            number(limit, &format!("{at}.max_requests_in_flight"))?.max(1) as usize;
    }
    if let Some(threads) = map.get("worker_threads") {
        options.worker_threads = number(threads, &format!("{at}.worker_threads"))?.max(1) as usize;
    }
    if let Some(credentials) = map.get("credentials") {
        options.credentials = Some(read_credentials(credentials, &format!("{at}.credentials"), base)?);
    }
    if let Some(verify) = map.get("verify") {
        options.verify = Some(read_verify(verify, &format!("{at}.verify"), base)?);
    }
    if let Some(bare) = map.get("bare_exports") {
        options.bare_exports =
            bare.as_bool().ok_or_else(|| invalid(&format!("{at}.bare_exports must be true or false")))?;
    }
    // The bridge crate's own check, so `--check` refuses what start would.
    options.validate()?;
    Ok(Planned { options })
}

/// One entry of `import`: core NATS, or durable through JetStream.
enum Imported {
    Core(Import),
    Durable(DurableImport),
}

fn import(value: &Value, at: &str) -> CliResult<Imported> {
    if let Some(pattern) = value.as_str() {
        return Ok(Imported::Core(Import::new(pattern)));
    }
    let map = object(value, at)?;
    only(map, at, &["pattern", "queue_group", "relay", "durable"])?;
    let pattern = map
        .get("pattern")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{at}.pattern must be a string")))?;
    let relay = match map.get("relay") {
        Some(relay) => {
            relay.as_bool().ok_or_else(|| invalid(&format!("{at}.relay must be true or false")))?
        }
        None => false,
    };
    let group = map.get("queue_group").filter(|g| !g.is_null());
    if let Some(durable) = map.get("durable") {
        if group.is_some() {
            return Err(invalid(&format!(
                "{at} has both \"durable\" and \"queue_group\": bridges sharing a durable consumer share its messages"
            )));
        }
        let mut import = durable_import(pattern, durable, &format!("{at}.durable"))?;
        import.relay = relay;
        return Ok(Imported::Durable(import));
    }
    let mut import = Import::new(pattern);
    if let Some(group) = group {
        import.queue_group = Some(
            group.as_str().ok_or_else(|| invalid(&format!("{at}.queue_group must be a string")))?.into(),
        );
    }
    import.relay = relay;
    Ok(Imported::Core(import))
}

fn durable_import(pattern: &str, value: &Value, at: &str) -> CliResult<DurableImport> {
    let map = object(value, at)?;
    only(map, at, &["stream", "name", "ack_wait_ms", "max_ack_pending"])?;
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(&format!("{at}.{key} must be a non-empty string")))
    };
    let mut import = DurableImport::new(pattern, text("stream")?, text("name")?);
    if let Some(ms) = map.get("ack_wait_ms") {
        let ms = number(ms, &format!("{at}.ack_wait_ms"))?;
        if ms == 0 {
            return Err(invalid(&format!("{at}.ack_wait_ms must be at least 1")));
        }
        import.ack_wait = Duration::from_millis(ms);
    }
    if let Some(pending) = map.get("max_ack_pending") {
        import.max_ack_pending = number(pending, &format!("{at}.max_ack_pending"))?.max(1) as usize;
    }
    Ok(import)
}

fn read_credentials(value: &Value, at: &str, base: &Path) -> CliResult<Credentials> {
    let map = object(value, at)?;
    only(map, at, &["token", "key"])?;
    let text = |key: &str| {
        map.get(key).and_then(Value::as_str).ok_or_else(|| invalid(&format!("{at}.{key} must be a string")))
    };
    let token_arg = text("token")?;
    let token_arg = if token_arg.starts_with(charter_core::capability::TOKEN_PREFIX) {
        token_arg.to_owned()
    } else {
        resolve(base, token_arg).to_string_lossy().into_owned()
    };
    let token = token(&token_arg)?;
    let key = load_key(&resolve(base, text("key")?))?;
    Ok(Credentials { token, key: Arc::new(key) })
}

fn read_verify(value: &Value, at: &str, base: &Path) -> CliResult<VerifyOptions> {
    let map = object(value, at)?;
    only(map, at, &["roots", "max_skew_ms", "revocations", "audit_log", "audit_scope"])?;
    let roots = strings(map.get("roots"), &format!("{at}.roots"))?;
    if roots.is_empty() {
        return Err(invalid(&format!("{at}.roots must name at least one trusted root key")));
    }
    let roots = roots.iter().map(|r| public_key(&format!("{at}.roots"), r)).collect::<CliResult<Vec<_>>>()?;
    let authority = Authority::new(roots, AuthorityOptions::default());
    if let Some(file) = map.get("revocations") {
        let file = file.as_str().ok_or_else(|| invalid(&format!("{at}.revocations must be a path")))?;
        let bytes = read_bounded(&resolve(base, file), "revocation list", MAX_REVOCATIONS_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| CliError::new(Status::Malformed, "the revocation list is not UTF-8"))?;
        authority.import_revocations(&text)?;
    }
    let max_skew = match map.get("max_skew_ms") {
        Some(ms) => Duration::from_millis(number(ms, &format!("{at}.max_skew_ms"))?),
        None => Duration::from_secs(30),
    };
    let scope = match map.get("audit_scope").map(|s| s.as_str()) {
        None | Some(Some("denials")) => Scope::Denials,
        Some(Some("all")) => Scope::All,
        Some(_) => return Err(invalid(&format!("{at}.audit_scope must be \"denials\" or \"all\""))),
    };
    let recorder = match map.get("audit_log") {
        Some(file) => {
            let file = file.as_str().ok_or_else(|| invalid(&format!("{at}.audit_log must be a path")))?;
            Some(Recorder::new(AuditLog::open(resolve(base, file), AuditOptions::default())?, scope))
        }
        None => None,
    };
    Ok(VerifyOptions { authority, max_skew, recorder, clock: None })
}

fn resolve(base: &Path, file: &str) -> PathBuf {
    base.join(file)
}

fn object<'a>(value: &'a Value, at: &str) -> CliResult<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| invalid(&format!("{at} must be an object")))
}

fn only(map: &Map<String, Value>, at: &str, known: &[&str]) -> CliResult<()> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(invalid(&format!("{at} has an unknown key {}", charter_core::quote(key)))
            .hint(format!("known keys: {}", known.join(", ")))),
        None => Ok(()),
    }
}

fn strings(value: Option<&Value>, at: &str) -> CliResult<Vec<String>> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let list = value.as_array().ok_or_else(|| invalid(&format!("{at} must be a list of strings")))?;
    list.iter()
        .map(|v| {
            v.as_str().map(str::to_owned).ok_or_else(|| invalid(&format!("{at} must be a list of strings")))
        })
        .collect()
}

fn number(value: &Value, at: &str) -> CliResult<u64> {
    value.as_u64().ok_or_else(|| invalid(&format!("{at} must be a whole number")))
}

fn invalid(message: &str) -> CliError {
    CliError::new(Status::InvalidArgument, format!("bridge config: {message}"))
        .hint("see docs/bridge.md, \"The sidecar\"")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::bridge;

    #[test]
    fn bare_exports_is_off_unless_set_and_must_be_a_boolean() {
        let at = "bridges[0]";
        let servers = json!(["nats://127.0.0.1:4222"]);
        let default = bridge(&json!({ "servers": servers }), at, Path::new("")).ok().unwrap();
        assert!(!default.options.bare_exports);
        let bare =
            bridge(&json!({ "servers": servers, "bare_exports": true }), at, Path::new("")).ok().unwrap();
        assert!(bare.options.bare_exports);
        let error =
            bridge(&json!({ "servers": servers, "bare_exports": "yes" }), at, Path::new("")).err().unwrap();
        assert!(error.to_string().contains("bridges[0].bare_exports must be true or false"), "{error}");
    }
}
