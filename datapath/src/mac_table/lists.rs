//! Index-linked doubly linked lists, the writer's bookkeeping.
//!
//! A [`Lists`] holds many lists over one set of nodes `0..n_nodes` (each node
//! is in at most one of them at a time), with heads indexed by list id. Links
//! are stored as `index + 1` so that `0` means "none" and every array starts
//! as zeroed memory: a table built for a million entries does not touch the
//! pages of lists it never uses. Every operation is O(1) and allocation-free.
//!
//! Indices come from the table itself, never from packet bytes; an index out
//! of range is a bug in this module, so plain indexing (which would panic)
//! is the right response.

/// Many doubly linked lists over a shared node set.
#[derive(Debug)]
pub(super) struct Lists {
    prev: Vec<u32>,
    next: Vec<u32>,
    head: Vec<u32>,
    tail: Vec<u32>,
}

#[inline]
fn enc(i: u32) -> u32 {
    i + 1
}

#[inline]
fn dec(l: u32) -> Option<u32> {
    l.checked_sub(1)
}

impl Lists {
    /// `n_lists` empty lists over nodes `0..n_nodes`.
    pub(super) fn new(n_nodes: usize, n_lists: usize) -> Lists {
        Lists {
            prev: vec![0; n_nodes],
            next: vec![0; n_nodes],
            head: vec![0; n_lists],
            tail: vec![0; n_lists],
        }
    }

    /// The first node of list `l`.
    #[inline]
    pub(super) fn front(&self, l: usize) -> Option<u32> {
        dec(self.head[l])
    }

    /// The node after `n` in its list.
    #[inline]
    pub(super) fn next(&self, n: u32) -> Option<u32> {
        dec(self.next[n as usize])
    }

    /// Whether list `l` is empty.
    #[inline]
    pub(super) fn is_empty(&self, l: usize) -> bool {
        self.head[l] == 0
    }

    /// Append `n` (in no list) to the back of list `l`.
    pub(super) fn push_back(&mut self, l: usize, n: u32) {
        let t = self.tail[l];
        self.prev[n as usize] = t;
        self.next[n as usize] = 0;
        match dec(t) {
            Some(t) => self.next[t as usize] = enc(n),
            None => self.head[l] = enc(n),
        }
        self.tail[l] = enc(n);
    }

    /// Unlink `n` from list `l`, which must hold it.
    pub(super) fn remove(&mut self, l: usize, n: u32) {
        let p = self.prev[n as usize];
        let x = self.next[n as usize];
        match dec(p) {
            Some(p) => self.next[p as usize] = x,
            None => self.head[l] = x,
        }
        match dec(x) {
            Some(x) => self.prev[x as usize] = p,
            None => self.tail[l] = p,
        }
        self.prev[n as usize] = 0;
        self.next[n as usize] = 0;
    }

    /// Move `n`, which is in list `l`, to the back of `l`.
    pub(super) fn move_to_back(&mut self, l: usize, n: u32) {
        self.remove(l, n);
        self.push_back(l, n);
    }

    /// Put node `new` (in no list) where `old` is in list `l`, and unlink
    /// `old`. The order of the list is unchanged.
    pub(super) fn replace(&mut self, l: usize, old: u32, new: u32) {
        let p = self.prev[old as usize];
        let x = self.next[old as usize];
        self.prev[new as usize] = p;
        self.next[new as usize] = x;
        match dec(p) {
            Some(p) => self.next[p as usize] = enc(new),
            None => self.head[l] = enc(new),
        }
        match dec(x) {
            Some(x) => self.prev[x as usize] = enc(new),
            None => self.tail[l] = enc(new),
        }
        self.prev[old as usize] = 0;
        self.next[old as usize] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(l: &Lists, list: usize) -> Vec<u32> {
        let mut v = Vec::new();
        let mut n = l.front(list);
        while let Some(i) = n {
            v.push(i);
            n = l.next(i);
        }
        v
    }

    #[test]
    fn push_remove_replace_keep_order() {
        let mut l = Lists::new(10, 2);
        assert!(l.is_empty(0));
        for i in [3, 0, 7, 5] {
            l.push_back(0, i);
        }
        l.push_back(1, 9);
        assert_eq!(collect(&l, 0), [3, 0, 7, 5]);
        l.remove(0, 3);
        l.remove(0, 5);
        assert_eq!(collect(&l, 0), [0, 7]);
        l.replace(0, 0, 4);
        assert_eq!(collect(&l, 0), [4, 7]);
        l.replace(0, 7, 3);
        assert_eq!(collect(&l, 0), [4, 3]);
        l.move_to_back(0, 4);
        assert_eq!(collect(&l, 0), [3, 4]);
        l.remove(0, 3);
        l.remove(0, 4);
        assert!(l.is_empty(0));
        assert_eq!(collect(&l, 1), [9]);
        l.push_back(0, 0);
        assert_eq!(collect(&l, 0), [0]);
    }
}
