//! Subscription options and overflow policies, from Python arguments.
//! Times are seconds as floats; infinity means no limit.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use charter_core::bus::{self, Dispatch, SubscribeOptions};
use charter_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::new_err;

/// What a full subscription queue does with one more message. Use the
/// constants `DROP_OLDEST`, `DROP_NEWEST` and `ERROR_ON_FULL`, or `Block(timeout)`.
/// Compares by policy and timeout; pickles as the constant's name or as
/// `Block(timeout)`.
#[pyclass(frozen, eq, subclass, from_py_object, module = "charter")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Overflow(bus::Overflow);

#[pymethods]
impl Overflow {
    /// `"drop_oldest"`, `"drop_newest"`, `"block"` or `"error"`.
    #[getter]
    fn policy(&self) -> &'static str {
        match self.0 {
            bus::Overflow::DropOldest => "drop_oldest",
            bus::Overflow::DropNewest => "drop_newest",
            bus::Overflow::Block(_) => "block",
            bus::Overflow::Error => "error",
        }
    }

    /// How long a `Block` publisher waits for room, in seconds; else `None`.
    #[getter]
    fn timeout(&self) -> Option<f64> {
        match self.0 {
            bus::Overflow::Block(wait) => Some(seconds_of(wait)),
            _ => None,
        }
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            bus::Overflow::Block(wait) => {
                (py.get_type::<Block>(), (seconds_of(wait),)).into_pyobject(py).map(Bound::into_any)
            }
            bus::Overflow::DropOldest => Ok(PyString::new(py, "DROP_OLDEST").into_any()),
            bus::Overflow::DropNewest => Ok(PyString::new(py, "DROP_NEWEST").into_any()),
            bus::Overflow::Error => Ok(PyString::new(py, "ERROR_ON_FULL").into_any()),
        }
    }

    fn __hash__(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        (self.policy(), self.timeout().map(f64::to_bits)).hash(&mut hasher);
        hasher.finish()
    }

    fn __repr__(&self) -> String {
        match self.0 {
            bus::Overflow::DropOldest => "charter.DROP_OLDEST".to_owned(),
            bus::Overflow::DropNewest => "charter.DROP_NEWEST".to_owned(),
            bus::Overflow::Block(wait) => format!("charter.Block({})", seconds_of(wait)),
            bus::Overflow::Error => "charter.ERROR_ON_FULL".to_owned(),
        }
    }
}

/// The `Block` policy: a publisher waits up to `timeout` seconds (a number
/// or a `timedelta`) for room, then the message is dropped and `publish`
/// raises `TimeoutError`. Inside a callback of the same bus it raises
/// `WouldBlockError` at once instead. An `Overflow`, so that it goes
/// wherever the constants go.
#[pyclass(frozen, extends = Overflow, module = "charter")]
pub struct Block;

#[pymethods]
impl Block {
    #[new]
    fn new(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::when::seconds)] timeout: f64,
    ) -> PyResult<PyClassInitializer<Block>> {
        let policy = Overflow(bus::Overflow::Block(duration(py, timeout, "Block timeout")?));
        Ok(PyClassInitializer::from(policy).add_subclass(Block))
    }
}

fn seconds_of(wait: Duration) -> f64 {
    if wait == Duration::MAX {
        f64::INFINITY
    } else {
        wait.as_secs_f64()
    }
}

/// `seconds` as a duration: `InvalidArgumentError` for a negative number or
/// NaN; infinity (or anything too long to represent) is `Duration::MAX`,
/// which every wait of the core takes as "no limit".
pub(crate) fn duration(py: Python<'_>, seconds: f64, what: &str) -> PyResult<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return Err(new_err(
            py,
            ErrorKind::InvalidArgument,
            format!("{what} must be a number of seconds, at least 0; got {seconds}"),
        ));
    }
    Ok(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// An optional time: `None` stays `None`.
pub(crate) fn optional_duration(
    py: Python<'_>,
    seconds: Option<f64>,
    what: &str,
) -> PyResult<Option<Duration>> {
    seconds.map(|s| duration(py, s, what)).transpose()
}

/// The keyword arguments of `Bus.subscribe`, as the core takes them. Only
/// names and types are mapped here: what was left out stays unset, so the
/// core applies its defaults, and every rule on the options (and on their
/// combination with a handler) is the core's, with its words.
pub(crate) struct Subscribe<'a> {
    pub(crate) capacity: Option<usize>,
    pub(crate) max_bytes: Option<usize>,
    pub(crate) overflow: Option<Overflow>,
    pub(crate) ttl: Option<f64>,
    pub(crate) idle_ttl: Option<f64>,
    /// `None`: not given, the default (`"inline"`, `"thread"` for an
    /// async handler; see `Caller::subscribe`).
    pub(crate) dispatch: Option<&'a str>,
}

impl Subscribe<'_> {
    pub(crate) fn to_core(&self, py: Python<'_>) -> PyResult<SubscribeOptions> {
        let mut options = SubscribeOptions::new();
        match self.dispatch {
            None | Some("inline") => {}
            Some("thread") => options = options.dispatch(Dispatch::Thread),
            Some(other) => {
                return Err(new_err(
                    py,
                    ErrorKind::InvalidArgument,
                    format!("dispatch must be \"inline\" or \"thread\", not {other:?}"),
                ))
            }
        }
        if let Some(n) = self.capacity {
            options = options.capacity(n);
        }
        if let Some(n) = self.max_bytes {
            options = options.max_bytes(n);
        }
        if let Some(overflow) = self.overflow {
            options = options.overflow(overflow.0);
        }
        // Infinity means no time-to-live at all.
        let finite = |d: Duration| (d != Duration::MAX).then_some(d);
        if let Some(ttl) = optional_duration(py, self.ttl, "ttl")?.and_then(finite) {
            options = options.ttl(ttl);
        }
        if let Some(idle) = optional_duration(py, self.idle_ttl, "idle_ttl")?.and_then(finite) {
            options = options.idle_ttl(idle);
        }
        Ok(options)
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Overflow>()?;
    m.add_class::<Block>()?;
    m.add("DROP_OLDEST", Overflow(bus::Overflow::DropOldest))?;
    m.add("DROP_NEWEST", Overflow(bus::Overflow::DropNewest))?;
    m.add("ERROR_ON_FULL", Overflow(bus::Overflow::Error))
}
