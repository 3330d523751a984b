//! Transport selection: is the fast network used at all?
use std::collections::{BTreeMap, BTreeSet};

use ncclscope_parser::nccl::PluginEvent;

use super::{Ctx, Rule, Seen};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::{ConnKind, IbDev, Job, ProcId};
use crate::platform::{Fabric, PlatformSource};

pub struct NetSocketFallback;

impl Rule for NetSocketFallback {
    fn id(&self) -> RuleId {
        RuleId::NET_SOCKET_FALLBACK
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut evidence: Vec<&Evidence> = Vec::new();
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        for f in job.using_network.iter().filter(|f| f.data.eq_ignore_ascii_case("Socket")) {
            procs.insert(f.proc);
            evidence.push(&f.ev);
        }
        for ((p, kind), s) in &job.connections {
            if matches!(kind, ConnKind::Net { name, .. } if name == "Socket") {
                procs.insert(*p);
                evidence.push(&s.first);
            }
        }
        // NCCL ≤ 2.5 prints no `Using network`: a process that listed socket interfaces and
        // no fast network (no IB devices, no plugin provider) fell back to sockets.
        let fast: BTreeSet<ProcId> = job
            .ib_devices
            .iter()
            .map(|f| f.proc)
            .chain(job.ofi_provider.iter().map(|f| f.proc))
            .chain(
                job.using_network.iter().filter(|f| !f.data.eq_ignore_ascii_case("Socket")).map(|f| f.proc),
            )
            .collect();
        // Only when no process of the job shows a fast network: NCCL 2.4 also lists socket
        // interfaces in processes that then use IB.
        let job_has_fast = !fast.is_empty();
        for f in job.socket_devices.iter().filter(|_| !job_has_fast) {
            if procs.insert(f.proc) || evidence.len() < 3 {
                evidence.push(&f.ev);
            }
        }
        if procs.is_empty() {
            return;
        }
        let hosts = job.hosts_of(procs.iter().copied());
        let (severity, why) = match job.multi_node_evidence() {
            Some(why) => (Severity::Critical, format!("The job spans nodes ({why}), so every inter-node byte goes through TCP sockets: expect 10–100× lower bandwidth than EFA/InfiniBand.")),
            None => (Severity::Info, "Only one host is visible in these logs; NCCL does not use the network inside a node, so this costs nothing here — but the same setup across nodes would run over TCP.".to_string()),
        };
        out.push(
            Finding::new(
                self.id(),
                format!("{} process(es) use NCCL's Socket transport. {why}", procs.len()),
            )
            .severity(severity)
            .hosts(hosts)
            .ranks(job.ranks_of(procs.iter().copied()))
            .evidence(evidence),
        );
    }
}

fn plugin_expected(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.is_efa_platform() {
        return Some("this is an AWS EFA platform".into());
    }
    if let Some(f) = ctx.job.env.iter().find(|f| f.data.0 == "NCCL_NET_PLUGIN") {
        return Some(format!("NCCL_NET_PLUGIN is set to {}", f.data.1));
    }
    if !ctx.job.ofi_provider.is_empty() || !ctx.job.ofi_plugin_version.is_empty() {
        return Some("aws-ofi-nccl (NET/OFI) lines are present".into());
    }
    None
}

pub struct NetPluginLoadFailed;

impl Rule for NetPluginLoadFailed {
    fn id(&self) -> RuleId {
        RuleId::NET_PLUGIN_LOAD_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let loaded: BTreeSet<ProcId> = job
            .plugin
            .iter()
            .filter(|f| {
                f.data.0 == "NET" && matches!(f.data.1, PluginEvent::Loaded | PluginEvent::Initialized)
            })
            .map(|f| f.proc)
            .collect();
        let failed: Vec<_> = job
            .plugin
            .iter()
            .filter(|f| {
                f.data.0 == "NET" && matches!(f.data.1, PluginEvent::NotFound | PluginEvent::LoadError)
            })
            .filter(|f| !loaded.contains(&f.proc))
            .collect();
        if failed.is_empty() {
            return;
        }
        let load_error = failed.iter().any(|f| f.data.1 == PluginEvent::LoadError);
        // On a plain IB cluster "No plugin found, using internal implementation" is normal.
        let why = match plugin_expected(ctx) {
            Some(why) => why,
            None if load_error => "the library exists but could not be loaded".into(),
            None => return,
        };
        let used: BTreeSet<&str> = job
            .using_network
            .iter()
            .filter(|f| failed.iter().any(|x| x.proc == f.proc))
            .map(|f| f.data.as_str())
            .collect();
        let then = if used.is_empty() {
            String::new()
        } else {
            format!(" NCCL then used: {}.", used.into_iter().collect::<Vec<_>>().join(", "))
        };
        let procs: BTreeSet<ProcId> = failed.iter().map(|f| f.proc).collect();
        out.push(
            Finding::new(
                self.id(),
                format!("The external net plugin (libnccl-net.so) did not load on {} process(es) although one was expected ({why}).{then}", procs.len()),
            )
            .affecting(job, procs.iter().copied())
            .evidence(failed.iter().map(|f| &f.ev)),
        );
    }
}

pub struct IbNoDevice;

impl Rule for IbNoDevice {
    fn id(&self) -> RuleId {
        RuleId::IB_NO_DEVICE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut evidence: Vec<&Evidence> = job.ib_no_device.iter().map(|f| &f.ev).collect();
        let mut procs: BTreeSet<ProcId> = job.ib_no_device.iter().map(|f| f.proc).collect();
        // `Failed to open libibverbs.so[.1]`: rdma-core is missing, so no IB device either.
        for f in job.warns.iter().filter(|f| f.data.message.contains("libibverbs")) {
            procs.insert(f.proc);
            evidence.push(&f.ev);
        }
        if procs.is_empty() {
            return;
        }
        // A process that carried its traffic over a plugin (EFA, IBext) does not need NET/IB.
        let plugin_net: BTreeSet<ProcId> = job
            .using_network
            .iter()
            .filter(|f| f.data != "Socket" && f.data != "IB")
            .map(|f| f.proc)
            .chain(job.ofi_provider.iter().map(|f| f.proc))
            .collect();
        let affected: BTreeSet<ProcId> = procs.difference(&plugin_net).copied().collect();
        if affected.is_empty() {
            return;
        }
        let (severity, scope) = match job.multi_node_evidence() {
            Some(why) => (
                Severity::Critical,
                format!("The job spans nodes ({why}), so inter-node traffic cannot use RDMA."),
            ),
            None => {
                (Severity::Info, "Only one host is visible, where NCCL does not need the network.".into())
            }
        };
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "NCCL found no usable InfiniBand/RoCE device on {} process(es). {scope}",
                    affected.len()
                ),
            )
            .severity(severity)
            .affecting(job, affected.iter().copied())
            .evidence(evidence),
        );
    }
}

pub struct OfiProviderNotEfa;

impl Rule for OfiProviderNotEfa {
    fn id(&self) -> RuleId {
        RuleId::OFI_PROVIDER_NOT_EFA
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // Other fabrics (Slingshot `cxi`, verbs on RoCE) legitimately use other providers.
        if !ctx.is_efa_platform() {
            return;
        }
        let job = ctx.job;
        let bad: Vec<_> =
            job.ofi_provider.iter().filter(|f| !f.data.0.to_ascii_lowercase().contains("efa")).collect();
        if bad.is_empty() {
            return;
        }
        let providers: BTreeSet<&str> = bad.iter().map(|f| f.data.0.as_str()).collect();
        let procs: BTreeSet<ProcId> = bad.iter().map(|f| f.proc).collect();
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "aws-ofi-nccl selected the libfabric provider '{}' instead of efa on an EFA platform: traffic goes over TCP, not SRD.",
                    providers.into_iter().collect::<Vec<_>>().join("', '")
                ),
            )
            .affecting(job, procs.iter().copied())
            .evidence(bad.iter().map(|f| &f.ev)),
        );
    }
}

pub struct EfaNotFound;

impl Rule for EfaNotFound {
    fn id(&self) -> RuleId {
        RuleId::EFA_NOT_FOUND
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // A `fi_getinfo() call failed` after a provider was selected is a later init step
        // failing (OFI_INIT_FAILED), not a missing provider.
        let selected: BTreeSet<ProcId> = job.ofi_provider.iter().map(|f| f.proc).collect();
        let facts: Vec<_> = job
            .ofi_no_provider
            .iter()
            .filter(|f| !(f.data.contains("fi_getinfo") && selected.contains(&f.proc)))
            .collect();
        if facts.is_empty() {
            return;
        }
        let procs: BTreeSet<ProcId> = facts.iter().map(|f| f.proc).collect();
        // Off AWS (a RoCE/IB cluster with a stray aws-ofi-nccl), NCCL then uses its own IB
        // transport: the missing EFA provider costs nothing there.
        let to_ib: BTreeSet<ProcId> = job
            .using_network
            .iter()
            .filter(|f| f.data == "IB" && procs.contains(&f.proc))
            .map(|f| f.proc)
            .collect();
        let (severity, then) = if !ctx.is_efa_platform() && !to_ib.is_empty() && to_ib.len() == procs.len() {
            (
                Severity::Warning,
                " NCCL then used its internal IB transport and this is not a detected AWS platform, so only the stale plugin is wrong here (see NET_PLUGIN_INIT_FAILED).",
            )
        } else {
            (Severity::Critical, "")
        };
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "aws-ofi-nccl found no usable EFA provider on {} process(es): the EFA devices are not visible to the job (device plugin, pod resources) or libfabric does not match the EFA installer.{then}",
                    procs.len()
                ),
            )
            .severity(severity)
            .affecting(job, procs.iter().copied())
            .evidence(facts.iter().map(|f| &f.ev)),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers of the NIC rules.

fn host_of(job: &Job, p: ProcId) -> Option<&str> {
    job.proc(p).host.as_deref()
}

fn is_internal_net(name: &str) -> bool {
    name.eq_ignore_ascii_case("IB") || name.eq_ignore_ascii_case("Socket")
}

/// Why an interface is a poor choice for NCCL's bootstrap/socket traffic, if it is one.
/// Loopback and container/VM bridges are host-local, tunnels are often link-local or
/// encapsulated (NVIDIA/nccl#286, #913, #1837). A plain interface with an alias label
/// (`eno1:avahi`) is parsed as `eno1` and is fine.
fn suspect_iface(name: &str) -> Option<&'static str> {
    if name == "lo" {
        return Some("loopback");
    }
    const HOST_LOCAL: &[&str] = &[
        "docker", "veth", "virbr", "br-", "cni", "flannel", "cali", "weave", "vxlan", "lxcbr", "lxdbr",
        "kube-", "podman", "cilium_",
    ];
    if HOST_LOCAL.iter().any(|p| name.starts_with(p)) {
        return Some("host-local container/VM bridge or veth");
    }
    // Tunnels are named prefix + number (`tunl0`, `ip6tnl0`, `gre0`, `sit0`, `tun0`).
    const TUNNEL: &[&str] = &["tunl", "ip6tnl", "ip6gre", "ip_vti", "ip6_vti", "gretap", "gre", "sit", "tun"];
    let tunnel = TUNNEL.iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()))
    });
    tunnel.then_some("tunnel")
}

