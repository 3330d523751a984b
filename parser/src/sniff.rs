//! Input kind detection from content (never from the file name).
//!
//! Logs are renamed, concatenated and piped, and one job stdout often mixes NCCL lines, an
//! nccl-tests table and launcher noise, so the kind is decided by counting marker lines in the
//! first MiB and picking the dominant kind. XML dumps are recognised by their root element.
use std::sync::OnceLock;

use memchr::{memchr, memchr2};
use regex::bytes::Regex;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    NcclLog,
    NcclTests,
    UcxLog,
    UcxInfo,
    NixlLog,
    NcclTopoXml,
    NcclGraphXml,
    NvidiaSmiTopo,
    Unknown,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::NcclLog => "nccl-log",
            InputKind::NcclTests => "nccl-tests",
            InputKind::UcxLog => "ucx-log",
            InputKind::UcxInfo => "ucx-info",
            InputKind::NixlLog => "nixl-log",
            InputKind::NcclTopoXml => "nccl-topo-xml",
            InputKind::NcclGraphXml => "nccl-graph-xml",
            InputKind::NvidiaSmiTopo => "nvidia-smi-topo",
            InputKind::Unknown => "unknown",
        }
    }

    /// XML dumps are parsed as documents, not line by line.
    pub fn is_xml(self) -> bool {
        matches!(self, InputKind::NcclTopoXml | InputKind::NcclGraphXml)
    }
}

/// How much of an input [`sniff`] looks at.
pub const SNIFF_BYTES: usize = 1 << 20;

/// What one line is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// An NCCL_DEBUG record (`NCCL INFO`, `NCCL WARN`, …).
    NcclLog,
    /// The bare `NCCL version` banner that nccl-tests prints even with `NCCL_DEBUG=WARN`.
    NcclBanner,
    /// PyTorch's ProcessGroupNCCL talking about NCCL (errors, deprecated variables).
    NcclTorch,
    /// nccl-tests header, footer or result row.
    NcclTests,
    UcxLog,
    UcxInfo,
    Nixl,
    NvidiaSmi,
    TopoXml,
    GraphXml,
}

