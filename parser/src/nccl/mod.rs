//! NCCL_DEBUG lines: the prefix (launcher + NCCL header) and the typed event of the message.
//!
//! Anchored on the NCCL marker (`NCCL INFO|WARN|TRACE|CALL|ABORT`) anywhere in the line, as
//! launchers and log shippers prepend their own prefixes (spec: nccl-log-format.md §1).
mod event;
mod prefix;

pub use event::*;
pub use prefix::{Header, Launcher};

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::Serialize;

/// Severity level NCCL printed (or `Banner` for the bare `NCCL version …` stdout line of
/// NCCL ≤ 2.21, `Plugin` for aws-ofi-nccl lines printed without NCCL's marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Info,
    Warn,
    Trace,
    Call,
    Abort,
    Banner,
    Plugin,
}

/// One line carrying an NCCL message.
#[derive(Debug, Clone, Serialize)]
pub struct NcclLine<'a> {
    pub level: Level,
    /// What the launcher / shipper put before NCCL's own header, with what it tells.
    pub launcher: Launcher<'a>,
    /// NCCL's own header: host, pid, tid, cudaDev, source site.
    pub header: Header<'a>,
    /// The message after the marker.
    pub message: &'a str,
    pub event: Event<'a>,
}

const LEVELS: [(&str, Level); 5] = [
    ("INFO", Level::Info),
    ("WARN", Level::Warn),
    ("TRACE", Level::Trace),
    ("CALL", Level::Call),
    ("ABORT", Level::Abort),
];

// Prebuilt substring finders: these run on every line of every input.
static NCCL_WORD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("NCCL "));
static NET_OFI: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("NET/OFI "));
static SPACE_INFO: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" INFO "));
static SPACE_WARN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" WARN "));

/// Finds the first `NCCL <LEVEL>` marker: returns (marker start, level, message start).
fn find_marker(line: &str) -> Option<(usize, Level, usize)> {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(i) = NCCL_WORD.find(&bytes[from..]) {
        let at = from + i;
        let rest = &line[at + 5..];
        for (word, level) in LEVELS {
            if let Some(after) = rest.strip_prefix(word) {
                // The marker is a word of its own: followed by a space or the end of the line.
                if after.is_empty() || after.starts_with(' ') {
                    let msg = (at + 5 + word.len() + 1).min(line.len());
                    // The marker starts a word too (not `xNCCL INFO`).
                    if at == 0 || matches!(bytes[at - 1], b' ' | b'\t' | b']' | b':' | b'>') {
                        return Some((at, level, msg));
                    }
                }
            }
        }
        from = at + 5;
    }
    None
}

// host:pid:tid [dev] [file:line ]INFO|WARN — the pre-2.3 header, checked only on lines that
// carry no NCCL marker and hold ` INFO ` or ` WARN `.
static LEGACY: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"[^\s:\[\]()<>|]+:\d+:\d+ \[-?\d+\] (?:\S+:\d+ )?(INFO|WARN) ").expect("static regex")
});

fn find_legacy_marker(line: &str) -> Option<(usize, Level, usize)> {
    let b = line.as_bytes();
    if SPACE_INFO.find(b).is_none() && SPACE_WARN.find(b).is_none() {
        return None;
    }
    let c = LEGACY.captures(line)?;
    let m = c.get(1)?;
    let level = if m.as_str() == "WARN" { Level::Warn } else { Level::Info };
    Some((m.start(), level, m.end() + 1))
}

/// A plain COLL trace line (`host:pid:tid [dev] NCCL INFO AllReduce: opCount …`, no launcher
/// prefix), recognised without the general parse: (header, op). For such a line [`parse_line`]
/// gives an `Info` line with this header, an empty launcher and `Event::Coll { op }` — the
/// pipeline's workers rely on that (tested in `pipeline`).
pub(crate) fn quick_coll(line: &str) -> Option<(Header<'_>, &str)> {
    let mut header = Header::default();
    let end = prefix::header_at_start(line, &mut header)?;
    let msg = line[end..].strip_prefix("NCCL INFO ")?;
    let op = event::coll_op(msg)?;
    Some((header, op))
}

