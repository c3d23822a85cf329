//! Exit statuses and the CLI's error type.
//!
//! Scripts branch on the exit code, so every failure class has its own code
//! and the whole mapping lives in [`TABLE`]; `docs/cli.md` documents it and a
//! test keeps the two in step.

use std::fmt;
use std::io;

use charter_core::{Error, ErrorKind};

/// A failure class, and success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Usage,
    Denied,
    Expired,
    NotYetValid,
    Revoked,
    BadSignature,
    Malformed,
    UntrustedRoot,
    Corrupt,
    Io,
    NotFound,
    InvalidArgument,
    LimitExceeded,
    WouldBlock,
    Other,
}

/// One row of the exit-code table.
pub struct Row {
    pub status: Status,
    pub code: u8,
    pub name: &'static str,
    /// What to try next, printed after the error unless the failing command
    /// knows better.
    pub hint: &'static str,
}

/// Every status with its exit code, name and default hint. Codes never
/// change meaning once released.
pub const TABLE: [Row; 16] = [
    Row { status: Status::Ok, code: 0, name: "OK", hint: "" },
    Row {
        status: Status::Usage,
        code: 2,
        name: "USAGE",
        hint: "see `charter help` or add --help to the command",
    },
    Row {
        status: Status::Denied,
        code: 3,
        name: "DENIED",
        hint: "the grants or window asked for exceed what is allowed",
    },
    Row {
        status: Status::Expired,
        code: 4,
        name: "EXPIRED",
        hint: "mint or delegate a new token, or check at another time with --at",
    },
    Row {
        status: Status::NotYetValid,
        code: 5,
        name: "NOT_YET_VALID",
        hint: "wait until the token's window opens, or check at another time with --at",
    },
    Row {
        status: Status::Revoked,
        code: 6,
        name: "REVOKED",
        hint: "the token contains a revoked link; ask its issuer for a new one",
    },
    Row {
        status: Status::BadSignature,
        code: 7,
        name: "BAD_SIGNATURE",
        hint: "the data was altered or checked with the wrong key",
    },
    Row {
        status: Status::Malformed,
        code: 8,
        name: "MALFORMED",
        hint: "check that the input was copied whole and is of the expected kind",
    },
    Row {
        status: Status::UntrustedRoot,
        code: 9,
        name: "UNTRUSTED_ROOT",
        hint: "pass the issuing root's public key with --root",
    },
    Row {
        status: Status::Corrupt,
        code: 10,
        name: "CORRUPT",
        hint: "the stored data fails its integrity check; keep the file for investigation",
    },
    Row { status: Status::Io, code: 11, name: "IO", hint: "check the path, permissions and free space" },
    Row { status: Status::NotFound, code: 12, name: "NOT_FOUND", hint: "check the path or index" },
    Row {
        status: Status::InvalidArgument,
        code: 13,
        name: "INVALID_ARGUMENT",
        hint: "check the command's arguments with --help",
    },
    Row {
        status: Status::LimitExceeded,
        code: 14,
        name: "LIMIT_EXCEEDED",
        hint: "shorten the input to within the documented limits",
    },
    Row {
        status: Status::WouldBlock,
        code: 15,
        name: "WOULD_BLOCK",
        hint: "another process holds the file for writing; try again when it is done",
    },
    Row { status: Status::Other, code: 20, name: "OTHER", hint: "this is unexpected; please report it" },
];

impl Status {
    fn row(self) -> &'static Row {
        TABLE.iter().find(|row| row.status == self).unwrap_or(&TABLE[TABLE.len() - 1])
    }

    pub fn code(self) -> u8 {
        self.row().code
    }

    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The CLI's status for a core error kind. Kinds that only arise from
    /// misuse of the library's handles cannot come from the CLI and fall
    /// under `Other`.
    pub fn of(kind: ErrorKind) -> Status {
        match kind {
            ErrorKind::Denied => Status::Denied,
            ErrorKind::Expired => Status::Expired,
            ErrorKind::NotYetValid => Status::NotYetValid,
            ErrorKind::Revoked => Status::Revoked,
            ErrorKind::BadSignature => Status::BadSignature,
            ErrorKind::Malformed | ErrorKind::InvalidUtf8 => Status::Malformed,
            ErrorKind::UntrustedRoot => Status::UntrustedRoot,
            ErrorKind::Corrupt => Status::Corrupt,
            ErrorKind::Io => Status::Io,
            ErrorKind::NotFound => Status::NotFound,
            ErrorKind::InvalidArgument | ErrorKind::NullArgument => Status::InvalidArgument,
            ErrorKind::LimitExceeded => Status::LimitExceeded,
            ErrorKind::WouldBlock => Status::WouldBlock,
            _ => Status::Other,
        }
    }
}

/// A failure to report: its status, what happened, and what to try.
#[derive(Debug)]
pub struct CliError {
    pub status: Status,
    pub message: String,
    pub hint: String,
}

impl CliError {
    pub fn new(status: Status, message: impl Into<String>) -> CliError {
        CliError { status, message: message.into(), hint: status.row().hint.to_string() }
    }

    /// Replaces the default hint with one specific to the situation.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = hint.into();
        self
    }

    /// An I/O failure on `path`, sorted into `NOT_FOUND` or `IO`.
    pub fn io(what: &str, path: &std::path::Path, e: &io::Error) -> CliError {
        let status = if e.kind() == io::ErrorKind::NotFound { Status::NotFound } else { Status::Io };
        CliError::new(status, format!("{what} {}: {e}", path.display()))
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> CliError {
        CliError::new(Status::of(e.kind()), e.message())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}: {}", self.status.name(), self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\nhint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// `Result` with the CLI's error.
pub type CliResult<T> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_1_is_unused() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.status.code(), row.code);
            assert!(TABLE[i + 1..].iter().all(|other| other.code != row.code && other.name != row.name));
            assert!(TABLE[i + 1..].iter().all(|other| other.status != row.status));
        }
        assert!(TABLE.iter().all(|row| row.code != 1));
    }

    #[test]
    fn docs_table_matches_the_code() {
        let docs = include_str!("../../docs/cli.md");
        let documented: Vec<(u8, &str)> = docs
            .lines()
            .filter_map(|line| {
                let mut cells = line.split('|').map(str::trim).skip(1);
                Some((cells.next()?.parse().ok()?, cells.next()?))
            })
            .collect();
        let coded: Vec<(u8, &str)> = TABLE.iter().map(|row| (row.code, row.name)).collect();
        assert_eq!(documented, coded, "docs/cli.md's exit-code table and status::TABLE differ");
    }

    #[test]
    fn every_core_kind_has_a_status() {
        for kind in ErrorKind::ALL {
            let status = Status::of(kind);
            assert_ne!(status, Status::Ok, "{kind}");
            assert_ne!(status, Status::Usage, "{kind}");
        }
        assert_eq!(Status::of(ErrorKind::Corrupt).code(), 10);
    }
}
