//! The topology printout of NCCL logs (`NCCL_DEBUG_SUBSYS=GRAPH`): `ncclTopoPrint` in
//! `src/graph/topo.cc` and the per-node path dump of `ncclTopoPrintPaths` (`paths.cc`).
//!
//! Shapes by version (spec nccl-log-format.md §10):
//! - header 2.5 `=== System : maxWidth 24 maxSpeed 24 ===`, 2.6 `maxWidth 1.2`, 2.8
//!   `maxWidth 252.0 totalWidth 252.0`, 2.14+ `maxBw 24.0 totalBw 240.0`; closing `=====…`;
//! - node ids ≤ 2.20 `GPU/1B000`, 2.21+ `GPU/0-1b000` (systemId-localId, hex);
//! - a root line per CPU (`CPU/0-0 (1/1/1)`), then link lines `+ PCI[24.0] - GPU/0-1b000 (0)`
//!   whose indentation is the column where the link's source node was printed;
//! - path lines `GPU/1A000 :GPU/1A000 (0/5000.000000/LOC) CPU/0 (2/12.0/PHB) …`.
//!
//! Lines arrive as `nccl::Event::Topology { text }` (first byte `=`, `+`, `CPU/`, `GPU/`) or, for
//! indented link lines and `NET/…`/`NIC/…` path lines, as `Event::Other`: callers may try
//! [`parse_printout`] on any NCCL message, it rejects other text after a few byte checks.
use serde::Serialize;

/// A node of NCCL's topology graph as printed: `GPU/0-1b000` → kind `GPU`, system `0`, local
/// `1b000`; `GPU/1B000` (≤ 2.20) → no system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct NodeId<'a> {
    /// `GPU`, `PCI`, `NVS`, `CPU`, `NIC`, `NET` (any upper-case word NCCL may add later).
    pub kind: &'a str,
    /// Host index in a multi-host (MNNVL) system, hex; `None` before 2.21.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<&'a str>,
    /// Local id: the bus id (`1b000` = `0000:1b:00.0`) for GPU/PCI/NIC, the index for the others.
    /// Hex, case as printed (upper-case before 2.21).
    pub local: &'a str,
}

impl NodeId<'_> {
    /// The local id as a number (it is hex in every version).
    pub fn local_value(&self) -> Option<u64> {
        u64::from_str_radix(self.local, 16).ok()
    }
}

/// One destination of a path line: `NET/0 (5/12.000000/PHB)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PathTo<'a> {
    pub node: NodeId<'a>,
    pub hops: u32,
    pub bw: f64,
    /// `LOC`, `NVL`, `NVB`, `C2C`, `PIX`, `PXB`, `P2C`, `PXN`, `PHB`, `SYS`, `NET`, `DIS`.
    pub path_type: &'a str,
}

/// One line of the topology printout.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PrintoutLine<'a> {
    /// `=== System : maxBw 24.0 totalBw 240.0 ===` (and the older `maxWidth`/`totalWidth`/
    /// `maxSpeed` spellings, which carry the same quantities in GB/s).
    Header {
        #[serde(skip_serializing_if = "Option::is_none")]
        max_bw: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        total_bw: Option<f64>,
        /// 2.5 only: `maxSpeed`.
        #[serde(skip_serializing_if = "Option::is_none")]
        max_speed: Option<f64>,
    },
    /// The `==========…` line closing the printout.
    End,
    /// A root node line: `CPU/0-0 (1/1/1)`.
    Node {
        indent: usize,
        node: NodeId<'a>,
        /// What follows in parentheses: GPU rank, CPU `arch/vendor/model`, PCI device id, NET
        /// `[asic/]guid/port/bw`.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'a str>,
    },
    /// `+ PCI[24.0] - GPU/0-1b000 (0)`.
    Link {
        /// Column of the `+`: the column where the source node was printed (0 = a root node).
        indent: usize,
        /// Column where the target node starts; links printed from the target use it as their
        /// `indent` (see [`PrintoutDepth`]).
        target_column: usize,
        /// `LOC`, `NVL`, `PCI`, `SYS`, `NET`, `C2C` (2.26+), `QPI` (2.5).
        link_type: &'a str,
        bw: f64,
        target: NodeId<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'a str>,
    },
    /// `GPU/1A000 :GPU/1A000 (0/5000.000000/LOC) CPU/0 (2/12.0/PHB) NET/0 (5/12.0/PHB)`.
    Paths {
        from: NodeId<'a>,
        to: Vec<PathTo<'a>>,
        /// True when text after the last destination did not parse (NCCL cuts long lines at
        /// its line buffer).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        cut: bool,
    },
}

