//! `charter.AuditLog` (the writer: open, `start_over`, automatic
//! checkpoints) and its reports (`VerifyReport`, `Recovery`), the iterator
//! `AuditRecords`, and the recorders `Bus(audit=...)` and
//! `Authority(audit=...)` are given. The auditor's read-only path is in
//! `auditor`, witnesses and cosignatures in `witness`.
//!
//! `Record` and `Decision` are Python classes (`charter/audit.py`): a frozen
//! dataclass and a string enum, ordinary to build, compare and pickle. They
//! are converted here, at the boundary.
//!
//! # Closing, threads and the GIL
//!
//! The Python object holds one handle to the core log, which `close` gives
//! up. Each call clones the handle (an `Arc`) under a lock held only for
//! that, then calls the core with no lock of the binding held. Calls that
//! may wait on the disk (open, append, sync, get, iteration, checkpoints,
//! verify) run with the GIL released and take their clone with them, so
//! that a last handle, whose drop may sync the file and join the interval
//! flusher, is dropped without the GIL too. The core never runs Python code.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use charter_core::audit::{self, AuditOptions, FsyncPolicy, Query, Recorder, Scope};
use charter_core::capability::PrincipalId;
use charter_core::ErrorKind;
use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PySlice, PyString, PyTuple};

use crate::callback::lock;
use crate::errors::{new_err, to_pyerr};
use crate::keys::KeyPair;
use crate::shutdown;

/// What `open` found and repaired in the file.
#[pyclass(frozen, eq, hash, module = "charter")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recovery {
    /// Intact records in the file.
    #[pyo3(get)]
    records: u64,
    /// Bytes of a torn last frame (a crash during an append) cut off.
    #[pyo3(get)]
    truncated_bytes: u64,
}

#[pymethods]
impl Recovery {
    #[new]
    #[pyo3(signature = (records = 0, truncated_bytes = 0))]
    fn new(records: u64, truncated_bytes: u64) -> Recovery {
        Recovery { records, truncated_bytes }
    }

    fn __repr__(&self) -> String {
        format!("Recovery(records={}, truncated_bytes={})", self.records, self.truncated_bytes)
    }
}

/// What `AuditLog.verify` found.
#[pyclass(frozen, eq, module = "charter")]
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyReport(pub(crate) audit::VerifyReport);

#[pymethods]
impl VerifyReport {
    /// Records read back intact, in order, from the start.
    #[getter]
    fn records(&self) -> u64 {
        self.0.records
    }

    /// The first record damaged, rewritten or missing, if any.
    #[getter]
    fn first_bad(&self) -> Option<u64> {
        self.0.first_bad
    }

    /// What is wrong, if anything.
    #[getter]
    fn problem(&self) -> Option<&str> {
        self.0.problem.as_deref()
    }

    /// The size of the signed checkpoint the records were checked against.
    #[getter]
    fn checkpoint(&self) -> Option<u64> {
        self.0.checkpoint
    }

    /// The size of the earlier checkpoint checked too (`verify_against`,
    /// `verify_log(against=...)`).
    #[getter]
    fn against(&self) -> Option<u64> {
        self.0.against
    }

    /// What kind of problem it is, as a status name (`charter.Error.code`):
    /// `"CHARTER_E_CORRUPT"` for records damaged, missing or rewritten,
    /// `"CHARTER_E_BAD_SIGNATURE"` for a checkpoint missing, not verifying
    /// or short of its witnesses; `None` when everything checked out.
    #[getter]
    fn problem_code(&self) -> Option<&'static str> {
        self.0.problem_kind.map(ErrorKind::name)
    }

    /// The root of the first `records` records.
    #[getter]
    fn root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.root)
    }

    /// The names of the witnesses whose cosignatures on the checkpoint
    /// verified (`charter.verify_log` with `witnesses`).
    #[getter]
    fn witnesses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.0.witnesses)
    }

    /// Whether everything checked out.
    #[getter]
    fn ok(&self) -> bool {
        self.0.is_ok()
    }

    fn __bool__(&self) -> bool {
        self.0.is_ok()
    }

    fn __repr__(&self) -> String {
        let r = &self.0;
        format!(
            "VerifyReport(records={}, first_bad={}, problem={}, checkpoint={}, witnesses={})",
            r.records,
            r.first_bad.map_or("None".to_owned(), |i| i.to_string()),
            r.problem.as_ref().map_or("None".to_owned(), |p| format!("{p:?}")),
            r.checkpoint.map_or("None".to_owned(), |s| s.to_string()),
            names(&r.witnesses),
        )
    }
}

