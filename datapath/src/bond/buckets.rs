//! The 256-entry bucket → member table of a load-balancing bond and the
//! load remembered per bucket.
//!
//! Entries hold member *indices* (positions in the bond's member list) or
//! [`NO_MEMBER`]. The bond keeps the table consistent: in a load-balancing
//! mode every entry names an enabled member, or every entry is
//! [`NO_MEMBER`] when none is enabled.

use super::NO_MEMBER;
use crate::hash::BUCKETS;
use smallvec::SmallVec;

/// Buckets that moved from one member index to another, counted.
pub(super) type Moves = SmallVec<[(u8, u8, u16); 8]>;

/// The bucket table.
#[derive(Clone, Debug)]
pub(super) struct Buckets {
    /// Member index per bucket, or [`NO_MEMBER`].
    pub map: [u8; BUCKETS],
    /// Bytes sent per bucket, exponentially decayed at each rebalance.
    pub load: [u64; BUCKETS],
    /// Round-robin cursor for spreading buckets over members.
    cursor: usize,
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets {
            map: [NO_MEMBER; BUCKETS],
            load: [0; BUCKETS],
            cursor: 0,
        }
    }
}

/// Adds one `(from, to)` move to `moves`.
pub(super) fn count_move(moves: &mut Moves, from: u8, to: u8) {
    if let Some(e) = moves.iter_mut().find(|e| e.0 == from && e.1 == to) {
        e.2 += 1;
    } else {
        moves.push((from, to, 1));
    }
}

impl Buckets {
    /// Forgets every assignment and load and deals the buckets out
    /// round-robin over `enabled` (member indices), bucket `i` to
    /// `enabled[i % n]`. With no enabled member every bucket is unassigned.
    pub fn reset(&mut self, enabled: &[u8]) {
        self.load = [0; BUCKETS];
        self.cursor = 0;
        for (i, b) in self.map.iter_mut().enumerate() {
            *b = match enabled.len() {
                0 => NO_MEMBER,
                n => enabled[i % n],
            };
        }
    }

    /// Gives every bucket whose member is not in `enabled` (including
    /// unassigned ones) to the enabled members, round-robin, so the buckets
    /// of a failed member are shared by all the others. With no enabled
    /// member those buckets become unassigned. Returns the moves made.
    pub fn repair(&mut self, enabled: &[u8]) -> Moves {
        let mut moves = Moves::new();
        for b in self.map.iter_mut() {
            if enabled.contains(b) {
                continue;
            }
            let to = match enabled.len() {
                0 => NO_MEMBER,
                n => {
                    let t = enabled[self.cursor % n];
                    self.cursor = self.cursor.wrapping_add(1);
                    t
                }
            };
            if *b != to {
                count_move(&mut moves, *b, to);
                *b = to;
            }
        }
        moves
    }

    /// Whether every bucket is unassigned.
    pub fn all_unassigned(&self) -> bool {
        self.map.iter().all(|&b| b == NO_MEMBER)
    }

    /// Number of buckets held by member index `idx`.
    #[cfg(test)]
    pub fn count(&self, idx: u8) -> usize {
        self.map.iter().filter(|&&b| b == idx).count()
    }

    /// Renumbers after member index `idx` was removed from the member list:
    /// its buckets become unassigned and higher indices shift down by one.
    pub fn remove_index(&mut self, idx: u8) {
        for b in self.map.iter_mut() {
            if *b == idx {
                *b = NO_MEMBER;
            } else if *b != NO_MEMBER && *b > idx {
                *b -= 1;
            }
        }
    }

    /// Halves every bucket's remembered load (OVS's moving average: old
    /// traffic decays below 1% in seven rebalance intervals).
    pub fn decay(&mut self) {
        for l in self.load.iter_mut() {
            *l /= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_deals_round_robin() {
        let mut b = Buckets::default();
        b.load[3] = 99;
        b.reset(&[0, 2, 5]);
        assert_eq!((b.count(0), b.count(2), b.count(5)), (86, 85, 85));
        assert_eq!(&b.map[..4], &[0, 2, 5, 0]);
        assert_eq!(b.load[3], 0);
        b.reset(&[]);
        assert!(b.all_unassigned());
    }

    #[test]
    fn repair_spreads_a_dead_members_buckets_over_all_others() {
        let mut b = Buckets::default();
        b.reset(&[0, 1, 2]);
        let moves = b.repair(&[0, 2]);
        assert_eq!(b.count(1), 0);
        assert_eq!(b.count(0) + b.count(2), 256);
        // Member 1's 85 buckets split 43/42, not all on one member.
        let to0 = moves.iter().find(|m| m.1 == 0).unwrap().2;
        let to2 = moves.iter().find(|m| m.1 == 2).unwrap().2;
        assert_eq!(to0 + to2, 85);
        assert!(to0.abs_diff(to2) <= 1, "{moves:?}");
        // Nothing else moved.
        assert!(moves.iter().all(|m| m.0 == 1));
        // A second repair with the same members does nothing.
        assert!(b.repair(&[0, 2]).is_empty());
    }

    #[test]
    fn repair_with_no_member_unassigns_and_then_fills() {
        let mut b = Buckets::default();
        b.reset(&[0, 1]);
        b.repair(&[]);
        assert!(b.all_unassigned());
        let moves = b.repair(&[1]);
        assert_eq!(b.count(1), 256);
        assert_eq!(moves.as_slice(), &[(NO_MEMBER, 1, 256)]);
    }

    #[test]
    fn remove_index_renumbers() {
        let mut b = Buckets::default();
        b.reset(&[0, 1, 2]);
        b.remove_index(1);
        assert_eq!(b.count(0), 86);
        assert_eq!(b.count(1), 85); // formerly index 2
        assert_eq!(b.count(NO_MEMBER), 85);
        assert_eq!(b.count(2), 0);
    }

    #[test]
    fn decay_halves() {
        let mut b = Buckets::default();
        b.load[7] = 1001;
        b.decay();
        assert_eq!(b.load[7], 500);
    }
}
