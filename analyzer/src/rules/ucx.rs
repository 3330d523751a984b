//! UCX and NIXL: which transports UCX selected (ep_cfg / cfg# lines, UCX_PROTO_INFO tables,
//! ucx_info), what UCX refused, and the failures of UCX, UCX-Py and NIXL/vLLM/SGLang.
//! Message shapes: ../shared/spec/ucx-log-format.md (openucx/ucx v1.5 … v1.22).
use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Rule, Seen};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::{Job, NixlError, UcxScope};

/// Transports that never leave the node (shared memory, loopback, GPU copy/IPC).
const LOCAL_TLS: &[&str] = &[
    "self",
    "sysv",
    "posix",
    "cma",
    "knem",
    "xpmem",
    "mm",
    "shm",
    "sm",
    "cuda_copy",
    "cuda_ipc",
    "gdr_copy",
    "rocm_copy",
    "rocm_ipc",
    "rocm_gdr",
    "ze_copy",
    "ze_ipc",
    "memory",
];

/// Shared-memory transport names as `UCX_TLS` accepts them.
const SHM_TLS: &[&str] = &["sm", "shm", "posix", "sysv", "mm", "cma", "knem", "xpmem"];

pub(crate) fn is_local_tl(tl: &str) -> bool {
    LOCAL_TLS.contains(&tl)
}

/// RDMA transports: IB/RoCE verbs (`rc_mlx5`, `rc_verbs`, `dc_mlx5`, `ud_verbs`, the `rc`/`dc`/
/// `ud`/`ib` aliases of `UCX_TLS`) and EFA's `srd` (UCX 1.19+).
fn is_rdma_tl(tl: &str) -> bool {
    let base = tl.split('_').next().unwrap_or(tl);
    matches!(base, "rc" | "dc" | "ud" | "srd" | "ib") || tl == "rc_x" || tl == "dc_x" || tl == "ud_x"
}

pub(crate) fn is_tcp_tl(tl: &str) -> bool {
    tl == "tcp" || tl == "sockcm"
}

/// Interfaces that never carry traffic between hosts (openucx/ucx#9383: tcp on docker0).
fn bad_iface(dev: &str) -> bool {
    dev == "lo" || dev.starts_with("docker") || dev.starts_with("veth") || dev.starts_with("virbr")
}

/// An RDMA device name (`mlx5_0:1`, `rdmap0s6:1`, `efa_0`, `bnxt_re0`, `irdma0`) or an IPoIB
/// netdev (`ib0`, `ibs8f0`): the host has RDMA hardware even when UCX uses tcp on it.
fn rdma_device(dev: &str) -> bool {
    let d = dev.split(':').next().unwrap_or(dev);
    d.starts_with("mlx5")
        || d.starts_with("rdmap")
        || d.starts_with("efa")
        || d.starts_with("bnxt_re")
        || d.starts_with("irdma")
        || (d.starts_with("ib") && d[2..].starts_with(|c: char| c.is_ascii_digit() || c == 's'))
}

fn fmt_lanes(lanes: &[(String, String)]) -> String {
    let set: BTreeSet<String> = lanes.iter().map(|(t, d)| format!("{t}/{d}")).collect();
    set.into_iter().collect::<Vec<_>>().join(" ")
}

fn ip_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(ip, _)| ip)
}

/// A tcp_ep connection between two different addresses, neither loopback nor a container
/// bridge: UCX's TCP traffic leaves the host (openucx/ucx#9908: `[192.168.1.121:49463]<->
/// [192.168.1.111:53562] is a connected pair` next to `ep_cfg[4]: tag(tcp/ib0 tcp/docker0)`).
pub(crate) fn tcp_remote_pair(job: &Job) -> Option<&crate::model::Fact<(String, String)>> {
    job.ucx.tcp_pairs.iter().find(|f| {
        let (l, r) = (ip_of(&f.data.0), ip_of(&f.data.1));
        l != r && ![l, r].iter().any(|ip| ip.starts_with("127.") || *ip == "::1" || docker_bridge_ip(ip))
    })
}

/// Docker's default bridge network (172.17.0.0/16, `docker0`).
fn docker_bridge_ip(ip: &str) -> bool {
    ip.starts_with("172.17.")
}

/// A tcp_ep connection on Docker's default bridge: UCX is using `docker0`.
pub(crate) fn tcp_bridge_pair(job: &Job) -> Option<&crate::model::Fact<(String, String)>> {
    job.ucx
        .tcp_pairs
        .iter()
        .find(|f| docker_bridge_ip(ip_of(&f.data.0)) || docker_bridge_ip(ip_of(&f.data.1)))
}

/// Whether a config's data moves over TCP to other hosts: tcp-only network lanes on an
/// inter-node config, or (older `ep_cfg[N]` without a scope) tcp off loopback in a job whose
/// lines come from several hosts or whose tcp connections go to another address.
pub(crate) fn cfg_tcp_inter_node(job: &Job, cfg: &crate::model::UcxEpConfig) -> bool {
    let net = data_network_lanes(&cfg.features);
    if net.is_empty() || !net.iter().all(|(t, _)| is_tcp_tl(t)) {
        return false;
    }
    match cfg.scope {
        UcxScope::InterNode => true,
        UcxScope::Unknown => {
            net.iter().any(|(_, d)| d != "lo") && (job.hosts().len() > 1 || tcp_remote_pair(job).is_some())
        }
        _ => false,
    }
}

/// What shows that RDMA exists (or should) for this job, with the line that shows it.
fn rdma_evidence(job: &Job) -> Option<(String, &Evidence)> {
    let u = &job.ucx;
    for f in u.ep_configs.iter() {
        for (_, lanes) in &f.data.features {
            if let Some((t, d)) =
                lanes.iter().find(|(t, d)| is_rdma_tl(t) || (is_tcp_tl(t) && rdma_device(d)))
            {
                return Some((format!("{t}/{d} in an endpoint config"), &f.ev));
            }
        }
    }
    for f in u.proto_rows.iter() {
        if let Some((t, d)) = f.data.lanes.iter().find(|(t, _)| is_rdma_tl(t)) {
            return Some((format!("{t}/{d} in a protocol table"), &f.ev));
        }
    }
    for f in u.info_devices.iter() {
        if is_rdma_tl(&f.data.0) || rdma_device(&f.data.1) {
            return Some((format!("ucx_info lists {}/{}", f.data.0, f.data.1), &f.ev));
        }
    }
    for f in u.tls_unavailable.iter() {
        if let Some(t) = f.data.1.iter().find(|t| is_rdma_tl(t)) {
            return Some((format!("UCX offers the {t} transport"), &f.ev));
        }
    }
    for f in u.dev_unavailable.iter() {
        if rdma_device(&f.data.0) {
            return Some((format!("the RDMA device {} was requested", f.data.0), &f.ev));
        }
    }
    None
}

/// `UCX_*` variables in force: UCX's own echo first, then command lines and scripts.
fn ucx_env(job: &Job) -> Vec<(&str, &str, &Evidence, usize)> {
    let mut v: Vec<(&str, &str, &Evidence, usize)> =
        job.ucx.env.iter().map(|f| (f.data.0.as_str(), f.data.1.as_str(), &f.ev, f.proc)).collect();
    v.extend(
        job.cmdline_env
            .iter()
            .filter(|f| f.data.0.starts_with("UCX_"))
            .map(|f| (f.data.0.as_str(), f.data.1.as_str(), &f.ev, f.proc)),
    );
    v
}

