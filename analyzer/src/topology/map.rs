//! The GPU↔NIC map: for each host and GPU, the nearest NIC(s) by the graph and the NIC(s) NCCL
//! really used (connection lines `via NET/<name>/<dev>`, resolved through the NET/IB / NET/Socket
//! device lists and aws-ofi-nccl's NIC group lines; graph dump channels).
use std::collections::{BTreeMap, BTreeSet};

use ncclscope_parser::InputId;
use petgraph::graph::NodeIndex;

use super::{bus_key, HostTopo, PathClass, TopoSource, Topology};
use crate::finding::Evidence;
use crate::model::{Job, ProcId};

#[derive(Debug, Clone)]
pub struct GpuNicEntry {
    /// The log's host name, else the dump's `host_hash`; None: name it by its input.
    pub host: Option<String>,
    pub input: InputId,
    pub rank: Option<u32>,
    pub gpu: Option<u32>,
    pub bus_id: Option<String>,
    pub nic_used: Vec<String>,
    pub nic_nearest: Vec<String>,
    /// Worst path class to a used NIC, when the used NIC is in the graph.
    pub used_class: Option<PathClass>,
    pub nearest_class: Option<PathClass>,
    /// `topology`, `log`, `log+topology`, `nvidia-smi`.
    pub source: &'static str,
    pub proc: Option<ProcId>,
    /// (host index in [`Topology::hosts`], GPU node) when the graph knows the GPU.
    pub topo: Option<(usize, NodeIndex)>,
    /// The line(s) that show it: the first connection line, the GPU element or matrix row.
    pub evidence: Vec<Evidence>,
}

impl GpuNicEntry {
    /// The class `gpu_nic_map.path` shows: to the used NIC when known, else to the nearest.
    pub fn path(&self) -> Option<PathClass> {
        self.used_class.or(self.nearest_class)
    }
    /// The used NIC is farther than the nearest one.
    pub fn mismatch(&self) -> bool {
        matches!((self.used_class, self.nearest_class), (Some(u), Some(n)) if u > n)
    }
}

#[derive(Debug, Clone, Default)]
pub struct GpuNicMap {
    pub entries: Vec<GpuNicEntry>,
}

fn is_ib(name: &str) -> bool {
    name == "IB" || name.starts_with("IBext")
}

/// Net device index → the names (or PCI bus ids) it stands for, for one process.
fn resolve_dev(
    job: &Job,
    p: ProcId,
    net: &str,
    dev: u32,
    topo: Option<&HostTopo>,
    all: &[HostTopo],
) -> Vec<String> {
    let host = job.proc(p).host.as_deref();
    let same_host = |q: ProcId| q == p || (host.is_some() && job.proc(q).host.as_deref() == host);
    // The process's own list first, else one printed on its host.
    let pick = |q: ProcId| if q == p { 0 } else { 1 };
    if is_ib(net) {
        let list = job.ib_devices.iter().filter(|f| same_host(f.proc)).min_by_key(|f| pick(f.proc));
        if let Some(d) = list.and_then(|f| f.data.iter().find(|d| d.index == dev)) {
            return vec![d.name.clone()];
        }
    } else if net == "Socket" {
        let list = job.socket_devices.iter().filter(|f| same_host(f.proc)).min_by_key(|f| pick(f.proc));
        if let Some((n, _)) = list.and_then(|f| f.data.get(dev as usize)) {
            return vec![n.clone()];
        }
    } else {
        // aws-ofi-nccl: a NET dev is a NIC group (`NIC group 3 device #0 0000:53:00.0`).
        let owner = job
            .ofi_nic_groups
            .iter()
            .filter(|f| same_host(f.proc) && f.data.0 == dev)
            .map(|f| f.proc)
            .min_by_key(|q| pick(*q));
        if owner.is_none() {
            // No NIC group lines (aws-ofi-nccl before 1.7, or not kept): a topology dump's
            // `<net dev>` names the plugin's device (NCCL writes its net devices there).
            if let Some(name) = xml_net_name(topo, all, dev) {
                return vec![name];
            }
        }
        if let Some(owner) = owner {
            let mut buses: Vec<(u32, &str)> = job
                .ofi_nic_groups
                .iter()
                .filter(|f| f.proc == owner && f.data.0 == dev)
                .map(|f| (f.data.1, f.data.2.as_str()))
                .collect();
            buses.sort();
            buses.dedup();
            return buses
                .into_iter()
                .map(|(_, b)| {
                    topo.and_then(|t| t.find_nic(b))
                        .and_then(|e| {
                            topo.map(|t| t.node(e.node).name.clone().unwrap_or_else(|| b.to_string()))
                        })
                        .unwrap_or_else(|| b.to_string())
                })
                .collect();
        }
    }
    vec![format!("NET/{net}/{dev}")]
}

