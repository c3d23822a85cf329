//! The in-memory log's records and Merkle tree.
//!
//! The records lie one after another in a few large chunks, and no heap
//! block per record: an append allocates nothing but a new chunk once per
//! 4 MiB, and a record costs its bytes and little else. Each leaf follows
//! the byte it is hashed after, so its hash reads it in place in one digest
//! update.
//!
//! Every byte kept per record is a byte of fresh memory the kernel must
//! supply, so the first chunk grows on the heap (a small log holds what it
//! uses) and the later ones are mappings the kernel fills in one call when
//! they are made, rather than a page fault at the first write to each 4 KiB
//! page. And the log keeps little beside the records:
//!
//! * no hash below level [`LOW`] of the tree: the records are here to
//!   rehash. Keeping all levels cost 64 bytes of hashes per record; from
//!   level 4 up they cost 4. A proof or a root then rehashes at most 15
//!   records and 8 nodes for each subtree below level 4 it needs (a proof
//!   on a million records takes about 8.5 us instead of 5 with level 3
//!   kept), and none for the newest records' (their subtrees wait in the
//!   tree, complete);
//! * no end per record, only where each group of [`GROUP`] records starts:
//!   a record's encoding gives its own length, so the records of a group
//!   are found by walking it (half a byte per record instead of eight).

use memmap2::{MmapMut, MmapOptions};

use crate::audit::file::io;
use crate::audit::hash::{prefixed_leaf_hash, Hash, LEAF_PREFIX};
use crate::audit::record::{encoded_len, MAX_RECORD_BYTES};
use crate::audit::tree::{Subtrees, Tree};
use crate::Result;

/// The lowest level of the tree the log keeps.
const LOW: usize = 4;

/// The records whose start is kept together: those of one subtree at
/// level [`LOW`], which a proof rehashes together.
const GROUP: usize = 1 << LOW;

/// The most record bytes the heap chunk holds, and the size of each
/// mapping after it: large enough that mapping one is rare (once per
/// 20,000 records of 200 bytes), small enough that populating it (about a
/// millisecond) stays a short pause of one append.
const CHUNK_BYTES: usize = 4 << 20;

// A record always fits a chunk, so each record lies whole in one.
const _: () = assert!(CHUNK_BYTES > MAX_RECORD_BYTES);

/// Where a record's prefix byte is.
#[derive(Clone, Copy)]
struct At {
    chunk: usize,
    offset: usize,
}

/// A piece of the records' storage. Each record lies whole in one chunk,
/// so a record is always one slice.
enum Chunk {
    /// The first chunk: grown on the heap as records come, so a small log
    /// holds what it uses and no more.
    Heap(Vec<u8>),
    /// Every later one: the first `len` bytes of a mapping populated when
    /// it is made. The kernel then fills the chunk's pages in one call
    /// instead of taking a page fault on the first write to each page, a
    /// fifth of an append's time when the log grew on the heap (see
    /// docs/BENCHMARKS.md, audit round 9).
    Mapped { map: MmapMut, len: usize },
}

impl Chunk {
    /// A new mapped chunk of `size` bytes, every page in place.
    fn mapped(size: usize) -> Result<Chunk> {
        let map = MmapOptions::new()
            .len(size)
            .populate()
            .map_anon()
            .map_err(|e| io("mapping memory for the records", &e))?;
        Ok(Chunk::Mapped { map, len: 0 })
    }

    /// The bytes written.
    fn used(&self) -> &[u8] {
        match self {
            Chunk::Heap(bytes) => bytes,
            Chunk::Mapped { map, len } => &map[..*len],
        }
    }

    /// The next `n` bytes, now used: the caller checked that they fit a
    /// chunk of `size` bytes.
    fn grow(&mut self, n: usize, size: usize) -> &mut [u8] {
        match self {
            Chunk::Heap(bytes) => {
                let start = bytes.len();
                if start + n > bytes.capacity() {
                    // Doubling, as a `Vec` does, but never past the size
                    // of a chunk, where the mappings take over.
                    let capacity = (2 * bytes.capacity()).max(start + n).min(size);
                    bytes.reserve_exact(capacity - start);
                }
                bytes.resize(start + n, 0);
                &mut bytes[start..]
            }
            Chunk::Mapped { map, len } => {
                let start = *len;
                *len += n;
                &mut map[start..*len]
            }
        }
    }
}

