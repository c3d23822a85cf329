//! How a C handle type names itself to the guard.
//!
//! Each opaque C type declares, where it is defined, the Rust value its
//! handles own and a tag (with [`handle_type!`]), so the guard in
//! [`super`] is generic and depends on no feature module: the
//! feature modules depend on it, never the other way round.

/// The identity of a handle type: the tag stored in every shell of that
/// type, and the C type name that error messages use.
pub(crate) struct HandleType {
    /// Four ASCII bytes, so a tag is recognizable in a memory dump.
    pub(crate) tag: u32,
    /// The C type name, such as `"charter_registry_t"`.
    pub(crate) name: &'static str,
}

impl HandleType {
    pub(crate) const fn new(tag: [u8; 4], name: &'static str) -> HandleType {
        HandleType { tag: u32::from_be_bytes(tag), name }
    }
}

/// An opaque C type that names a handle, with the Rust value the handle
/// owns (after rustls-ffi's `Castable`).
pub(crate) trait Castable: 'static {
    /// What a handle of this type owns.
    type Owned: Send + Sync + 'static;
    /// The tag and name; a `&'static` so every shell of the type can point
    /// at it.
    const TYPE: &'static HandleType;
}

/// Declares the opaque C type `$c` a handle type owning `$owned`, tagged
/// `$tag` (four ASCII bytes, unique among handle types: a test in
/// `handle` checks it).
macro_rules! handle_type {
    ($c:ident owns $owned:ty, tag $tag:literal) => {
        impl $crate::handle::Castable for $c {
            type Owned = $owned;
            const TYPE: &'static $crate::handle::HandleType =
                &$crate::handle::HandleType::new(*$tag, stringify!($c));
        }
    };
}
pub(crate) use handle_type;
