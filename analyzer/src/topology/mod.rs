//! The machine as NCCL sees it: one graph per host (CPU/NUMA nodes, PCI switches, GPUs, NICs,
//! net ports, NVSwitch; PCI, NVLink, C2C and SYS links), built from topology XML dumps
//! (`NCCL_TOPO_DUMP_FILE` / `NCCL_TOPO_FILE`), and the GPU↔NIC locality NCCL's
//! `src/graph/paths.cc` computes on it. `nvidia-smi topo -m` matrices are kept as given.
//! Shapes: ../shared/spec/topology-xml.md.
use std::collections::BTreeMap;

use ncclscope_parser::topo::{XmlDoc, XmlElement};
use ncclscope_parser::{InputId, Position};
use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::finding::Evidence;
use crate::model::Job;

pub mod map;
pub mod printout;

pub use map::{GpuNicEntry, GpuNicMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Cpu,
    Switch,
    Gpu,
    Nic,
    Net,
    NvSwitch,
    /// A PCI endpoint that is neither GPU nor NIC (NVMe, …): kept for the tree, never a path end.
    Other,
}

/// One node of a host graph.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Node {
    pub kind: Option<NodeKind>,
    pub bus_id: Option<String>,
    /// `<cpu numaid>`.
    pub numaid: Option<i64>,
    pub affinity: Option<String>,
    /// `<gpu dev>` / `<net dev>`.
    pub dev: Option<u32>,
    pub rank: Option<u32>,
    pub sm: Option<u32>,
    /// `<net name>`.
    pub name: Option<String>,
    /// `<net speed>` in Mb/s.
    pub speed_mbps: Option<u64>,
    pub gdr: Option<bool>,
    /// `<pci vendor>:<device>` (`0x10de:0x20b5`).
    pub pci_id: Option<String>,
    /// vendor|device|subsystem_vendor|subsystem_device, for NCCL's Broadcom switch test.
    #[serde(skip)]
    pub pci_full: Option<u64>,
    /// `<pci link_speed>` as written, and parsed (GT/s).
    pub link_speed_raw: Option<String>,
    pub link_gts: Option<f64>,
    /// `<pci link_width>` (`0` = unknown, NCCL assumes 16).
    pub link_width: Option<u32>,
    /// The GPU has a Grace C2C link to its CPU.
    pub c2c: bool,
    /// Log printout (2.21+): the system id of `GPU/1-1b000` (a host of a multi-node NVLink
    /// system); nodes of different systems are a network hop apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<u64>,
    /// The element that defines it (the `<pci>`, or the `<gpu>`/`<net>` when more telling).
    #[serde(skip)]
    pub ev: Option<Evidence>,
}

