//! A reader that turns fuzzer bytes into choices.
//!
//! Every read succeeds: once the input is used up, reads return zeros (so
//! every choice falls back to its first, most ordinary option) and
//! [`Bytes::is_empty`] says the scenario should end.

/// Fuzzer input, consumed from the front.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Read from `data`.
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data }
    }

    /// Nothing left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte (0 when exhausted).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Eight bytes, big-endian.
    pub fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }

    /// A coin flip (the low bit of one byte).
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// True with probability `n` in 256; false once the input is used up.
    pub fn chance(&mut self, n: u8) -> bool {
        !self.is_empty() && self.u8() < n
    }

    /// A number in `0..n` (0 when `n` is 0). Uses one byte when `n` fits
    /// in one, else two.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        if n <= 256 {
            usize::from(self.u8()) % n
        } else {
            usize::from(self.u16()) % n
        }
    }

    /// One of `xs` (the first when exhausted).
    ///
    /// # Panics
    /// When `xs` is empty (a harness bug, not an input problem).
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    /// One of `xs`, or (one time in `xs.len() + 1`) whatever `any` reads.
    pub fn pick_or<T: Copy>(&mut self, xs: &[T], any: fn(&mut Bytes<'a>) -> T) -> T {
        match xs.get(self.below(xs.len() + 1)) {
            Some(&x) => x,
            None => any(self),
        }
    }

    /// Up to `n` raw bytes (fewer when the input runs out).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_then_zeros() {
        let mut b = Bytes::new(&[1, 2, 3, 0xff]);
        assert_eq!(b.u16(), 0x0102);
        assert!(!b.is_empty());
        assert_eq!(b.below(10), 3);
        assert!(!b.chance(0xff), "0xff < 0xff is false");
        assert!(b.is_empty());
        assert_eq!(b.u32(), 0);
        assert!(!b.chance(0xff));
        assert_eq!(b.pick(&[7, 8]), 7);
        assert!(b.take(5).is_empty());
    }
}