pub(crate) struct Leaves {
    /// Each record after its prefix byte, oldest first, chunk after chunk.
    chunks: Vec<Chunk>,
    /// The size of a chunk: [`CHUNK_BYTES`] but in tests.
    chunk_bytes: usize,
    /// `starts[g]` is where record `g * GROUP`'s prefix byte is.
    starts: Vec<At>,
    tree: Tree<LOW>,
}

impl Leaves {
    pub(crate) fn new() -> Leaves {
        Leaves::with_chunks(CHUNK_BYTES)
    }

    /// A log whose chunks are `chunk_bytes` long, which must hold the
    /// longest record pushed and its prefix byte (tests push short ones
    /// into short chunks, to cross many chunks with few records).
    fn with_chunks(chunk_bytes: usize) -> Leaves {
        Leaves { chunks: vec![Chunk::Heap(Vec::new())], chunk_bytes, starts: Vec::new(), tree: Tree::empty() }
    }

    /// Appends, as one record, the `len` bytes of encoding `write` writes,
    /// and adds its hash to the tree. It must be one record's encoding:
    /// the chunks are walked by the lengths it gives ([`encoded_len`]).
    /// Fails, having kept nothing, when the record does not fit the last
    /// chunk and no new one can be mapped.
    pub(crate) fn push(&mut self, len: usize, write: impl FnOnce(&mut [u8])) -> Result<()> {
        let n = len + 1;
        let last = self.chunks.len() - 1;
        if self.chunks[last].used().len() + n > self.chunk_bytes {
            self.chunks.push(Chunk::mapped(self.chunk_bytes)?);
        }
        let chunk = self.chunks.len() - 1;
        if self.tree.len().is_multiple_of(GROUP as u64) {
            self.starts.push(At { chunk, offset: self.chunks[chunk].used().len() });
        }
        let bytes = self.chunks[chunk].grow(n, self.chunk_bytes);
        bytes[0] = LEAF_PREFIX;
        write(&mut bytes[1..]);
        self.tree.push_hash(prefixed_leaf_hash(bytes));
        Ok(())
    }

    /// Leaf `index`, if there is one.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        (index < self.count()).then(|| &self.prefixed(index)[1..])
    }

    /// Leaf `index`, which must be one, after its prefix byte: found from
    /// its group's start.
    fn prefixed(&self, index: usize) -> &[u8] {
        let mut at = self.starts[index / GROUP];
        for _ in 0..index % GROUP {
            at = self.next(at);
        }
        self.record(at)
    }

    /// The record whose prefix byte is `at`, with that byte.
    fn record(&self, at: At) -> &[u8] {
        let used = self.chunks[at.chunk].used();
        let leaf = used.get(at.offset + 1..).unwrap_or_default();
        &used[at.offset..at.offset + 1 + encoded_len(leaf)]
    }

    /// Where the record after the one at `at` is: after it in its chunk,
    /// or at the start of the next chunk if it was the last that fitted.
    fn next(&self, at: At) -> At {
        let offset = at.offset + self.record(at).len();
        if offset < self.chunks[at.chunk].used().len() {
            At { chunk: at.chunk, offset }
        } else {
            At { chunk: at.chunk + 1, offset: 0 }
        }
    }

    /// Every leaf, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut at = At { chunk: 0, offset: 0 };
        (0..self.count()).map(move |_| {
            let leaf = &self.record(at)[1..];
            at = self.next(at);
            leaf
        })
    }

    /// The number of records.
    fn count(&self) -> usize {
        self.tree.len() as usize
    }
}

impl Subtrees for Leaves {
    fn len(&self) -> u64 {
        self.tree.len()
    }