impl PrintoutLine<'_> {
    /// The rank of a GPU node line or link target (`GPU/0-1b000 (3)` → 3).
    pub fn gpu_rank(&self) -> Option<i64> {
        let (node, detail) = match self {
            PrintoutLine::Node { node, detail, .. } => (node, detail),
            PrintoutLine::Link { target, detail, .. } => (target, detail),
            _ => return None,
        };
        if node.kind != "GPU" {
            return None;
        }
        detail.as_ref()?.trim().parse().ok()
    }
}

/// Parses one message of the topology printout (the text after `NCCL INFO `, indentation
/// kept). `None` for anything else, including the `Pattern …` and channel lines of the graph
/// search.
pub fn parse_printout(text: &str) -> Option<PrintoutLine<'_>> {
    let text = text.trim_end();
    let body = text.trim_start_matches(' ');
    let indent = text.len() - body.len();
    let first = *body.as_bytes().first()?;
    match first {
        b'=' => header(body),
        b'+' => link(body, indent),
        b'A'..=b'Z' => node_or_paths(body, indent),
        _ => None,
    }
}

fn header(body: &str) -> Option<PrintoutLine<'_>> {
    if body.len() >= 3 && body.bytes().all(|b| b == b'=') {
        return Some(PrintoutLine::End);
    }
    let inner = body.strip_prefix("=== System :")?.trim_end_matches('=').trim();
    let (mut max_bw, mut total_bw, mut max_speed) = (None, None, None);
    let mut words = inner.split_whitespace();
    while let Some(key) = words.next() {
        let value = words.next().and_then(|v| v.parse::<f64>().ok());
        match key {
            "maxBw" | "maxWidth" => max_bw = value,
            "totalBw" | "totalWidth" => total_bw = value,
            "maxSpeed" => max_speed = value,
            _ => {}
        }
    }
    Some(PrintoutLine::Header { max_bw, total_bw, max_speed })
}

fn link(body: &str, indent: usize) -> Option<PrintoutLine<'_>> {
    let rest = body.strip_prefix("+ ")?;
    let open = rest.find('[')?;
    let link_type = &rest[..open];
    if !is_upper_word(link_type) {
        return None;
    }
    let close = open + rest[open..].find(']')?;
    let bw = rest[open + 1..close].trim().parse::<f64>().ok()?;
    let after = &rest[close + 1..];
    let target_text = after.strip_prefix(" - ")?;
    let target_column = indent + body.len() - target_text.len();
    let (target, detail) = node_with_detail(target_text)?;
    Some(PrintoutLine::Link { indent, target_column, link_type, bw, target, detail })
}

fn node_or_paths(body: &str, indent: usize) -> Option<PrintoutLine<'_>> {
    // Path lines: `SRC :DST (h/bw/T) DST (h/bw/T) …` (no space between `:` and the first target).
    if let Some(colon) = body.find(" :") {
        let from = node_id(&body[..colon])?;
        return paths(from, &body[colon + 2..]);
    }
    let (node, detail) = node_with_detail(body)?;
    Some(PrintoutLine::Node { indent, node, detail })
}

fn paths<'a>(from: NodeId<'a>, mut rest: &'a str) -> Option<PrintoutLine<'a>> {
    let mut to = Vec::new();
    let mut cut = false;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        match path_to(rest) {
            Some((p, after)) => {
                to.push(p);
                rest = after;
            }
            None => {
                cut = true;
                break;
            }
        }
    }
    // A cut first destination still tells which node the paths are from, but text with no
    // destination at all is not a path line.
    if to.is_empty() {
        return None;
    }
    Some(PrintoutLine::Paths { from, to, cut })
}

/// `NET/0 (5/12.000000/PHB)` at the start of `s`, and what follows it.
fn path_to(s: &str) -> Option<(PathTo<'_>, &str)> {
    let space = s.find(' ')?;
    let node = node_id(&s[..space])?;
    let paren = s[space..].trim_start().strip_prefix('(')?;
    let close = paren.find(')')?;
    let mut parts = paren[..close].split('/');
    let hops = parts.next()?.parse().ok()?;
    let bw = parts.next()?.parse().ok()?;
    let path_type = parts.next()?;
    if parts.next().is_some() || !is_upper_word(path_type) {
        return None;
    }
    Some((PathTo { node, hops, bw, path_type }, &paren[close + 1..]))
}

