//! The subscription index: one token trie for exact and wildcard patterns.
//!
//! Each node has literal children, a `*` child, the targets whose pattern
//! ends at the node, and the targets whose pattern continues with `>` from
//! it. Matching a topic of k tokens visits at most 2^k nodes in theory (a
//! literal and a `*` branch per level) but in practice a handful, however
//! many subscriptions exist. The bus caches match results per topic
//! ([`super::cache`]), so the trie is walked only on a cache miss.

use std::collections::HashMap;

use super::topic::{Tokens, MAX_TOPIC_TOKENS, RESERVED_TOKEN};

pub(crate) struct Index<T> {
    root: Node<T>,
}

struct Node<T> {
    literal: HashMap<Box<str>, Node<T>>,
    star: Option<Box<Node<T>>>,
    /// Targets whose pattern ends here.
    here: Vec<T>,
    /// Targets whose pattern continues with `>` from here.
    rest: Vec<T>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node { literal: HashMap::new(), star: None, here: Vec::new(), rest: Vec::new() }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.star.is_none() && self.here.is_empty() && self.rest.is_empty()
    }
}

impl<T: Clone> Index<T> {
    pub(crate) fn new() -> Index<T> {
        Index { root: Node::default() }
    }

    /// Adds `target` under the checked pattern `pattern`.
    pub(crate) fn insert(&mut self, pattern: &Tokens<'_>, target: T) {
        let mut node = &mut self.root;
        for token in pattern.iter() {
            match token {
                ">" => {
                    node.rest.push(target);
                    return;
                }
                "*" => node = node.star.get_or_insert_with(Box::default),
                _ => node = node.literal.entry(token.into()).or_default(),
            }
        }
        node.here.push(target);
    }

    /// Removes the first target under `pattern` for which `is_it` holds, and
    /// prunes nodes left empty. Returns whether one was removed.
    pub(crate) fn remove(&mut self, pattern: &Tokens<'_>, is_it: impl Fn(&T) -> bool) -> bool {
        remove_at(&mut self.root, pattern.split(&mut [""; MAX_TOPIC_TOKENS]), &is_it)
    }

    /// Appends to `out` every target whose pattern matches the checked
    /// topic `topic`.
    pub(crate) fn collect(&self, topic: &Tokens<'_>, out: &mut Vec<T>) {
        let mut buf = [""; MAX_TOPIC_TOKENS];
        let tokens = topic.split(&mut buf);
        if tokens.first() == Some(&RESERVED_TOKEN) {
            // Patterns that begin with a wildcard never match reserved topics.
            if let Some(next) = self.root.literal.get(RESERVED_TOKEN) {
                collect_at(next, &tokens[1..], out);
            }
            return;
        }
        collect_at(&self.root, tokens, out);
    }
}

fn collect_at<T: Clone>(node: &Node<T>, tokens: &[&str], out: &mut Vec<T>) {
    let Some((first, rest)) = tokens.split_first() else {
        out.extend(node.here.iter().cloned());
        return;
    };
    out.extend(node.rest.iter().cloned());
    if let Some(next) = node.literal.get(*first) {
        collect_at(next, rest, out);
    }
    if let Some(next) = &node.star {
        collect_at(next, rest, out);
    }
}

fn remove_at<T>(node: &mut Node<T>, tokens: &[&str], is_it: &impl Fn(&T) -> bool) -> bool {
    let take = |list: &mut Vec<T>| match list.iter().position(is_it) {
        Some(at) => {
            list.remove(at);
            true
        }
        None => false,
    };
    let Some((&first, rest)) = tokens.split_first() else {
        return take(&mut node.here);
    };
    match first {
        ">" => take(&mut node.rest),
        "*" => {
            let Some(next) = node.star.as_deref_mut() else {
                return false;
            };
            let removed = remove_at(next, rest, is_it);
            if next.is_empty() {
                node.star = None;
            }
            removed
        }
        _ => {
            let Some(next) = node.literal.get_mut(first) else {
                return false;
            };
            let removed = remove_at(next, rest, is_it);
            if next.is_empty() {
                node.literal.remove(first);
            }
            removed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::topic::{check, Kind, MAX_TOPIC_LEN};
    use super::*;

    fn pattern(s: &str) -> Tokens<'_> {
        check(s, Kind::Pattern, MAX_TOPIC_LEN, MAX_TOPIC_TOKENS).unwrap()
    }

    fn matching(index: &Index<u32>, topic: &str) -> Vec<u32> {
        let mut out = Vec::new();
        index.collect(&check(topic, Kind::Topic, MAX_TOPIC_LEN, MAX_TOPIC_TOKENS).unwrap(), &mut out);
        out.sort();
        out
    }

    #[test]
    fn collects_exact_star_and_rest() {
        let mut index = Index::new();
        for (id, p) in ["a.b", "a.*", "a.>", ">", "*.b", "a.b.c", "_charter.inbox.*"].iter().enumerate() {
            index.insert(&pattern(p), id as u32);
        }
        assert_eq!(matching(&index, "a.b"), [0, 1, 2, 3, 4]);
        assert_eq!(matching(&index, "a.b.c"), [2, 3, 5]);
        assert_eq!(matching(&index, "a"), [3]);
        assert_eq!(matching(&index, "_charter.inbox.9"), [6]);
    }

    #[test]
    fn remove_prunes_and_reports() {
        let mut index = Index::new();
        index.insert(&pattern("a.*.c"), 1u32);
        index.insert(&pattern("a.*.c"), 2);
        assert!(index.remove(&pattern("a.*.c"), |&t| t == 1));
        assert!(!index.remove(&pattern("a.*.c"), |&t| t == 1));
        assert!(!index.remove(&pattern("a.b.c"), |&t| t == 2));
        assert_eq!(matching(&index, "a.x.c"), [2]);
        assert!(index.remove(&pattern("a.*.c"), |&t| t == 2));
        assert!(index.root.is_empty(), "empty nodes are pruned");
    }
}
