//! nccl-tests output (`all_reduce_perf` & co.): headers, device list, the result table, footers
//! and failure messages (spec: nccl-log-format.md §14).
//!
//! Anchored on the nccl-tests content, not on the line start: launchers and shippers prepend
//! `[1,0]<stdout>:`, `0: `, `[default0]:`, `host: `, timestamps, pod names, `> ` quoting or
//! indentation. Copies pasted through markdown often lose the leading `#`, and nccl-tests v1.x
//! never printed it on some lines, so every `#` shape is also recognised without it.
//!
//! Hot path: called for every line of multi-GB logs. NCCL_DEBUG lines leave after one `memmem`
//! for `NCCL `; other lines cost a few `memmem` searches and, when the line ends like a table
//! row, one whitespace split. Nothing allocates, and no regex runs.
use std::sync::OnceLock;

use memchr::memmem::Finder;
use serde::Serialize;

/// `memmem` with a finder built once per needle.
macro_rules! find {
    ($hay:expr, $needle:literal) => {{
        static FINDER: OnceLock<Finder<'static>> = OnceLock::new();
        FINDER.get_or_init(|| Finder::new($needle)).find($hay)
    }};
}

/// One line of nccl-tests output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum TestsLine<'a> {
    /// `# nccl-tests version 2.13.9 nccl-headers=22005 nccl-library=22005` (v2.18+; v2.20+ adds
    /// the git hash: `2.20.0 (b4d5bee)`; rccl-tests prints `# rccl-tests version …`).
    Version {
        version: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        git: Option<&'a str>,
        /// `NCCL_VERSION_CODE` nccl-tests was built against (`22005` = 2.20.5).
        #[serde(skip_serializing_if = "Option::is_none")]
        headers: Option<u32>,
        /// Version code of the libnccl loaded at run time.
        #[serde(skip_serializing_if = "Option::is_none")]
        library: Option<u32>,
    },
    /// `# Collective test starting: all_reduce_perf`.
    Starting { test: &'a str },
    /// `# Collective test concluded: all_reduce_perf` (v2.17+, after the footer).
    Concluded { test: &'a str },
    /// `# nThread 1 nGpus 1 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5
    /// iters: 20 agg iters: 1 validation: 1 graph: 0` (v1.x without `#` and without `agg iters`
    /// / `graph`; v2.20+ adds `unalign: 0`; rccl-tests writes `nThread: 1 … warmupIters: 5`).
    Params {
        nthread: u32,
        ngpus: u32,
        min_bytes: u64,
        max_bytes: u64,
        /// `step: 2(factor)`: sizes grow by this factor.
        #[serde(skip_serializing_if = "Option::is_none")]
        step_factor: Option<u64>,
        /// `step: 1048576(bytes)`: sizes grow by this many bytes.
        #[serde(skip_serializing_if = "Option::is_none")]
        step_bytes: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        warmup_iters: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        iters: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        agg_iters: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        validation: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        graph: Option<u32>,
    },
    /// `#  Rank  0 Group  0 Pid  41230 on     node01 device  0 [0000:18:00] NVIDIA H100 80GB HBM3`
    /// (v1.0 `#   Rank  0 on host device  0 [0x35] Tesla T4`; v2.0 adds `Pid`, later `Group`;
    /// the bus id is `[0x%02x]` before v2.14.1, `[%04x:%02x:%02x]` from it).
    Device {
        rank: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        host: &'a str,
        device: u32,
        bus_id: &'a str,
        gpu_model: &'a str,
    },
    /// `#       size         count      type   redop    root     time   algbw   busbw  #wrong …`.
    /// Before v2.13 there is no `root` and an `error` column (max deviation) instead of `#wrong`;
    /// old all_gather tables have no `redop`; v2.19 `-I 1` adds `i_min i_max i_p99 i_cv%` after
    /// each half; `-C` prints `cputime`; `-R` appends a `timestamp` column.
    TableHeader {
        has_redop: bool,
        has_root: bool,
        has_wrong: bool,
        per_iteration: bool,
        cpu_time: bool,
        timestamps: bool,
    },
    /// `#        (B)    (elements)      (us)  (GB/s) …`; nccl-tests v1.0 timed in `(ms)`.
    TableUnits {
        #[serde(skip_serializing_if = "Option::is_none")]
        time_unit: Option<&'a str>,
    },
    /// One result row: `134217728  33554432  float  sum  -1  1301.2  103.15  193.40  0  …`.
    Row {
        size_bytes: u64,
        count: u64,
        dtype: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        redop: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        root: Option<i64>,
        out_of_place: Measure,
        /// `None` when the row was cut before the in-place half was complete.
        #[serde(skip_serializing_if = "Option::is_none")]
        in_place: Option<Measure>,
    },
    /// A row cut before its out-of-place half was complete: `         128            32     float
    /// sum`. nccl-tests prints size, count, type, op and root, then runs the collective, so a
    /// run that hangs (or a truncated file) ends on this.
    PartialRow {
        size_bytes: u64,
        count: u64,
        dtype: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        redop: Option<&'a str>,
    },
    /// `# Out of bounds values : 0 OK` (or `… : 2 FAILED`; v1.x without `#`).
    OutOfBounds { count: u64, ok: bool },
    /// `# Avg bus bandwidth    : 193.4 ` (v1.x without `#`). With `NCCL_TESTS_MIN_BW` set,
    /// nccl-tests appends `OK` or `FAILED`: that verdict is `check`.
    AvgBusBw {
        gbps: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        check: Option<bool>,
    },
    /// `host: Test NCCL failure common.cu:961 'internal error - … / '`, `NCCL failure
    /// common.cu:921 'unhandled system error'` (2018), `Test CUDA failure …`, ` .. host pid 75:
    /// Test failure common.cu:844`, and the `# error: <ncclGetLastError>` of v2.17+.
    Failure {
        kind: FailureKind,
        /// `common.cu:961`.
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<&'a str>,
        /// The quoted error string, without quotes.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
        /// From the failure keyword (`Test NCCL failure …`) to the end of the line.
        message: &'a str,
    },
}

/// One half (out-of-place or in-place) of a result row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measure {
    /// Time per iteration as printed: µs, except nccl-tests v1.0 which printed ms (see
    /// [`TestsLine::TableUnits`]).
    pub time_us: f64,
    pub algbw_gbps: f64,
    pub busbw_gbps: f64,
    /// `#wrong` (v2.13+): elements that failed validation; `None` for `N/A` (`-c 0`) or in the
    /// old format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrong: Option<u64>,
    /// `error` (before v2.13): maximum deviation from the expected result; `None` for `N/A` or
    /// in the new format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<f64>,
}

