//! Zero-copy, checked views over frame bytes, in the style of smoltcp.
//!
//! Every view is `View<T: AsRef<[u8]>>` with a `new_checked` constructor that
//! validates lengths once, after which accessors cannot panic. Parsers accept
//! any byte slice (empty, truncated, garbage) and return [`Error`].

pub mod arp;
pub mod ethernet;
pub mod ip;
pub mod lacpdu;
pub mod mac;
pub mod marker;
pub mod slow;
pub mod vlan_tag;

pub use mac::MacAddr;

use core::fmt;

/// Why a view could not be built over some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header or a declared length.
    Truncated,
    /// A field holds a value the protocol does not allow.
    Malformed,
    /// A protocol or version this parser does not handle.
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated",
            Error::Malformed => "malformed",
            Error::Unsupported => "unsupported",
        })
    }
}

impl std::error::Error for Error {}

/// Result of a parse.
pub type Result<T> = core::result::Result<T, Error>;