impl Node {
    pub fn is(&self, k: NodeKind) -> bool {
        self.kind == Some(k)
    }
    /// A short label: `GPU0 (0000:4f:00.0)`, `rdmap79s0`, `switch ffff:ff:01.0`, `CPU0`.
    pub fn label(&self) -> String {
        let bus = self.bus_id.as_deref().unwrap_or("?");
        match self.kind {
            Some(NodeKind::Cpu) => match self.numaid {
                Some(n) => format!("CPU{n}"),
                None => "CPU".into(),
            },
            Some(NodeKind::Gpu) => match self.dev {
                Some(d) => format!("GPU{d} ({bus})"),
                None => format!("GPU {bus}"),
            },
            Some(NodeKind::Net) => self.name.clone().unwrap_or_else(|| format!("net {bus}")),
            Some(NodeKind::Nic) => format!("NIC {bus}"),
            Some(NodeKind::Switch) => format!("switch {bus}"),
            Some(NodeKind::NvSwitch) => "NVSwitch".into(),
            _ => format!("pci {bus}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Link {
    /// Parent → child in the PCI tree; speed/width of the child's link.
    Pci {
        gts: Option<f64>,
        width: Option<u32>,
    },
    NvLink {
        count: u32,
    },
    C2c {
        bw: Option<u64>,
        count: Option<u32>,
    },
    /// Between two CPUs of a host (the CPU interconnect).
    Sys,
}

/// Where a host graph came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopoSource {
    Xml,
    /// The topology printout of an NCCL log (GRAPH): coarser (no link speeds, no NIC names),
    /// but with NCCL's own path types when it printed its path lines.
    Log,
}

/// An `<nvlink>` as written, for NVLINK_TOPO_ANOMALY.
#[derive(Debug, Clone)]
pub struct NvLinkRec {
    pub gpu: NodeIndex,
    pub target: String,
    pub tclass: Option<String>,
    pub count: Option<u32>,
    pub ev: Evidence,
}

/// One host's graph.
#[derive(Debug, Clone)]
pub struct HostTopo {
    pub input: InputId,
    /// `<cpu host_hash>` (2.21+): several hosts in one fused MNNVL dump.
    pub host_hash: Option<String>,
    pub source: TopoSource,
    pub graph: Graph<Node, Link>,
    /// PCI parent of each node (indices match the graph's).
    pub parent: Vec<Option<NodeIndex>>,
    pub nvlinks: Vec<NvLinkRec>,
    /// The document was cut: what is missing may just not have been written.
    pub truncated: bool,
    /// The log's host name (printout graphs: the host whose processes printed it).
    pub host_name: Option<String>,
    /// NCCL's own path types (the printout's path lines), (from, to) → class: preferred over
    /// what the graph computes.
    pub nccl_paths: BTreeMap<(NodeIndex, NodeIndex), PathClass>,
    /// The path line printed from a node.
    pub path_ev: BTreeMap<NodeIndex, Evidence>,
}

/// GPU↔GPU / GPU↔NIC distance, as `nvidia-smi topo -m` and NCCL's paths.cc name it, nearest
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathClass {
    /// NVLink, with the number of links (NVSwitch: the GPU's links to it).
    Nv(std::cmp::Reverse<u32>),
    /// One PCI switch between them.
    Pix,
    /// Several PCI switches, not through the CPU.
    Pxb,
    /// Grace: GPU to a NIC of its CPU over C2C.
    P2c,
    /// PCIe × NVLink (2.12+): through another GPU over NVLink, then PCI to the NIC (only NCCL's
    /// path lines say so).
    Pxn,
    /// Through the CPU's root complex (nvidia-smi prints PHB or NODE; the XML cannot tell).
    Phb,
    /// Another CPU of the host (the CPU interconnect).
    Sys,
    /// Another host.
    Net,
}

impl PathClass {
    pub fn as_string(&self) -> String {
        match self {
            PathClass::Nv(c) => format!("NV{}", c.0),
            PathClass::Pix => "PIX".into(),
            PathClass::Pxb => "PXB".into(),
            PathClass::P2c => "P2C".into(),
            PathClass::Pxn => "PXN".into(),
            PathClass::Phb => "PHB".into(),
            PathClass::Sys => "SYS".into(),
            PathClass::Net => "NET".into(),
        }
    }
    /// GPUDirect RDMA is used only up to PXB by default (NCCL_NET_GDR_LEVEL).
    pub fn gdr_ok(&self) -> bool {
        *self <= PathClass::Pxb
    }
    /// Parses an `nvidia-smi topo -m` cell (`NV12`, `PIX`, `NODE`, …); `X` and unknown → None.
    pub fn from_smi(cell: &str) -> Option<PathClass> {
        let c = cell.trim();
        if let Some(n) = c.strip_prefix("NV") {
            return n.parse().ok().map(|n| PathClass::Nv(std::cmp::Reverse(n)));
        }
        match c {
            "PIX" => Some(PathClass::Pix),
            "PXB" => Some(PathClass::Pxb),
            "PHB" | "NODE" => Some(PathClass::Phb),
            "P2C" => Some(PathClass::P2c),
            "SYS" => Some(PathClass::Sys),
            _ => None,
        }
    }
    /// A path type of NCCL's path lines (`PIX`, `PHB`, …; `NVL`/`NVB` with the link count the
    /// bandwidth implies); `LOC`, `C2C`, `DIS` and unknown types → None.
    pub fn from_nccl(t: &str, bw: f64) -> Option<PathClass> {
        match t {
            "NVL" | "NVB" => Some(PathClass::Nv(std::cmp::Reverse(printout::nvlink_count(bw)))),
            "PIX" => Some(PathClass::Pix),
            "PXB" => Some(PathClass::Pxb),
            "P2C" => Some(PathClass::P2c),
            "PXN" => Some(PathClass::Pxn),
            "PHB" => Some(PathClass::Phb),
            "SYS" => Some(PathClass::Sys),
            "NET" => Some(PathClass::Net),
            _ => None,
        }
    }
}

/// A NIC as a path end: a `<net>` port, or a NIC `<pci>` with no `<net>` (static topology
/// files list only PCI devices).
#[derive(Debug, Clone)]
pub struct NicEnd {
    pub node: NodeIndex,
    pub name: String,
}

impl HostTopo {
    fn new(input: InputId, host_hash: Option<String>, truncated: bool) -> Self {
        Self {
            input,
            host_hash,
            source: TopoSource::Xml,
            graph: Graph::new(),
            parent: Vec::new(),
            nvlinks: Vec::new(),
            truncated,
            host_name: None,
            nccl_paths: BTreeMap::new(),
            path_ev: BTreeMap::new(),
        }
    }

    fn add(&mut self, node: Node, parent: Option<NodeIndex>, link: Link) -> NodeIndex {
        let n = self.graph.add_node(node);
        self.parent.push(parent);
        if let Some(p) = parent {
            self.graph.add_edge(p, n, link);
        }
        n
    }

    pub fn node(&self, n: NodeIndex) -> &Node {
        &self.graph[n]
    }

    pub fn parent_of(&self, n: NodeIndex) -> Option<NodeIndex> {
        self.parent.get(n.index()).copied().flatten()
    }

    pub fn nodes_of(&self, k: NodeKind) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph.node_indices().filter(move |n| self.graph[*n].is(k))
    }

    pub fn gpus(&self) -> Vec<NodeIndex> {
        let mut g: Vec<NodeIndex> = self.nodes_of(NodeKind::Gpu).collect();
        // By dev when known, else in document order.
        g.sort_by_key(|n| (self.graph[*n].dev.unwrap_or(u32::MAX), n.index()));
        g
    }

    pub fn children(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut c: Vec<NodeIndex> = self
            .graph
            .edges(n)
            .filter(|e| matches!(e.weight(), Link::Pci { .. }))
            .map(|e| e.target())
            .collect();
        c.sort();
        c
    }

    /// NIC path ends: each `<net>`, or a NIC `<pci>` without `<net>`.
    pub fn nic_ends(&self) -> Vec<NicEnd> {
        let mut out = Vec::new();
        for nic in self.nodes_of(NodeKind::Nic) {
            let nets: Vec<NodeIndex> =
                self.children(nic).into_iter().filter(|c| self.graph[*c].is(NodeKind::Net)).collect();
            if nets.is_empty() {
                out.push(NicEnd { node: nic, name: self.graph[nic].label() });
            }
            for n in nets {
                out.push(NicEnd { node: n, name: self.graph[n].label() });
            }
        }
        // Printout fragments: a NET whose NIC line was not kept.
        for n in self.nodes_of(NodeKind::Net) {
            if !self.parent_of(n).is_some_and(|p| self.graph[p].is(NodeKind::Nic)) {
                out.push(NicEnd { node: n, name: self.graph[n].label() });
            }
        }
        out
    }

    /// A NET port by NCCL's net device index (`via NET/IB/3` → dev 3).
    pub fn find_net_dev(&self, dev: u32) -> Option<NodeIndex> {
        self.nodes_of(NodeKind::Net).find(|n| self.graph[*n].dev == Some(dev))
    }

    /// NCCL's own path type between two nodes, when its path lines said.
    pub fn nccl_path(&self, a: NodeIndex, b: NodeIndex) -> Option<PathClass> {
        self.nccl_paths.get(&(a, b)).or_else(|| self.nccl_paths.get(&(b, a))).copied()
    }

    /// The GPU→NIC path: NCCL's own when printed, else the graph's; None when a printout
    /// fragment does not tie both ends to a CPU.
    pub fn nic_path(&self, gpu: NodeIndex, nic: NodeIndex) -> Option<PathClass> {
        if let Some(c) = self.nccl_path(gpu, nic) {
            return Some(c);
        }
        let rooted = |n: NodeIndex| self.cpu_of(n).is_some();
        (self.source == TopoSource::Xml || (rooted(gpu) && rooted(nic))).then(|| self.pci_path(gpu, nic))
    }

    /// The node, its PCI ancestors, up to its CPU.
    fn chain(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut v = vec![n];
        let mut cur = n;
        while let Some(p) = self.parent_of(cur) {
            if v.len() > 256 {
                break;
            }
            v.push(p);
            cur = p;
        }
        v
    }

    pub fn cpu_of(&self, n: NodeIndex) -> Option<NodeIndex> {
        self.chain(n).into_iter().find(|c| self.graph[*c].is(NodeKind::Cpu))
    }

    /// NVLink count between two GPUs: a direct link, or both linked to the NVSwitch.
    pub fn nvlink_between(&self, a: NodeIndex, b: NodeIndex) -> Option<u32> {
        let links = |x: NodeIndex| -> Vec<(NodeIndex, u32)> {
            self.graph
                .edges(x)
                .filter_map(|e| match e.weight() {
                    Link::NvLink { count } if *count > 0 => Some((e.target(), *count)),
                    _ => None,
                })
                .collect()
        };
        let la = links(a);
        if let Some((_, c)) = la.iter().find(|(t, _)| *t == b) {
            return Some(*c);
        }
        let lb = links(b);
        let nvs = |l: &[(NodeIndex, u32)]| {
            l.iter().find(|(t, _)| self.graph[*t].is(NodeKind::NvSwitch)).map(|x| x.1)
        };
        match (nvs(&la), nvs(&lb)) {
            (Some(x), Some(y)) => Some(x.min(y)),
            _ => None,
        }
    }

    /// The PCI distance between two devices of this host (paths.cc): PIX/PXB under switches,
    /// PHB (or P2C for a C2C GPU) through the CPU, SYS across CPUs.
    pub fn pci_path(&self, a: NodeIndex, b: NodeIndex) -> PathClass {
        if let Some(c) = self.nccl_path(a, b) {
            return c;
        }
        if let (Some(x), Some(y)) = (self.graph[a].system, self.graph[b].system) {
            if x != y {
                return PathClass::Net;
            }
        }
        let ca = self.chain(a);
        let cb = self.chain(b);
        let Some((ia, ib)) =
            ca.iter().enumerate().find_map(|(i, x)| cb.iter().position(|y| y == x).map(|j| (i, j)))
        else {
            return PathClass::Sys;
        };
        let lca = ca[ia];
        if self.graph[lca].is(NodeKind::Cpu) {
            let c2c = [a, b].iter().any(|n| self.graph[*n].c2c);
            let nic =
                [a, b].iter().any(|n| matches!(self.graph[*n].kind, Some(NodeKind::Net | NodeKind::Nic)));
            return if c2c && nic { PathClass::P2c } else { PathClass::Phb };
        }
        let switches = ca
            .get(1..=ia)
            .unwrap_or(&[])
            .iter()
            .chain(cb.get(1..ib).unwrap_or(&[]).iter())
            .filter(|n| self.graph[**n].is(NodeKind::Switch))
            .count();
        if switches <= 1 {
            PathClass::Pix
        } else {
            PathClass::Pxb
        }
    }

    /// GPU↔GPU: NVLink when there is one, else the PCI path.
    pub fn gpu_path(&self, a: NodeIndex, b: NodeIndex) -> PathClass {
        if let Some(c) = self.nccl_path(a, b) {
            return c;
        }
        match self.nvlink_between(a, b) {
            Some(c) => PathClass::Nv(std::cmp::Reverse(c)),
            None => self.pci_path(a, b),
        }
    }

    /// The nearest NIC ends of a GPU and their path class.
    pub fn nearest_nics(&self, gpu: NodeIndex) -> Option<(PathClass, Vec<NicEnd>)> {
        let mut best: Option<(PathClass, Vec<NicEnd>)> = None;
        for end in self.nic_ends() {
            let Some(p) = self.nic_path(gpu, end.node) else { continue };
            match &mut best {
                Some((b, v)) if p == *b => v.push(end),
                Some((b, _)) if p > *b => {}
                _ => best = Some((p, vec![end])),
            }
        }
        best
    }

    /// A NIC end by net name or NIC bus id.
    pub fn find_nic(&self, name_or_bus: &str) -> Option<NicEnd> {
        let key = bus_key(name_or_bus);
        self.nic_ends().into_iter().find(|e| {
            let n = &self.graph[e.node];
            n.name.as_deref() == Some(name_or_bus)
                || (key.is_some() && {
                    let nic = if n.is(NodeKind::Net) { self.parent_of(e.node) } else { Some(e.node) };
                    nic.and_then(|x| self.graph[x].bus_id.as_deref()).and_then(bus_key) == key
                })
        })
    }

    pub fn find_gpu_by_bus(&self, bus: &str) -> Option<NodeIndex> {
        let key = bus_key(bus)?;
        self.nodes_of(NodeKind::Gpu).find(|n| self.graph[*n].bus_id.as_deref().and_then(bus_key) == Some(key))
    }
}

/// NCCL's `busIdToInt64`: the hex digits of a bus id (`0000:1a:00.0` and the log's `1a000`
/// both give 0x1a000). Fake bus ids (`ffff:ff:01.0`) parse too.
pub fn bus_key(s: &str) -> Option<u64> {
    let s = s.trim().trim_start_matches("0x");
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    let mut any = false;
    for c in s.chars() {
        match c {
            ':' | '.' => {}
            _ => {
                v = v.checked_mul(16)? + u64::from(c.to_digit(16)?);
                any = true;
            }
        }
    }
    any.then_some(v)
}

/// `"16.0 GT/s PCIe"`, `"16 GT/s"`, `"32 GT/s PCIe/s"` → GT/s; `""` → None.
pub fn parse_gts(s: &str) -> Option<f64> {
    let num: String = s.trim().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    num.parse().ok().filter(|v: &f64| *v > 0.0)
}

fn class_of(el: &XmlElement) -> &str {
    el.attr("class").unwrap_or("")
}

/// NCCL's `getBcmGen` (topo.cc): the 64-bit id vendor|device|subsystem_vendor|subsystem_device
/// of a Broadcom PEX Gen4 (`0x1000:0xc010`, subsystem `0x1000:0xa0xx` on both levels) or Gen5
/// (`0x1000:0xc030`, subsystem device `0x0xxx` on the top level, `0x1xxx` on the sub-switches)
/// switch. Boards that rebrand the subsystem (NVIDIA HGX `0x10de`) are not flattened.
fn bcm_gen(id: Option<u64>, level: u64) -> Option<u32> {
    let id = id? & 0xffff_ffff_ffff_f000;
    if id == 0x1000_c010_1000_a000 {
        Some(4)
    } else if id == (0x1000_c030_1000_0000 | (level * 0x1000)) {
        Some(5)
    } else {
        None
    }
}

fn pci_full_id(el: &XmlElement) -> Option<u64> {
    let h =
        |a: &str| el.attr(a).and_then(|v| u64::from_str_radix(v.trim().trim_start_matches("0x"), 16).ok());
    Some(
        (h("vendor")? & 0xffff) << 48
            | (h("device")? & 0xffff) << 32
            | (h("subsystem_vendor")? & 0xffff) << 16
            | (h("subsystem_device")? & 0xffff),
    )
}

/// All host graphs of a job, plus the matrices as given.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub hosts: Vec<HostTopo>,
    pub smi: Vec<(InputId, ncclscope_parser::topo::SmiMatrix)>,
    /// Graph dumps: per input, GPU dev → net devs a channel enters/leaves through.
    pub graph_channels: Vec<(InputId, BTreeMap<u32, std::collections::BTreeSet<u64>>, Evidence)>,
    /// The GPU↔NIC mapping (topology, logs, or both).
    pub map: GpuNicMap,
}