fn finding(job: &Job, id: RuleId, msg: String, seen: &Seen<'_>) -> Finding {
    Finding::new(id, msg).affecting(job, seen.procs.iter().copied()).evidence(seen.evidence.iter().copied())
}

/// Network lanes of a config's data features (keepalive excluded: it carries no data).
pub(crate) fn data_network_lanes(features: &[(String, Vec<(String, String)>)]) -> Vec<&(String, String)> {
    features
        .iter()
        .filter(|(n, _)| n != "ka")
        .flat_map(|(_, l)| l.iter())
        .filter(|(t, _)| !is_local_tl(t))
        .collect()
}

pub struct UcxTcpFallback;

impl Rule for UcxTcpFallback {
    fn id(&self) -> RuleId {
        RuleId::UCX_TCP_FALLBACK
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut lanes: Vec<(String, String)> = Vec::new();
        let mut inferred = false;
        for f in job.ucx.ep_configs.iter() {
            // v1.15+ says inter-node; older `ep_cfg[N]` lines do not: tcp off loopback in a job
            // whose lines come from several hosts (or whose tcp_ep connections go to another
            // address) is taken as remote.
            if cfg_tcp_inter_node(job, &f.data) {
                inferred |= f.data.scope == UcxScope::Unknown;
                seen.add(f.proc, &f.ev);
                lanes.extend(data_network_lanes(&f.data.features).into_iter().cloned());
            }
        }
        for f in job.ucx.proto_rows.iter() {
            if f.data.scope == UcxScope::InterNode
                && !f.data.lanes.is_empty()
                && f.data.lanes.iter().all(|(t, _)| is_tcp_tl(t))
            {
                seen.add(f.proc, &f.ev);
                lanes.extend(f.data.lanes.iter().cloned());
            }
        }
        if seen.count == 0 {
            return;
        }
        let pair = tcp_remote_pair(job);
        let scope = match (inferred, pair) {
            (true, Some(p)) => {
                seen.evidence.push(&p.ev);
                format!(
                    "endpoints to other hosts (a tcp connection {} <-> {} goes to another address, line {})",
                    p.data.0, p.data.1, p.ev.pos.line
                )
            }
            (true, None) => {
                "endpoints to other hosts (the job's UCX lines come from several hosts)".to_string()
            }
            (false, _) => "inter-node endpoints".to_string(),
        };
        let mut msg = format!(
            "UCX moves data of {scope} over TCP only ({} on {} config line(s)): KV-cache/MPI transfers run 10-100× slower than over RDMA.",
            fmt_lanes(&lanes),
            seen.count
        );
        let severity = match rdma_evidence(job) {
            Some((what, ev)) => {
                msg.push_str(&format!(" RDMA is there ({what}, line {}).", ev.pos.line));
                seen.evidence.push(ev);
                Severity::Critical
            }
            None => {
                msg.push_str(" No RDMA transport or device is visible in these logs, so this may be all the hosts offer (a warning, not critical); if they have IB/RoCE/EFA, UCX is not given it.");
                Severity::Warning
            }
        };
        msg.push_str(" Fix: UCX_TLS=all (or include rc/dc/srd), UCX_NET_DEVICES=all or the RDMA devices (mlx5_0:1), and request the IB/EFA devices in the pod.");
        out.push(finding(job, self.id(), msg, &seen).severity(severity));
    }
}

pub struct UcxBadIface;

impl Rule for UcxBadIface {
    fn id(&self) -> RuleId {
        RuleId::UCX_BAD_IFACE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut devs: BTreeSet<&str> = BTreeSet::new();
        let cfg_lanes = job
            .ucx
            .ep_configs
            .iter()
            .map(|f| (f, f.data.features.iter().flat_map(|(_, l)| l.iter()).collect::<Vec<_>>()));
        for (f, lanes) in cfg_lanes {
            let bad: Vec<&str> =
                lanes.iter().filter(|(t, d)| is_tcp_tl(t) && bad_iface(d)).map(|(_, d)| d.as_str()).collect();
            if !bad.is_empty() {
                seen.add(f.proc, &f.ev);
                devs.extend(bad);
            }
        }
        if seen.count == 0 {
            return;
        }
        // A tcp_ep on Docker's default bridge (172.17.x) proves the bridge carries traffic.
        let bridge = tcp_bridge_pair(job);
        if let Some(b) = bridge {
            seen.evidence.push(&b.ev);
        }
        let pinned_lo = ucx_env(job).iter().any(|(n, v, _, _)| *n == "UCX_NET_DEVICES" && *v == "lo");
        let deliberate = devs.iter().all(|d| *d == "lo") && job.hosts().len() <= 1 && pinned_lo;
        let list = devs.iter().copied().collect::<Vec<_>>().join(", ");
        let (severity, msg) = if deliberate {
            (
                Severity::Info,
                format!("UCX uses tcp on {list} because UCX_NET_DEVICES=lo on a single host: a loopback benchmark measures TCP over loopback, not the network (info: this looks deliberate)."),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "UCX selected tcp lanes on {list} (container bridge / loopback / veth){}: traffic to other hosts cannot go there, and connections through it stall or fail. Set UCX_NET_DEVICES to the real NICs (or UCX_TCP_IF for sockcm).",
                    bridge.map_or(String::new(), |b| format!(
                        "; tcp connections run over Docker's bridge ({} <-> {}, line {})",
                        b.data.0, b.data.1, b.ev.pos.line
                    ))
                ),
            )
        };
        out.push(finding(job, self.id(), msg, &seen).severity(severity));
    }
}

