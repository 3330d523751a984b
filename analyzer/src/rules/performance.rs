//! Performance (nccl-tests).
use super::{Ctx, Rule};
use crate::catalog::RuleId;
use crate::finding::{Evidence, Finding};

/// Multi-node busbw at or below this is TCP level (platforms.md).
pub const TCP_LEVEL_GBPS: f64 = 25.0;

pub struct BusbwTcpLevel;

impl Rule for BusbwTcpLevel {
    fn id(&self) -> RuleId {
        RuleId::BUSBW_TCP_LEVEL
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // Only where the platform should do far better: a fabric whose expected band starts
        // well above TCP level (a 100 Gbps single-NIC node tops out near TCP level anyway).
        let Some(platform) = ctx.platform.and_then(|p| p.platform) else { return };
        let Some((low, high)) = platform.expected_busbw else { return };
        if low <= 2.0 * TCP_LEVEL_GBPS {
            return;
        }
        let multi_node = ctx.job.multi_node_evidence().is_some();
        for run in &ctx.job.tests {
            if !(run.is_multi_node().unwrap_or(false) || multi_node) {
                continue;
            }
            let Some(row) = run.largest() else { continue };
            if row.busbw_gbps > TCP_LEVEL_GBPS {
                continue;
            }
            let op = run.op.as_deref().unwrap_or("collective");
            let mut f = Finding::new(
                self.id(),
                format!(
                    "{op} reaches {:.1} GB/s bus bandwidth at {} bytes on {} where {low:.0}–{high:.0} GB/s is expected: TCP level, the RDMA network is not carrying the traffic.",
                    row.busbw_gbps, row.size_bytes, platform.name
                ),
            )
            .hosts(run.hosts.iter().cloned());
            if let Some(text) = &run.largest_row_text {
                f.push_evidence(&Evidence::new(run.input, row.pos, text));
            }
            out.push(f);
        }
    }
}