/// RDMA devices that are rarely the job's fabric when listed next to other HCAs: iWARP and
/// onboard-Ethernet RDMA functions and soft RoCE/iWARP (`i40iw0` next to `mlx5_*`,
/// NVIDIA/nccl-tests#150).
const NON_FABRIC_HCA: &[&str] = &["i40iw", "irdma", "qedr", "bnxt_re", "siw", "rxe", "iw_cxgb", "cxgb4"];

fn is_non_fabric_hca(name: &str) -> bool {
    NON_FABRIC_HCA.iter().any(|p| name.starts_with(p))
}

/// The devices of a NET/IB list that can be the fabric (all of them when none stands out).
fn fabric_devices(devs: &[IbDev]) -> Vec<&IbDev> {
    let fabric: Vec<&IbDev> = devs.iter().filter(|d| !is_non_fabric_hca(&d.name)).collect();
    if fabric.is_empty() {
        devs.iter().collect()
    } else {
        fabric
    }
}

/// Whether a `NET/IB : Using …` line was printed whole: pasted logs cut lines mid-device
/// (`[4]mlx5_2:1/R`), which would fake a shorter list. Evidence text cut by ncclscope itself
/// ends with `…` and was parsed whole.
fn ib_list_complete(text: &str) -> bool {
    let t = text.trim_end();
    if t.ends_with('…') || t.contains("OOB") {
        return true;
    }
    let last = t.rsplit(char::is_whitespace).next().unwrap_or("");
    last.ends_with(']')
        || last.ends_with(';')
        || last.ends_with('}')
        || ["/IB", "/RoCE", "/UNSPECIFIED", "/SHARP"].iter().any(|s| last.ends_with(s))
}

/// Whether a `NET/Socket : Using [0]eth0:10.0.0.1<0> …` line was printed whole.
fn socket_list_complete(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with('>') || t.ends_with('…')
}

/// Whether NCCL's Socket transport carries the job's network traffic (so its interface list
/// is the NIC list): `Using network Socket`, `via NET/Socket/N`, or — NCCL ≤ 2.5, which prints
/// no `Using network` — socket interfaces and no fast network at all.
fn socket_is_network(job: &Job) -> bool {
    job.using_network.iter().any(|f| f.data.eq_ignore_ascii_case("Socket"))
        || job.connections.keys().any(|(_, k)| matches!(k, ConnKind::Net { name, .. } if name == "Socket"))
        || (job.using_network.is_empty()
            && job.ib_devices.is_empty()
            && job.ofi_provider.is_empty()
            && !job.socket_devices.is_empty())
}

/// NCCL's socket connect failures (misc/socket.cc, include/socket.h): WARN `Connect to %s
/// failed : %s` (≤ 2.11), `socketStartConnect: exceeded timeouts|retries (%d)` and
/// `socketStartConnect: Connect to %s failed : %s` (2.12+), `socketPollConnect: …` (2.19+).
pub(crate) fn is_connect_failure(msg: &str) -> bool {
    msg.contains("Connect to ")
        || msg.contains("exceeded timeouts")
        || msg.contains("exceeded retries")
        || msg.contains("socketPollConnect")
        || msg.contains("socketStartConnect")
}

fn join(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items.into_iter().map(|s| s.as_ref().to_string()).collect::<Vec<_>>().join(", ")
}

/// Hosts grouped by what they saw (most common view first), with one line per view.
fn group_hosts<'a, K: Ord + Clone>(
    views: &BTreeMap<&'a str, (K, &'a Evidence)>,
) -> Vec<(K, Vec<&'a str>, &'a Evidence)> {
    let mut groups: BTreeMap<K, (Vec<&'a str>, &'a Evidence)> = BTreeMap::new();
    for (host, (k, ev)) in views {
        groups.entry(k.clone()).or_insert_with(|| (Vec::new(), ev)).0.push(host);
    }
    let mut v: Vec<(K, Vec<&'a str>, &'a Evidence)> =
        groups.into_iter().map(|(k, (hosts, ev))| (k, hosts, ev)).collect();
    v.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    v
}

/// Hosts outside the most common view; all of them when no view is the majority.
fn odd_hosts<K>(groups: &[(K, Vec<&str>, &Evidence)]) -> Vec<String> {
    let tie = groups.len() > 1 && groups[0].1.len() == groups[1].1.len();
    let skip = usize::from(!tie);
    groups.iter().skip(skip).flat_map(|g| g.1.iter().map(|h| h.to_string())).collect()
}

fn short_hosts(hosts: &[&str]) -> String {
    let v: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    crate::model::short_list(&v, 3)
}

// ---------------------------------------------------------------------------------------------

pub struct NicSetMismatch;

impl Rule for NicSetMismatch {
    fn id(&self) -> RuleId {
        RuleId::NIC_SET_MISMATCH
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut parts: Vec<String> = Vec::new();
        let mut hosts: Vec<String> = Vec::new();
        let mut evidence: Vec<&Evidence> = Vec::new();
        // Processes of one host print the same list; only hosts are compared, each by the
        // union of its processes' complete lists.
        let mut ib: BTreeMap<&str, (BTreeSet<String>, &Evidence)> = BTreeMap::new();
        for f in job.ib_devices.iter().filter(|f| ib_list_complete(&f.ev.text)) {
            let Some(h) = host_of(job, f.proc) else { continue };
            let e = ib.entry(h).or_insert_with(|| (BTreeSet::new(), &f.ev));
            e.0.extend(f.data.iter().map(|d| format!("{}:{}", d.name, d.port)));
        }
        let groups = group_hosts(&ib);
        if groups.len() > 1 {
            let desc: Vec<String> = groups
                .iter()
                .take(4)
                .map(|(set, hs, _)| format!("{}: {} HCA(s) [{}]", short_hosts(hs), set.len(), join(set)))
                .collect();
            parts.push(format!("NET/IB device lists differ — {}", desc.join("; ")));
            hosts.extend(odd_hosts(&groups));
            evidence.extend(groups.iter().take(4).map(|g| g.2));
        }
        // aws-ofi-nccl `Selected Provider is efa (found N nics)`.
        let mut ofi: BTreeMap<&str, (u32, &Evidence)> = BTreeMap::new();
        for f in job.ofi_provider.iter() {
            let (Some(h), Some(n)) = (host_of(job, f.proc), f.data.1) else { continue };
            let e = ofi.entry(h).or_insert((n, &f.ev));
            if n > e.0 {
                *e = (n, &f.ev);
            }
        }
        let groups = group_hosts(&ofi);
        if groups.len() > 1 {
            let desc: Vec<String> =
                groups.iter().take(4).map(|(n, hs, _)| format!("{}: {n} NIC(s)", short_hosts(hs))).collect();
            parts.push(format!("aws-ofi-nccl found different NIC counts — {}", desc.join("; ")));
            hosts.extend(odd_hosts(&groups));
            evidence.extend(groups.iter().take(4).map(|g| g.2));
        }
        // Socket interfaces matter only when Socket is the network; interface names differ
        // harmlessly between hardware generations, so only their number is compared.
        if socket_is_network(job) {
            let mut sock: BTreeMap<&str, (BTreeSet<&str>, &Evidence)> = BTreeMap::new();
            for f in job.socket_devices.iter().filter(|f| socket_list_complete(&f.ev.text)) {
                let Some(h) = host_of(job, f.proc) else { continue };
                let e = sock.entry(h).or_insert_with(|| (BTreeSet::new(), &f.ev));
                e.0.extend(f.data.iter().map(|(n, _)| n.as_str()));
            }
            let counts: BTreeMap<&str, (usize, &Evidence)> =
                sock.iter().map(|(h, (s, ev))| (*h, (s.len(), *ev))).collect();
            let groups = group_hosts(&counts);
            if groups.len() > 1 {
                let desc: Vec<String> = groups
                    .iter()
                    .take(4)
                    .map(|(n, hs, _)| {
                        let names = sock.get(hs[0]).map(|(s, _)| join(s)).unwrap_or_default();
                        format!("{}: {n} interface(s) [{names}]", short_hosts(hs))
                    })
                    .collect();
                parts.push(format!("NET/Socket interface counts differ — {}", desc.join("; ")));
                hosts.extend(odd_hosts(&groups));
                evidence.extend(groups.iter().take(4).map(|g| g.2));
            }
        }
        if parts.is_empty() {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "Hosts of this job see different network devices: {}. NCCL builds rings/trees and rail pairs assuming identical nodes; a node with fewer or other NICs caps the job's bandwidth or hangs its connection setup.",
                    parts.join(". ")
                ),
            )
            .hosts(hosts)
            .evidence(evidence),
        );
    }
}

pub struct NicUnderused;

impl Rule for NicUnderused {
    fn id(&self) -> RuleId {
        RuleId::NIC_UNDERUSED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let before = out.len();
        self.check_device_lists(ctx, out);
        if out.len() == before {
            self.check_topology(ctx, out);
        }
    }
}

