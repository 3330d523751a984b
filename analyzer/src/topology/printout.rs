//! Host graphs from the topology printout of NCCL logs (`NCCL_DEBUG_SUBSYS=GRAPH`, spec
//! nccl-log-format.md §10): `ncclTopoPrint` (topo.cc) prints each CPU as a root and walks its
//! PCI links depth first (`+ PCI[24.0] - GPU/0-1b000 (0)`, indented by depth); NVLink, SYS,
//! NET and C2C links are printed but not followed. `ncclTopoPrintPaths` (paths.cc) then prints
//! one line per GPU and NET node with NCCL's own path type to every other node
//! (`GPU/1A000 :… NET/0 (5/12.000000/PHB)`): when present, these are what NCCL decided and win
//! over what the graph would compute.
//!
//! The graph is coarser than an XML dump's: no PCI link speeds, no NIC names (net ports are
//! named through the host's NET/IB or NET/Socket device list when the log has one).
use std::collections::BTreeMap;

use ncclscope_parser::topo::printout::{parse_printout, NodeId, PrintoutDepth, PrintoutLine};
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use super::{HostTopo, Link, Node, NodeKind, PathClass, TopoSource};
use crate::finding::Evidence;
use crate::model::{Job, ProcId};

/// NVLink count from an NVL link's bandwidth: NCCL prints count × per-link bandwidth
/// (topo.h `ncclTopoNVLinkBw`: SM60 18.0, SM70 20.0, SM80 20.0, SM90 20.6, SM100 40.1 GB/s).
pub fn nvlink_count(bw: f64) -> u32 {
    for per in [20.6, 20.0, 40.1, 18.0, 21.0] {
        let n = bw / per;
        if n >= 0.95 && (n - n.round()).abs() < 0.02 {
            return n.round() as u32;
        }
    }
    ((bw / 20.0).round() as u32).max(1)
}

fn kind_of(k: &str) -> NodeKind {
    match k {
        "CPU" => NodeKind::Cpu,
        "GPU" => NodeKind::Gpu,
        "PCI" => NodeKind::Switch,
        "NIC" => NodeKind::Nic,
        "NET" => NodeKind::Net,
        "NVS" => NodeKind::NvSwitch,
        _ => NodeKind::Other,
    }
}

type Key = (NodeKind, Option<u64>, u64);

fn key(id: &NodeId<'_>) -> Option<Key> {
    let system = match id.system {
        Some(s) => Some(u64::from_str_radix(s, 16).ok()?),
        None => None,
    };
    Some((kind_of(id.kind), system, id.local_value()?))
}

/// NCCL's `int64ToBusId`: `1a000` → `0000:1a:00.0`.
fn bus_id(v: u64) -> String {
    format!("{:04x}:{:02x}:{:02x}.{:x}", v >> 20, (v >> 12) & 0xff, (v >> 4) & 0xff, v & 0xf)
}

struct Builder {
    h: HostTopo,
    nodes: BTreeMap<Key, NodeIndex>,
}

impl Builder {
    /// The node of a printed id, created on first sight.
    fn node(&mut self, id: &NodeId<'_>, detail: Option<&str>, ev: &Evidence) -> Option<NodeIndex> {
        let k = key(id)?;
        if let Some(n) = self.nodes.get(&k) {
            let n = *n;
            let node = &mut self.h.graph[n];
            // A GPU first seen as an NVLink target or in a path line gets its rank later.
            if node.rank.is_none() && k.0 == NodeKind::Gpu {
                node.rank = detail.and_then(|d| d.trim().parse().ok());
            }
            return Some(n);
        }
        let (kind, system, local) = k;
        let mut node = Node { kind: Some(kind), system, ev: Some(ev.clone()), ..Node::default() };
        match kind {
            NodeKind::Cpu => node.numaid = i64::try_from(local).ok(),
            NodeKind::Gpu => {
                node.bus_id = Some(bus_id(local));
                node.rank = detail.and_then(|d| d.trim().parse().ok());
            }
            NodeKind::Nic | NodeKind::Switch => {
                node.bus_id = Some(bus_id(local));
                // PCI detail: vendor|device|subsystem_vendor|subsystem_device, 16 hex digits.
                if let Some(full) = detail.and_then(|d| u64::from_str_radix(d.trim(), 16).ok()) {
                    node.pci_full = Some(full);
                    node.pci_id = Some(format!("0x{:04x}:0x{:04x}", full >> 48, (full >> 32) & 0xffff));
                }
            }
            NodeKind::Net => {
                node.dev = u32::try_from(local).ok();
                // `(asic/guid/port/bw)` 2.21+, `(guid/port/bw)` before: the last field is the
                // port's bandwidth in GB/s.
                node.speed_mbps = detail
                    .and_then(|d| d.rsplit('/').next())
                    .and_then(|b| b.trim().parse::<f64>().ok())
                    .filter(|b| *b > 0.0)
                    .map(|b| (b * 8000.0).round() as u64);
            }
            _ => {}
        }
        let n = self.h.graph.add_node(node);
        self.h.parent.push(None);
        self.nodes.insert(k, n);
        Some(n)
    }

