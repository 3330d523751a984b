//! GPUDirect RDMA: is the fast network used well?
use std::collections::BTreeSet;

use super::{Ctx, Rule};
use crate::catalog::RuleId;
use crate::finding::{Evidence, Finding};
use crate::model::{ConnKind, ProcId};

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
        if reasons.is_empty() {
            return;
        }
        out.push(
            Finding::new(self.id(), format!("{}.", reasons.join("; ")))
                .hosts(job.hosts_of(procs.iter().copied()))
                .ranks(job.ranks_of(procs.iter().copied()))
                .evidence(evidence),
        );
    }
}