impl Topology {
    pub fn build(job: &Job) -> Topology {
        let mut t = Topology::default();
        for (input, doc) in &job.topo_xml {
            match doc.root_name() {
                Some("system") => t.hosts.extend(build_xml(*input, doc)),
                Some("graphs") | Some("graph") => {
                    if let Some(c) = graph_channels(*input, doc) {
                        t.graph_channels.push(c);
                    }
                }
                _ => {}
            }
        }
        t.hosts.extend(printout::build(job));
        t.smi = job.topo_smi.clone();
        t.map = map::build(job, &t);
        t
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.smi.is_empty() && self.map.entries.is_empty()
    }
}

pub fn element_evidence(input: InputId, el: &XmlElement) -> Evidence {
    Evidence::new(input, Position { line: el.line, offset: el.offset }, &el.text)
}

/// Graph dump channels: the first and last `<net>` of a channel are the NICs its first and last
/// GPU use (search.cc writes entry NIC, GPUs in order, exit NIC).
fn graph_channels(
    input: InputId,
    doc: &XmlDoc,
) -> Option<(InputId, BTreeMap<u32, std::collections::BTreeSet<u64>>, Evidence)> {
    let mut out: BTreeMap<u32, std::collections::BTreeSet<u64>> = BTreeMap::new();
    let mut first_ev = None;
    for (_, ch) in doc.named("channel") {
        let kids: Vec<&XmlElement> = ch.children.iter().filter_map(|c| doc.elements.get(*c)).collect();
        let gpus: Vec<u32> = kids
            .iter()
            .filter(|k| k.name == "gpu")
            .filter_map(|k| k.attr("dev").and_then(parse_dev).and_then(|d| u32::try_from(d).ok()))
            .collect();
        let nets: Vec<(usize, u64)> = kids
            .iter()
            .enumerate()
            .filter(|(_, k)| k.name == "net")
            .filter_map(|(i, k)| k.attr("dev").and_then(parse_dev).map(|d| (i, d)))
            .collect();
        if nets.is_empty() || gpus.is_empty() {
            continue;
        }
        first_ev.get_or_insert_with(|| element_evidence(input, ch));
        let first_gpu_pos = kids.iter().position(|k| k.name == "gpu").unwrap_or(0);
        for (i, d) in nets {
            // The entry NIC (before the GPUs) serves the first GPU, the exit NIC the last.
            let g = if i < first_gpu_pos { gpus[0] } else { gpus[gpus.len() - 1] };
            out.entry(g).or_default().insert(d);
        }
    }
    let ev = first_ev?;
    Some((input, out, ev))
}

