//! `charter.Message`, and payloads and headers from Python arguments.

use std::sync::Arc;

use charter_core::bus;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString, PyTuple};

/// One received message. Immutable; its payload is shared with every other
/// subscriber's copy until read as `bytes`.
#[pyclass(frozen, module = "charter")]
pub struct Message(bus::Message);

impl Message {
    pub(crate) fn new(message: bus::Message) -> Message {
        Message(message)
    }

    pub(crate) fn core(&self) -> &bus::Message {
        &self.0
    }
}

/// How much of a payload `repr` shows.
const REPR_PAYLOAD: usize = 32;

#[pymethods]
impl Message {
    /// The bus-wide sequence number, increasing in publish order.
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq()
    }

    /// The topic it was published on.
    #[getter]
    fn topic(&self) -> &str {
        self.0.topic()
    }

    /// The payload (a new `bytes` object on each read).
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.payload())
    }

    /// The headers as `(name, value)` pairs, in the order given; a name
    /// may repeat.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.headers())
    }

    /// The value of the first header called `name`, else `default`.
    #[pyo3(signature = (name, default = None))]
    fn header(&self, name: PyBackedStr, default: Option<Py<PyAny>>, py: Python<'_>) -> Py<PyAny> {
        match self.0.header(&name) {
            Some(value) => PyString::new(py, value).into_any().unbind(),
            None => default.unwrap_or_else(|| py.None()),
        }
    }

    /// The reply inbox if this message is a request (answer it with
    /// `Bus.respond`), else `None`.
    #[getter]
    fn reply_to(&self) -> Option<&str> {
        self.0.reply_to()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let quoted = |s: &str| PyString::new(py, s).repr().map(|r| r.to_string());
        let payload = self.0.payload();
        let shown = PyBytes::new(py, &payload[..payload.len().min(REPR_PAYLOAD)]).repr()?;
        let more = if payload.len() > REPR_PAYLOAD {
            format!("... ({} bytes)", payload.len())
        } else {
            String::new()
        };
        let mut repr = format!(
            "<charter.Message seq={} topic={} payload={shown}{more}",
            self.0.seq(),
            quoted(self.0.topic())?
        );
        if self.0.headers().len() > 0 {
            repr += &format!(" headers={}", self.headers(py)?.repr()?);
        }
        if let Some(inbox) = self.0.reply_to() {
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