/// An append-only, tamper-evident log of records; see the package docs.
#[pyclass(frozen, module = "charter")]
pub struct AuditLog {
    /// `None` once closed.
    log: Mutex<Option<audit::AuditLog>>,
}

impl AuditLog {
    fn new(log: audit::AuditLog) -> AuditLog {
        AuditLog { log: Mutex::new(Some(log)) }
    }

    /// A handle to the core log, or `ClosedError`.
    pub(crate) fn handle(&self, py: Python<'_>) -> PyResult<audit::AuditLog> {
        lock(&self.log).clone().ok_or_else(|| new_err(py, ErrorKind::Closed, "the audit log is closed"))
    }

    /// Runs `f` on a handle without the GIL; the handle is dropped there.
    fn detached<T: Send>(
        &self,
        py: Python<'_>,
        f: impl Send + FnOnce(&audit::AuditLog) -> charter_core::Result<T>,
    ) -> PyResult<T> {
        let log = self.handle(py)?;
        shutdown::detach(py, move || f(&log)).map_err(|e| to_pyerr(py, &e))
    }

    /// Gives up this object's handle; the last one closes the file (syncing
    /// it first, unless the policy is `Never`).
    fn release(&self, py: Python<'_>) {
        let log = lock(&self.log).take();
        if log.is_some() {
            shutdown::detach(py, move || drop(log));
        }
    }
}