/// Which check of nccl-tests failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// `NCCLCHECK`: an NCCL call returned an error.
    Nccl,
    /// `CUDACHECK`: a CUDA runtime call failed.
    Cuda,
    /// `HIPCHECK` of rccl-tests.
    Hip,
    /// `TESTCHECK`: the propagated failure, printed per stack level (` .. host pid N: Test failure`).
    Test,
    /// `# error: …`: `ncclGetLastError()` printed at the end of the run (v2.17+).
    LastError,
}

/// Parses one sanitized line. Returns `None` for anything that is not nccl-tests output.
pub fn parse_line(line: &str) -> Option<TestsLine<'_>> {
    let bytes = line.as_bytes();
    if bytes.len() < 4 {
        return None;
    }
    // NCCL_DEBUG lines (`host:pid:tid [d] NCCL INFO …`) are never nccl-tests output; the only
    // nccl-tests line saying `NCCL ` is its `NCCLCHECK` failure.
    if let Some(first) = find!(bytes, "NCCL ") {
        return nccl_failure(line, first);
    }

    // Result rows are most of nccl-tests' output: try them first, and only on lines that end
    // like one: a number, `N/A`, a number cut short, or the type/op columns nccl-tests prints
    // before it runs the collective (a hang leaves the row there).
    let last = bytes.iter().rposition(|b| !b.is_ascii_whitespace())?;
    let row_like = matches!(bytes[last], b'0'..=b'9' | b'A' | b'.') || {
        let last_word = line[..=last].rsplit(|c: char| c.is_ascii_whitespace()).next();
        last_word.is_some_and(|w| is_dtype(w) || is_known_redop(w))
    };
    if row_like {
        if let Some(row) = parse_row(line) {
            return Some(row);
        }
    }

    // `# <keyword> …` lines; a prefix may itself hold a `#`, so try a few.
    for at in memchr::memchr_iter(b'#', bytes).take(4) {
        let content = line[at + 1..].trim_start();
        if let Some(parsed) = parse_keyword(content) {
            return Some(parsed);
        }
        // v2.17+ `writeErrors()`: `# error: <ncclGetLastError()>`. Only with the `#`, so a
        // bare `error: …` of any other program does not count.
        if let Some(msg) = line[at + 1..].strip_prefix(" error: ") {
            let message = msg.trim();
            if !message.is_empty() {
                return Some(TestsLine::Failure {
                    kind: FailureKind::LastError,
                    location: None,
                    reason: None,
                    message,
                });
            }
        }
    }

    // The same keywords without `#`: v1.x footers, and copies whose `#` markdown ate.
    let anchors = [
        find!(bytes, "Rank "),
        find!(bytes, "nThread"),
        find!(bytes, "Out of bounds values"),
        find!(bytes, "Avg bus bandwidth"),
        find!(bytes, "Collective test "),
        find!(bytes, "nccl-tests version "),
        find!(bytes, "rccl-tests version "),
    ];
    for at in anchors.into_iter().flatten() {
        if let Some(parsed) = parse_keyword(&line[at..]) {
            return Some(parsed);
        }
    }

    if find!(bytes, "busbw").is_some() {
        if let Some(header) = parse_table_header(line) {
            return Some(header);
        }
    }
    if find!(bytes, "(elements)").is_some() {
        if let Some(units) = parse_table_units(line) {
            return Some(units);
        }
    }
    if let Some(at) = find!(bytes, "failure ") {
        return parse_failure(line, at);
    }
    None
}

/// Lines that start with a keyword (`s` begins at the keyword).
fn parse_keyword(s: &str) -> Option<TestsLine<'_>> {
    match s.as_bytes().first()? {
        b'R' => parse_device(s.strip_prefix("Rank ")?),
        b'n' => {
            if s.starts_with("nThread") {
                parse_params(s)
            } else {
                parse_version(s.strip_prefix("nccl-tests version ")?)
            }
        }
        b'r' => parse_version(s.strip_prefix("rccl-tests version ")?),
        b'C' => {
            let rest = s.strip_prefix("Collective test ")?;
            if let Some(test) = rest.strip_prefix("starting:") {
                Some(TestsLine::Starting { test: first_word(test)? })
            } else {
                let test = rest.strip_prefix("concluded:")?;
                Some(TestsLine::Concluded { test: first_word(test)? })
            }
        }
        b'O' => {
            let mut it = after_colon(s.strip_prefix("Out of bounds values")?)?;
            let count = it.next()?.parse().ok()?;
            let ok = match it.next() {
                Some("OK") => true,
                Some("FAILED") => false,
                Some(_) => return None,
                None => count == 0,
            };
            Some(TestsLine::OutOfBounds { count, ok })
        }
        b'A' => {
            let mut it = after_colon(s.strip_prefix("Avg bus bandwidth")?)?;
            let gbps = parse_finite(it.next()?)?;
            let check = match it.next() {
                Some("OK") => Some(true),
                Some("FAILED") => Some(false),
                _ => None,
            };
            Some(TestsLine::AvgBusBw { gbps, check })
        }
        _ => None,
    }
}

/// Words after the `:` that follows a footer label (only spaces in between).
fn after_colon(s: &str) -> Option<std::str::SplitAsciiWhitespace<'_>> {
    let rest = s.trim_start().strip_prefix(':')?;
    Some(rest.split_ascii_whitespace())
}

fn first_word(s: &str) -> Option<&str> {
    s.split_ascii_whitespace().next()
}