/// The first half of [`quick_coll`] without reading the header's numbers: where a COLL trace
/// line's header would end — after the first space, or after the `[dev] ` that follows it.
/// When [`quick_coll`] takes a line, its header ends there and [`coll_after_header`] gives its
/// op; and lines with the same header bytes have the same header, which lets a caller parse a
/// header once per process rather than once per line.
pub(crate) fn coll_header_end(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let space = memchr::memchr(b' ', b)?;
    let mut end = space + 1;
    if b.get(end) == Some(&b'[') {
        // `[-1] ` at most a sign and ten digits inside.
        let close = b[end..].iter().take(13).position(|&c| c == b']')?;
        end += close + 1;
        if b.get(end) != Some(&b' ') {
            return None;
        }
        end += 1;
    }
    Some(end)
}

/// The op of a COLL trace line whose header ends at `end`: `NCCL INFO <Op>: opCount` there.
pub(crate) fn coll_after_header(line: &str, end: usize) -> Option<&str> {
    event::coll_op(line.get(end..)?.strip_prefix("NCCL INFO ")?)
}

/// The `host:pid:tid [dev] ` header at the start of `line` and where it ends.
pub(crate) fn header_at_start(line: &str) -> Option<(Header<'_>, usize)> {
    let mut header = Header::default();
    let end = prefix::header_at_start(line, &mut header)?;
    Some((header, end))
}

/// Parses one (sanitized) line. Returns `None` when the line carries no NCCL message.
pub fn parse_line(line: &str) -> Option<NcclLine<'_>> {
    // Cheap prefilter: every shape we parse contains `NCCL ` or `NET/OFI `.
    let has_nccl = NCCL_WORD.find(line.as_bytes()).is_some();
    if has_nccl {
        if let Some((at, level, msg_start)) = find_marker(line) {
            let (launcher, header) = prefix::split_prefix(&line[..at], level);
            let message = line[msg_start..].trim_end();
            let event = event::classify(message, level);
            return Some(NcclLine { level, launcher, header, message, event });
        }
        // NCCL ≤ 2.21 prints its banner as a bare stdout line on rank 0.
        if let Some(i) = line.find("NCCL version ") {
            let message = line[i..].trim_end();
            if message.get(13..).is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())) {
                let event = event::classify(message, Level::Banner);
                let launcher = prefix::parse_launcher(&line[..i]);
                return Some(NcclLine {
                    level: Level::Banner,
                    launcher,
                    header: Header::default(),
                    message,
                    event,
                });
            }
        }
    }
    // NCCL ≤ 2.2 printed `host:pid:tid [dev] INFO …` / `[dev] file:line WARN …` without the
    // word NCCL.
    if let Some((at, level, msg_start)) = find_legacy_marker(line) {
        let (launcher, header) = prefix::split_prefix(&line[..at], level);
        let message = line[msg_start..].trim_end();
        let event = event::classify(message, level);
        return Some(NcclLine { level, launcher, header, message, event });
    }
    // aws-ofi-nccl's own test programs print `WARN: Function: f Line: N: NET/OFI …` without
    // NCCL's marker (aws-ofi-nccl ≤ 1.x tests/); the message is the same as in a job.
    if let Some(i) = NET_OFI.find(line.as_bytes()) {
        let message = line[i..].trim_end();
        let event = event::classify(message, Level::Plugin);
        let launcher = prefix::parse_launcher(&line[..i]);
        return Some(NcclLine {
            level: if line[..i].contains("WARN") { Level::Warn } else { Level::Plugin },
            launcher,
            header: Header::default(),
            message,
            event,
        });
    }
    None
}

#[cfg(test)]
mod tests;