#[pymethods]
impl AuditLog {
    /// Opens the log at `path`, creating it if needed; a torn last record
    /// is cut off (see `recovery`), any other damage, or contents that do
    /// not extend the log's own checkpoint, raise `CorruptError`.
    #[staticmethod]
    #[pyo3(
        signature = (
            path, *, fsync = None, signer = None, origin = None, checkpoint_every = 0,
            checkpoint_interval = None
        ),
        text_signature = "(path, *, fsync='always', signer=None, origin='charter.local/audit', \
            checkpoint_every=0, checkpoint_interval=None)"
    )]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        fsync: Option<&Bound<'_, PyAny>>,
        signer: Option<PyRef<'_, KeyPair>>,
        origin: Option<String>,
        checkpoint_every: u64,
        checkpoint_interval: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AuditLog> {
        let mut options = options(py, fsync, signer, origin)?;
        automatic(py, &mut options, checkpoint_every, checkpoint_interval)?;
        shutdown::detach(py, move || audit::AuditLog::open(path, options))
            .map(AuditLog::new)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Starts a new history at `path` under a new `origin`: the operator's
    /// explicit act for a log that no longer extends its checkpoint. The
    /// old files are kept, renamed; record 0 of the new log says what it
    /// replaces and why (`reason`); its first checkpoint is signed.
    #[staticmethod]
    #[pyo3(
        signature = (
            path, *, reason, signer, origin, fsync = None, checkpoint_every = 0, checkpoint_interval = None
        ),
        text_signature = "(path, *, reason, signer, origin, fsync='always', checkpoint_every=0, \
            checkpoint_interval=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn start_over(
        py: Python<'_>,
        path: PathBuf,
        reason: String,
        signer: PyRef<'_, KeyPair>,
        origin: String,
        fsync: Option<&Bound<'_, PyAny>>,
        checkpoint_every: u64,
        checkpoint_interval: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AuditLog> {
        let mut options = options(py, fsync, Some(signer), Some(origin))?;
        automatic(py, &mut options, checkpoint_every, checkpoint_interval)?;
        shutdown::detach(py, move || audit::AuditLog::start_over(path, options, &reason))
            .map(AuditLog::new)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// A log kept in memory only: the same tree, proofs and checkpoints.
    #[staticmethod]
    #[pyo3(
        signature = (*, signer = None, origin = None),
        text_signature = "(*, signer=None, origin='charter.local/audit')"
    )]
    fn in_memory(
        py: Python<'_>,
        signer: Option<PyRef<'_, KeyPair>>,
        origin: Option<String>,
    ) -> PyResult<AuditLog> {
        let options = options(py, None, signer, origin)?;
        audit::AuditLog::in_memory(options).map(AuditLog::new).map_err(|e| to_pyerr(py, &e))
    }

    /// The file the log is kept in; `None` in memory.
    #[getter]
    fn path(&self, py: Python<'_>) -> PyResult<Option<PathBuf>> {
        Ok(self.handle(py)?.path().map(PathBuf::from))
    }

    /// The log's name in its checkpoints.
    #[getter]
    fn origin(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.handle(py)?.options().origin.clone())
    }

    /// `"always"`, `"never"`, or the interval in seconds.
    #[getter]
    fn fsync<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.handle(py)?.options().fsync {
            FsyncPolicy::Always => PyString::new(py, "always").into_any(),
            FsyncPolicy::Never => PyString::new(py, "never").into_any(),
            FsyncPolicy::Interval(every) => PyFloat::new(py, every.as_secs_f64()).into_any(),
        })
    }

    /// A checkpoint is signed automatically after every this many records
    /// (0: never).
    #[getter]
    fn checkpoint_every(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.handle(py)?.options().checkpoint_every)
    }

    /// A checkpoint is signed automatically this often, in seconds, when
    /// records were added (`None`: never).
    #[getter]
    fn checkpoint_interval(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        Ok(self.handle(py)?.options().checkpoint_interval.map(|every| every.as_secs_f64()))
    }

    /// What opening the file found and repaired (all zero in memory).
    #[getter]
    fn recovery(&self, py: Python<'_>) -> PyResult<Recovery> {
        let audit::Recovery { records, truncated_bytes } = self.handle(py)?.recovery();
        Ok(Recovery { records, truncated_bytes })
    }

    /// Appends a record and returns its index: `append(record)` with a
    /// `Record`, or `append(action, resource, decision, *, actor=None,
    /// reason=0, detail="", time=None, actor_unproven=False)`. Durable on
    /// return under `fsync="always"`.
    #[pyo3(
        signature = (
            action, resource = None, decision = None, /, *, actor = None, reason = None, detail = None,
            time = None, actor_unproven = None
        ),
        text_signature = "($self, action, resource=None, decision=None, /, *, actor=None, reason=0, detail='', \
            time=None, actor_unproven=False)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::text::optional_utf8)] resource: Option<PyBackedStr>,
        #[pyo3(from_py_with = crate::text::optional_utf8)] decision: Option<PyBackedStr>,
        #[pyo3(from_py_with = crate::text::optional_utf8)] actor: Option<PyBackedStr>,
        reason: Option<i32>,
        #[pyo3(from_py_with = crate::text::optional_utf8)] detail: Option<PyBackedStr>,
        #[pyo3(from_py_with = crate::when::time)] time: Option<u64>,
        actor_unproven: Option<bool>,
    ) -> PyResult<u64> {
        let record = if action.is_instance(record_class(py)?)? {
            if resource.is_some()
                || decision.is_some()
                || actor.is_some()
                || reason.is_some()
                || detail.is_some()
                || time.is_some()
                || actor_unproven.is_some()
            {
                return Err(PyTypeError::new_err("append(record) takes no other arguments"));
            }
            to_record(action)?
        } else {
            let (Some(resource), Some(decision)) = (resource, decision) else {
                return Err(PyTypeError::new_err(
                    "append() takes a Record, or an action, a resource and a decision",
                ));
            };
            audit::Record {
                time: time.unwrap_or_else(now_ms),
                actor: actor.map(|a| principal(py, &a)).transpose()?,
                actor_unproven: actor_unproven.unwrap_or(false),
                action: crate::text::utf8(action)?.to_string(),
                resource: resource.to_string(),
                decision: parse_decision(py, &decision)?,
                reason: reason.unwrap_or(0),
                detail: detail.map(|d| d.to_string()).unwrap_or_default(),
            }
        };
        self.detached(py, move |log| log.append(&record))
    }

    /// Forces every record appended so far to stable storage.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        self.detached(py, audit::AuditLog::sync)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.handle(py)?.len() as usize)
    }

    /// The Merkle root of all records (32 bytes).
    #[getter]
    fn root<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.handle(py)?.root()))
    }

    /// The Merkle root of the first `size` records.
    fn root_at<'py>(&self, py: Python<'py>, size: u64) -> PyResult<Bound<'py, PyBytes>> {
        let root = self.handle(py)?.root_at(size).map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &root))
    }

    /// The leaf hash of record `index`.
    fn leaf_hash<'py>(&self, py: Python<'py>, index: u64) -> PyResult<Bound<'py, PyBytes>> {
        let hash = self.handle(py)?.leaf_hash(index).map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &hash))
    }

    /// The proof that record `index` is in the tree of the first `size`
    /// records: a list of 32-byte hashes.
    fn prove_inclusion<'py>(&self, py: Python<'py>, index: u64, size: u64) -> PyResult<Bound<'py, PyList>> {
        let proof = self.handle(py)?.prove_inclusion(index, size).map_err(|e| to_pyerr(py, &e))?;
        hash_list(py, &proof)
    }

    /// The proof that the tree of the first `old_size` records is a prefix
    /// of the tree of the first `new_size`.
    fn prove_consistency<'py>(
        &self,
        py: Python<'py>,
        old_size: u64,
        new_size: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let proof = self.handle(py)?.prove_consistency(old_size, new_size).map_err(|e| to_pyerr(py, &e))?;
        hash_list(py, &proof)
    }

    /// Record `index`, read back and checked against the tree:
    /// `NotFoundError` past the end, `CorruptError` if changed on disk.
    fn get<'py>(&self, py: Python<'py>, index: u64) -> PyResult<Bound<'py, PyAny>> {
        let record = self.detached(py, move |log| log.get(index))?;
        to_python(py, record)
    }

    /// `log[i]`: `get`, with negative indexes from the end and `IndexError`;
    /// `log[a:b:c]`: a list of the records the slice selects, as for a list.
    fn __getitem__<'py>(&self, py: Python<'py>, index: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let len = self.handle(py)?.len();
        if let Ok(slice) = index.cast::<PySlice>() {
            let selected = slice.indices(isize::try_from(len).unwrap_or(isize::MAX))?;
            let mut records = Vec::with_capacity(selected.slicelength);
            let mut at = selected.start;
            for _ in 0..selected.slicelength {
                records.push(self.get(py, at as u64)?);
                at += selected.step;
            }
            return Ok(PyList::new(py, records)?.into_any());
        }
        let index: i64 = index.extract()?;
        let at = if index < 0 { len.checked_sub(index.unsigned_abs()) } else { Some(index as u64) };
        match at.filter(|&at| at < len) {
            Some(at) => self.get(py, at),
            None => Err(PyIndexError::new_err(format!("record {index} of a log of {len}"))),
        }
    }

    /// The records from `start` on, among those in the log now, that match
    /// every filter given, as `(index, record)` pairs, oldest first. `since`
    /// and `until` (exclusive) are aware datetimes or Unix milliseconds.
    #[pyo3(signature = (*, start = 0, since = None, until = None, actor = None, decision = None))]
    fn records(
        &self,
        py: Python<'_>,
        start: u64,
        #[pyo3(from_py_with = crate::when::since)] since: Option<u64>,
        #[pyo3(from_py_with = crate::when::until)] until: Option<u64>,
        #[pyo3(from_py_with = crate::text::optional_utf8)] actor: Option<PyBackedStr>,
        #[pyo3(from_py_with = crate::text::optional_utf8)] decision: Option<PyBackedStr>,
    ) -> PyResult<AuditRecords> {
        let mut query = Query::all().from_index(start);
        if since.is_some() || until.is_some() {
            query = query.time(since.unwrap_or(0)..until.unwrap_or(u64::MAX));
        }
        if let Some(actor) = actor {
            query = query.actor(principal(py, &actor)?);
        }
        if let Some(decision) = decision {
            query = query.decision(parse_decision(py, &decision)?);
        }
        Ok(AuditRecords(Mutex::new(self.handle(py)?.records(query))))
    }

    /// The note verifier key checkpoints verify with,
    /// `<origin>+<key id>+<key>`; `None` without a signer.
    #[getter]
    fn verifier_key(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let log = self.handle(py)?;
        if log.options().signer.is_none() {
            return Ok(None);
        }
        log.verifier_key().map(Some).map_err(|e| to_pyerr(py, &e))
    }

    /// Signs a checkpoint of the log as it is now (syncing what it covers
    /// first) and returns the note; a file log also keeps it in
    /// `<path>.checkpoint`. `InvalidArgumentError` without a signer.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<String> {
        self.detached(py, audit::AuditLog::checkpoint)
    }

    /// The latest checkpoint note kept, if any.
    #[getter]
    fn latest_checkpoint(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.detached(py, audit::AuditLog::latest_checkpoint)
    }

    /// Rereads and rechecks every record, recomputes the tree and checks it
    /// against the latest checkpoint; the findings are in the report.
    fn verify(&self, py: Python<'_>) -> PyResult<VerifyReport> {
        self.detached(py, audit::AuditLog::verify).map(VerifyReport)
    }

    /// `verify`, and checks that the log extends `note`, an earlier
    /// checkpoint of it kept elsewhere.
    fn verify_against(&self, py: Python<'_>, note: &str) -> PyResult<VerifyReport> {
        self.detached(py, move |log| log.verify_against(note)).map(VerifyReport)
    }

    /// Whether `close` has been called.
    #[getter]
    fn closed(&self) -> bool {
        lock(&self.log).is_none()
    }

    /// Gives up this object's hold on the log; afterwards its methods raise
    /// `ClosedError`. Idempotent.
    fn close(&self, py: Python<'_>) {
        self.release(py);
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().handle(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) {
        self.release(py);
    }

    fn __repr__(&self) -> String {
        match &*lock(&self.log) {
            None => "<charter.AuditLog closed>".to_owned(),
            Some(log) => match log.path() {
                Some(path) => format!("<charter.AuditLog {:?} records={}>", path.display(), log.len()),
                None => format!("<charter.AuditLog in memory records={}>", log.len()),
            },
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if lock(&self.log).is_some() {
            Python::attach(|py| self.release(py));
        }
    }
}

/// The records `AuditLog.records` selects: an iterator of `(index, record)`.
#[pyclass(frozen, module = "charter")]
pub struct AuditRecords(Mutex<audit::Records>);

#[pymethods]
impl AuditRecords {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        // The lock is taken without the GIL: a thread holding it may be
        // waiting for the disk, then for the GIL.
        match shutdown::detach(py, || lock(&self.0).next()) {
            None => Ok(None),
            Some(Ok((index, record))) => Ok(Some((index, to_python(py, record)?))),
            Some(Err(e)) => Err(to_pyerr(py, &e)),
        }
    }
}