/// After `nccl-tests version `: `2.13.9 nccl-headers=22005 nccl-library=22005`.
fn parse_version(s: &str) -> Option<TestsLine<'_>> {
    let mut it = s.split_ascii_whitespace();
    let version = it.next()?;
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (mut git, mut headers, mut library) = (None, None, None);
    for tok in it {
        if let Some(hash) = tok.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            git = Some(hash);
        } else if let Some((key, value)) = tok.split_once('=') {
            // `nccl-headers=` (rccl-tests keeps NCCL's names).
            if key.ends_with("-headers") {
                headers = value.parse().ok();
            } else if key.ends_with("-library") {
                library = value.parse().ok();
            }
        }
    }
    Some(TestsLine::Version { version, git, headers, library })
}

/// `nThread 1 nGpus 1 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5 …`.
fn parse_params(s: &str) -> Option<TestsLine<'_>> {
    let (mut nthread, mut ngpus, mut min_bytes, mut max_bytes) = (None, None, None, None);
    let (mut step_factor, mut step_bytes) = (None, None);
    let (mut warmup_iters, mut iters, mut agg_iters, mut validation, mut graph) =
        (None, None, None, None, None);
    // `warmup iters:` and `agg iters:` are two-word keys.
    let mut qualifier = "";
    let mut it = s.split_ascii_whitespace();
    while let Some(tok) = it.next() {
        let key = tok.trim_end_matches(':');
        match key {
            "warmup" | "agg" => {
                qualifier = key;
                continue;
            }
            "nThread" => nthread = Some(it.next()?.parse::<u32>().ok()?),
            "nGpus" => ngpus = Some(it.next()?.parse::<u32>().ok()?),
            "minBytes" => min_bytes = Some(it.next()?.parse::<u64>().ok()?),
            "maxBytes" => max_bytes = Some(it.next()?.parse::<u64>().ok()?),
            "step" => {
                let value = it.next().unwrap_or("");
                if let Some(n) = value.strip_suffix("(factor)") {
                    step_factor = n.parse().ok();
                } else if let Some(n) = value.strip_suffix("(bytes)") {
                    step_bytes = n.parse().ok();
                }
            }
            "iters" => {
                let value = it.next().and_then(|v| v.parse().ok());
                match qualifier {
                    "warmup" => warmup_iters = value,
                    "agg" => agg_iters = value,
                    _ => iters = value,
                }
            }
            // rccl-tests.
            "warmupIters" => warmup_iters = it.next().and_then(|v| v.parse().ok()),
            "validation" => validation = it.next().and_then(|v| v.parse().ok()),
            "graph" => graph = it.next().and_then(|v| v.parse().ok()),
            _ => {}
        }
        qualifier = "";
    }
    Some(TestsLine::Params {
        nthread: nthread?,
        ngpus: ngpus?,
        min_bytes: min_bytes?,
        max_bytes: max_bytes?,
        step_factor,
        step_bytes,
        warmup_iters,
        iters,
        agg_iters,
        validation,
        graph,
    })
}

/// After `Rank `: ` 0 Group  0 Pid  41230 on     node01 device  0 [0000:18:00] NVIDIA H100`.
fn parse_device(s: &str) -> Option<TestsLine<'_>> {
    let on = s.find(" on ")?;
    let mut head = s[..on].split_ascii_whitespace();
    let rank = head.next()?.parse().ok()?;
    let (mut group, mut pid) = (None, None);
    while let Some(key) = head.next() {
        match key {
            "Group" => group = Some(head.next()?.parse().ok()?),
            "Pid" => pid = Some(head.next()?.parse().ok()?),
            _ => return None,
        }
    }
    // The host is `%10s`: right-aligned, and empty when gethostname gave nothing.
    let rest = &s[on + 3..];
    let dev = rest.find(" device ")?;
    let host = rest[..dev].trim();
    if host.contains(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let rest = &rest[dev + 8..];
    let open = rest.find('[')?;
    let device = rest[..open].trim().parse().ok()?;
    let close = open + rest[open..].find(']')?;
    let bus_id = &rest[open + 1..close];
    let gpu_model = rest[close + 1..].trim();
    Some(TestsLine::Device { rank, group, pid, host, device, bus_id, gpu_model })
}

/// The column-name line: tokens `size`, `count` and `busbw` anywhere (a summary table pasted
/// by a user may add its own first column, e.g. `p4dn  size  count …`).
fn parse_table_header(line: &str) -> Option<TestsLine<'_>> {
    let (mut size, mut count, mut busbw) = (false, false, false);
    let (mut has_redop, mut has_root, mut has_wrong) = (false, false, false);
    let (mut per_iteration, mut cpu_time, mut timestamps) = (false, false, false);
    for tok in line.split_ascii_whitespace() {
        match tok {
            "size" => size = true,
            "count" => count = true,
            "busbw" => busbw = true,
            "redop" => has_redop = true,
            "root" => has_root = true,
            "#wrong" => has_wrong = true,
            "i_min" => per_iteration = true,
            "cputime" => cpu_time = true,
            "timestamp" => timestamps = true,
            _ => {}
        }
    }
    (size && count && busbw).then_some(TestsLine::TableHeader {
        has_redop,
        has_root,
        has_wrong,
        per_iteration,
        cpu_time,
        timestamps,
    })
}

/// `#        (B)    (elements)      (us)  (GB/s)  (GB/s) …`.
fn parse_table_units(line: &str) -> Option<TestsLine<'_>> {
    let mut bytes_col = false;
    let mut time_unit = None;
    for tok in line.split_ascii_whitespace() {
        match tok {
            "(B)" => bytes_col = true,
            "(us)" | "(ms)" if time_unit.is_none() => time_unit = Some(&tok[1..3]),
            _ => {}
        }
    }
    bytes_col.then_some(TestsLine::TableUnits { time_unit })
}

/// Element type names nccl-tests (and rccl-tests, NCCL 1 builds, oneCCL ports) print.
fn is_dtype(tok: &str) -> bool {
    matches!(
        tok,
        "float"
            | "half"
            | "double"
            | "bfloat16"
            | "int8"
            | "uint8"
            | "int32"
            | "uint32"
            | "int64"
            | "uint64"
            | "fp8_e4m3"
            | "fp8_e5m2"
            | "f8e4m3"
            | "f8e5m2"
            | "char"
            | "int"
            | "bf16"
            | "fp16"
            | "fp32"
            | "fp64"
    )
}

