//! Releasing at `close`: what a closed object owns is dropped at once, not
//! when the garbage collector gets to its JS shell.
//!
//! A native object keeps what it owns in an [`Owned`] slot, emptied by
//! `close`. Functions made from closures (the publisher, a subscription's
//! receiver and poller) share the slot instead of holding clones, so that
//! emptying it releases them too. A bus closes its clients' publishers and
//! its subscriptions with it: it keeps a [`Releases`] list of them, held
//! weakly, so that the list keeps nothing alive.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// Something a bus's `close` releases.
pub trait Release {
    fn release(&self);
}

/// A slot holding `T` until released; cloning shares the slot.
pub struct Owned<T>(Rc<RefCell<Option<T>>>);

impl<T> Clone for Owned<T> {
    fn clone(&self) -> Self {
        Owned(Rc::clone(&self.0))
    }
}

impl<T> Owned<T> {
    pub fn new(value: T) -> Owned<T> {
        Owned(Rc::new(RefCell::new(Some(value))))
    }

    /// `f` of the value, `None` once released. `f` must not release this
    /// slot: callers clone out what they need before running any JS.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.0.borrow().as_ref().map(f)
    }
}

impl<T: 'static> Owned<T> {
    /// The slot as a bus's `close` releases it.
    pub fn releaser(&self) -> Weak<dyn Release> {
        let weak: Weak<RefCell<Option<T>>> = Rc::downgrade(&self.0);
        weak
    }
}

impl<T> Release for RefCell<Option<T>> {
    fn release(&self) {
        // Taken first and dropped after the borrow: a drop may run code
        // that looks at the slot again.
        let taken = self.borrow_mut().take();
        drop(taken);
    }
}

/// What a bus releases when it closes, held weakly.
#[derive(Default)]
pub struct Releases(RefCell<Vec<Weak<dyn Release>>>);

impl Releases {
    /// Adds `item`, forgetting those already gone (so the list stays as
    /// long as what is still alive, not as all that ever was).
    pub fn add(&self, item: Weak<dyn Release>) {
        let mut items = self.0.borrow_mut();
        if items.len() >= 16 && items.len().is_power_of_two() {
            items.retain(|w| w.strong_count() > 0);
        }
        items.push(item);
    }

    /// Releases everything still alive, and forgets the list.
    pub fn release_all(&self) {
        let items = std::mem::take(&mut *self.0.borrow_mut());
        for item in items.iter().filter_map(Weak::upgrade) {
            item.release();
        }
    }
}
