//! Grants: an action plus the topic pattern it is allowed on.

use std::fmt;

use crate::bus::topic;
use crate::{quote, Error, ErrorKind, Result};

/// What a grant allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Publishing on matching topics.
    Publish,
    /// Subscribing with patterns contained in the grant's pattern.
    Subscribe,
    /// Sending requests on matching topics (and receiving their replies).
    Request,
}

impl Action {
    /// Every action, in code order.
    pub const ALL: [Action; 3] = [Action::Publish, Action::Subscribe, Action::Request];

    /// The action's name: `publish`, `subscribe` or `request`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
            Action::Request => "request",
        }
    }

    /// The action called `name`.
    pub fn from_name(name: &str) -> Result<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown action {}: expected publish, subscribe or request", quote(name)),
            )
        })
    }

    /// The action's byte in the token encoding.
    pub(crate) fn code(self) -> u8 {
        match self {
            Action::Publish => 1,
            Action::Subscribe => 2,
            Action::Request => 3,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An action allowed on the topics a pattern matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    action: Action,
    pattern: Box<str>,
}

impl Grant {
    /// A grant of `action` on `pattern`, a valid pattern outside the
    /// reserved `_charter.` space.
    pub fn new(action: Action, pattern: &str) -> Result<Grant> {
        topic::validate_pattern(pattern)?;
        if topic::is_reserved(pattern) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{} is reserved: grants cannot cover the library's own topics", quote(pattern)),
            ));
        }
        Ok(Grant { action, pattern: pattern.into() })
    }

    /// Parses `action pattern`, such as `publish orders.*.created`.
    pub fn parse(text: &str) -> Result<Grant> {
        let mut words = text.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(action), Some(pattern), None) => Grant::new(Action::from_name(action)?, pattern),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("a grant is \"ACTION PATTERN\", such as \"publish orders.>\"; got {}", quote(text)),
            )),
        }
    }

    /// The action.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether this grant allows `action` on `topic` (for `Subscribe`,
    /// `topic` is the pattern subscribed to, which must be contained).
    pub fn allows(&self, action: Action, topic: &str) -> bool {
        self.action == action
            && match action {
                Action::Subscribe => topic::contains(topic, &self.pattern),
                Action::Publish | Action::Request => topic::matches(&self.pattern, topic),
            }
    }

    /// Whether everything this grant allows, `other` allows too.
    pub fn within(&self, other: &Grant) -> bool {
        self.action == other.action && topic::contains(&self.pattern, &other.pattern)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.action, self.pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_and_within() {
        let g = Grant::parse("publish orders.*.created").unwrap();
        assert!(g.allows(Action::Publish, "orders.eu.created"));
        assert!(!g.allows(Action::Subscribe, "orders.eu.created"));
        assert!(!g.allows(Action::Publish, "orders.eu.deleted"));
        let s = Grant::parse("subscribe payments.>").unwrap();
        assert!(s.allows(Action::Subscribe, "payments.*.settled"));
        assert!(!s.allows(Action::Subscribe, ">"));
        assert!(Grant::parse("publish orders.eu.created").unwrap().within(&g));
        assert!(!g.within(&Grant::parse("publish orders.eu.created").unwrap()));
        assert_eq!(g.to_string(), "publish orders.*.created");
    }

    #[test]
    fn bad_grants() {
        assert!(Grant::parse("delete x").unwrap_err().message().contains("unknown action"));
        assert!(Grant::parse("publish").unwrap_err().message().contains("ACTION PATTERN"));
        assert!(Grant::parse("publish _charter.>").unwrap_err().message().contains("reserved"));
        assert_eq!(Grant::parse("publish a..b").unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}
