//! RAII registrations: a guard that unregisters its handler when dropped.
//!
//! Invariant: a guard holds only a weak reference to its registry, so it
//! never keeps the registry alive, and dropping it after the registry is
//! gone does nothing.

use std::fmt;
use std::sync::Weak;

use super::HandlerId;

/// What a guard needs from its registry.
pub(crate) trait Unregister: Send + Sync {
    fn unregister_id(&self, id: HandlerId) -> bool;
}

/// A registration that ends when this guard is dropped.
///
/// Made by [`Registry::register_guard`](super::Registry::register_guard)
/// and [`AsyncRegistry::register_guard`](super::AsyncRegistry::register_guard).
/// Dropping the guard is a plain `unregister`: the handler may still be
/// running in a round on another thread when the drop returns.
#[must_use = "dropping the guard unregisters the handler at once"]
pub struct HandlerGuard {
    id: HandlerId,
    registry: Option<Weak<dyn Unregister>>,
}

impl HandlerGuard {
    pub(crate) fn new(id: HandlerId, registry: Weak<dyn Unregister>) -> HandlerGuard {
        HandlerGuard { id, registry: Some(registry) }
    }

    /// The id of the registration.
    pub fn id(&self) -> HandlerId {
        self.id
    }

    /// Lets go of the guard without unregistering: the handler stays until
    /// it is unregistered by id, the registry is cleared, or it is dropped.
    pub fn forget(mut self) {
        self.registry = None;
    }
}

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.take().and_then(|r| r.upgrade()) {
            registry.unregister_id(self.id);
        }
    }
}

impl fmt::Debug for HandlerGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alive = self.registry.as_ref().is_some_and(|r| r.strong_count() > 0);
        f.debug_struct("HandlerGuard").field("id", &self.id).field("registry_alive", &alive).finish()
    }
}
