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
    let (launcher_text, site) = if let Some(end) = header_at_start(pre, &mut header) {
        ("", &pre[end..])
    } else if let Some((tag_end, end)) = header_after_launcher_tag(pre, &mut header) {
        (&pre[..tag_end], &pre[end..])
    } else if let Some(c) = HEADER.captures(pre) {
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

/// Bytes a host name in NCCL's header may hold: ASCII graphic characters but `:[]()<>|`
/// (the regex's `[^\s:\[\]()<>|]`, restricted to ASCII). A table: this runs on every line.
static HOST_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x21;
    while c < 0x7f {
        t[c] = !matches!(c as u8, b':' | b'[' | b']' | b'(' | b')' | b'<' | b'>' | b'|');
        c += 1;
    }
    t
};

/// [`HEADER`] matched by hand at the start of `pre` (the line has no launcher prefix: the
/// common case, and the hot path of a big log). Fills `header` and returns the match's end, or
/// returns `None` and leaves `header` untouched so the regex decides.
pub(crate) fn header_at_start<'a>(pre: &'a str, header: &mut Header<'a>) -> Option<usize> {
    let b = pre.as_bytes();
    // Any non-ASCII byte hands over to the regex (Unicode whitespace and digits).
    let host_end = b.iter().position(|&c| !HOST_BYTE[usize::from(c)])?;
    if host_end == 0 || b[host_end] != b':' {
        return None;
    }
    let (pid_end, pid) = ascii_number(b, host_end + 1);
    if pid_end == host_end + 1 || b.get(pid_end) != Some(&b':') {
        return None;
    }
    let (tid_end, tid) = ascii_number(b, pid_end + 1);
    if tid_end == pid_end + 1 || b.get(tid_end) != Some(&b' ') {
        return None;
    }
    // ` [dev] ` is optional; when it is not followed by a space the regex would match without it.
    let mut end = tid_end + 1;
    let mut cuda_dev = None;
    if b.get(tid_end + 1) == Some(&b'[') {
        let start = tid_end + 2;
        let negative = b.get(start) == Some(&b'-');
        let (dev_end, dev) = ascii_number(b, start + usize::from(negative));
        if dev_end > start + usize::from(negative)
            && b.get(dev_end) == Some(&b']')
            && b.get(dev_end + 1) == Some(&b' ')
        {
            // As `str::parse::<i32>`: -2147483648 fits, 2147483648 does not.
            cuda_dev = dev.and_then(|d| {
                let d = i64::from(d);
                i32::try_from(if negative { -d } else { d }).ok()
            });
            end = dev_end + 2;
        } else if b.get(dev_end).is_some_and(|c| !c.is_ascii()) {
            return None;
        }
    }
    *header = Header { host: Some(&pre[..host_end]), pid, tid, cuda_dev, ..Header::default() };
    Some(end)
}

/// The ASCII digits of `b` from `from`: where they end, and their value as `str::parse::<u32>`
/// would give it (`None` on overflow). One pass: this runs on every line.
fn ascii_number(b: &[u8], from: usize) -> (usize, Option<u32>) {
    let mut value = Some(0u32);
    let mut end = from;
    while let Some(&c) = b.get(end) {
        if !c.is_ascii_digit() {
            break;
        }
        value = value.and_then(|v| v.checked_mul(10)).and_then(|v| v.checked_add(u32::from(c - b'0')));
        end += 1;
    }
    (end, if end > from { value } else { None })
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

/// NCCL's header right after an Open MPI `[1,N]<stdout>:` or srun `N:` tag (and spaces), read
/// by hand: (tag end, header end). No header match can start inside such a tag, so this is
/// where the regex would find it too (tested against it).
fn header_after_launcher_tag<'a>(pre: &'a str, header: &mut Header<'a>) -> Option<(usize, usize)> {
    let (_, tag_end) = launcher_tag(pre)?;
    let b = pre.as_bytes();
    let start = tag_end + b[tag_end..].iter().take_while(|&&c| c == b' ').count();
    let end = header_at_start(&pre[start..], header)?;
    Some((tag_end, start + end))
}

/// The launcher tag big jobs put at the start of every line: Open MPI's `[1,N]<stdout>:` /
/// `[1,N]<stderr>:` (--tag-output) or srun's `N:` (--label). Returns N's digits and where the
/// tag ends.
fn launcher_tag(text: &str) -> Option<(&str, usize)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    if let Some(rest) = text.strip_prefix("[1,") {
        let n = digits(rest);
        let tag = rest.get(n..n + "]<stdout>:".len())?;
        return (n > 0 && matches!(tag, "]<stdout>:" | "]<stderr>:"))
            .then(|| (&rest[..n], 3 + n + tag.len()));
    }
    let n = digits(text);
    (n > 0 && text.as_bytes().get(n) == Some(&b':')).then(|| (&text[..n], n + 1))
}

/// A prefix that is exactly one launcher tag: its rank.
fn simple_launcher_rank(prefix: &str) -> Option<u32> {
    let (n, end) = launcher_tag(prefix)?;
    if end == prefix.len() {
        n.parse().ok()
    } else {
        None
    }
}

