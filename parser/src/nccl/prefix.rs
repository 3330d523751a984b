//! The text before the NCCL marker: a launcher/shipper prefix, then NCCL's own header.
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::Level;

/// NCCL's header: `[TS]host:pid:tid [cudaDev] ` then, for WARN/TRACE/ABORT, the source site.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Header<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<u32>,
    /// The logging thread's current device (not the rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuda_dev: Option<i32>,
    /// WARN/TRACE source file (relative to NCCL's `src/`), or aws-ofi-nccl's function signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_line: Option<u32>,
    /// 2.30.7+ `(func)` after file:line; TRACE's function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub func: Option<&'a str>,
}

/// What a launcher or log shipper prepended, and the identity it carries.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Launcher<'a> {
    /// The raw prefix text (trimmed), kept for display.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub prefix: &'a str,
    /// Global rank from `[1,N]<stdout>:` (Open MPI), `N: ` (srun --label), `[rankN]:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// Local rank from torchrun's `[defaultN]:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_rank: Option<u32>,
    /// Host from `host: ` (pdsh).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    /// Pid from Ray's `(pid=N)` / `(Worker pid=N, ip=…)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// A timestamp found in the prefix: NCCL 2.26+ `[%F %T]`, ISO 8601, CloudWatch `| ts |`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<&'a str>,
}

// host:pid:tid [dev] — the host never holds spaces, ':' or brackets.
static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([^\s:\[\]()<>|]+):(\d+):(\d+)(?: \[(-?\d+)\])? ").expect("static regex"));
// 2.30.7 WARN has no host part: `[dev] file:line (func) `.
static DEV_ONLY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)\[(-?\d+)\] ").expect("static regex"));
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
        .expect("static regex")
});
static LAUNCHER_RANK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[1,(\d+)\]<std(?:out|err)>:|\[rank(\d+)\]:|\[default(\d+)\]:|^(\d+):(?:\s|$)|\bpid=(\d+)")
        .expect("static regex")
});

/// Splits the text before the marker into the launcher part and NCCL's header.
pub(crate) fn split_prefix(pre: &str, level: Level) -> (Launcher<'_>, Header<'_>) {
    let mut header = Header::default();
    let (launcher_text, site) = if let Some(c) = HEADER.captures(pre) {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        header.host = c.get(1).map(|m| m.as_str());
        header.pid = c.get(2).and_then(|m| m.as_str().parse().ok());
        header.tid = c.get(3).and_then(|m| m.as_str().parse().ok());
        header.cuda_dev = c.get(4).and_then(|m| m.as_str().parse().ok());
        (&pre[..whole.start], &pre[whole.end..])
    } else if let Some(c) = DEV_ONLY.captures(pre) {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        header.cuda_dev = c.get(1).and_then(|m| m.as_str().parse().ok());
        (&pre[..whole.start], &pre[whole.end..])
    } else {
        (pre, "")
    };
    if matches!(level, Level::Warn | Level::Trace | Level::Abort) {
        parse_site(site.trim(), level, &mut header);
    }
    (parse_launcher(launcher_text), header)
}

/// WARN: `file:line` or `file:line (func)`, where aws-ofi-nccl puts a C++ signature in the file
/// slot (spaces, parentheses, `::`): take everything up to the last `:<digits>`.
/// TRACE: `<ms> func:line`.
fn parse_site<'a>(site: &'a str, level: Level, header: &mut Header<'a>) {
    if site.is_empty() {
        return;
    }
    let mut body = site;
    // 2.30.7: ` (func)` after the line number.
    if body.ends_with(')') {
        if let Some(open) = body.rfind(" (") {
            let before = &body[..open];
            if before
                .rsplit(':')
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            {
                header.func = Some(&body[open + 2..body.len() - 1]);
                body = before;
            }
        }
    }
    if level == Level::Trace {
        // `<ms> func:line`: the elapsed milliseconds come first.
        if let Some((ms, rest)) = body.split_once(' ') {
            if ms.parse::<f64>().is_ok() {
                body = rest;
            }
        }
    }
    if let Some((file, line)) = body.rsplit_once(':') {
        if let Ok(n) = line.parse::<u32>() {
            if level == Level::Trace {
                header.func = Some(file);
            } else {
                header.file = Some(file);
            }
            header.src_line = Some(n);
            return;
        }
    }
    header.file = Some(body);
}

/// Reads the identity a launcher prefix carries; keeps the raw text.
pub(crate) fn parse_launcher(text: &str) -> Launcher<'_> {
    let prefix = text.trim();
    let mut l = Launcher { prefix, ..Launcher::default() };
    if prefix.is_empty() {
        return l;
    }
    for c in LAUNCHER_RANK.captures_iter(prefix) {
        if let Some(m) = c.get(1).or(c.get(2)).or(c.get(4)) {
            l.rank = l.rank.or(m.as_str().parse().ok());
        }
        if let Some(m) = c.get(3) {
            l.local_rank = l.local_rank.or(m.as_str().parse().ok());
        }
        if let Some(m) = c.get(5) {
            l.pid = l.pid.or(m.as_str().parse().ok());
        }
    }
    l.timestamp = TIMESTAMP.find(prefix).map(|m| m.as_str());
    // pdsh: `host: ` — a single word ending in ':' that is not a rank number or a tag.
    if l.rank.is_none() {
        let last = prefix.rsplit(|c: char| c.is_whitespace()).next().unwrap_or("");
        if let Some(host) = last.strip_suffix(':') {
            let looks_like_host = !host.is_empty()
                && !host.bytes().all(|b| b.is_ascii_digit())
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if looks_like_host && l.timestamp.is_none_or(|t| !t.contains(host)) {
                l.host = Some(host);
            }
        }
    }
    l
}