/// Most numeric columns a row can have: root + 2 × (4 + 4 per-iteration) + slack.
const MAX_NUMS: usize = 24;

/// A result row, found by its type column: `size count type [redop] [root] time algbw busbw
/// wrong|error [time algbw busbw wrong|error] …`. Whatever precedes `size count` is a prefix.
fn parse_row(line: &str) -> Option<TestsLine<'_>> {
    let mut toks = line.split_ascii_whitespace();
    let (mut before2, mut before1) = ("", "");
    while let Some(tok) = toks.next() {
        if is_dtype(tok) {
            if let (Some(size), Ok(count)) = (parse_size(before2), before1.parse::<u64>()) {
                if let Some(row) = parse_row_tail(size, count, tok, toks.clone()) {
                    return Some(row);
                }
            }
        }
        before2 = before1;
        before1 = tok;
    }
    None
}

/// The size column, possibly glued to a launcher prefix (`[1,0]<stdout>:17179869184`).
fn parse_size(tok: &str) -> Option<u64> {
    if let Ok(size) = tok.parse() {
        return Some(size);
    }
    let cut = tok.rfind([':', '>', ']', '#', '|'])?;
    tok[cut + 1..].parse().ok()
}

fn parse_row_tail<'a>(
    size_bytes: u64,
    count: u64,
    dtype: &'a str,
    mut toks: std::str::SplitAsciiWhitespace<'a>,
) -> Option<TestsLine<'a>> {
    // A byte count is at least the element count (1-byte types, or 0 and 0).
    if count > size_bytes {
        return None;
    }
    let mut nums = [""; MAX_NUMS];
    let mut n = 0;
    let mut redop = None;
    let mut at_end = true;
    for tok in toks.by_ref() {
        if n == 0 && redop.is_none() && is_redop(tok) {
            redop = Some(tok);
            continue;
        }
        if tok != "N/A" && tok.parse::<f64>().is_err() {
            // A `-R` timestamp, or the end of a row cut and glued to other output.
            at_end = false;
            break;
        }
        nums[n] = tok;
        n += 1;
        if n == MAX_NUMS {
            break;
        }
    }
    let t = &nums[..n];
    // Which layout: the old (< v2.13) last column is `%.0le` (`0e+00`) or `N/A`, the new one
    // `%g` of a count; the new format has an integer root first. The fixed order of the tests
    // matters: an old row with time ≥ 10000 µs prints the time as an integer too.
    let (root, base, old) = if n >= 4 && is_old_error(t[3]) {
        (None, 0, true)
    } else if n >= 5 && is_int(t[0]) && t[4] != "N/A" && is_old_error(t[4]) {
        // Old broadcast/reduce tables with a root column.
        (Some(t[0].parse::<i64>().ok()?), 1, true)
    } else if n >= 5 && is_int(t[0]) && is_wrong_like(t[4]) {
        (Some(t[0].parse::<i64>().ok()?), 1, false)
    } else if n < 5 && at_end {
        // Too few columns to tell the layout: the row was cut (hang or truncated file).
        return Some(TestsLine::PartialRow { size_bytes, count, dtype, redop });
    } else {
        return None;
    };
    let out_of_place = measure(&t[base..base + 4], old)?;
    let last_ok = |tok: &str| {
        if old {
            is_old_error(tok)
        } else {
            is_wrong_like(tok)
        }
    };
    let in_place = if n >= base + 8 && last_ok(t[base + 7]) {
        measure(&t[base + 4..base + 8], old)
    } else if !old && n >= base + 12 && is_wrong_like(t[base + 11]) {
        // v2.19 `-I 1`: four per-iteration columns follow each half.
        measure(&t[base + 8..base + 12], old)
    } else {
        None
    };
    Some(TestsLine::Row { size_bytes, count, dtype, redop, root, out_of_place, in_place })
}

/// The op names nccl-tests prints (the row gate in [`parse_line`] looks for them at the end of
/// a cut row).
fn is_known_redop(tok: &str) -> bool {
    matches!(tok, "sum" | "prod" | "max" | "min" | "avg" | "mulsum" | "premulsum" | "none")
}

/// The reduction op column (`sum`, `prod`, `max`, `min`, `avg`, `mulsum`, `none`, …).
fn is_redop(tok: &str) -> bool {
    !tok.is_empty()
        && tok.len() <= 12
        && tok.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && !matches!(tok, "nan" | "inf" | "infinity")
}

fn measure(cols: &[&str], old: bool) -> Option<Measure> {
    let [time, algbw, busbw, last] = cols else {
        return None;
    };
    let (wrong, error) = if old {
        (None, if *last == "N/A" { None } else { parse_finite(last) })
    } else {
        (parse_wrong(last), None)
    };
    Some(Measure {
        time_us: parse_finite(time)?,
        algbw_gbps: parse_finite(algbw)?,
        busbw_gbps: parse_finite(busbw)?,
        wrong,
        error,
    })
}