    fn has_edge(&self, a: NodeIndex, b: NodeIndex, same: fn(&Link) -> bool) -> bool {
        self.h.graph.edges(a).any(|e| e.target() == b && same(e.weight()))
            || self.h.graph.edges(b).any(|e| e.target() == a && same(e.weight()))
    }

    fn link(&mut self, source: Option<NodeIndex>, link_type: &str, bw: f64, target: NodeIndex) {
        let Some(src) = source.filter(|s| *s != target) else { return };
        match link_type {
            // PCI links are printed parent → child (the link back to the parent is skipped);
            // NET links go from a NIC to its ports.
            "PCI" | "NET" if self.h.parent[target.index()].is_none() => {
                self.h.parent[target.index()] = Some(src);
                self.h.graph.add_edge(src, target, Link::Pci { gts: None, width: None });
            }
            "NVL" => {
                // Each GPU prints its own NVLinks: keep both directions, as the XML does.
                let exists = self
                    .h
                    .graph
                    .edges(src)
                    .any(|e| e.target() == target && matches!(e.weight(), Link::NvLink { .. }));
                if !exists {
                    self.h.graph.add_edge(src, target, Link::NvLink { count: nvlink_count(bw) });
                }
            }
            "SYS" | "QPI" if !self.has_edge(src, target, |l| matches!(l, Link::Sys)) => {
                self.h.graph.add_edge(src, target, Link::Sys);
            }
            "C2C" => {
                for n in [src, target] {
                    if self.h.graph[n].is(NodeKind::Gpu) {
                        self.h.graph[n].c2c = true;
                    }
                }
                if !self.has_edge(src, target, |l| matches!(l, Link::C2c { .. })) {
                    self.h.graph.add_edge(src, target, Link::C2c { bw: None, count: None });
                }
            }
            _ => {}
        }
    }

    /// One process's printout lines (several blocks when it printed one per communicator: the
    /// nodes are keyed by id, so repeated blocks merge).
    fn feed(&mut self, lines: &[(Evidence, Box<str>)]) {
        let mut depth = PrintoutDepth::new();
        // The node printed at each depth of the current walk (None: outside the fragment).
        let mut stack: Vec<Option<NodeIndex>> = Vec::new();
        for (ev, text) in lines {
            let Some(line) = parse_printout(text) else { continue };
            let d = depth.depth(&line);
            match &line {
                PrintoutLine::Header { .. } | PrintoutLine::End => stack.clear(),
                PrintoutLine::Node { node, detail, .. } => {
                    stack.clear();
                    stack.push(self.node(node, *detail, ev));
                }
                PrintoutLine::Link { link_type, bw, target, detail, .. } => {
                    let Some(d) = d else { continue };
                    stack.truncate(d);
                    while stack.len() < d {
                        stack.push(None);
                    }
                    let source = d.checked_sub(1).and_then(|i| stack.get(i).copied().flatten());
                    let t = self.node(target, *detail, ev);
                    if let Some(t) = t {
                        self.link(source, link_type, *bw, t);
                    }
                    stack.push(t);
                }
                PrintoutLine::Paths { from, to, .. } => self.paths(from, to, ev),
            }
        }
    }

