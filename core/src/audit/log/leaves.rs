//! The in-memory log's records: every leaf in one growing buffer.
//!
//! One buffer and one table of ends instead of a boxed slice per record: an
//! append allocates nothing once the buffers have grown, and a record costs
//! its bytes plus one `usize`, not a heap block and a fat pointer.

pub(crate) struct Leaves {
    bytes: Vec<u8>,
    /// `ends[i]` is where leaf `i` ends in `bytes`; it starts where `i - 1` ends.
    ends: Vec<usize>,
}

impl Leaves {
    pub(crate) fn new() -> Leaves {
        Leaves { bytes: Vec::new(), ends: Vec::new() }
    }

    /// Appends, as one leaf, whatever `write` adds to the buffer, and returns it.
    pub(crate) fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> &[u8] {
        let start = self.bytes.len();
        write(&mut self.bytes);
        self.ends.push(self.bytes.len());
        &self.bytes[start..]
    }

    /// Leaf `index`, if there is one.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        Some(&self.bytes[start..end])
    }

    /// Every leaf, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.ends.len()).filter_map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_each_leaf_apart() {
        let mut leaves = Leaves::new();
        assert!(leaves.get(0).is_none());
        assert_eq!(leaves.push(|out| out.extend_from_slice(b"abc")), b"abc");
        assert_eq!(leaves.push(|_| {}), b"");
        assert_eq!(leaves.push(|out| out.push(9)), [9]);
        assert_eq!(leaves.get(0), Some(&b"abc"[..]));
        assert_eq!(leaves.get(1), Some(&b""[..]));
        assert_eq!(leaves.get(2), Some(&[9u8][..]));
        assert!(leaves.get(3).is_none());
        assert_eq!(leaves.iter().collect::<Vec<_>>(), [&b"abc"[..], b"", &[9]]);
    }
}
