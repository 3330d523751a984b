//! Topology: the machine graph (topology XML dumps, `nvidia-smi topo -m` matrices, the GPU↔NIC
//! map joined with the connection lines) — locality, PCI links, NVLink, CPU affinity.
//!
//! Rules whose ID lives in another family (GDR_DISABLED, TOPOLOGY_HIDDEN in gdr.rs,
//! TOPO_XML_INCOMPATIBLE in versions.rs) read the XML side through the helpers here.
use std::collections::{BTreeMap, BTreeSet};

use ncclscope_parser::topo::{XmlDoc, XmlElement};
use ncclscope_parser::InputId;

use super::{Ctx, Rule};
use crate::catalog::RuleId;
use crate::finding::{Evidence, Finding};
use crate::topology::{element_evidence, HostTopo, NodeKind, PathClass};

/// Topology documents (`<system>` roots) of the job.
fn system_docs<'a>(ctx: &'a Ctx<'_>) -> impl Iterator<Item = (InputId, &'a XmlDoc)> + 'a {
    ctx.job.topo_xml.iter().filter(|(_, d)| d.root_name() == Some("system")).map(|(i, d)| (*i, d))
}

fn path_of(ctx: &Ctx<'_>, input: InputId) -> String {
    ctx.inputs.get(input.0 as usize).map_or_else(|| "a topology file".to_string(), |i| i.path.clone())
}

fn host_name(ctx: &Ctx<'_>, h: &HostTopo) -> String {
    match &h.host_hash {
        Some(hh) => format!("host {hh} of {}", path_of(ctx, h.input)),
        None => path_of(ctx, h.input),
    }
}

fn list(items: &[String], n: usize) -> String {
    crate::model::short_list(items, n)
}

/// A piece of XML evidence for a rule of another family: what it says and the elements.
pub(crate) struct XmlFact {
    pub what: String,
    pub evidence: Vec<Evidence>,
}

/// TOPOLOGY_HIDDEN, XML side: `<cpu numaid="-1">` (no NUMA information: a VM) and PCI devices
/// with an empty or zero `link_speed` (NCCL could not read it from sysfs and wrote "").
pub(crate) fn xml_topology_hidden(ctx: &Ctx<'_>) -> Vec<XmlFact> {
    let mut out = Vec::new();
    for (input, doc) in system_docs(ctx) {
        let numa: Vec<&XmlElement> = doc
            .named("cpu")
            .map(|(_, e)| e)
            .filter(|e| e.attr("numaid").map(str::trim) == Some("-1"))
            .collect();
        let speed: Vec<&XmlElement> = doc
            .named("pci")
            .map(|(_, e)| e)
            .filter(|e| e.attr("link_speed").is_some_and(|s| crate::topology::parse_gts(s).is_none()))
            .collect();
        if numa.is_empty() && speed.is_empty() {
            continue;
        }
        let mut parts = Vec::new();
        if !numa.is_empty() {
            parts.push(format!("{} <cpu> with numaid=\"-1\" (no NUMA locality)", numa.len()));
        }
        if !speed.is_empty() {
            parts.push(format!("{} <pci> device(s) with an empty or zero link_speed", speed.len()));
        }
        out.push(XmlFact {
            what: format!("{}: {}", path_of(ctx, input), parts.join(", ")),
            evidence: numa.iter().chain(speed.iter()).map(|e| element_evidence(input, e)).collect(),
        });
    }
    out
}