/// `dev` in graph dumps: decimal up to 2.19, hex `0x…` (host<<56 | dev) from 2.21; the low
/// bits are the device.
pub fn parse_dev(s: &str) -> Option<u64> {
    let s = s.trim();
    let v = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => s.parse().ok()?,
    };
    Some(v & 0x00ff_ffff_ffff_ffff)
}

/// Host graphs of one topology XML document (one per `host_hash`).
fn build_xml(input: InputId, doc: &XmlDoc) -> Vec<HostTopo> {
    let Some(root) = doc.root else { return Vec::new() };
    let mut hosts: Vec<HostTopo> = Vec::new();
    let Some(root_el) = doc.elements.get(root) else { return Vec::new() };
    for &c in &root_el.children {
        let Some(el) = doc.elements.get(c) else { continue };
        if el.name != "cpu" {
            continue;
        }
        let hash = el.attr("host_hash").map(str::to_string);
        let hi = match hosts.iter().position(|h| h.host_hash == hash) {
            Some(i) => i,
            None => {
                hosts.push(HostTopo::new(input, hash, doc.truncated));
                hosts.len() - 1
            }
        };
        let h = &mut hosts[hi];
        let cpu = Node {
            kind: Some(NodeKind::Cpu),
            numaid: el.attr("numaid").and_then(|v| v.trim().parse().ok()),
            affinity: el.attr("affinity").map(str::to_string),
            ev: Some(element_evidence(input, el)),
            ..Node::default()
        };
        let n = h.add(cpu, None, Link::Sys);
        walk(h, doc, input, c, n);
    }
    for h in &mut hosts {
        resolve_nvlinks(h);
        // CPUs of a host reach each other over the CPU interconnect.
        let cpus: Vec<NodeIndex> = h.nodes_of(NodeKind::Cpu).collect();
        for w in cpus.windows(2) {
            h.graph.add_edge(w[0], w[1], Link::Sys);
        }
    }
    hosts
}