/// `GPU/0-1b000 (0)`, `NIC/0-67000`, `NET/0-c (0/d4f9fc0003ae6d94/1/50.000000)`.
fn node_with_detail(s: &str) -> Option<(NodeId<'_>, Option<&str>)> {
    let s = s.trim_end();
    let Some((id, rest)) = s.split_once(' ') else {
        return Some((node_id(s)?, None));
    };
    let detail = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    if detail.contains(['(', ')']) {
        return None;
    }
    Some((node_id(id)?, Some(detail)))
}

/// `GPU/0-1b000`, `GPU/1B000`, `CPU/0`, `NVS/0-0`.
fn node_id(s: &str) -> Option<NodeId<'_>> {
    let (kind, id) = s.split_once('/')?;
    if !is_upper_word(kind) || kind.len() > 4 || !kind.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let (system, local) = match id.split_once('-') {
        Some((sys, local)) => (Some(sys), local),
        None => (None, id),
    };
    let hex = |v: &str| !v.is_empty() && v.len() <= 16 && v.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(local) || !system.is_none_or(hex) {
        return None;
    }
    Some(NodeId { kind, system, local })
}

fn is_upper_word(s: &str) -> bool {
    !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Turns the indentation of successive printout lines into tree depth: a link's `indent` is the
/// column where its source node was printed. Feed lines in order; `depth` is 0 for a root node
/// line and, for a link, the depth of its target (1 = linked from a root node).
#[derive(Debug, Default, Clone)]
pub struct PrintoutDepth {
    /// Columns of the nodes on the current path from the root, outermost first.
    columns: Vec<usize>,
}

impl PrintoutDepth {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn depth(&mut self, line: &PrintoutLine<'_>) -> Option<usize> {
        match line {
            PrintoutLine::Node { indent, .. } => {
                self.columns.clear();
                self.columns.push(*indent);
                Some(0)
            }
            PrintoutLine::Link { indent, target_column, .. } => {
                // Re-spaced copies may shift columns: the source is the innermost node printed
                // at or left of the `+`.
                while self.columns.last().is_some_and(|&c| c > *indent) {
                    self.columns.pop();
                }
                if self.columns.is_empty() {
                    self.columns.push(*indent);
                }
                let depth = self.columns.len();
                self.columns.push(*target_column);
                Some(depth)
            }
            PrintoutLine::Header { .. } | PrintoutLine::End => {
                self.columns.clear();
                None
            }
            PrintoutLine::Paths { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(kind: &'a str, system: Option<&'a str>, local: &'a str) -> NodeId<'a> {
        NodeId { kind, system, local }
    }

    #[test]
    fn headers_of_every_version() {
        let h = |s| parse_printout(s).unwrap();
        assert_eq!(
            h("=== System : maxWidth 24 maxSpeed 24 ==="),
            PrintoutLine::Header { max_bw: Some(24.0), total_bw: None, max_speed: Some(24.0) }
        );
        assert_eq!(
            h("=== System : maxWidth 1.2 ==="),
            PrintoutLine::Header { max_bw: Some(1.2), total_bw: None, max_speed: None }
        );
        assert_eq!(
            h("=== System : maxWidth 252.0 totalWidth 252.0 ==="),
            PrintoutLine::Header { max_bw: Some(252.0), total_bw: Some(252.0), max_speed: None }
        );
        assert_eq!(
            h("=== System : maxBw 24.0 totalBw 240.0 ==="),
            PrintoutLine::Header { max_bw: Some(24.0), total_bw: Some(240.0), max_speed: None }
        );
        assert_eq!(h("=========================================="), PrintoutLine::End);
    }

    #[test]
    fn node_lines() {
        let n = |s| parse_printout(s).unwrap();
        assert_eq!(
            n("CPU/0-0 (1/1/1)"),
            PrintoutLine::Node { indent: 0, node: id("CPU", Some("0"), "0"), detail: Some("1/1/1") }
        );
        assert_eq!(
            n("CPU/0 (1/2/-1)"),
            PrintoutLine::Node { indent: 0, node: id("CPU", None, "0"), detail: Some("1/2/-1") }
        );
        let gpu = n("GPU/0-1b000 (0)");
        assert_eq!(
            gpu,
            PrintoutLine::Node { indent: 0, node: id("GPU", Some("0"), "1b000"), detail: Some("0") }
        );
        assert_eq!(gpu.gpu_rank(), Some(0));
        assert_eq!(n("GPU/1B000 (3)").gpu_rank(), Some(3));
        assert_eq!(n("NIC/0"), PrintoutLine::Node { indent: 0, node: id("NIC", None, "0"), detail: None });
        assert_eq!(
            n("NVS/0-0"),
            PrintoutLine::Node { indent: 0, node: id("NVS", Some("0"), "0"), detail: None }
        );
        assert_eq!(
            n("NET/0 (0/0/1.250000)"),
            PrintoutLine::Node { indent: 0, node: id("NET", None, "0"), detail: Some("0/0/1.250000") }
        );
        assert_eq!(id("GPU", None, "1B000").local_value(), Some(0x1b000));
    }

    #[test]
    fn link_lines_and_depth() {
        let lines = [
            "CPU/0-0 (1/1/1)",
            "+ PCI[24.0] - PCI/0-17000 (1000c01010000000)",
            "              + PCI[24.0] - GPU/0-1b000 (0)",
            "                            + NVL[240.0] - NVS/0-0",
            "              + PCI[24.0] - NIC/0-1c000",
            "                            + NET[25.0] - NET/0-0 (0/d4f9fc0003ae6d94/1/50.000000)",
            "+ SYS[10.0] - CPU/0-1",
            "+ C2C[900.0] - GPU/0-9000 (2)",
        ];
        let mut depth = PrintoutDepth::new();
        let parsed: Vec<_> = lines.iter().map(|l| parse_printout(l).unwrap()).collect();
        let depths: Vec<_> = parsed.iter().map(|l| depth.depth(l)).collect();
        assert_eq!(depths, [Some(0), Some(1), Some(2), Some(3), Some(2), Some(3), Some(1), Some(1)]);
        assert_eq!(
            parsed[2],
            PrintoutLine::Link {
                indent: 14,
                target_column: 28,
                link_type: "PCI",
                bw: 24.0,
                target: id("GPU", Some("0"), "1b000"),
                detail: Some("0"),
            }
        );
        assert_eq!(parsed[2].gpu_rank(), Some(0));
        let PrintoutLine::Link { link_type, target, detail, .. } = &parsed[3] else { panic!() };
        assert_eq!((*link_type, target.kind, *detail), ("NVL", "NVS", None));
        // 2.5: QPI links, decimal-looking ids without the system part.
        assert!(matches!(
            parse_printout("+ QPI[8.0] - CPU/1"),
            Some(PrintoutLine::Link { link_type: "QPI", bw, .. }) if bw == 8.0
        ));
        assert!(matches!(parse_printout("+ PCI[5000.0] - NIC/0"), Some(PrintoutLine::Link { .. })));
    }

    #[test]
    fn path_lines() {
        let l = parse_printout(
            "GPU/1A000 :GPU/1A000 (0/5000.000000/LOC) CPU/0 (2/12.000000/PHB) NET/0 (5/12.000000/PHB) ",
        )
        .unwrap();
        let PrintoutLine::Paths { from, to, cut } = l else { panic!("{l:?}") };
        assert_eq!(from, id("GPU", None, "1A000"));
        assert!(!cut);
        assert_eq!(to.len(), 3);
        assert_eq!(to[2], PathTo { node: id("NET", None, "0"), hops: 5, bw: 12.0, path_type: "PHB" });
        let l = parse_printout("GPU/0-1a000 :GPU/0-1a000 (0/5000.0/LOC) NET/0-1 (5/12.0/PXN) NET/").unwrap();
        assert!(matches!(l, PrintoutLine::Paths { ref to, cut: true, .. } if to.len() == 2), "{l:?}");
    }

    #[test]
    fn not_printout() {
        for s in [
            "",
            "Pattern 4, crossNic 0, nChannels 2, bw 24.000000/24.000000, type NVL/PIX, sameChannels 1",
            " 0 : NET/0 GPU/0 NET/0",
            "NET/Plugin : No plugin found (libnccl-net.so).",
            "NET/IB : Using [0]mlx5_0:1/IB ; OOB ib0:10.0.0.1<0>",
            "NET/Socket : Using [0]eth0:10.0.0.1<0>",
            "NET/FastSocket : Connected after 1000 retries.",
            "CPU/0 something",
            "GPU/xyz (0)",
            "Channel 00/02 :    0   1",
            "+ PCI[abc] - GPU/0",
            "+ pci[1.0] - GPU/0",
            "==",
            "= x",
        ] {
            assert_eq!(parse_printout(s), None, "{s:?}");
        }
    }

    #[test]
    fn serializes_with_a_type_tag() {
        let v = serde_json::to_value(parse_printout("+ PCI[24.0] - GPU/0-1b000 (0)").unwrap()).unwrap();
        assert_eq!(v["type"], "link");
        assert_eq!(v["target"]["kind"], "GPU");
        assert_eq!(v["target"]["system"], "0");
    }
}