/// GDR_DISABLED, XML side: `<net … gdr="0">`: NCCL will not use GPUDirect RDMA on that NIC.
/// Returns (fact, whether every such net is a plain socket interface without a PCI NIC).
pub(crate) fn xml_gdr_disabled(ctx: &Ctx<'_>) -> Vec<(XmlFact, bool)> {
    let mut out = Vec::new();
    for (input, doc) in system_docs(ctx) {
        let nets: Vec<(usize, &XmlElement)> =
            doc.named("net").filter(|(_, e)| e.attr("gdr").map(str::trim) == Some("0")).collect();
        if nets.is_empty() {
            continue;
        }
        let names: Vec<String> =
            nets.iter().map(|(_, e)| e.attr("name").unwrap_or("?").to_string()).collect();
        // A `<nic>` straight under a `<cpu>` with an `eth*`-like name is NCCL's socket
        // transport: GPUDirect RDMA never applies to it.
        let socket_only = nets.iter().all(|(i, _)| doc.ancestor(*i, "pci").is_none());
        out.push((
            XmlFact {
                what: format!("{}: <net gdr=\"0\"> on {}", path_of(ctx, input), list(&names, 6)),
                evidence: nets.iter().map(|(_, e)| element_evidence(input, e)).collect(),
            },
            socket_only,
        ));
    }
    out
}