struct Patterns {
    nccl_log: Regex,
    nccl_banner: Regex,
    nccl_torch: Regex,
    tests: Regex,
    ucx_or_nixl_literals: Regex,
    ucx_log: Regex,
    nixl: Regex,
    ucx_info: Regex,
    smi: Regex,
    graph_xml: Regex,
    topo_xml: Regex,
    shell_env: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        // `(?-u)`: ASCII classes and word boundaries keep every pattern on the fast DFA engines;
        // the markers are all ASCII.
        let re = |s: &str| match Regex::new(&format!("(?-u){s}")) {
            Ok(re) => re,
            // The patterns are constants: a typo is a programming error caught by every test.
            Err(e) => panic!("bad sniff pattern {s:?}: {e}"),
        };
        Patterns {
            // NCCL marker anywhere (launchers prepend prefixes); the second branch is the
            // NCCL 2.1-era format without the word NCCL: `host:pid:tid [0] file:line WARN msg`.
            // aws-ofi-nccl's own test programs print `NET/OFI` lines without NCCL's marker.
            nccl_log: re(concat!(
                r"NCCL (?:INFO|WARN|TRACE|CALL|ABORT)\b|\bNET/OFI ",
                r"|:\d+:\d+ \[\d+\] (?:\S+:\d+ )?(?:INFO|WARN) ",
            )),
            // PyTorch's messages about NCCL: a job without NCCL_DEBUG still says this much.
            nccl_torch: re(concat!(
                r"ProcessGroupNCCL|\bTORCH_NCCL_\w+|Environment variable NCCL_\w+ is deprecated",
                r"|NCCL error in:|DistBackendError: NCCL",
                r"|\bnccl(?:Unhandled\w*Error|InternalError|InvalidUsage|SystemError|RemoteError)\b",
            )),
            nccl_banner: re(r"NCCL version \d"),
            tests: re(concat!(
                r"# nThread \d|# Using devices|#\s+Rank\s+\d+ Group\s+\d+ Pid",
                r"|\bsize\s+count\s+type\s|\(B\)\s+\(elements\)|out-of-place\s+in-place",
                r"|Avg bus bandwidth\s*:|Out of bounds values\s*:",
                r"|Test (?:NCCL|CUDA) failure|# Collective test (?:starting|concluded)",
            )),
            // A literal every `ucx_log` / `nixl` match contains: lets the common line that is
            // neither be rejected by one SIMD literal search instead of two automata.
            ucx_or_nixl_literals: re(concat!(
                r"UCX|ucx|uc[pt]_|cfg#|ep_cfg|(?i:nixl)|\[thread|Final:|iterations|usec\)",
                r"|Caught signal|libuc|\] \[|\] \\\[|\.cpp:|Backend|handshake",
                r"|==== backtrace|_log\.c:|_verbs",
            )),
            ucx_log: re(concat!(
                r"UCX  (?:FATAL|ERROR|WARN|DIAG|INFO|DEBUG|TRACE|REQ|DATA|ASYNC|FUNC|POLL|PRINT)\b",
                r"|UCXPY  [A-Z]",
                // `[sec.usec] [host:pid:thread]`: UCX's own prefix (proto tables have no level).
                r"|\[\d{9,}\.\d+\\?\] \\?\[[^\]\s]+:\s*\d+\s*(?::[^\]]*)?\]",
                r"|ep_cfg\[\d+\]|(?:-node|\bself) cfg#\d|\bucp_context_\d",
                r"|Caught signal \d+ \(|libuc[spt]\.so",
                r"|# iterations|overhead \(usec\)|latency \(usec\)|\bucx_perftest\b",
                r"|^\s*\[thread \d+\]\s+\d|^\s*Final:\s+\d",
                r"|\bpml_ucx\.c|\bucp_[a-z]\w*\(|\buct_[a-z]\w*\(",
                // UCX's fatal prefix `[host:pid:thread:tid] ib_mlx5_log.c:139  …` and its
                // backtrace header (ucs_handle_error; completion errors, caught signals).
                r"|^\s*\\?\[[^\s:\]]+:\s*\d+\s*:\w+(?::\d+)?\\?\]\s+\S+\.(?:c|h|inl):\d+\s",
                r"|^\s*==== backtrace(?: \(tid:\s*\d+\))? ====",
            )),
            nixl: re(concat!(
                r"(?i:nixl)",
                // glog, as NIXL's C++ core logs: `I0801 15:40:05.042197    1049 config.cpp:43]`.
                // Only `.cpp` sources: gRPC logs the same prefix from `.c`/`.cc` files.
                r"|^\s*[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+\.cpp:\d+\]",
                r"|^\s*[IWEF] \S+\.cpp:\d+ ",
                r"|Backend \w+ was instantiated|handshake_setup_failed|Unexpected UCX error",
            )),
            ucx_info: re(concat!(
                r"^[\s#]*(?:Memory domain|[Cc]omponent|Transport|Device|System device",
                r"|Connection manager|Library version|Library path|API headers version",
                r"|[Cc]onfigured with|capabilities|register|remote key|memory types",
                r"|bandwidth|latency|overhead|[gp]ut_(?:short|bcopy|zcopy)|am_(?:short|bcopy|zcopy)",
                r"|am header|connection|device priority|device num paths|max eps",
                r"|device address|iface address|ep address|error handling|priority|Type):",
                r"|^[\s#]*(?:UCT version=|Git branch '|< failed to open interface >",
                r"|UCP (?:context|worker|endpoint)\b|(?:component|md|resource) \d+\s+:)",
                r"|\bucx_info\b",
            )),
            smi: re(concat!(
                r"GPU0\s+(?:GPU1|NIC0|CPU Affinity)\b",
                r"|^\s*(?:GPU|NIC)\d+\s+(?:(?:X|NV\d+|PIX|PXB|PHB|NODE|SYS|SOC)\s+){2}",
                r"|^\s*(?:X|SYS|NODE|PHB|PXB|PIX|NV#|SOC)\s+= \w|^\s*NIC Legend:",
            )),
            graph_xml: re(r"^\s*<(?:graphs|graph|channel)[\s>/]"),
            topo_xml: re(r"^\s*</?(?:system|cpu|pci|gpu|nic|net|nvlink|c2c)[\s>/]"),
            // Shell lines that only set variables name tools without being their output.
            shell_env: re(r"^\s*(?:\S*[$#>]\s*)?(?:export|set|setenv)\s+\w+[= ]"),
        }
    })
}

