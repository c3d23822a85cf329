//! `charter.Message`, and payloads and headers from Python arguments.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use charter_core::bus;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString, PyTuple};

/// One received message. Immutable; compares equal to its copies (the
/// same message received by another subscription, or unpickled) by all
/// its fields; pickles as those fields.
///
/// # The payload without copies
///
/// `payload` is one `bytes` object, made at the first read and kept: every
/// later read returns that same object, so reading a large payload again
/// copies nothing, and `memoryview(message.payload)` slices it without
/// copying. The first read copies once out of the core's buffer: the stable
/// ABI of Python 3.9 this module is built for gives extension types no
/// buffer protocol (it came with 3.11), so a view straight over the core's
/// buffer would need a build per Python version.
#[pyclass(frozen, module = "charter")]
pub struct Message {
    fields: Fields,
    payload: PyOnceLock<Py<PyBytes>>,
}

/// Where a message's fields live.
enum Fields {
    /// Received from the core: shared with every other subscriber's copy.
    Received(bus::Message),
    /// Unpickled (its payload is in `Message::payload` from the start).
    Restored(Box<Restored>),
}

/// An unpickled message's fields, boxed so that a received `Message` stays
/// small: every one of a batch is moved into its Python object.
struct Restored {
    seq: u64,
    topic: String,
    headers: Vec<(String, String)>,
    reply_to: Option<String>,
}

impl Message {
    pub(crate) fn new(message: bus::Message) -> Message {
        Message { fields: Fields::Received(message), payload: PyOnceLock::new() }
    }

    /// The core's message, unless this one was unpickled.
    pub(crate) fn core(&self) -> Option<&bus::Message> {
        match &self.fields {
            Fields::Received(message) => Some(message),
            Fields::Restored(_) => None,
        }
    }

    /// The payload's `bytes` object, made at the first read. Made, then set,
    /// rather than through `PyOnceLock::get_or_init`, which lets the GIL go
    /// around the making in case it waits for another thread's (about 450
    /// instructions a first read, a third of a batched message's whole
    /// crossing). Making `bytes` runs no Python code, so nothing else can
    /// run meanwhile under the GIL; without it (free-threaded Python), a
    /// thread that set it first wins, and this copy is dropped.
    fn payload_object<'py>(&self, py: Python<'py>) -> &Bound<'py, PyBytes> {
        loop {
            if let Some(payload) = self.payload.get(py) {
                return payload.bind(py);
            }
            let made = PyBytes::new(py, self.core().map_or(&[][..], bus::Message::payload));
            let _ = self.payload.set(py, made.unbind());
        }
    }

    /// The payload's bytes, without making the `bytes` object.
    fn payload_slice<'a>(&'a self, py: Python<'a>) -> &'a [u8] {
        match &self.fields {
            Fields::Received(message) => message.payload(),
            Fields::Restored(_) => self.payload_object(py).as_bytes(),
        }
    }

    fn header_pairs(&self) -> Vec<(&str, &str)> {
        match &self.fields {
            Fields::Received(message) => message.headers().collect(),
            Fields::Restored(restored) => restored.headers.iter().map(|(k, v)| (&**k, &**v)).collect(),
        }
    }
}

/// How much of a payload `repr` shows.
const REPR_PAYLOAD: usize = 32;

#[pymethods]
impl Message {
    /// The bus-wide sequence number, increasing in publish order.
    #[getter]
    fn seq(&self) -> u64 {
        match &self.fields {
            Fields::Received(message) => message.seq(),
            Fields::Restored(restored) => restored.seq,
        }
    }

    /// The topic it was published on.
    #[getter]
    fn topic(&self) -> &str {
        match &self.fields {
            Fields::Received(message) => message.topic(),
            Fields::Restored(restored) => &restored.topic,
        }
    }

