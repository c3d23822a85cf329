//! The outcome of one `notify` round.

/// How the handlers of one `notify` round fared.
///
/// Every handler that was called counts in exactly one field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifyReport {
    /// Handlers that returned `Ok`.
    pub delivered: u64,
    /// Handlers that returned an error.
    pub failed: u64,
    /// Handlers that panicked; the panic was caught.
    pub panicked: u64,
}

impl NotifyReport {
    /// How many handlers were called.
    pub fn called(&self) -> u64 {
        self.delivered + self.failed + self.panicked
    }
}
