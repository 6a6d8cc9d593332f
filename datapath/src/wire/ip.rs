//! IPv4 and IPv6 views and TCP/UDP ports, for bond hashing.
//!
//! OWNER: wire helper. The `FiveTuple` type below is fixed (the bond hash
//! uses it); extraction is to be written.

/// The L3/L4 identity of a flow. IPv4 addresses are in the low 32 bits.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    /// Source address (IPv4 in the low 32 bits).
    pub src: u128,
    /// Destination address (IPv4 in the low 32 bits).
    pub dst: u128,
    /// IP protocol number (6 TCP, 17 UDP, ...).
    pub proto: u8,
    /// Source port, 0 when the protocol has none or the packet is a later fragment.
    pub sport: u16,
    /// Destination port, likewise.
    pub dport: u16,
}
