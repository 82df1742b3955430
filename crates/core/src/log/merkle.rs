//! The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2): tree
//! heads, inclusion proofs and consistency proofs, with SHA-256 (`modern`)
//! or SM3 (`shangmi`) as the hash. Checked against the RFC 6962 test
//! vectors (`tests.rs`).

use sha2::{Digest, Sha256};

use crate::crypto::Suite;

/// A node or leaf hash.
pub type Hash = [u8; 32];

/// The hash of a suite, with the RFC's domain separation: 0x00 before a
/// leaf, 0x01 before two children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHasher(pub Suite);

impl TreeHasher {
    fn digest(self, parts: &[&[u8]]) -> Hash {
        fn run<D: Digest<OutputSize = sha2::digest::consts::U32>>(
            mut h: D,
            parts: &[&[u8]],
        ) -> Hash {
            for p in parts {
                h.update(p);
            }
            h.finalize().into()
        }
        match self.0 {
            Suite::Modern => run(Sha256::new(), parts),
            Suite::ShangMi => run(sm3::Sm3::new(), parts),
        }
    }

    /// MTH({}): the hash of the empty string.
    pub fn empty_root(self) -> Hash {
        self.digest(&[])
    }

    /// MTH({d}) = HASH(0x00 || d).
    pub fn leaf(self, data: &[u8]) -> Hash {
        self.digest(&[&[0x00], data])
    }

    /// HASH(0x01 || left || right).
    pub fn node(self, left: &Hash, right: &Hash) -> Hash {
        self.digest(&[&[0x01], left, right])
    }
}

/// The largest power of two smaller than `n` (n ≥ 2): where the RFC
/// splits a list of n leaves.
fn split(n: u64) -> u64 {
    let mut k: u64 = 1;
    while k.saturating_mul(2) < n {
        k *= 2;
    }
    k
}

/// A tree of leaf hashes, with every complete aligned subtree's hash kept
/// so that a root or a proof over any prefix costs O(log² n) hashes
/// rather than n.
#[derive(Debug, Clone)]
pub struct Tree {
    hasher: TreeHasher,
    /// `levels[k][i]`: the hash of leaves `i·2^k .. (i+1)·2^k`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new(hasher: TreeHasher) -> Self {
        Self {
            hasher,
            levels: vec![Vec::new()],
        }
    }

    pub fn from_leaves(hasher: TreeHasher, leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = Self::new(hasher);
        for l in leaves {
            t.push(l);
        }
        t
    }

    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
    }

    /// Appends a leaf hash (already `TreeHasher::leaf` of its data).
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(carry);
            if row.len() % 2 == 1 {
                return;
            }
            let n = row.len();
            match (row.get(n - 2), row.get(n - 1)) {
                (Some(l), Some(r)) => carry = self.hasher.node(l, r),
                _ => return,
            }
            level += 1;
        }
    }

    /// MTH(D[start:end]) for a range the RFC's recursion visits: `start`
    /// is a multiple of the largest power of two ≤ end - start whenever
    /// the range is complete, which every left part is.
    fn subtree(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n == 0 {
            return self.hasher.empty_root();
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            let found = self
                .levels
                .get(level)
                .and_then(|row| row.get(usize::try_from(start / n).ok()?));
            if let Some(h) = found {
                return *h;
            }
        }
        let k = split(n);
        let left = self.subtree(start, start + k);
        let right = self.subtree(start + k, end);
        self.hasher.node(&left, &right)
    }

    /// The root of the first `size` leaves; `None` beyond the tree.
    pub fn root(&self, size: u64) -> Option<Hash> {
        (size <= self.len()).then(|| self.subtree(0, size))
    }

    /// PATH(index, D[0:size]): RFC 9162 §2.1.3.1.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.len() {
            return None;
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Some(proof)
    }

    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, start + k, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.path(m - k, start + k, end, out);
            out.push(self.subtree(start, start + k));
        }
    }

    /// PROOF(old, D[0:size]): RFC 9162 §2.1.4.1. Empty when `old` is 0 or
    /// equals `size`.
    pub fn consistency_proof(&self, old: u64, size: u64) -> Option<Vec<Hash>> {
        if old > size || size > self.len() {
            return None;
        }
        let mut proof = Vec::new();
        if old > 0 && old < size {
            self.subproof(old, 0, size, true, &mut proof);
        }
        Some(proof)
    }

    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(self.subtree(start, end));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.subtree(start, start + k));
        }
    }
}

/// Checks an inclusion proof: RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    hasher: TreeHasher,
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n % 2 == 1 || f_n == s_n {
            r = hasher.node(p, &r);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = hasher.node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Checks a consistency proof between the heads of sizes `old` and `size`:
/// RFC 9162 §2.1.4.2.
pub fn verify_consistency(
    hasher: TreeHasher,
    old: u64,
    size: u64,
    old_root: &Hash,
    root: &Hash,
    proof: &[Hash],
) -> bool {
    if old > size {
        return false;
    }
    if old == size {
        return proof.is_empty() && old_root == root;
    }
    if old == 0 {
        // Every tree extends the empty one; nothing to prove.
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (old - 1, size - 1);
    while f_n % 2 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n % 2 == 1 || f_n == s_n {
            f_r = hasher.node(c, &f_r);
            s_r = hasher.node(c, &s_r);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = hasher.node(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    f_r == *old_root && s_r == *root && s_n == 0
}
