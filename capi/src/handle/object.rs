//! The objects that handles own, one variant per handle type.

use charter_core::audit::{AuditLog, LogView, Witness};
use charter_core::bus::{Bus, Cancel, Client};
use charter_core::capability::{KeyPair, Session, Token};
use charter_core::Registry;

use crate::capability::AuthorityHandle;
use crate::waiter::Waiter;
use crate::watch::Watch;

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

/// Declares the handle types: each one's tag (four ASCII bytes, so a tag
/// is recognizable in a memory dump), its `Object` variant, the Rust type
/// it owns and the C type that names it.
macro_rules! handle_types {
    ($($variant:ident = $tag:literal: $rust:ty => $c:ty, $c_name:literal;)*) => {
        /// The type of a handle: its tag in the shell and its C type name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub(crate) enum HandleKind {
            $($variant = u32::from_be_bytes(*$tag),)*
        }

        impl HandleKind {
            const ALL: &'static [HandleKind] = &[$(HandleKind::$variant),*];

            pub(crate) fn tag(self) -> u32 {
                self as u32
            }

            pub(crate) fn from_tag(tag: u32) -> Option<HandleKind> {
                HandleKind::ALL.iter().copied().find(|k| k.tag() == tag)
            }

            pub(crate) fn type_name(self) -> &'static str {
                match self {
                    $(HandleKind::$variant => $c_name,)*
                }
            }
        }

        /// What a handle owns.
        pub(crate) enum Object {
            $($variant($rust),)*
        }

        $(
            impl Handled for $rust {
                type C = $c;
                const KIND: HandleKind = HandleKind::$variant;

                fn wrap(self) -> Object {
                    Object::$variant(self)
                }

                fn project(object: &Object) -> Option<&Self> {
                    match object {
                        Object::$variant(value) => Some(value),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

handle_types! {
    Registry = b"REG1": Registry<[u8]> => crate::registry::charter_registry_t, "charter_registry_t";
    Bus = b"BUS1": Bus => crate::bus::charter_bus_t, "charter_bus_t";
    Client = b"CLI1": Client => crate::client::charter_client_t, "charter_client_t";
    KeyPair = b"KEY1": KeyPair => crate::capability::charter_keypair_t, "charter_keypair_t";
    Token = b"TOK1": Token => crate::capability::charter_token_t, "charter_token_t";
    Authority = b"AUT1": AuthorityHandle => crate::capability::charter_authority_t, "charter_authority_t";
    Session = b"SES1": Session => crate::capability::charter_session_t, "charter_session_t";
    AuditLog = b"AUD1": AuditLog => crate::audit::charter_audit_t, "charter_audit_t";
    Witness = b"WIT1": Witness => crate::audit_auditor::charter_witness_t, "charter_witness_t";
    LogView = b"VEW1": LogView => crate::audit_view::charter_audit_view_t, "charter_audit_view_t";
    Waiter = b"WAI1": Waiter => crate::waiter::charter_waiter_t, "charter_waiter_t";
    Cancel = b"CAN1": Cancel => crate::cancel::charter_cancel_t, "charter_cancel_t";
    Watch = b"WCH1": Watch => crate::watch::charter_watch_t, "charter_watch_t";
    Bridge = b"BRG1": crate::bridge::BridgeHandle => crate::bridge::charter_bridge_t, "charter_bridge_t";
    BridgeVerifier = b"BRV1": crate::bridge_verifier::VerifierHandle => crate::bridge_verifier::charter_bridge_verifier_t, "charter_bridge_verifier_t";
}
