//! Topology renderings: the `gpu_nic_map` of the JSON report, and `ncclscope topo` (per host a
//! tree, the GPU×GPU / GPU×NIC matrix in `nvidia-smi topo -m` notation, the used-vs-nearest NIC
//! table; Graphviz DOT; JSON graph + mapping).
use std::fmt::Write as _;

use petgraph::graph::NodeIndex;
use serde::Serialize;

use crate::topology::{GpuNicEntry, HostTopo, Link, NodeKind};
use crate::Analysis;

/// One `gpu_nic_map` row (report.md).
#[derive(Debug, Clone, Serialize)]
pub struct GpuNicOut {
    pub host: String,
    pub rank: Option<u32>,
    pub gpu: Option<u32>,
    pub bus_id: Option<String>,
    pub nic_used: Vec<String>,
    pub nic_nearest: Vec<String>,
    /// To the used NIC when known, else to the nearest (`PIX`, `PXB`, `PHB`, `SYS`, `P2C`).
    pub path: Option<String>,
    /// To the nearest NIC (added field).
    pub path_nearest: Option<String>,
    /// The used NIC is farther than the nearest (added field).
    pub mismatch: bool,
    pub source: &'static str,
}

fn host_label(a: &Analysis, e: &GpuNicEntry) -> String {
    e.host.clone().unwrap_or_else(|| a.path(e.input).to_string())
}

/// A table cell: the host, or the file name of a topology input (its full path is in the
/// section title).
fn short_host(h: &str) -> &str {
    if h.contains('/') {
        h.rsplit('/').next().unwrap_or(h)
    } else {
        h
    }
}

pub fn gpu_nic_map(a: &Analysis) -> Vec<GpuNicOut> {
    a.job
        .topology
        .map
        .entries
        .iter()
        .map(|e| GpuNicOut {
            host: host_label(a, e),
            rank: e.rank,
            gpu: e.gpu,
            bus_id: e.bus_id.clone(),
            nic_used: e.nic_used.clone(),
            nic_nearest: e.nic_nearest.clone(),
            path: e.path().map(|c| c.as_string()),
            path_nearest: e.nearest_class.map(|c| c.as_string()),
            mismatch: e.mismatch(),
            source: e.source,
        })
        .collect()
}

fn host_title(a: &Analysis, h: &HostTopo) -> String {
    if let Some(name) = &h.host_name {
        return format!("{name} (NCCL log topology printout, {})", a.path(h.input));
    }
    match &h.host_hash {
        Some(hh) => format!("host {hh} ({})", a.path(h.input)),
        None => a.path(h.input).to_string(),
    }
}

fn link_text(h: &HostTopo, n: NodeIndex) -> String {
    let node = h.node(n);
    let mut s = String::new();
    if let Some(raw) = node.link_speed_raw.as_deref() {
        if node.link_gts.is_some() {
            let _ = write!(s, "{} GT/s", node.link_gts.unwrap_or(0.0));
        } else {
            let _ = write!(s, "speed \"{raw}\"");
        }
    }
    if let Some(w) = node.link_width {
        let _ = write!(s, " x{w}");
    }
    s.trim().to_string()
}

fn node_line(h: &HostTopo, n: NodeIndex) -> String {
    let node = h.node(n);
    let mut s = node.label();
    match node.kind {
        Some(NodeKind::Gpu) => {
            if let Some(r) = node.rank {
                let _ = write!(s, " rank {r}");
            }
            let nv: u32 = h
                .graph
                .edges(n)
                .filter_map(|e| match e.weight() {
                    Link::NvLink { count } => Some(*count),
                    _ => None,
                })
                .sum();
            if nv > 0 {
                let _ = write!(s, " NVLink×{nv}");
            }
            if node.c2c {
                s.push_str(" C2C");
            }
        }
        Some(NodeKind::Net) => {
            if let Some(sp) = node.speed_mbps {
                let _ = write!(s, " {} Gb/s", sp / 1000);
            }
            if node.gdr == Some(false) {
                s.push_str(" gdr=0");
            }
        }
        Some(NodeKind::Cpu) => {
            if let Some(aff) = &node.affinity {
                let _ = write!(s, " affinity {aff}");
            }
        }
        _ => {}
    }
    let l = link_text(h, n);
    if !l.is_empty() && !node.is(NodeKind::Cpu) {
        let _ = write!(s, " [{l}]");
    }
    s
}

/// Tree levels drawn below a CPU. Real machines are under 10 deep; a hostile dump nested
/// 100 000 deep would otherwise print a quadratic amount of indentation (issue 7).
const MAX_TREE_DEPTH: usize = 32;