/// TOPO_XML_INCOMPATIBLE, XML side: attributes NCCL requires when it loads a topology file
/// (topo.cc ncclTopoAddCpu: `numaid`, `arch`; `vendor` on x86; `familyid`/`modelid` on Intel),
/// or a `<system version>` other than 1.
pub(crate) fn xml_incompatible(ctx: &Ctx<'_>) -> Vec<XmlFact> {
    let mut out = Vec::new();
    for (input, doc) in system_docs(ctx) {
        let mut missing: BTreeSet<String> = BTreeSet::new();
        let mut ev = Vec::new();
        for (_, cpu) in doc.named("cpu") {
            let mut m = Vec::new();
            if cpu.attr("numaid").is_none() {
                m.push("numaid");
            }
            match cpu.attr("arch") {
                None => m.push("arch"),
                Some("x86_64") => match cpu.attr("vendor") {
                    None => m.push("vendor"),
                    Some("GenuineIntel") => {
                        if cpu.attr("familyid").is_none() {
                            m.push("familyid");
                        }
                        if cpu.attr("modelid").is_none() {
                            m.push("modelid");
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
            if !m.is_empty() {
                missing.extend(m.iter().map(|a| format!("'{a}' of <cpu>")));
                ev.push(element_evidence(input, cpu));
            }
        }
        if let Some(root) = doc.root.and_then(|r| doc.elements.get(r)) {
            if let Some(v) = root.attr("version").filter(|v| v.trim() != "1") {
                // RCCL writes version="2"; NCCL rejects anything but 1.
                missing
                    .insert(format!("<system version=\"{v}\"> (NCCL reads only version 1; RCCL writes 2)"));
                ev.push(element_evidence(input, root));
            }
        }
        if ev.is_empty() {
            continue;
        }
        out.push(XmlFact {
            what: format!("{}: {}", path_of(ctx, input), missing.into_iter().collect::<Vec<_>>().join(", ")),
            evidence: ev,
        });
    }
    out
}

pub struct GpuNicCrossNuma;

impl Rule for GpuNicCrossNuma {
    fn id(&self) -> RuleId {
        RuleId::GPU_NIC_CROSS_NUMA
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let topo = &ctx.job.topology;
        let mut wrong: Vec<String> = Vec::new();
        let mut far: Vec<String> = Vec::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        let mut hosts: BTreeSet<String> = BTreeSet::new();
        let mut ranks: BTreeSet<u32> = BTreeSet::new();
        for e in &topo.map.entries {
            let who = gpu_label(ctx, e);
            let nearest = e.nearest_class.map(|c| c.as_string()).unwrap_or_default();
            let nic_ev = |name: &str| -> Option<Evidence> {
                let (hi, _) = e.topo?;
                let h = topo.hosts.get(hi)?;
                h.find_nic(name).and_then(|end| h.node(end.node).ev.clone())
            };
            if e.mismatch() {
                wrong.push(format!(
                    "{who} used {} ({}) while {} is {nearest}",
                    e.nic_used.join("+"),
                    e.used_class.map(|c| c.as_string()).unwrap_or_default(),
                    list(&e.nic_nearest, 2)
                ));
            } else if e.nearest_class == Some(PathClass::Sys) {
                far.push(format!("{who} → nearest {} is SYS", list(&e.nic_nearest, 2)));
            } else {
                continue;
            }
            evidence.extend(e.evidence.iter().cloned());
            if let Some(ev) = e.nic_nearest.first().and_then(|n| nic_ev(n)) {
                evidence.push(ev);
            }
            if let Some(h) = &e.host {
                hosts.insert(h.clone());
            }
            ranks.extend(e.rank.filter(|_| e.proc.is_some()));
        }
        if wrong.is_empty() && far.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        if !wrong.is_empty() {
            parts.push(format!(
                "{} GPU(s) use a NIC farther than their nearest one ({}): NCCL picked the wrong NIC, so traffic crosses PCIe switches or the CPU and GPUDirect RDMA may be off",
                wrong.len(),
                list(&wrong, 4)
            ));
        }
        if !far.is_empty() {
            parts.push(format!(
                "{} GPU(s) have no NIC on their own NUMA node ({}): every byte crosses the CPU interconnect, and NCCL enables GPUDirect RDMA only at PXB or closer",
                far.len(),
                list(&far, 4)
            ));
        }
        evidence.sort();
        evidence.dedup();
        out.push(
            Finding::new(self.id(), format!("{}.", parts.join("; ")))
                .hosts(hosts)
                .ranks(ranks)
                .evidence(evidence.iter()),
        );
    }
}

fn gpu_label(ctx: &Ctx<'_>, e: &crate::topology::GpuNicEntry) -> String {
    let mut s = match (e.gpu, &e.bus_id) {
        (Some(g), Some(b)) => format!("GPU{g} ({b})"),
        (Some(g), None) => format!("GPU{g}"),
        (None, Some(b)) => format!("GPU {b}"),
        (None, None) => "GPU".to_string(),
    };
    if let (Some(r), Some(_)) = (e.rank, e.proc) {
        s.push_str(&format!(" rank {r}"));
    }
    match &e.host {
        Some(h) => s.push_str(&format!(" on {h}")),
        // The evidence names the file; say it here only when several inputs could be meant.
        None if ctx.inputs.len() > 1 => s.push_str(&format!(" in {}", path_of(ctx, e.input))),
        None => {}
    }
    s
}

pub struct PciLinkDegraded;

impl Rule for PciLinkDegraded {
    fn id(&self) -> RuleId {
        RuleId::PCI_LINK_DEGRADED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let topo = &ctx.job.topology;
        let mut lines: Vec<String> = Vec::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        // Siblings: devices of one kind and one PCI model in one input (a fused dump's hosts
        // compare with each other too: "NIC link width differing between hosts").
        type Key = (InputId, NodeKind, Option<String>);
        type Dev<'a> = (&'a HostTopo, petgraph::graph::NodeIndex);
        let mut groups: BTreeMap<Key, Vec<Dev<'_>>> = BTreeMap::new();
        let mut nets: BTreeMap<(InputId, Option<String>), Vec<Dev<'_>>> = BTreeMap::new();
        for h in &topo.hosts {
            for n in h.graph.node_indices() {
                let node = h.node(n);
                match node.kind {
                    Some(k @ (NodeKind::Gpu | NodeKind::Nic)) => {
                        groups.entry((h.input, k, node.pci_id.clone())).or_default().push((h, n))
                    }
                    Some(NodeKind::Net) => {
                        let model = h.parent_of(n).and_then(|p| h.node(p).pci_id.clone());
                        nets.entry((h.input, model)).or_default().push((h, n));
                    }
                    _ => {}
                }
            }
        }
        for ((_, kind, _), devs) in &groups {
            let max_gts = devs.iter().filter_map(|(h, n)| h.node(*n).link_gts).fold(0.0_f64, f64::max);
            let max_w = devs.iter().filter_map(|(h, n)| h.node(*n).link_width).max().unwrap_or(0);
            let mut low = Vec::new();
            for (h, n) in devs {
                let node = h.node(*n);
                let slow = node.link_gts.is_some_and(|g| g + 0.01 < max_gts);
                let narrow = node.link_width.is_some_and(|w| w < max_w);
                if slow || narrow {
                    low.push(format!(
                        "{} {} at {} x{} (siblings {max_gts} GT/s x{max_w})",
                        if *kind == NodeKind::Gpu { "GPU" } else { "NIC" },
                        node.bus_id.as_deref().unwrap_or("?"),
                        node.link_speed_raw.as_deref().unwrap_or("?"),
                        node.link_width.map_or("?".to_string(), |w| w.to_string()),
                    ));
                    evidence.extend(node.ev.iter().cloned());
                }
            }
            if !low.is_empty() {
                // One full-speed sibling for comparison.
                if let Some((h, n)) = devs.iter().find(|(h, n)| {
                    h.node(*n).link_gts.is_some_and(|g| g >= max_gts) && h.node(*n).link_width == Some(max_w)
                }) {
                    evidence.extend(h.node(*n).ev.iter().cloned());
                }
                lines.extend(low);
            }
        }
        let platform_mbps =
            ctx.platform.and_then(|p| p.platform).and_then(|p| p.nic_gbps).map(|g| u64::from(g) * 1000);
        for devs in nets.values() {
            let max = devs.iter().filter_map(|(h, n)| h.node(*n).speed_mbps).max().unwrap_or(0);
            for (h, n) in devs {
                let node = h.node(*n);
                let Some(s) = node.speed_mbps.filter(|s| *s > 0) else { continue };
                let name = node.name.as_deref().unwrap_or("?");
                if s < max {
                    lines.push(format!("net {name} at {} Gb/s (siblings {} Gb/s)", s / 1000, max / 1000));
                    evidence.extend(node.ev.iter().cloned());
                } else if let Some(p) = platform_mbps.filter(|p| s < *p && h.node(*n).gdr != Some(false)) {
                    lines.push(format!(
                        "net {name} at {} Gb/s (the platform's NICs run at {} Gb/s)",
                        s / 1000,
                        p / 1000
                    ));
                    evidence.extend(node.ev.iter().cloned());
                }
            }
        }
        if lines.is_empty() {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "{} PCI/network link(s) run below their siblings: {}. A degraded link (a card trained at a lower PCIe generation or width, a port at a lower rate) caps that GPU's or NIC's bandwidth and NCCL's channel speeds.",
                    lines.len(),
                    list(&lines, 4)
                ),
            )
            .evidence(evidence.iter()),
        );
    }
}

pub struct NvlinkTopoAnomaly;

impl Rule for NvlinkTopoAnomaly {
    fn id(&self) -> RuleId {
        RuleId::NVLINK_TOPO_ANOMALY
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let topo = &ctx.job.topology;
        let mut lines: Vec<String> = Vec::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        let mut hosts: BTreeSet<String> = BTreeSet::new();
        for h in &topo.hosts {
            let gpus = h.gpus();
            let mut with_links: BTreeSet<petgraph::graph::NodeIndex> = BTreeSet::new();
            for r in &h.nvlinks {
                let g = h.node(r.gpu);
                let own = g.bus_id.as_deref().is_some_and(|b| crate::topology::map::same_bus(b, &r.target));
                if own {
                    lines.push(format!("{} has an <nvlink> to its own bus id", g.label()));
                    evidence.push(r.ev.clone());
                } else if r.count == Some(0) {
                    lines.push(format!("{} has an <nvlink> with count=\"0\"", g.label()));
                    evidence.push(r.ev.clone());
                } else {
                    with_links.insert(r.gpu);
                }
                if own || r.count == Some(0) {
                    hosts.extend(h.host_hash.clone());
                }
            }
            // A GPU with no NVLink while its peers have some: NCCL loses NVLink/NVLS for it.
            // A truncated dump may simply not have reached that GPU's links.
            if h.truncated || with_links.is_empty() {
                continue;
            }
            let anomalous: BTreeSet<_> =
                h.nvlinks.iter().filter(|r| !with_links.contains(&r.gpu)).map(|r| r.gpu).collect();
            for g in gpus {
                if with_links.contains(&g) || anomalous.contains(&g) {
                    continue;
                }
                let peer_counts: BTreeSet<u32> =
                    h.nvlinks.iter().filter_map(|r| r.count).filter(|c| *c > 0).collect();
                lines.push(format!(
                    "{} has no NVLink while {} peer GPU(s) have {}",
                    h.node(g).label(),
                    with_links.len(),
                    peer_counts.iter().map(|c| format!("count={c}")).collect::<Vec<_>>().join("/")
                ));
                evidence.extend(h.node(g).ev.iter().cloned());
                if let Some(r) = h.nvlinks.first() {
                    evidence.push(r.ev.clone());
                }
                hosts.extend(h.host_hash.clone());
            }
        }
        if lines.is_empty() {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "NVLink topology is broken: {}. NCCL then routes that GPU over PCIe/SHM (no NVLink, no NVLS), slowing every collective of the node.",
                    list(&lines, 4)
                ),
            )
            .hosts(hosts)
            .evidence(evidence.iter()),
        );
    }
}