/// The `<net name>` of net device `dev` in the GPU's XML graph, else the one every XML graph of
/// the job agrees on.
fn xml_net_name(topo: Option<&HostTopo>, all: &[HostTopo], dev: u32) -> Option<String> {
    let name_in = |h: &HostTopo| -> Option<String> {
        (h.source == TopoSource::Xml).then_some(())?;
        h.find_net_dev(dev).and_then(|n| h.node(n).name.clone())
    };
    if let Some(h) = topo.filter(|h| h.source == TopoSource::Xml) {
        return name_in(h);
    }
    let names: BTreeSet<String> = all.iter().filter_map(name_in).collect();
    (names.len() == 1).then(|| names.into_iter().next()).flatten()
}

/// The graph holding this process's GPU: the printout graph of its own host first (bus ids
/// repeat across hosts), else an XML graph (dumps carry no host name).
fn find_topo(t: &Topology, host: Option<&str>, bus: &str) -> Option<(usize, NodeIndex)> {
    let find = |log: bool| {
        t.hosts.iter().enumerate().find_map(|(i, h)| {
            let ok = if log {
                h.source == TopoSource::Log && host.is_some() && h.host_name.as_deref() == host
            } else {
                h.source == TopoSource::Xml
            };
            if ok {
                h.find_gpu_by_bus(bus).map(|g| (i, g))
            } else {
                None
            }
        })
    };
    find(true).or_else(|| find(false))
}

