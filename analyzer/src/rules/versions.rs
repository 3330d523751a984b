//! Versions across ranks.
use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Rule};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::ProcId;

pub struct NcclVersionMismatch;

impl Rule for NcclVersionMismatch {
    fn id(&self) -> RuleId {
        RuleId::NCCL_VERSION_MISMATCH
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut by_version: BTreeMap<&str, (BTreeSet<ProcId>, Vec<&Evidence>)> = BTreeMap::new();
        for f in job.versions.iter() {
            let g = by_version.entry(f.data.as_str()).or_default();
            g.0.insert(f.proc);
            g.1.push(&f.ev);
        }
        // NCCL itself detects a mismatch at bootstrap (2.x: `Mismatched NCCL version`).
        let detected: Vec<&Evidence> = job
            .warns
            .iter()
            .filter(|f| f.data.message.contains("ismatched NCCL version"))
            .map(|f| &f.ev)
            .collect();
        if by_version.len() < 2 && detected.is_empty() {
            return;
        }
        let bases: BTreeSet<&str> = by_version.keys().map(|v| v.split('+').next().unwrap_or(v)).collect();
        let (severity, what) = if bases.len() > 1 || !detected.is_empty() {
            (Severity::Critical, "different NCCL versions: ranks of one communicator must run the same NCCL")
        } else {
            (Severity::Warning, "the same NCCL version built against different CUDA toolkits")
        };
        let listing: Vec<String> =
            by_version.iter().map(|(v, g)| format!("{v} on {} process(es)", g.0.len())).collect();
        let mut f = Finding::new(self.id(), format!("The job mixes {what}: {}.", listing.join(", ")))
            .severity(severity);
        let procs: BTreeSet<ProcId> = by_version.values().flat_map(|g| g.0.iter().copied()).collect();
        f = f.hosts(job.hosts_of(procs.iter().copied())).ranks(job.ranks_of(procs.iter().copied()));
        // One line per version first, so each side of the mismatch is shown.
        for g in by_version.values() {
            if let Some(e) = g.1.first() {
                f.push_evidence(e);
            }
        }
        out.push(f.evidence(detected));
    }
}
