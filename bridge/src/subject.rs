//! The NATS subject an export publishes on, kept from one message to the
//! next: a topic's messages usually come in runs, and a kept subject is
//! shared (a reference count) where a fresh one is a copy of the topic,
//! and a second allocation when the client clones it.

use async_nats::Subject;

/// The subject of the last message an export sent.
#[derive(Default)]
pub(crate) struct LastSubject(Option<Subject>);

impl LastSubject {
    /// The subject for `topic`: the kept one when it is the same.
    pub(crate) fn get(&mut self, topic: &str) -> Subject {
        match &self.0 {
            Some(subject) if subject.as_str() == topic => subject.clone(),
            _ => {
                let subject = Subject::from(topic);
                self.0 = Some(subject.clone());
                subject
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_topic_replaces_the_kept_subject() {
        let mut last = LastSubject::default();
        assert_eq!(last.get("a.b").as_str(), "a.b");
        assert_eq!(last.get("a.b").as_str(), "a.b");
        assert_eq!(last.get("a.c").as_str(), "a.c");
        assert_eq!(last.get("a.b").as_str(), "a.b");
    }
}