/// Adds the subtree under element `el_idx` below graph node `parent`.
///
/// Iterative (an explicit stack, in document order as a recursion would go): a hostile dump
/// nested 100 000 `<pci>` deep must not overflow the stack (issue 7).
fn walk(h: &mut HostTopo, doc: &XmlDoc, input: InputId, el_idx: usize, parent: NodeIndex) {
    let mut todo: Vec<(usize, NodeIndex)> = Vec::new();
    push_children(&mut todo, doc, el_idx, parent);
    while let Some((c, parent)) = todo.pop() {
        let Some(child) = doc.elements.get(c) else { continue };
        match child.name.as_str() {
            "pci" => {
                let n = pci(h, doc, input, child, parent);
                push_children(&mut todo, doc, c, n);
            }
            "nic" => {
                let nic = if h.graph[parent].is(NodeKind::Nic) {
                    parent
                } else {
                    // A `<nic>` straight under a `<cpu>` (virtual NIC, no PCI path): PHB from
                    // its CPU (topo.cc attaches it to the CPU).
                    let node = Node {
                        kind: Some(NodeKind::Nic),
                        ev: Some(element_evidence(input, child)),
                        ..Node::default()
                    };
                    h.add(node, Some(parent), Link::Pci { gts: None, width: None })
                };
                for &k in &child.children {
                    let Some(net) = doc.elements.get(k) else { continue };
                    if net.name == "net" {
                        let node = Node {
                            kind: Some(NodeKind::Net),
                            name: net.attr("name").map(str::to_string),
                            dev: net.attr("dev").and_then(|d| d.trim().parse().ok()),
                            speed_mbps: net
                                .attr("speed")
                                .and_then(|d| d.trim().parse::<f64>().ok())
                                .map(|v| v as u64),
                            gdr: net.attr("gdr").map(|g| g.trim() == "1"),
                            ev: Some(element_evidence(input, net)),
                            ..Node::default()
                        };
                        h.add(node, Some(nic), Link::Pci { gts: None, width: None });
                    }
                }
            }
            "gpu" if h.graph[parent].is(NodeKind::Gpu) => gpu(h, doc, input, c, parent),
            // Unknown elements are kept by the parser; their children may still matter.
            _ => push_children(&mut todo, doc, c, parent),
        }
    }
}

