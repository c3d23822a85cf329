//! The in-memory log's records and Merkle tree.
//!
//! The records lie one after another in a few large chunks, and no heap
//! block per record: an append allocates nothing but, rarely, a new chunk
//! (once per 4 MiB in a large log), and a record costs its bytes and little
//! else. Each leaf follows
//! the byte it is hashed after, so its hash reads it in place in one digest
//! update.
//!
//! Every byte kept per record is a byte of fresh memory the kernel must
//! supply, so the first chunk grows on the heap (a small log holds what it
//! uses) and the later ones are mappings, growing in size, that the kernel
//! fills in one call when they are made, rather than a page fault at the
//! first write to each 4 KiB page. And the log keeps little beside the records:
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

/// The most record bytes the heap chunk holds: a log of a few hundred
/// records maps nothing.
const HEAP_BYTES: usize = 64 << 10;

/// The largest mapping. Each mapping is twice the size of the chunk
/// before it up to this: large enough that mapping one is rare (once per
/// 20,000 records of 200 bytes), small enough that populating it (about a
/// millisecond) stays a short pause of one append, and a log holds at most
/// this much more than it uses.
const CHUNK_BYTES: usize = 4 << 20;

// A record always fits a chunk, so each record lies whole in one.
const _: () = assert!(HEAP_BYTES > MAX_RECORD_BYTES && CHUNK_BYTES >= HEAP_BYTES);

/// Where a record's prefix byte is.
#[derive(Clone, Copy)]
struct At {
    chunk: usize,
    offset: usize,
}

/// A piece of the records' storage: the first `len` bytes of its memory.
/// Each record lies whole in one chunk, so a record is always one slice.
struct Chunk {
    memory: Memory,
    len: usize,
    /// The most bytes it holds.
    size: usize,
}

/// A chunk's memory, zeroed: the records are written over it in place.
enum Memory {
    /// The first chunk's: grown on the heap as records come, by doubling
    /// up to the size of a chunk, so a small log holds a few times what it
    /// uses and no more. It is zeroed as it grows, once per doubling, not
    /// once per record.
    Heap(Vec<u8>),
    /// Every later chunk's: a mapping populated when it is made. The
    /// kernel then fills the chunk's pages in one call instead of taking a
    /// page fault on the first write to each page (one per 20 records of
    /// 200 bytes when the log grew on the heap: 14% to 22% of an append's
    /// CPU time on a loaded machine, far less on an idle one; see
    /// docs/BENCHMARKS.md, audit round 9).
    Mapped(MmapMut),
}

impl Chunk {
    /// The first chunk, empty, to hold `size` bytes.
    fn heap(size: usize) -> Chunk {
        Chunk { memory: Memory::Heap(Vec::new()), len: 0, size }
    }

    /// A new mapped chunk of `size` bytes, every page in place.
    fn mapped(size: usize) -> Result<Chunk> {
        let map = MmapOptions::new()
            .len(size)
            .populate()
            .map_anon()
            .map_err(|e| io("mapping memory for the records", &e))?;
        Ok(Chunk { memory: Memory::Mapped(map), len: 0, size })
    }

    /// The bytes written.
    fn used(&self) -> &[u8] {
        match &self.memory {
            Memory::Heap(bytes) => &bytes[..self.len],
            Memory::Mapped(map) => &map[..self.len],
        }
    }

    /// Whether `n` more bytes fit.
    fn fits(&self, n: usize) -> bool {
        self.len + n <= self.size
    }

    /// The next `n` bytes, now used: the caller checked that they fit.
    fn grow(&mut self, n: usize) -> &mut [u8] {
        let start = self.len;
        self.len += n;
        let memory = match &mut self.memory {
            Memory::Heap(bytes) => {
                if self.len > bytes.len() {
                    let grown = (2 * bytes.len()).max(self.len).min(self.size);
                    bytes.reserve_exact(grown - bytes.len());
                    bytes.resize(grown, 0);
                }
                &mut bytes[..]
            }
            Memory::Mapped(map) => &mut map[..],
        };
        &mut memory[start..self.len]
    }
}

pub(crate) struct Leaves {
    /// Each record after its prefix byte, oldest first, chunk after chunk.
    chunks: Vec<Chunk>,
    /// The largest mapping: [`CHUNK_BYTES`] but in tests.
    chunk_bytes: usize,
    /// `starts[g]` is where record `g * GROUP`'s prefix byte is.
    starts: Vec<At>,
    tree: Tree<LOW>,
}

impl Leaves {
    pub(crate) fn new() -> Leaves {
        Leaves::with_chunks(HEAP_BYTES, CHUNK_BYTES)
    }

    /// A log whose heap chunk holds `heap_bytes` and whose largest mapping
    /// is `chunk_bytes`, no smaller: each must hold the longest record
    /// pushed and its prefix byte (tests push short ones into short chunks,
    /// to cross many chunks with few records).
    fn with_chunks(heap_bytes: usize, chunk_bytes: usize) -> Leaves {
        Leaves { chunks: vec![Chunk::heap(heap_bytes)], chunk_bytes, starts: Vec::new(), tree: Tree::empty() }
    }