/// The recorder for `audit=log, audit_scope=scope` arguments, if a log is
/// given.
pub(crate) fn recorder(
    py: Python<'_>,
    log: Option<PyRef<'_, AuditLog>>,
    scope: &str,
) -> PyResult<Option<Recorder>> {
    let scope = match scope {
        "denials" => Scope::Denials,
        "all" => Scope::All,
        other => {
            return Err(new_err(
                py,
                ErrorKind::InvalidArgument,
                format!("audit_scope must be \"denials\" or \"all\", not {other:?}"),
            ))
        }
    };
    log.map(|log| Ok(Recorder::new(log.handle(py)?, scope))).transpose()
}

fn options(
    py: Python<'_>,
    fsync: Option<&Bound<'_, PyAny>>,
    signer: Option<PyRef<'_, KeyPair>>,
    origin: Option<String>,
) -> PyResult<AuditOptions> {
    let mut options =
        AuditOptions { signer: signer.map(|key| Arc::clone(&key.0)), ..AuditOptions::default() };
    if let Some(fsync) = fsync {
        options.fsync = fsync_policy(py, fsync)?;
    }
    if let Some(origin) = origin {
        options.origin = origin;
    }
    Ok(options)
}

/// `"always"`, `"never"`, or an interval: seconds, or a `timedelta`.
fn fsync_policy(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<FsyncPolicy> {
    if let Ok(name) = value.cast::<PyString>() {
        return match &*name.to_cow()? {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            other => Err(new_err(
                py,
                ErrorKind::InvalidArgument,
                format!("fsync must be \"always\", \"never\" or an interval, not {other:?}"),
            )),
        };
    }
    match seconds(value)? {
        Some(seconds) => positive(py, seconds, "an fsync interval").map(FsyncPolicy::Interval),
        None => Err(PyTypeError::new_err(format!(
            "fsync must be \"always\", \"never\", seconds or a timedelta, not {}",
            value.get_type().name()?
        ))),
    }
}

/// The automatic checkpoint options; the core decides what they need.
fn automatic(
    py: Python<'_>,
    options: &mut AuditOptions,
    every: u64,
    interval: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    options.checkpoint_every = every;
    if let Some(value) = interval {
        let Some(seconds) = seconds(value)? else {
            return Err(PyTypeError::new_err(format!(
                "checkpoint_interval must be seconds or a timedelta, not {}",
                value.get_type().name()?
            )));
        };
        options.checkpoint_interval = Some(positive(py, seconds, "checkpoint_interval")?);
    }
    Ok(())
}

/// A number of seconds, or a `timedelta`'s; `None` for another type.
fn seconds(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>() {
        Ok(Some(value.extract::<f64>()?))
    } else if value.hasattr("total_seconds")? {
        Ok(Some(value.call_method0("total_seconds")?.extract::<f64>()?))
    } else {
        Ok(None)
    }
}

fn positive(py: Python<'_>, seconds: f64, what: &str) -> PyResult<Duration> {
    match Duration::try_from_secs_f64(seconds) {
        Ok(every) if !every.is_zero() => Ok(every),
        _ => Err(new_err(
            py,
            ErrorKind::InvalidArgument,
            format!("{what} must be a positive number of seconds, not {seconds}"),
        )),
    }
}

/// Names as a Python tuple's repr.
pub(crate) fn names(names: &[String]) -> String {
    match names {
        [one] => format!("({one:?},)"),
        _ => format!("({})", names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")),
    }
}

fn parse_decision(py: Python<'_>, name: &str) -> PyResult<audit::Decision> {
    match name {
        "allow" => Ok(audit::Decision::Allow),
        "deny" => Ok(audit::Decision::Deny),
        "error" => Ok(audit::Decision::Error),
        other => Err(new_err(
            py,
            ErrorKind::InvalidArgument,
            format!("a decision is \"allow\", \"deny\" or \"error\", not {other:?}"),
        )),
    }
}

fn principal(py: Python<'_>, text: &str) -> PyResult<PrincipalId> {
    PrincipalId::from_text(text).map_err(|e| to_pyerr(py, &e))
}

/// Milliseconds since the Unix epoch (0 for a clock set before it).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Hashes (a proof, a witness's path) as a Python list of `bytes`.
pub(crate) fn hash_list<'py>(py: Python<'py>, hashes: &[audit::Hash]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, hashes.iter().map(|h| PyBytes::new(py, h)))
}