/// Queues the children of element `idx` under graph node `parent`, first child on top.
fn push_children(todo: &mut Vec<(usize, NodeIndex)>, doc: &XmlDoc, idx: usize, parent: NodeIndex) {
    if let Some(el) = doc.elements.get(idx) {
        todo.extend(el.children.iter().rev().map(|&c| (c, parent)));
    }
}

/// The graph node of one `<pci>` element (its subtree is the caller's).
fn pci(h: &mut HostTopo, doc: &XmlDoc, input: InputId, el: &XmlElement, parent: NodeIndex) -> NodeIndex {
    let class = class_of(el).to_ascii_lowercase();
    let has = |name: &str| el.children.iter().any(|c| doc.elements.get(*c).is_some_and(|e| e.name == name));
    let kind = if class.starts_with("0x03") || (class.is_empty() && has("gpu")) {
        NodeKind::Gpu
    } else if class.starts_with("0x02") || (class.is_empty() && has("nic")) {
        NodeKind::Nic
    } else if class.starts_with("0x068") {
        NodeKind::NvSwitch
    } else if class.starts_with("0x0604") || has("pci") {
        NodeKind::Switch
    } else {
        NodeKind::Other
    };
    let pci_id = match (el.attr("vendor"), el.attr("device")) {
        (Some(v), Some(d)) => Some(format!("{}:{}", v.to_ascii_lowercase(), d.to_ascii_lowercase())),
        _ => None,
    };
    let raw_speed = el.attr("link_speed").map(str::to_string);
    let gts = raw_speed.as_deref().and_then(parse_gts);
    let width = el.attr("link_width").and_then(|w| w.trim().parse().ok()).filter(|w: &u32| *w > 0);
    let node = Node {
        kind: Some(kind),
        bus_id: el.attr("busid").map(|b| b.to_ascii_lowercase()),
        pci_id,
        link_speed_raw: raw_speed,
        link_gts: gts,
        link_width: width,
        pci_full: pci_full_id(el),
        ev: Some(element_evidence(input, el)),
        ..Node::default()
    };
    // Two-level Broadcom PEX switches (Gen4 0xc010, Gen5 0xc030) are one switch for NCCL
    // (topo.cc ncclTopoFlattenBcmSwitches): a sub-switch folds into its parent.
    let full = pci_full_id(el);
    let top_gen =
        h.graph[parent].is(NodeKind::Switch).then(|| bcm_gen(h.graph[parent].pci_full, 0)).flatten();
    if kind == NodeKind::Switch && top_gen.is_some() && bcm_gen(full, 1) == top_gen {
        parent
    } else {
        h.add(node, Some(parent), Link::Pci { gts, width })
    }
}