pub fn build(job: &Job, t: &Topology) -> GpuNicMap {
    let mut entries: Vec<GpuNicEntry> = Vec::new();
    let mut consumed: BTreeSet<(usize, NodeIndex)> = BTreeSet::new();

    // 1. What the logs show each GPU used.
    type Uses<'a> = Vec<(&'a str, &'a crate::model::NetUse)>;
    let mut per_gpu: BTreeMap<(ProcId, Option<i32>), Uses<'_>> = BTreeMap::new();
    for ((p, dev, net), u) in &job.net_use {
        per_gpu.entry((*p, *dev)).or_default().push((net.as_str(), u));
    }
    for ((p, cuda_dev), uses) in per_gpu {
        // The comm lines give the GPU's bus id and rank (largest communicator first).
        let mut ranks: Vec<(u32, u32, Option<&str>)> = Vec::new();
        for c in job.comms.values() {
            for (r, cr) in &c.ranks {
                if cr.proc == p && (cuda_dev.is_none() || cr.cuda_dev == cuda_dev) {
                    ranks.push((c.nranks, *r, cr.bus_id.as_deref()));
                }
            }
        }
        ranks.sort_by_key(|r| std::cmp::Reverse(r.0));
        let rank = ranks.first().map(|r| r.1);
        let bus = ranks.iter().find_map(|r| r.2).map(str::to_string);
        let topo = bus.as_deref().and_then(|b| find_topo(t, job.proc(p).host.as_deref(), b));
        let host_topo = topo.map(|(i, _)| &t.hosts[i]);
        let mut used: Vec<String> = Vec::new();
        let mut evidence = Vec::new();
        for (net, u) in &uses {
            evidence.push(u.first.clone());
            for d in &u.devs {
                for n in resolve_dev(job, p, net, *d, host_topo, &t.hosts) {
                    if !used.contains(&n) {
                        used.push(n);
                    }
                }
            }
        }
        let proc = job.proc(p);
        let mut e = GpuNicEntry {
            host: proc.host.clone(),
            input: proc.input,
            rank,
            gpu: cuda_dev.and_then(|d| u32::try_from(d).ok()),
            bus_id: bus,
            nic_used: used,
            nic_nearest: Vec::new(),
            used_class: None,
            nearest_class: None,
            source: "log",
            proc: Some(p),
            topo,
            evidence,
        };
        if let Some((hi, g)) = topo {
            consumed.insert((hi, g));
            let h = &t.hosts[hi];
            fill_nearest(&mut e, h, g);
            if h.source == TopoSource::Log {
                // The printout's NET/<dev> is the device index of `via NET/<name>/<dev>`.
                e.used_class = uses
                    .iter()
                    .flat_map(|(_, u)| u.devs.iter())
                    .filter_map(|d| h.find_net_dev(*d))
                    .filter_map(|n| h.nic_path(g, n))
                    .max();
            } else {
                e.used_class = e
                    .nic_used
                    .iter()
                    .filter_map(|n| h.find_nic(n))
                    .filter_map(|end| h.nic_path(g, end.node))
                    .max();
                e.source = "log+topology";
            }
        }
        entries.push(e);
    }

    // 2. Every GPU of the topology graphs the logs did not cover.
    for (hi, h) in t.hosts.iter().enumerate() {
        for g in h.gpus() {
            if consumed.contains(&(hi, g)) {
                continue;
            }
            let n = h.node(g);
            let mut e = GpuNicEntry {
                host: h.host_name.clone().or_else(|| h.host_hash.clone()),
                input: h.input,
                rank: n.rank,
                gpu: n.dev,
                bus_id: n.bus_id.clone(),
                nic_used: Vec::new(),
                nic_nearest: Vec::new(),
                used_class: None,
                nearest_class: None,
                source: if h.source == TopoSource::Log { "log" } else { "topology" },
                proc: None,
                topo: Some((hi, g)),
                evidence: n.ev.iter().cloned().collect(),
            };
            fill_nearest(&mut e, h, g);
            // A graph dump's channels name the net devs this GPU enters/leaves through.
            if let Some(dev) = n.dev.filter(|_| h.source == TopoSource::Xml) {
                for (_, chans, ev) in &t.graph_channels {
                    let Some(devs) = chans.get(&dev) else { continue };
                    for d in devs {
                        let net = h
                            .nodes_of(super::NodeKind::Net)
                            .find(|x| h.node(*x).dev.map(u64::from) == Some(*d));
                        if let Some(net) = net {
                            let name = h.node(net).label();
                            if !e.nic_used.contains(&name) {
                                e.nic_used.push(name);
                            }
                            let c = h.pci_path(g, net);
                            e.used_class = Some(e.used_class.map_or(c, |u| u.max(c)));
                            e.evidence.push(ev.clone());
                        }
                    }
                }
            }
            entries.push(e);
        }
    }

    // 3. nvidia-smi matrices: each GPU row's nearest NIC columns.
    for (input, m) in &t.smi {
        let nic_cols: Vec<(usize, &str)> = m
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.starts_with("NIC"))
            .map(|(i, c)| (i, c.as_str()))
            .collect();
        for row in m.rows.iter().filter(|r| r.name.starts_with("GPU")) {
            let mut best: Option<(PathClass, Vec<String>)> = None;
            for (i, col) in &nic_cols {
                let Some(p) = row.cells.get(*i).and_then(|c| PathClass::from_smi(c)) else { continue };
                let name = m
                    .nic_legend
                    .iter()
                    .find(|(k, _)| k == col)
                    .map_or_else(|| col.to_string(), |(_, v)| v.clone());
                match &mut best {
                    Some((b, v)) if p == *b => v.push(name),
                    Some((b, _)) if p > *b => {}
                    _ => best = Some((p, vec![name])),
                }
            }
            let text = format!("{}\t{}", row.name, row.cells.join("\t"));
            let (nearest_class, nic_nearest) = match best {
                Some((c, v)) => (Some(c), v),
                None => (None, Vec::new()),
            };
            entries.push(GpuNicEntry {
                host: None,
                input: *input,
                rank: None,
                gpu: row.name.trim_start_matches("GPU").parse().ok(),
                bus_id: None,
                nic_used: Vec::new(),
                nic_nearest,
                used_class: None,
                nearest_class,
                source: "nvidia-smi",
                proc: None,
                topo: None,
                evidence: vec![Evidence::new(
                    *input,
                    ncclscope_parser::Position { line: row.line, offset: 0 },
                    &text,
                )],
            });
        }
    }
    GpuNicMap { entries }
}