/// A message with numbers, addresses and quoted names blanked, to group repeated errors.
fn shape(msg: &str) -> String {
    let mut s = String::with_capacity(msg.len());
    let mut in_num = false;
    let mut in_quote = false;
    for c in msg.chars() {
        if c == '\'' {
            in_quote = !in_quote;
            if in_quote {
                s.push_str("'…'");
            }
            continue;
        }
        if in_quote {
            continue;
        }
        if c.is_ascii_hexdigit() && (c.is_ascii_digit() || in_num) {
            if !in_num {
                s.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            s.push(c);
        }
    }
    s.replace("#x#", "#")
}

pub struct UcxError;

impl Rule for UcxError {
    fn id(&self) -> RuleId {
        RuleId::UCX_ERROR
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut groups: BTreeMap<(String, String), (usize, Seen<'_>, &str)> = BTreeMap::new();
        let mut order = 0;
        for f in job.ucx.errors.iter() {
            let key = (f.data.0.clone().unwrap_or_default(), shape(&f.data.1));
            let g = groups.entry(key).or_insert_with(|| {
                order += 1;
                (order, Seen::default(), f.data.1.as_str())
            });
            g.1.add(f.proc, &f.ev);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by_key(|(_, g)| g.0);
        let shown = groups.len().min(10);
        let extra = groups.len() - shown;
        for ((file, _), (_, seen, sample)) in groups.into_iter().take(shown) {
            let site = if file.is_empty() { String::new() } else { format!(" ({file})") };
            let mut msg = format!(
                "UCX ERROR{site} on {} process(es), {} line(s): {sample}",
                seen.procs.len(),
                seen.count
            );
            if extra > 0 {
                msg.push_str(&format!(" ({extra} more error shape(s) not listed)"));
            }
            out.push(finding(job, self.id(), msg, &seen));
        }
    }
}

pub struct UcxNoAmTransport;

impl Rule for UcxNoAmTransport {
    fn id(&self) -> RuleId {
        RuleId::UCX_NO_AM_TRANSPORT
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut reasons: BTreeSet<&str> = BTreeSet::new();
        let mut what: BTreeSet<&str> = BTreeSet::new();
        for f in job.ucx.no_transport.iter() {
            seen.add(f.proc, &f.ev);
            what.insert(&f.data.0);
            reasons.extend(f.data.2.iter().map(String::as_str));
        }
        if seen.count == 0 {
            return;
        }
        let why = if reasons.is_empty() {
            String::new()
        } else {
            format!(" UCX's reasons: {}.", reasons.into_iter().take(6).collect::<Vec<_>>().join("; "))
        };
        let msg = format!(
            "UCX found no {} transport to the peer ({} line(s)), so the endpoint could not be created (`Destination is unreachable`).{why} No transport allowed by UCX_TLS / UCX_NET_DEVICES can reach it: add an AM-capable transport (tcp, rc, sm) to UCX_TLS or use UCX_TLS=all, and widen UCX_NET_DEVICES to devices that reach the peer.",
            what.into_iter().collect::<Vec<_>>().join("/"),
            seen.count
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

/// `UCX_TLS` values that pin a subset: what fast path each excludes.
fn tls_exclusions(value: &str) -> Vec<&'static str> {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() || v == "all" || v.starts_with('^') {
        return Vec::new();
    }
    let tls: Vec<&str> = v.split(',').map(str::trim).collect();
    let mut missing = Vec::new();
    if !tls.iter().any(|t| is_rdma_tl(t)) {
        missing.push("any RDMA transport (rc/dc/ud/srd)");
    }
    if !tls.iter().any(|t| SHM_TLS.contains(t)) {
        missing.push("shared memory (sm) for peers on the same host");
    }
    missing
}

pub struct UcxTlsRestricted;

impl Rule for UcxTlsRestricted {
    fn id(&self) -> RuleId {
        RuleId::UCX_TLS_RESTRICTED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut what: BTreeSet<String> = BTreeSet::new();
        for (name, value, ev, proc) in ucx_env(job) {
            let problem = match name {
                "UCX_TLS" => {
                    let missing = tls_exclusions(value);
                    (!missing.is_empty())
                        .then(|| format!("UCX_TLS={value} excludes {}", missing.join(" and ")))
                }
                // Netdevs only (no `:port`): the RDMA devices are not in the list.
                "UCX_NET_DEVICES" => {
                    let devs: Vec<&str> = value.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
                    (!devs.is_empty() && value != "all" && devs.iter().all(|d| !d.contains(':')))
                        .then(|| format!("UCX_NET_DEVICES={value} names only network interfaces, no RDMA device (mlx5_0:1)"))
                }
                _ => None,
            };
            if let Some(p) = problem {
                seen.add(proc, ev);
                what.insert(p);
            }
        }
        if seen.count == 0 {
            return;
        }
        // What the restriction cost: RDMA/cuda memory domains UCX closed for lack of transports.
        let closed: Vec<&str> = job.ucx.md_closed.iter().map(|f| f.data.as_str()).collect();
        for f in job.ucx.md_closed.iter() {
            seen.add(f.proc, &f.ev);
        }
        if !closed.is_empty() {
            let mut c: Vec<&str> = closed;
            c.sort_unstable();
            c.dedup();
            what.insert(format!(
                "UCX closed memory domain(s) {} for want of an allowed transport",
                c.join(", ")
            ));
        }
        let msg = format!(
            "{}: UCX cannot pick the fast path where one exists. Use UCX_TLS=all / UCX_NET_DEVICES=all unless this is a deliberate benchmark.",
            what.into_iter().collect::<Vec<_>>().join("; ")
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

pub struct UcxDeviceUnavailable;

impl Rule for UcxDeviceUnavailable {
    fn id(&self) -> RuleId {
        RuleId::UCX_DEVICE_UNAVAILABLE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut notes: Vec<String> = Vec::new();
        for f in job.ucx.tls_unavailable.iter() {
            seen.add(f.proc, &f.ev);
            names.extend(f.data.0.iter().map(|n| format!("transport '{n}'")));
            // openucx/ucx#10692: `efa` is no UCX transport; EFA's RDMA transport is `srd`.
            if f.data.0.iter().any(|n| n == "efa") && !notes.iter().any(|n| n.contains("srd")) {
                let has_srd = f.data.1.iter().any(|t| t == "srd");
                notes.push(format!(
                    "`efa` is not a UCX transport name: on EFA the RDMA transport is `srd` (UCX 1.19+){}",
                    if has_srd { ", which this UCX offers" } else { "" }
                ));
            }
        }
        for f in job.ucx.dev_unavailable.iter() {
            seen.add(f.proc, &f.ev);
            names.insert(format!("device '{}'", f.data.0));
            if rdma_device(&f.data.0)
                && !f.data.1.is_empty()
                && f.data.1.iter().all(|a| a.contains("tcp"))
                && notes.len() < 3
            {
                notes.push(format!(
                    "only tcp devices are visible to UCX ({}): the RDMA device is not exposed to this container/host",
                    f.data.1.join(", ")
                ));
            }
        }
        if seen.count == 0 {
            return;
        }
        let mut msg = format!(
            "UCX ignores what was requested: {} not available",
            names.into_iter().collect::<Vec<_>>().join(", ")
        );
        for n in notes {
            msg.push_str(&format!("; {n}"));
        }
        msg.push_str(". Set UCX_TLS / UCX_NET_DEVICES to what `ucx_info -d` lists on these hosts.");
        out.push(finding(job, self.id(), msg, &seen));
    }
}

pub struct UcxNoGpuTransport;

impl Rule for UcxNoGpuTransport {
    fn id(&self) -> RuleId {
        RuleId::UCX_NO_GPU_TRANSPORT
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut what: BTreeSet<String> = BTreeSet::new();
        for f in job.ucx.tls_unavailable.iter() {
            let gpu: Vec<&String> = f
                .data
                .0
                .iter()
                .filter(|n| n.starts_with("cuda") || n.starts_with("gdr") || n.starts_with("rocm"))
                .collect();
            if !gpu.is_empty() {
                seen.add(f.proc, &f.ev);
                what.insert(format!(
                    "UCX has no {} transport (this UCX build or its modules lack CUDA support)",
                    gpu.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("/")
                ));
            }
        }
        for f in job.ucx.nixl_errors.iter().filter(|f| f.data.0 == NixlError::VramAsHost) {
            seen.add(f.proc, &f.ev);
            what.insert(
                "NIXL reports GPU memory detected as host memory by UCX (UCX without CUDA support)".into(),
            );
        }
        if seen.count == 0 {
            return;
        }
        // A registration that then failed outright (NIXL_ERR_BACKEND) is no longer a slow path.
        let failed: Vec<&Evidence> = job
            .ucx
            .nixl_errors
            .iter()
            .filter(|f| matches!(f.data.0, NixlError::Backend | NixlError::Registration))
            .map(|f| &f.ev)
            .collect();
        let mut msg = format!(
            "{}: GPU buffers are staged through host memory, or cannot be registered at all.",
            what.into_iter().collect::<Vec<_>>().join("; ")
        );
        let mut severity = Severity::Warning;
        if let Some(ev) = failed.first() {
            severity = Severity::Critical;
            msg.push_str(&format!(" Critical here: the NIXL backend then failed (line {}).", ev.pos.line));
            seen.evidence.push(ev);
        }
        msg.push_str(" Use a UCX built with CUDA (ucx_info -v shows --with-cuda), include cuda_copy,cuda_ipc (and gdr_copy) in UCX_TLS, kv_buffer_device: cuda.");
        out.push(finding(job, self.id(), msg, &seen).severity(severity));
    }
}

pub struct UcxIntranodeSlowPath;

impl Rule for UcxIntranodeSlowPath {
    fn id(&self) -> RuleId {
        RuleId::UCX_INTRANODE_SLOW_PATH
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut what: BTreeSet<String> = BTreeSet::new();
        for f in job.ucx.ep_configs.iter().filter(|f| f.data.scope == UcxScope::IntraNode) {
            let mut slow = false;
            for (name, lanes) in f.data.features.iter().filter(|(n, l)| n != "ka" && !l.is_empty()) {
                let all_net = lanes.iter().all(|(t, _)| !is_local_tl(t));
                if name.ends_with("_am") && all_net {
                    what.insert(format!("{name}({}) emulated over active messages", fmt_lanes(lanes)));
                    slow = true;
                } else if all_net {
                    what.insert(format!("{name}({})", fmt_lanes(lanes)));
                    slow = true;
                }
            }
            if slow {
                seen.add(f.proc, &f.ev);
            }
        }
        for f in job.ucx.proto_rows.iter().filter(|f| f.data.scope == UcxScope::IntraNode) {
            if !f.data.lanes.is_empty() && f.data.lanes.iter().all(|(t, _)| !is_local_tl(t)) {
                seen.add(f.proc, &f.ev);
                what.insert(format!("{} over {}", f.data.operation, fmt_lanes(&f.data.lanes)));
            }
        }
        if seen.count == 0 {
            return;
        }
        let list: Vec<String> = what.into_iter().take(4).collect();
        let msg = format!(
            "Intra-node UCX endpoints move data through the NIC or TCP instead of shared memory / cuda_ipc: {}. Include sm,cuda_ipc,cuda_copy in UCX_TLS and check NVLink/P2P between the GPUs.",
            list.join("; ")
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

fn is_unreachable(status: &str) -> bool {
    status.contains("Destination is unreachable")
        || status.contains("Connection reset")
        || status.contains("reset by remote peer")
}

pub struct UcxPeerUnreachable;

impl Rule for UcxPeerUnreachable {
    fn id(&self) -> RuleId {
        RuleId::UCX_PEER_UNREACHABLE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // `no active messages transport` already explains an unreachable peer by the local
        // configuration (UCX_NO_AM_TRANSPORT).
        if !job.ucx.no_transport.is_empty() {
            return;
        }
        let mut seen = Seen::default();
        for f in job.ucx.peer_errors.iter().filter(|f| is_unreachable(&f.data)) {
            seen.add(f.proc, &f.ev);
        }
        if seen.count == 0 {
            return;
        }
        let msg = format!(
            "UCX endpoints to peers failed ({} line(s): `Destination is unreachable` / connection reset) outside UCX's own ERROR lines: the peer's address is not reachable over the interfaces UCX uses, or the peer died. Check interfaces, firewalls / security groups, UCX_NET_DEVICES, and the peer's own log.",
            seen.count
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

pub struct NixlPeerFailed;

impl Rule for NixlPeerFailed {
    fn id(&self) -> RuleId {
        RuleId::NIXL_PEER_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut what: BTreeSet<&str> = BTreeSet::new();
        for f in job.ucx.nixl_errors.iter() {
            let w = match f.data.0 {
                NixlError::Handshake => "the NIXL handshake with the remote engine failed",
                NixlError::MetadataNotFound => "the remote agent's metadata was not found",
                _ => continue,
            };
            what.insert(w);
            seen.add(f.proc, &f.ev);
        }
        if seen.count == 0 {
            return;
        }
        let msg = format!(
            "The KV-transfer peer is unusable: {} ({} line(s)). Set VLLM_NIXL_SIDE_CHANNEL_HOST/port on every instance so peers can reach each other, and check the peer's log for its crash.",
            what.into_iter().collect::<Vec<_>>().join("; "),
            seen.count
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

pub struct UcxVersionMismatch;

impl Rule for UcxVersionMismatch {
    fn id(&self) -> RuleId {
        RuleId::UCX_VERSION_MISMATCH
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut pairs: BTreeSet<String> = BTreeSet::new();
        for f in job.ucx.incompatible.iter() {
            seen.add(f.proc, &f.ev);
            pairs.insert(format!("built for {}, loaded {}", f.data.0, f.data.1));
        }
        if seen.count > 0 {
            let msg = format!(
                "UCX says the application was built against another UCX than the one loaded ({}): crashes like a segfault follow. Fix LD_LIBRARY_PATH or use the UCX bundled with the application (NIXL/UCX-Py wheels ship their own).",
                pairs.into_iter().collect::<Vec<_>>().join("; ")
            );
            out.push(finding(job, self.id(), msg, &seen));
            return;
        }
        // Different UCX versions across processes of one job (major.minor).
        let mut by: BTreeMap<String, Seen<'_>> = BTreeMap::new();
        for f in job.ucx.versions.iter() {
            let mm: String = f.data.split('.').take(2).collect::<Vec<_>>().join(".");
            by.entry(mm).or_default().add(f.proc, &f.ev);
        }
        let hosts_with_lines: BTreeSet<_> = job.ucx.versions.iter().map(|f| f.proc).collect();
        if by.len() < 2 || hosts_with_lines.len() < 2 {
            return;
        }
        let mut all = Seen::default();
        for s in by.values() {
            for p in &s.procs {
                all.procs.insert(*p);
            }
            if let Some(e) = s.evidence.first() {
                all.evidence.push(e);
            }
        }
        let msg = format!(
            "Processes of this job load different UCX versions ({}): the wire protocol can differ between them (a warning: only one version is proven per process).",
            by.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        out.push(finding(job, self.id(), msg, &all).severity(Severity::Warning));
    }
}

pub struct UcxEfaNoSrd;

impl Rule for UcxEfaNoSrd {
    fn id(&self) -> RuleId {
        RuleId::UCX_EFA_NO_SRD
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let efa = |d: &str| d.starts_with("rdmap") || d.starts_with("efa");
        let has_srd = job.ucx.info_devices.iter().any(|f| f.data.0 == "srd")
            || job
                .ucx
                .ep_configs
                .iter()
                .any(|f| f.data.features.iter().any(|(_, l)| l.iter().any(|(t, _)| t == "srd")));
        if has_srd {
            return;
        }
        let mut seen = Seen::default();
        for f in job.ucx.info_failed.iter().filter(|f| efa(&f.data.1) && is_rdma_tl(&f.data.0)) {
            seen.add(f.proc, &f.ev);
        }
        if seen.count == 0 {
            return;
        }
        let errors: Vec<&Evidence> = job
            .ucx
            .errors
            .iter()
            .filter(|f| f.data.1.contains("Operation not supported"))
            .map(|f| &f.ev)
            .collect();
        let msg = format!(
            "UCX's verbs transports (rc/ud) fail to open on the EFA device ({} interface(s), `Operation not supported`): EFA speaks SRD, which this UCX lacks, so UCX has no RDMA path on EFA. Use a UCX with EFA SRD support (1.19+, transport `srd`) or NIXL's LIBFABRIC backend.",
            seen.count
        );
        let mut f = finding(job, self.id(), msg, &seen);
        f = f.evidence(errors);
        out.push(f);
    }
}

pub struct UcxGpuRdmaEmulated;

impl Rule for UcxGpuRdmaEmulated {
    fn id(&self) -> RuleId {
        RuleId::UCX_GPU_RDMA_EMULATED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut ops: BTreeSet<&str> = BTreeSet::new();
        for f in job.ucx.proto_rows.iter().filter(|f| f.data.emulated && f.data.operation.contains("cuda")) {
            seen.add(f.proc, &f.ev);
            ops.insert(&f.data.operation);
        }
        // UCX's own warning that no zero-copy protocol exists for cuda memory.
        for f in job.ucx.no_zero_copy.iter().filter(|f| f.data.contains("cuda")) {
            seen.add(f.proc, &f.ev);
            ops.insert("no zero-copy protocol for cuda memory");
        }
        if seen.count == 0 {
            return;
        }
        let msg = format!(
            "UCX's protocol table shows `software emulation` for GPU memory ({}): there is no zero-copy GPUDirect path, data is copied through host memory. Check GPUDirect RDMA (nvidia-peermem / DMA-BUF) and that UCX_TLS includes the cuda transports.",
            ops.into_iter().take(3).collect::<Vec<_>>().join("; ")
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

pub struct UcxBwTcpLevel;

/// Below this an RDMA link (≥ 100 Gb/s ≈ 12 GB/s) is running at TCP speed.
const TCP_LEVEL_MBS: f64 = 3000.0;

impl Rule for UcxBwTcpLevel {
    fn id(&self) -> RuleId {
        RuleId::UCX_BW_TCP_LEVEL
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let Some((what, rdma_ev)) = rdma_evidence(job) else { return };
        // A loopback run measures loopback.
        if ucx_env(job).iter().any(|(n, v, _, _)| *n == "UCX_NET_DEVICES" && *v == "lo") {
            return;
        }
        let mut seen = Seen::default();
        let mut worst = f64::MAX;
        for f in job.ucx.perf.iter() {
            if let Some(bw) = f.data.bandwidth_mbs.filter(|b| *b > 0.0 && *b < TCP_LEVEL_MBS) {
                seen.add(f.proc, &f.ev);
                worst = worst.min(bw);
            }
        }
        if seen.count == 0 {
            return;
        }
        seen.evidence.push(rdma_ev);
        let msg = format!(
            "ucx_perftest reached only {worst:.0} MB/s, TCP level, although RDMA is there ({what}). Name the RDMA device (mlx5_0:1) rather than its IPoIB netdev in UCX_NET_DEVICES, and check UCX_TLS."
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

/// `UCX_TLS` entries as written (`^` exclusion stripped, markdown escapes removed).
fn tls_entries(value: &str) -> impl Iterator<Item = String> + '_ {
    value.trim_start_matches('^').split(',').map(|t| t.trim().replace('\\', "").to_ascii_lowercase())
}

pub struct UcxTlsEfaName;

impl Rule for UcxTlsEfaName {
    fn id(&self) -> RuleId {
        RuleId::UCX_TLS_EFA_NAME
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // openucx/ucx#10692: `UCX_TLS=efa` is rejected (`transport 'efa' is not available`);
        // UCX 1.19+ names its EFA transport `srd`, older UCX has none.
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut values: BTreeSet<String> = BTreeSet::new();
        for (name, value, ev, proc) in ucx_env(job) {
            if name == "UCX_TLS" && tls_entries(value).any(|t| t == "efa") {
                seen.add(proc, ev);
                values.insert(format!("UCX_TLS={value}"));
            }
        }
        let mut offers_srd = None;
        for f in job.ucx.tls_unavailable.iter().filter(|f| f.data.0.iter().any(|n| n == "efa")) {
            seen.add(f.proc, &f.ev);
            values.insert("transport 'efa' is not available".into());
            if !f.data.1.is_empty() {
                offers_srd = Some(f.data.1.iter().any(|t| t == "srd"));
            }
        }
        if seen.count == 0 {
            return;
        }
        let srd = match offers_srd {
            Some(true) => " This UCX offers `srd` (its not-available message lists it): use UCX_TLS=srd plus the local transports, or UCX_TLS=all.",
            Some(false) => " This UCX does not list `srd` (it predates 1.19 or lacks EFA support): upgrade UCX, or use NIXL's LIBFABRIC backend on EFA.",
            None => " Use UCX_TLS=srd plus the local transports (UCX 1.19+), or UCX_TLS=all.",
        };
        let msg = format!(
            "{}: `efa` is not a UCX transport name, so UCX ignores it and EFA is not used for RDMA by UCX (EFA's transport in UCX is `srd`).{srd}",
            values.into_iter().collect::<Vec<_>>().join("; ")
        );
        out.push(finding(job, self.id(), msg, &seen));
    }
}

pub struct UcxRdmaCompletionError;

impl Rule for UcxRdmaCompletionError {
    fn id(&self) -> RuleId {
        RuleId::UCX_RDMA_COMPLETION_ERROR
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // Completion errors are printed by ib_mlx5_log.c (`<error> on mlx5_0:1/IB (synd …)`,
        // 1.9+; `Error on mlx5_3:1 QP …: <error>`, ≤ 1.8) and the verbs transports
        // (`send completion with error: local protection error`), mostly as fatal errors.
        let job = ctx.job;
        let mut groups: BTreeMap<&str, (Seen<'_>, BTreeSet<&str>)> = BTreeMap::new();
        for f in job.ucx.completion_errors.iter() {
            let g = groups.entry(f.data.0.as_str()).or_default();
            g.0.add(f.proc, &f.ev);
            if let Some(d) = &f.data.1 {
                g.1.insert(d.as_str());
            }
        }
        for (error, (seen, devs)) in groups {
            let on = if devs.is_empty() {
                String::new()
            } else {
                format!(" on {}", devs.into_iter().take(8).collect::<Vec<_>>().join(", "))
            };
            let why = match error {
                "transport retry count exceeded" | "RNR retry count exceeded" => {
                    "the peer stopped answering: a link, cable or switch problem, or the peer process died"
                }
                "local protection" | "remote access" | "local length" => {
                    "a memory registration is invalid (GPU memory without working GPUDirect/peermem, a buffer freed or deregistered during the transfer)"
                }
                "work request flushed" => {
                    "the queue pair was already in error: an earlier completion error (look for it, or in the peer's log) broke the connection"
                }
                _ => "the RDMA operation failed on the NIC",
            };
            let msg = format!(
                "RDMA completion with error `{error}`{on} ({} line(s), {} process(es)): {why}. UCX/NIXL transfers on this connection fail.",
                seen.count,
                seen.procs.len()
            );
            out.push(finding(job, self.id(), msg, &seen));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, expect};
    use super::*;

    #[test]
    fn tcp_fallback_inter_node_with_rdma_evidence_is_critical() {
        let a = analyze_text(
            "[1765333153.178129] [n1:158:2]      ucp_worker.c:1912 UCX  INFO    ucp_context_0 inter-node cfg#2 rma_am(tcp/eth1)  amo_am(tcp/eth1)  am(tcp/eth1)  ka(tcp/eth1)\n\
             [1765333153.178129] [n1:158:2]      ucp_worker.c:1912 UCX  INFO    ucp_context_0 intra-node cfg#1 tag(sysv/memory rc_mlx5/mlx5_0:1)\n",
        );
        let f = expect(&a, RuleId::UCX_TCP_FALLBACK, Severity::Critical);
        assert!(f.message.contains("tcp/eth1"), "{}", f.message);
        assert_eq!(f.hosts, ["n1"]);
    }

    #[test]
    fn tcp_fallback_without_rdma_is_a_warning_and_rdma_is_silent() {
        let a = analyze_text(
            "ucp_context_0 inter-node cfg#2 rma_am(tcp/eth1) amo_am(tcp/eth1) am(tcp/eth1) ka(tcp/eth1)\n",
        );
        expect(&a, RuleId::UCX_TCP_FALLBACK, Severity::Warning);
        let a = analyze_text("[1744331142.028115] [g51:2802608:3]      ucp_worker.c:1903 UCX  INFO    ucp_context_2 inter-node cfg#3 rma(rc_mlx5/mlx5_ib2:1)  amo(rc_mlx5/mlx5_ib2:1)  am(rc_mlx5/mlx5_ib2:1 rc_mlx5/mlx5_ib7:1) ka(tcp/eth0)\n");
        absent(&a, RuleId::UCX_TCP_FALLBACK);
        absent(&a, RuleId::UCX_INTRANODE_SLOW_PATH);
    }

    #[test]
    fn old_ep_cfg_on_two_hosts_is_fallback_and_bad_iface() {
        let a = analyze_text(
            "[1716920651.160128] [gpu1:2592419:0]      ucp_worker.c:1783 UCX  INFO    ep_cfg[4]: tag(tcp/ib0 tcp/docker0)\n\
             [1716920651.160162] [gpu2:2554579:a]          tcp_ep.c:259  UCX  DEBUG tcp_ep 0x55b1aeee77f0: created on iface 0x55b1aea3ed30, fd 86\n",
        );
        expect(&a, RuleId::UCX_TCP_FALLBACK, Severity::Critical);
        expect(&a, RuleId::UCX_BAD_IFACE, Severity::Warning);
        // One host only: remote or not is unknown.
        let a = analyze_text("[1716920651.160128] [gpu1:2592419:0]      ucp_worker.c:1783 UCX  INFO    ep_cfg[4]: tag(tcp/ib0)\n");
        absent(&a, RuleId::UCX_TCP_FALLBACK);
        absent(&a, RuleId::UCX_BAD_IFACE);
    }

    #[test]
    fn loopback_benchmark_is_info_not_warning() {
        let a = analyze_text(
            "[1645557799.927145] [partita:15077:0]          parser.c:1916 UCX  INFO  UCX_* env variables: UCX_LOG_LEVEL=info UCX_TLS=tcp UCX_NET_DEVICES=lo\n\
             [1645557799.927307] [partita:15077:0]      ucp_worker.c:1867 UCX  INFO    ep_cfg[0]: am(tcp/lo); \n",
        );
        expect(&a, RuleId::UCX_BAD_IFACE, Severity::Info);
        expect(&a, RuleId::UCX_TLS_RESTRICTED, Severity::Warning);
        absent(&a, RuleId::UCX_TCP_FALLBACK);
    }

    #[test]
    fn ucx_error_grouped_by_shape() {
        let a = analyze_text(
            "[1784273406.684686] [h:994396:0]      ib_mlx5_dv.c:452  UCX  ERROR   mlx5dv_devx_obj_create(CQ) failed on mlx5_1, syndrome 0x2aac7c: Remote I/O error\n\
             [1784273406.759831] [h:994408:0]      ib_mlx5_dv.c:452  UCX  ERROR   mlx5dv_devx_obj_create(CQ) failed on mlx5_1, syndrome 0x2aac7d: Remote I/O error\n\
             [1784273406.719079] [h:994396:0]           gdaki.c:397  UCX  ERROR   gdaki channel chunk init: create_cq/qp failed (ch=2 ep=4)\n",
        );
        let n = a.findings.iter().filter(|f| f.rule == RuleId::UCX_ERROR).count();
        assert_eq!(n, 2);
        let f = expect(&a, RuleId::UCX_ERROR, Severity::Critical);
        assert!(f.message.contains("2 process(es), 2 line(s)"), "{}", f.message);
        let a = analyze_text(
            "[1784273406.684686] [h:994396:0]      ib_mlx5_dv.c:452  UCX  WARN  something odd\n",
        );
        absent(&a, RuleId::UCX_ERROR);
    }

    #[test]
    fn no_am_transport_and_no_peer_unreachable_double_count() {
        let a = analyze_text(
            "[1772973848.813341] [gb200-01:183991:0]          select.c:657  UCX  ERROR   no active messages transport to <no debug data>: Unsupported operation\n\
             W0308 12:44:08.813375  183991 ucx_utils.cpp:71] Unexpected UCX error: Destination is unreachable\n",
        );
        expect(&a, RuleId::UCX_NO_AM_TRANSPORT, Severity::Critical);
        expect(&a, RuleId::UCX_ERROR, Severity::Critical);
        absent(&a, RuleId::UCX_PEER_UNREACHABLE);
        let a = analyze_text("[1569529748.803457] [pc:5493 :0]     ucp_worker.c:1516 UCX  INFO  ep_cfg[1]: rma(cuda_copy/cuda); \n");
        absent(&a, RuleId::UCX_NO_AM_TRANSPORT);
    }

    #[test]
    fn peer_unreachable_from_ucxpy_callbacks() {
        let a = analyze_text("[1662343841.790321] [gpu12.cluster:3241] UCXPY  DEBUG Error callback for endpoint 0x2b492843d3c8 called with status -6: Destination is unreachable\n");
        let f = expect(&a, RuleId::UCX_PEER_UNREACHABLE, Severity::Critical);
        assert_eq!(f.hosts, ["gpu12.cluster"]);
        let a = analyze_text(
            "[1662343868.567415] [gpu12.cluster:3241] UCXPY  DEBUG Future cancelling: stream_recv\n",
        );
        absent(&a, RuleId::UCX_PEER_UNREACHABLE);
    }

    #[test]
    fn tls_restricted() {
        let a = analyze_text(
            "parser.c:2368 UCX  INFO  UCX_* env variables: UCX_PROTO_INFO=y UCX_TLS=cuda_ipc,cuda_copy,tcp\n",
        );
        let f = expect(&a, RuleId::UCX_TLS_RESTRICTED, Severity::Warning);
        assert!(f.message.contains("RDMA") && f.message.contains("shared memory"), "{}", f.message);
        let a =
            analyze_text("export UCX_TLS=cuda_ipc,cuda_copy,sm,self,rc\nexport UCX_NET_DEVICES=mlx5_0:1\n");
        absent(&a, RuleId::UCX_TLS_RESTRICTED);
        let a = analyze_text("export UCX_TLS=all\nexport UCX_NET_DEVICES=eth0\n");
        expect(&a, RuleId::UCX_TLS_RESTRICTED, Severity::Warning);
    }

    #[test]
    fn device_unavailable_and_efa_name() {
        let a = analyze_text("[1747579606.648618] [ip-1:471778:0]     ucp_context.c:1323 UCX  WARN  transport 'efa' is not available, please use one or more of: cma, ib, mm, srd, tcp\n");
        let f = expect(&a, RuleId::UCX_DEVICE_UNAVAILABLE, Severity::Warning);
        assert!(f.message.contains("`srd`"), "{}", f.message);
        absent(&a, RuleId::UCX_NO_GPU_TRANSPORT);
        let a = analyze_text("> ucp_context.c:1321 UCX  WARN  network device 'mlx5_bond_0:1' is not available, please use one or more of: 'bond0'(tcp), 'lo'(tcp)\n");
        let f = expect(&a, RuleId::UCX_DEVICE_UNAVAILABLE, Severity::Warning);
        assert!(f.message.contains("only tcp devices"), "{}", f.message);
        let a = analyze_text("[1754062805.042276] [soul01:1049 :0]     ucp_context.c:2339 UCX  INFO  Version 1.19.0 (loaded from /lib/libucp.so.0)\n");
        absent(&a, RuleId::UCX_DEVICE_UNAVAILABLE);
    }

    #[test]
    fn no_gpu_transport_warning_then_critical_when_nixl_fails() {
        let a = analyze_text("[1746690477.974497] [llm206:611  :0]     ucp_context.c:1268 UCX  WARN  transports 'cuda_ipc','cuda_copy' are not available, please use one or more of: mm, posix, self, shm, sm, sysv, tcp\nBackend UCX was instantiated\n");
        expect(&a, RuleId::UCX_NO_GPU_TRANSPORT, Severity::Warning);
        let a = analyze_text("E ucx_utils.cpp:592  VRAM memory is detected as host by UCX.\nE nixl_agent.cpp:470 registerMem: registration failed for the specified or all potential backends\nnixl_cu13._bindings.nixlBackendError: NIXL_ERR_BACKEND\n");
        expect(&a, RuleId::UCX_NO_GPU_TRANSPORT, Severity::Critical);
        let a = analyze_text("[1.1] [h:1:0] ucp_context.c:1 UCX  WARN  transport 'efa' is not available\n");
        absent(&a, RuleId::UCX_NO_GPU_TRANSPORT);
    }

    #[test]
    fn intranode_slow_path_from_cfg_and_proto_table() {
        let a = analyze_text("[1765333153.178129] [g340:1586361:2]      ucp_worker.c:1912 UCX  INFO    ucp_context_0 intra-node cfg#2 rma_am(tcp/eth1)  amo_am(tcp/eth1)  am(tcp/eth1 cuda_ipc/cuda)  ka(tcp/eth1)\n");
        expect(&a, RuleId::UCX_INTRANODE_SLOW_PATH, Severity::Warning);
        let a = analyze_text(
            "[1769083945.891317] [lc10:1768445:0]   | ucp_context_0 intra-node cfg#1 | remote memory write by ucp_put* from host memory to cuda/dev[1]    |\n\
             [1769083945.891318] [lc10:1768445:0]   |                3371787875..inf | zero-copy    | 72% on rc_mlx5/mlx5_2:1 and 28% on dc_mlx5/mlx5_3:1 |\n",
        );
        expect(&a, RuleId::UCX_INTRANODE_SLOW_PATH, Severity::Warning);
        let a = analyze_text("[1750940426.960564] [j24:516901:0]      ucp_worker.c:1903 UCX  INFO    ucp_context_0 intra-node cfg#4 tag(sysv/memory cma/memory rc_mlx5/mlx5_3:1 cuda_ipc/cuda)\n");
        absent(&a, RuleId::UCX_INTRANODE_SLOW_PATH);
    }

    #[test]
    fn nixl_peer_failed() {
        let a = analyze_text("E0721 08:06:26.781179    4330 nixl_agent.cpp:866] createXferReq: metadata for remote agent 'def7d2f1' not found\n");
        expect(&a, RuleId::NIXL_PEER_FAILED, Severity::Critical);
        let a = analyze_text("(Worker_TP0_EP0 pid=865) ERROR 05-01 15:00:23 [nixl_connector.py:1263] NIXL transfer failure: handshake_setup_failed | Context: {}\n");
        expect(&a, RuleId::NIXL_PEER_FAILED, Severity::Critical);
        let a = analyze_text("I0214 02:57:25.928838      25 nixl_plugin_manager.cpp:461] Discovered and loaded backend plugin: UCX\n");
        absent(&a, RuleId::NIXL_PEER_FAILED);
    }

    #[test]
    fn version_mismatch() {
        let a = analyze_text("[1745243850.701871] [w-1:838783:0]     ucp_context.c:1774 UCX  WARN  UCP version is incompatible, required: 1.18, actual: 1.12 (release 1)\n");
        expect(&a, RuleId::UCX_VERSION_MISMATCH, Severity::Critical);
        let a = analyze_text("[1754062805.042276] [soul01:1049 :0]     ucp_context.c:2339 UCX  INFO  Version 1.19.0 (loaded from /lib/libucp.so.0)\n");
        absent(&a, RuleId::UCX_VERSION_MISMATCH);
    }

    #[test]
    fn efa_no_srd_from_ucx_info() {
        let a = analyze_text(
            "#      Transport: ud_verbs\n#         Device: rdmap0s6:1\n\
             [1648043869.866926] [ip-172-31-42-103:2699 :0]        ib_iface.c:1035 UCX  ERROR ibv_create_cq(cqe=1024) failed: Operation not supported\n\
             #   < failed to open interface >\n",
        );
        expect(&a, RuleId::UCX_EFA_NO_SRD, Severity::Warning);
        let a =
            analyze_text("#      Transport: srd\n#         Device: rdmap1:1\n#           Type: network\n");
        absent(&a, RuleId::UCX_EFA_NO_SRD);
    }

    #[test]
    fn gpu_rdma_emulated() {
        let a = analyze_text(
            "[1700000000.100000] [h:1:0]   | ucp_context_0 inter-node cfg#1 | remote memory write by ucp_put* from host memory to cuda/dev[0] |\n\
             [1700000000.100001] [h:1:0]   |                      0..inf | software emulation | srd/rdmap0:1 |\n",
        );
        expect(&a, RuleId::UCX_GPU_RDMA_EMULATED, Severity::Warning);
        let a = analyze_text(
            "[1700000000.100000] [h:1:0]   | ucp_context_0 inter-node cfg#1 | remote memory write by ucp_put* from host memory |\n\
             [1700000000.100001] [h:1:0]   |                      0..inf | zero-copy | rc_mlx5/mlx5_0:1 |\n",
        );
        absent(&a, RuleId::UCX_GPU_RDMA_EMULATED);
    }

    #[test]
    fn bw_tcp_level() {
        let head = "#      Transport: rc_mlx5\n#         Device: mlx5_0:1\n\
                    |              |              |       overhead (usec)        |   bandwidth (MB/s)  |  message rate (msg/s) |\n";
        let a = analyze_text(&format!("{head}Final:                  1000      0.240  1675.942  1671.351    1150.58   1143.62         597         598\n"));
        expect(&a, RuleId::UCX_BW_TCP_LEVEL, Severity::Warning);
        let a = analyze_text(&format!("{head}Final:                  1000      0.240  1675.942  1671.351    46615.58   46743.62         597         598\n"));
        absent(&a, RuleId::UCX_BW_TCP_LEVEL);
    }

    #[test]
    fn tls_efa_name() {
        let a = analyze_text("[1747579606.648618] [ip-1:471778:0]     ucp_context.c:1323 UCX  WARN  transport 'efa' is not available, please use one or more of: cma, ib, mm, srd, tcp\n");
        let f = expect(&a, RuleId::UCX_TLS_EFA_NAME, Severity::Warning);
        assert!(f.message.contains("offers `srd`"), "{}", f.message);
        let a = analyze_text("export UCX_TLS=efa,cuda_copy,sm\n");
        expect(&a, RuleId::UCX_TLS_EFA_NAME, Severity::Warning);
        let a = analyze_text("export UCX_TLS=srd,cuda_copy,sm\nexport FI_PROVIDER=efa\n");
        absent(&a, RuleId::UCX_TLS_EFA_NAME);
    }

    #[test]
    fn rdma_completion_errors_grouped_with_device() {
        let a = analyze_text(
            "[r40c1t7n3:108757:0:108757] ib_mlx5_log.c:136  Transport retry count exceeded on mlx5_1:1/IB (synd 0x15 vend 0x81 hw_synd 0/0)\n\
             [r40c1t7n3:108757:0:108757] ib_mlx5_log.c:136  RC QP 0x33945 wqe[386]: SEND s-e [va 0x14ebbaf7d680 len 474 lkey 0x70f41]\n\
             [r40c1t7n3:108756:0:108756] ib_mlx5_log.c:136  Transport retry count exceeded on mlx5_0:1/IB (synd 0x15 vend 0x81 hw_synd 0/0)\n\
             [hpc-test-node:17090:0:17090] rc_verbs_iface.c:63   FATAL: send completion with error: local protection error\n",
        );
        let n = a.findings.iter().filter(|f| f.rule == RuleId::UCX_RDMA_COMPLETION_ERROR).count();
        assert_eq!(n, 2);
        let f = a
            .findings
            .iter()
            .find(|f| f.rule == RuleId::UCX_RDMA_COMPLETION_ERROR && f.message.contains("retry"))
            .expect("retry group");
        assert_eq!(f.severity, Severity::Critical);
        assert!(
            f.message.contains("mlx5_0:1, mlx5_1:1") && f.message.contains("2 process(es)"),
            "{}",
            f.message
        );
        assert_eq!(f.hosts, ["r40c1t7n3"]);
        let a = analyze_text("[1461192583.894385] [pod9:16629:1]      ib_device.c:132  UCX  WARN  IB Async event on mlx4_0: SRQ-attached QP 0x199c6 was flushed\n");
        absent(&a, RuleId::UCX_RDMA_COMPLETION_ERROR);
    }

    #[test]
    fn tcp_pairs_prove_remote_tcp_and_docker_bridge() {
        // One host only, but its tcp connection goes to another address: remote TCP.
        let a = analyze_text(
            "[1716920651.160128] [gpu1:2592419:0]      ucp_worker.c:1783 UCX  INFO    ep_cfg[4]: tag(tcp/ib0)\n\
             [1716920651.160138] [gpu1:2592419:a]            sock.c:399  UCX  DEBUG [192.168.1.121:49463]<->[192.168.1.111:53562] is a connected pair\n",
        );
        let f = expect(&a, RuleId::UCX_TCP_FALLBACK, Severity::Critical);
        assert!(f.message.contains("192.168.1.111:53562"), "{}", f.message);
        // The docker bridge pair proves nothing remote but is named for UCX_BAD_IFACE.
        let a = analyze_text(
            "[1716594409.541417] [gpu1:1581053:0]      ucp_worker.c:1783 UCX  INFO    ep_cfg[4]: tag(tcp/ib0 tcp/docker0)\n\
             [1716594409.541430] [gpu1:1581047:0]          tcp_cm.c:96   UCX  DEBUG   tcp_ep 0x564a97356ff0: CLOSED -> CONNECTING for the [172.17.0.1:59765]<->[172.17.0.1:47133]:0 connection [-:-]\n",
        );
        absent(&a, RuleId::UCX_TCP_FALLBACK);
        let f = expect(&a, RuleId::UCX_BAD_IFACE, Severity::Warning);
        assert!(f.message.contains("Docker's bridge"), "{}", f.message);
    }
}

#[cfg(test)]
mod md_and_zero_copy_tests {
    use super::super::testing::{absent, analyze_text, expect};
    use crate::catalog::{RuleId, Severity};

    #[test]
    fn no_zero_copy_for_cuda_is_emulated_gpu_rdma() {
        let a = analyze_text("[1699999999.123456] [gpu1:1234:0] proto_reconfig.c:100 UCX  WARN  No zero-copy protocol found for cuda memory; set UCX_PROTO_EMULATION_ENABLE=y\n");
        expect(&a, RuleId::UCX_GPU_RDMA_EMULATED, Severity::Warning);
        let a = analyze_text("[1699999999.123456] [gpu1:1234:0] proto_reconfig.c:100 UCX  WARN  No zero-copy protocol found for host memory\n");
        absent(&a, RuleId::UCX_GPU_RDMA_EMULATED);
    }

    #[test]
    fn closed_rdma_md_is_named_when_tls_is_restricted() {
        let a = analyze_text(
            "[1699999999.123456] [gpu1:1234:0]          parser.c:2036 UCX  INFO  UCX_* env variables: UCX_TLS=tcp\n\
             [1699999999.123456] [gpu1:1234:0]     ucp_context.c:1069 UCX  DEBUG closing md mlx5_0 because it has no selected transport resources\n",
        );
        let f = expect(&a, RuleId::UCX_TLS_RESTRICTED, Severity::Warning);
        assert!(f.message.contains("mlx5_0"), "{}", f.message);
        let a = analyze_text(
            "[1699999999.123456] [gpu1:1234:0]     ucp_context.c:1069 UCX  DEBUG closing md mlx5_0 because it has no selected transport resources\n",
        );
        absent(&a, RuleId::UCX_TLS_RESTRICTED);
    }
}