    /// The payload: one `bytes` object, made at the first read and then
    /// the same on every read (no copy).
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.payload_object(py).clone()
    }

    /// The headers as `(name, value)` pairs, in the order given; a name
    /// may repeat.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.header_pairs())
    }

    /// The value of the first header called `name`, else `default`.
    #[pyo3(signature = (name, default = None))]
    fn header(&self, name: PyBackedStr, default: Option<Py<PyAny>>, py: Python<'_>) -> Py<PyAny> {
        match self.header_pairs().into_iter().find(|(k, _)| *k == &*name) {
            Some((_, value)) => PyString::new(py, value).into_any().unbind(),
            None => default.unwrap_or_else(|| py.None()),
        }
    }

    /// The reply inbox if this message is a request (answer it with
    /// `Bus.respond`), else `None`.
    #[getter]
    pub(crate) fn reply_to(&self) -> Option<&str> {
        match &self.fields {
            Fields::Received(message) => message.reply_to(),
            Fields::Restored(restored) => restored.reply_to.as_deref(),
        }
    }

    /// Pickles as its fields, read back by `_restore`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let args = (self.seq(), self.topic(), self.payload(py), self.headers(py)?, self.reply_to());
        Ok((py.get_type::<Message>().getattr("_restore")?, args.into_pyobject(py)?))
    }

    /// A message from the fields `__reduce__` gives.
    #[staticmethod]
    fn _restore(
        seq: u64,
        topic: String,
        payload: Bound<'_, PyBytes>,
        headers: Vec<(String, String)>,
        reply_to: Option<String>,
    ) -> Message {
        let kept = PyOnceLock::new();
        let _ = kept.set(payload.py(), payload.unbind());
        let restored = Restored { seq, topic, headers, reply_to };
        Message { fields: Fields::Restored(Box::new(restored)), payload: kept }
    }

    fn __eq__(&self, other: PyRef<'_, Message>, py: Python<'_>) -> bool {
        self.seq() == other.seq()
            && self.topic() == other.topic()
            && self.reply_to() == other.reply_to()
            && self.header_pairs() == other.header_pairs()
            && self.payload_slice(py) == other.payload_slice(py)
    }

    /// Of the sequence number and topic only: hashing a payload of
    /// megabytes would cost more than the lookups it serves.
    fn __hash__(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        (self.seq(), self.topic()).hash(&mut hasher);
        hasher.finish()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let quoted = |s: &str| PyString::new(py, s).repr().map(|r| r.to_string());
        let payload = self.payload_slice(py);
        let shown = PyBytes::new(py, &payload[..payload.len().min(REPR_PAYLOAD)]).repr()?;
        let more = if payload.len() > REPR_PAYLOAD {
            format!("... ({} bytes)", payload.len())
        } else {
            String::new()
        };
        let mut repr = format!(
            "<charter.Message seq={} topic={} payload={shown}{more}",
            self.seq(),
            quoted(self.topic())?
        );
        if !self.header_pairs().is_empty() {
            repr += &format!(" headers={}", self.headers(py)?.repr()?);
        }
        if let Some(inbox) = self.reply_to() {
            repr += &format!(" reply_to={}", quoted(inbox)?);
        }
        repr.push('>');
        Ok(repr)
    }
}

/// A payload argument: any bytes-like object, copied once into the shared
/// buffer every subscriber reads. `str` is refused rather than encoded
/// with a guessed encoding.
pub(crate) fn payload(value: &Bound<'_, PyAny>) -> PyResult<Arc<[u8]>> {
    bytes_like(value, "payload")
}

/// Any bytes-like argument (`what` names it in errors), copied once.
pub(crate) fn bytes_like(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Arc<[u8]>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Arc::from(bytes.as_bytes()));
    }
    if let Ok(array) = value.cast::<PyByteArray>() {
        return Ok(Arc::from(array.to_vec()));
    }
    let refused = || {
        let kind = value.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string());
        let hint = if value.is_instance_of::<PyString>() { ": encode it first" } else { "" };
        PyTypeError::new_err(format!("{what} must be bytes-like, not {kind}{hint}"))
    };
    if value.is_instance_of::<PyString>() {
        return Err(refused());
    }
    // Any other buffer (memoryview, array, mmap...), through a memoryview:
    // the stable ABI of Python 3.9 has no direct buffer access.
    let view = PyMemoryView::from(value).map_err(|_| refused())?;
    let bytes = view.call_method0("tobytes")?;
    Ok(Arc::from(bytes.cast::<PyBytes>()?.as_bytes()))
}

/// A headers argument: `None`, a mapping of `str` to `str`, or an iterable
/// of `(name, value)` pairs (which may repeat a name).
pub(crate) fn headers(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(PyBackedStr, PyBackedStr)>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    let pairs = match value.cast::<PyDict>() {
        Ok(dict) => dict.items().into_any(),
        Err(_) if value.hasattr("keys")? => value.call_method0("items")?,
        Err(_) => value.clone(),
    };
    let bad = |_| PyTypeError::new_err("headers must be a mapping of str to str or (str, str) pairs");
    let text = |item: Bound<'_, PyAny>| {
        crate::text::utf8(&item).map_err(|e| match e.is_instance_of::<PyTypeError>(item.py()) {
            true => bad(e),
            false => e,
        })
    };
    pairs
        .try_iter()
        .map_err(bad)?
        .map(|pair| {
            let (name, value) = pair?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().map_err(bad)?;
            Ok((text(name)?, text(value)?))
        })
        .collect()
}

/// The `&str` pairs the core takes, borrowed from [`headers`].
pub(crate) fn header_refs(headers: &[(PyBackedStr, PyBackedStr)]) -> Vec<(&str, &str)> {
    headers.iter().map(|(k, v)| (&**k, &**v)).collect()
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Message>()
}