impl NicUnderused {
    /// Graph-aware: a GPU whose channels are in the log has a nearest NIC (by the topology
    /// XML dump or the log's topology printout) that no channel of its host uses. NCCL gives
    /// each GPU its nearest NIC(s), so an idle nearest NIC means traffic went elsewhere (a
    /// filtered or failed HCA, a capped channel count). NICs nearest to no logged GPU are not
    /// counted: with fewer GPUs than NICs they are idle by design.
    fn check_topology(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let topo = &job.topology;
        #[derive(Default)]
        struct HostUse<'a> {
            used: BTreeSet<petgraph::graph::NodeIndex>,
            /// Nearest NIC → the GPUs (labels) it is nearest to.
            nearest: BTreeMap<petgraph::graph::NodeIndex, Vec<String>>,
            conn_ev: Vec<&'a Evidence>,
            procs: BTreeSet<ProcId>,
            host: Option<&'a str>,
        }
        let mut per_host: BTreeMap<usize, HostUse<'_>> = BTreeMap::new();
        for e in &topo.map.entries {
            let (Some(p), Some((hi, g))) = (e.proc, e.topo) else { continue };
            if e.nic_used.is_empty() {
                continue;
            }
            let Some(h) = topo.hosts.get(hi) else { continue };
            let u = per_host.entry(hi).or_default();
            u.host = job.proc(p).host.as_deref();
            u.procs.insert(p);
            u.conn_ev.extend(e.evidence.first());
            // Used ends: by net device index on a printout graph, by name/bus id on an XML one.
            if h.source == crate::topology::TopoSource::Log {
                let cuda_dev = e.gpu.and_then(|g| i32::try_from(g).ok());
                for (_, nu) in job.net_use.iter().filter(|((q, d, _), _)| *q == p && *d == cuda_dev) {
                    u.used.extend(nu.devs.iter().filter_map(|d| h.find_net_dev(*d)));
                }
            }
            if h.source == crate::topology::TopoSource::Xml {
                u.used.extend(e.nic_used.iter().filter_map(|n| h.find_nic(n)).map(|end| end.node));
            }
            if let Some((_, ends)) = h.nearest_nics(g) {
                for end in ends {
                    let label = match (e.rank, e.gpu) {
                        (Some(r), _) => format!("rank {r}"),
                        (None, Some(d)) => format!("GPU{d}"),
                        _ => e.bus_id.clone().unwrap_or_else(|| "a GPU".into()),
                    };
                    u.nearest.entry(end.node).or_default().push(label);
                }
            }
        }
        let mut lines: Vec<String> = Vec::new();
        let mut evidence: Vec<&Evidence> = Vec::new();
        let mut hosts: BTreeSet<String> = BTreeSet::new();
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        let mut conn_lines = 0;
        for (hi, u) in &per_host {
            let Some(h) = topo.hosts.get(*hi) else { continue };
            let idle: Vec<(&petgraph::graph::NodeIndex, &Vec<String>)> =
                u.nearest.iter().filter(|(n, _)| !u.used.contains(n)).collect();
            if idle.is_empty() || u.used.is_empty() {
                continue;
            }
            conn_lines += job
                .connections
                .iter()
                .filter(|((p, k), _)| u.procs.contains(p) && matches!(k, ConnKind::Net { .. }))
                .map(|(_, s)| s.count)
                .sum::<usize>();
            let name = |n: &petgraph::graph::NodeIndex| h.node(*n).label();
            lines.push(format!(
                "{}: {} nearest to {} carry no channel, while channels use {}",
                u.host.map_or_else(|| "a host".to_string(), str::to_string),
                join(idle.iter().map(|(n, _)| name(n))),
                join(idle.iter().flat_map(|(_, g)| g.iter().cloned()).collect::<BTreeSet<String>>()),
                join(u.used.iter().map(name)),
            ));
            evidence.extend(idle.iter().filter_map(|(n, _)| h.node(**n).ev.as_ref()).take(3));
            evidence.extend(u.conn_ev.iter().take(3).copied());
            hosts.extend(u.host.map(str::to_string));
            procs.extend(u.procs.iter().copied());
        }
        // One connection line alone is no pattern.
        if lines.is_empty() || conn_lines < 2 {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "NICs nearest to GPUs of this job carry no channel (topology vs connection lines) — {}. NCCL gives each GPU its nearest NIC(s): an idle one means its traffic crosses to another NIC (filtered by NCCL_IB_HCA, failed, or the channel count is capped) and the host gets a fraction of its network bandwidth.",
                    lines.join("; ")
                ),
            )
            .hosts(hosts)
            .ranks(job.ranks_of(procs.iter().copied()))
            .evidence(evidence),
        );
    }

    fn check_device_lists(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        #[derive(Default)]
        struct HostNet<'a> {
            used: BTreeSet<u32>,
            conn_lines: usize,
            conn_procs: BTreeSet<ProcId>,
            conn_ev: Vec<&'a Evidence>,
            listed: usize,
            listed_names: Vec<String>,
            list_procs: BTreeSet<ProcId>,
            list_ev: Option<&'a Evidence>,
        }
        // (host, "IB" | "Socket") → what it listed and used.
        let mut nets: BTreeMap<(&str, &str), HostNet<'_>> = BTreeMap::new();
        for ((p, kind), s) in &job.connections {
            let ConnKind::Net { name, .. } = kind else { continue };
            let class = if name == "Socket" {
                "Socket"
            } else if name == "IB" || name.starts_with("IBext") {
                "IB"
            } else {
                // Plugins (aws-ofi-nccl) expose NIC groups, not the host's NICs: no count to
                // compare with.
                continue;
            };
            let Some(h) = host_of(job, *p) else { continue };
            let n = nets.entry((h, class)).or_default();
            n.used.extend(s.devs.iter().copied());
            n.conn_lines += s.count;
            n.conn_procs.insert(*p);
            n.conn_ev.push(&s.first);
        }
        if nets.is_empty() {
            return;
        }
        for f in job.ib_devices.iter() {
            let Some(h) = host_of(job, f.proc) else { continue };
            let Some(n) = nets.get_mut(&(h, "IB")) else { continue };
            n.list_procs.insert(f.proc);
            // 2.20–2.23 merged virtual NICs (`[0]={[0] mlx5_0:1/IB, [1] mlx5_1:1/IB}`) count
            // as one device for NCCL: the physical list says nothing about channel devices.
            if f.ev.text.contains("={") || !ib_list_complete(&f.ev.text) {
                continue;
            }
            let fabric = fabric_devices(&f.data);
            if fabric.len() > n.listed {
                n.listed = fabric.len();
                n.listed_names = fabric.iter().map(|d| d.name.clone()).collect();
                n.list_ev = Some(&f.ev);
            }
        }
        for f in job.socket_devices.iter() {
            let Some(h) = host_of(job, f.proc) else { continue };
            let Some(n) = nets.get_mut(&(h, "Socket")) else { continue };
            n.list_procs.insert(f.proc);
            if !socket_list_complete(&f.ev.text) {
                continue;
            }
            // Loopback/bridges/tunnels are not NICs a channel should use (BOOTSTRAP_IFACE_SUSPECT).
            let real: Vec<&str> =
                f.data.iter().map(|(n, _)| n.as_str()).filter(|n| suspect_iface(n).is_none()).collect();
            if real.len() > n.listed {
                n.listed = real.len();
                n.listed_names = real.iter().map(|s| s.to_string()).collect();
                n.list_ev = Some(&f.ev);
            }
        }
        let mut lines: Vec<String> = Vec::new();
        let mut hosts: BTreeSet<&str> = BTreeSet::new();
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        let mut evidence: Vec<&Evidence> = Vec::new();
        let mut fewer_gpus: Vec<&str> = Vec::new();
        // Every process that listed the NICs must show its channels: a log that kept only
        // some ranks' connection lines proves nothing about the others' NICs.
        let candidates: Vec<(&(&str, &str), &HostNet<'_>, &Evidence)> = nets
            .iter()
            .filter_map(|(k, n)| n.list_ev.map(|ev| (k, n, ev)))
            .filter(|(_, n, _)| {
                n.listed >= 2 && n.used.len() < n.listed && n.list_procs.is_subset(&n.conn_procs)
            })
            .collect();
        // One connection line alone is no pattern: some host must show several.
        if !candidates.iter().any(|(_, n, _)| n.conn_lines >= 2) {
            return;
        }
        for ((h, class), n, list_ev) in candidates {
            let host_procs: Vec<ProcId> =
                (0..job.procs.len()).filter(|&p| host_of(job, p) == Some(*h)).collect();
            let gpus = host_procs
                .iter()
                .flat_map(|&p| job.proc(p).cuda_devs.iter().copied())
                .collect::<BTreeSet<i32>>()
                .len()
                .max(job.ranks_of(host_procs.iter().copied()).len());
            if gpus < n.listed {
                fewer_gpus.push(h);
            }
            let used: Vec<String> = n.used.iter().map(|d| format!("NET/{class}/{d}")).collect();
            lines.push(format!(
                "{h}: every channel runs over {} while {} {} are listed ({})",
                join(&used),
                n.listed,
                if *class == "Socket" { "interfaces" } else { "HCAs" },
                join(&n.listed_names)
            ));
            hosts.insert(h);
            procs.extend(n.conn_procs.iter().copied());
            evidence.push(list_ev);
            evidence.extend(n.conn_ev.iter().take(3).copied());
        }
        if lines.is_empty() {
            return;
        }
        let (severity, why) = if fewer_gpus.len() == hosts.len() {
            (
                Severity::Info,
                format!(
                    " These logs show fewer GPUs on {} than NICs, and NCCL gives each GPU its nearest NIC(s), so idle NICs may be expected here.",
                    join(&fewer_gpus)
                ),
            )
        } else {
            (
                Severity::Warning,
                " The other NICs carry nothing: the job gets a fraction of the host's network bandwidth."
                    .to_string(),
            )
        };
        out.push(
            Finding::new(
                self.id(),
                format!("Network channels use fewer NICs than the host lists — {}.{why}", lines.join("; ")),
            )
            .severity(severity)
            .hosts(hosts.into_iter().map(str::to_string))
            .ranks(job.ranks_of(procs.iter().copied()))
            .evidence(evidence),
        );
    }
}

pub struct IbHcaFilterSuspect;

/// Problems of one `NCCL_IB_HCA` value. NCCL (src/transport/net_ib.cc `searchNot`/`searchExact`,
/// then `parseStringList`/`matchIfList` in src/misc/utils.cc) reads one leading `^` (exclude) then
/// one `=` (exact names) for the whole list; without `=` every entry is a prefix, so `mlx5_1`
/// also selects `mlx5_10`…`mlx5_19` (NVIDIA/nccl-tests#150, NVIDIA/nccl#1412).
fn hca_value_problems(value: &str, listed: &BTreeSet<&str>) -> Vec<(String, Option<String>)> {
    let mut problems = Vec::new();
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let (exclude, rest) = match v.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, v),
    };
    let (exact, rest) = match rest.strip_prefix('=') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let tokens: Vec<&str> = rest.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    for t in tokens.iter().filter(|t| t.contains(['^', '='])) {
        problems.push((
            format!("'{t}': `^` and `=` apply once, at the start of the whole value, so this entry is taken literally and matches no device"),
            None,
        ));
    }
    if exact {
        return problems;
    }
    let names: BTreeSet<&str> = tokens.iter().map(|t| t.split(':').next().unwrap_or(t)).collect();
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for t in names.iter().filter(|t| t.ends_with(|c: char| c.is_ascii_digit())) {
        let others = names.iter().map(|n| (*n, false)).chain(listed.iter().map(|n| (*n, true)));
        for (u, is_listed) in others {
            let longer = u.len() > t.len()
                && u.starts_with(t)
                && u[t.len()..].starts_with(|c: char| c.is_ascii_digit());
            if !longer || !seen.insert((t, u)) {
                continue;
            }
            let what = if exclude { "excludes" } else { "selects" };
            problems.push((
                if is_listed {
                    format!("'{t}' is a prefix match and also {what} the listed device {u}")
                } else {
                    format!("'{t}' is a prefix match and also {what} {u} (and any {t}N)")
                },
                is_listed.then(|| u.to_string()),
            ));
        }
    }
    problems
}

