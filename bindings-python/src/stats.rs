//! The bus's accounting as immutable, comparable Python objects:
//! `PublishReport`, `Drops`, `SubscriptionStats` and `BusStats`.

use charter_core::bus;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// The outcome of one publish: `matched == delivered + dropped`.
#[pyclass(frozen, eq, hash, module = "charter")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishReport {
    /// Subscriptions whose pattern matched the topic.
    #[pyo3(get)]
    matched: u64,
    /// Of those, how many accepted the message (queued it or ran their
    /// handler).
    #[pyo3(get)]
    delivered: u64,
    /// Of those, how many dropped it.
    #[pyo3(get)]
    dropped: u64,
}

#[pymethods]
impl PublishReport {
    #[new]
    #[pyo3(signature = (matched = 0, delivered = 0, dropped = 0))]
    fn new(matched: u64, delivered: u64, dropped: u64) -> PublishReport {
        PublishReport { matched, delivered, dropped }
    }

    /// Pickles as its constructor call.
    fn __reduce__<'py>(&self, py: Python<'py>) -> (Bound<'py, pyo3::types::PyType>, (u64, u64, u64)) {
        (py.get_type::<PublishReport>(), (self.matched, self.delivered, self.dropped))
    }

    fn __repr__(&self) -> String {
        format!(
            "PublishReport(matched={}, delivered={}, dropped={})",
            self.matched, self.delivered, self.dropped
        )
    }
}

/// Reports are immutable, so the common ones (every matching subscription
/// took the message, up to this many) are made once and shared: a publish
/// then allocates no report.
const SHARED_REPORTS: u64 = 16;

static SHARED: PyOnceLock<Vec<Py<PublishReport>>> = PyOnceLock::new();

/// The Python object for `report`.
pub(crate) fn report(py: Python<'_>, report: bus::PublishReport) -> PyResult<Py<PublishReport>> {
    let bus::PublishReport { matched, delivered, dropped } = report;
    if dropped == 0 && delivered == matched && matched < SHARED_REPORTS {
        let shared = SHARED.get_or_try_init(py, || {
            (0..SHARED_REPORTS)
                .map(|n| Py::new(py, PublishReport::new(n, n, 0)))
                .collect::<PyResult<Vec<_>>>()
        })?;
        return Ok(shared[matched as usize].clone_ref(py));
    }
    Py::new(py, PublishReport::new(matched, delivered, dropped))
}

/// Messages dropped, by reason.
#[pyclass(frozen, eq, hash, from_py_object, module = "charter")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Drops {
    /// Dropped by `DROP_OLDEST` or `DROP_NEWEST` on a full queue.
    #[pyo3(get)]
    overflow: u64,
    /// Past their time-to-live when received.
    #[pyo3(get)]
    expired: u64,
    /// A `Block` publisher ran out of time (or would have deadlocked).
    #[pyo3(get)]
    timeout: u64,
    /// Refused by an `ERROR_ON_FULL` queue, or too large for the queue at all.
    #[pyo3(get)]
    rejected: u64,
    /// Still queued, or arriving, when the subscription ended.
    #[pyo3(get)]
    closed: u64,
    /// Still queued, or arriving, when the session the subscription was
    /// made with ended (expiry, revocation, distrust of its root).
    #[pyo3(get)]
    session_ended: u64,
}

#[pymethods]
impl Drops {
    #[new]
    #[pyo3(signature = (*, overflow = 0, expired = 0, timeout = 0, rejected = 0, closed = 0, session_ended = 0))]
    fn new(
        overflow: u64,
        expired: u64,
        timeout: u64,
        rejected: u64,
        closed: u64,
        session_ended: u64,
    ) -> Drops {
        Drops { overflow, expired, timeout, rejected, closed, session_ended }
    }

    /// All drops together.
    #[getter]
    fn total(&self) -> u64 {
        self.overflow + self.expired + self.timeout + self.rejected + self.closed + self.session_ended
    }

    fn __repr__(&self) -> String {
        format!(
            "Drops(overflow={}, expired={}, timeout={}, rejected={}, closed={}, session_ended={})",
            self.overflow, self.expired, self.timeout, self.rejected, self.closed, self.session_ended
        )
    }
}

impl From<bus::Drops> for Drops {
    fn from(d: bus::Drops) -> Drops {
        Drops::new(d.overflow, d.expired, d.timeout, d.rejected, d.closed, d.session_ended)
    }
}

