//! Reading records back: a filter and the iterator it drives.

use std::ops::Range;

use crate::audit::audit_log::AuditLog;
use crate::audit::record::{Decision, Record};
use crate::capability::PrincipalId;
use crate::Result;

/// Which records [`AuditLog::records`] yields. The default selects all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Only records whose time (unix ms) is in this range.
    pub time: Option<Range<u64>>,
    /// Only records by this actor.
    pub actor: Option<PrincipalId>,
    /// Only records with this decision.
    pub decision: Option<Decision>,
    /// Only records at this index or later.
    pub from_index: u64,
}

impl Query {
    /// Every record.
    pub fn all() -> Query {
        Query::default()
    }

    /// Only records whose time (unix ms) is in `range`.
    pub fn time(mut self, range: Range<u64>) -> Query {
        self.time = Some(range);
        self
    }

    /// Only records by `actor`.
    pub fn actor(mut self, actor: PrincipalId) -> Query {
        self.actor = Some(actor);
        self
    }

    /// Only records with `decision`.
    pub fn decision(mut self, decision: Decision) -> Query {
        self.decision = Some(decision);
        self
    }

    /// Only records at `index` or later.
    pub fn from_index(mut self, index: u64) -> Query {
        self.from_index = index;
        self
    }

    /// Whether `record` is selected (its index aside).
    pub fn matches(&self, record: &Record) -> bool {
        self.time.as_ref().is_none_or(|t| t.contains(&record.time))
            && self.actor.is_none_or(|a| record.actor == Some(a))
            && self.decision.is_none_or(|d| record.decision == d)
    }
}

/// The records a [`Query`] selects, with their indexes, oldest first. Each
/// is read back and checked against the tree as [`AuditLog::get`] does; a
/// record that fails is yielded as the error, and the iteration ends there.
#[derive(Debug)]
pub struct Records {
    log: AuditLog,
    query: Query,
    next: u64,
    end: u64,
}

impl Records {
    pub(crate) fn new(log: AuditLog, query: Query, end: u64) -> Records {
        let next = query.from_index;
        Records { log, query, next, end }
    }
}

impl Iterator for Records {
    type Item = Result<(u64, Record)>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.end {
            let index = self.next;
            self.next += 1;
            match self.log.get(index) {
                Ok(record) if self.query.matches(&record) => return Some(Ok((index, record))),
                Ok(_) => {}
                Err(e) => {
                    self.next = self.end;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