fn gpu(h: &mut HostTopo, doc: &XmlDoc, input: InputId, idx: usize, node: NodeIndex) {
    let Some(el) = doc.elements.get(idx) else { return };
    {
        let g = &mut h.graph[node];
        g.dev = el.attr("dev").and_then(|d| d.trim().parse().ok());
        g.rank = el.attr("rank").and_then(|d| d.trim().parse().ok());
        g.sm = el.attr("sm").and_then(|d| d.trim().parse().ok());
        g.gdr = el.attr("gdr").map(|v| v.trim() == "1");
    }
    for &c in &el.children {
        let Some(k) = doc.elements.get(c) else { continue };
        match k.name.as_str() {
            "nvlink" => h.nvlinks.push(NvLinkRec {
                gpu: node,
                target: k.attr("target").unwrap_or("").to_ascii_lowercase(),
                tclass: k.attr("tclass").map(|t| t.to_ascii_lowercase()),
                count: k.attr("count").and_then(|v| v.trim().parse().ok()),
                ev: element_evidence(input, k),
            }),
            "c2c" => {
                h.graph[node].c2c = true;
            }
            _ => {}
        }
    }
}

/// NVLink edges: to the host's one NVSwitch node (`tclass 0x068000`), or GPU to GPU by bus id.
fn resolve_nvlinks(h: &mut HostTopo) {
    let mut nvs: Option<NodeIndex> = h.nodes_of(NodeKind::NvSwitch).next();
    let recs = h.nvlinks.clone();
    for r in recs {
        let count = r.count.unwrap_or(0);
        if count == 0 {
            continue;
        }
        let to_nvs = r.tclass.as_deref().is_some_and(|t| t.starts_with("0x068"));
        let target = if to_nvs {
            *nvs.get_or_insert_with(|| {
                let n = h.graph.add_node(Node { kind: Some(NodeKind::NvSwitch), ..Node::default() });
                h.parent.push(None);
                n
            })
        } else {
            match h.find_gpu_by_bus(&r.target) {
                Some(t) if t != r.gpu => t,
                _ => continue,
            }
        };
        h.graph.add_edge(r.gpu, target, Link::NvLink { count });
    }
}