impl Rule for IbHcaFilterSuspect {
    fn id(&self) -> RuleId {
        RuleId::IB_HCA_FILTER_SUSPECT
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // NCCL's echo (`NCCL_IB_HCA set to …`, `… set by environment to …`) and command lines.
        let values: Vec<(&str, ProcId, &Evidence)> = job
            .env
            .iter()
            .chain(job.cmdline_env.iter())
            .filter(|f| f.data.0 == "NCCL_IB_HCA")
            .map(|f| (f.data.1.as_str(), f.proc, &f.ev))
            .collect();
        if values.is_empty() {
            return;
        }
        let listed: BTreeSet<&str> =
            job.ib_devices.iter().flat_map(|f| f.data.iter().map(|d| d.name.as_str())).collect();
        let mut by_value: BTreeMap<&str, Seen<'_>> = BTreeMap::new();
        for (v, p, ev) in &values {
            by_value.entry(v).or_default().add(*p, ev);
        }
        let mut msgs: Vec<String> = Vec::new();
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        let mut evidence: Vec<&Evidence> = Vec::new();
        for (v, seen) in &by_value {
            let problems = hca_value_problems(v, &listed);
            if problems.is_empty() {
                continue;
            }
            msgs.push(format!(
                "NCCL_IB_HCA={v}: {}",
                problems.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>().join("; ")
            ));
            procs.extend(seen.procs.iter().copied());
            evidence.extend(seen.evidence.iter().take(2).copied());
            // The device list that shows a prefix match pulling in another device.
            for dev in problems.iter().filter_map(|(_, d)| d.as_deref()) {
                if let Some(f) = job.ib_devices.iter().find(|f| f.data.iter().any(|d| d.name == dev)) {
                    evidence.push(&f.ev);
                }
            }
        }
        if msgs.is_empty() {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "{}. Use `=` for exact names (NCCL_IB_HCA==mlx5_0,mlx5_1) and a single leading `^` for exclusions.",
                    msgs.join(". ")
                ),
            )
            .affecting(job, procs.iter().copied())
            .evidence(evidence),
        );
    }
}

pub struct BootstrapIfaceSuspect;

impl Rule for BootstrapIfaceSuspect {
    fn id(&self) -> RuleId {
        RuleId::BOOTSTRAP_IFACE_SUSPECT
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // (interface, why) → processes and one line per host.
        let mut ifaces: BTreeMap<(&str, &str), Seen<'_>> = BTreeMap::new();
        let mut shown: BTreeSet<(Option<&str>, &str)> = BTreeSet::new();
        let lists = job
            .bootstrap
            .iter()
            .map(|f| ("Bootstrap", f))
            .chain(job.socket_devices.iter().map(|f| ("NET/Socket", f)));
        for (_, f) in lists {
            for (name, _) in &f.data {
                let Some(why) = suspect_iface(name) else { continue };
                let seen = ifaces.entry((name.as_str(), why)).or_default();
                seen.procs.insert(f.proc);
                if shown.insert((host_of(job, f.proc), name.as_str())) {
                    seen.evidence.push(&f.ev);
                }
            }
        }
        let mut failures = Seen::default();
        for f in job.warns.iter().filter(|f| is_connect_failure(&f.data.message)) {
            failures.add(f.proc, &f.ev);
        }
        // `Call to connect returned Connection refused, retrying` also shows while a peer is
        // still starting; it counts when the connect timed out or finally failed.
        let strong = failures.count > 0;
        for f in job.notable_info.iter().filter(|f| f.data.contains("Call to connect returned")) {
            if strong || f.data.contains("timed out") {
                failures.add(f.proc, &f.ev);
            }
        }
        if ifaces.is_empty() && failures.count == 0 {
            return;
        }
        let mut procs: BTreeSet<ProcId> = failures.procs.clone();
        let mut evidence: Vec<&Evidence> = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        if !ifaces.is_empty() {
            let desc: Vec<String> = ifaces.keys().map(|(n, why)| format!("{n} ({why})")).collect();
            parts.push(format!(
                "NCCL's bootstrap/socket interface list includes {}: their addresses are host-local or link-local, so peers on other nodes usually cannot reach them, and NET/Socket channels may be opened over them",
                join(&desc)
            ));
            for seen in ifaces.values() {
                procs.extend(seen.procs.iter().copied());
                // A line may show several suspect interfaces; leave room for the failures.
                for ev in seen.evidence.iter().take(3) {
                    if evidence.len() < 4 && !evidence.contains(ev) {
                        evidence.push(ev);
                    }
                }
            }
        }
        if failures.count > 0 {
            let used: BTreeSet<&str> = job
                .bootstrap
                .iter()
                .chain(job.socket_devices.iter())
                .filter(|f| failures.procs.contains(&f.proc))
                .flat_map(|f| f.data.iter().map(|(n, _)| n.as_str()))
                .collect();
            let via = if used.is_empty() {
                String::new()
            } else {
                format!(" (interfaces in use: {})", join(&used))
            };
            parts.push(format!(
                "socket connections to peers timed out or were refused {} time(s){via}: the address NCCL picked is unreachable from the peer, or a firewall/security group drops it",
                failures.count
            ));
            evidence.extend(failures.evidence.iter().take(4).copied());
        }
        let (severity, scope) = if failures.count > 0 {
            (Severity::Warning, String::new())
        } else {
            match job.multi_node_evidence() {
                Some(why) => (Severity::Warning, format!(" The job spans nodes ({why}).")),
                None => (
                    Severity::Info,
                    " Only one host is visible and no connection failed, so this works here — but the same setting breaks a multi-node job.".to_string(),
                ),
            }
        };
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "{}.{scope} Set NCCL_SOCKET_IFNAME to the routable interface (or `^docker,lo,veth,virbr`).",
                    parts.join("; ")
                ),
            )
            .severity(severity)
            .affecting(job, procs.iter().copied())
            .evidence(evidence),
        );
    }
}

/// The plugin name in `Initialized NET plugin X` / `Assigned NET plugin X to comm` /
/// `Failed to initialize NET plugin X` (NCCL 2.27+).
fn net_plugin_name(text: &str) -> Option<&str> {
    let i = text.find("NET plugin ")?;
    let rest = text[i + "NET plugin ".len()..].trim();
    Some(rest.strip_suffix(" to comm").unwrap_or(rest).trim())
}

pub struct NetPluginInitFailed;

impl Rule for NetPluginInitFailed {
    fn id(&self) -> RuleId {
        RuleId::NET_PLUGIN_INIT_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // Processes where an external net plugin was loaded (or spoke: aws-ofi-nccl lines).
        let mut external: BTreeSet<ProcId> = BTreeSet::new();
        let mut names: BTreeSet<String> = BTreeSet::new();
        // Processes whose network ended up being NCCL's internal IB or Socket.
        let mut fallback: BTreeMap<ProcId, &Evidence> = BTreeMap::new();
        for f in job.plugin.iter().filter(|f| f.data.0 == "NET") {
            match f.data.1 {
                PluginEvent::Loaded => {
                    external.insert(f.proc);
                }
                PluginEvent::Initialized => match net_plugin_name(&f.ev.text) {
                    Some(n) if is_internal_net(n) => {
                        fallback.entry(f.proc).or_insert(&f.ev);
                    }
                    Some(n) => {
                        external.insert(f.proc);
                        names.insert(n.to_string());
                    }
                    None => {}
                },
                _ => {}
            }
        }
        let ofi_warns: Vec<_> = job.warns.iter().filter(|f| f.data.message.contains("NET/OFI")).collect();
        let ofi_procs: BTreeSet<ProcId> = job
            .ofi_plugin_version
            .iter()
            .map(|f| f.proc)
            .chain(job.ofi_provider.iter().map(|f| f.proc))
            .chain(job.ofi_no_provider.iter().map(|f| f.proc))
            .chain(ofi_warns.iter().map(|f| f.proc))
            .collect();
        external.extend(ofi_procs.iter().copied());
        for f in job.using_network.iter().filter(|f| is_internal_net(&f.data)) {
            fallback.insert(f.proc, &f.ev);
        }
        // Why the plugin did not serve: per process.
        let mut errors: BTreeMap<ProcId, Vec<&Evidence>> = BTreeMap::new();
        let mut reasons: BTreeSet<&str> = BTreeSet::new();
        // NCCL 2.27+ src/plugin/net.cc (and src/net.cc before) unwinding: the plugin's init,
        // devices() or getProperties() failed (`plugin/net.cc:118 -> 2` after
        // `NET/OFI Invalid type of PCI bus` with aws-ofi-nccl 1.6 on NCCL 2.27).
        for f in job.unwinds.iter().filter(|f| f.data.file == "plugin/net.cc" || f.data.file == "net.cc") {
            errors.entry(f.proc).or_default().push(&f.ev);
            reasons.insert(
                "NCCL's plugin layer unwound with an error: its init, devices() or getProperties() failed",
            );
        }
        let mut none_initialized: Vec<&Evidence> = Vec::new();
        let mut none_procs: BTreeSet<ProcId> = BTreeSet::new();
        for f in job.plugin.iter().filter(|f| f.data.0 == "NET" && f.data.1 == PluginEvent::InitFailed) {
            if f.ev.text.contains("any NET plugin") {
                none_initialized.push(&f.ev);
                none_procs.insert(f.proc);
            } else {
                errors.entry(f.proc).or_default().push(&f.ev);
                reasons.insert("NCCL reports the plugin's init failed");
            }
        }
        for f in &ofi_warns {
            errors.entry(f.proc).or_default().push(&f.ev);
            reasons.insert("aws-ofi-nccl warned during init");
        }
        for f in job.ofi_no_provider.iter() {
            errors.entry(f.proc).or_default().push(&f.ev);
            reasons.insert("aws-ofi-nccl found no usable libfabric provider (see EFA_NOT_FOUND)");
        }
        let affected: BTreeSet<ProcId> =
            errors.keys().copied().filter(|p| external.contains(p) && fallback.contains_key(p)).collect();
        if affected.is_empty() && none_initialized.is_empty() {
            return;
        }
        let mut evidence: Vec<&Evidence> = Vec::new();
        if let Some(first) = affected.first() {
            evidence.extend(
                job.plugin
                    .iter()
                    .find(|f| f.proc == *first && f.data.0 == "NET" && f.data.1 == PluginEvent::Loaded)
                    .map(|f| &f.ev),
            );
        }
        // The same story repeats per rank: the errors of a few processes, then their fallback
        // (kept under the finding's evidence cap so that sampling does not drop either).
        for p in affected.iter().take(3) {
            evidence.extend(errors.get(p).into_iter().flatten().take(2).copied());
        }
        evidence.extend(affected.iter().take(2).filter_map(|p| fallback.get(p).copied()));
        evidence.extend(none_initialized.iter().copied());
        let to: BTreeSet<&str> = affected
            .iter()
            .filter_map(|p| fallback.get(p))
            .map(|ev| if ev.text.contains("Socket") { "Socket" } else { "IB" })
            .collect();
        // aws-ofi-nccl registers as `AWS Libfabric` (≤ 1.12) / `Libfabric` (1.13+).
        let plugin = if affected.iter().any(|p| ofi_procs.contains(p)) {
            let version =
                job.ofi_plugin_version.iter().find(|f| affected.contains(&f.proc)).map(|f| f.data.as_str());
            let mut s = match version {
                Some(v) => format!("aws-ofi-nccl {v}"),
                None => "aws-ofi-nccl".to_string(),
            };
            if !names.is_empty() {
                s.push_str(&format!(" (NET plugin {})", join(&names)));
            }
            s
        } else if names.is_empty() {
            "The external net plugin".to_string()
        } else {
            format!("The external net plugin {}", join(&names))
        };
        let mut msg = String::new();
        if !affected.is_empty() {
            msg = format!(
                "{plugin} loaded but failed during initialization on {} process(es) ({}); NCCL fell back to its internal {} transport.",
                affected.len(),
                join(&reasons),
                join(&to)
            );
            if to.contains("Socket") {
                msg.push_str(" Inter-node traffic then runs over TCP.");
            }
        }
        let severity = if none_initialized.is_empty() {
            Severity::Warning
        } else {
            msg.push_str(&format!(
                " On {} process(es) NCCL says it failed to initialize any NET plugin — not even its internal ones — so communicator init fails there.",
                none_procs.len()
            ));
            Severity::Critical
        };
        msg.push_str(" Remove the stale plugin from LD_LIBRARY_PATH/NCCL_NET_PLUGIN or fix its dependencies (libfabric provider, plugin version matching NCCL).");
        let procs: BTreeSet<ProcId> = affected.union(&none_procs).copied().collect();
        out.push(
            Finding::new(self.id(), msg.trim_start().to_string())
                .severity(severity)
                .affecting(job, procs.iter().copied())
                .evidence(evidence),
        );
    }
}

