//! Reports: one content, three renderings (text for the terminal, Markdown for tickets,
//! JSON per ../shared/spec/report.md for scripts).
use std::collections::BTreeSet;

use serde::Serialize;

use crate::finding::Finding;
use crate::model::Job;
use crate::platform::PlatformSource;
use crate::Analysis;

pub mod json;
pub mod markdown;
pub mod text;
pub mod topo;
pub mod ucx;

pub const SCHEMA: &str = "ncclscope.report/v1";

/// The job at a glance, derived from the model (report.md `job`).
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub hosts: Vec<String>,
    /// World size (largest communicator), else the number of distinct ranks seen.
    pub ranks: usize,
    pub nccl_versions: Vec<String>,
    pub net: Option<String>,
    pub net_plugin: Option<String>,
    pub ofi_provider: Option<String>,
    pub instance_type: Option<String>,
    /// Where the instance type came from: `--platform` or `path:line`.
    pub instance_type_source: Option<String>,
    /// How sure: `flag`, `named` (by the logs) or `guess` (from hardware), and on what basis.
    pub instance_type_confidence: Option<crate::platform::Confidence>,
    pub instance_type_basis: Option<String>,
    pub communicators: Vec<CommSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommSummary {
    pub id: String,
    pub nranks: u32,
    pub ranks_complete: usize,
    pub ranks_seen: usize,
}

/// One nccl-tests result at its largest size (report.md `bandwidth`).
#[derive(Debug, Clone, Serialize)]
pub struct BandwidthPoint {
    pub path: String,
    pub op: Option<String>,
    pub size_bytes: u64,
    pub busbw_gbps: f64,
    pub expected_gbps: Option<[f64; 2]>,
    pub nranks: usize,
    pub hosts: usize,
}

pub fn job_summary(a: &Analysis) -> JobSummary {
    let job = &a.job;
    let distinct_ranks: BTreeSet<u32> = job.procs.iter().flat_map(|p| p.world_ranks()).collect();
    let ranks = job.world_size().map_or(distinct_ranks.len(), |n| n as usize);
    JobSummary {
        hosts: job.hosts(),
        ranks,
        nccl_versions: job.nccl_versions(),
        net: net_kind(job),
        net_plugin: job.ofi_plugin_version.iter().next().map(|f| format!("aws-ofi-nccl {}", f.data)),
        ofi_provider: most_common(job.ofi_provider.iter().map(|f| f.data.0.as_str())),
        instance_type: a.platform.as_ref().map(|p| p.platform.map_or(p.name.clone(), |t| t.name.to_string())),
        instance_type_confidence: a.platform.as_ref().map(|p| p.confidence),
        instance_type_basis: a.platform.as_ref().map(|p| p.basis.clone()),
        instance_type_source: a.platform.as_ref().map(|p| match &p.from {
            PlatformSource::Flag => "--platform".to_string(),
            PlatformSource::Line(e) => format!("{}:{}", a.path(e.input), e.pos.line),
        }),
        communicators: job
            .comms
            .values()
            .map(|c| CommSummary {
                id: c.comm_id.clone().unwrap_or_else(|| c.key.clone()),
                nranks: c.nranks,
                ranks_complete: c.ranks_complete(),
                ranks_seen: c.ranks.len(),
            })
            .collect(),
    }
}

fn most_common<'a>(it: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in it {
        *counts.entry(s).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(s, _)| s.to_string())
}

/// The network NCCL used: `efa`, `ib`, `socket`, another plugin's name, or `mixed(…)`.
fn net_kind(job: &Job) -> Option<String> {
    let provider = most_common(job.ofi_provider.iter().map(|f| f.data.0.as_str()));
    let mut kinds: BTreeSet<String> = job
        .using_network
        .iter()
        .map(|f| {
            let n = f.data.as_str();
            if n.eq_ignore_ascii_case("socket") {
                "socket".to_string()
            } else if n.starts_with("IB") {
                "ib".to_string()
            } else if n.contains("Libfabric") || n.contains("OFI") {
                match &provider {
                    Some(p) if p.contains("efa") => "efa".to_string(),
                    Some(p) => format!("ofi-{p}"),
                    None => "ofi".to_string(),
                }
            } else {
                n.to_ascii_lowercase()
            }
        })
        .collect();
    if kinds.is_empty() {
        // NCCL ≤ 2.5 prints no `Using network`: infer from the connections.
        for (_, k) in job.connections.keys() {
            if let crate::model::ConnKind::Net { name, .. } = k {
                kinds.insert(if name == "Socket" {
                    "socket".into()
                } else if name.starts_with("IB") {
                    "ib".into()
                } else {
                    name.to_ascii_lowercase()
                });
            }
        }
    }
    match kinds.len() {
        0 => None,
        1 => kinds.into_iter().next(),
        _ => Some(format!("mixed({})", kinds.into_iter().collect::<Vec<_>>().join(","))),
    }
}

pub fn bandwidth(a: &Analysis) -> Vec<BandwidthPoint> {
    let expected = a.platform.as_ref().and_then(|p| p.platform).and_then(|p| p.expected_busbw);
    a.job
        .tests
        .iter()
        .filter_map(|run| {
            let row = run.largest()?;
            Some(BandwidthPoint {
                path: a.path(run.input).to_string(),
                op: run.op.clone(),
                size_bytes: row.size_bytes,
                busbw_gbps: row.busbw_gbps,
                expected_gbps: expected.map(|(l, h)| [l, h]),
                nranks: run.nranks,
                hosts: run.hosts.len(),
            })
        })
        .collect()
}

/// Counts per severity, most severe first.
pub fn counts(findings: &[Finding]) -> [(crate::Severity, usize); 3] {
    use crate::Severity::*;
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    [(Critical, n(Critical)), (Warning, n(Warning)), (Info, n(Info))]
}