/// An affinity mask (`0000ffff,0000ffff`: 32-bit hex words, most significant first) → the
/// index of its lowest set CPU.
fn lowest_cpu(mask: &str) -> Option<u32> {
    let words: Vec<u32> =
        mask.split(',').map(|w| u32::from_str_radix(w.trim(), 16)).collect::<Result<_, _>>().ok()?;
    for (i, w) in words.iter().rev().enumerate() {
        if *w != 0 {
            return u32::try_from(i).ok().map(|i| i * 32 + w.trailing_zeros());
        }
    }
    None
}

pub struct TopoAffinitySuspect;

impl Rule for TopoAffinitySuspect {
    fn id(&self) -> RuleId {
        RuleId::TOPO_AFFINITY_SUSPECT
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let topo = &ctx.job.topology;
        let mut lines: Vec<String> = Vec::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        for h in &topo.hosts {
            let mut cpus: Vec<(i64, String, Option<Evidence>)> = h
                .nodes_of(NodeKind::Cpu)
                .filter_map(|c| {
                    let n = h.node(c);
                    Some((n.numaid?, n.affinity.clone()?.replace(' ', ""), n.ev.clone()))
                })
                .collect();
            if cpus.len() < 2 {
                continue;
            }
            cpus.sort_by_key(|c| c.0);
            let distinct: BTreeSet<&str> = cpus.iter().map(|c| c.1.as_str()).collect();
            if distinct.len() < cpus.len() {
                lines.push(format!(
                    "{}: {} NUMA nodes share the affinity mask {} (a placeholder)",
                    host_name(ctx, h),
                    cpus.len() - distinct.len() + 1,
                    cpus.iter().map(|c| format!("numaid {}=\"{}\"", c.0, c.1)).collect::<Vec<_>>().join(", ")
                ));
                evidence.extend(cpus.iter().filter_map(|c| c.2.clone()));
                continue;
            }
            // Linux numbers NUMA nodes in the order of their first CPU: a higher numaid owning
            // lower cores means the labels are swapped against the masks.
            let firsts: Vec<Option<u32>> = cpus.iter().map(|c| lowest_cpu(&c.1)).collect();
            if firsts.iter().all(Option::is_some) && firsts.windows(2).any(|w| w[0] > w[1]) {
                lines.push(format!(
                    "{}: affinity masks do not follow numaid order ({})",
                    host_name(ctx, h),
                    cpus.iter().map(|c| format!("numaid {}=\"{}\"", c.0, c.1)).collect::<Vec<_>>().join(", ")
                ));
                evidence.extend(cpus.iter().filter_map(|c| c.2.clone()));
            }
        }
        if lines.is_empty() {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "CPU affinity in the topology looks wrong: {}. NCCL pins its threads and allocates host memory by this map, so proxy threads may run on the far socket.",
                    list(&lines, 3)
                ),
            )
            .evidence(evidence.iter()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, expect, finding};
    use crate::catalog::{RuleId, Severity};
    use crate::Analysis;