fn fill_nearest(e: &mut GpuNicEntry, h: &HostTopo, g: NodeIndex) {
    if let Some((c, ends)) = h.nearest_nics(g) {
        e.nearest_class = Some(c);
        // NCCL's own path line for this GPU, when it decided the class.
        if ends.iter().any(|x| h.nccl_path(g, x.node).is_some()) {
            e.evidence.extend(h.path_ev.get(&g).cloned());
        }
        e.nic_nearest = ends.into_iter().map(|x| x.name).collect();
    }
}

/// Whether a bus id names this GPU (log `busId 1a000` vs XML `0000:1a:00.0`).
pub fn same_bus(a: &str, b: &str) -> bool {
    bus_key(a).is_some() && bus_key(a) == bus_key(b)
}

#[cfg(test)]
mod tests {
    const XML: &str = r#"<system version="1">
  <cpu numaid="0" affinity="0000ffff" arch="x86_64" vendor="AuthenticAMD">
    <pci busid="0000:10:00.0" class="0x060400" link_speed="16.0 GT/s PCIe" link_width="16">
      <pci busid="0000:11:00.0" class="0x030200" link_speed="16.0 GT/s PCIe" link_width="16">
        <gpu dev="0" sm="80" rank="0" gdr="1"/>
      </pci>
      <pci busid="0000:12:00.0" class="0x020000" vendor="0x1d0f" device="0xefa0" link_speed="16.0 GT/s PCIe" link_width="16">
        <nic>
          <net name="rdmap18s0" dev="1" speed="100000" port="1" gdr="1"/>
        </nic>
      </pci>
    </pci>
  </cpu>
</system>
"#;
    const LOG: &str = "h1:10:10 [0] NCCL INFO comm 0x1 rank 0 nranks 4 cudaDev 0 nvmlDev 0 busId 11000 commId 0xabc - Init START\n\
                       h1:10:10 [0] NCCL INFO Channel 00/0 : 2[0] -> 0[0] [receive] via NET/Libfabric/1/GDRDMA\n";

    /// aws-ofi-nccl without `NIC group` lines: the dump's `<net dev>` names the device.
    #[test]
    fn libfabric_dev_named_through_the_dump() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("topo.xml"), XML).expect("write");
        std::fs::write(dir.path().join("rank.log"), LOG).expect("write");
        let (specs, _) = ncclscope_parser::expand_paths(&[dir.path().to_path_buf()]);
        let a = crate::analyze(&specs, &[], &crate::Options::default());
        let e = a.job.topology.map.entries.iter().find(|e| e.proc.is_some()).expect("log entry");
        assert_eq!(e.nic_used, ["rdmap18s0"]);
        assert_eq!(e.used_class, Some(super::PathClass::Pix));
        // No dump: the device stays as the log names it.
        let a = crate::rules::testing::analyze_text(LOG);
        let e = a.job.topology.map.entries.iter().find(|e| e.proc.is_some()).expect("log entry");
        assert_eq!(e.nic_used, ["NET/Libfabric/1"]);
    }
}