/// Which kind of line `line` is evidence of, if any.
pub(crate) fn classify_line(line: &[u8]) -> Option<Mark> {
    let p = patterns();
    if p.nccl_log.is_match(line) {
        return Some(Mark::NcclLog);
    }
    if p.tests.is_match(line) || is_tests_row(line) {
        return Some(Mark::NcclTests);
    }
    if p.nccl_banner.is_match(line) {
        return Some(Mark::NcclBanner);
    }
    if p.shell_env.is_match(line) {
        return None;
    }
    if p.nccl_torch.is_match(line) {
        return Some(Mark::NcclTorch);
    }
    if p.ucx_or_nixl_literals.is_match(line) {
        if p.ucx_log.is_match(line) {
            return Some(Mark::UcxLog);
        }
        if p.nixl.is_match(line) {
            return Some(Mark::Nixl);
        }
    }
    if p.ucx_info.is_match(line) {
        return Some(Mark::UcxInfo);
    }
    if p.smi.is_match(line) {
        return Some(Mark::NvidiaSmi);
    }
    if p.graph_xml.is_match(line) {
        return Some(Mark::GraphXml);
    }
    if p.topo_xml.is_match(line) {
        return Some(Mark::TopoXml);
    }
    None
}

/// True for a line that is UCX or NIXL output on its own (not the `ucx_info` dump keys, which
/// are too generic outside a `ucx_info` input).
pub(crate) fn is_ucx_or_nixl_line(line: &[u8]) -> bool {
    let p = patterns();
    p.ucx_or_nixl_literals.is_match(line)
        && (p.ucx_log.is_match(line) || p.nixl.is_match(line))
        && !p.shell_env.is_match(line)
}

/// An nccl-tests result row: `size count type …` with a data type name in third place, after
/// any launcher prefix (`0: `, `[1,0]<stdout>:`).
fn is_tests_row(line: &[u8]) -> bool {
    const TYPES: &[&[u8]] = &[
        b"int8",
        b"uint8",
        b"int32",
        b"uint32",
        b"int64",
        b"uint64",
        b"half",
        b"float",
        b"double",
        b"bfloat16",
        b"fp8_e4m3",
        b"fp8_e5m2",
        b"f8e4m3",
        b"f8e5m2",
        b"char",
        b"int",
    ];
    let is_num = |t: &[u8]| !t.is_empty() && t.iter().all(u8::is_ascii_digit);
    let mut prev2: &[u8] = b"";
    let mut prev1: &[u8] = b"";
    for token in line.split(u8::is_ascii_whitespace).filter(|t| !t.is_empty()) {
        if TYPES.contains(&token) && is_num(prev1) && is_num(prev2) {
            return true;
        }
        prev2 = prev1;
        prev1 = token;
    }
    false
}

/// Per-kind marker counts of a head.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub nccl_log: u32,
    pub nccl_banner: u32,
    pub nccl_torch: u32,
    pub tests: u32,
    pub ucx_log: u32,
    pub ucx_info: u32,
    pub nixl: u32,
    pub smi: u32,
    pub topo_xml: u32,
    pub graph_xml: u32,
}

impl Counts {
    fn all(&self) -> [u32; 10] {
        [
            self.nccl_log,
            self.nccl_banner,
            self.nccl_torch,
            self.tests,
            self.ucx_log,
            self.ucx_info,
            self.nixl,
            self.smi,
            self.topo_xml,
            self.graph_xml,
        ]
    }