    /// Appends, as one record, the `len` bytes of encoding `write` writes,
    /// and adds its hash to the tree. It must be one record's encoding:
    /// the chunks are walked by the lengths it gives ([`encoded_len`]).
    /// Fails, having kept nothing, when the record does not fit the last
    /// chunk and no new one can be mapped.
    pub(crate) fn push(&mut self, len: usize, write: impl FnOnce(&mut [u8])) -> Result<()> {
        let n = len + 1;
        let last = &self.chunks[self.chunks.len() - 1];
        if !last.fits(n) {
            let size = (2 * last.size).min(self.chunk_bytes);
            self.chunks.push(Chunk::mapped(size)?);
        }
        let chunk = self.chunks.len() - 1;
        if self.tree.len().is_multiple_of(GROUP as u64) {
            self.starts.push(At { chunk, offset: self.chunks[chunk].used().len() });
        }
        let bytes = self.chunks[chunk].grow(n);
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
            at = self.after(at, self.record(at).len());
        }
        self.record(at)
    }

    /// The record whose prefix byte is `at`, with that byte.
    fn record(&self, at: At) -> &[u8] {
        let used = self.chunks[at.chunk].used();
        let leaf = used.get(at.offset + 1..).unwrap_or_default();
        &used[at.offset..at.offset + 1 + encoded_len(leaf)]
    }

    /// Where the record after the one at `at`, `len` bytes with its prefix
    /// byte, is: after it in its chunk, or at the start of the next chunk
    /// if it was the last that fitted.
    fn after(&self, at: At, len: usize) -> At {
        let offset = at.offset + len;
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
            let record = self.record(at);
            at = self.after(at, record.len());
            &record[1..]
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

    /// The heap chunk's and the largest mapping's sizes every test runs
    /// with: the log's own, and ones that hold two to ten of [`leaf`]'s
    /// records, so groups and proofs cross chunks (tests that pass with
    /// the first but not the second misplace the records after a chunk's
    /// end).
    const CHUNKS: [(usize, usize); 2] = [(HEAP_BYTES, CHUNK_BYTES), (1000, 3000)];

    /// How many chunks are mapped.
    fn mapped(leaves: &Leaves) -> usize {
        leaves.chunks.iter().filter(|c| matches!(c.memory, Memory::Mapped(_))).count()
    }

    #[test]
    fn keeps_each_leaf_apart() {
        for (heap, chunk) in CHUNKS {
            keeps_each_leaf_apart_in(heap, chunk);
        }
    }

    fn keeps_each_leaf_apart_in(heap: usize, chunk: usize) {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::with_chunks(heap, chunk);
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
        assert_eq!(mapped(&leaves) > 0, heap < HEAP_BYTES, "heap chunk {heap}");
    }

    #[test]
    fn the_tree_over_the_leaves_is_their_full_merkle_tree() {
        for (heap, chunk) in CHUNKS {
            the_tree_is_the_full_merkle_tree_in(heap, chunk);
        }
    }

    fn the_tree_is_the_full_merkle_tree_in(heap: usize, chunk: usize) {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::with_chunks(heap, chunk);
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
    /// record, then maps chunks twice the size of the one before, up to
    /// the largest: a small log holds no mapping, the heap never grows past
    /// [`HEAP_BYTES`], and each chunk takes records until the next does not
    /// fit.
    #[test]
    fn moves_from_the_heap_to_mappings_of_growing_size() {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::new();
        let mut all = Vec::new();
        while leaves.chunks.len() < 9 {
            let leaf = leaf(all.len() as u64, &actor);
            let (chunks, last) = (leaves.chunks.len(), leaves.chunks[leaves.chunks.len() - 1].len);
            leaves.push(leaf.len(), |out| out.copy_from_slice(&leaf)).unwrap();
            if leaves.chunks.len() > chunks {
                let size = leaves.chunks[chunks - 1].size;
                assert!(last + 1 + leaf.len() > size, "a new chunk after {last} bytes of {size}");
                assert_eq!(leaves.chunks[chunks].used().len(), 1 + leaf.len());
            }
            if all.len() == 10 {
                assert_eq!(leaves.chunks.len(), 1, "ten records, no mapping");
            }
            all.push(leaf);
        }
        let sizes: Vec<usize> = leaves.chunks.iter().map(|c| c.size).collect();
        assert_eq!(sizes, [64, 128, 256, 512, 1024, 2048, 4096, 4096, 4096].map(|k| k << 10));
        assert_eq!(mapped(&leaves), 8);
        let Memory::Heap(heap) = &leaves.chunks[0].memory else { panic!("the first chunk is on the heap") };
        assert!(heap.capacity() <= HEAP_BYTES);
        assert!(leaves.iter().eq(all.iter().map(Vec::as_slice)));
    }

    /// A mapping the kernel refuses is an `Io` error, never a panic.
    #[test]
    fn a_mapping_that_fails_is_an_error() {
        let Err(e) = Chunk::mapped(usize::MAX) else { panic!("mapped every byte of the address space") };
        assert_eq!(e.kind(), crate::ErrorKind::Io);
    }
}
