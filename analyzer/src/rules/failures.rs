//! Failures: why did it die or hang?
use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Rule, Seen};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::{Job, ProcId};

/// Orders processes by who failed first: by timestamp when the logs carry one, else by the
/// order of the evidence (input, then line).
fn failure_order(job: &Job, procs: impl IntoIterator<Item = ProcId>) -> Vec<(ProcId, &Evidence)> {
    let mut v: Vec<(ProcId, &Evidence)> =
        procs.into_iter().filter_map(|p| job.proc(p).first_error.as_ref().map(|e| (p, e))).collect();
    let all_timed = v.iter().all(|(p, _)| job.proc(*p).first_timestamp.is_some());
    v.sort_by(|a, b| {
        if all_timed {
            job.proc(a.0).first_timestamp.cmp(&job.proc(b.0).first_timestamp).then(a.1.cmp(b.1))
        } else {
            a.1.cmp(b.1)
        }
    });
    v
}

pub struct InitIncomplete;

impl Rule for InitIncomplete {
    fn id(&self) -> RuleId {
        RuleId::INIT_INCOMPLETE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        for comm in job.comms.values() {
            let stuck: Vec<(u32, ProcId)> = comm
                .ranks
                .iter()
                .filter(|(_, r)| r.complete.is_none())
                .map(|(rank, r)| (*rank, r.proc))
                .collect();
            if stuck.is_empty() {
                continue;
            }
            let complete = comm.ranks_complete();
            let failed: Vec<(u32, ProcId)> =
                stuck.iter().copied().filter(|(_, p)| job.proc(*p).first_error.is_some()).collect();
            // A log excerpt that simply ends during init looks like a hang. It is one when
            // peers finished (they wait for the stuck ranks) or the stuck ranks printed errors.
            let severity =
                if !failed.is_empty() || complete > 0 { Severity::Critical } else { Severity::Info };
            let name = comm.comm_id.as_deref().map_or_else(
                || format!("of {} ranks", comm.nranks),
                |id| format!("{id} ({} ranks)", comm.nranks),
            );
            let mut msg = format!(
                "Communicator {name}: {complete} of {} rank(s) seen reached Init COMPLETE; {} rank(s) started init and never completed: {}.",
                comm.ranks.len(),
                stuck.len(),
                rank_list(stuck.iter().map(|s| s.0))
            );
            if severity == Severity::Info {
                msg.push_str(" No rank completed and none printed an error: the logs may simply end during init (an excerpt); if the job hung here, this is where.");
            }
            let order = failure_order(job, failed.iter().map(|s| s.1));
            if let Some((p, e)) = order.first() {
                msg.push_str(&format!(
                    " The first to fail was {} (rank {}): open its log first (line {}).",
                    job.proc(*p).label(),
                    rank_list(job.proc(*p).world_ranks().into_iter()),
                    e.pos.line
                ));
            }
            let mut f = Finding::new(self.id(), msg)
                .severity(severity)
                .hosts(job.hosts_of(stuck.iter().map(|s| s.1)))
                .ranks(stuck.iter().map(|s| s.0));
            for (_, e) in &order {
                f.push_evidence(e);
            }
            // The last line each stuck rank printed: where it hangs.
            let lasts: BTreeSet<ProcId> = stuck.iter().map(|s| s.1).collect();
            for p in lasts {
                if let Some(e) = &job.proc(p).last_line {
                    f.push_evidence(e);
                }
            }
            out.push(f);
        }
    }
}

fn rank_list(ranks: impl Iterator<Item = u32>) -> String {
    let v: Vec<u32> = ranks.collect();
    let shown: Vec<String> = v.iter().take(16).map(u32::to_string).collect();
    if v.len() > 16 {
        format!("{} … ({} in all)", shown.join(", "), v.len())
    } else {
        shown.join(", ")
    }
}

/// Messages by which a rank says its peer went away.
const PEER_GONE: &[&str] = &[
    "remote process exited",
    "Connection closed by remote peer",
    "Connection closed by peer",
    "Connection reset by peer",
    "socketProgress: Connection closed",
];

pub(crate) fn is_peer_gone(msg: &str) -> bool {
    PEER_GONE.iter().any(|p| msg.contains(p)) || (msg.contains("Call to recv") && msg.contains("failed"))
}

pub struct RemotePeerFailed;

impl Rule for RemotePeerFailed {
    fn id(&self) -> RuleId {
        RuleId::REMOTE_PEER_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let hits: Vec<_> = job.warns.iter().filter(|f| is_peer_gone(&f.data.message)).collect();
        if hits.is_empty() {
            return;
        }
        let reporters: BTreeSet<ProcId> = hits.iter().map(|f| f.proc).collect();
        // Whoever printed an error first (among all processes) most likely failed first;
        // the reporters only saw their peer vanish.
        let order = failure_order(job, 0..job.procs.len());
        let mut msg = format!(
            "{} process(es) lost a peer (remote process exited, or the connection was closed/reset): these ranks are victims, not the cause.",
            reporters.len()
        );
        if let Some((p, e)) = order.first() {
            let ranks = job.proc(*p).world_ranks();
            let ranks = if ranks.is_empty() {
                String::new()
            } else {
                format!(" (rank {})", rank_list(ranks.into_iter()))
            };
            msg.push_str(&format!(
                " The earliest error comes from {}{ranks} at line {}: open that log first.",
                job.proc(*p).label(),
                e.pos.line
            ));
        }
        let mut f = Finding::new(self.id(), msg)
            .hosts(job.hosts_of(reporters.iter().copied()))
            .ranks(job.ranks_of(reporters.iter().copied()));
        if let Some((_, e)) = order.first() {
            f.push_evidence(e);
        }
        out.push(f.evidence(hits.iter().map(|h| &h.ev)));
    }
}

/// A message's shape: numbers, hex, addresses and quoted names folded, so the same warning
/// from 1000 ranks groups into one.
pub(crate) fn message_shape(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut in_num = false;
    for c in msg.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('#');
                in_num = true;
            }
        } else if in_num && (c.is_ascii_hexdigit() || c == 'x' || c == '.' || c == ':') {
            // Part of a hex value, an address or a version.
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

pub struct NcclWarn;

impl Rule for NcclWarn {
    fn id(&self) -> RuleId {
        RuleId::NCCL_WARN
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // Shape → (the first message of that shape, who printed it and where).
        let mut groups: BTreeMap<String, (&str, Seen<'_>)> = BTreeMap::new();
        for f in job.warns.iter() {
            let g = groups
                .entry(message_shape(&f.data.message))
                .or_insert_with(|| (&f.data.message, Seen::default()));
            g.1.add(f.proc, &f.ev);
        }
        let mut order: Vec<_> = groups.into_values().collect();
        order.sort_by_key(|g| g.1.evidence.first().map(|e| (e.input, e.pos)));
        for (first, Seen { procs, evidence, count }) in order {
            let msg = format!(
                "NCCL warned {count} time(s) on {} process(es): \"{}\"",
                procs.len(),
                first.chars().take(200).collect::<String>()
            );
            out.push(
                Finding::new(self.id(), msg)
                    .hosts(job.hosts_of(procs.iter().copied()))
                    .ranks(job.ranks_of(procs.iter().copied()))
                    .evidence(evidence),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_fold_numbers() {
        assert_eq!(
            message_shape("Connect to 10.0.0.1<43210> failed"),
            message_shape("Connect to 10.0.0.22<1> failed")
        );
        assert_eq!(message_shape("Cuda failure 'invalid argument'"), "Cuda failure 'invalid argument'");
    }
}