    /// Analyzes `xml` as one topology file.
    pub(crate) fn analyze_xml(xml: &str) -> Analysis {
        super::super::testing::analyze_text(xml)
    }

    const PIX_PAIR: &str = r#"<system version="1">
  <cpu numaid="0" affinity="0000ffff" arch="x86_64" vendor="GenuineIntel" familyid="6" modelid="85">
    <pci busid="0000:10:00.0" class="0x060400" link_speed="16.0 GT/s PCIe" link_width="16">
      <pci busid="0000:11:00.0" class="0x030200" link_speed="16.0 GT/s PCIe" link_width="16">
        <gpu dev="0" sm="80" rank="0" gdr="1"/>
      </pci>
      <pci busid="0000:12:00.0" class="0x020700" link_speed="16.0 GT/s PCIe" link_width="16">
        <nic>
          <net name="mlx5_0" dev="0" speed="200000" port="1" guid="0x1" maxconn="131072" gdr="1"/>
        </nic>
      </pci>
    </pci>
  </cpu>
  <cpu numaid="1" affinity="ffff0000" arch="x86_64" vendor="GenuineIntel" familyid="6" modelid="85">
    <pci busid="0000:90:00.0" class="0x060400" link_speed="16.0 GT/s PCIe" link_width="16">
      <pci busid="0000:91:00.0" class="0x030200" link_speed="16.0 GT/s PCIe" link_width="16">
        <gpu dev="1" sm="80" rank="1" gdr="1"/>
      </pci>
      <pci busid="0000:92:00.0" class="0x020700" link_speed="16.0 GT/s PCIe" link_width="16">
        <nic>
          <net name="mlx5_1" dev="1" speed="200000" port="1" guid="0x2" maxconn="131072" gdr="1"/>
        </nic>
      </pci>
    </pci>
  </cpu>
</system>
"#;