/// Reads the identity a launcher prefix carries; keeps the raw text.
pub(crate) fn parse_launcher(text: &str) -> Launcher<'_> {
    let prefix = text.trim();
    let mut l = Launcher { prefix, ..Launcher::default() };
    if prefix.is_empty() {
        return l;
    }
    // The two launcher tags big jobs put on every line, read without a regex: Open MPI's
    // `[1,N]<stdout>:` (--tag-output) and srun's `N:` (--label). Nothing else is in such a
    // prefix (no timestamp, no host), so the general path would find the same.
    if let Some(rank) = simple_launcher_rank(prefix) {
        l.rank = Some(rank);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whenever the hand-written matcher claims the header, the regex agrees on where it ends
    /// and on every field.
    fn agrees(pre: &str) {
        let mut fast = Header::default();
        let Some(end) = header_at_start(pre, &mut fast) else { return };
        let c = HEADER.captures(pre).expect("regex matches too");
        let whole = c.get(0).unwrap();
        assert_eq!((whole.start(), whole.end()), (0, end), "{pre:?}");
        assert_eq!(fast.host, c.get(1).map(|m| m.as_str()), "{pre:?}");
        assert_eq!(fast.pid, c.get(2).and_then(|m| m.as_str().parse().ok()), "{pre:?}");
        assert_eq!(fast.tid, c.get(3).and_then(|m| m.as_str().parse().ok()), "{pre:?}");
        assert_eq!(fast.cuda_dev, c.get(4).and_then(|m| m.as_str().parse().ok()), "{pre:?}");
    }

    #[test]
    fn fast_header_matches_the_regex_on_known_shapes() {
        for pre in [
            "ip-10-1-0-34:42405:42405 [5] ",
            "host:1:2 ",
            "host:1:2 [0] misc/socket.cc:50 ",
            "host:1:2 [-1] ",
            "host:1:2 [x] ",
            "host:1:2 [3]x ",
            "host:99999999999:2 [0] ",
            "host:0004294967295:2 [-2147483648] ",
            "host:4294967296:2 [2147483648] ",
            "host:1:2 [-0] ",
            "node.example.com:77:88 [12] ",
        ] {
            agrees(pre);
            let mut h = Header::default();
            assert!(header_at_start(pre, &mut h).is_some(), "{pre:?}");
        }
        for pre in ["[1,3]<stdout>:host:1:2 [0] ", ":1:2 ", "host:1: ", "host:a:2 ", "hóst:1:2 [0] "] {
            let mut h = Header::default();
            assert!(header_at_start(pre, &mut h).is_none(), "{pre:?}");
        }
    }

    #[test]
    fn simple_launcher_tags_read_like_the_general_path() {
        for prefix in [
            "[1,113]<stdout>:",
            "[1,0]<stderr>:",
            "7:",
            "[1,x]<stdout>:",
            "[1,2]<stdin>:",
            "a7:",
            "[1,99999999999]<stdout>:",
        ] {
            let fast = simple_launcher_rank(prefix);
            // The general path, with the fast path out of the way: a trailing space changes
            // nothing for the regexes.
            let general = parse_launcher(&format!("{prefix} x")).rank.filter(|_| fast.is_some());
            assert_eq!(fast, general, "{prefix}");
        }
        assert_eq!(parse_launcher("[1,113]<stdout>:").rank, Some(113));
        assert_eq!(parse_launcher("12:").rank, Some(12));
    }

    /// The tag path gives what the regex gives: same header, same launcher text and site.
    #[test]
    fn header_after_a_launcher_tag_agrees_with_the_regex() {
        for pre in [
            "[1,113]<stdout>:ip-10-1-0-113:40302:40302 [2] ",
            "[1,0]<stderr>:h:1:2 misc/socket.cc:50 ",
            "12: node-3:77:78 [7] ",
            "12:node-3:77:78 ",
            "[1,2]<stdout>: h:1:2 [0] ",
        ] {
            let mut fast = Header::default();
            let (tag_end, end) = header_after_launcher_tag(pre, &mut fast).expect(pre);
            let c = HEADER.captures(pre).expect("regex matches");
            let whole = c.get(0).unwrap();
            assert_eq!((whole.end(), fast.host), (end, c.get(1).map(|m| m.as_str())), "{pre:?}");
            assert_eq!(pre[..whole.start()].trim(), pre[..tag_end].trim(), "{pre:?}");
            assert_eq!(fast.pid, c.get(2).and_then(|m| m.as_str().parse().ok()));
            assert_eq!(fast.cuda_dev, c.get(4).and_then(|m| m.as_str().parse().ok()));
        }
        for pre in ["[1,x]<stdout>:h:1:2 ", "[2,1]<stdout>:h:1:2 ", "x12: h:1:2 ", "12 h:1:2 "] {
            assert!(header_after_launcher_tag(pre, &mut Header::default()).is_none(), "{pre:?}");
        }
    }

    proptest! {
        #[test]
        fn fast_header_never_disagrees(pre in "[a-z0-9.:\\[\\] -]{0,12}(:[0-9]{1,3}){0,2}( \\[-?[0-9]{0,2}\\]?)? ?[a-z: ]{0,4}") {
            agrees(&pre);
        }
    }
}