/// `charter.audit.Record` and the `Decision` members by code, looked up on
/// first use: `charter.audit` is imported after this module.
struct Classes {
    record: Py<PyAny>,
    decisions: [Py<PyAny>; 3],
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let module = py.import("charter.audit")?;
        let decision = module.getattr("Decision")?;
        let member = |name: &str| decision.call1((name,)).map(Bound::unbind);
        Ok(Classes {
            record: module.getattr("Record")?.unbind(),
            decisions: [member("allow")?, member("deny")?, member("error")?],
        })
    })
}

fn record_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(classes(py)?.record.bind(py))
}

/// A core record as a `charter.Record`.
fn to_python(py: Python<'_>, record: audit::Record) -> PyResult<Bound<'_, PyAny>> {
    let classes = classes(py)?;
    let fields = PyDict::new(py);
    fields.set_item("action", record.action)?;
    fields.set_item("resource", record.resource)?;
    fields.set_item("decision", classes.decisions[usize::from(record.decision.code())].bind(py))?;
    fields.set_item("actor", record.actor.map(|a| a.to_text()))?;
    fields.set_item("actor_unproven", record.actor_unproven)?;
    fields.set_item("reason", record.reason)?;
    fields.set_item("detail", record.detail)?;
    fields.set_item("time", record.time)?;
    classes.record.bind(py).call((), Some(&fields))
}

/// A `charter.Record` as a core record.
fn to_record(record: &Bound<'_, PyAny>) -> PyResult<audit::Record> {
    let py = record.py();
    let text = |name: &str| record.getattr(name).and_then(|v| crate::text::utf8(&v));
    let actor = crate::text::optional_utf8(&record.getattr("actor")?)?;
    let decision: PyBackedStr = record.getattr("decision")?.extract()?;
    Ok(audit::Record {
        time: record.getattr("time")?.extract()?,
        actor: actor.map(|a| principal(py, &a)).transpose()?,
        actor_unproven: record.getattr("actor_unproven")?.extract()?,
        action: text("action")?.to_string(),
        resource: text("resource")?.to_string(),
        decision: parse_decision(py, &decision)?,
        reason: record.getattr("reason")?.extract()?,
        detail: text("detail")?.to_string(),
    })
}

/// `Record.time` as Unix milliseconds: the record's dataclass takes an
/// aware `datetime` too, through the same conversion as every other time.
#[pyfunction]
fn _record_millis(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    crate::when::unix_millis(value, "time")
}

/// `Record.encode(index)`: the canonical encoding, the Merkle leaf.
#[pyfunction]
fn _encode_record<'py>(record: &Bound<'py, PyAny>, index: u64) -> PyResult<Bound<'py, PyBytes>> {
    let py = record.py();
    let leaf = to_record(record)?.encode(index).map_err(|e| to_pyerr(py, &e))?;
    Ok(PyBytes::new(py, &leaf))
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AuditLog>()?;
    m.add_class::<AuditRecords>()?;
    m.add_class::<VerifyReport>()?;
    m.add_class::<Recovery>()?;
    m.add_function(wrap_pyfunction!(_record_millis, m)?)?;
    m.add_function(wrap_pyfunction!(_encode_record, m)?)
}