    fn without_second_nic(xml: &str) -> String {
        let start = xml.find("<pci busid=\"0000:92:00.0\"").unwrap_or(0);
        let end = xml[start..].find("</pci>").map_or(start, |e| start + e + "</pci>".len());
        format!("{}{}", &xml[..start], &xml[end..])
    }

    #[test]
    fn healthy_pix_topology_has_no_topology_findings() {
        let a = analyze_xml(PIX_PAIR);
        for id in [
            RuleId::GPU_NIC_CROSS_NUMA,
            RuleId::PCI_LINK_DEGRADED,
            RuleId::NVLINK_TOPO_ANOMALY,
            RuleId::TOPO_AFFINITY_SUSPECT,
            RuleId::TOPOLOGY_HIDDEN,
            RuleId::GDR_DISABLED,
            RuleId::TOPO_XML_INCOMPATIBLE,
        ] {
            absent(&a, id);
        }
        let m = &a.job.topology.map.entries;
        assert_eq!(m.len(), 2);
        assert!(m.iter().all(|e| e.nearest_class == Some(super::PathClass::Pix)), "{m:?}");
    }

    #[test]
    fn gpu_nic_cross_numa_when_the_only_nic_is_on_the_other_cpu() {
        let a = analyze_xml(&without_second_nic(PIX_PAIR));
        let f = expect(&a, RuleId::GPU_NIC_CROSS_NUMA, Severity::Warning);
        assert!(f.message.contains("GPU1") && f.message.contains("SYS"), "{}", f.message);
    }