/// Draws the PCI tree under `root`. Iterative (explicit stack, same order as a pre-order
/// recursion): the depth comes from the input and must not overflow the stack (issue 7).
fn tree(out: &mut String, h: &HostTopo, root: NodeIndex) {
    let mut todo: Vec<(NodeIndex, String, bool, usize)> = vec![(root, String::new(), true, 0)];
    while let Some((n, prefix, last, depth)) = todo.pop() {
        if depth == 0 {
            let _ = writeln!(out, "  {}", node_line(h, n));
        } else {
            let _ = writeln!(out, "  {prefix}{}{}", if last { "└─ " } else { "├─ " }, node_line(h, n));
        }
        let kids = h.children(n);
        if kids.is_empty() {
            continue;
        }
        let next = if depth == 0 {
            String::new()
        } else {
            format!("{prefix}{}", if last { "   " } else { "│  " })
        };
        if depth == MAX_TREE_DEPTH {
            let hidden = descendants(h, n);
            let _ = writeln!(out, "  {next}└─ … {hidden} more node(s) deeper than {MAX_TREE_DEPTH} levels");
            continue;
        }
        for (i, k) in kids.iter().enumerate().rev() {
            todo.push((*k, next.clone(), i + 1 == kids.len(), depth + 1));
        }
    }
}

fn descendants(h: &HostTopo, n: NodeIndex) -> usize {
    let mut todo = h.children(n);
    let mut count = 0;
    while let Some(k) = todo.pop() {
        count += 1;
        todo.extend(h.children(k));
    }
    count
}

fn matrix(h: &HostTopo) -> String {
    let gpus = h.gpus();
    let nics = h.nic_ends();
    let mut cols: Vec<String> = (0..gpus.len()).map(|i| format!("GPU{i}")).collect();
    cols.extend((0..nics.len()).map(|i| format!("NIC{i}")));
    let mut out = String::new();
    let _ =
        writeln!(out, "  {:<8}{}", "", cols.iter().map(|c| format!("{c:<7}")).collect::<String>().trim_end());
    for (i, g) in gpus.iter().enumerate() {
        let mut cells: Vec<String> = gpus
            .iter()
            .enumerate()
            .map(|(j, o)| if i == j { "X".to_string() } else { h.gpu_path(*g, *o).as_string() })
            .collect();
        cells.extend(nics.iter().map(|n| h.pci_path(*g, n.node).as_string()));
        let _ = writeln!(
            out,
            "  {:<8}{}",
            format!("GPU{i}"),
            cells.iter().map(|c| format!("{c:<7}")).collect::<String>().trim_end()
        );
    }
    if !nics.is_empty() {
        out.push_str("\n  NIC Legend:\n");
        for (i, n) in nics.iter().enumerate() {
            let _ = writeln!(out, "    NIC{i}: {}", n.name);
        }
    }
    out
}

pub const LEGEND: &str = "Legend: X = self, NV# = # NVLinks, PIX = one PCIe switch, PXB = several PCIe switches, PHB = through the CPU's root complex (nvidia-smi may print NODE for this), P2C = Grace C2C to a NIC of its CPU, SYS = across CPUs (NUMA nodes), NET = another host.";

fn map_table(a: &Analysis) -> String {
    let rows = gpu_nic_map(a);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("GPU ↔ NIC (used vs nearest)\n");
    let opt = |v: Option<u32>| v.map_or("-".to_string(), |x| x.to_string());
    let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join("+") };
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                short_host(&r.host).to_string(),
                opt(r.rank),
                opt(r.gpu),
                r.bus_id.clone().unwrap_or_else(|| "-".into()),
                list(&r.nic_used),
                list(&r.nic_nearest),
                r.path.clone().unwrap_or_else(|| "-".into()),
                r.source.to_string(),
            ]
        })
        .collect();
    // Columns as wide as their widest cell: host names and NIC lists vary a lot.
    let header = ["host", "rank", "gpu", "bus id", "used", "nearest", "path", "source"];
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |marker: &str, row: &[String]| {
        let mut l = format!("{marker} ");
        for (i, (c, w)) in row.iter().zip(&width).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            if i == 1 || i == 2 {
                l.push_str(&" ".repeat(pad));
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(pad));
            }
            l.push_str("  ");
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(" ", &header.map(String::from)));
    for (r, row) in rows.iter().zip(&cells) {
        let _ = writeln!(out, "{}", line(if r.mismatch { "!" } else { " " }, row));
    }
    out.push_str("  ! = the GPU used a NIC farther than its nearest one\n");
    out
}

/// `ncclscope topo --format text`.
pub fn render_text(a: &Analysis) -> String {
    let t = &a.job.topology;
    let mut out = String::new();
    for h in &t.hosts {
        let _ = writeln!(out, "== {}", host_title(a, h));
        if h.truncated {
            out.push_str("  (the document is truncated: what follows is what parsed)\n");
        }
        for cpu in h.nodes_of(NodeKind::Cpu) {
            tree(&mut out, h, cpu);
        }
        out.push('\n');
        out.push_str(&matrix(h));
        out.push('\n');
    }
    for (input, m) in &t.smi {
        let _ = writeln!(out, "== nvidia-smi topo -m ({})", a.path(*input));
        out.push_str(&ncclscope_parser::topo::smi::render(m));
        out.push('\n');
    }
    if !t.hosts.is_empty() || !t.smi.is_empty() {
        out.push_str(LEGEND);
        out.push_str("\n\n");
    }
    out.push_str(&map_table(a));
    if out.is_empty() {
        out.push_str("No topology found: give a topology dump (NCCL_TOPO_DUMP_FILE), an `nvidia-smi topo -m` output, or NCCL logs with connection lines.\n");
    }
    out
}

