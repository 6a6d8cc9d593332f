//! Flow hashes for bond member selection.
//!
//! Both hashes are per-packet hot-path functions: a handful of CRC32-C
//! instructions (SSE4.2, which the workspace's `target-cpu=x86-64-v2`
//! enables) followed by a multiply-xorshift finalizer, so that every output
//! bit — in particular the low eight bits that pick one of the 256 bond
//! buckets — depends on every input bit. Builds without SSE4.2 use a portable
//! multiply-mix with the same properties (different values; a hash only has
//! to be stable within one build).
//!
//! - [`slb`]: source MAC + VLAN (balance-slb).
//! - [`l4`]: addresses, protocol and ports (balance-tcp).
//!
//! The bucket of a frame is `hash & 0xff` ([`bucket`]). Neither hash is
//! symmetric: swapping source and destination gives an unrelated value.

use crate::wire::ip::FiveTuple;
use crate::wire::MacAddr;

/// Number of hash buckets a bond spreads flows over.
pub const BUCKETS: usize = 256;

/// The bucket a hash selects: its low eight bits.
#[inline(always)]
pub const fn bucket(h: u32) -> u8 {
    (h & 0xff) as u8
}

/// Hash of a source MAC and VLAN for balance-slb, salted with `basis`
/// (`other_config:bond-hash-basis`). Only the 12 VID bits of `vlan` count.
#[inline]
pub fn slb(mac: MacAddr, vlan: u16, basis: u32) -> u32 {
    slb_with(imp::word, mac, vlan, basis)
}

/// Hash of a flow's 5-tuple for balance-tcp, salted with `basis`.
///
/// IPv4 flows (both addresses in the low 32 bits) take two CRC steps; other
/// flows hash the full 128-bit addresses in five, with a marker bit so the
/// two forms never feed identical words.
#[inline]
pub fn l4(t: &FiveTuple, basis: u32) -> u32 {
    l4_with(imp::word, t, basis)
}

/// [`l4`] of an IPv4 flow, from its fields: the same value as `l4` of the
/// [`FiveTuple`] with these addresses (in the low 32 bits), protocol and
/// ports, without building one.
#[inline]
pub fn l4_ipv4(src: u32, dst: u32, proto: u8, sport: u16, dport: u16, basis: u32) -> u32 {
    l4_ipv4_with(imp::word, src, dst, proto, sport, dport, basis)
}

/// [`slb`] over a given accumulation step.
#[inline(always)]
fn slb_with(word: impl Fn(u32, u64) -> u32, mac: MacAddr, vlan: u16, basis: u32) -> u32 {
    fmix32(word(basis, (mac.to_u64() << 16) | u64::from(vlan & 0x0fff)))
}

/// [`l4`] over a given accumulation step.
#[inline(always)]
fn l4_with(word: impl Fn(u32, u64) -> u32, t: &FiveTuple, basis: u32) -> u32 {
    let ports = (u64::from(t.proto) << 32) | (u64::from(t.sport) << 16) | u64::from(t.dport);
    if (t.src | t.dst) >> 32 == 0 {
        let (src, dst) = (t.src as u32, t.dst as u32);
        l4_ipv4_with(word, src, dst, t.proto, t.sport, t.dport, basis)
    } else {
        let mut h = word(basis, t.src as u64);
        h = word(h, (t.src >> 64) as u64);
        h = word(h, t.dst as u64);
        h = word(h, (t.dst >> 64) as u64);
        fmix32(word(h, ports | (1 << 40)))
    }
}

/// [`l4_ipv4`] over a given accumulation step: [`l4_with`]'s IPv4 form.
#[inline(always)]
fn l4_ipv4_with(
    word: impl Fn(u32, u64) -> u32,
    src: u32,
    dst: u32,
    proto: u8,
    sport: u16,
    dport: u16,
    basis: u32,
) -> u32 {
    let ports = (u64::from(proto) << 32) | (u64::from(sport) << 16) | u64::from(dport);
    let h = word(basis, (u64::from(src) << 32) | u64::from(dst));
    fmix32(word(h, ports))
}