/// aws-ofi-nccl errors that only happen once a provider was chosen: creating the fabric,
/// domain, endpoint, AV or CQ (`Couldn't open AV. RC: -22, ERROR: Invalid argument`, aws-ofi-nccl
/// ≤ 1.x `create_nccl_ofi_component`), binding them, registering memory (`Unable to register
/// memory … RC: 12`). Strong shapes name a libfabric call result.
pub(crate) fn ofi_error_strength(msg: &str) -> Option<bool> {
    let no_provider = [
        "optimal provider",
        "No eligible providers",
        "fi_getinfo",
        "Only EFA provider",
        "No EFA devices",
        "Unexpected group size 0",
    ];
    if !msg.contains("NET/OFI") || no_provider.iter().any(|s| msg.contains(s)) {
        return None;
    }
    let strong = ["Couldn't ", "Could not ", "Unable to ", "RC: ", "ERROR:"];
    if strong.iter().any(|s| msg.contains(s)) {
        return Some(true);
    }
    let weak = [" failed", "failure", "Failed", "error", "Error"];
    weak.iter().any(|s| msg.contains(s)).then_some(false)
}

pub struct OfiInitFailed;

impl Rule for OfiInitFailed {
    fn id(&self) -> RuleId {
        RuleId::OFI_INIT_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let selected: BTreeMap<ProcId, &Evidence> =
            job.ofi_provider.iter().map(|f| (f.proc, &f.ev)).collect();
        let mut seen = Seen::default();
        for f in job.warns.iter() {
            match ofi_error_strength(&f.data.message) {
                Some(true) => seen.add(f.proc, &f.ev),
                // `OFI NCCL failure: 2` and kin also end a failed provider search: only after a
                // provider was selected in that process are they a later step failing.
                Some(false) if selected.contains_key(&f.proc) => seen.add(f.proc, &f.ev),
                _ => {}
            }
        }
        for f in job
            .ofi_no_provider
            .iter()
            .filter(|f| f.data.contains("fi_getinfo") && selected.contains_key(&f.proc))
        {
            seen.add(f.proc, &f.ev);
        }
        if seen.count == 0 {
            return;
        }
        let mut evidence: Vec<&Evidence> =
            seen.procs.iter().filter_map(|p| selected.get(p).copied()).take(2).collect();
        evidence.extend(seen.evidence.iter().copied());
        // The plugin's error reaches NCCL and aborts the communicator — unless it happened
        // during plugin init and NCCL went on with its internal IB/Socket transport.
        let fell_back =
            job.using_network.iter().any(|f| is_internal_net(&f.data) && seen.procs.contains(&f.proc));
        let (severity, scope) = if fell_back {
            (
                Severity::Warning,
                " NCCL then continued on its internal IB/Socket transport (see NET_PLUGIN_INIT_FAILED).",
            )
        } else {
            (Severity::Critical, "")
        };
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "aws-ofi-nccl selected a provider but then failed to set it up on {} process(es) (libfabric fabric/domain/endpoint/AV/memory registration errors): EFA cannot carry this job's traffic.{scope} Match libfabric to the EFA installer and aws-ofi-nccl, and check /dev/infiniband permissions and memlock limits.",
                    seen.procs.len()
                ),
            )
            .severity(severity)
            .affecting(job, seen.procs.iter().copied())
            .evidence(evidence),
        );
    }
}

pub struct NetNicInfoMissing;

impl Rule for NetNicInfoMissing {
    fn id(&self) -> RuleId {
        RuleId::NET_NIC_INFO_MISSING
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut reasons: Vec<&str> = Vec::new();
        for f in job.ofi_no_nic_info.iter() {
            seen.add(f.proc, &f.ev);
        }
        if seen.count > 0 {
            reasons.push("aws-ofi-nccl reports `No NIC info` (no PCI path) for its devices");
        }
        // NCCL ≤ 2.4 `CUDA Dev 0[0], AWS Libfabric NIC distance :  SYS`: a plugin NIC at SYS
        // from every GPU is a NIC without a PCI path. IB/Socket distances are real topology.
        let plugin_dist: Vec<_> = job
            .notable_info
            .iter()
            .filter_map(|f| {
                let (head, dist) = f.data.split_once("NIC distance")?;
                let net = head.rsplit(',').next().unwrap_or("").trim();
                (!is_internal_net(net)).then_some((f, dist.trim_start_matches([' ', ':'])))
            })
            .collect();
        let all_sys = !plugin_dist.is_empty()
            && plugin_dist.iter().all(|(_, d)| d.split_whitespace().all(|t| t == "SYS"));
        if all_sys {
            for (f, _) in &plugin_dist {
                seen.add(f.proc, &f.ev);
            }
            reasons.push("the net plugin's NIC is at distance SYS from every GPU");
        }
        if seen.count == 0 {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "The net plugin gives NCCL no NIC locality on {} process(es): {}. NCCL cannot pair GPUs with their nearest NIC and turns GPUDirect RDMA off for them. Upgrade aws-ofi-nccl or provide NCCL_TOPO_FILE for the instance type.",
                    seen.procs.len(),
                    reasons.join("; ")
                ),
            )
            .affecting(job, seen.procs.iter().copied())
            .evidence(seen.evidence),
        );
    }
}

pub struct IbHcaUnfiltered;

/// A NET/IB list with this many devices is SR-IOV functions or every port of every card,
/// not the fabric HCAs (NCCL's own limit was 16 devices before 2.12, 32 since).
const IB_LIST_CROWDED: usize = 17;

impl Rule for IbHcaUnfiltered {
    fn id(&self) -> RuleId {
        RuleId::IB_HCA_UNFILTERED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // A filter, whatever its value, is the user's choice (IB_HCA_FILTER_SUSPECT reads it).
        if job.env.iter().chain(job.cmdline_env.iter()).any(|f| f.data.0 == "NCCL_IB_HCA") {
            return;
        }
        let mut by_reason: BTreeMap<String, Seen<'_>> = BTreeMap::new();
        let mut shown: BTreeSet<(Option<&str>, String)> = BTreeSet::new();
        for f in job.ib_devices.iter() {
            let mut reasons: Vec<String> = Vec::new();
            let layers: BTreeSet<&str> = f.data.iter().map(|d| d.link_layer.as_str()).collect();
            if layers.contains("IB") && layers.contains("RoCE") {
                reasons.push(
                    "it mixes InfiniBand and RoCE ports (two fabrics that cannot talk to each other)".into(),
                );
            }
            let odd: BTreeSet<&str> =
                f.data.iter().map(|d| d.name.as_str()).filter(|n| is_non_fabric_hca(n)).collect();
            if !odd.is_empty() && odd.len() < f.data.len() {
                reasons.push(format!(
                    "it includes {} — an iWARP/onboard-Ethernet or software RDMA device next to the fabric HCAs",
                    join(&odd)
                ));
            }
            if f.data.len() >= IB_LIST_CROWDED {
                reasons.push(format!(
                    "it holds {} devices (SR-IOV functions or every port), more than a node has fabric HCAs",
                    f.data.len()
                ));
            }
            for r in reasons {
                let first_on_host = shown.insert((host_of(job, f.proc), r.clone()));
                let seen = by_reason.entry(r).or_default();
                seen.procs.insert(f.proc);
                seen.count += 1;
                if first_on_host {
                    seen.evidence.push(&f.ev);
                }
            }
        }
        if by_reason.is_empty() {
            return;
        }
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        let mut evidence: Vec<&Evidence> = Vec::new();
        for seen in by_reason.values() {
            procs.extend(seen.procs.iter().copied());
            evidence.extend(seen.evidence.iter().take(4).copied());
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "NCCL_IB_HCA is not set and the NET/IB device list is not just the fabric: {}. NCCL spreads channels over every listed device, so some go to a NIC that cannot reach the peers or is slow. Set NCCL_IB_HCA==<the fabric HCAs>.",
                    by_reason.keys().cloned().collect::<Vec<_>>().join("; ")
                ),
            )
            .affecting(job, procs.iter().copied())
            .evidence(evidence),
        );
    }
}