/// One subscription's accounting. At every instant
/// `received == delivered + dropped.total + queued`.
#[pyclass(frozen, eq, hash, from_py_object, module = "charter")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionStats {
    /// Messages offered by publishes that matched the subscription.
    #[pyo3(get)]
    received: u64,
    /// Messages handed to the consumer: returned by a receive, or passed to
    /// the handler.
    #[pyo3(get)]
    delivered: u64,
    /// Messages waiting in the queue.
    #[pyo3(get)]
    queued: u64,
    /// Messages dropped, by reason.
    #[pyo3(get)]
    dropped: Drops,
    /// Handler calls that raised (each also counts as delivered).
    #[pyo3(get)]
    handler_failures: u64,
    /// Times the queue became full after having room.
    #[pyo3(get)]
    slow_episodes: u64,
}

#[pymethods]
impl SubscriptionStats {
    #[new]
    #[pyo3(signature = (
        *, received = 0, delivered = 0, queued = 0, dropped = None, handler_failures = 0, slow_episodes = 0
    ))]
    fn new(
        received: u64,
        delivered: u64,
        queued: u64,
        dropped: Option<Drops>,
        handler_failures: u64,
        slow_episodes: u64,
    ) -> SubscriptionStats {
        let dropped = dropped.unwrap_or_else(|| bus::Drops::default().into());
        SubscriptionStats { received, delivered, queued, dropped, handler_failures, slow_episodes }
    }

    fn __repr__(&self) -> String {
        format!(
            "SubscriptionStats(received={}, delivered={}, queued={}, dropped={}, handler_failures={}, \
             slow_episodes={})",
            self.received,
            self.delivered,
            self.queued,
            self.dropped.__repr__(),
            self.handler_failures,
            self.slow_episodes
        )
    }
}

impl From<bus::SubscriptionStats> for SubscriptionStats {
    fn from(s: bus::SubscriptionStats) -> SubscriptionStats {
        SubscriptionStats {
            received: s.received,
            delivered: s.delivered,
            queued: s.queued,
            dropped: s.dropped.into(),
            handler_failures: s.handler_failures,
            slow_episodes: s.slow_episodes,
        }
    }
}

/// A bus's accounting over its whole life, ended subscriptions included.
#[pyclass(frozen, eq, hash, module = "charter")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BusStats {
    /// Publishes that got as far as matching subscriptions.
    #[pyo3(get)]
    published: u64,
    /// The totals of every subscription, live or ended.
    #[pyo3(get)]
    subscriptions: SubscriptionStats,
    /// Subscriptions live now.
    #[pyo3(get)]
    live_subscriptions: u64,
    /// Calls refused by authorization: grants that do not cover them, and
    /// calls without a session on a bus with an authority.
    #[pyo3(get)]
    denied: u64,
    /// Publishes refused for nesting too deeply (a handler publishing
    /// again, more than 16 levels deep on one bus).
    #[pyo3(get)]
    depth_exceeded: u64,
}

#[pymethods]
impl BusStats {
    #[new]
    #[pyo3(signature = (*, published = 0, subscriptions = None, live_subscriptions = 0, denied = 0, depth_exceeded = 0))]
    fn new(
        published: u64,
        subscriptions: Option<SubscriptionStats>,
        live_subscriptions: u64,
        denied: u64,
        depth_exceeded: u64,
    ) -> BusStats {
        let subscriptions = subscriptions.unwrap_or_else(|| bus::SubscriptionStats::default().into());
        BusStats { published, subscriptions, live_subscriptions, denied, depth_exceeded }
    }

    fn __repr__(&self) -> String {
        format!(
            "BusStats(published={}, subscriptions={}, live_subscriptions={}, denied={}, depth_exceeded={})",
            self.published,
            self.subscriptions.__repr__(),
            self.live_subscriptions,
            self.denied,
            self.depth_exceeded
        )
    }
}

impl From<bus::BusStats> for BusStats {
    fn from(s: bus::BusStats) -> BusStats {
        BusStats {
            published: s.published,
            subscriptions: s.subscriptions.into(),
            live_subscriptions: s.live_subscriptions,
            denied: s.denied,
            depth_exceeded: s.depth_exceeded,
        }
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PublishReport>()?;
    m.add_class::<Drops>()?;
    m.add_class::<SubscriptionStats>()?;
    m.add_class::<BusStats>()
}