    /// The verdict when many marks are nearly all of one kind, so the rest of the head would not
    /// change it. Never nccl-tests output: a job's stdout opens with the nccl-tests header and
    /// device list (1024 lines for 1024 ranks) and only then shows NCCL_DEBUG lines, which make
    /// it an NCCL log.
    fn decisive_kind(&self) -> Option<InputKind> {
        let all = self.all();
        let total: u32 = all.iter().sum();
        let max = all.iter().copied().max().unwrap_or(0);
        if total < 64 || u64::from(max) * 10 < u64::from(total) * 9 {
            return None;
        }
        Some(decide(self)).filter(|&k| k != InputKind::NcclTests)
    }
}

pub(crate) fn count_marks(head: &[u8]) -> Counts {
    let mut c = Counts::default();
    let mut rest = head;
    while !rest.is_empty() {
        let (line, next) = match memchr2(b'\n', b'\r', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let slot = match classify_line(line) {
            None => continue,
            Some(Mark::NcclLog) => &mut c.nccl_log,
            Some(Mark::NcclBanner) => &mut c.nccl_banner,
            Some(Mark::NcclTorch) => &mut c.nccl_torch,
            Some(Mark::NcclTests) => &mut c.tests,
            Some(Mark::UcxLog) => &mut c.ucx_log,
            Some(Mark::UcxInfo) => &mut c.ucx_info,
            Some(Mark::Nixl) => &mut c.nixl,
            Some(Mark::NvidiaSmi) => &mut c.smi,
            Some(Mark::TopoXml) => &mut c.topo_xml,
            Some(Mark::GraphXml) => &mut c.graph_xml,
        };
        *slot += 1;
    }
    c
}

/// Detects the kind of an input from `head`, its first (up to) [`SNIFF_BYTES`] bytes after
/// decompression.
pub fn sniff(head: &[u8]) -> InputKind {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if looks_utf16(head) {
        // PowerShell's `>` writes UTF-16: sniff the ASCII it carries.
        let narrowed: Vec<u8> = head.iter().copied().filter(|&b| b != 0).collect();
        return sniff_text(&narrowed);
    }
    sniff_text(head)
}

/// The first look: enough lines to settle almost every input. Classifying a line costs a
/// few regex matches, so sniffing all of [`SNIFF_BYTES`] of each of 1024 per-rank files of
/// 1 MiB doubled the work of reading them (perf: the sniffer was a quarter of the reading
/// thread's samples).
const QUICK_SNIFF_BYTES: usize = 16 * 1024;

fn sniff_text(head: &[u8]) -> InputKind {
    if let Some(kind) = xml_root(head) {
        return kind;
    }
    if head.len() > QUICK_SNIFF_BYTES {
        let quick = &head[..QUICK_SNIFF_BYTES];
        if let Some(kind) = count_marks(quick).decisive_kind() {
            return kind;
        }
    }
    decide(&count_marks(head))
}

/// Picks the dominant kind. Kinds whose count is within a factor of two of the largest are
/// "close", and among those the first in this order wins: NCCL (log before tests), UCX log,
/// NIXL log, `ucx_info`, `nvidia-smi topo`, XML. The order puts the richest analysis first.
fn decide(c: &Counts) -> InputKind {
    let nccl_family = c.nccl_log + c.nccl_banner + c.nccl_torch + c.tests;
    let xml = c.topo_xml + c.graph_xml;
    let candidates = [
        (nccl_family, InputKind::NcclLog),
        (c.ucx_log, InputKind::UcxLog),
        (c.nixl, InputKind::NixlLog),
        (c.ucx_info, InputKind::UcxInfo),
        (c.smi, InputKind::NvidiaSmiTopo),
        (xml, InputKind::NcclTopoXml),
    ];
    let max = candidates.iter().map(|&(n, _)| n).max().unwrap_or(0);
    if max == 0 {
        return InputKind::Unknown;
    }
    let kind =
        candidates.iter().find(|&&(n, _)| n > 0 && n * 2 >= max).map_or(InputKind::Unknown, |&(_, k)| k);
    match kind {
        // A job stdout with NCCL_DEBUG lines and a results table is an NCCL log: the table is
        // parsed either way, the log lines need the NCCL analysis. Without any NCCL_DEBUG line
        // (only the banner that nccl-tests prints), it is a results file.
        InputKind::NcclLog if c.nccl_log == 0 && c.tests > 0 => InputKind::NcclTests,
        InputKind::NcclTopoXml if c.graph_xml > c.topo_xml => InputKind::NcclGraphXml,
        k => k,
    }
}

/// The kind of an XML dump from its root element: `<system>` is `NCCL_TOPO_DUMP_FILE` /
/// `NCCL_TOPO_FILE`, `<graphs>` is `NCCL_GRAPH_DUMP_FILE`. Only the prolog is looked at, so a
/// truncated document is still recognised.
fn xml_root(head: &[u8]) -> Option<InputKind> {
    let mut rest = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    loop {
        rest = trim_start(rest);
        if let Some(r) = rest.strip_prefix(b"<?") {
            rest = after(r, b"?>")?;
        } else if let Some(r) = rest.strip_prefix(b"<!--") {
            rest = after(r, b"-->")?;
        } else if let Some(r) = rest.strip_prefix(b"<!") {
            rest = after(r, b">")?;
        } else {
            break;
        }
    }
    let name_end = |r: &[u8]| matches!(r.first(), None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'));
    if let Some(r) = rest.strip_prefix(b"<system") {
        if name_end(r) {
            return Some(InputKind::NcclTopoXml);
        }
    }
    if let Some(r) = rest.strip_prefix(b"<graphs") {
        if name_end(r) {
            return Some(InputKind::NcclGraphXml);
        }
    }
    None
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// The bytes after the first `needle` in `hay`.
fn after<'a>(hay: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    memchr::memmem::find(hay, needle).map(|i| &hay[i + needle.len()..])
}

/// UTF-16 text: a BOM, or NULs in every other byte of the first bytes.
pub fn looks_utf16(head: &[u8]) -> bool {
    utf16_big_endian(head).is_some()
}

/// `Some(big_endian)` when `head` looks like UTF-16 (see [`looks_utf16`]).
pub(crate) fn utf16_big_endian(head: &[u8]) -> Option<bool> {
    if head.starts_with(b"\xff\xfe") {
        return Some(false);
    }
    if head.starts_with(b"\xfe\xff") {
        return Some(true);
    }
    let window = &head[..head.len().min(512) & !1];
    if window.len() < 8 {
        return None;
    }
    let pairs = window.len() / 2;
    let nuls_at = |first: usize| window.iter().skip(first).step_by(2).filter(|&&b| b == 0).count();
    let (even_nul, odd_nul) = (nuls_at(0), nuls_at(1));
    // ASCII in UTF-16 has one NUL per pair, always on the same side: the high byte, which
    // comes second in little-endian.
    if odd_nul * 10 >= pairs * 9 && even_nul * 10 <= pairs {
        Some(false)
    } else if even_nul * 10 >= pairs * 9 && odd_nul * 10 <= pairs {
        Some(true)
    } else {
        None
    }
}

/// True when `head` is not text: NUL bytes in a significant share of the first 8 KiB, a NUL in
/// the first 512 bytes of something that is not clean text, or mostly invalid UTF-8 (another
/// compression format). UTF-16 is text. A leading run of NULs is ignored: `logrotate
/// copytruncate` leaves one in front of a log that is still being written.
pub fn looks_binary(head: &[u8]) -> bool {
    let start = head.iter().take_while(|&&b| b == 0).count();
    let window = &head[start..head.len().min(start + 8192)];
    if window.is_empty() {
        // Nothing but NULs.
        return start > 0;
    }
    if looks_utf16(window) {
        return false;
    }
    let nuls = window.iter().filter(|&&b| b == 0).count();
    if nuls * 100 > window.len() {
        return true;
    }
    let controls = window
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)) || b == 0x7f)
        .count();
    // A multi-byte char may be cut at the window's end; that is not evidence of binary.
    let invalid: usize = window.utf8_chunks().map(|c| c.invalid().len()).sum::<usize>();
    let invalid = invalid.saturating_sub(3);
    if invalid * 10 > window.len() * 3 {
        return true;
    }
    let early_nul = memchr(0, &window[..window.len().min(512)]).is_some();
    early_nul && (controls + invalid) * 20 > window.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_head_is_settled_by_its_quick_look_only_when_it_is_decisive() {
        let nccl = "node:1:1 [0] NCCL INFO AllReduce: opCount 1 sendbuff 0x1 recvbuff 0x2\n";
        let ucx = "[1716920651.160140] [gpu1:2592419:0]     ucp_worker.c:1855 UCX  INFO    ep_cfg[4]: tag(tcp/ib0)\n";
        let big_nccl = nccl.repeat(QUICK_SNIFF_BYTES / nccl.len() + 100);
        assert_eq!(sniff(big_nccl.as_bytes()), InputKind::NcclLog);
        // A quick look's worth of application output, then UCX lines: it finds nothing, so the
        // whole head decides.
        let mut late_ucx = "epoch 1 step 2 loss 0.5\n".repeat(QUICK_SNIFF_BYTES / 24 + 10);
        late_ucx.push_str(&ucx.repeat(100));
        assert_eq!(sniff(late_ucx.as_bytes()), InputKind::UcxLog);
        // An nccl-tests header and device list longer than the quick look, then NCCL lines.
        let mut tests_then_nccl = String::from("# nccl-tests version 2.13.9\n# Using devices\n");
        for r in 0..1024 {
            tests_then_nccl.push_str(&format!(
                "#  Rank {r:4} Group  0 Pid  {} on ip-10-1-0-{} device  {} [0000:53:00] NVIDIA H100 80GB HBM3\n",
                40000 + r,
                r / 8,
                r % 8
            ));
        }
        assert!(tests_then_nccl.len() > QUICK_SNIFF_BYTES);
        tests_then_nccl.push_str(&nccl.repeat(50));
        assert_eq!(sniff(tests_then_nccl.as_bytes()), InputKind::NcclLog);
    }
    /// On every real log, the quick look gives the verdict the whole head gives.
    #[test]
    fn quick_look_agrees_with_the_whole_head_on_the_corpus() {
        let Some(corpus) = crate::test_corpus("quick_look_agrees_with_the_whole_head_on_the_corpus") else {
            return;
        };
        let (specs, _) = crate::input::expand_paths(&[corpus]);
        assert!(specs.len() > 100);
        for spec in &specs {
            let Ok(reader) = crate::input::open(spec) else { continue };
            let mut head = Vec::new();
            let _ =
                std::io::Read::read_to_end(&mut std::io::Read::take(reader, SNIFF_BYTES as u64), &mut head);
            if looks_utf16(&head) || xml_root(&head).is_some() {
                continue;
            }
            assert_eq!(sniff(&head), decide(&count_marks(&head)), "{}", spec.display);
        }
    }

    #[test]
    fn xml_roots() {
        assert_eq!(sniff(b"<system version=\"1\">\n  <cpu"), InputKind::NcclTopoXml);
        assert_eq!(sniff(b"<graphs version=\"1\">"), InputKind::NcclGraphXml);
        let prolog =
            b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- dumped\n by NCCL -->\n<!DOCTYPE x>\n<system>";
        assert_eq!(sniff(prolog), InputKind::NcclTopoXml);
        // Truncated in the middle of the first element.
        assert_eq!(
            sniff(b"<!-- c -->\n<graphs version=\"1\">\n  <graph id=\"0\" pat"),
            InputKind::NcclGraphXml
        );
        // `<systemd>` is not `<system>`.
        assert_eq!(sniff(b"<systemd/>"), InputKind::Unknown);
        // XML after a shell prompt: found by its element lines.
        let pasted = b"$ cat topo.xml\n<system version=\"1\">\n  <cpu numaid=\"0\">\n    \
                       <pci busid=\"0000:01:00.0\"/>\n";
        assert_eq!(sniff(pasted), InputKind::NcclTopoXml);
    }

    #[test]
    fn nccl_log_beats_tests_table_only_with_debug_lines() {
        let table = "#       size         count      type   redop    root     time   algbw   busbw #wrong\n\
                     \x20        8             2     float     sum      -1    12.90    0.00    0.00      0\n\
                     \x20       16             4     float     sum      -1    12.88    0.00    0.00      0\n\
                     # Avg bus bandwidth    : 1.23\n";
        assert_eq!(sniff(table.as_bytes()), InputKind::NcclTests);
        let with_banner = format!("NCCL version 2.19.4+cuda12.2\n{table}");
        assert_eq!(sniff(with_banner.as_bytes()), InputKind::NcclTests);
        let with_info = format!("node1:12:34 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>\n{table}");
        assert_eq!(sniff(with_info.as_bytes()), InputKind::NcclLog);
        assert_eq!(sniff(b"NCCL version 2.4.8+cuda10.1\n"), InputKind::NcclLog);
    }

    #[test]
    fn ucx_nixl_and_ucx_info_lines() {
        let ucx = b"[1716920651.160128] [gpu1:2592419:0]      ucp_worker.c:1783 UCX  INFO    \
                    ep_cfg[4]: tag(tcp/ib0)\n";
        assert_eq!(sniff(ucx), InputKind::UcxLog);
        let nixl = b"I0801 15:40:04.429156    1049 nixl_agent.cpp:92] NIXL ETCD is disabled\n";
        assert_eq!(sniff(nixl), InputKind::NixlLog);
        let info = b"# Memory domain: mlx5_0\n#     Component: ib\n#      Transport: rc_mlx5\n";
        assert_eq!(sniff(info), InputKind::UcxInfo);
        // Environment exports name tools without being their output.
        assert_eq!(sniff(b"export UCX_TLS=rc\nexport NIXL_LOG_LEVEL=DEBUG\n"), InputKind::Unknown);
    }

    #[test]
    fn nvidia_smi_topo() {
        let t = "\tGPU0\tGPU1\tCPU Affinity\tNUMA Affinity\n\
                 GPU0\t X \tNV12\t0-63\t0\n\
                 GPU1\tNV12\t X \t0-63\t0\n\nLegend:\n\n  X    = Self\n  PIX  = Connection\n";
        assert_eq!(sniff(t.as_bytes()), InputKind::NvidiaSmiTopo);
    }

    #[test]
    fn utf16_is_text_and_sniffed() {
        let text = "host:1:2 [0] NCCL INFO Using network IB\n";
        let mut le = vec![0xff, 0xfe];
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert!(!looks_binary(&le));
        assert_eq!(sniff(&le), InputKind::NcclLog);
        let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert!(looks_utf16(&be));
        assert_eq!(sniff(&be), InputKind::NcclLog);
    }

    #[test]
    fn binary_detection() {
        assert!(!looks_binary(b""));
        assert!(!looks_binary(b"plain text log\nwith lines\n"));
        // ELF header and a blob of NULs.
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
        elf.extend_from_slice(&[0u8; 200]);
        assert!(looks_binary(&elf));
        // One NUL in the middle of a long textual log is not binary.
        let mut log = "host:1:2 [0] NCCL INFO line\n".repeat(400).into_bytes();
        log[5000] = 0;
        assert!(!looks_binary(&log));
        // Nor is one early NUL in otherwise clean text.
        let mut early = log.clone();
        early[100] = 0;
        assert!(!looks_binary(&early));
        // copytruncate hole in front of text.
        let mut hole = vec![0u8; 4096];
        hole.extend_from_slice(&log);
        assert!(!looks_binary(&hole));
        assert!(looks_binary(&[0u8; 100]));
        // Random high bytes (another compressor's output): not text.
        let mut state = 12345u32;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8 | 0x80
            })
            .collect();
        assert!(looks_binary(&noise));
        // Latin-1 text is not binary.
        let latin1: Vec<u8> = "caf\u{e9} ".repeat(100).chars().map(|c| c as u8).collect();
        assert!(!looks_binary(&latin1));
    }

    /// What the corpus file at `rel` (under the shared corpus) must sniff as.
    fn expected(corpus: &str, name: &str, head: &[u8]) -> Vec<InputKind> {
        use InputKind::*;
        match corpus {
            "nccl" => match name.get(..3).unwrap_or("") {
                // Results tables without any NCCL_DEBUG line.
                "002" | "062" | "074" | "119" | "120" | "121" | "122" | "127" => vec![NcclTests],
                // nccl-tests' own failure (`Test CUDA failure common.cu:1030`) and MPI noise.
                "115" => vec![NcclTests],
                // A user-edited results table, then the mpirun command line.
                "124" => vec![NcclTests],
                // An nccl-tests run followed by `nvidia-smi topo -m`: the table is the point.
                "128" => vec![NcclTests],
                // NCCL 2.1 printed `host:pid:tid [dev] file:line WARN` without the word NCCL;
                // we recognise that shape.
                "107" => vec![NcclLog],
                // `lspci -vvv | grep ACSCtl` output: nothing NCCL about it.
                "136" => vec![Unknown],
                _ => vec![NcclLog],
            },
            "topo" if name.ends_with(".xml") => {
                // Expectation from content: the root element (the name says the same).
                let s = String::from_utf8_lossy(head);
                if s.contains("<graphs") {
                    vec![NcclGraphXml]
                } else {
                    vec![NcclTopoXml]
                }
            }
            "topo" => vec![NvidiaSmiTopo],
            "ucx" => ucx_expected(name),
            _ => vec![],
        }
    }

    /// Expectations for corpus/ucx, from what each file contains (its MANIFEST says the same
    /// for the pure ones). Files that mix UCX lines with NIXL/vLLM lines are decided by counts,
    /// with UCX winning close calls, as `decide` documents.
    fn ucx_expected(name: &str) -> Vec<InputKind> {
        use InputKind::*;
        match name.get(..3).unwrap_or("") {
            // ucx_info -d / -v / -e dumps (some with the '#' stripped).
            "022" | "023" | "025" | "026" | "028" | "029" | "043" | "056" | "062" | "065" | "067" => {
                vec![UcxInfo]
            }
            // NIXL/vLLM/SGLang logs where NIXL lines dominate.
            "005" | "010" | "017" | "055" | "058" | "059" | "104" | "107" => vec![NixlLog],
            // NIXL/vLLM logs whose UCX lines are as many as the NIXL ones, or more (1:1, 1:2,
            // 1:1, 5:3, 5:2): the close call goes to UCX, as `decide` documents. The lines are
            // classified one by one anyway, so the NIXL lines still reach the analyzer.
            "007" | "008" | "013" | "016" | "019" => vec![UcxLog],
            // 101: UCX ERROR lines from Open MPI, then a much longer `ucx_info -d` dump.
            "101" => vec![UcxInfo],
            _ => vec![UcxLog],
        }
    }

    #[test]
    fn corpus_files_sniff_as_their_content_says() {
        let Some(root) = crate::test_corpus("corpus_files_sniff_as_their_content_says") else { return };
        let mut failures = Vec::new();
        let mut checked = 0;
        for corpus in ["nccl", "topo", "ucx"] {
            let dir = root.join(corpus);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<_> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "MANIFEST.tsv" && !n.starts_with('.'))
                .collect();
            names.sort();
            for name in names {
                let data = std::fs::read(dir.join(&name)).unwrap();
                let head = &data[..data.len().min(SNIFF_BYTES)];
                let got = sniff(head);
                if std::env::var_os("NCCLSCOPE_SNIFF_DEBUG").is_some() {
                    eprintln!("{corpus}/{name}: {} {:?}", got.as_str(), count_marks(head));
                }
                let want = expected(corpus, &name, head);
                checked += 1;
                assert!(!looks_binary(head), "{corpus}/{name} looks binary");
                if !want.contains(&got) {
                    failures.push(format!(
                        "{corpus}/{name}: got {} want {:?} counts {:?}",
                        got.as_str(),
                        want.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                        count_marks(head)
                    ));
                }
            }
        }
        assert!(checked > 100, "only {checked} corpus files found");
        assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    }
}