pub struct EfaPartialAllocation;

impl Rule for EfaPartialAllocation {
    fn id(&self) -> RuleId {
        RuleId::EFA_PARTIAL_ALLOCATION
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(dp) = ctx.platform else { return };
        let Some(platform) = dp.platform.filter(|p| p.fabric == Fabric::Efa) else { return };
        let Some(expected) = platform.nics else { return };
        let job = ctx.job;
        // `found N nics` counts the EFA devices aws-ofi-nccl can open; NIC group lines are not
        // counted, as excerpts often keep only some of them.
        let mut seen = Seen::default();
        let mut counts: BTreeSet<u32> = BTreeSet::new();
        for f in job.ofi_provider.iter() {
            let (provider, Some(n)) = (&f.data.0, f.data.1) else { continue };
            if provider.to_ascii_lowercase().contains("efa") && n < expected {
                seen.add(f.proc, &f.ev);
                counts.insert(n);
            }
        }
        if seen.count == 0 {
            efa_partial_from_topology(ctx, platform, out);
            return;
        }
        let source = match &dp.from {
            PlatformSource::Flag => "given by --platform".to_string(),
            PlatformSource::Line(ev) => format!("detected from aws-ofi-nccl's platform line {}", ev.pos.line),
        };
        let (severity, scope) = match job.multi_node_evidence() {
            Some(_) => (Severity::Warning, String::new()),
            None => (
                Severity::Info,
                " Only one host is visible, where NCCL does not use the network; across nodes this caps bandwidth.".to_string(),
            ),
        };
        let mut evidence: Vec<&Evidence> = Vec::new();
        if let PlatformSource::Line(ev) = &dp.from {
            evidence.push(ev);
        }
        evidence.extend(seen.evidence.iter().copied());
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "aws-ofi-nccl found {} EFA NIC(s) on {} process(es), but {} ({source}) has {expected}: the pod/instance got only part of its EFA interfaces, so inter-node bandwidth is a fraction of the {} Gbps it should be.{scope} Request all EFA interfaces (e.g. `vpc.amazonaws.com/efa: {expected}`).",
                    join(counts.iter().map(|n| n.to_string())),
                    seen.procs.len(),
                    platform.name,
                    platform.network_gbps
                ),
            )
            .severity(severity)
            .affecting(job, seen.procs.iter().copied())
            .evidence(evidence),
        );
    }
}

/// An EFA NIC of a topology graph: Amazon's PCI id (`0x1d0f:0xefa0`…`0xefa3`), or a port named
/// like the EFA driver names them (`rdmap79s0`).
fn is_efa_nic(h: &crate::topology::HostTopo, n: petgraph::graph::NodeIndex) -> bool {
    let node = h.node(n);
    node.pci_id.as_deref().is_some_and(|id| id.to_ascii_lowercase().starts_with("0x1d0f:0xefa"))
        || h.children(n).iter().any(|c| h.node(*c).name.as_deref().is_some_and(|x| x.starts_with("rdmap")))
}

/// EFA_PARTIAL_ALLOCATION from a topology XML (a `NCCL_TOPO_DUMP_FILE` dump lists the NICs
/// NCCL detected): fewer EFA NICs than the platform has. Static topology files written for
/// an instance type list all its NICs, so they never fire on their own platform.
fn efa_partial_from_topology(ctx: &Ctx<'_>, platform: &crate::platform::Platform, out: &mut Vec<Finding>) {
    let Some(expected) = platform.nics else { return };
    let topo = &ctx.job.topology;
    let mut lines = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    for h in topo.hosts.iter().filter(|h| h.source == crate::topology::TopoSource::Xml && !h.truncated) {
        let efa: Vec<petgraph::graph::NodeIndex> =
            h.nodes_of(crate::topology::NodeKind::Nic).filter(|n| is_efa_nic(h, *n)).collect();
        let n = u32::try_from(efa.len()).unwrap_or(u32::MAX);
        if n == 0 || n >= expected {
            continue;
        }
        let path = ctx.inputs.get(h.input.0 as usize).map_or("a topology file", |i| i.path.as_str());
        lines.push(format!("{path}: {n} EFA NIC(s)"));
        evidence.extend(efa.iter().filter_map(|x| h.node(*x).ev.clone()).take(4));
    }
    if lines.is_empty() {
        return;
    }
    let (severity, scope) = match ctx.job.multi_node_evidence() {
        Some(_) => (Severity::Warning, String::new()),
        None => (
            Severity::Info,
            " No multi-node run is visible, where NCCL would use the network; across nodes this caps bandwidth.".to_string(),
        ),
    };
    out.push(
        Finding::new(
            RuleId::EFA_PARTIAL_ALLOCATION,
            format!(
                "The topology lists fewer EFA NICs than {} has ({expected}): {}. The instance/pod got only part of its EFA interfaces, so inter-node bandwidth is a fraction of the {} Gbps it should be.{scope} Request all EFA interfaces (e.g. `vpc.amazonaws.com/efa: {expected}`).",
                platform.name,
                lines.join("; "),
                platform.network_gbps
            ),
        )
        .severity(severity)
        .evidence(evidence.iter()),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, analyze_text_on, expect};
    use crate::catalog::{RuleId, Severity};

    const TWO_HOSTS_SOCKET: &str = "\
a:1:1 [0] NCCL INFO NET/IB : No device found.
a:1:1 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0>
a:1:1 [0] NCCL INFO Using network Socket
b:2:2 [0] NCCL INFO Using network Socket
a:1:1 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/Socket/0
";

    #[test]
    fn socket_fallback_across_hosts_is_critical() {
        let a = analyze_text(TWO_HOSTS_SOCKET);
        let f = expect(&a, RuleId::NET_SOCKET_FALLBACK, Severity::Critical);
        assert_eq!(f.hosts, ["a", "b"]);
        expect(&a, RuleId::IB_NO_DEVICE, Severity::Critical);
    }

    #[test]
    fn socket_on_one_host_is_info_and_ib_is_no_fallback() {
        let a = analyze_text("a:1:1 [0] NCCL INFO Using network Socket\n");
        expect(&a, RuleId::NET_SOCKET_FALLBACK, Severity::Info);
        let a = analyze_text("a:1:1 [0] NCCL INFO Using network IB\nb:1:1 [0] NCCL INFO Using network IB\n");
        absent(&a, RuleId::NET_SOCKET_FALLBACK);
    }

    // --- NET_PLUGIN_LOAD_FAILED -----------------------------------------------------------

    const PLUGIN_NOT_FOUND: &str = "\
a:1:1 [0] NCCL INFO NET/Plugin : No plugin found (libnccl-net.so), using internal implementation
a:1:1 [0] NCCL INFO NET/IB : No device found.
a:1:1 [0] NCCL INFO Using network Socket
";

    #[test]
    fn plugin_not_found_on_efa_platform_is_reported() {
        let a = analyze_text_on(PLUGIN_NOT_FOUND, Some("p4d"));
        let f = expect(&a, RuleId::NET_PLUGIN_LOAD_FAILED, Severity::Critical);
        assert!(f.message.contains("Socket"), "{}", f.message);
    }

    #[test]
    fn plugin_not_found_on_plain_cluster_is_normal() {
        absent(&analyze_text(PLUGIN_NOT_FOUND), RuleId::NET_PLUGIN_LOAD_FAILED);
    }

    // --- IB_NO_DEVICE ----------------------------------------------------------------------

    #[test]
    fn ib_no_device_is_irrelevant_when_a_plugin_carries_the_traffic() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/IB : No device found.
a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)
a:1:1 [0] NCCL INFO Using network AWS Libfabric
b:2:2 [0] NCCL INFO Using network AWS Libfabric
",
        );
        absent(&a, RuleId::IB_NO_DEVICE);
    }

    // --- OFI_PROVIDER_NOT_EFA ----------------------------------------------------------------

    #[test]
    fn tcp_provider_on_efa_platform_is_critical() {
        let a = analyze_text_on(
            "a:1:1 [0] NCCL INFO NET/OFI Selected Provider is tcp (found 1 nics)\n",
            Some("p4d"),
        );
        expect(&a, RuleId::OFI_PROVIDER_NOT_EFA, Severity::Critical);
    }

    #[test]
    fn cxi_provider_off_aws_and_efa_on_aws_are_fine() {
        absent(
            &analyze_text("a:1:1 [0] NCCL INFO NET/OFI Selected Provider is cxi\n"),
            RuleId::OFI_PROVIDER_NOT_EFA,
        );
        let a = analyze_text_on(
            "a:1:1 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa (found 4 nics)\n",
            Some("p4d"),
        );
        absent(&a, RuleId::OFI_PROVIDER_NOT_EFA);
    }

    // --- EFA_NOT_FOUND -----------------------------------------------------------------------

    #[test]
    fn no_eligible_provider_is_efa_not_found() {
        let a = analyze_text("a:1:1 [0] NCCL INFO NET/OFI No eligible providers were found\n");
        expect(&a, RuleId::EFA_NOT_FOUND, Severity::Critical);
    }

    #[test]
    fn getinfo_failure_after_selection_is_not_efa_not_found() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)
a:1:1 [0] nccl_net_ofi_init:912 NCCL WARN NET/OFI OFI fi_getinfo() call failed: No data available
",
        );
        absent(&a, RuleId::EFA_NOT_FOUND);
        expect(&a, RuleId::OFI_INIT_FAILED, Severity::Critical);
    }

    #[test]
    fn missing_efa_provider_off_aws_with_ib_fallback_is_a_warning() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/OFI No eligible providers were found
a:1:1 [0] NCCL INFO Using network IB
",
        );
        expect(&a, RuleId::EFA_NOT_FOUND, Severity::Warning);
    }

    // --- NET_PLUGIN_INIT_FAILED --------------------------------------------------------------

    // NCCL 2.27.5 with aws-ofi-nccl 1.6 on a RoCE cluster.
    const STALE_OFI_FALLS_BACK: &str = "\
a:1:1 [0] NCCL INFO NET/Plugin: Loaded net plugin AWS Libfabric (v6)
a:1:1 [0] NCCL INFO Successfully loaded external plugin libnccl-net.so
a:1:1 [0] NCCL INFO NET/OFI Using aws-ofi-nccl 1.6.0
a:1:1 [0] NCCL INFO NET/OFI Selected Provider is verbs;ofi_rxm (found 58 nics)
a:1:1 [0] NCCL INFO Initialized NET plugin AWS Libfabric
a:1:1 [0] NCCL INFO NET/OFI Invalid type of PCI bus returned 0
a:1:1 [0] NCCL INFO plugin/net.cc:118 -> 2
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/RoCE [1]mlx5_1:1/RoCE [RO]; OOB eth0:10.0.0.1<0>
a:1:1 [0] NCCL INFO Initialized NET plugin IB
a:1:1 [0] NCCL INFO Assigned NET plugin IB to comm
a:1:1 [0] NCCL INFO Using network IB
";

    #[test]
    fn plugin_init_failure_then_ib_is_reported() {
        let a = analyze_text(STALE_OFI_FALLS_BACK);
        let f = expect(&a, RuleId::NET_PLUGIN_INIT_FAILED, Severity::Warning);
        assert!(f.message.contains("aws-ofi-nccl 1.6.0") && f.message.contains("IB"), "{}", f.message);
        assert!(f.evidence.iter().any(|e| e.text.contains("plugin/net.cc:118")));
        assert!(f.evidence.iter().any(|e| e.text.contains("Using network IB")));
    }

    #[test]
    fn working_plugin_or_chosen_ib_is_no_init_failure() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/Plugin: Loaded net plugin AWS Libfabric (v6)
