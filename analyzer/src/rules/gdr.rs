//! GPUDirect RDMA: is the fast network used well?
use std::collections::BTreeSet;

use super::failures::{ib_events, IbFailure};
use super::{Ctx, Rule, Seen};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::{ConnKind, Fact, Job, ProcId};

pub struct GdrDisabled;

impl Rule for GdrDisabled {
    fn id(&self) -> RuleId {
        RuleId::GDR_DISABLED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        let mut evidence: Vec<&Evidence> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        let hca: Vec<_> = job.gdr_hca.iter().filter(|f| !f.data.0).collect();
        if !hca.is_empty() {
            let names: BTreeSet<&str> = hca.iter().map(|f| f.data.1.as_str()).collect();
            reasons.push(format!(
                "NCCL disabled GPUDirect RDMA for HCA {} (the nvidia-peermem module or DMA-BUF support is missing)",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let gpu: Vec<_> = job.gdr_gpu.iter().filter(|f| !f.data.0).collect();
        if !gpu.is_empty() {
            reasons.push(format!(
                "{} GPU/NIC pair(s) have GPUDirect RDMA disabled because the NIC is farther than NCCL_NET_GDR_LEVEL allows",
                gpu.len()
            ));
        }
        for f in hca.iter().chain(gpu.iter()) {
            procs.insert(f.proc);
            evidence.push(&f.ev);
        }
        // Channel lines over an RDMA network without `/GDRDMA`: data is staged through host
        // memory. Only processes that show no GDRDMA connection at all count (NCCL may
        // mix per channel when some GPUs are farther).
        let gdr_procs: BTreeSet<ProcId> = job
            .connections
            .keys()
            .filter(|(_, k)| matches!(k, ConnKind::Net { gdr: true, .. }))
            .map(|(p, _)| *p)
            .collect();
        let mut nets: BTreeSet<&str> = BTreeSet::new();
        let mut staged = 0;
        for ((p, kind), s) in &job.connections {
            if let ConnKind::Net { name, gdr: false } = kind {
                if name != "Socket" && !name.contains("FastSocket") && !gdr_procs.contains(p) {
                    staged += 1;
                    nets.insert(name);
                    procs.insert(*p);
                    evidence.push(&s.first);
                }
            }
        }
        if staged > 0 {
            reasons.push(format!(
                "{staged} process(es) connect over {} without /GDRDMA: every transfer is staged through host memory",
                nets.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        // Topology dumps: `<net … gdr="0">` is NCCL's own verdict per NIC (net plugin
        // `ptrSupport` without CUDA pointers, or no peermem/DMA-BUF).
        let xml = super::topology::xml_gdr_disabled(ctx);
        let log_reasons = reasons.len();
        for (f, _) in &xml {
            reasons.push(format!("the topology marks GPUDirect RDMA off: {}", f.what));
        }
        if reasons.is_empty() {
            return;
        }
        // Only socket interfaces without a PCI NIC (`eth0` of a VM): GPUDirect RDMA never
        // applies to NCCL's socket transport, so this is information, not a fault.
        let socket_only = log_reasons == 0 && xml.iter().all(|(_, s)| *s);
        let mut msg = format!("{}.", reasons.join("; "));
        let severity = if socket_only {
            msg.push_str(" These are socket interfaces (no PCI NIC in the topology): GPUDirect RDMA never applies to them, hence info.");
            Severity::Info
        } else {
            Severity::Warning
        };
        out.push(
            Finding::new(self.id(), msg)
                .severity(severity)
                .affecting(job, procs.iter().copied())
                .evidence(evidence.into_iter().chain(xml.iter().flat_map(|(f, _)| f.evidence.iter()))),
        );
    }
}

/// lspci `ACSCtl:` lines (control, not `ACSCap:` capability) in the inputs, and those with a
/// peer-to-peer redirect bit on (`ReqRedir+`, `CmpltRedir+`, `EgressCtrl+`): PCIe P2P between
/// a GPU and a NIC (GPUDirect RDMA) or two GPUs is then sent up to the root complex.
pub(crate) fn acs_redirect_lines(job: &Job) -> (Vec<&Fact<String>>, usize) {
    let ctl: Vec<&Fact<String>> = job.notable_other.iter().filter(|f| f.data.contains("ACSCtl:")).collect();
    let total = ctl.len();
    let on = ctl
        .into_iter()
        .filter(|f| ["ReqRedir+", "CmpltRedir+", "EgressCtrl+"].iter().any(|b| f.data.contains(b)))
        .collect();
    (on, total)
}

pub struct AcsEnabled;

impl Rule for AcsEnabled {
    fn id(&self) -> RuleId {
        RuleId::ACS_ENABLED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // NCCL 2.30 prints `HINT: In many cases this error indicates that ACS is enabled, …`
        // after a completion with IBV_WC_LOC_PROT_ERR (net_ib printIbWcStatusHint).
        let hints: Vec<&Fact<String>> =
            job.notable_info.iter().filter(|f| f.data.contains("HINT") && f.data.contains("ACS")).collect();
        let (redirect, total) = acs_redirect_lines(job);
        let events = ib_events(job);
        let completions: Vec<_> = events
            .iter()
            .filter(|e| {
                matches!(&e.failure, IbFailure::Completion(_))
                    || matches!(&e.failure, IbFailure::Async { event, .. } if event.contains("access violation"))
            })
            .collect();
        let procs: BTreeSet<ProcId> =
            completions.iter().map(|e| e.proc).chain(hints.iter().map(|f| f.proc)).collect();
        let redirect_text = || {
            format!(
                "lspci shows ACS peer-to-peer redirection enabled (ReqRedir+/CmpltRedir+) on {} of {total} ACSCtl line(s)",
                redirect.len()
            )
        };
        let (severity, msg) = if !hints.is_empty() {
            let mut m = format!(
                "NCCL's own hint after {} NET/IB completion error(s): PCI ACS is likely enabled, which breaks GPUDirect RDMA (the NIC's peer-to-peer reads/writes of GPU memory are redirected to the root complex and rejected).",
                completions.len()
            );
            if !redirect.is_empty() {
                m.push_str(&format!(" {} as well.", redirect_text()));
            }
            (Severity::Critical, m)
        } else if !redirect.is_empty() && !completions.is_empty() {
            (
                Severity::Critical,
                format!(
                    "{}, and the job has {} NET/IB completion error(s): with ACS redirecting PCIe peer-to-peer traffic, GPUDirect RDMA fails (typically status 4, local protection error) or hangs.",
                    redirect_text(),
                    completions.len()
                ),
            )
        } else if !redirect.is_empty() {
            (
                Severity::Warning,
                format!(
                    "{}: PCIe peer-to-peer traffic (GPUDirect RDMA between GPU and NIC, P2P between GPUs) goes up to the root complex, which is slower and can break GPUDirect RDMA. No NCCL error in these inputs shows the impact, hence a warning.",
                    redirect_text()
                ),
            )
        } else {
            return;
        };
        let mut f = Finding::new(self.id(), msg).severity(severity).affecting(job, procs.iter().copied());
        for e in hints.iter().map(|h| &h.ev).take(2).chain(completions.iter().map(|e| e.ev).take(2)) {
            f.push_evidence(e);
        }
        out.push(f.evidence(redirect.iter().map(|f| &f.ev)));
    }
}

/// NCCL's INFO lines saying CUDA/NVML refused P2P between two local GPUs that the topology
/// allowed: transport/p2p.cc `Could not enable P2P between dev …` / `peer query failed between
/// dev …` (cudaDeviceCanAccessPeer), graph/paths.cc `P2P is disabled between connected GPUs`.
const P2P_REFUSED: &[&str] = &["Could not enable P2P", "peer query failed", "P2P is disabled between"];

pub struct P2pNotUsed;

impl Rule for P2pNotUsed {
    fn id(&self) -> RuleId {
        RuleId::P2P_NOT_USED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let host_of = |p: ProcId| job.proc(p).host.clone();
        // Intra-node connections that are not P2P. SHM connects only processes of one host
        // (transport/shm.cc canConnect compares host hashes), so every SHM line is intra-node.
        // A NET line is intra-node only when both ranks map to the same host through the
        // communicators' rank → process → host (pods of one machine have different host names
        // and NCCL treats them as nodes: they are not counted).
        let mut rank_host: std::collections::BTreeMap<i64, Option<String>> = Default::default();
        for comm in job.comms.values().filter(|c| Some(c.nranks) == job.world_size()) {
            for (r, cr) in &comm.ranks {
                let h = host_of(cr.proc);
                let e = rank_host.entry(i64::from(*r)).or_insert_with(|| h.clone());
                if *e != h {
                    *e = None; // conflicting: unknown
                }
            }
        }
        let mut slow: Vec<(ProcId, &Evidence, &'static str)> = Vec::new();
        for ((p, kind), s) in &job.connections {
            match kind {
                ConnKind::Shm => slow.push((*p, &s.first, "SHM")),
                ConnKind::Net { .. } => {
                    let Some(h) = host_of(*p) else { continue };
                    if s.peers.iter().any(|r| rank_host.get(r).and_then(|x| x.as_ref()) == Some(&h)) {
                        slow.push((*p, &s.first, "NET"));
                    }
                }
                _ => {}
            }
        }
        if slow.is_empty() {
            return;
        }
        let slow_hosts: BTreeSet<Option<String>> = slow.iter().map(|(p, ..)| host_of(*p)).collect();
        // Why P2P should have been used, most specific first.
        let refused: Vec<&Fact<String>> = job
            .notable_info
            .iter()
            .filter(|f| P2P_REFUSED.iter().any(|k| f.data.contains(k)))
            .filter(|f| slow_hosts.contains(&host_of(f.proc)))
            .collect();
        let disabled: Vec<&Fact<(String, String)>> = job
            .env
            .iter()
            .chain(job.cmdline_env.iter())
            .filter(|f| {
                (f.data.0 == "NCCL_P2P_DISABLE" && f.data.1 == "1")
                    || (f.data.0 == "NCCL_P2P_LEVEL" && (f.data.1 == "LOC" || f.data.1 == "0"))
            })
            .collect();
        // An NVSwitch in the topology printout: every GPU pair has NVLink, so no pair may fall
        // back to SHM (direct NVLink meshes are not used: some pairs there lack a link).
        let nvswitch = job.nvlink.as_ref().filter(|e| e.text.contains("NVS/"));
        // Graph-aware: the host's topology (XML dump or log printout) links every GPU pair
        // over NVLink.
        let slow_procs: BTreeSet<ProcId> = slow.iter().map(|(p, ..)| *p).collect();
        let meshed = nvlinked_topology(job, &slow_procs);
        let (why, mut evidence): (String, Vec<&Evidence>) = if !refused.is_empty() {
            (
                format!(
                    "NCCL wanted P2P between local GPUs but CUDA/NVML refused it ({} line(s) like `{}`): typical of PCI ACS or the IOMMU redirecting peer-to-peer traffic, a VM without P2P passthrough, or containers that do not see each other's GPUs",
                    refused.len(),
                    refused[0].data.trim()
                ),
                refused.iter().map(|f| &f.ev).take(3).collect(),
            )
        } else if !disabled.is_empty() {
            (
                format!("{}={} forbids it", disabled[0].data.0, disabled[0].data.1),
                disabled.iter().map(|f| &f.ev).take(2).collect(),
            )
        } else if let Some(ev) = nvswitch {
            ("the topology shows an NVSwitch, so every GPU pair has NVLink".into(), vec![ev])
        } else if let Some((what, ev)) = &meshed {
            (format!("the topology ({what}) links every GPU pair of the node over NVLink"), vec![ev])
        } else {
            return;
        };
        let procs: BTreeSet<ProcId> = slow.iter().map(|(p, ..)| *p).collect();
        let kinds: BTreeSet<&str> = slow.iter().map(|(.., k)| *k).collect();
        evidence.extend(slow.iter().map(|(_, e, _)| *e));
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "GPUs of one node exchange data over {} instead of P2P/NVLink on {} process(es): {why}. Intra-node bandwidth drops to host-memory copies. Check ACS (`lspci -vvv | grep ACSCtl`), IOMMU passthrough, the VM's P2P support, and NCCL_P2P_DISABLE / NCCL_P2P_LEVEL.",
                    kinds.into_iter().collect::<Vec<_>>().join(" and "),
                    procs.len()
                ),
            )
            .affecting(job, procs.iter().copied())
            .evidence(evidence),
        );
    }
}

/// A topology graph of one of these processes' hosts in which every GPU pair (≥ 2 GPUs) has
/// NVLink, directly or through an NVSwitch: (source, an NVLink line/element). The printout
/// graph of the host by name; an XML dump when it holds one of the processes' GPUs (bus id).
fn nvlinked_topology(job: &Job, procs: &BTreeSet<ProcId>) -> Option<(String, Evidence)> {
    use crate::topology::{Link, TopoSource};
    let hosts: BTreeSet<&str> = procs.iter().filter_map(|p| job.proc(*p).host.as_deref()).collect();
    let buses: Vec<&str> = job
        .comms
        .values()
        .flat_map(|c| c.ranks.values())
        .filter(|r| procs.contains(&r.proc))
        .filter_map(|r| r.bus_id.as_deref())
        .collect();
    for h in &job.topology.hosts {
        let mine = match h.source {
            TopoSource::Log => h.host_name.as_deref().is_some_and(|n| hosts.contains(n)),
            TopoSource::Xml => buses.iter().any(|b| h.find_gpu_by_bus(b).is_some()),
        };
        let gpus = h.gpus();
        if !mine || gpus.len() < 2 {
            continue;
        }
        let all = gpus
            .iter()
            .enumerate()
            .all(|(i, a)| gpus[i + 1..].iter().all(|b| h.nvlink_between(*a, *b).is_some()));
        if !all {
            continue;
        }
        let ev = match h.source {
            TopoSource::Xml => h.nvlinks.iter().find(|r| r.count.unwrap_or(0) > 0).map(|r| r.ev.clone()),
            // The NVLink target (NVS or peer GPU) was first seen on an `+ NVL[…]` line, or the
            // GPU itself: its node line.
            TopoSource::Log => gpus.iter().find_map(|g| {
                h.graph.edges(*g).find(|e| matches!(e.weight(), Link::NvLink { .. })).and_then(|e| {
                    use petgraph::visit::EdgeRef;
                    let t = e.target();
                    h.node(t)
                        .ev
                        .clone()
                        .filter(|ev| ev.text.contains("NVL["))
                        .or_else(|| h.node(*g).ev.clone())
                })
            }),
        };
        let what = match h.source {
            TopoSource::Xml => "topology XML <nvlink>",
            TopoSource::Log => "the log's topology printout, NVL links",
        };
        if let Some(ev) = ev {
            return Some((what.to_string(), ev));
        }
    }
    None
}

/// NCCL's topology detection reading sysfs (graph/xml.cc `ncclTopoGetXmlFromSys`, 2.7+):
/// `Topology detection : could not read <path>/max_link_speed, ignoring` — typical of VMs whose
/// virtual PCI bus (Hyper-V VMBUS, emulated bridges) hides link speeds and NUMA locality.
pub(crate) fn is_topology_unreadable(msg: &str) -> bool {
    msg.contains("Topology detection") && (msg.contains("could not read") || msg.contains("Could not read"))
}

/// TOPOLOGY_HIDDEN from the logs (the topology-file side comes with the XML parser).
pub struct TopologyHidden;

impl Rule for TopologyHidden {
    fn id(&self) -> RuleId {
        RuleId::TOPOLOGY_HIDDEN
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut what: BTreeSet<&str> = BTreeSet::new();
        for f in job.notable_info.iter().filter(|f| is_topology_unreadable(&f.data)) {
            seen.add(f.proc, &f.ev);
            // The sysfs attribute NCCL could not read: `…/max_link_speed, ignoring`.
            if let Some(attr) = f.data.split(['/', ',']).rev().find(|s| {
                let s = s.trim();
                !s.is_empty() && s != "ignoring"
            }) {
                what.insert(attr.trim());
            }
        }
        // Topology dumps: `numaid="-1"`, empty link speeds (what NCCL wrote after those reads
        // failed).
        let xml = super::topology::xml_topology_hidden(ctx);
        if seen.count == 0 && xml.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        if seen.count > 0 {
            let attrs: Vec<&str> = what.into_iter().take(6).collect();
            parts.push(format!(
                "NCCL could not read the PCI topology from sysfs ({} line(s); missing: {})",
                seen.count,
                attrs.join(", ")
            ));
        }
        for f in &xml {
            parts.push(format!("the topology hides locality ({})", f.what));
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "{}: this looks like a VM that hides PCI link speeds and locality, so NCCL guesses GPU–NIC distances, GPUDirect RDMA eligibility and channel counts.",
                    parts.join("; ")
                ),
            )
            .affecting(job, seen.procs.iter().copied())
            .evidence(seen.evidence.into_iter().chain(xml.iter().flat_map(|f| f.evidence.iter()))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, expect};
    use crate::catalog::{RuleId, Severity};

    const LSPCI_ON: &str = "\
# lspci -vvv | grep -i acsctl
                ACSCtl: SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-
                ACSCtl: SrcValid- TransBlk- ReqRedir- CmpltRedir- UpstreamFwd- EgressCtrl- DirectTrans-
";

    #[test]
    fn acs_enabled_warning_from_lspci_alone_critical_with_completion_errors() {
        let a = analyze_text(LSPCI_ON);
        let f = expect(&a, RuleId::ACS_ENABLED, Severity::Warning);
        assert!(f.message.contains("1 of 2"), "{}", f.message);
        let err = "a:1:2 [0] transport/net_ib.cc:818 NCCL WARN NET/IB : Got completion from peer b<1> with error 4, opcode 0, len 32694, vendor err 81\n";
        expect(&analyze_text(&format!("{LSPCI_ON}{err}")), RuleId::ACS_ENABLED, Severity::Critical);
    }

    #[test]
    fn acs_enabled_critical_from_nccl_hint() {
        let a = analyze_text(
            "a:1:2 [0] transport/net_ib/p2p.cc:700 NCCL WARN NET/IB: Got completion from peer b<1> with status=local protection error(4) opcode=IBV_WC_SEND(0) vendor_err=81 hca mlx5_0\n\
             a:1:2 [0] NCCL INFO HINT: In many cases this error indicates that ACS is enabled, which breaks the GPU Direct RDMA protocol.\n",
        );
        expect(&a, RuleId::ACS_ENABLED, Severity::Critical);
    }

    #[test]
    fn acs_enabled_absent_when_lspci_shows_it_off_or_nothing_shows_it() {
        let off = "                ACSCtl: SrcValid- TransBlk- ReqRedir- CmpltRedir- UpstreamFwd- EgressCtrl- DirectTrans-\n\
                   [0] transport/net_ib.cc:818 NCCL WARN NET/IB : Got completion with error 4, opcode 0, len 32694, vendor err 81\n";
        let a = analyze_text(off);
        absent(&a, RuleId::ACS_ENABLED);
        let f = expect(&a, RuleId::IB_COMPLETION_ERROR, Severity::Critical);
        assert!(f.message.contains("redirection off"), "{}", f.message);
        absent(
            &analyze_text("a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB ib0:10.0.0.1<0>\n"),
            RuleId::ACS_ENABLED,
        );
    }
}

#[cfg(test)]
mod p2p_tests {
    use super::super::testing::{absent, analyze_text, expect};
    use crate::catalog::{RuleId, Severity};

    #[test]
    fn p2p_refused_then_shm() {
        let a = analyze_text(
            "4e9a:8640:8763 [1] NCCL INFO Could not enable P2P between dev 1(=3d000) and dev 0(=1a000)\n\
             4e9a:8640:8763 [1] NCCL INFO Channel 00 : 1[3d000] -> 2[89000] via direct shared memory\n\
             4e9a:8639:8745 [0] NCCL INFO Channel 00 : 0[1a000] -> 1[3d000] via direct shared memory\n",
        );
        let f = expect(&a, RuleId::P2P_NOT_USED, Severity::Warning);
        assert!(f.message.contains("over SHM") && f.message.contains("refused"), "{}", f.message);
        assert_eq!(f.hosts, ["4e9a"]);
        // Forced by the user.
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL_P2P_DISABLE set by environment to 1.\n\
             a:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via SHM/direct/direct\n",
        );
        let f = expect(&a, RuleId::P2P_NOT_USED, Severity::Warning);
        assert!(f.message.contains("NCCL_P2P_DISABLE=1"), "{}", f.message);
    }

    #[test]
    fn p2p_not_used_absent_without_reason_or_across_nodes() {
        // SHM across CPU sockets of a PCIe box is NCCL's normal choice.
        let a = analyze_text("a:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via SHM/direct/direct\n");
        absent(&a, RuleId::P2P_NOT_USED);
        // One pod per node (NCCL sees 4 nodes): NET between them is inter-node.
        let a = analyze_text(
            "n0:188:585 [0] NCCL INFO comm 0x1 rank 0 nRanks 4 nNodes 4 localRanks 1 localRank 0 MNNVL 0\n\
             n0:188:709 [0] NCCL INFO Channel 00/0 : 3[0] -> 0[0] [receive] via NET/Libfabric/0/GDRDMA\n\
             n0:188:709 [0] NCCL INFO NCCL_P2P_DISABLE set by environment to 1.\n",
        );
        absent(&a, RuleId::P2P_NOT_USED);
        // P2P in use.
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL_P2P_DISABLE set by environment to 0.\n\
             a:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via P2P/IPC/read\n",
        );
        absent(&a, RuleId::P2P_NOT_USED);
    }

    #[test]
    fn topology_hidden_from_sysfs_read_failures() {
        let a = analyze_text(
            "vm0:23:124 [0] NCCL INFO Topology detection : could not read /sys/devices/VMBUS:01/pci0001:00/0001:00:00.0/../max_link_speed, ignoring\n",
        );
        let f = expect(&a, RuleId::TOPOLOGY_HIDDEN, Severity::Warning);
        assert!(f.message.contains("max_link_speed"), "{}", f.message);
        let a = analyze_text("vm0:23:124 [0] NCCL INFO Topology detection: PCI device 0000:17:00.0 found\n");
        absent(&a, RuleId::TOPOLOGY_HIDDEN);
    }

    #[test]
    fn gdr_disabled_per_hca_per_gpu_and_per_channel() {
        let a = analyze_text("a:1:1 [0] NCCL INFO NET/IB : GPU Direct RDMA Disabled for HCA 0 'mlx5_0'\n");
        let f = expect(&a, RuleId::GDR_DISABLED, Severity::Warning);
        assert!(f.message.contains("mlx5_0"), "{}", f.message);
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO GPU Direct RDMA Disabled for GPU 18000 / HCA 0 (distance 5 > 4), read 0\n",
        );
        expect(&a, RuleId::GDR_DISABLED, Severity::Warning);
        let a = analyze_text("a:1:1 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/IB/0\n");
        expect(&a, RuleId::GDR_DISABLED, Severity::Warning);
    }

    #[test]
    fn gdr_enabled_or_socket_is_not_gdr_disabled() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NET/IB : GPU Direct RDMA Enabled for HCA 0 'mlx5_0'\n\
             a:1:1 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/IB/0/GDRDMA\n\
             a:1:1 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/Socket/0\n",
        );
        absent(&a, RuleId::GDR_DISABLED);
    }

    /// Two GPUs linked over NVLink in the printout (each prints its link to the other).
    const NVL_PAIR: &str = "\
h1:1:1 [0] NCCL INFO === System : maxBw 240.0 totalBw 240.0 ===
h1:1:1 [0] NCCL INFO CPU/0-0 (1/1/1)
h1:1:1 [0] NCCL INFO + PCI[24.0] - GPU/0-11000 (0)
h1:1:1 [0] NCCL INFO               + NVL[240.0] - GPU/0-21000
h1:1:1 [0] NCCL INFO + PCI[24.0] - GPU/0-21000 (1)
h1:1:1 [0] NCCL INFO               + NVL[240.0] - GPU/0-11000
h1:1:1 [0] NCCL INFO ==========================================
";

    #[test]
    fn p2p_not_used_when_the_printout_shows_nvlink() {
        let shm = "h1:1:1 [0] NCCL INFO Channel 00/0 : 0[11000] -> 1[21000] via SHM/direct/direct\n";
        let a = analyze_text(&format!("{NVL_PAIR}{shm}"));
        let f = expect(&a, RuleId::P2P_NOT_USED, Severity::Warning);
        assert!(f.message.contains("NVLink"), "{}", f.message);
        assert!(f.evidence.iter().any(|e| e.text.contains("NVL[")), "{:?}", f.evidence);
        // Only one GPU's link printed: not every pair is known to have NVLink.
        let partial: String =
            NVL_PAIR.lines().filter(|l| !l.ends_with("GPU/0-11000")).map(|l| format!("{l}\n")).collect();
        let partial = partial.replace("+ NVL[240.0] - GPU/0-21000", "+ PCI[24.0] - PCI/0-30000");
        absent(&analyze_text(&format!("{partial}{shm}")), RuleId::P2P_NOT_USED);
        // NVLink but P2P used: nothing to report.
        let p2p = "h1:1:1 [0] NCCL INFO Channel 00/0 : 0[11000] -> 1[21000] via P2P/IPC\n";
        absent(&analyze_text(&format!("{NVL_PAIR}{p2p}")), RuleId::P2P_NOT_USED);
    }
}