    #[test]
    fn gpu_nic_cross_numa_when_the_used_nic_is_farther() {
        let log = "h1:10:10 [1] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.0.0.1<0>\n\
                   h1:10:10 [1] NCCL INFO comm 0x1 rank 1 nranks 4 cudaDev 1 nvmlDev 1 busId 91000 commId 0xabc - Init START\n\
                   h1:10:10 [1] NCCL INFO Channel 00/0 : 3[1] -> 1[1] [receive] via NET/IB/0/GDRDMA\n";
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("topo.xml"), PIX_PAIR).expect("write");
        std::fs::write(dir.path().join("rank.log"), log).expect("write");
        let (specs, _) = ncclscope_parser::expand_paths(&[dir.path().to_path_buf()]);
        let a = crate::analyze(&specs, &[], &crate::Options::default());
        let f = expect(&a, RuleId::GPU_NIC_CROSS_NUMA, Severity::Warning);
        assert!(
            f.message.contains("used mlx5_0 (SYS)") && f.message.contains("mlx5_1 is PIX"),
            "{}",
            f.message
        );
        assert_eq!(f.hosts, ["h1"]);
        let e = a.job.topology.map.entries.iter().find(|e| e.source == "log+topology").expect("joined entry");
        assert_eq!(e.rank, Some(1));
        assert!(e.mismatch());
    }

    #[test]
    fn pci_link_degraded_against_siblings() {
        let xml = PIX_PAIR.replacen(
            "<pci busid=\"0000:91:00.0\" class=\"0x030200\" link_speed=\"16.0 GT/s PCIe\" link_width=\"16\"",
            "<pci busid=\"0000:91:00.0\" class=\"0x030200\" link_speed=\"8.0 GT/s PCIe\" link_width=\"16\"",
            1,
        );
        let a1 = analyze_xml(&xml);
        let f = expect(&a1, RuleId::PCI_LINK_DEGRADED, Severity::Warning);
        assert!(f.message.contains("0000:91:00.0"), "{}", f.message);
        let xml = PIX_PAIR.replacen(
            "speed=\"200000\" port=\"1\" guid=\"0x2\"",
            "speed=\"100000\" port=\"1\" guid=\"0x2\"",
            1,
        );
        let a2 = analyze_xml(&xml);
        let f = expect(&a2, RuleId::PCI_LINK_DEGRADED, Severity::Warning);
        assert!(f.message.contains("mlx5_1 at 100 Gb/s"), "{}", f.message);
    }

    #[test]
    fn nvlink_anomalies() {
        let nv = |a: &str, b: &str| {
            PIX_PAIR
                .replacen(
                    "<gpu dev=\"0\" sm=\"80\" rank=\"0\" gdr=\"1\"/>",
                    &format!("<gpu dev=\"0\" sm=\"80\" rank=\"0\" gdr=\"1\">{a}</gpu>"),
                    1,
                )
                .replacen(
                    "<gpu dev=\"1\" sm=\"80\" rank=\"1\" gdr=\"1\"/>",
                    &format!("<gpu dev=\"1\" sm=\"80\" rank=\"1\" gdr=\"1\">{b}</gpu>"),
                    1,
                )
        };
        let good = nv(
            r#"<nvlink target="0000:91:00.0" count="12" tclass="0x030200"/>"#,
            r#"<nvlink target="0000:11:00.0" count="12" tclass="0x030200"/>"#,
        );
        let a = analyze_xml(&good);
        absent(&a, RuleId::NVLINK_TOPO_ANOMALY);
        let self_link = nv(
            r#"<nvlink target="0000:11:00.0" count="12" tclass="0x030200"/>"#,
            r#"<nvlink target="0000:11:00.0" count="12" tclass="0x030200"/>"#,
        );
        let a3 = analyze_xml(&self_link);
        let f = expect(&a3, RuleId::NVLINK_TOPO_ANOMALY, Severity::Critical);
        assert!(f.message.contains("own bus id"), "{}", f.message);
        let zero = nv(
            r#"<nvlink target="fffffff:ff:ff.0" count="18" tclass="0x068000"/>"#,
            r#"<nvlink target="fffffff:ff:ff.0" count="0" tclass="0x068000"/>"#,
        );
        let a4 = analyze_xml(&zero);
        let f = expect(&a4, RuleId::NVLINK_TOPO_ANOMALY, Severity::Critical);
        assert!(f.message.contains("count=\"0\""), "{}", f.message);
        let missing = nv(
            r#"<nvlink target="fffffff:ff:ff.0" count="18" tclass="0x068000"/>"#,
            r#"<c2c bw="44712" count="5"/>"#,
        );
        let a5 = analyze_xml(&missing);
        let f = expect(&a5, RuleId::NVLINK_TOPO_ANOMALY, Severity::Critical);
        assert!(f.message.contains("GPU1 (0000:91:00.0) has no NVLink"), "{}", f.message);
    }

    #[test]
    fn affinity_identical_or_swapped() {
        let same = PIX_PAIR.replace("affinity=\"ffff0000\"", "affinity=\"0000ffff\"");
        let a6 = analyze_xml(&same);
        let f = expect(&a6, RuleId::TOPO_AFFINITY_SUSPECT, Severity::Warning);
        assert!(f.message.contains("placeholder"), "{}", f.message);
        let swapped = PIX_PAIR
            .replace("affinity=\"ffff0000\"", "affinity=\"TMP\"")
            .replace("affinity=\"0000ffff\"", "affinity=\"ffff0000\"")
            .replace("affinity=\"TMP\"", "affinity=\"0000ffff\"");
        let a7 = analyze_xml(&swapped);
        let f = expect(&a7, RuleId::TOPO_AFFINITY_SUSPECT, Severity::Warning);
        assert!(f.message.contains("numaid order"), "{}", f.message);
    }

    #[test]
    fn xml_side_of_hidden_gdr_and_incompatible() {
        let vm = PIX_PAIR
            .replace("link_speed=\"16.0 GT/s PCIe\" link_width=\"16\"", "link_speed=\"\" link_width=\"0\"");
        let a8 = analyze_xml(&vm);
        let f = expect(&a8, RuleId::TOPOLOGY_HIDDEN, Severity::Warning);
        assert!(f.message.contains("link_speed"), "{}", f.message);
        let nogdr = PIX_PAIR.replace(
            "guid=\"0x2\" maxconn=\"131072\" gdr=\"1\"",
            "guid=\"0x2\" maxconn=\"131072\" gdr=\"0\"",
        );
        let a9 = analyze_xml(&nogdr);
        let f = expect(&a9, RuleId::GDR_DISABLED, Severity::Warning);
        assert!(f.message.contains("mlx5_1"), "{}", f.message);
        let noarch = PIX_PAIR.replacen(
            " arch=\"x86_64\" vendor=\"GenuineIntel\" familyid=\"6\" modelid=\"85\"",
            "",
            1,
        );
        let a10 = analyze_xml(&noarch);
        let f = expect(&a10, RuleId::TOPO_XML_INCOMPATIBLE, Severity::Critical);
        assert!(f.message.contains("'arch' of <cpu>"), "{}", f.message);
        assert!(finding(&analyze_xml(PIX_PAIR), RuleId::TOPO_XML_INCOMPATIBLE).is_none());
    }

    #[test]
    fn lowest_cpu_of_masks() {
        assert_eq!(super::lowest_cpu("0000ffff,0000ffff"), Some(0));
        assert_eq!(super::lowest_cpu("ffffff00,00000000,00000000"), Some(72));
        assert_eq!(super::lowest_cpu("00000000"), None);
    }
}
