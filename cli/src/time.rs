//! Times on the command line: Unix seconds in, RFC 3339 UTC out, and
//! validity windows given as a start plus a lifetime or an end.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::status::{CliError, CliResult, Status};

/// The system clock in seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The system clock in milliseconds, the unit of audit record times.
pub fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Parses a lifetime: a number of seconds, or a number with `s`, `m`, `h`
/// or `d`, because operators think of token lifetimes in hours and days.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not a duration such as 90, 90s, 15m, 12h or 30d")),
    };
    let count: u64 = digits.parse().map_err(|_| format!("{text:?} does not start with a number"))?;
    count.checked_mul(scale).ok_or_else(|| format!("{text:?} is too long"))
}

/// A validity window `[not_before, not_after)` as given on the command line.
#[derive(Args, Debug)]
pub struct WindowArgs {
    /// Valid from this time, in Unix seconds [default: now]
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub not_before: Option<u64>,
    /// Valid for this long from --not-before: seconds, or with s, m, h or d
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "not_after",
          required_unless_present = "not_after")]
    pub ttl: Option<u64>,
    /// Valid until just before this time, in Unix seconds
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub not_after: Option<u64>,
}

impl WindowArgs {
    /// The window, in seconds since the epoch.
    pub fn resolve(&self) -> CliResult<(u64, u64)> {
        let start = self.not_before.unwrap_or_else(now);
        let end = match (self.ttl, self.not_after) {
            (Some(ttl), _) => start.checked_add(ttl).ok_or_else(|| {
                CliError::new(Status::InvalidArgument, "--not-before plus --ttl is past the end of time")
            })?,
            (None, Some(end)) => end,
            (None, None) => {
                return Err(CliError::new(Status::Usage, "give the window's end with --ttl or --not-after"))
            }
        };
        Ok((start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("30d"), Ok(2_592_000));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