/// A flow hash from a hash the NIC already computed over the flow (RSS):
/// Toeplitz output is not uniform in its low bits, so mix it before taking
/// the bucket.
#[inline(always)]
pub const fn mix(h: u32) -> u32 {
    fmix32(h)
}

/// The final avalanche step shared by both implementations (the 32-bit
/// finalizer of MurmurHash3): a bijection on `u32` in which each output bit
/// depends on every input bit.
#[inline(always)]
const fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// Portable accumulation: one 64-bit multiply-mix per word.
#[allow(dead_code)] // Only the tests use it when SSE4.2 is on.
mod portable {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    #[inline(always)]
    pub(super) fn word(h: u32, w: u64) -> u32 {
        let x = (u64::from(h) ^ w.rotate_left(23)).wrapping_mul(K);
        let x = x ^ (x >> 29) ^ w;
        let x = x.wrapping_mul(K);
        (x ^ (x >> 32)) as u32
    }
}

/// SSE4.2 accumulation: one CRC32-C instruction per word.
#[cfg(all(target_arch = "x86_64", target_feature = "sse4.2"))]
mod sse42 {
    use core::arch::x86_64::_mm_crc32_u64;

    #[inline(always)]
    pub(super) fn word(h: u32, w: u64) -> u32 {
        // SAFETY: this module is compiled only when the target enables
        // SSE4.2, which provides the CRC32 instruction.
        unsafe { _mm_crc32_u64(u64::from(h), w) as u32 }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse4.2"))]
use sse42 as imp;

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse4.2")))]
use portable as imp;

#[cfg(test)]
mod tests {
    use super::*;

    type WordFn = fn(u32, u64) -> u32;

    /// Both implementations, so the portable one is tested on this machine
    /// too.
    fn impls() -> Vec<(&'static str, WordFn)> {
        #[allow(unused_mut)]
        let mut v: Vec<(&'static str, WordFn)> = vec![("portable", portable::word)];
        #[cfg(all(target_arch = "x86_64", target_feature = "sse4.2"))]
        v.push(("sse4.2", sse42::word));
        v
    }

    /// A deterministic pseudo-random sequence (SplitMix64) for test inputs.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    /// Asserts that no bucket holds more than 2.5x the mean and none is empty.
    fn assert_spread(name: &str, hashes: impl Iterator<Item = u32>) {
        let mut counts = [0u32; BUCKETS];
        let mut n = 0u32;
        for h in hashes {
            counts[usize::from(bucket(h))] += 1;
            n += 1;
        }
        let mean = f64::from(n) / BUCKETS as f64;
        let max = *counts.iter().max().unwrap();
        let min = *counts.iter().min().unwrap();
        assert!(
            f64::from(max) <= 2.5 * mean,
            "{name}: max bucket {max} > 2.5 x mean {mean}"
        );
        assert!(min > 0, "{name}: an empty bucket with mean {mean}");
    }

    fn tcp(src: u128, dst: u128, sport: u16, dport: u16) -> FiveTuple {
        FiveTuple {
            src,
            dst,
            proto: 6,
            sport,
            dport,
        }
    }

    #[test]
    fn l4_spreads_sequential_source_ports() {
        // One client, one server, 10,000 consecutive ephemeral ports: the
        // typical many-connections-between-two-hosts case.
        for (name, w) in impls() {
            assert_spread(
                name,
                (0..10_000u16)
                    .map(|p| l4_with(w, &tcp(0x0a00_0001, 0x0a00_0002, 30_000 + p, 443), 0)),
            );
        }
        assert_spread(
            "l4",
            (0..10_000u16).map(|p| l4(&tcp(0x0a00_0001, 0x0a00_0002, 30_000 + p, 443), 0)),
        );
    }

    #[test]
    fn l4_spreads_many_hosts_and_random_tuples() {
        for (name, w) in impls() {
            // 10,000 clients in a /18 talking to one server port.
            assert_spread(
                name,
                (0..10_000u32).map(|i| {
                    l4_with(
                        w,
                        &tcp(0x0a01_0000 + u128::from(i), 0xc0a8_0001, 5555, 80),
                        7,
                    )
                }),
            );
            // IPv6 clients differing only in the interface identifier.
            let base = 0x2001_0db8_0000_0000_0000_0000_0000_0000u128;
            assert_spread(
                name,
                (0..10_000u128).map(|i| l4_with(w, &tcp(base + (i << 8), base + 1, 1234, 53), 0)),
            );
            // Random tuples.
            let mut r = Rng(42);
            assert_spread(
                name,
                (0..10_000).map(|_| {
                    let t = tcp(
                        u128::from(r.next() as u32),
                        u128::from(r.next() as u32),
                        r.next() as u16,
                        r.next() as u16,
                    );
                    l4_with(w, &t, 0)
                }),
            );
        }
    }

    #[test]
    fn slb_spreads_sequential_macs_and_vlans() {
        for (name, w) in impls() {
            // 10,000 VM MACs allocated sequentially (52:54:00:xx:xx:xx).
            assert_spread(
                name,
                (0..10_000u64)
                    .map(|i| slb_with(w, MacAddr::from_u64(0x5254_0000_0000 + i), 100, 0)),
            );
            // One MAC on 4,094 VLANs, and 40 MACs on 250 VLANs.
            assert_spread(
                name,
                (1..=4094u16).map(|v| slb_with(w, MacAddr([0x52, 0x54, 0, 1, 2, 3]), v, 0)),
            );
            assert_spread(
                name,
                (0..10_000u64).map(|i| {
                    slb_with(
                        w,
                        MacAddr::from_u64(0x0200_0000_0000 + i / 250),
                        (i % 250) as u16 + 1,
                        9,
                    )
                }),
            );
        }
        assert_spread(
            "slb",
            (0..10_000u64).map(|i| slb(MacAddr::from_u64(0x5254_0000_0000 + i), 100, 0)),
        );
    }

    #[test]
    fn hashes_are_stable() {
        let t = tcp(0x0a00_0001, 0x0a00_0002, 40_000, 22);
        let m = MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let a = (l4(&t, 5), slb(m, 10, 5));
        for _ in 0..3 {
            assert_eq!((l4(&t, 5), slb(m, 10, 5)), a);
            assert_eq!(l4(&{ t }, 5), a.0);
        }
        // The VLAN's PCP/DEI bits (if a caller passes a TCI) do not matter.
        assert_eq!(slb(m, 10 | 0xe000, 5), a.1);
        // The implementation in use is the one tested above.
        #[cfg(all(target_arch = "x86_64", target_feature = "sse4.2"))]
        let w = sse42::word;
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse4.2")))]
        let w = portable::word;
        assert_eq!(l4_with(w, &t, 5), a.0);
        assert_eq!(slb_with(w, m, 10, 5), a.1);
    }

    #[test]
    fn every_field_and_the_basis_matter() {
        let t = tcp(0x0a00_0001, 0x0a00_0002, 40_000, 22);
        let h = l4(&t, 0);
        let variants = [
            FiveTuple {
                src: t.src ^ 1,
                ..t
            },
            FiveTuple {
                src: t.src | (1 << 100),
                ..t
            },
            FiveTuple {
                dst: t.dst ^ 1,
                ..t
            },
            FiveTuple {
                dst: t.dst | (1 << 127),
                ..t
            },
            FiveTuple { proto: 17, ..t },
            FiveTuple {
                sport: t.sport ^ 1,
                ..t
            },
            FiveTuple {
                dport: t.dport ^ 1,
                ..t
            },
        ];
        for v in variants {
            assert_ne!(l4(&v, 0), h, "{v:?}");
        }
        // IPv6: every 64-bit half of both addresses counts.
        let t6 = tcp(0x2001_0db8 << 96 | 5, 0x2001_0db8 << 96 | 6, 1, 2);
        let h6 = l4(&t6, 0);
        for bit in [0, 64, 127] {
            assert_ne!(
                l4(
                    &FiveTuple {
                        src: t6.src ^ (1 << bit),
                        ..t6
                    },
                    0
                ),
                h6
            );
            assert_ne!(
                l4(
                    &FiveTuple {
                        dst: t6.dst ^ (1 << bit),
                        ..t6
                    },
                    0
                ),
                h6
            );
        }
        // The IPv4 form and the long form of the same numbers differ.
        assert_ne!(
            l4(&tcp(1, 2, 3, 4), 0),
            l4_with(imp::word, &tcp(1 | (1 << 64), 2, 3, 4), 0)
        );
        assert_ne!(l4(&t, 1), h);
        let m = MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let s = slb(m, 10, 0);
        assert_ne!(slb(MacAddr([0x53, 0x54, 0, 0x12, 0x34, 0x56]), 10, 0), s);
        assert_ne!(slb(m, 11, 0), s);
        assert_ne!(slb(m, 10, 1), s);
    }

    #[test]
    fn not_symmetric() {
        // A symmetric hash (e.g. XOR of per-endpoint hashes) would put both
        // directions of every flow in the same bucket. Ours should agree on
        // the bucket only as often as chance does (1/256).
        for (name, w) in impls() {
            let mut r = Rng(7);
            let mut same_bucket = 0;
            for _ in 0..10_000 {
                let a = tcp(
                    u128::from(r.next() as u32),
                    u128::from(r.next() as u32),
                    r.next() as u16,
                    r.next() as u16,
                );
                let b = tcp(a.dst, a.src, a.dport, a.sport);
                let (ha, hb) = (l4_with(w, &a, 0), l4_with(w, &b, 0));
                assert_ne!(ha, hb, "{name}: {a:?}");
                same_bucket += u32::from(bucket(ha) == bucket(hb));
            }
            assert!(
                same_bucket < 100,
                "{name}: {same_bucket} of 10000 reversed flows share a bucket"
            );
        }
    }

    #[test]
    fn l4_ipv4_is_l4_of_the_tuple() {
        let mut r = Rng(3);
        for _ in 0..10_000 {
            let (src, dst) = (r.next() as u32, r.next() as u32);
            let (proto, sport, dport) = (r.next() as u8, r.next() as u16, r.next() as u16);
            let basis = r.next() as u32;
            let t = FiveTuple {
                src: u128::from(src),
                dst: u128::from(dst),
                proto,
                sport,
                dport,
            };
            assert_eq!(l4_ipv4(src, dst, proto, sport, dport, basis), l4(&t, basis));
            for (_, w) in impls() {
                assert_eq!(
                    l4_ipv4_with(w, src, dst, proto, sport, dport, basis),
                    l4_with(w, &t, basis)
                );
            }
        }
        // The value the implementation had before `l4_ipv4` was split out
        // of `l4` (SSE4.2 build): refactoring must not move flows.
        let t = tcp(0x0a00_0001, 0x0a00_0002, 40_000, 22);
        #[cfg(all(target_arch = "x86_64", target_feature = "sse4.2"))]
        {
            assert_eq!(l4(&t, 5), 351_965_160);
            assert_eq!(
                l4_ipv4(0x0a00_0001, 0x0a00_0002, 6, 40_000, 22, 5),
                351_965_160
            );
        }
        assert_eq!(
            l4(&t, 5),
            l4_ipv4(0x0a00_0001, 0x0a00_0002, 6, 40_000, 22, 5)
        );
    }

    #[test]
    fn basis_reshuffles_buckets() {
        // Changing bond-hash-basis must move most flows to other buckets.
        let moved = (0..1000u16)
            .filter(|&p| {
                let t = tcp(1, 2, p, 80);
                bucket(l4(&t, 0)) != bucket(l4(&t, 12345))
            })
            .count();
        assert!(moved > 900, "only {moved} of 1000 flows changed bucket");
    }
}
