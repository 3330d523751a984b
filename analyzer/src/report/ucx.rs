//! The UCX section of the reports (issue 5): per process the UCX version, the `UCX_TLS` /
//! `UCX_NET_DEVICES` in force, and per endpoint config the transports per feature, with
//! TCP-on-inter-node and emulated paths called out. One content ([`ucx_section`]), rendered as
//! text (shared by the terminal and Markdown reports) and serialised as the JSON `ucx` object.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Job, ProcId, UcxScope};
use crate::rules::ucx::{cfg_tcp_inter_node, is_local_tl};
use crate::Analysis;

/// Processes (or groups of processes with the same content) shown in the text renderings.
const SHOWN_GROUPS: usize = 12;
/// Distinct endpoint configs / protocol rows shown per process.
const SHOWN_ITEMS: usize = 16;

#[derive(Debug, Clone, Serialize)]
pub struct UcxOut {
    pub processes: Vec<UcxProcOut>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UcxProcOut {
    /// `host:pid`, or the input's path for lines without a UCX header.
    pub process: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub versions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ucx_tls: Option<EnvOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ucx_net_devices: Option<EnvOut>,
    /// Transports/devices listed by ucx_info -d (`tl/dev`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub available: Vec<String>,
    pub endpoint_configs: Vec<EpCfgOut>,
    /// DEBUG lane lines / ucx_info -e lanes (`tl/dev` and their use), deduplicated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lanes: Vec<LaneOut>,
    /// UCX_PROTO_INFO tables: per table, the protocols and the lanes they use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<ProtoOut>,
    /// Some endpoint config moves data to other hosts over TCP only.
    pub tcp_inter_node: bool,
    /// Some config emulates RMA/AMO over active messages, or a protocol is `software emulation`.
    pub emulated: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnvOut {
    pub value: String,
    /// `ucx` (UCX's own `UCX_* env variables:` echo) or `command line` (scripts, launchers).
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EpCfgOut {
    /// As UCX names it: `ucp_context_2 inter-node cfg#3`, `ep_cfg[4]`.
    pub name: String,
    /// `self`, `intra-node`, `inter-node` or `unknown` (UCX < 1.15 does not print it).
    pub scope: &'static str,
    pub features: Vec<FeatureOut>,
    pub tcp_inter_node: bool,
    /// Features emulated over active messages (`rma_am`, `amo_am`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emulated: Vec<String>,
    /// How many times this config was printed by the process.
    pub count: usize,
    /// First line that printed it.
    pub line: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeatureOut {
    pub feature: String,
    pub lanes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LaneOut {
    pub lane: String,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProtoOut {
    pub scope: &'static str,
    pub operation: String,
    /// `zero-copy on rc_mlx5/mlx5_0:1 rc_mlx5/mlx5_1:1`, in table order, deduplicated.
    pub protocols: Vec<String>,
    pub emulated: bool,
    /// Network lanes carry an intra-node table (NIC loopback instead of shared memory/NVLink).
    pub intra_node_over_network: bool,
}

fn scope_str(s: UcxScope) -> &'static str {
    match s {
        UcxScope::SelfEp => "self",
        UcxScope::IntraNode => "intra-node",
        UcxScope::InterNode => "inter-node",
        UcxScope::Unknown => "unknown",
    }
}

fn cfg_name(c: &crate::model::UcxEpConfig) -> String {
    let ctx = c.context.as_deref().map_or(String::new(), |s| format!("{s} "));
    match c.scope {
        UcxScope::Unknown => format!("{ctx}ep_cfg[{}]", c.index),
        s => format!("{ctx}{} cfg#{}", scope_str(s), c.index),
    }
}

/// The UCX section, or `None` when the inputs hold no UCX line worth a section.
pub fn ucx_section(a: &Analysis) -> Option<UcxOut> {
    let job = &a.job;
    if job.ucx.lines == 0 {
        return None;
    }
    let mut procs: BTreeSet<ProcId> = BTreeSet::new();
    let u = &job.ucx;
    procs.extend(u.ep_configs.iter().map(|f| f.proc));
    procs.extend(u.versions.iter().map(|f| f.proc));
    procs.extend(u.proto_rows.iter().map(|f| f.proc));
    procs.extend(u.lanes.iter().map(|f| f.proc));
    procs.extend(u.info_devices.iter().map(|f| f.proc));
    // An env echo alone (often prefix-stripped, so under no process) is shown with the
    // processes it applies to, and on its own only when nothing else is known.
    if procs.is_empty() {
        procs.extend(u.env.iter().map(|f| f.proc));
    }
    let processes: Vec<UcxProcOut> = procs.into_iter().map(|p| proc_out(a, job, p)).collect();
    (!processes.is_empty()).then_some(UcxOut { processes })
}

/// `UCX_TLS` / `UCX_NET_DEVICES` for a process: its own UCX echo, else an echo in the same
/// input (pastes strip the prefix that names the process), else the last value a command line
/// or script of the job set.
fn env_in_force(job: &Job, p: ProcId, name: &str) -> Option<EnvOut> {
    let input = job.procs[p].input;
    let echo: Vec<_> = job.ucx.env.iter().filter(|f| f.data.0 == name).collect();
    let own = echo.iter().rfind(|f| f.proc == p);
    if let Some(f) = own.or_else(|| echo.iter().rfind(|f| f.ev.input == input)) {
        return Some(EnvOut { value: f.data.1.clone(), source: "ucx" });
    }
    job.cmdline_env
        .iter()
        .rfind(|f| f.data.0 == name)
        .map(|f| EnvOut { value: f.data.1.clone(), source: "command line" })
}

fn proc_out(a: &Analysis, job: &Job, p: ProcId) -> UcxProcOut {
    let proc = &job.procs[p];
    let process = match (&proc.host, proc.pid) {
        (Some(h), Some(pid)) => format!("{h}:{pid}"),
        (Some(h), None) => h.clone(),
        _ => a.path(proc.input).to_string(),
    };
    let u = &job.ucx;
    let mut versions: Vec<String> = Vec::new();
    for f in u.versions.iter().filter(|f| f.proc == p) {
        if !versions.contains(&f.data) {
            versions.push(f.data.clone());
        }
    }
    let mut available: Vec<String> = Vec::new();
    for f in u.info_devices.iter().filter(|f| f.proc == p) {
        let s = format!("{}/{}", f.data.0, f.data.1);
        if !available.contains(&s) {
            available.push(s);
        }
    }
    let mut cfgs: Vec<EpCfgOut> = Vec::new();
    for f in u.ep_configs.iter().filter(|f| f.proc == p) {
        let c = &f.data;
        let features: Vec<FeatureOut> = c
            .features
            .iter()
            .map(|(n, l)| FeatureOut {
                feature: n.clone(),
                lanes: l.iter().map(|(t, d)| format!("{t}/{d}")).collect(),
            })
            .collect();
        let name = cfg_name(c);
        if let Some(e) = cfgs.iter_mut().find(|e| e.name == name && e.features == features) {
            e.count += 1;
            continue;
        }
        let emulated = c
            .features
            .iter()
            .filter(|(n, l)| n.ends_with("_am") && !l.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        cfgs.push(EpCfgOut {
            name,
            scope: scope_str(c.scope),
            features,
            tcp_inter_node: cfg_tcp_inter_node(job, c),
            emulated,
            count: 1,
            line: f.ev.pos.line as usize,
        });
    }
    let mut lanes: Vec<LaneOut> = Vec::new();
    for f in u.lanes.iter().filter(|f| f.proc == p) {
        let l =
            LaneOut { lane: format!("{}/{}", f.data.transport, f.data.device), flags: f.data.flags.clone() };
        if !lanes.contains(&l) {
            lanes.push(l);
        }
    }
    // Protocol rows grouped by their table (scope + operation), in order of appearance.
    let mut tables: Vec<ProtoOut> = Vec::new();
    for f in u.proto_rows.iter().filter(|f| f.proc == p) {
        let r = &f.data;
        let scope = scope_str(r.scope);
        let i = match tables.iter().position(|t| t.scope == scope && t.operation == r.operation) {
            Some(i) => i,
            None => {
                tables.push(ProtoOut {
                    scope,
                    operation: r.operation.clone(),
                    protocols: Vec::new(),
                    emulated: false,
                    intra_node_over_network: false,
                });
                tables.len() - 1
            }
        };
        let t = &mut tables[i];
        let lanes: BTreeSet<String> = r.lanes.iter().map(|(tl, d)| format!("{tl}/{d}")).collect();
        let desc = if lanes.is_empty() {
            r.protocol.clone()
        } else {
            format!("{} on {}", r.protocol, lanes.into_iter().collect::<Vec<_>>().join(" "))
        };
        if !t.protocols.contains(&desc) {
            t.protocols.push(desc);
        }
        t.emulated |= r.emulated;
        t.intra_node_over_network |= r.scope == UcxScope::IntraNode
            && !r.lanes.is_empty()
            && r.lanes.iter().all(|(tl, _)| !is_local_tl(tl));
    }
    let tcp_inter_node = cfgs.iter().any(|c| c.tcp_inter_node);
    let emulated = cfgs.iter().any(|c| !c.emulated.is_empty()) || tables.iter().any(|t| t.emulated);
    UcxProcOut {
        process,
        host: proc.host.clone(),
        pid: proc.pid,
        versions,
        ucx_tls: env_in_force(job, p, "UCX_TLS"),
        ucx_net_devices: env_in_force(job, p, "UCX_NET_DEVICES"),
        available,
        endpoint_configs: cfgs,
        lanes,
        protocols: tables,
        tcp_inter_node,
        emulated,
    }
}

/// The body of one process (everything but its name), so processes that print the same
/// configs are shown once.
fn body(p: &UcxProcOut) -> String {
    let mut o = String::new();
    let mut head: Vec<String> = Vec::new();
    if !p.versions.is_empty() {
        head.push(format!("UCX {}", p.versions.join(", ")));
    }
    for (n, e) in [("UCX_TLS", &p.ucx_tls), ("UCX_NET_DEVICES", &p.ucx_net_devices)] {
        if let Some(e) = e {
            let from = if e.source == "ucx" { "" } else { " (command line)" };
            head.push(format!("{n}={}{from}", e.value));
        }
    }
    if !head.is_empty() {
        let _ = writeln!(o, "  {}", head.join("  "));
    }
    if !p.available.is_empty() {
        let _ = writeln!(o, "  ucx_info lists {}", shorten(&p.available, 12));
    }
    let width =
        p.endpoint_configs.iter().take(SHOWN_ITEMS).map(|c| c.name.chars().count()).max().unwrap_or(0);
    for c in p.endpoint_configs.iter().take(SHOWN_ITEMS) {
        let feats: Vec<String> = c
            .features
            .iter()
            .map(|f| {
                if f.lanes.is_empty() {
                    f.feature.clone()
                } else {
                    format!("{}({})", f.feature, f.lanes.join(" "))
                }
            })
            .collect();
        let mut flags = Vec::new();
        if c.tcp_inter_node {
            flags.push("<- TCP to other hosts".to_string());
        }
        if !c.emulated.is_empty() {
            flags.push(format!("<- emulated over AM: {}", c.emulated.join(", ")));
        }
        let times = if c.count > 1 { format!(" (x{})", c.count) } else { String::new() };
        let feats = if feats.is_empty() { "(no lanes)".to_string() } else { feats.join("  ") };
        let _ = writeln!(
            o,
            "  {:<width$}  {feats}{times}{}",
            c.name,
            flags.iter().map(|f| format!("  {f}")).collect::<String>()
        );
    }
    if p.endpoint_configs.len() > SHOWN_ITEMS {
        let _ = writeln!(o, "  … {} more endpoint config(s)", p.endpoint_configs.len() - SHOWN_ITEMS);
    }
    if p.endpoint_configs.is_empty() && !p.lanes.is_empty() {
        let lanes: Vec<String> = p
            .lanes
            .iter()
            .take(SHOWN_ITEMS)
            .map(|l| {
                if l.flags.is_empty() {
                    l.lane.clone()
                } else {
                    format!("{} [{}]", l.lane, l.flags.join(" "))
                }
            })
            .collect();
        let _ = writeln!(o, "  lanes: {}", lanes.join(", "));
    }
    for t in p.protocols.iter().take(SHOWN_ITEMS) {
        let mut flags = String::new();
        if t.emulated {
            flags.push_str("  <- software emulation");
        }
        if t.intra_node_over_network {
            flags.push_str("  <- intra-node over the NIC");
        }
        let op = if t.operation.is_empty() { "(table title not in the input)" } else { t.operation.as_str() };
        let _ = writeln!(o, "  protocol {} | {op}{flags}", t.scope);
        for r in t.protocols.iter().take(6) {
            let _ = writeln!(o, "    {r}");
        }
        if t.protocols.len() > 6 {
            let _ = writeln!(o, "    … {} more", t.protocols.len() - 6);
        }
    }
    if p.protocols.len() > SHOWN_ITEMS {
        let _ = writeln!(o, "  … {} more protocol table(s)", p.protocols.len() - SHOWN_ITEMS);
    }
    o
}

fn shorten(v: &[String], n: usize) -> String {
    let mut s = v.iter().take(n).cloned().collect::<Vec<_>>().join(" ");
    if v.len() > n {
        let _ = write!(s, " … ({} in all)", v.len());
    }
    s
}

/// Plain-text rendering (the terminal report indents it; Markdown puts it in a code block):
/// processes with the same body are grouped under one heading.
pub fn render_text(u: &UcxOut) -> String {
    let mut groups: BTreeMap<String, (usize, Vec<&str>)> = BTreeMap::new();
    for (i, p) in u.processes.iter().enumerate() {
        let b = body(p);
        if b.is_empty() {
            continue;
        }
        groups.entry(b).or_insert_with(|| (i, Vec::new())).1.push(&p.process);
    }
    let mut groups: Vec<(String, (usize, Vec<&str>))> = groups.into_iter().collect();
    groups.sort_by_key(|(_, (i, _))| *i);
    let mut o = String::new();
    for (b, (_, names)) in groups.iter().take(SHOWN_GROUPS) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(o, "{}", crate::model::short_list(&names, 4));
        o.push_str(b);
    }
    if groups.len() > SHOWN_GROUPS {
        let _ = writeln!(o, "… {} more process group(s) (see the JSON report)", groups.len() - SHOWN_GROUPS);
    }
    o
}
