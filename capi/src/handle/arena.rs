//! The append-only arena that handle shells live in.
//!
//! Shells are never deallocated and never reused, so a stale pointer always
//! finds a shell that says "freed", and any pointer can be checked for
//! membership by address alone, without reading through it.
//!
//! Chunk `k` holds `FIRST_CHUNK << k` shells, so the arena has at most a few
//! dozen chunks however many handles a program creates, and membership is a
//! short scan of chunk ranges. Chunks are allocated uninitialized: a shell's
//! memory is touched only when it is handed out, so resident memory grows by
//! one shell per handle ever created.

use std::cell::Cell;
use std::mem::{size_of, MaybeUninit};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{HandleType, Shell};

const FIRST_CHUNK: usize = 256;
const MAX_CHUNKS: usize = 40;

pub(super) struct Arena {
    chunks: [AtomicPtr<MaybeUninit<Shell>>; MAX_CHUNKS],
    /// Shells with a global index below this are initialized.
    published: AtomicUsize,
    /// Serializes growth; holds every handle type that has a shell, so an
    /// error can name a shell's type from its tag.
    grow: Mutex<Vec<&'static HandleType>>,
}

thread_local! {
    /// The shell this thread's last successful [`Arena::find`] returned.
    /// No destructor, so reading it is a plain thread-local load.
    static LAST_FOUND: Cell<Option<&'static Shell>> = const { Cell::new(None) };
}

pub(super) static ARENA: Arena = Arena {
    chunks: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CHUNKS],
    published: AtomicUsize::new(0),
    grow: Mutex::new(Vec::new()),
};

const fn capacity(chunk: usize) -> usize {
    FIRST_CHUNK << chunk
}

/// The global index of the first shell of `chunk`.
const fn first_index(chunk: usize) -> usize {
    FIRST_CHUNK * ((1 << chunk) - 1)
}

impl Arena {
    /// Places `shell`, of type `ty`, in the arena and returns its permanent
    /// address, or `None` when the arena is full (after about 2^48 handles).
    pub(super) fn insert(&self, shell: Shell, ty: &'static HandleType) -> Option<&'static Shell> {
        let mut types = self.grow.lock().unwrap_or_else(|e| e.into_inner());
        if !types.iter().any(|known| known.tag == ty.tag) {
            types.push(ty);
        }
        let index = self.published.load(Ordering::Relaxed);
        let chunk = (index / FIRST_CHUNK + 1).ilog2() as usize;
        if chunk >= MAX_CHUNKS {
            return None;
        }
        let mut base = self.chunks[chunk].load(Ordering::Acquire);
        if base.is_null() {
            let memory: Box<[MaybeUninit<Shell>]> = Box::new_uninit_slice(capacity(chunk));
            base = Box::into_raw(memory).cast();
            self.chunks[chunk].store(base, Ordering::Release);
        }
        // SAFETY: `index` is inside `chunk` (by the choice of `chunk`), the
        // slot has never been handed out (indices only grow, under the lock),
        // and no reader looks at it before `published` moves past it.
        let slot = unsafe { &mut *base.add(index - first_index(chunk)) };
        let shell: &'static Shell = slot.write(shell);
        self.published.store(index + 1, Ordering::Release);
        Some(shell)
    }

    /// The C type name of the shells tagged `tag`.
    #[cold]
    pub(super) fn type_name(&self, tag: u32) -> &'static str {
        let types = self.grow.lock().unwrap_or_else(|e| e.into_inner());
        types.iter().find(|ty| ty.tag == tag).map_or("handle of an unknown type", |ty| ty.name)
    }

    /// The shell at `addr`, if `addr` is exactly the address of a shell that
    /// has been handed out. Never reads through `addr` unless it is.
    ///
    /// The thread remembers the last shell it found: a shell, once handed
    /// out, stays one for the life of the process (never moved, reused or
    /// deallocated), so a call on the same handle as the thread's previous
    /// lookup skips the scan of the chunks. Programs call the same handle
    /// over and over (a registry notified, a bus published to), and the
    /// check is then one thread-local load and a compare.
    #[inline]
    pub(super) fn find(&self, addr: usize) -> Option<&'static Shell> {
        let last = LAST_FOUND.try_with(Cell::get).ok().flatten();
        if let Some(shell) = last.filter(|&shell| std::ptr::from_ref(shell) as usize == addr) {
            return Some(shell);
        }
        self.find_and_remember(addr)
    }

    /// [`find`](Arena::find) when the thread's memory misses: scans, and
    /// remembers a shell it finds. Out of line, so the hit inlines small.
    #[inline(never)]
    fn find_and_remember(&self, addr: usize) -> Option<&'static Shell> {
        let shell = self.scan(addr)?;
        let _ = LAST_FOUND.try_with(|last| last.set(Some(shell)));
        Some(shell)
    }

    /// [`find`](Arena::find) without the thread's memory: the chunk whose
    /// range holds `addr`, then the shell's position in it.
    #[inline]
    fn scan(&self, addr: usize) -> Option<&'static Shell> {
        let published = self.published.load(Ordering::Acquire);
        for (chunk, slot) in self.chunks.iter().enumerate() {
            let base = slot.load(Ordering::Acquire);
            if base.is_null() {
                return None;
            }
            let start = base as usize;
            let end = start + capacity(chunk) * size_of::<Shell>();
            if addr < start || addr >= end {
                continue;
            }
            let offset = addr - start;
            if !offset.is_multiple_of(size_of::<Shell>()) {
                return None;
            }
            let position = offset / size_of::<Shell>();
            if first_index(chunk) + position >= published {
                return None;
            }
            // SAFETY: the slot is inside an allocated chunk and below
            // `published`, so it was initialized before `published` was
            // stored with Release, which our Acquire load observed. Shells
            // are never deallocated, hence 'static.
            return Some(unsafe { (*base.add(position)).assume_init_ref() });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_geometry_is_contiguous() {
        for chunk in 0..MAX_CHUNKS - 1 {
            assert_eq!(first_index(chunk) + capacity(chunk), first_index(chunk + 1));
            let first = first_index(chunk);
            assert_eq!((first / FIRST_CHUNK + 1).ilog2() as usize, chunk);
            let last = first + capacity(chunk) - 1;
            assert_eq!((last / FIRST_CHUNK + 1).ilog2() as usize, chunk);
        }
    }
}