fn parse_finite(tok: &str) -> Option<f64> {
    tok.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `#wrong` is printed with `%6g`: `0`, `1234`, or `1.23457e+06` past a million.
fn parse_wrong(tok: &str) -> Option<u64> {
    if let Ok(v) = tok.parse::<u64>() {
        return Some(v);
    }
    let v = parse_finite(tok)?;
    // u64::MAX as f64 rounds up to 2^64; stay strictly below it so the cast cannot saturate.
    (0.0..18_446_744_073_709_551_616.0).contains(&v).then(|| v.round() as u64)
}

fn is_int(tok: &str) -> bool {
    let digits = tok.strip_prefix('-').unwrap_or(tok);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The old `error` column: `%.0le` gives one digit, no point (`0e+00`, `2e-07`); `N/A` with `-c 0`.
fn is_old_error(tok: &str) -> bool {
    if tok == "N/A" {
        return true;
    }
    let b = tok.strip_prefix('-').unwrap_or(tok).as_bytes();
    b.len() >= 4
        && b[0].is_ascii_digit()
        && matches!(b[1], b'e' | b'E')
        && matches!(b[2], b'+' | b'-')
        && b[3..].iter().all(u8::is_ascii_digit)
}

/// The new `#wrong` column: an integer, `%g` exponent form, or `N/A`.
fn is_wrong_like(tok: &str) -> bool {
    tok == "N/A"
        || tok.bytes().all(|b| b.is_ascii_digit())
        || (tok.contains(['e', 'E']) && parse_finite(tok).is_some())
}

/// `NCCL failure` found after the `NCCL ` at `first` (or later); any other `NCCL ` line is an
/// NCCL_DEBUG line, not ours.
fn nccl_failure(line: &str, first: usize) -> Option<TestsLine<'_>> {
    let mut from = first;
    loop {
        let rest = &line[from + 5..];
        if rest.starts_with("failure ") {
            return parse_failure(line, from + 5);
        }
        from = from + 5 + find!(rest.as_bytes(), "NCCL ")?;
    }
}

/// `failure ` at `at`: the word before says which check (`Test NCCL`, `NCCL`, `Test CUDA`,
/// `Cuda`, `Test`); a `file:line` location must follow.
fn parse_failure(line: &str, at: usize) -> Option<TestsLine<'_>> {
    let before = line[..at].trim_end();
    let word_at = before.rfind(|c: char| c.is_ascii_whitespace()).map_or(0, |i| i + 1);
    let kind = match &before[word_at..] {
        "NCCL" => FailureKind::Nccl,
        "CUDA" | "Cuda" => FailureKind::Cuda,
        "HIP" => FailureKind::Hip,
        "Test" => FailureKind::Test,
        _ => return None,
    };
    // `Test NCCL failure`, `Test CUDA failure` (v2.x); bare `NCCL failure` (2018).
    let mut start = word_at;
    if kind != FailureKind::Test {
        let head = before[..word_at].trim_end();
        if let Some(test) = head.strip_suffix("Test") {
            if test.is_empty() || test.ends_with(|c: char| c.is_ascii_whitespace() || c == ':') {
                start = test.len();
            }
        }
    }
    let after = &line[at + "failure ".len()..];
    let location = after.split_ascii_whitespace().next()?;
    let (file, src_line) = location.rsplit_once(':')?;
    if file.is_empty() || src_line.is_empty() || !src_line.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tail = after.trim_start()[location.len()..].trim();
    let reason = tail.strip_prefix('\'').map(|r| r.strip_suffix('\'').unwrap_or(r));
    Some(TestsLine::Failure { kind, location: Some(location), reason, message: line[start..].trim_end() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str) -> (u64, u64, Option<i64>, Measure, Option<Measure>) {
        match parse_line(line) {
            Some(TestsLine::Row { size_bytes, count, root, out_of_place, in_place, .. }) => {
                (size_bytes, count, root, out_of_place, in_place)
            }
            other => panic!("not a row: {other:?} for {line:?}"),
        }
    }

    const NEW_ROW: &str = "   134217728      33554432     float     sum      -1   1301.2  103.15  193.40       0   1298.7  103.35  193.78       0";

    #[test]
    fn version_line() {
        assert_eq!(
            parse_line("# nccl-tests version 2.13.9 nccl-headers=22005 nccl-library=22005"),
            Some(TestsLine::Version {
                version: "2.13.9",
                git: None,
                headers: Some(22005),
                library: Some(22005)
            })
        );
        // v2.20+ prints the git hash.
        assert_eq!(
            parse_line("# nccl-tests version 2.20.0 (b4d5bee) nccl-headers=23102 nccl-library=23102"),
            Some(TestsLine::Version {
                version: "2.20.0",
                git: Some("b4d5bee"),
                headers: Some(23102),
                library: Some(23102)
            })
        );
        // rccl-tests, launcher prefix, header code overflowing u32 is left out.
        assert_eq!(
            parse_line("[1,0]<stdout>:# rccl-tests version 2.18.3 nccl-headers=99999999999"),
            Some(TestsLine::Version { version: "2.18.3", git: None, headers: None, library: None })
        );
    }

    #[test]
    fn starting_and_concluded() {
        assert_eq!(
            parse_line("# Collective test starting: all_reduce_perf"),
            Some(TestsLine::Starting { test: "all_reduce_perf" })
        );
        assert_eq!(
            parse_line("0: # Collective test concluded: all_gather_perf"),
            Some(TestsLine::Concluded { test: "all_gather_perf" })
        );
        assert_eq!(parse_line("# Collective test starting:"), None);
    }

    #[test]
    fn params_line_versions() {
        let v2 = "# nThread 1 nGpus 1 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0";
        assert_eq!(
            parse_line(v2),
            Some(TestsLine::Params {
                nthread: 1,
                ngpus: 1,
                min_bytes: 8,
                max_bytes: 8589934592,
                step_factor: Some(2),
                step_bytes: None,
                warmup_iters: Some(5),
                iters: Some(20),
                agg_iters: Some(1),
                validation: Some(1),
                graph: Some(0),
            })
        );
        // v1.x: no `#`, step in bytes, no agg iters / graph.
        let v1 = "nThread 1 nGpus 8 minBytes 33554432 maxBytes 33554432 step: 1048576(bytes) warmup iters: 5 iters: 20 validation: 1 ";
        match parse_line(v1) {
            Some(TestsLine::Params {
                ngpus: 8,
                step_bytes: Some(1048576),
                agg_iters: None,
                iters: Some(20),
                warmup_iters: Some(5),
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        // rccl-tests spelling.
        let rccl = "# nThread: 1 nGpus: 1 minBytes: 8 maxBytes: 134217728 step: 2(factor) warmupIters: 5 iters: 20 validation: 1";
        match parse_line(rccl) {
            Some(TestsLine::Params {
                max_bytes: 134217728, warmup_iters: Some(5), iters: Some(20), ..
            }) => {}
            other => panic!("{other:?}"),
        }
        // v2.20+ `unalign: 0` tail, behind an Open MPI prefix.
        let v220 = "[1,0]<stdout>:# nThread 1 nGpus 1 minBytes 1024 maxBytes 8589934592 step: 2(factor) warmup iters: 1 iters: 20 agg iters: 1 validation: 1 graph: 0 unalign: 0";
        assert!(matches!(parse_line(v220), Some(TestsLine::Params { min_bytes: 1024, .. })));
        // Overflow: the line is not taken.
        assert_eq!(
            parse_line("# nThread 1 nGpus 1 minBytes 8 maxBytes 99999999999999999999999 step: 2(factor)"),
            None
        );
    }

    #[test]
    fn device_line_versions() {
        assert_eq!(
            parse_line(
                "#  Rank  0 Group  0 Pid  41230 on     node01 device  0 [0000:18:00] NVIDIA H100 80GB HBM3"
            ),
            Some(TestsLine::Device {
                rank: 0,
                group: Some(0),
                pid: Some(41230),
                host: "node01",
                device: 0,
                bus_id: "0000:18:00",
                gpu_model: "NVIDIA H100 80GB HBM3"
            })
        );
        // v1.0: no Pid, no Group, `[0x35]`.
        assert_eq!(
            parse_line("#   Rank  3 on  gpu-node7 device  3 [0x35] Tesla T4"),
            Some(TestsLine::Device {
                rank: 3,
                group: None,
                pid: None,
                host: "gpu-node7",
                device: 3,
                bus_id: "0x35",
                gpu_model: "Tesla T4"
            })
        );
        // v2.0 – 2.12: Pid without Group; rccl-tests full bus id.
        assert!(matches!(
            parse_line("#   Rank  1 Pid  97185 on  nid000014 device  0 [0000:c9:00.0] Device 738c"),
            Some(TestsLine::Device {
                rank: 1,
                group: None,
                pid: Some(97185),
                host: "nid000014",
                bus_id: "0000:c9:00.0",
                ..
            })
        ));
        // `#` lost to markdown.
        assert!(matches!(
            parse_line(
                " Rank  1 Group  0 Pid 1896106 on noodle-4090-0 device  1 [0x34] NVIDIA GeForce RTX 4090"
            ),
            Some(TestsLine::Device {
                rank: 1,
                host: "noodle-4090-0",
                device: 1,
                gpu_model: "NVIDIA GeForce RTX 4090",
                ..
            })
        ));
        // Application text mentioning a rank is not a device line.
        assert_eq!(parse_line("Rank 0 on host node01 finished epoch 3"), None);
        assert_eq!(parse_line("#  Rank 99999999999 Group 0 Pid 1 on h device 0 [0x1] X"), None);
    }

    #[test]
    fn table_header_and_units() {
        assert_eq!(
            parse_line("#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong"),
            Some(TestsLine::TableHeader {
                has_redop: true,
                has_root: true,
                has_wrong: true,
                per_iteration: false,
                cpu_time: false,
                timestamps: false
            })
        );
        // Old all_gather: no redop, no root, `error`.
        assert_eq!(
            parse_line("       size         count    type     time   algbw   busbw  error     time   algbw   busbw  error"),
            Some(TestsLine::TableHeader {
                has_redop: false,
                has_root: false,
                has_wrong: false,
                per_iteration: false,
                cpu_time: false,
                timestamps: false
            })
        );
        // v2.19 `-I 1`.
        let per_iter = "#       size         count      type   redop    root     time   algbw   busbw  #wrong    i_min    i_max    i_p99    i_cv%     time   algbw   busbw  #wrong    i_min    i_max    i_p99    i_cv%";
        assert!(matches!(parse_line(per_iter), Some(TestsLine::TableHeader { per_iteration: true, .. })));
        assert_eq!(
            parse_line("0: #        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       "),
            Some(TestsLine::TableUnits { time_unit: Some("us") })
        );
        // The title line is not needed.
        assert_eq!(parse_line("#                                                              out-of-place                       in-place  "), None);
    }

    #[test]
    fn new_format_row() {
        let (size, count, root, oop, ip) = row(NEW_ROW);
        assert_eq!((size, count, root), (134217728, 33554432, Some(-1)));
        assert_eq!(
            oop,
            Measure { time_us: 1301.2, algbw_gbps: 103.15, busbw_gbps: 193.40, wrong: Some(0), error: None }
        );
        assert_eq!(ip.map(|m| m.busbw_gbps), Some(193.78));
        // Broadcast: redop `none`, root 0.
        let (_, _, root, _, _) =
            row("           8             2     float    none       0    144.3    0.00    0.00      0    21.60    0.00    0.00      0");
        assert_eq!(root, Some(0));
        // `-c 0`: `N/A` instead of `#wrong`; time ≥ 10000 µs printed without decimals.
        let (_, _, _, oop, ip) =
            row("  1073741824     268435456     float     sum      -1   344981    3.11    3.11    N/A   344454    3.12    3.12    N/A");
        assert_eq!((oop.time_us, oop.wrong), (344981.0, None));
        assert_eq!(ip.map(|m| m.wrong), Some(None));
        // Wrong elements past a million print with %g.
        let (_, _, _, oop, _) =
            row("     8388608       2097152     float     sum      -1    84.29   99.52  174.16  1.04858e+06    83.22  100.80  176.40      0");
        assert_eq!(oop.wrong, Some(1048580));
    }

    #[test]
    fn old_format_rows() {
        let (size, count, root, oop, ip) =
            row("     1048576        262144   float     sum   1035.3    1.01    1.90  5e-07    643.4    1.63    3.06  5e-07");
        assert_eq!((size, count, root), (1048576, 262144, None));
        assert_eq!(
            oop,
            Measure { time_us: 1035.3, algbw_gbps: 1.01, busbw_gbps: 1.90, wrong: None, error: Some(5e-7) }
        );
        assert_eq!(ip.map(|m| m.busbw_gbps), Some(3.06));
        // all_gather without redop; error 1e+00 (validation failed).
        match parse_line("  4294967296     134217728   float    29122  129.05  129.05  1e+00    29169  128.84  128.84  1e+00") {
            Some(TestsLine::Row { redop: None, root: None, out_of_place, .. }) => {
                assert_eq!((out_of_place.time_us, out_of_place.error), (29122.0, Some(1.0)));
            }
            other => panic!("{other:?}"),
        }
        // `-c 0` in the old format.
        let (_, _, _, oop, ip) = row("           0             0   float    34.27    0.00    0.00    N/A    33.57    0.00    0.00    N/A");
        assert_eq!((oop.error, oop.wrong, ip.map(|m| m.time_us)), (None, None, Some(33.57)));
        // The brief's short old row (v1.0 times in ms).
        let (size, count, _, oop, ip) =
            row("   8    2   float     sum    0.029    0.00    0.00  0e+00    0.030    0.00    0.00  0e+00");
        assert_eq!((size, count, oop.time_us, oop.error), (8, 2, 0.029, Some(0.0)));
        assert!(ip.is_some());
        // A user summary table with a leading node-count column.
        let (size, _, _, oop, _) = row("   2   1073741824     268435456     float     sum    35215   30.49   57.17  4e-07    35198   30.51   57.20  4e-07");
        assert_eq!((size, oop.busbw_gbps, oop.time_us), (1073741824, 57.17, 35215.0));
    }

    #[test]
    fn per_iteration_row() {
        // v2.19 `-I 1`: time algbw busbw #wrong i_min i_max i_p99 i_cv% per half.
        let line = "   134217728      33554432     float     sum      -1   1301.2  103.15  193.40       0   1290.10   1320.50   1318.00      0.80   1298.7  103.35  193.78       0   1288.00   1310.00   1309.90      0.60";
        let (_, _, _, oop, ip) = row(line);
        assert_eq!(oop.busbw_gbps, 193.40);
        assert_eq!(ip.map(|m| (m.time_us, m.busbw_gbps)), Some((1298.7, 193.78)));
        // `-R` timestamp column at the end is not a number and is ignored.
        let (_, _, _, _, ip) = row(&format!("{NEW_ROW} 2025-06-01 12:34:56"));
        assert!(ip.is_some());
    }

    #[test]
    fn rows_with_launcher_prefixes() {
        let prefixes = [
            "[1,0]<stdout>:",
            "0: ",
            "[default0]:",
            "node01: ",
            "(pid=123) ",
            "2024-12-04T07:19:43.480Z ",
            "[2025-06-01 12:34:56] ",
            "nccl-test-launcher-abc12 ",
            "> ",
            "    ",
            "   [1,0]<stdout>:",
        ];
        for prefix in prefixes {
            let line = format!("{prefix}{NEW_ROW}   ");
            let (size, _, _, oop, ip) = row(&line);
            assert_eq!((size, oop.busbw_gbps), (134217728, 193.40), "{line}");
            assert!(ip.is_some(), "{line}");
            let avg = format!("{prefix}# Avg bus bandwidth    : 193.4 ");
            assert_eq!(parse_line(&avg), Some(TestsLine::AvgBusBw { gbps: 193.4, check: None }), "{avg}");
            let dev = format!("{prefix}#  Rank  7 Group  0 Pid   6906 on ztan-mig-235z device  7 [0000:8c:00] NVIDIA H100 80GB HBM3");
            assert!(matches!(parse_line(&dev), Some(TestsLine::Device { rank: 7, .. })), "{dev}");
            let start = format!("{prefix}# Collective test starting: all_reduce_perf");
            assert!(matches!(parse_line(&start), Some(TestsLine::Starting { .. })), "{start}");
        }
        // Size glued to the prefix.
        let (size, _, _, _, _) = row("[1,0]<stdout>:17179869184    4294967296     float     sum      -1    62239  276.03  483.05      0    62200  276.20  483.35      0");
        assert_eq!(size, 17179869184);
    }

    #[test]
    fn truncated_and_garbage_rows() {
        // Cut in the in-place half: the out-of-place half is kept.
        let (_, _, _, oop, ip) = row("    33554432       8388608     float     sum      -1    812.3   41.31   41.31      0    808.2   41.");
        assert_eq!((oop.busbw_gbps, ip), (41.31, None));
        // Cut before the out-of-place half is complete: where the run stopped.
        assert_eq!(
            parse_line("         128            32     float     sum"),
            Some(TestsLine::PartialRow { size_bytes: 128, count: 32, dtype: "float", redop: Some("sum") })
        );
        assert_eq!(
            parse_line("0:   4294967296     134217728   float"),
            Some(TestsLine::PartialRow {
                size_bytes: 4294967296,
                count: 134217728,
                dtype: "float",
                redop: None
            })
        );
        for cut in [
            "     1048576        262144   float     sum   1035.3    1.01",
            "  4194304       1048576     float     sum      -1    154.4   27.16",
        ] {
            assert!(matches!(parse_line(cut), Some(TestsLine::PartialRow { .. })), "{cut}");
        }
        // Nothing to go on, or followed by other output.
        for cut in ["    671088", "     8388608", "  8  2  float  sum  -1  1.0  node01:1:2 [0] x"] {
            assert_eq!(parse_line(cut), None, "{cut}");
        }
        // Prose ending in an op name is not a row.
        assert_eq!(parse_line("we then compute the sum"), None);
        // Overflowing sizes, counts bigger than sizes, non-finite values.
        for bad in [
            "  99999999999999999999999  2  float  sum  -1  1.0  1.0  1.0  0  1.0  1.0  1.0  0",
            "  8  99999999999999999999  float  sum  -1  1.0  1.0  1.0  0",
            "  8  16  float  sum  -1  1.0  1.0  1.0  0",
            "  8  2  float  sum  -1  1e999  1.0  1.0  0",
            "  8  2  float  sum  99999999999999999999  1.0  1.0  1.0  0",
            "  8  2  float  sum  -1  nan  1.0  1.0  0",
        ] {
            assert_eq!(parse_line(bad), None, "{bad}");
        }
        // Huge wrong count does not wrap.
        let (_, _, _, oop, _) = row("  8  2  float  sum  -1  1.0  1.0  1.0  1.5e+30");
        assert_eq!(oop.wrong, None);
    }

    #[test]
    fn footers() {
        assert_eq!(
            parse_line("# Out of bounds values : 0 OK"),
            Some(TestsLine::OutOfBounds { count: 0, ok: true })
        );
        // v1.x without `#`.
        assert_eq!(
            parse_line(" Out of bounds values : 2 FAILED"),
            Some(TestsLine::OutOfBounds { count: 2, ok: false })
        );
        assert_eq!(
            parse_line(" Avg bus bandwidth    : 128.942"),
            Some(TestsLine::AvgBusBw { gbps: 128.942, check: None })
        );
        // NCCL_TESTS_MIN_BW set.
        assert_eq!(
            parse_line("# Avg bus bandwidth    : 12.5 FAILED"),
            Some(TestsLine::AvgBusBw { gbps: 12.5, check: Some(false) })
        );
        assert_eq!(parse_line("# Out of bounds values : 99999999999999999999999 FAILED"), None);
        assert_eq!(parse_line("# Avg bus bandwidth    : nan"), None);
    }

    #[test]
    fn failures() {
        match parse_line("[1,2]<stdout>:test-nccl-p5-2-worker-0: Test NCCL failure common.cu:961 'internal error - please report this issue to the NCCL developers / '") {
            Some(TestsLine::Failure { kind: FailureKind::Nccl, location: Some("common.cu:961"), reason, message }) => {
                assert_eq!(reason, Some("internal error - please report this issue to the NCCL developers / "));
                assert!(message.starts_with("Test NCCL failure common.cu:961"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_line("NCCL failure common.cu:921 'unhandled system error'"),
            Some(TestsLine::Failure {
                kind: FailureKind::Nccl,
                location: Some("common.cu:921"),
                reason: Some("unhandled system error"),
                message: "NCCL failure common.cu:921 'unhandled system error'"
            })
        );
        assert!(matches!(
            parse_line("gpu: Test CUDA failure common.cu:1030 'system not yet initialized'"),
            Some(TestsLine::Failure {
                kind: FailureKind::Cuda,
                reason: Some("system not yet initialized"),
                ..
            })
        ));
        assert_eq!(
            parse_line("[1,2]<stdout>: .. test-nccl-p5-2-worker-0 pid 75: Test failure common.cu:844"),
            Some(TestsLine::Failure {
                kind: FailureKind::Test,
                location: Some("common.cu:844"),
                reason: None,
                message: "Test failure common.cu:844"
            })
        );
        assert!(matches!(
            parse_line("# error: NET/IB : Got completion with error 12"),
            Some(TestsLine::Failure {
                kind: FailureKind::LastError,
                message: "NET/IB : Got completion with error 12",
                ..
            })
        ));
        // Not nccl-tests: NCCL's own WARN, aws-ofi-nccl's failure, prose.
        for other in [
            "noodle-4090-0:1896106:1896121 [1] enqueue.cc:47 NCCL WARN Cuda failure 'named symbol not found'",
            "10.3.35.83: WARN: Function: main Line: 66: NET/OFI OFI NCCL failure: 2",
            "usually indicates a failure in the peer process (e.g., a crash or",
            "#error \"unsupported\"",
        ] {
            assert_eq!(parse_line(other), None, "{other}");
        }
    }

    #[test]
    fn nccl_debug_lines_are_not_ours() {
        for line in [
            "node01:41230:41230 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>",
            "agzen-master:3867861:3867877 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/Socket/0",
            "[1,0]<stdout>:NCCL version 2.12.7+cuda11.4",
            "ip-10-0-0-1:1:2 [0] NCCL INFO comm 0x1 rank 0 nranks 16 cudaDev 0 busId 1000 - Init COMPLETE",
            "",
            "#",
            "# Using devices",
        ] {
            assert_eq!(parse_line(line), None, "{line}");
        }
    }

    #[test]
    fn serializes_with_shape_tag() {
        let json = serde_json::to_value(parse_line(NEW_ROW)).unwrap_or_default();
        assert_eq!(json["shape"], "row");
        assert_eq!(json["out_of_place"]["busbw_gbps"], 193.4);
        let json = serde_json::to_value(parse_line("# Out of bounds values : 0 OK")).unwrap_or_default();
        assert_eq!(json["shape"], "out_of_bounds");
    }

    /// Every corpus file: no panic; nccl-tests table files give rows; spot values.
    #[test]
    fn corpus_files() {
        let Some(corpus) = crate::test_corpus("nccltests corpus_files") else { return };
        let dir = corpus.join("nccl");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipping corpus test: {} not found", dir.display());
            return;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        let mut checked_002 = false;
        for path in paths {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let (mut rows, mut partial) = (0, 0);
            let mut largest: Option<(u64, f64)> = None;
            for line in text.lines() {
                let line = crate::sanitize::sanitize_line(line);
                match parse_line(&line) {
                    Some(TestsLine::Row { size_bytes, out_of_place, in_place, .. }) => {
                        rows += 1;
                        let busbw = in_place
                            .map_or(out_of_place.busbw_gbps, |m| m.busbw_gbps.max(out_of_place.busbw_gbps));
                        let larger = match largest {
                            Some((s, _)) => size_bytes > s,
                            None => true,
                        };
                        if larger {
                            largest = Some((size_bytes, busbw));
                        }
                    }
                    Some(TestsLine::PartialRow { .. }) => partial += 1,
                    _ => {}
                }
            }
            let table_file = ["001", "002", "062", "074", "119", "120", "121", "122", "124", "127", "128"]
                .iter()
                .any(|p| name.starts_with(p));
            if table_file {
                assert!(rows > 0, "{name}: no nccl-tests row parsed");
            }
            if name.starts_with("013") {
                // Its only row is cut after the op column (the test hung there).
                assert_eq!((rows, partial), (0, 1), "{name}");
            }
            if name.starts_with("002") {
                // Line 54: `8589934592  2147483648  float  sum  -1  47535  180.71  338.82  0  47743  179.92  337.35  0`.
                assert_eq!(largest, Some((8589934592, 338.82)), "{name}");
                assert_eq!(rows, 31, "{name}");
                checked_002 = true;
            }
            if name.starts_with("120") {
                assert_eq!(largest, Some((17179869184, 487.26)), "{name}");
            }
            if name.starts_with("128") {
                assert_eq!(largest, Some((4294967296, 129.05)), "{name}");
            }
        }
        assert!(checked_002, "corpus present but 002 missing");
    }
}