a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)
a:1:1 [0] NCCL INFO Using network AWS Libfabric
",
        );
        absent(&a, RuleId::NET_PLUGIN_INIT_FAILED);
        // Loaded, no error, IB used (e.g. NCCL_NET=IB): nothing failed.
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/Plugin: Loaded net plugin IBext (v8)
a:1:1 [0] NCCL INFO Using network IB
",
        );
        absent(&a, RuleId::NET_PLUGIN_INIT_FAILED);
    }

    #[test]
    fn no_net_plugin_at_all_is_critical() {
        let a = analyze_text("a:1:1 [0] plugin/net.cc:300 NCCL WARN Failed to initialize any NET plugin\n");
        expect(&a, RuleId::NET_PLUGIN_INIT_FAILED, Severity::Critical);
    }

    // --- OFI_INIT_FAILED ---------------------------------------------------------------------

    #[test]
    fn open_av_failure_is_ofi_init_failed() {
        let a = analyze_text(
            "[1,23]<stdout>:ip-1:72593:73427 [7] create_nccl_ofi_component:459 NCCL WARN NET/OFI Couldn't open AV. RC: -22, ERROR: Invalid argument\n",
        );
        let f = expect(&a, RuleId::OFI_INIT_FAILED, Severity::Critical);
        assert_eq!(f.hosts, ["ip-1"]);
    }

    #[test]
    fn provider_search_failure_is_not_ofi_init_failed() {
        // aws-ofi-nccl's test program: no provider at all (EFA_NOT_FOUND), then its generic failure.
        let a = analyze_text(
            "\
10.3.35.83: WARN: Function: find_ofi_provider Line: 543: NET/OFI Couldn't find any optimal provider
10.3.35.83: WARN: Function: main Line: 72: NET/OFI OFI NCCL failure: 2
",
        );
        absent(&a, RuleId::OFI_INIT_FAILED);
        expect(&a, RuleId::EFA_NOT_FOUND, Severity::Critical);
    }

    // --- NET_NIC_INFO_MISSING ----------------------------------------------------------------

    #[test]
    fn no_nic_info_and_sys_distance_are_reported() {
        let a = analyze_text(
            "\
a:1:1 [1] NCCL INFO NET/OFI No NIC info for dev 0
a:1:1 [1] NCCL INFO include/net.h:24 -> 2
a:1:1 [1] NCCL INFO CUDA Dev 1[1], AWS Libfabric NIC distance :  SYS
",
        );
        expect(&a, RuleId::NET_NIC_INFO_MISSING, Severity::Warning);
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO CUDA Dev 0[0], AWS Libfabric NIC distance :  SYS
a:1:1 [1] NCCL INFO CUDA Dev 1[1], AWS Libfabric NIC distance :  SYS
",
        );
        expect(&a, RuleId::NET_NIC_INFO_MISSING, Severity::Warning);
    }

    #[test]
    fn ib_sys_distance_is_topology_not_missing_info() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO CUDA Dev 0[0], IB NIC distance :  SYS
a:1:1 [0] NCCL INFO CUDA Dev 1[1], AWS Libfabric NIC distance :  PHB
",
        );
        absent(&a, RuleId::NET_NIC_INFO_MISSING);
    }

    // --- IB_HCA_UNFILTERED -------------------------------------------------------------------

    #[test]
    fn mixed_link_layers_odd_devices_and_crowded_lists_are_unfiltered() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_2:1/RoCE [RO]; OOB ib0:10.0.0.9<0>\n",
        );
        expect(&a, RuleId::IB_HCA_UNFILTERED, Severity::Warning);
        let a = analyze_text(
            "a:1:1 [1] NCCL INFO NET/IB : Using [0]mlx5_0:1/RoCE [1]mlx5_1:1/RoCE [2]i40iw0:1/RoCE ; OOB enp88s0:192.168.17.144<0>\n",
        );
        let f = expect(&a, RuleId::IB_HCA_UNFILTERED, Severity::Warning);
        assert!(f.message.contains("i40iw0"), "{}", f.message);
        let list: String = (0..20).map(|i| format!("[{i}]mlx5_{i}:1/RoCE ")).collect();
        let a = analyze_text(&format!("a:1:1 [0] NCCL INFO NET/IB : Using {list}; OOB :\n"));
        let f = expect(&a, RuleId::IB_HCA_UNFILTERED, Severity::Warning);
        assert!(f.message.contains("20 devices"), "{}", f.message);
    }

    #[test]
    fn filtered_or_single_fabric_lists_are_fine() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NCCL_IB_HCA set by environment to mlx5_0,mlx5_2
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_2:1/RoCE [RO]; OOB ib0:10.0.0.9<0>
",
        );
        absent(&a, RuleId::IB_HCA_UNFILTERED);
        // Omni-Path: hfi1 devices are the fabric.
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NET/IB : Using [0]hfi1_0:1/IB [1]hfi1_1:1/IB ; OOB ib0:10.10.10.2<0>\n",
        );
        absent(&a, RuleId::IB_HCA_UNFILTERED);
    }

    // --- EFA_PARTIAL_ALLOCATION --------------------------------------------------------------

    const P4D_ONE_NIC: &str = "\
a:188:585 [0] NCCL INFO NET/OFI Running on p4d.24xlarge platform, topology file /opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p4d-24xl-topo.xml
a:188:585 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa (found 1 nics)
";

    #[test]
    fn fewer_efa_nics_than_the_platform_is_partial_allocation() {
        let multi = format!(
            "{P4D_ONE_NIC}a:188:585 [0] NCCL INFO comm 0x55d0 rank 0 nRanks 4 nNodes 4 localRanks 1 localRank 0 MNNVL 0\n"
        );
        let a = analyze_text(&multi);
        let f = expect(&a, RuleId::EFA_PARTIAL_ALLOCATION, Severity::Warning);
        assert!(f.message.contains("has 4"), "{}", f.message);
        assert_eq!(f.evidence.len(), 2);
        // One host only: the network is not used inside it.
        expect(&analyze_text(P4D_ONE_NIC), RuleId::EFA_PARTIAL_ALLOCATION, Severity::Info);
    }

    #[test]
    fn full_or_unknown_efa_allocation_is_fine() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/OFI Running on p5en.48xlarge platform, topology file /x/p5en.xml