    fn paths(
        &mut self,
        from: &NodeId<'_>,
        to: &[ncclscope_parser::topo::printout::PathTo<'_>],
        ev: &Evidence,
    ) {
        let endpoint = |k: &str| matches!(k, "GPU" | "NET");
        if !endpoint(from.kind) {
            return;
        }
        let Some(f) = self.node(from, None, ev) else { return };
        self.h.path_ev.entry(f).or_insert_with(|| ev.clone());
        for p in to {
            if !endpoint(p.node.kind) || (from.kind == "NET" && p.node.kind == "NET") {
                continue;
            }
            let Some(class) = PathClass::from_nccl(p.path_type, p.bw) else { continue };
            let Some(t) = self.node(&p.node, None, ev) else { continue };
            if t != f {
                self.h.nccl_paths.entry((f, t)).or_insert(class);
            }
        }
    }
}

/// Net port names from the host's device lists: NET/IB `[3]mlx5_3:1/IB` → dev 3, NET/Socket
/// `[1]eth1:…` → dev 1 (only when the host printed one kind: NCCL uses one net per comm).
fn name_nets(job: &Job, procs: &[ProcId], h: &mut HostTopo) {
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let ib = job.ib_devices.iter().find(|f| procs.contains(&f.proc));
    let socket = job.socket_devices.iter().find(|f| procs.contains(&f.proc));
    match (ib, socket) {
        (Some(f), None) => names.extend(f.data.iter().map(|d| (d.index, d.name.clone()))),
        (None, Some(f)) => names.extend(
            f.data.iter().enumerate().filter_map(|(i, (n, _))| Some((u32::try_from(i).ok()?, n.clone()))),
        ),
        _ => {}
    }
    let nets: Vec<NodeIndex> = h.nodes_of(NodeKind::Net).collect();
    for n in nets {
        let node = &mut h.graph[n];
        let Some(dev) = node.dev else { continue };
        node.name = Some(names.get(&dev).cloned().unwrap_or_else(|| format!("NET/{dev}")));
    }
}

/// One graph per host (processes of one host name print the same machine; a process without
/// a host name is its own host).
pub fn build(job: &Job) -> Vec<HostTopo> {
    let mut by_host: BTreeMap<(Option<&str>, Option<ProcId>), Vec<ProcId>> = BTreeMap::new();
    for p in job.topo_printout.keys() {
        let host = job.proc(*p).host.as_deref();
        by_host.entry((host, if host.is_some() { None } else { Some(*p) })).or_default().push(*p);
    }
    let mut out = Vec::new();
    for ((host, _), procs) in by_host {
        let Some(first) = procs.first() else { continue };
        let mut b = Builder { h: HostTopo::new(job.proc(*first).input, None, false), nodes: BTreeMap::new() };
        b.h.source = TopoSource::Log;
        b.h.host_name = host.map(str::to_string);
        for p in &procs {
            if let Some(lines) = job.topo_printout.get(p) {
                b.feed(lines);
            }
        }
        // A header alone, or only rings: no machine to show.
        if b.h.nodes_of(NodeKind::Gpu).next().is_none() && b.h.nodes_of(NodeKind::Net).next().is_none() {
            continue;
        }
        name_nets(job, &procs, &mut b.h);
        out.push(b.h);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::analyze_text;

    fn host(log: &str) -> HostTopo {
        let a = analyze_text(log);
        let mut hosts: Vec<HostTopo> =
            a.job.topology.hosts.iter().filter(|h| h.source == TopoSource::Log).cloned().collect();
        assert_eq!(hosts.len(), 1, "{:?}", a.job.topology.hosts);
        hosts.remove(0)
    }

    /// 2.21+ ids (`GPU/0-1b000`), an NVSwitch, a NIC with its port under the GPU's switch, a
    /// second NUMA node with a GPU but no NIC.
    const V221: &str = "\
h1:1:1 [0] NCCL INFO === System : maxBw 24.0 totalBw 240.0 ===
h1:1:1 [0] NCCL INFO CPU/0-0 (1/1/1)
h1:1:1 [0] NCCL INFO + PCI[24.0] - PCI/0-17000 (1000c01010000000)
h1:1:1 [0] NCCL INFO               + PCI[24.0] - GPU/0-1b000 (0)
h1:1:1 [0] NCCL INFO                             + NVL[240.0] - NVS/0-0
h1:1:1 [0] NCCL INFO               + PCI[24.0] - NIC/0-1c000
h1:1:1 [0] NCCL INFO                             + NET[25.0] - NET/0-0 (0/d4f9fc0003ae6d94/1/25.000000)
h1:1:1 [0] NCCL INFO + SYS[10.0] - CPU/0-1
h1:1:1 [0] NCCL INFO CPU/0-1 (1/1/1)
h1:1:1 [0] NCCL INFO + PCI[24.0] - PCI/0-97000 (1000c01010000000)
h1:1:1 [0] NCCL INFO               + PCI[24.0] - GPU/0-9b000 (1)
h1:1:1 [0] NCCL INFO                             + NVL[240.0] - NVS/0-0
h1:1:1 [0] NCCL INFO + SYS[10.0] - CPU/0-0
h1:1:1 [0] NCCL INFO ==========================================
";

    #[test]
    fn graph_from_a_2_21_printout() {
        let h = host(V221);
        assert_eq!(h.host_name.as_deref(), Some("h1"));
        let gpus = h.gpus();
        assert_eq!(gpus.len(), 2);
        let g0 = h.find_gpu_by_bus("0000:1b:00.0").expect("gpu 1b");
        let g1 = h.find_gpu_by_bus("9b000").expect("gpu 9b");
        assert_eq!(h.node(g0).rank, Some(0));
        assert_eq!(h.gpu_path(g0, g1), PathClass::Nv(std::cmp::Reverse(12)));
        let ends = h.nic_ends();
        assert_eq!(ends.len(), 1);
        assert_eq!(h.nearest_nics(g0).map(|x| x.0), Some(PathClass::Pix));
        assert_eq!(h.nearest_nics(g1).map(|x| x.0), Some(PathClass::Sys));
        assert_eq!(h.node(ends[0].node).speed_mbps, Some(200_000));
        assert_eq!(h.node(ends[0].node).dev, Some(0));
    }

    #[test]
    fn printout_gpu_nic_map_and_cross_numa() {
        let a = analyze_text(V221);
        let m = &a.job.topology.map.entries;
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m.iter().all(|e| e.source == "log" && e.host.as_deref() == Some("h1")), "{m:?}");
        let f = crate::rules::testing::expect(
            &a,
            crate::catalog::RuleId::GPU_NIC_CROSS_NUMA,
            crate::catalog::Severity::Warning,
        );
        assert!(f.message.contains("0000:9b:00.0") && f.message.contains("SYS"), "{}", f.message);
        assert!(!f.evidence.is_empty());
    }

    /// ≤ 2.20 ids (`GPU/1A000`) and NCCL's path lines, which win over the (fragmentary) tree.
    const V25_PATHS: &str = "\
c1:5:5 [0] NCCL INFO                             + NET[12.5] - NET/2 (88b97a0003a1420c/1/12.500000)
c1:5:5 [0] NCCL INFO + SYS[9.0] - CPU/0
c1:5:5 [0] NCCL INFO ==========================================
c1:5:5 [0] NCCL INFO GPU/1A000 :GPU/1A000 (0/5000.000000/LOC) CPU/0 (2/12.000000/PHB) NET/0 (5/12.000000/PHB) NET/2 (6/9.000000/SYS)
c1:5:5 [0] NCCL INFO NET/0 :GPU/1A000 (5/12.000000/PHB) CPU/0 (3/12.000000/PHB) NET/0 (0/5000.000000/LOC)
";

    #[test]
    fn path_lines_give_nccls_own_classes() {
        let h = host(V25_PATHS);
        let g = h.find_gpu_by_bus("1a000").expect("gpu");
        let (class, ends) = h.nearest_nics(g).expect("nearest");
        assert_eq!(class, PathClass::Phb);
        assert_eq!(ends.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["NET/0"]);
        let net2 = h.find_net_dev(2).expect("net 2");
        assert_eq!(h.nic_path(g, net2), Some(PathClass::Sys));
        let a = analyze_text(V25_PATHS);
        crate::rules::testing::absent(&a, crate::catalog::RuleId::GPU_NIC_CROSS_NUMA);
    }

    #[test]
    fn old_printout_with_socket_names_and_used_nic() {
        let log = "\
n1:7:7 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0> [1]eth1:10.0.1.1<0>
n1:7:7 [0] NCCL INFO === System : maxWidth 12.0 totalWidth 12.0 ===
n1:7:7 [0] NCCL INFO CPU/0 (1/1/1)
n1:7:7 [0] NCCL INFO + PCI[12.0] - PCI/8000
n1:7:7 [0] NCCL INFO               + PCI[12.0] - GPU/B000 (0)
n1:7:7 [0] NCCL INFO               + PCI[12.0] - NIC/C000
n1:7:7 [0] NCCL INFO                             + NET[1.2] - NET/1 (0/0/1.250000)
n1:7:7 [0] NCCL INFO + PCI[12.0] - NIC/0
n1:7:7 [0] NCCL INFO               + NET[1.2] - NET/0 (0/0/1.250000)
n1:7:7 [0] NCCL INFO comm 0x1 rank 0 nranks 2 cudaDev 0 busId b000 - Init START
n1:7:7 [0] NCCL INFO Channel 00 : 1[0] -> 0[0] [receive] via NET/Socket/0
";
        let a = analyze_text(log);
        let e = a.job.topology.map.entries.iter().find(|e| e.proc.is_some()).expect("log entry");
        assert_eq!(e.source, "log");
        assert_eq!(e.nic_used, ["eth0"]);
        assert_eq!(e.nic_nearest, ["eth1"]);
        assert_eq!(e.nearest_class, Some(PathClass::Pix));
        assert_eq!(e.used_class, Some(PathClass::Phb));
        assert!(e.mismatch());
    }

    #[test]
    fn nvlink_counts() {
        assert_eq!(nvlink_count(370.8), 18);
        assert_eq!(nvlink_count(240.0), 12);
        assert_eq!(nvlink_count(20.0), 1);
        assert_eq!(bus_id(0x1a000), "0000:1a:00.0");
    }
}
