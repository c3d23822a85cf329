//! The objects that handles own, one variant per handle type.

use charter_core::bus::Bus;
use charter_core::Registry;

/// The type of a handle: its tag in the shell and its C type name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum HandleKind {
    Registry = 0x5245_4731, // "REG1"
    Bus = 0x4255_5331,      // "BUS1"
}

impl HandleKind {
    const ALL: [HandleKind; 2] = [HandleKind::Registry, HandleKind::Bus];

    pub(crate) fn tag(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_tag(tag: u32) -> Option<HandleKind> {
        HandleKind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    pub(crate) fn type_name(self) -> &'static str {
        match self {
            HandleKind::Registry => "charter_registry_t",
            HandleKind::Bus => "charter_bus_t",
        }
    }
}

/// What a handle owns.
pub(crate) enum Object {
    Registry(Registry<[u8]>),
    Bus(Bus),
}

/// A Rust type that a handle can own, with the C type that names it.
pub(crate) trait Handled: Sized + 'static {
    /// The opaque C type of handles to `Self`.
    type C;
    const KIND: HandleKind;
    fn wrap(self) -> Object;
    /// `None` only if the shell's tag and its object disagree, which would
    /// be a bug in this crate.
    fn project(object: &Object) -> Option<&Self>;
}

impl Handled for Registry<[u8]> {
    type C = crate::registry::charter_registry_t;
    const KIND: HandleKind = HandleKind::Registry;

    fn wrap(self) -> Object {
        Object::Registry(self)
    }

    fn project(object: &Object) -> Option<&Self> {
        match object {
            Object::Registry(registry) => Some(registry),
            _ => None,
        }
    }
}

impl Handled for Bus {
    type C = crate::bus::charter_bus_t;
    const KIND: HandleKind = HandleKind::Bus;

    fn wrap(self) -> Object {
        Object::Bus(self)
    }

    fn project(object: &Object) -> Option<&Self> {
        match object {
            Object::Bus(bus) => Some(bus),
            _ => None,
        }
    }
}