a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 16 nics)
",
        );
        absent(&a, RuleId::EFA_PARTIAL_ALLOCATION);
        let a = analyze_text("a:1:1 [6] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)\n");
        absent(&a, RuleId::EFA_PARTIAL_ALLOCATION);
    }

    // --- NIC_SET_MISMATCH --------------------------------------------------------------------

    #[test]
    fn hosts_with_different_hcas_mismatch() {
        let a = analyze_text(
            "\
server3:15221:15221 [5] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB enp41s0f1:<0>
server3:15222:15222 [6] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB enp41s0f1:<0>
server1:117953:117953 [7] NCCL INFO NET/IB : Using [0]mlx5_1:1/IB ; OOB enp41s0f1:<0>
",
        );
        // Two hosts, two views: either may be the odd one.
        let f = expect(&a, RuleId::NIC_SET_MISMATCH, Severity::Warning);
        assert_eq!(f.hosts, ["server1", "server3"]);
        assert_eq!(f.evidence.len(), 2);
        let a = analyze_text(
            "\
server3:15221:15221 [5] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.0.0.3<0>
server2:15221:15221 [5] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.0.0.2<0>
server1:117953:117953 [7] NCCL INFO NET/IB : Using [0]mlx5_1:1/IB ; OOB eth0:10.0.0.1<0>
",
        );
        let f = expect(&a, RuleId::NIC_SET_MISMATCH, Severity::Warning);
        assert_eq!(f.hosts, ["server1"]);
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)
b:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 2 nics)
",
        );
        expect(&a, RuleId::NIC_SET_MISMATCH, Severity::Warning);
    }

    #[test]
    fn same_lists_or_one_host_or_cut_lines_are_no_mismatch() {
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.0.0.1<0>
b:2:2 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.0.0.2<0>
",
        );
        absent(&a, RuleId::NIC_SET_MISMATCH);
        // Processes of one host differ (per-rank NCCL_IB_HCA): not a node difference.
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB eth0:10.0.0.1<0>
a:2:2 [1] NCCL INFO NET/IB : Using [0]mlx5_1:1/IB ; OOB eth0:10.0.0.1<0>
",
        );
        absent(&a, RuleId::NIC_SET_MISMATCH);
        // A pasted line cut mid-device is no shorter list.
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB [RO]; OOB eth0:10.0.0.1<0>
b:2:2 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/R
",
        );
        absent(&a, RuleId::NIC_SET_MISMATCH);
    }

    // --- NIC_UNDERUSED -----------------------------------------------------------------------

    const TWO_NICS_ONE_USED: &str = "\
sh-01:98911:98911 [0] NCCL INFO NET/Socket : Using [0]enP1p1s0f0:10.30.0.127<0> [1]enP1p1s0f1:10.30.0.227<0>
sh-03:97552:97552 [0] NCCL INFO NET/Socket : Using [0]enP1p1s0f0:10.30.0.129<0> [1]enP1p1s0f1:10.30.0.229<0>
sh-01:98911:98923 [3] NCCL INFO Ring 00 : 3[b01000] -> 4[201000] [send] via NET/Socket/0
sh-03:97552:97571 [3] NCCL INFO Ring 00 : 7[b01000] -> 0[201000] [send] via NET/Socket/0
sh-03:97552:97570 [2] NCCL INFO Ring 01 : 0[201000] -> 6[a01000] [receive] via NET/Socket/0
sh-03:97552:97567 [0] NCCL INFO Ring 01 : 3[b01000] -> 4[201000] [receive] via NET/Socket/0
";

    #[test]
    fn every_channel_on_one_of_two_nics_is_underused() {
        let a = analyze_text(TWO_NICS_ONE_USED);
        let f = expect(&a, RuleId::NIC_UNDERUSED, Severity::Warning);
        assert_eq!(f.hosts, ["sh-01", "sh-03"]);
        assert!(f.message.contains("NET/Socket/0"), "{}", f.message);
    }

    #[test]
    fn one_listed_hca_or_unlogged_ranks_are_not_underuse() {
        // Each rank lists its own single HCA: the host's NIC count is unknown.
        let a = analyze_text(
            "\
w0:1:1 [3] NCCL INFO NET/IB : Using [0]mlx5_9:1/IB/SHARP [RO]; OOB eth0:10.224.3.48<0>
w0:1:1 [3] NCCL INFO Channel 00/0 : 3[3] -> 4[0] [send] via NET/IBext/0
w0:1:1 [3] NCCL INFO Channel 01/0 : 3[3] -> 4[0] [send] via NET/IBext/0
",
        );
        absent(&a, RuleId::NIC_UNDERUSED);
        // A second process listed the NICs but its channels are not in the log.
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.0.0.1<0>
a:2:2 [1] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.0.0.1<0>
a:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 2[0] [send] via NET/IB/0
a:1:1 [0] NCCL INFO Channel 01/0 : 0[0] -> 2[0] [send] via NET/IB/0
",
        );
        absent(&a, RuleId::NIC_UNDERUSED);
    }

    // --- IB_HCA_FILTER_SUSPECT ---------------------------------------------------------------

    #[test]
    fn prefix_hca_values_are_suspect() {
        let a = analyze_text(
            "a:1:1 [1] NCCL INFO NCCL_IB_HCA set to mlx5_0,mlx5_1,mlx5_2,mlx5_5,mlx5_6,mlx5_7,mlx5_8,mlx5_11\n",
        );
        let f = expect(&a, RuleId::IB_HCA_FILTER_SUSPECT, Severity::Info);
        assert!(f.message.contains("mlx5_11"), "{}", f.message);
        // The device list shows the filter pulling in mlx5_10.
        let a = analyze_text(
            "\
a:1:1 [0] NCCL INFO NCCL_IB_HCA set by environment to mlx5_1
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_1:1/IB [1]mlx5_10:1/IB ; OOB eth0:10.0.0.1<0>
",
        );
        let f = expect(&a, RuleId::IB_HCA_FILTER_SUSPECT, Severity::Info);
        assert!(f.evidence.iter().any(|e| e.text.contains("NET/IB : Using")));
        // `=` repeated per entry: only the first one is an operator.
        let a = analyze_text("mpirun -x NCCL_IB_HCA==mlx5_0,=mlx5_1 ./all_reduce_perf\n");
        expect(&a, RuleId::IB_HCA_FILTER_SUSPECT, Severity::Info);
    }

    #[test]
    fn exact_or_unambiguous_hca_values_are_fine() {
        for v in ["=mlx5_0,mlx5_1,mlx5_10", "mlx5", "^mlx5_0,mlx5_3", "mlx5_0:1,mlx5_4:1"] {
            let a = analyze_text(&format!("a:1:1 [0] NCCL INFO NCCL_IB_HCA set by environment to {v}\n"));
            absent(&a, RuleId::IB_HCA_FILTER_SUSPECT);
        }
    }

    // --- BOOTSTRAP_IFACE_SUSPECT -------------------------------------------------------------

    #[test]
    fn veth_with_connect_timeouts_is_suspect() {
        let a = analyze_text(
            "\
worker:101542:101542 [0] NCCL INFO Bootstrap : Using [0]eno1:172.18.40.41<0> [1]veth25f2e72:fe80::380d:bfff:fe5b:54d2%veth25f2e72<0>
worker:101542:101934 [0] NCCL INFO Call to connect returned Connection timed out, retrying
worker:101542:101934 [0] include/socket.h:403 NCCL WARN Connect to 10.0.0.2<43211> failed : Connection timed out
",
        );
        let f = expect(&a, RuleId::BOOTSTRAP_IFACE_SUSPECT, Severity::Warning);
        assert!(f.message.contains("veth25f2e72"), "{}", f.message);
        assert_eq!(f.evidence.len(), 3);
    }

    #[test]
    fn loopback_on_one_host_is_info_and_across_hosts_a_warning() {
        let lo = "a:27:27 [0] NCCL INFO Bootstrap : Using [0]lo:127.0.0.1<0> [1]eth0:172.17.0.2<0>\n";
        expect(&analyze_text(lo), RuleId::BOOTSTRAP_IFACE_SUSPECT, Severity::Info);
        let two = format!("{lo}b:28:28 [0] NCCL INFO Bootstrap : Using eth0:172.17.0.3<0>\n");
        let a = analyze_text(&two);
        let f = expect(&a, RuleId::BOOTSTRAP_IFACE_SUSPECT, Severity::Warning);
        assert_eq!(f.hosts, ["a"]);
    }

    #[test]
    fn aliases_plain_nics_and_startup_refusals_are_fine() {
        let a = analyze_text(
            "\
beijing:47853:47853 [0] NCCL INFO Bootstrap : Using eno1:avahi:xxx.xxx.xxx.xxx<0>
beijing:47853:47853 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0> [1]ib0:10.1.0.1<0>
beijing:47853:47853 [0] NCCL INFO Call to connect returned Connection refused, retrying
",
        );
        absent(&a, RuleId::BOOTSTRAP_IFACE_SUSPECT);
    }

    #[test]
    fn suspect_interface_names() {
        for n in
            ["lo", "docker0", "veth0", "virbr0", "tunl0", "ip6tnl0", "br-1a2b3c", "cni0", "flannel.1", "tun0"]
        {
            assert!(super::suspect_iface(n).is_some(), "{n}");
        }
        for n in ["eth0", "eno1", "ens5", "ib0", "enp41s0f1", "bond0", "lom1", "tunnelx"] {
            assert!(super::suspect_iface(n).is_none(), "{n}");
        }
    }

    // --- graph-aware NIC_UNDERUSED / EFA_PARTIAL_ALLOCATION -------------------------------------

    /// Two GPUs, each with its own NIC under its PCI switch (2.21+ printout).
    const PRINTOUT_TWO_PIX: &str = "\
h1:1:1 [0] NCCL INFO === System : maxBw 24.0 totalBw 24.0 ===
h1:1:1 [0] NCCL INFO CPU/0-0 (1/1/1)
h1:1:1 [0] NCCL INFO + PCI[24.0] - PCI/0-10000 (1000c01010000000)
h1:1:1 [0] NCCL INFO               + PCI[24.0] - GPU/0-11000 (0)
h1:1:1 [0] NCCL INFO               + PCI[24.0] - NIC/0-12000
h1:1:1 [0] NCCL INFO                             + NET[25.0] - NET/0-0 (0/1/1/25.000000)
h1:1:1 [0] NCCL INFO + PCI[24.0] - PCI/0-20000 (1000c01010000000)
h1:1:1 [0] NCCL INFO               + PCI[24.0] - GPU/0-21000 (1)
h1:1:1 [0] NCCL INFO               + PCI[24.0] - NIC/0-22000
h1:1:1 [0] NCCL INFO                             + NET[25.0] - NET/0-1 (0/2/1/25.000000)
h1:1:1 [0] NCCL INFO comm 0x1 rank 0 nranks 4 cudaDev 0 busId 11000 commId 0xabc - Init START
h1:2:2 [1] NCCL INFO comm 0x1 rank 1 nranks 4 cudaDev 1 busId 21000 commId 0xabc - Init START
h1:1:1 [0] NCCL INFO Channel 00/0 : 2[0] -> 0[0] [receive] via NET/IB/0/GDRDMA
h1:1:1 [0] NCCL INFO Channel 01/0 : 2[0] -> 0[0] [receive] via NET/IB/0/GDRDMA
";

    #[test]
    fn nic_underused_from_the_topology_printout() {
        let log = format!(
            "{PRINTOUT_TWO_PIX}h1:2:2 [1] NCCL INFO Channel 00/0 : 1[1] -> 3[1] [send] via NET/IB/0/GDRDMA\n"
        );
        let a = analyze_text(&log);
        let f = expect(&a, RuleId::NIC_UNDERUSED, Severity::Warning);
        assert!(f.message.contains("NET/1 nearest to rank 1"), "{}", f.message);
        assert_eq!(f.hosts, ["h1"]);
        // Each GPU on its own NIC: nothing idle.
        let log = format!(
            "{PRINTOUT_TWO_PIX}h1:2:2 [1] NCCL INFO Channel 00/0 : 1[1] -> 3[1] [send] via NET/IB/1/GDRDMA\n"
        );
        absent(&analyze_text(&log), RuleId::NIC_UNDERUSED);
        // Without connection lines the topology alone says nothing about use.
        absent(
            &analyze_text(&PRINTOUT_TWO_PIX.replace("via NET", "via SHM/direct/direct x")),
            RuleId::NIC_UNDERUSED,
        );
    }

    fn efa_topo(nics: usize) -> String {
        let mut s = String::from(
            "<system version=\"1\">\n  <cpu numaid=\"0\" affinity=\"ffffffff\" arch=\"x86_64\" vendor=\"AuthenticAMD\">\n",
        );
        for i in 0..nics {
            s.push_str(&format!(
                "    <pci busid=\"0000:{:02x}:00.0\" class=\"0x020000\" vendor=\"0x1d0f\" device=\"0xefa1\" subsystem_vendor=\"0x1d0f\" subsystem_device=\"0xefa1\" link_speed=\"16.0 GT/s PCIe\" link_width=\"16\">\n      <nic>\n        <net name=\"rdmap{}s0\" dev=\"{i}\" speed=\"100000\" port=\"1\" gdr=\"1\"/>\n      </nic>\n    </pci>\n",
                0x10 + i,
                0x10 + i
            ));
        }
        s.push_str("  </cpu>\n</system>\n");
        s
    }

    #[test]
    fn efa_partial_allocation_from_a_topology_dump() {
        let a = analyze_text_on(&efa_topo(2), Some("p4d.24xlarge"));
        let f = expect(&a, RuleId::EFA_PARTIAL_ALLOCATION, Severity::Info);
        assert!(f.message.contains("2 EFA NIC(s)") && f.message.contains("(4)"), "{}", f.message);
        absent(&analyze_text_on(&efa_topo(4), Some("p4d.24xlarge")), RuleId::EFA_PARTIAL_ALLOCATION);
        // No platform: nothing to compare with.
        absent(&analyze_text(&efa_topo(2)), RuleId::EFA_PARTIAL_ALLOCATION);
    }
}
