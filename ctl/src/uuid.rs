//! Record identifiers: random (version 4) UUIDs, printed as OVS prints them.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 128-bit record identifier.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// A version-4 (random) UUID built from 16 random bytes.
    pub fn from_random_bytes(mut b: [u8; 16]) -> Uuid {
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Uuid(b)
    }

    /// Whether `s` is a full UUID in the 8-4-4-4-12 hex form.
    pub fn is_uuid(s: &str) -> bool {
        s.parse::<Uuid>().is_ok()
    }

    /// Whether this UUID's text form starts with `prefix` (case-insensitive).
    pub fn starts_with(&self, prefix: &str) -> bool {
        let full = self.to_string();
        full.len() >= prefix.len()
            && full
                .as_bytes()
                .iter()
                .zip(prefix.as_bytes())
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseUuidError(pub String);

impl fmt::Display for ParseUuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" is not a valid UUID", self.0)
    }
}

impl std::error::Error for ParseUuidError {}

impl FromStr for Uuid {
    type Err = ParseUuidError;

    fn from_str(s: &str) -> Result<Uuid, ParseUuidError> {
        let err = || ParseUuidError(s.to_string());
        let b = s.as_bytes();
        if b.len() != 36 {
            return Err(err());
        }
        let mut out = [0u8; 16];
        let mut n = 0usize;
        let mut i = 0usize;
        while i < b.len() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b[i] != b'-' {
                    return Err(err());
                }
                i += 1;
                continue;
            }
            let hi = hex_val(b[i]).ok_or_else(err)?;
            let lo = hex_val(*b.get(i + 1).ok_or_else(err)?).ok_or_else(err)?;
            *out.get_mut(n).ok_or_else(err)? = (hi << 4) | lo;
            n += 1;
            i += 2;
        }
        if n != 16 {
            return Err(err());
        }
        Ok(Uuid(out))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Uuid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_bits() {
        let u = Uuid::from_random_bytes([0xff; 16]);
        let s = u.to_string();
        assert_eq!(s, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(s.parse::<Uuid>().unwrap(), u);
        assert_eq!(
            "8DAAA733-F6EF-4B67-A1A9-581875F33420"
                .parse::<Uuid>()
                .unwrap()
                .to_string(),
            "8daaa733-f6ef-4b67-a1a9-581875f33420"
        );
        assert!(u.starts_with("FFFF"));
        assert!(!u.starts_with("fffe"));
    }

    #[test]
    fn rejects_junk() {
        for s in [
            "",
            "8daaa733",
            "8daaa733-f6ef-4b67-a1a9-581875f3342",
            "8daaa733-f6ef-4b67-a1a9-581875f334200",
            "8daaa733xf6ef-4b67-a1a9-581875f33420",
            "8daaa733-f6ef-4b67-a1a9-581875f3342g",
            "é8daaa73-f6ef-4b67-a1a9-581875f3342",
        ] {
            assert!(s.parse::<Uuid>().is_err(), "{s:?}");
        }
    }
}