    fn subtree(&self, level: u32, index: u64) -> Hash {
        let rehash = |i: u64| prefixed_leaf_hash(self.prefixed(i as usize));
        self.tree.subtree_or(level, index, &rehash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{leaf_hash, Decision, MerkleTree, Record};
    use crate::capability::KeyPair;

    /// Record `i`'s encoding: lengths vary, some with an actor, so a walk
    /// that misreads one length finds the wrong bytes for the rest.
    fn leaf(i: u64, actor: &KeyPair) -> Vec<u8> {
        let mut record = Record::new(i, "publish", &"r".repeat(i as usize % 5), Decision::Allow);
        record.detail = "d".repeat(i as usize * 7 % 300);
        if i.is_multiple_of(3) {
            record.actor = Some(actor.principal());
        }
        record.encode(i).unwrap()
    }

    /// The chunk sizes every test runs with: the log's own, and one that
    /// holds two to five of [`leaf`]'s records, so groups and proofs
    /// cross chunks (tests that pass with the first but not the second
    /// misplace the records after a chunk's end).
    const CHUNKS: [usize; 2] = [CHUNK_BYTES, 1000];

    /// How many chunks are mapped.
    fn mapped(leaves: &Leaves) -> usize {
        leaves.chunks.iter().filter(|c| matches!(c, Chunk::Mapped { .. })).count()
    }

    #[test]
    fn keeps_each_leaf_apart() {
        for chunk in CHUNKS {
            keeps_each_leaf_apart_in(chunk);
        }
    }

    fn keeps_each_leaf_apart_in(chunk: usize) {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::with_chunks(chunk);
        assert!(leaves.get(0).is_none());
        let all: Vec<Vec<u8>> = (0..20).map(|i| leaf(i, &actor)).collect();
        for (i, bytes) in all.iter().enumerate() {
            leaves.push(bytes.len(), |out| out.copy_from_slice(bytes)).unwrap();
            assert_eq!(leaves.get(i), Some(&bytes[..]));
        }
        for (i, bytes) in all.iter().enumerate() {
            assert_eq!(leaves.get(i), Some(&bytes[..]), "leaf {i}");
        }
        assert!(leaves.get(20).is_none());
        assert!(leaves.iter().eq(all.iter().map(Vec::as_slice)));
        assert_eq!(mapped(&leaves) > 0, chunk < CHUNK_BYTES, "chunk {chunk}");
    }

    #[test]
    fn the_tree_over_the_leaves_is_their_full_merkle_tree() {
        for chunk in CHUNKS {
            the_tree_is_the_full_merkle_tree_in(chunk);
        }
    }

    fn the_tree_is_the_full_merkle_tree_in(chunk: usize) {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::with_chunks(chunk);
        let mut full = MerkleTree::new();
        for i in 0..40u64 {
            let leaf = leaf(i, &actor);
            leaves.push(leaf.len(), |out| out.copy_from_slice(&leaf)).unwrap();
            full.push(leaf_hash(&leaf));
            let n = i + 1;
            assert_eq!(leaves.root(), full.root(), "n = {n}");
            assert_eq!(leaves.leaf(i), full.leaf(i));
            for m in 0..n {
                assert_eq!(leaves.inclusion_proof(m, n).unwrap(), full.inclusion_proof(m, n).unwrap());
                assert_eq!(leaves.consistency_proof(m, n).unwrap(), full.consistency_proof(m, n).unwrap());
            }
        }
        assert_eq!(leaves.leaf(40), None);
    }

    /// The log stays on the heap until the heap chunk cannot hold the next
    /// record, then maps a chunk of its own size: a small log holds no
    /// mapping, and the heap never grows past [`CHUNK_BYTES`].
    #[test]
    fn moves_from_the_heap_to_mappings_when_the_heap_chunk_is_full() {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::new();
        let mut written = 0;
        let mut i = 0;
        while mapped(&leaves) == 0 {
            let leaf = leaf(i, &actor);
            let heap = leaves.chunks[0].used().len();
            leaves.push(leaf.len(), |out| out.copy_from_slice(&leaf)).unwrap();
            if mapped(&leaves) == 0 {
                written += 1 + leaf.len();
                assert_eq!(leaves.chunks[0].used().len(), written);
            } else {
                assert!(heap + 1 + leaf.len() > CHUNK_BYTES, "mapped with {heap} bytes on the heap");
                assert_eq!(leaves.chunks[1].used().len(), 1 + leaf.len());
            }
            if i == 10 {
                assert_eq!(leaves.chunks.len(), 1, "ten records, no mapping");
            }
            i += 1;
        }
        let Chunk::Heap(heap) = &leaves.chunks[0] else { panic!("the first chunk is on the heap") };
        assert!(heap.capacity() <= CHUNK_BYTES);
        assert_eq!(leaves.get(i as usize - 1), Some(&leaf(i - 1, &actor)[..]));
        assert_eq!(leaves.get(i as usize - 2), Some(&leaf(i - 2, &actor)[..]));
    }

    /// A mapping the kernel refuses is an `Io` error, never a panic.
    #[test]
    fn a_mapping_that_fails_is_an_error() {
        let Err(e) = Chunk::mapped(usize::MAX) else { panic!("mapped every byte of the address space") };
        assert_eq!(e.kind(), crate::ErrorKind::Io);
    }
}