/// The short form for the text/Markdown reports: the map table and each host's matrix.
pub fn render_summary(a: &Analysis) -> String {
    let t = &a.job.topology;
    let mut out = map_table(a);
    for h in &t.hosts {
        let _ = writeln!(out, "\n{}", host_title(a, h));
        out.push_str(&matrix(h));
    }
    out
}

fn dot_id(hi: usize, n: NodeIndex) -> String {
    format!("h{hi}n{}", n.index())
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `ncclscope topo --format dot`: one cluster per host; GPU→NIC pairs NCCL used, red where
/// the used NIC is farther than the nearest.
pub fn render_dot(a: &Analysis) -> String {
    let t = &a.job.topology;
    let mut out = String::from("digraph topology {\n  rankdir=TB;\n  node [fontname=\"monospace\"];\n");
    for (hi, h) in t.hosts.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{hi} {{\n    label=\"{}\";", dot_escape(&host_title(a, h)));
        for n in h.graph.node_indices() {
            let node = h.node(n);
            let shape = match node.kind {
                Some(NodeKind::Cpu) => "box3d",
                Some(NodeKind::Gpu) => "box",
                Some(NodeKind::Net | NodeKind::Nic) => "ellipse",
                Some(NodeKind::NvSwitch) => "hexagon",
                _ => "diamond",
            };
            let _ = writeln!(
                out,
                "    {} [shape={shape}, label=\"{}\"];",
                dot_id(hi, n),
                dot_escape(&node_line(h, n))
            );
        }
        for e in h.graph.edge_indices() {
            let Some((x, y)) = h.graph.edge_endpoints(e) else { continue };
            let style = match h.graph[e] {
                Link::Pci { .. } => String::new(),
                Link::NvLink { count } => format!(" [color=green, label=\"NV{count}\", dir=none]"),
                Link::C2c { .. } => " [label=\"C2C\"]".into(),
                Link::Sys => " [style=dashed, label=\"SYS\", dir=none]".into(),
            };
            let _ = writeln!(out, "    {} -> {}{style};", dot_id(hi, x), dot_id(hi, y));
        }
        out.push_str("  }\n");
    }
    for e in &t.map.entries {
        let Some((hi, g)) = e.topo else { continue };
        let Some(h) = t.hosts.get(hi) else { continue };
        for used in &e.nic_used {
            let Some(end) = h.find_nic(used) else { continue };
            let color = if e.mismatch() { "red" } else { "blue" };
            let _ = writeln!(
                out,
                "  {} -> {} [color={color}, style=bold, constraint=false, label=\"used {}\"];",
                dot_id(hi, g),
                dot_id(hi, end.node),
                h.pci_path(g, end.node).as_string()
            );
        }
    }
    out.push_str("}\n");
    out
}

#[derive(Serialize)]
struct JsonNode<'a> {
    id: usize,
    #[serde(flatten)]
    node: &'a crate::topology::Node,
}

#[derive(Serialize)]
struct JsonEdge {
    from: usize,
    to: usize,
    #[serde(flatten)]
    link: Link,
}

#[derive(Serialize)]
struct JsonHost<'a> {
    host: String,
    path: &'a str,
    truncated: bool,
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge>,
    matrix: Vec<Vec<String>>,
}

/// `ncclscope topo --format json`: per host the graph (nodes, edges), the GPU×(GPU+NIC)
/// matrix, and the GPU↔NIC map.
pub fn render_json(a: &Analysis) -> String {
    let t = &a.job.topology;
    let hosts: Vec<JsonHost<'_>> = t
        .hosts
        .iter()
        .map(|h| {
            let gpus = h.gpus();
            let nics = h.nic_ends();
            JsonHost {
                host: h
                    .host_name
                    .clone()
                    .or_else(|| h.host_hash.clone())
                    .unwrap_or_else(|| a.path(h.input).to_string()),
                path: a.path(h.input),
                truncated: h.truncated,
                nodes: h.graph.node_indices().map(|n| JsonNode { id: n.index(), node: h.node(n) }).collect(),
                edges: h
                    .graph
                    .edge_indices()
                    .filter_map(|e| {
                        let (x, y) = h.graph.edge_endpoints(e)?;
                        Some(JsonEdge { from: x.index(), to: y.index(), link: h.graph[e] })
                    })
                    .collect(),
                matrix: gpus
                    .iter()
                    .map(|g| {
                        gpus.iter()
                            .map(|o| if o == g { "X".to_string() } else { h.gpu_path(*g, *o).as_string() })
                            .chain(nics.iter().map(|n| h.pci_path(*g, n.node).as_string()))
                            .collect()
                    })
                    .collect(),
            }
        })
        .collect();
    let doc = serde_json::json!({
        "schema": "ncclscope.topo/v1",
        "hosts": hosts,
        "gpu_nic_map": gpu_nic_map(a),
    });
    super::json::escape_c1(
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string())),
    )
}
