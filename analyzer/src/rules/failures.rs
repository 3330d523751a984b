//! Failures: why did it die or hang?
//!
//! The first half of this file reads failure messages (NCCL WARN lines, notable INFO and foreign
//! lines, nccl-tests failures); the second half holds the rules. [`Explainer::rule_for`] is the
//! one place that says which specific rule reports a failure line: the specific rules select
//! their lines through it, and `NCCL_WARN` leaves the WARN lines it claims to them.
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use ncclscope_parser::nccl::parse_line;
use regex::Regex;

use super::{Ctx, Rule, Seen};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::{Fact, Job, ProcId, Unwind, Warn};

use ncclscope_parser::static_regex as re;

// ---------------------------------------------------------------------------------------------
// Failure lines, wherever they were printed
// ---------------------------------------------------------------------------------------------

/// Where a failure line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// An `NCCL WARN` line.
    Warn,
    /// An NCCL INFO line kept as notable (`HINT:`, `… failed`).
    Info,
    /// A line outside NCCL's output (PyTorch, lspci, libfabric, a shell).
    Foreign,
    /// An nccl-tests failure (`Test CUDA failure common.cu:1030 '…'`).
    Tests,
}

/// A line that says something failed.
pub(crate) struct FailureLine<'a> {
    /// The NCCL process that printed it (none for foreign and nccl-tests lines).
    pub proc: Option<ProcId>,
    pub ev: Cow<'a, Evidence>,
    /// The message: NCCL's text after the marker, or the whole foreign line.
    pub text: &'a str,
    pub source: Source,
    /// The WARN's source file (`transport/nvls.cc`), when NCCL printed one.
    pub file: Option<&'a str>,
}

impl<'a> FailureLine<'a> {
    fn from_warn(f: &'a Fact<Warn>) -> Self {
        Self {
            proc: Some(f.proc),
            ev: Cow::Borrowed(&f.ev),
            text: &f.data.message,
            source: Source::Warn,
            file: f.data.file.as_deref(),
        }
    }
}

/// Every failure line of the job, in input order per source.
pub(crate) fn failure_lines(job: &Job) -> Vec<FailureLine<'_>> {
    let mut v: Vec<FailureLine<'_>> = job.warns.iter().map(FailureLine::from_warn).collect();
    v.extend(job.notable_info.iter().map(|f| FailureLine {
        proc: Some(f.proc),
        ev: Cow::Borrowed(&f.ev),
        text: &f.data,
        source: Source::Info,
        file: None,
    }));
    // Foreign lines belong to no NCCL process (the model files them under an anonymous one).
    v.extend(job.notable_other.iter().map(|f| FailureLine {
        proc: None,
        ev: Cow::Borrowed(&f.ev),
        text: &f.data,
        source: Source::Foreign,
        file: None,
    }));
    for run in &job.tests {
        for (pos, msg) in &run.failures {
            v.push(FailureLine {
                proc: None,
                ev: Cow::Owned(Evidence::new(run.input, *pos, msg)),
                text: msg,
                source: Source::Tests,
                file: None,
            });
        }
    }
    v
}

/// Says which specific rule reports a failure line: the one concept behind "this WARN is
/// already explained". Each rule of this file that reads failure lines selects them through
/// [`Explainer::rule_for`], and fires whenever it selects one, so a line claimed here is never
/// lost: `NCCL_WARN` only lists it as covered.
pub(crate) struct Explainer {
    /// Processes whose error chains pass through NCCL's NVLS transport.
    nvls_procs: BTreeSet<ProcId>,
}

impl Explainer {
    pub(crate) fn new(job: &Job) -> Self {
        let nvls_procs =
            job.unwinds.iter().filter(|u| u.data.file.contains("nvls")).map(|u| u.proc).collect();
        Self { nvls_procs }
    }

    pub(crate) fn rule_for(&self, l: &FailureLine<'_>) -> Option<RuleId> {
        let t = l.text;
        // NCCL's INFO-level retries mention resets too; a lost peer is a WARN or a failure.
        if l.source != Source::Info && is_peer_gone(t) {
            Some(RuleId::REMOTE_PEER_FAILED)
        } else if collective_mismatch(t).is_some() {
            Some(RuleId::COLLECTIVE_MISMATCH)
        } else if is_shm_failure(t) {
            Some(RuleId::SHM_EXHAUSTED)
        } else if memlock_failure(t).is_some() {
            Some(RuleId::MEMLOCK_LIMIT)
        } else if self.fabric_manager(l).is_some() {
            Some(RuleId::FABRIC_MANAGER)
        } else if kernel_load_failure(t).is_some() {
            Some(RuleId::CUDA_KERNEL_LOAD_FAILED)
        } else if l.source == Source::Warn && ib_failure(t).is_some() {
            Some(RuleId::IB_COMPLETION_ERROR)
        } else if l.source == Source::Warn {
            // WARNs the transport and version families always report.
            if super::transport::is_connect_failure(t) {
                Some(RuleId::BOOTSTRAP_IFACE_SUSPECT)
            } else if super::transport::ofi_error_strength(t) == Some(true) {
                Some(RuleId::OFI_INIT_FAILED)
            } else if super::versions::is_xml_attr_missing(t) {
                Some(RuleId::TOPO_XML_INCOMPATIBLE)
            } else {
                None
            }
        } else {
            None
        }
    }

    /// The fabric-manager symptom a line shows, if any.
    fn fabric_manager(&self, l: &FailureLine<'_>) -> Option<FmSymptom> {
        let t = l.text;
        // cudaErrorSystemNotReady (802): "system not yet initialized" — on NVSwitch systems the
        // fabric manager has not (yet) trained the NVLink fabric (NVIDIA/nccl-tests#264).
        if t.contains("system not yet initialized")
            || t.contains("SystemNotReady")
            || t.contains("SYSTEM_NOT_READY")
        {
            return Some(FmSymptom::NotReady);
        }
        // NVLS (2.17+) buffer registration fails with 'invalid argument' when the NVSwitch
        // multicast fabric is not set up (fabric manager down, restarted, or mismatched).
        if l.source == Source::Warn && t.contains("Cuda failure") && t.contains("invalid argument") {
            let in_nvls = l.file.is_some_and(|f| f.contains("nvls"))
                || l.proc.is_some_and(|p| self.nvls_procs.contains(&p));
            if in_nvls {
                return Some(FmSymptom::Nvls);
            }
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FmSymptom {
    NotReady,
    Nvls,
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

re!(PEER_ADDR, r"([^\s<>]+<\d+>)");

/// The peer a lost-peer message names (`socketProgress: Connection closed by remote peer
/// node48<37948>`, 2.16+; `Call to recv from 10.0.0.2<1234> failed`), if any.
fn peer_named(msg: &str) -> Option<&str> {
    PEER_ADDR.captures(msg).and_then(|c| c.get(1)).map(|m| m.as_str())
}

re!(MISMATCH, r"collective mismatch error, local size (\d+) remote size (\d+)");
re!(MISMATCH_PEER, r"peer (\S+) collective mismatch");

/// NET/IB's `req 0/1 tag 0 peer 10.10.23.6<58683> collective mismatch error, local size X
/// remote size Y` (net_ib.cc ncclIbIsend): this rank sends X bytes where the peer posted a
/// receive of Y.
fn collective_mismatch(msg: &str) -> Option<(u64, u64, Option<&str>)> {
    let c = MISMATCH.captures(msg)?;
    let local = c.get(1)?.as_str().parse().ok()?;
    let remote = c.get(2)?.as_str().parse().ok()?;
    let peer = MISMATCH_PEER.captures(msg).and_then(|c| c.get(1)).map(|m| m.as_str());
    Some((local, remote, peer))
}

/// NCCL could not create its /dev/shm segment: `Call to posix_fallocate failed : No space
/// left on device` (include/shm.h, ≤ 2.11), `Error: failed to extend /dev/shm/nccl-X to N
/// bytes` (misc/shmutils.cc, 2.12+), `Error while creating shared memory segment …` (both).
fn is_shm_failure(msg: &str) -> bool {
    msg.contains("posix_fallocate failed")
        || msg.contains("Error while creating shared memory segment")
        || (msg.contains("failed to extend") && msg.contains("shm"))
        || msg.contains("failed to create shared memory file")
        || msg.contains("nable to allocate shared buffer")
}

re!(SHM_SIZE, r"\(size (\d+)\)|to (\d+) bytes");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Memlock {
    /// Only the call is named (NCCL ≤ 2.x printed `Call to ibv_create_qp failed` with no
    /// errno); NCCL's troubleshooting guide names the memlock limit as its usual cause.
    Likely,
    /// The registration/creation failed with ENOMEM.
    Proven,
}

/// Verbs/libfabric calls that pin memory (as the messages name them, and as we show them).
const PINNING_CALLS: &[(&str, &str)] = &[
    ("ibv_reg_mr", "ibv_reg_mr"),
    ("ibv_reg_dmabuf_mr", "ibv_reg_dmabuf_mr"),
    ("ibv_create_cq", "ibv_create_cq"),
    ("ibv_create_qp", "ibv_create_qp"),
    ("ibv_create_srq", "ibv_create_srq"),
    ("fi_mr_reg", "fi_mr_reg"),
    // aws-ofi-nccl `NET/OFI Unable to register memory (type = 1) for device 0. RC: 12, …`.
    ("register memory", "aws-ofi-nccl memory registration"),
    // libfabric EFA `efa_mr_reg_impl(): Unable to register MR: Cannot allocate memory`.
    ("Unable to register MR", "libfabric EFA memory registration"),
];

fn pinning_call(msg: &str) -> Option<&'static str> {
    PINNING_CALLS.iter().find(|(pat, _)| msg.contains(pat)).map(|(_, shown)| *shown)
}

/// A memory registration or queue creation that failed for lack of lockable memory. Other
/// errnos (`Bad address`, `Invalid argument`: GPUDirect/ATS problems) are not this.
fn memlock_failure(msg: &str) -> Option<Memlock> {
    pinning_call(msg)?;
    if msg.contains("Cannot allocate memory") || msg.contains("ENOMEM") {
        return Some(Memlock::Proven);
    }
    let t = msg.trim_end();
    (t.ends_with("ibv_reg_mr failed") || t.ends_with("ibv_create_qp failed")).then_some(Memlock::Likely)
}

/// CUDA errors that mean a kernel of the binary cannot run on this GPU/driver.
const KERNEL_LOAD: &[&str] = &[
    "named symbol not found",
    "no kernel image is available",
    "invalid device function",
    "device kernel image is invalid",
    "compiled with an unsupported toolchain",
];

fn kernel_load_failure(msg: &str) -> Option<&'static str> {
    KERNEL_LOAD.iter().copied().find(|k| msg.contains(k))
}

// ---------------------------------------------------------------------------------------------
// NET/IB completion and async errors
// ---------------------------------------------------------------------------------------------

/// One NET/IB work completion with an error, as every NCCL generation prints it:
/// `Got completion from peer P with error N, opcode …, vendor err V` (≤ 2.19, and IB plugins
/// without the peer), `… with status=N opcode=… vendor err V (Send) localGid G remoteGidsG hca H`
/// (2.20+), `… with status=<text>(N) … vendor_err=V … hca H` (2.29+).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IbCompletion<'a> {
    pub peer: Option<&'a str>,
    pub status: Option<u32>,
    pub vendor_err: Option<u32>,
    pub hca: Option<&'a str>,
    pub local_gid: Option<&'a str>,
    pub remote_gid: Option<&'a str>,
    /// `Send`, `Recv`, `Flush`.
    pub op: Option<&'a str>,
}

/// A NET/IB failure WARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IbFailure<'a> {
    Completion(IbCompletion<'a>),
    /// `Got async event : port error` (≤ 2.28, optionally after `mlx5_0:1`), 2.29+
    /// `mlx5_0:1 Got async error event: …`.
    Async {
        dev: Option<&'a str>,
        event: &'a str,
    },
    /// 2.30 `Got CQE with error (devIndex=…)`: the line before the completion details.
    Cqe,
}

re!(
    IB_COMPLETION,
    r"Got completion(?: from peer (\S+))? with (?:error (\d+)|status=(?:(\d+)|[^()]*\((\d+)\)))"
);
re!(IB_VENDOR, r"vendor[ _]err(?:=| )(\d+)");
re!(IB_HCA, r"\bhca (\S+)");
re!(IB_LOCAL_GID, r"localGid (\S+)");
re!(IB_REMOTE_GID, r"remoteGids?\s*(\S+)");
re!(IB_OP, r"\((Send|Recv|Flush|IPut)\)");
re!(IB_ASYNC, r"(?:(\S+:\d+) )?Got async (?:error )?event ?: ?(.+)$");

pub(crate) fn ib_failure(msg: &str) -> Option<IbFailure<'_>> {
    if let Some(c) = IB_COMPLETION.captures(msg) {
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse().ok());
        let cap = |re: &Regex| re.captures(msg).and_then(|c| c.get(1)).map(|m| m.as_str());
        return Some(IbFailure::Completion(IbCompletion {
            peer: c.get(1).map(|m| m.as_str()),
            status: num(2).or(num(3)).or(num(4)),
            vendor_err: IB_VENDOR.captures(msg).and_then(|c| c.get(1)).and_then(|m| m.as_str().parse().ok()),
            hca: cap(&IB_HCA),
            local_gid: cap(&IB_LOCAL_GID),
            remote_gid: cap(&IB_REMOTE_GID),
            op: cap(&IB_OP),
        }));
    }
    if let Some(c) = IB_ASYNC.captures(msg) {
        let event = c.get(2).map_or("", |m| m.as_str().trim());
        return Some(IbFailure::Async { dev: c.get(1).map(|m| m.as_str()), event });
    }
    msg.contains("Got CQE with error").then_some(IbFailure::Cqe)
}

/// A NET/IB failure seen on a WARN line.
pub(crate) struct IbEvent<'a> {
    pub proc: ProcId,
    pub ev: &'a Evidence,
    pub failure: IbFailure<'a>,
}

/// Every NET/IB completion/async failure WARN of the job.
pub(crate) fn ib_events(job: &Job) -> Vec<IbEvent<'_>> {
    job.warns
        .iter()
        .filter_map(|f| {
            ib_failure(&f.data.message).map(|failure| IbEvent { proc: f.proc, ev: &f.ev, failure })
        })
        .collect()
}

/// `enum ibv_wc_status` (libibverbs verbs.h): name and what it means for a NCCL job.
pub(crate) fn wc_status(status: u32) -> (&'static str, &'static str) {
    match status {
        1 => ("IBV_WC_LOC_LEN_ERR", "local length error"),
        2 => ("IBV_WC_LOC_QP_OP_ERR", "local QP operation error"),
        4 => (
            "IBV_WC_LOC_PROT_ERR",
            "local protection error: the NIC could not access the registered buffer; with GPUDirect RDMA this is usually PCIe ACS/IOMMU redirecting peer-to-peer traffic, or a peermem/DMA-BUF problem",
        ),
        5 => (
            "IBV_WC_WR_FLUSH_ERR",
            "work request flushed: the queue pair was already in error, a consequence of an earlier error",
        ),
        7 => ("IBV_WC_BAD_RESP_ERR", "bad response from the peer"),
        8 => ("IBV_WC_LOC_ACCESS_ERR", "local access error"),
        9 => (
            "IBV_WC_REM_INV_REQ_ERR",
            "remote invalid request: the peer rejected the request (its queue pair failed or its memory key is gone)",
        ),
        10 => ("IBV_WC_REM_ACCESS_ERR", "remote access error: the peer's memory key or permissions"),
        11 => ("IBV_WC_REM_OP_ERR", "remote operation error"),
        12 => (
            "IBV_WC_RETRY_EXC_ERR",
            "transport retry counter exceeded: the peer never acknowledged (link down or flapping, peer process dead, congestion beyond NCCL_IB_TIMEOUT, or on RoCE an unroutable GID)",
        ),
        13 => ("IBV_WC_RNR_RETRY_EXC_ERR", "receiver-not-ready retry counter exceeded"),
        16 => ("IBV_WC_REM_ABORT_ERR", "remote aborted"),
        19 => ("IBV_WC_FATAL_ERR", "fatal error"),
        20 => ("IBV_WC_RESP_TIMEOUT_ERR", "response timeout"),
        21 => ("IBV_WC_GENERAL_ERR", "general error"),
        _ => ("", "see enum ibv_wc_status"),
    }
}

/// What an async event means.
fn async_meaning(event: &str) -> &'static str {
    if event.contains("port error") {
        "the HCA port went down (link flap, cable or transceiver, switch port): check `ibstat` and the switch logs"
    } else if event.contains("access violation") {
        "IBV_EVENT_QP_ACCESS_ERR: the NIC accessed memory it was not allowed to (memory registration or the GPUDirect path: ACS/IOMMU, peermem)"
    } else if event.contains("catastrophic") || event.contains("fatal") {
        "the HCA reported a fatal error: reset or replace the adapter"
    } else {
        "an asynchronous HCA error"
    }
}

/// A RoCEv2 GID bound to an IP address is routable, so the GID index is not the problem: an
/// IPv4-mapped GID (`::ffff:192.168.6.3`) or a global IPv6 one. The RoCEv1 / link-local GID
/// (`fe80::…`, index 0 on most NICs) is not.
fn is_routable_gid(gid: &str) -> bool {
    let g = gid.trim_start_matches('[');
    g.starts_with("::ffff:")
        || (g.contains(':') && !g.starts_with("fe80") && g != "::" && !g.starts_with("::0"))
}

// ---------------------------------------------------------------------------------------------
// Who failed first, where each rank stopped
// ---------------------------------------------------------------------------------------------

/// The message of a line NCCL printed (after the marker), else the trimmed line.
fn msg_of(text: &str) -> &str {
    parse_line(text).map_or_else(|| text.trim(), |l| l.message)
}

/// NCCL's thread id on a line (`host:pid:tid`).
fn tid_of(text: &str) -> Option<u32> {
    parse_line(text).and_then(|l| l.header.tid)
}

/// The timestamp a line carries (NCCL 2.26+ `[%F %T]` on WARN lines, ISO shipper prefixes),
/// normalized so that string order is time order.
fn timestamp_of(text: &str) -> Option<String> {
    let l = parse_line(text)?;
    l.launcher.timestamp.map(|t| t.replacen('T', " ", 1).replace(',', "."))
}

/// Processes ordered by who failed first.
struct FailureOrder<'a> {
    /// (process, its first error line, that line's timestamp).
    list: Vec<(ProcId, &'a Evidence, Option<String>)>,
    by_time: bool,
}

/// Orders processes by who failed first: by the timestamp of their first error when every one
/// carries one, else by the order of the evidence (input, then line). NCCL 2.26+ stamps only
/// WARN lines by default, so a process whose first error is an unwind line is timed by its
/// first stamped WARN.
fn failure_order(job: &Job, procs: impl IntoIterator<Item = ProcId>) -> FailureOrder<'_> {
    let procs: BTreeSet<ProcId> = procs.into_iter().collect();
    let mut warn_ts: BTreeMap<ProcId, String> = BTreeMap::new();
    for f in job.warns.iter().filter(|f| procs.contains(&f.proc)) {
        if let Some(t) = f.data.timestamp.as_deref() {
            let t = t.replacen('T', " ", 1).replace(',', ".");
            let e = warn_ts.entry(f.proc).or_insert_with(|| t.clone());
            if t < *e {
                *e = t;
            }
        }
    }
    let mut list: Vec<(ProcId, &Evidence, Option<String>)> = procs
        .iter()
        .filter_map(|p| {
            let e = job.proc(*p).first_error.as_ref()?;
            Some((*p, e, timestamp_of(&e.text).or_else(|| warn_ts.get(p).cloned())))
        })
        .collect();
    let by_time = !list.is_empty() && list.iter().all(|x| x.2.is_some());
    if by_time {
        list.sort_by(|a, b| a.2.cmp(&b.2).then(a.1.cmp(b.1)));
    } else {
        list.sort_by(|a, b| a.1.cmp(b.1));
    }
    FailureOrder { list, by_time }
}

impl FailureOrder<'_> {
    /// "The first to fail (by timestamp) was host:pid (rank 3) at …, line N: "…"".
    fn first_sentence(&self, job: &Job, what: &str) -> Option<String> {
        let (p, e, ts) = self.list.first()?;
        let inputs: BTreeSet<_> = self.list.iter().map(|x| x.1.input).collect();
        let basis = if self.by_time {
            "by timestamp"
        } else if inputs.len() > 1 {
            "by line order; the lines carry no timestamps, so the order across files is a guess"
        } else {
            "by line order"
        };
        let when = match ts {
            Some(t) if self.by_time => format!(" at {t}"),
            _ => String::new(),
        };
        Some(format!(
            "{what} ({basis}) was {}{when}, line {}: \"{}\": open its log first.",
            who(job, *p),
            e.pos.line,
            cut(msg_of(&e.text), 140)
        ))
    }
}

/// Groups processes by the shape of the last line they printed: where each one stopped.
/// Returns the sentence and one evidence line per group.
fn last_lines<'a>(job: &'a Job, procs: &[(ProcId, Vec<u32>)]) -> (String, Vec<&'a Evidence>) {
    // Shape → (ranks, processes, an example process and its line).
    type Group<'a> = (Vec<u32>, usize, ProcId, &'a Evidence);
    let mut groups: BTreeMap<String, Group<'a>> = BTreeMap::new();
    for (p, ranks) in procs {
        if let Some(ev) = &job.proc(*p).last_line {
            let g = groups.entry(message_shape(msg_of(&ev.text))).or_insert_with(|| (Vec::new(), 0, *p, ev));
            g.0.extend(ranks);
            g.1 += 1;
        }
    }
    let mut groups: Vec<_> = groups.into_values().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.3.cmp(b.3)));
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = groups
        .iter()
        .take(SHOWN)
        .map(|(ranks, n, p, ev)| {
            let who = if ranks.is_empty() {
                format!("{n} process(es)")
            } else {
                format!("{n} process(es) (rank {})", rank_ranges(ranks.iter().copied()))
            };
            format!(
                "{who} last printed \"{}\" (e.g. {}, line {})",
                cut(msg_of(&ev.text), 90),
                job.proc(*p).label(),
                ev.pos.line
            )
        })
        .collect();
    if groups.len() > SHOWN {
        let rest: usize = groups.iter().skip(SHOWN).map(|g| g.1).sum();
        parts.push(format!(
            "{rest} more process(es) stopped on {} other kind(s) of line",
            groups.len() - SHOWN
        ));
    }
    (parts.join("; "), groups.iter().map(|g| g.3).collect())
}

/// A process as the user finds its log: `host:pid (rank 3)`; a line without NCCL's header
/// or a launcher rank (a pasted WARN) names no process: `the process at line N`.
fn who(job: &Job, p: ProcId) -> String {
    let proc = job.proc(p);
    let ranks = proc.world_ranks();
    let label = if proc.host.is_none() && proc.launcher_rank.is_none() {
        proc.first_line
            .as_ref()
            .map_or_else(|| proc.label(), |e| format!("the process at line {}", e.pos.line))
    } else {
        proc.label()
    };
    if ranks.is_empty() {
        label
    } else {
        format!("{label} (rank {})", rank_ranges(ranks))
    }
}

/// Up to `n` processes by [`who`], then a count.
fn who_list(job: &Job, procs: &BTreeSet<ProcId>, n: usize) -> String {
    let mut v: Vec<String> = procs.iter().take(n).map(|p| who(job, *p)).collect();
    if procs.len() > n {
        v.push(format!("… {} in all", procs.len()));
    }
    v.join(", ")
}

/// `0-13, 15, 17-20`: ranks as ranges, readable for 1000 ranks.
fn rank_ranges(ranks: impl IntoIterator<Item = u32>) -> String {
    let mut v: Vec<u32> = ranks.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && end.checked_add(1) == Some(v[i + 1]) {
            i += 1;
            end = v[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    const SHOWN: usize = 12;
    if parts.len() > SHOWN {
        format!("{} … ({} in all)", parts[..SHOWN].join(", "), v.len())
    } else {
        parts.join(", ")
    }
}

/// The first `n` characters of `s`, with `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
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

/// `ncclResult_t` as printed at the end of an unwind line (`file.cc:N -> code`).
fn nccl_result(code: u32) -> &'static str {
    match code {
        1 => "ncclUnhandledCudaError: a CUDA call failed",
        2 => "ncclSystemError: a system call or external library failed (socket, memory, /dev/shm, a plugin)",
        3 => "ncclInternalError: an internal inconsistency (often topology or plugin related)",
        4 => "ncclInvalidArgument: an invalid argument was passed to NCCL",
        5 => "ncclInvalidUsage: the application used NCCL incorrectly (e.g. ranks calling different collectives)",
        6 => "ncclRemoteError: a peer or the network failed (2.13+)",
        7 => "ncclInProgress: a non-blocking operation had not completed",
        _ => "unknown ncclResult_t",
    }
}

/// Traffic that completed before `ev` in its input: nccl-tests result rows printed earlier.
/// Errors after results were printed are intermittent, not a setup problem.
fn traffic_before(job: &Job, ev: &Evidence) -> Option<String> {
    let rows: usize = job
        .tests
        .iter()
        .filter(|r| r.input == ev.input)
        .map(|r| r.rows.iter().filter(|row| row.pos.line < ev.pos.line).count())
        .sum();
    (rows > 0).then(|| format!("{rows} nccl-tests result row(s) were printed before it"))
}

/// Whether the job runs on EFA: aws-ofi-nccl selected the efa provider, or (when no provider
/// line survives) an EFA platform or the AWS Libfabric net plugin is in use. aws-ofi-nccl also
/// drives other providers (Slingshot `cxi`), where this is no evidence of EFA.
fn efa_in_use(ctx: &Ctx<'_>) -> bool {
    let job = ctx.job;
    if !job.ofi_provider.is_empty() {
        return job.ofi_provider.iter().any(|f| f.data.0.to_ascii_lowercase().contains("efa"));
    }
    ctx.is_efa_platform() || job.using_network.iter().any(|f| f.data.contains("Libfabric"))
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// The failure lines a rule reports, selected through the [`Explainer`].
fn lines_for(job: &Job, id: RuleId) -> Vec<FailureLine<'_>> {
    let ex = Explainer::new(job);
    failure_lines(job).into_iter().filter(|l| ex.rule_for(l) == Some(id)).collect()
}

/// The NCCL processes among `lines`.
fn procs_of(lines: &[FailureLine<'_>]) -> BTreeSet<ProcId> {
    lines.iter().filter_map(|l| l.proc).collect()
}

/// "on 3 process(es) (host-a, host-b)".
fn where_(job: &Job, procs: &BTreeSet<ProcId>) -> String {
    if procs.is_empty() {
        return String::new();
    }
    let hosts = job.hosts_of(procs.iter().copied());
    if hosts.is_empty() {
        format!(" on {} process(es)", procs.len())
    } else {
        format!(" on {} process(es) ({})", procs.len(), crate::model::short_list(&hosts, 4))
    }
}

fn finding_for<'a>(
    job: &Job,
    id: RuleId,
    msg: String,
    procs: &BTreeSet<ProcId>,
    evidence: impl IntoIterator<Item = &'a Evidence>,
) -> Finding {
    Finding::new(id, msg).affecting(job, procs.iter().copied()).evidence(evidence)
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
            let mut by_proc: BTreeMap<ProcId, Vec<u32>> = BTreeMap::new();
            for (rank, p) in &stuck {
                by_proc.entry(*p).or_default().push(*rank);
            }
            let failed: Vec<ProcId> =
                by_proc.keys().copied().filter(|p| job.proc(*p).first_error.is_some()).collect();
            // A log excerpt that simply ends during init looks like a hang. It is one when
            // peers finished (they wait for the stuck ranks) or the stuck ranks printed errors.
            let severity =
                if !failed.is_empty() || complete > 0 { Severity::Critical } else { Severity::Info };
            let name = comm.comm_id.as_deref().map_or_else(
                || format!("of {} ranks", comm.nranks),
                |id| format!("{id} ({} ranks)", comm.nranks),
            );
            let mut msg = format!(
                "Communicator {name}: {complete} of {} rank(s) seen reached Init COMPLETE; {} started init and never completed (rank {}).",
                comm.ranks.len(),
                stuck.len(),
                rank_ranges(stuck.iter().map(|s| s.0))
            );
            // Ranks that print nothing at all: their logs are missing, or they never started.
            if comm.nranks as usize > comm.ranks.len() && comm.nranks <= 1 << 20 {
                let unseen: Vec<u32> = (0..comm.nranks).filter(|r| !comm.ranks.contains_key(r)).collect();
                msg.push_str(&format!(
                    " {} rank(s) print nothing in these logs (rank {}): their logs are missing, or they never reached init.",
                    unseen.len(),
                    rank_ranges(unseen)
                ));
            }
            let (stopped, lasts) = last_lines(job, &by_proc.into_iter().collect::<Vec<_>>());
            if !stopped.is_empty() {
                msg.push_str(&format!(" Where the stuck ranks stopped: {stopped}."));
            }
            if severity == Severity::Info {
                msg.push_str(" No rank completed and none printed an error: the logs may simply end during init (an excerpt); if the job hung here, this is where.");
            }
            let order = failure_order(job, failed.iter().copied());
            if let Some(s) = order.first_sentence(job, "The first stuck rank to fail") {
                msg.push(' ');
                msg.push_str(&s);
            } else if severity == Severity::Critical {
                msg.push_str(" None of the stuck ranks printed an error: they wait for a peer. Look for the rank that never started init or died (its log, the scheduler), then at the bootstrap interface and firewall.");
            }
            let mut f = Finding::new(self.id(), msg)
                .severity(severity)
                .hosts(job.hosts_of(stuck.iter().map(|s| s.1)))
                .ranks(stuck.iter().map(|s| s.0));
            if let Some((_, e, _)) = order.list.first() {
                f.push_evidence(e);
            }
            for e in lasts {
                f.push_evidence(e);
            }
            out.push(f);
        }
    }
}

pub struct RemotePeerFailed;

impl Rule for RemotePeerFailed {
    fn id(&self) -> RuleId {
        RuleId::REMOTE_PEER_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let hits = lines_for(job, self.id());
        if hits.is_empty() {
            return;
        }
        let reporters = procs_of(&hits);
        let mut shapes: BTreeMap<String, (&str, usize)> = BTreeMap::new();
        for l in &hits {
            shapes.entry(message_shape(l.text)).or_insert((l.text, 0)).1 += 1;
        }
        let mut shapes: Vec<_> = shapes.into_values().collect();
        shapes.sort_by_key(|s| std::cmp::Reverse(s.1));
        let said: Vec<String> =
            shapes.iter().take(3).map(|(m, n)| format!("\"{}\" ×{n}", cut(m, 100))).collect();
        let who_lost = if reporters.is_empty() {
            "The job".to_string()
        } else {
            let hosts = job.hosts_of(reporters.iter().copied());
            if hosts.is_empty() {
                format!("{} process(es)", reporters.len())
            } else {
                format!(
                    "{} process(es) on {} host(s) ({})",
                    reporters.len(),
                    hosts.len(),
                    crate::model::short_list(&hosts, 4)
                )
            }
        };
        let mut msg = format!(
            "{who_lost} lost a peer: {}. The ranks reporting this are victims: the peer died or the network dropped.",
            said.join(", ")
        );
        // Peers by host (each socket has its own port): the side that went away.
        let mut peers: BTreeMap<&str, usize> = BTreeMap::new();
        for l in &hits {
            if let Some(p) = peer_named(l.text) {
                *peers.entry(p.split('<').next().unwrap_or(p)).or_default() += 1;
            }
        }
        if !peers.is_empty() {
            let mut shown: Vec<(&str, usize)> = peers.iter().map(|(h, n)| (*h, *n)).collect();
            shown.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
            let list: Vec<String> =
                shown.iter().take(6).map(|(h, n)| format!("{h} ({n} report(s))")).collect();
            let more =
                if shown.len() > 6 { format!(" … ({} peers in all)", shown.len()) } else { String::new() };
            msg.push_str(&format!(
                " Peer(s) named as gone: {}{more}: the failure is on their side.",
                list.join(", ")
            ));
        }
        // Reporters that printed something else afterwards (a hang, a retry): where they stopped.
        let moved_on: Vec<(ProcId, Vec<u32>)> = reporters
            .iter()
            .filter(|p| job.proc(**p).last_line.as_ref().is_some_and(|e| !is_peer_gone(msg_of(&e.text))))
            .map(|p| (*p, job.proc(*p).world_ranks()))
            .collect();
        if !moved_on.is_empty() {
            let (stopped, _) = last_lines(job, &moved_on);
            msg.push_str(&format!(" After the report, {stopped}."));
        }
        // Whoever printed an error of its own first most likely failed first; a process whose
        // first error is itself a lost-peer report only saw its peer vanish.
        let candidates = (0..job.procs.len())
            .filter(|p| job.proc(*p).first_error.as_ref().is_some_and(|e| !is_peer_gone(msg_of(&e.text))));
        let order = failure_order(job, candidates);
        match order.first_sentence(job, "The earliest error that is not a lost-peer report") {
            Some(s) => {
                msg.push(' ');
                msg.push_str(&s);
            }
            None => msg.push_str(
                " No process in these logs shows an error of its own: the log of the rank that failed is not among the inputs. Open the named peers' logs, and check the scheduler for an OOM kill, a node failure or a rank that exited early.",
            ),
        }
        // Ranks tearing down at different times see their peers close sockets: after an
        // nccl-tests run printed its footer, a lost peer is the end of the job, not a failure.
        let teardown = hits.iter().all(|h| {
            job.tests.iter().any(|r| {
                r.input == h.ev.input && r.completed && r.avg_pos.is_some_and(|p| p.line < h.ev.pos.line)
            })
        });
        let severity = if teardown {
            msg.push_str(" Every such line comes after the nccl-tests run completed: ranks closing at different times, not a failure of the run.");
            Severity::Info
        } else {
            Severity::Critical
        };
        let mut f = Finding::new(self.id(), msg).severity(severity).affecting(job, reporters.iter().copied());
        if let Some((_, e, _)) = order.list.first() {
            f.push_evidence(e);
        }
        out.push(f.evidence(hits.iter().map(|h| h.ev.as_ref())));
    }
}

pub struct ShmExhausted;

impl Rule for ShmExhausted {
    fn id(&self) -> RuleId {
        RuleId::SHM_EXHAUSTED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let hits = lines_for(job, self.id());
        if hits.is_empty() {
            return;
        }
        let procs = procs_of(&hits);
        let size: Option<u64> = hits
            .iter()
            .filter_map(|l| SHM_SIZE.captures(l.text))
            .filter_map(|c| c.get(1).or(c.get(2)).and_then(|m| m.as_str().parse().ok()))
            .max();
        let reason = if hits.iter().any(|l| l.text.contains("No space left")) {
            "No space left on device: /dev/shm is full or too small"
        } else {
            "/dev/shm could not hold the segment"
        };
        let size = size.map_or_else(String::new, |s| {
            format!(
                " Each shared-memory connection needs a segment of about {:.1} MiB, and a container's default /dev/shm is 64 MiB.",
                s as f64 / (1024.0 * 1024.0)
            )
        });
        let msg = format!(
            "NCCL could not create its shared-memory segment{}: {reason}.{size} Communicator init fails on the ranks that share this node.",
            where_(job, &procs)
        );
        out.push(finding_for(job, self.id(), msg, &procs, hits.iter().map(|l| l.ev.as_ref())));
    }
}

pub struct MemlockLimit;

impl Rule for MemlockLimit {
    fn id(&self) -> RuleId {
        RuleId::MEMLOCK_LIMIT
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let hits = lines_for(job, self.id());
        let Some(kind) = hits.iter().filter_map(|l| memlock_failure(l.text)).max() else { return };
        let procs = procs_of(&hits);
        let calls: BTreeSet<&str> = hits.iter().filter_map(|l| pinning_call(l.text)).collect();
        let calls = calls.into_iter().collect::<Vec<_>>().join(", ");
        let (severity, msg) = match kind {
            Memlock::Proven => {
                let efa = hits.iter().any(|l| {
                    l.text.contains("NET/OFI") || l.text.contains("fi_mr_reg") || l.text.contains("Unable to register MR")
                });
                (
                    Severity::Critical,
                    format!(
                        "Pinning memory for RDMA failed with ENOMEM ({calls}){}: the locked-memory limit (ulimit -l, RLIMIT_MEMLOCK) is too low for the buffers NCCL registers with the NIC.{}",
                        where_(job, &procs),
                        if efa {
                            " On EFA, libfabric registers through the same limit (and the device caps registered pages: huge pages help)."
                        } else {
                            ""
                        }
                    ),
                )
            }
            Memlock::Likely => (
                Severity::Warning,
                format!(
                    "NCCL could not create an RDMA resource ({calls} failed){}. This NCCL version prints no errno, so the cause is not proven; NCCL's troubleshooting guide names the locked-memory limit as the usual one: check `ulimit -l` inside the job.",
                    where_(job, &procs)
                ),
            ),
        };
        out.push(
            finding_for(job, self.id(), msg, &procs, hits.iter().map(|l| l.ev.as_ref())).severity(severity),
        );
    }
}

/// Whether status-12 (transport retry exceeded) errors on RoCE point at the GID index.
enum RoceCheck<'a> {
    /// No status 12, or nothing shows RoCE.
    NotApplicable,
    /// The GIDs NCCL printed are IPv4-mapped RoCEv2 addresses: routable, so not the GID.
    GidRoutable(&'a str),
    /// Results were printed before the first error: the link worked, then failed.
    AfterTraffic,
    Suspect {
        retry: Vec<&'a IbEvent<'a>>,
        roce: Vec<&'a Evidence>,
        devices: BTreeSet<&'a str>,
        link_local: Option<&'a str>,
    },
}

fn roce_check<'a>(job: &'a Job, events: &'a [IbEvent<'a>]) -> RoceCheck<'a> {
    let retry: Vec<&IbEvent<'_>> = events
        .iter()
        .filter(|e| matches!(&e.failure, IbFailure::Completion(c) if c.status == Some(12)))
        .collect();
    let completion = |e: &&'a IbEvent<'a>| match &e.failure {
        IbFailure::Completion(c) => Some(c.clone()),
        _ => None,
    };
    let comps: Vec<IbCompletion<'a>> = retry.iter().filter_map(completion).collect();
    if comps.is_empty() {
        return RoceCheck::NotApplicable;
    }
    // NCCL prints localGid/remoteGids only for an Ethernet link layer (net_ib.cc): RoCE.
    let gid_shown = comps.iter().any(|c| c.local_gid.is_some());
    let mut devices: BTreeSet<&str> = BTreeSet::new();
    let mut roce: Vec<&Evidence> = Vec::new();
    for f in job.ib_devices.iter() {
        let names: Vec<&str> = f
            .data
            .iter()
            .filter(|d| d.link_layer.eq_ignore_ascii_case("roce"))
            .map(|d| d.name.as_str())
            .collect();
        if !names.is_empty() {
            devices.extend(names);
            roce.push(&f.ev);
        }
    }
    if devices.is_empty() && !gid_shown {
        return RoceCheck::NotApplicable;
    }
    if let Some(g) =
        comps.iter().flat_map(|c| [c.local_gid, c.remote_gid]).flatten().find(|g| is_routable_gid(g))
    {
        return RoceCheck::GidRoutable(g);
    }
    if let Some(first) = retry.iter().map(|e| e.ev).min() {
        if traffic_before(job, first).is_some() {
            return RoceCheck::AfterTraffic;
        }
    }
    let link_local = comps.iter().filter_map(|c| c.local_gid).find(|g| g.starts_with("fe80"));
    RoceCheck::Suspect { retry, roce, devices, link_local }
}

pub struct RoceGidSuspect;

impl Rule for RoceGidSuspect {
    fn id(&self) -> RuleId {
        RuleId::ROCE_GID_SUSPECT
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let events = ib_events(job);
        let RoceCheck::Suspect { retry, roce, devices, link_local } = roce_check(job, &events) else {
            return;
        };
        let procs: BTreeSet<ProcId> = retry.iter().map(|e| e.proc).collect();
        let gid_env = job.env.iter().find(|f| f.data.0 == "NCCL_IB_GID_INDEX");
        let dev_text = if devices.is_empty() {
            "RoCE (NCCL printed GIDs, which it does only for an Ethernet link layer)".to_string()
        } else {
            format!("RoCE device(s) {}", devices.iter().copied().collect::<Vec<_>>().join(", "))
        };
        let gid_text = match (link_local, gid_env) {
            (Some(g), _) => format!(" The local GID {g} is link-local: it is not routed between subnets."),
            (None, Some(f)) => format!(" NCCL_IB_GID_INDEX is set to {}.", f.data.1),
            (None, None) => " NCCL_IB_GID_INDEX is not echoed: NCCL picked the GID itself (index 0, the RoCEv1/link-local GID, on older versions).".to_string(),
        };
        let msg = format!(
            "{dev_text} in use, and {} completion(s) failed with status 12 (transport retry counter exceeded){} before any result was printed: the NICs never heard back from their peers. On RoCE at first traffic this is the signature of a GID index that selects a GID the network does not route (RoCEv1, link-local, wrong VLAN or IP).{gid_text}",
            retry.len(),
            where_(job, &procs)
        );
        let mut f = finding_for(job, self.id(), msg, &procs, retry.iter().map(|e| e.ev));
        for e in roce.into_iter().take(2).chain(gid_env.map(|f| &f.ev)) {
            f.push_evidence(e);
        }
        out.push(f);
    }
}

pub struct IbCompletionError;

impl Rule for IbCompletionError {
    fn id(&self) -> RuleId {
        RuleId::IB_COMPLETION_ERROR
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let events = ib_events(job);
        if events.is_empty() {
            return;
        }
        let procs: BTreeSet<ProcId> = events.iter().map(|e| e.proc).collect();
        let mut by_status: BTreeMap<Option<u32>, Vec<(&IbEvent<'_>, &IbCompletion<'_>)>> = BTreeMap::new();
        let mut by_async: BTreeMap<&str, Vec<(&IbEvent<'_>, Option<&str>)>> = BTreeMap::new();
        for e in &events {
            match &e.failure {
                IbFailure::Completion(c) => by_status.entry(c.status).or_default().push((e, c)),
                IbFailure::Async { dev, event } => by_async.entry(event).or_default().push((e, *dev)),
                IbFailure::Cqe => {}
            }
        }
        let mut parts: Vec<String> = Vec::new();
        // The cause first: status 5 (flushed) only follows another error on the queue pair.
        let mut statuses: Vec<_> = by_status.iter().collect();
        statuses.sort_by_key(|(s, _)| (**s == Some(5), **s));
        for (status, list) in statuses {
            let ps: BTreeSet<ProcId> = list.iter().map(|(e, _)| e.proc).collect();
            let what = match status {
                Some(s) => {
                    let (name, meaning) = wc_status(*s);
                    if name.is_empty() {
                        format!("status {s} ({meaning})")
                    } else {
                        format!("status {s} = {name} ({meaning})")
                    }
                }
                None => "completion error".to_string(),
            };
            let hcas: BTreeSet<&str> = list.iter().filter_map(|(_, c)| c.hca).collect();
            let peers: BTreeSet<&str> = list.iter().filter_map(|(_, c)| c.peer).collect();
            let vendor: BTreeSet<u32> = list.iter().filter_map(|(_, c)| c.vendor_err).collect();
            let mut p = format!("{what} ×{}{}", list.len(), where_(job, &ps));
            if !hcas.is_empty() {
                p.push_str(&format!(", HCA {}", hcas.into_iter().collect::<Vec<_>>().join(", ")));
            }
            if !peers.is_empty() {
                let shown: Vec<&str> = peers.iter().copied().take(4).collect();
                let more =
                    if peers.len() > 4 { format!(" … ({} in all)", peers.len()) } else { String::new() };
                p.push_str(&format!(", peer {}{more}", shown.join(", ")));
            }
            if !vendor.is_empty() {
                let v: Vec<String> = vendor.iter().map(|v| format!("{v} (0x{v:x})")).collect();
                p.push_str(&format!(", vendor err {}", v.join(", ")));
            }
            parts.push(p);
        }
        for (event, list) in &by_async {
            let ps: BTreeSet<ProcId> = list.iter().map(|(e, _)| e.proc).collect();
            let devs: BTreeSet<&str> = list.iter().filter_map(|(_, d)| *d).collect();
            let devs = if devs.is_empty() {
                String::new()
            } else {
                format!(", device {}", devs.into_iter().collect::<Vec<_>>().join(", "))
            };
            parts.push(format!(
                "async event \"{event}\" ×{}{}{devs}: {}",
                list.len(),
                where_(job, &ps),
                async_meaning(event)
            ));
        }
        if parts.is_empty() {
            parts.push(format!("{} work completion(s) with error", events.len()));
        }
        let mut msg = format!("NET/IB reported errors: {}.", parts.join("; "));
        let statuses: BTreeSet<u32> = by_status.keys().flatten().copied().collect();
        if statuses.contains(&5) && statuses.len() > 1 {
            msg.push_str(
                " Status 5 only follows the first error on a queue pair: the other status is the cause.",
            );
        }
        let timed: Vec<(Option<String>, &IbEvent<'_>)> =
            events.iter().map(|e| (timestamp_of(&e.ev.text), e)).collect();
        let first = if timed.iter().all(|t| t.0.is_some()) {
            timed.iter().min_by(|a, b| a.0.cmp(&b.0).then(a.1.ev.cmp(b.1.ev)))
        } else {
            timed.iter().min_by(|a, b| a.1.ev.cmp(b.1.ev))
        };
        if let Some((_, e)) = first {
            msg.push_str(&format!(" First: {}, line {}.", who(job, e.proc), e.ev.pos.line));
            if let Some(t) = traffic_before(job, e.ev) {
                msg.push_str(&format!(
                    " The errors began after traffic had flowed ({t}): a link or fabric problem (flapping port, cable, switch, congestion) rather than configuration."
                ));
            }
        }
        match roce_check(job, &events) {
            RoceCheck::GidRoutable(g) => msg.push_str(&format!(
                " The RoCE GIDs are routable RoCEv2 addresses ({g}): the GID index is sound, look at the network path (PFC/ECN, MTU, link flaps) and the peer."
            )),
            RoceCheck::Suspect { .. } => {
                msg.push_str(" On RoCE with no traffic before the first error, see ROCE_GID_SUSPECT.")
            }
            RoceCheck::AfterTraffic | RoceCheck::NotApplicable => {}
        }
        // NCCL 2.30 prints its own diagnosis after a completion error.
        let hints: Vec<&Fact<String>> =
            job.notable_info.iter().filter(|f| f.data.contains("HINT:")).collect();
        let mut hint_texts: Vec<&str> = Vec::new();
        for h in &hints {
            if !hint_texts.contains(&h.data.as_str()) {
                hint_texts.push(&h.data);
            }
        }
        if !hint_texts.is_empty() {
            let shown: Vec<String> =
                hint_texts.iter().take(2).map(|h| format!("\"{}\"", cut(h, 160))).collect();
            msg.push_str(&format!(" NCCL's own hint: {}.", shown.join(" ")));
        }
        if statuses.contains(&4) {
            let (redirect, total) = super::gdr::acs_redirect_lines(job);
            if total > 0 && redirect.is_empty() {
                msg.push_str(&format!(
                    " The {total} lspci ACSCtl line(s) in the input show P2P redirection off, so look at GPUDirect RDMA itself (nvidia-peermem/DMA-BUF, NCCL_NET_GDR_LEVEL) and the IOMMU."
                ));
            }
        }
        let mut f = finding_for(job, self.id(), msg, &procs, events.iter().map(|e| e.ev));
        for h in hints.iter().take(2) {
            f.push_evidence(&h.ev);
        }
        out.push(f);
    }
}

pub struct FabricManager;

impl Rule for FabricManager {
    fn id(&self) -> RuleId {
        RuleId::FABRIC_MANAGER
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let ex = Explainer::new(job);
        let hits: Vec<(FailureLine<'_>, FmSymptom)> = failure_lines(job)
            .into_iter()
            .filter(|l| ex.rule_for(l) == Some(self.id()))
            .filter_map(|l| ex.fabric_manager(&l).map(|s| (l, s)))
            .collect();
        if hits.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        for symptom in [FmSymptom::NotReady, FmSymptom::Nvls] {
            let these: Vec<&FailureLine<'_>> = hits.iter().filter(|h| h.1 == symptom).map(|h| &h.0).collect();
            if these.is_empty() {
                continue;
            }
            let procs: BTreeSet<ProcId> = these.iter().filter_map(|l| l.proc).collect();
            let n = these.len();
            parts.push(match symptom {
                FmSymptom::NotReady => format!(
                    "CUDA reports \"system not yet initialized\" (cudaErrorSystemNotReady, 802) ×{n}{}: on NVSwitch systems (HGX/DGX) the fabric manager has not initialized the NVLink fabric",
                    where_(job, &procs)
                ),
                FmSymptom::Nvls => format!(
                    "NVLS (NVLink SHARP multicast) setup failed with Cuda failure 'invalid argument' ×{n}{}: the NVSwitch multicast fabric is not usable (NCCL_NVLS_ENABLE=0 avoids it until the fabric is fixed)",
                    where_(job, &procs)
                ),
            });
        }
        let procs: BTreeSet<ProcId> = hits.iter().filter_map(|h| h.0.proc).collect();
        let msg = format!(
            "{}. nvidia-fabricmanager is not running, failed, was restarted under a running driver, or does not match the driver version: check `systemctl status nvidia-fabricmanager` and `nvidia-smi -q | grep -i fabric`.",
            parts.join("; ")
        );
        let mut f = finding_for(job, self.id(), msg, &procs, hits.iter().map(|h| h.0.ev.as_ref()));
        // The NVLS frame of the error chain, when the WARN's own file does not show it.
        if let Some(u) = job.unwinds.iter().find(|u| u.data.file.contains("nvls") && procs.contains(&u.proc))
        {
            f.push_evidence(&u.ev);
        }
        out.push(f);
    }
}

pub struct EfaHugepageFork;

impl Rule for EfaHugepageFork {
    fn id(&self) -> RuleId {
        RuleId::EFA_HUGEPAGE_FORK
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // fork() returning ENOMEM is this only on EFA: libfabric's EFA provider backs its
        // buffers with huge pages, which a forking process (PyTorch DataLoader workers) cannot
        // duplicate (aws-ofi-nccl doc/efa-env-var.md, PR #292).
        if !efa_in_use(ctx) {
            return;
        }
        let job = ctx.job;
        let lines: Vec<&Fact<String>> = job.notable_other.iter().chain(job.notable_info.iter()).collect();
        let forks: Vec<&Fact<String>> = lines.iter().copied().filter(|f| f.data.contains("fork")).collect();
        let mut hits: Vec<&Evidence> = Vec::new();
        for f in &lines {
            let t = f.data.as_str();
            if t.contains("fork support and huge pages") {
                hits.push(&f.ev);
                continue;
            }
            if !t.contains("Cannot allocate memory") || memlock_failure(t).is_some() {
                continue;
            }
            if t.contains("fork") {
                hits.push(&f.ev);
                continue;
            }
            // A traceback: `self.pid = os.fork()` a few lines before `OSError: [Errno 12] …`.
            if let Some(fork) = forks.iter().find(|k| {
                k.ev.input == f.ev.input
                    && k.ev.pos.line < f.ev.pos.line
                    && f.ev.pos.line - k.ev.pos.line <= 5
            }) {
                hits.push(&fork.ev);
                hits.push(&f.ev);
            }
        }
        if hits.is_empty() {
            return;
        }
        hits.sort();
        hits.dedup();
        let msg = format!(
            "fork() failed with \"Cannot allocate memory\" on an EFA job ({} line(s)): libfabric's EFA provider uses huge pages for its buffers, and a process that forks (DataLoader workers, subprocesses) runs out of them. Set FI_EFA_USE_HUGE_PAGE=0 (a small performance cost), or reserve and mount hugepages-2Mi.",
            hits.len()
        );
        out.push(Finding::new(self.id(), msg).evidence(hits));
    }
}

pub struct CollectiveMismatch;

impl Rule for CollectiveMismatch {
    fn id(&self) -> RuleId {
        RuleId::COLLECTIVE_MISMATCH
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let hits = lines_for(job, self.id());
        if hits.is_empty() {
            return;
        }
        let procs = procs_of(&hits);
        let mut pairs: BTreeSet<(u64, u64)> = BTreeSet::new();
        let mut peers: BTreeSet<&str> = BTreeSet::new();
        for l in &hits {
            if let Some((local, remote, peer)) = collective_mismatch(l.text) {
                pairs.insert((local, remote));
                peers.extend(peer);
            }
        }
        let sizes: Vec<String> = pairs
            .iter()
            .take(3)
            .map(|(l, r)| format!("sends {l} bytes where its peer posted a receive of only {r} bytes"))
            .collect();
        let peers = if peers.is_empty() {
            String::new()
        } else {
            format!(" (peer {})", peers.into_iter().take(4).collect::<Vec<_>>().join(", "))
        };
        let ranks = if procs.is_empty() { "a rank".to_string() } else { who_list(job, &procs, 4) };
        let msg = format!(
            "Collective mismatch: {ranks} {}{peers}. The ranks issued different collectives, counts or datatypes, or one rank skipped a call: an application bug, not the network. Find the rank-divergent collective in the training code (TORCH_DISTRIBUTED_DEBUG=DETAIL shows each rank's calls).",
            sizes.join("; ")
        );
        out.push(finding_for(job, self.id(), msg, &procs, hits.iter().map(|l| l.ev.as_ref())));
    }
}

pub struct CudaKernelLoadFailed;

impl Rule for CudaKernelLoadFailed {
    fn id(&self) -> RuleId {
        RuleId::CUDA_KERNEL_LOAD_FAILED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let hits = lines_for(job, self.id());
        if hits.is_empty() {
            return;
        }
        let procs = procs_of(&hits);
        let kinds: BTreeSet<&str> = hits.iter().filter_map(|l| kernel_load_failure(l.text)).collect();
        let kinds = kinds.into_iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
        // A WARN, or a framework line quoting NCCL's last error (`NCCL error … Last error: Cuda
        // failure 'named symbol not found'`), is NCCL's own kernel; else the test program's.
        let nccl = hits.iter().any(|l| l.source == Source::Warn || l.text.contains("NCCL"));
        let binary = if nccl { "NCCL's" } else { "the program's" };
        let mut context = Vec::new();
        let versions = job.nccl_versions();
        if !versions.is_empty() {
            context.push(format!("NCCL {}", versions.join(", ")));
        }
        let drivers: BTreeSet<u32> = job.cuda_drivers.iter().map(|f| f.data).collect();
        if !drivers.is_empty() {
            let d: Vec<String> =
                drivers.iter().map(|d| format!("{}.{}", d / 1000, (d % 1000) / 10)).collect();
            context.push(format!("CUDA driver {}", d.join(", ")));
        }
        let context = if context.is_empty() { String::new() } else { format!(" ({})", context.join(", ")) };
        let msg = format!(
            "CUDA cannot load {binary} kernels: {kinds} ×{}{}{context}. The binary has no code for this GPU's architecture, or was built for a CUDA toolkit the driver does not support: use an NCCL (and nccl-tests) built for this GPU and CUDA version, and make sure the process loads that libnccl (LD_LIBRARY_PATH, the framework's bundled copy).",
            hits.len(),
            where_(job, &procs)
        );
        let mut f = finding_for(job, self.id(), msg, &procs, hits.iter().map(|l| l.ev.as_ref()));
        if let Some(v) = job.versions.iter().next() {
            f.push_evidence(&v.ev);
        }
        if let Some(d) = job.cuda_drivers.iter().next() {
            f.push_evidence(&d.ev);
        }
        out.push(f);
    }
}

/// Whether an unwind frame is in communicator init or a collective: past this frame the
/// error reaches the application. `file` is relative to NCCL's `src/` (2.28+ also has
/// `transport/net_ib/init.cc`, which is not communicator init).
fn reaches_comm(u: &Unwind) -> bool {
    let top = matches!(
        u.file.as_str(),
        "init.cc"
            | "init.cu"
            | "group.cc"
            | "enqueue.cc"
            | "enqueue.cu"
            | "bootstrap.cc"
            | "bootstrap.cu"
            | "collectives.cc"
            | "proxy.cc"
    ) || u.file.starts_with("collectives/");
    // 2.19+ name the thread: an error in the async init thread or the proxy/progress thread
    // is handed to the communicator.
    let thread = u.thread.as_deref().is_some_and(|t| {
        t.contains("Async") || t.contains("Proxy") || t.contains("Progress") || t.contains("Service")
    });
    top || thread
}

/// Where in NCCL an error chain starts, in the user's terms.
fn frame_hint(file: &str) -> &'static str {
    if file.contains("socket") {
        "misc/socket.cc is NCCL's TCP socket layer (bootstrap and the Socket transport): a connect, accept or poll to a peer failed. Check NCCL_SOCKET_IFNAME, firewalls / security groups, and whether the peer was alive"
    } else if file.contains("bootstrap") {
        "the bootstrap (rank rendezvous over TCP) failed: check the bootstrap interface, that every rank reaches the root's address and port, firewalls"
    } else if file.contains("net_ib") || file.contains("ibvwrap") {
        "the InfiniBand/RoCE verbs transport failed: check the HCA (`ibstat`), `ulimit -l`, NCCL_IB_HCA"
    } else if file.contains("shm") {
        "shared memory failed: check the size of /dev/shm (--shm-size, --ipc=host)"
    } else if file.contains("nvls") {
        "NVLS (NVSwitch multicast) setup failed: check nvidia-fabricmanager"
    } else if file.contains("p2p") {
        "P2P / CUDA IPC between GPUs failed: check ACS and the IOMMU, and that the ranks share an IPC namespace"
    } else if file.starts_with("graph/") || file.contains("topo") || file.contains("xml") {
        "topology detection failed: check NCCL_TOPO_FILE and that /sys is visible"
    } else if file.contains("net") || file.contains("plugin") {
        "the network transport or net plugin failed: check the plugin and the NICs"
    } else if file.contains("cuda") || file.contains("alloc") {
        "a CUDA driver call or a memory allocation failed"
    } else if file.contains("proxy") {
        "the proxy thread (network progress) failed"
    } else {
        "rerun the failing rank with NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=ALL to see the call that failed"
    }
}

/// One error chain: consecutive unwind frames of one thread.
struct Chain<'a> {
    frames: Vec<&'a Fact<Unwind>>,
    /// A WARN of the same thread came right before (since its previous chain).
    warned: bool,
}

/// The unexplained error chains of one process that reach init or a collective: the origins
/// of silent failures. A chain is explained by a WARN of its own thread just before it, or by
/// a WARN of the process from the same source file (another thread printed the same error).
/// A chain that starts in init/group code after an earlier chain is that error propagating.
fn silent_origins<'a>(
    job: &'a Job,
    p: ProcId,
    unwinds: &[&'a Fact<Unwind>],
    warns: &[&'a Fact<Warn>],
) -> Vec<Vec<&'a Fact<Unwind>>> {
    enum Item<'a> {
        Warn,
        Frame(&'a Fact<Unwind>),
    }
    let mut items: Vec<(&Evidence, Item<'a>)> = warns
        .iter()
        .map(|w| (&w.ev, Item::Warn))
        .chain(unwinds.iter().map(|u| (&u.ev, Item::Frame(u))))
        .collect();
    items.sort_by_key(|i| (i.0.input, i.0.pos));
    let mut open: BTreeMap<Option<u32>, Chain<'a>> = BTreeMap::new();
    let mut warned: BTreeSet<Option<u32>> = BTreeSet::new();
    let mut chains: Vec<Chain<'a>> = Vec::new();
    for (ev, item) in items {
        let tid = tid_of(&ev.text);
        match item {
            Item::Warn => {
                chains.extend(open.remove(&tid));
                warned.insert(tid);
            }
            Item::Frame(u) => {
                let was_warned = warned.contains(&tid);
                let c = open.entry(tid).or_insert_with(|| Chain { frames: Vec::new(), warned: was_warned });
                warned.remove(&tid);
                c.frames.push(u);
            }
        }
    }
    chains.extend(open.into_values());
    chains.sort_by(|a, b| {
        let key = |c: &Chain<'_>| c.frames.first().map(|u| (u.ev.input, u.ev.pos));
        key(a).cmp(&key(b))
    });
    let warn_files: BTreeSet<&str> = warns.iter().filter_map(|w| w.data.file.as_deref()).collect();
    // Init COMPLETE printed after a chain means the error was handled (a fallback).
    let completes: Vec<&Evidence> = job
        .comms
        .values()
        .flat_map(|c| c.ranks.values())
        .filter(|r| r.proc == p)
        .filter_map(|r| r.complete.as_ref())
        .collect();
    let mut seen = false;
    let mut out = Vec::new();
    for c in chains {
        let (Some(first), Some(last)) = (c.frames.first(), c.frames.last()) else { continue };
        if !c.frames.iter().any(|u| reaches_comm(&u.data)) {
            continue;
        }
        if c.warned || warn_files.contains(first.data.file.as_str()) {
            seen = true;
            continue;
        }
        if seen && reaches_comm(&first.data) {
            continue;
        }
        seen = true;
        if completes.iter().any(|e| (e.input, e.pos) > (last.ev.input, last.ev.pos)) {
            continue;
        }
        out.push(c.frames);
    }
    out
}

pub struct NcclErrorUnwind;

impl Rule for NcclErrorUnwind {
    fn id(&self) -> RuleId {
        RuleId::NCCL_ERROR_UNWIND
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut unwinds: BTreeMap<ProcId, Vec<&Fact<Unwind>>> = BTreeMap::new();
        for u in job.unwinds.iter() {
            unwinds.entry(u.proc).or_default().push(u);
        }
        let mut warns: BTreeMap<ProcId, Vec<&Fact<Warn>>> = BTreeMap::new();
        for w in job.warns.iter() {
            warns.entry(w.proc).or_default().push(w);
        }
        // Silent origins grouped by innermost frame and code, across processes.
        type Origin<'a> = (BTreeSet<ProcId>, Vec<&'a Fact<Unwind>>);
        let mut groups: BTreeMap<(&str, u32, u32), Origin<'_>> = BTreeMap::new();
        for (p, us) in &unwinds {
            let ws = warns.get(p).map_or(&[][..], Vec::as_slice);
            for chain in silent_origins(job, *p, us, ws) {
                let Some(first) = chain.first() else { continue };
                let g = groups
                    .entry((first.data.file.as_str(), first.data.line, first.data.code))
                    .or_insert_with(|| (BTreeSet::new(), chain.clone()));
                g.0.insert(*p);
            }
        }
        for ((file, line, code), (procs, chain)) in groups {
            let mut path: Vec<String> = Vec::new();
            for u in chain.iter().skip(1) {
                let mut s = format!("{}:{}", u.data.file, u.data.line);
                if let Some(t) = &u.data.thread {
                    s.push_str(&format!(" [{t}]"));
                }
                if path.last() != Some(&s) {
                    path.push(s);
                }
            }
            if path.len() > 6 {
                path.truncate(6);
                path.push("…".into());
            }
            let stage = if chain.iter().any(|u| {
                matches!(u.data.file.as_str(), "init.cc" | "init.cu" | "bootstrap.cc" | "bootstrap.cu")
            }) {
                "communicator init failed"
            } else {
                "the NCCL call (a collective or its proxy thread) failed"
            };
            let through = if path.is_empty() {
                String::new()
            } else {
                format!(" and unwinds through {}", path.join(" → "))
            };
            let msg = format!(
                "NCCL returned an error without printing any WARN on {} process(es) ({}): the chain starts at {file}:{line} with code {code} ({}){through}, so {stage}. {}.",
                procs.len(),
                who_list(job, &procs, 4),
                nccl_result(code),
                frame_hint(file)
            );
            out.push(finding_for(job, self.id(), msg, &procs, chain.iter().map(|u| &u.ev)));
        }
    }
}

pub struct NcclWarn;

impl Rule for NcclWarn {
    fn id(&self) -> RuleId {
        RuleId::NCCL_WARN
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let ex = Explainer::new(job);
        // Shape → (the first message of that shape, who printed it and where, count per process).
        type Group<'a> = (&'a str, Seen<'a>, BTreeMap<ProcId, usize>);
        let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
        // WARN lines a specific rule reports: listed once, at info, not repeated as warnings.
        let mut covered: BTreeMap<(RuleId, String), (&str, Seen<'_>)> = BTreeMap::new();
        for f in job.warns.iter() {
            let shape = message_shape(&f.data.message);
            match ex.rule_for(&FailureLine::from_warn(f)) {
                Some(id) => covered
                    .entry((id, shape))
                    .or_insert_with(|| (&f.data.message, Seen::default()))
                    .1
                    .add(f.proc, &f.ev),
                None => {
                    let g = groups
                        .entry(shape)
                        .or_insert_with(|| (&f.data.message, Seen::default(), BTreeMap::new()));
                    g.1.add(f.proc, &f.ev);
                    *g.2.entry(f.proc).or_default() += 1;
                }
            }
        }
        let mut order: Vec<_> = groups.into_values().collect();
        order.sort_by_key(|g| g.1.evidence.first().map(|e| (e.input, e.pos)));
        for (first, Seen { procs, evidence, count }, per_proc) in order {
            let most = per_proc.values().copied().max().unwrap_or(0);
            let ranks = job.ranks_of(procs.iter().copied());
            let ranks =
                if ranks.is_empty() { String::new() } else { format!(", rank {}", rank_ranges(ranks)) };
            let mut msg = format!(
                "NCCL warned {count} time(s) on {} process(es){ranks}: \"{}\"",
                procs.len(),
                cut(first, 200)
            );
            if most > 1 && procs.len() > 1 {
                msg.push_str(&format!(" (up to {most} times on one process)"));
            }
            out.push(finding_for(job, self.id(), msg, &procs, evidence));
        }
        if covered.is_empty() {
            return;
        }
        let mut by_rule: BTreeMap<RuleId, Vec<(&str, &Seen<'_>)>> = BTreeMap::new();
        for ((id, _), (first, seen)) in &covered {
            by_rule.entry(*id).or_default().push((first, seen));
        }
        let mut parts = Vec::new();
        let mut procs: BTreeSet<ProcId> = BTreeSet::new();
        let mut evidence: Vec<&Evidence> = Vec::new();
        for (id, mut shapes) in by_rule {
            shapes.sort_by_key(|s| std::cmp::Reverse(s.1.count));
            let lines: usize = shapes.iter().map(|s| s.1.count).sum();
            let shown: Vec<String> =
                shapes.iter().take(2).map(|(m, s)| format!("\"{}\" ×{}", cut(m, 90), s.count)).collect();
            let more = if shapes.len() > 2 {
                format!(" and {} other shape(s)", shapes.len() - 2)
            } else {
                String::new()
            };
            parts.push(format!("{id} ({lines} line(s): {}{more})", shown.join(", ")));
            for (_, seen) in &shapes {
                procs.extend(seen.procs.iter().copied());
                evidence.extend(seen.evidence.first().copied());
            }
        }
        evidence.sort();
        let total: usize = covered.values().map(|c| c.1.count).sum();
        let msg = format!(
            "{total} WARN line(s) are explained by the specific finding(s) named here and not repeated as warnings: {}.",
            parts.join("; ")
        );
        out.push(finding_for(job, self.id(), msg, &procs, evidence).severity(Severity::Info));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, analyze_text_on, expect, finding};
    use super::*;

    #[test]
    fn shapes_fold_numbers() {
        assert_eq!(
            message_shape("Connect to 10.0.0.1<43210> failed"),
            message_shape("Connect to 10.0.0.22<1> failed")
        );
        assert_eq!(message_shape("Cuda failure 'invalid argument'"), "Cuda failure 'invalid argument'");
    }

    #[test]
    fn rank_ranges_fold_runs() {
        assert_eq!(rank_ranges([5, 0, 1, 2, 3, 7]), "0-3, 5, 7");
        assert!(rank_ranges((0..1000).step_by(2)).ends_with("(500 in all)"));
    }

    #[test]
    fn ib_completion_shapes_of_every_generation() {
        let old = "NET/IB : Got completion from peer fe80::966d%ib0<53249> with error 4, opcode 32564, len 32564, vendor err 81 (Send)";
        let Some(IbFailure::Completion(c)) = ib_failure(old) else { panic!("old shape") };
        assert_eq!((c.status, c.vendor_err, c.op), (Some(4), Some(81), Some("Send")));
        let v220 = "NET/IB: Got completion from peer 192.168.3.5<53908> with status=12 opcode=129 len=1048576 vendor err 129 (Recv) localGid ::ffff:192.168.6.3 remoteGids::ffff:192.168.6.5 hca mlx5_10";
        let Some(IbFailure::Completion(c)) = ib_failure(v220) else { panic!("2.20 shape") };
        assert_eq!(c.status, Some(12));
        assert_eq!(c.hca, Some("mlx5_10"));
        assert_eq!(c.remote_gid, Some("::ffff:192.168.6.5"));
        let v229 = "NET/IB: Got completion from peer 10.0.0.2<1> with status=transport retry counter exceeded(12) opcode=IBV_WC_SEND(0) vendor_err=129 hca mlx5_0";
        let Some(IbFailure::Completion(c)) = ib_failure(v229) else { panic!("2.29 shape") };
        assert_eq!((c.status, c.vendor_err), (Some(12), Some(129)));
        let plugin = "NET/IB : Got completion with error 12, opcode 0, len 0, vendor err 129";
        assert!(matches!(ib_failure(plugin), Some(IbFailure::Completion(IbCompletion { peer: None, .. }))));
        let asy = "NET/IB : mlx5_0:1 Got async event : local access violation work queue error";
        assert_eq!(
            ib_failure(asy),
            Some(IbFailure::Async {
                dev: Some("mlx5_0:1"),
                event: "local access violation work queue error"
            })
        );
    }

    const INIT_HANG: &str = "\
a:1:1 [0] NCCL INFO ncclCommInitRank comm 0x1 rank 0 nranks 4 cudaDev 0 nvmlDev 0 busId 1000 commId 0xabc - Init START
a:2:2 [1] NCCL INFO ncclCommInitRank comm 0x2 rank 1 nranks 4 cudaDev 1 nvmlDev 1 busId 2000 commId 0xabc - Init START
b:3:3 [0] NCCL INFO ncclCommInitRank comm 0x3 rank 2 nranks 4 cudaDev 0 nvmlDev 0 busId 1000 commId 0xabc - Init START
b:4:4 [1] NCCL INFO ncclCommInitRank comm 0x4 rank 3 nranks 4 cudaDev 1 nvmlDev 1 busId 2000 commId 0xabc - Init START
a:1:1 [0] NCCL INFO ncclCommInitRank comm 0x1 rank 0 nranks 4 cudaDev 0 nvmlDev 0 busId 1000 commId 0xabc - Init COMPLETE
a:2:2 [1] NCCL INFO ncclCommInitRank comm 0x2 rank 1 nranks 4 cudaDev 1 nvmlDev 1 busId 2000 commId 0xabc - Init COMPLETE
b:3:3 [0] NCCL INFO Bootstrap timings total 0.001 (create 0.000, send 0.000, recv 0.001, ring 0.000, delay 0.000)
[2025-06-01 12:00:05] b:4:4 [1] misc/socket.cc:50 NCCL WARN socketPollConnect: Connect to 10.0.0.1<3333> returned 110(Connection timed out) errno 115(Operation now in progress)
";

    #[test]
    fn init_incomplete_names_stuck_ranks_their_last_lines_and_the_first_failure() {
        let a = analyze_text(INIT_HANG);
        let f = expect(&a, RuleId::INIT_INCOMPLETE, Severity::Critical);
        assert_eq!(f.ranks, [2, 3]);
        assert!(f.message.contains("last printed \"Bootstrap timings"), "{}", f.message);
        assert!(f.message.contains("b:4 (rank 3)"), "{}", f.message);
        assert!(f.message.contains("by timestamp"), "{}", f.message);
    }

    #[test]
    fn init_incomplete_absent_when_every_started_rank_completes() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO comm 0x1 rank 15 nranks 64 cudaDev 0 nvmlDev 0 - Init COMPLETE\n\
             b:1:1 [0] NCCL INFO comm 0x2 rank 19 nranks 64 cudaDev 0 nvmlDev 0 - Init COMPLETE\n",
        );
        absent(&a, RuleId::INIT_INCOMPLETE);
    }

    #[test]
    fn remote_peer_failed_points_at_the_rank_with_its_own_error() {
        let a = analyze_text(
            "[2025-06-01 12:00:09] a:1:1 [0] misc/socket.cc:49 NCCL WARN socketProgress: Connection closed by remote peer b<45678>\n\
             [2025-06-01 12:00:01] b:2:2 [0] enqueue.cc:99 NCCL WARN Cuda failure 'an illegal memory access was encountered'\n",
        );
        let f = expect(&a, RuleId::REMOTE_PEER_FAILED, Severity::Critical);
        assert_eq!(f.hosts, ["a"]);
        assert!(f.message.contains("b<45678>"), "{}", f.message);
        assert!(f.message.contains("b:2"), "{}", f.message);
        // The lost-peer WARN is REMOTE_PEER_FAILED's; the Cuda failure stays a generic warning.
        let w = expect(&a, RuleId::NCCL_WARN, Severity::Warning);
        assert!(w.message.contains("illegal memory access"), "{}", w.message);
    }

    #[test]
    fn remote_peer_failed_absent_without_a_lost_peer() {
        let a = analyze_text("a:1:1 [0] misc/ibvwrap.cc:63 NCCL WARN Failed to open libibverbs.so[.1]\n");
        absent(&a, RuleId::REMOTE_PEER_FAILED);
    }

    #[test]
    fn remote_peer_failed_says_when_no_log_shows_the_cause() {
        let a = analyze_text(
            "server1:6601:6625 [0] include/socket.h:385 NCCL WARN Net : Connection closed by remote peer\n",
        );
        let f = expect(&a, RuleId::REMOTE_PEER_FAILED, Severity::Critical);
        assert!(f.message.contains("not among the inputs"), "{}", f.message);
    }

    #[test]
    fn remote_peer_failed_after_a_completed_test_run_is_teardown() {
        let a = analyze_text(
            "   134217728      33554432     float     sum      -1   1301.2  103.15  193.40       0   1298.7  103.35  193.78       0\n\
             # Out of bounds values : 0 OK\n\
             # Avg bus bandwidth    : 193.4\n\
             a:1:1 [0] misc/socket.cc:49 NCCL WARN socketProgress: Connection closed by remote peer b<45678>\n",
        );
        let f = expect(&a, RuleId::REMOTE_PEER_FAILED, Severity::Info);
        assert!(f.message.contains("completed"), "{}", f.message);
    }

    #[test]
    fn remote_peer_failed_from_a_framework_error_without_nccl_debug() {
        let a = analyze_text("[rank3]: torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:219, remote process exited or there was a network error, NCCL version 2.19.3\n");
        expect(&a, RuleId::REMOTE_PEER_FAILED, Severity::Critical);
    }

    #[test]
    fn shm_exhausted_on_posix_fallocate_and_extend_failures() {
        let a = analyze_text(
            "4e9a:8639:8745 [0] include/shm.h:28 NCCL WARN Call to posix_fallocate failed : No space left on device\n\
             4e9a:8639:8745 [0] include/shm.h:48 NCCL WARN Error while creating shared memory segment nccl-shm-recv-1-0-1-0 (size 9637888)\n",
        );
        let f = expect(&a, RuleId::SHM_EXHAUSTED, Severity::Critical);
        assert!(f.message.contains("9.2 MiB"), "{}", f.message);
        expect(&a, RuleId::NCCL_WARN, Severity::Info);
        let a = analyze_text("pod:1:1 [0] misc/shmutils.cc:72 NCCL WARN Error: failed to extend /dev/shm/nccl-H1dBqY to 9637892 bytes\n");
        expect(&a, RuleId::SHM_EXHAUSTED, Severity::Critical);
    }

    #[test]
    fn shm_exhausted_absent_on_a_successful_allocation() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO Allocated 9637892 bytes of shared memory in /dev/shm/nccl-abc\n",
        );
        absent(&a, RuleId::SHM_EXHAUSTED);
    }

    #[test]
    fn memlock_limit_critical_on_enomem_warning_on_bare_legacy_line() {
        let a = analyze_text("a:1:1 [0] misc/ibvwrap.cc:190 NCCL WARN Call to ibv_reg_mr failed with error Cannot allocate memory\n");
        expect(&a, RuleId::MEMLOCK_LIMIT, Severity::Critical);
        let a =
            analyze_text("dgj101:14560:14560 [0] misc/ibvwrap.cu:269 WARN Call to ibv_create_qp failed\n");
        let f = expect(&a, RuleId::MEMLOCK_LIMIT, Severity::Warning);
        assert!(f.message.contains("not proven"), "{}", f.message);
    }

    #[test]
    fn memlock_limit_absent_on_other_errno() {
        let a = analyze_text(
            "a:1:1 [0] misc/ibvwrap.cc:153 NCCL WARN Call to ibv_reg_mr failed with error Bad address\n",
        );
        absent(&a, RuleId::MEMLOCK_LIMIT);
        expect(&a, RuleId::NCCL_WARN, Severity::Warning);
    }

    const ROCE_RETRY: &str = "\
a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/RoCE [RO]; OOB eth0:10.0.0.1<0>
a:1:9 [0] transport/net_ib.cc:2244 NCCL WARN NET/IB : Got completion from peer 10.0.0.2<1234> with status=12 opcode=0 len=0 vendor err 129 (Send) localGid fe80::1 remoteGidsfe80::2 hca mlx5_0
";

    #[test]
    fn roce_gid_suspect_on_retry_exceeded_at_first_traffic() {
        let a = analyze_text(ROCE_RETRY);
        let f = expect(&a, RuleId::ROCE_GID_SUSPECT, Severity::Critical);
        assert!(f.message.contains("link-local"), "{}", f.message);
        let ib = expect(&a, RuleId::IB_COMPLETION_ERROR, Severity::Critical);
        assert!(ib.message.contains("ROCE_GID_SUSPECT"), "{}", ib.message);
    }

    #[test]
    fn roce_gid_not_suspected_with_routable_gids_ib_links_or_earlier_traffic() {
        let routable = "a:1:9 [0] transport/net_ib.cc:2244 NCCL WARN NET/IB: Got completion from peer 192.168.3.5<53908> with status=12 opcode=129 len=1048576 vendor err 129 (Recv) localGid ::ffff:192.168.6.3 remoteGids::ffff:192.168.6.5 hca mlx5_10\n";
        let a = analyze_text(routable);
        absent(&a, RuleId::ROCE_GID_SUSPECT);
        let f = expect(&a, RuleId::IB_COMPLETION_ERROR, Severity::Critical);
        assert!(f.message.contains("routable RoCEv2"), "{}", f.message);
        let ib = "a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB ib0:10.0.0.1<0>\n\
                  a:1:9 [0] transport/net_ib.cc:1238 NCCL WARN NET/IB : Got completion from peer b<37948> with error 12, opcode 2, len 1, vendor err 129\n";
        absent(&analyze_text(ib), RuleId::ROCE_GID_SUSPECT);
        let rows = "   134217728      33554432     float     sum      -1   1301.2  103.15  193.40       0   1298.7  103.35  193.78       0\n";
        absent(&analyze_text(&format!("{rows}{ROCE_RETRY}")), RuleId::ROCE_GID_SUSPECT);
    }

    #[test]
    fn ib_completion_error_names_status_vendor_and_async_port_errors() {
        let a = analyze_text(
            "H100-2:19989:20082 [1] transport/net_ib.cc:1295 NCCL WARN NET/IB : Got completion from peer fe80::966d:ae03:8b:df78%ib0<53249> with error 4, opcode 32564, len 32564, vendor err 81 (Send)\n\
             n48:34050:34121 [0] transport/net_ib.cc:93 NCCL WARN NET/IB : Got async event : port error\n",
        );
        let f = expect(&a, RuleId::IB_COMPLETION_ERROR, Severity::Critical);
        assert!(f.message.contains("IBV_WC_LOC_PROT_ERR"), "{}", f.message);
        assert!(f.message.contains("81 (0x51)"), "{}", f.message);
        assert!(f.message.contains("port went down"), "{}", f.message);
        assert_eq!(f.hosts, ["H100-2", "n48"]);
        // Both WARNs are IB_COMPLETION_ERROR's: NCCL_WARN only lists them as covered.
        expect(&a, RuleId::NCCL_WARN, Severity::Info);
    }

    #[test]
    fn ib_completion_error_absent_on_a_healthy_ib_job() {
        let a = analyze_text("a:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB ib0:10.0.0.1<0>\n");
        absent(&a, RuleId::IB_COMPLETION_ERROR);
    }

    #[test]
    fn fabric_manager_on_nvls_invalid_argument_and_system_not_ready() {
        let a = analyze_text(
            "[2025-05-10 23:09:41] bm-h100-02:630335:630409 [2] transport/nvls.cc:254 NCCL WARN Cuda failure 1 'invalid argument'\n\
             bm-h100-02:630335:630409 [2] NCCL INFO transport/nvls.cc:409 -> 1\n\
             bm-h100-02:630335:630409 [2] NCCL INFO init.cc:1157 -> 1\n",
        );
        let f = expect(&a, RuleId::FABRIC_MANAGER, Severity::Critical);
        assert!(f.message.contains("NVLS"), "{}", f.message);
        absent(&a, RuleId::NCCL_ERROR_UNWIND);
        let a = analyze_text("gpu: Test CUDA failure common.cu:1030 'system not yet initialized'\n");
        let f = expect(&a, RuleId::FABRIC_MANAGER, Severity::Critical);
        assert!(f.message.contains("802"), "{}", f.message);
    }

    #[test]
    fn fabric_manager_absent_on_invalid_argument_outside_nvls() {
        let a = analyze_text("a:1:1 [0] enqueue.cc:47 NCCL WARN Cuda failure 'invalid argument'\n");
        absent(&a, RuleId::FABRIC_MANAGER);
        expect(&a, RuleId::NCCL_WARN, Severity::Warning);
    }

    const FORK_TRACEBACK: &str = "\
  File \"/usr/lib/python3.10/multiprocessing/popen_fork.py\", line 66, in _launch
    self.pid = os.fork()
OSError: [Errno 12] Cannot allocate memory
";

    #[test]
    fn efa_hugepage_fork_on_fork_enomem_with_efa() {
        let efa = "a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)\n";
        let a = analyze_text(&format!("{efa}{FORK_TRACEBACK}"));
        let f = expect(&a, RuleId::EFA_HUGEPAGE_FORK, Severity::Warning);
        assert!(f.message.contains("FI_EFA_USE_HUGE_PAGE=0"), "{}", f.message);
        assert_eq!(f.evidence.len(), 2);
        // `--platform` says EFA when the plugin's provider line is not in the logs.
        expect(
            &analyze_text_on(FORK_TRACEBACK, Some("p5.48xlarge")),
            RuleId::EFA_HUGEPAGE_FORK,
            Severity::Warning,
        );
    }

    #[test]
    fn efa_hugepage_fork_absent_without_efa_or_without_fork() {
        absent(&analyze_text(FORK_TRACEBACK), RuleId::EFA_HUGEPAGE_FORK);
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)\n\
             a:1:2 [5] register_mr_buffers:465 NCCL WARN NET/OFI Unable to register memory (type = 1) for device 0. RC: 12, Error: Cannot allocate memory\n",
        );
        absent(&a, RuleId::EFA_HUGEPAGE_FORK);
        expect(&a, RuleId::MEMLOCK_LIMIT, Severity::Critical);
    }

    #[test]
    fn collective_mismatch_names_both_sizes() {
        let a = analyze_text("10.10.23.10: so-1:1307367:1307586 [0] transport/net_ib.cc:1038 NCCL WARN NET/IB : req 0/1 tag 0 peer 10.10.23.6<58683> collective mismatch error, local size 496640 remote size 65536\n");
        let f = expect(&a, RuleId::COLLECTIVE_MISMATCH, Severity::Critical);
        assert!(f.message.contains("496640") && f.message.contains("65536"), "{}", f.message);
        assert!(f.message.contains("10.10.23.6<58683>"), "{}", f.message);
        let w = expect(&a, RuleId::NCCL_WARN, Severity::Info);
        assert!(w.message.contains("COLLECTIVE_MISMATCH"), "{}", w.message);
    }

    #[test]
    fn collective_mismatch_absent_on_other_net_ib_warnings() {
        let a = analyze_text("a:1:1 [0] transport/net_ib.cc:1040 NCCL WARN NET/IB : req 0/1 tag 0 peer 10.0.0.2<1> posted incorrect receive info: size 0 addr 0 rkey 0\n");
        absent(&a, RuleId::COLLECTIVE_MISMATCH);
    }

    #[test]
    fn cuda_kernel_load_failed_with_versions() {
        let a = analyze_text(
            "n:1:1 [1] NCCL INFO cudaDriverVersion 12020\n\
             NCCL version 2.21.5+cuda11.8\n\
             n:1:2 [1] enqueue.cc:47 NCCL WARN Cuda failure 'named symbol not found'\n",
        );
        let f = expect(&a, RuleId::CUDA_KERNEL_LOAD_FAILED, Severity::Critical);
        assert!(
            f.message.contains("2.21.5+cuda11.8") && f.message.contains("CUDA driver 12.2"),
            "{}",
            f.message
        );
        let w = expect(&a, RuleId::NCCL_WARN, Severity::Info);
        assert!(w.message.contains("CUDA_KERNEL_LOAD_FAILED"), "{}", w.message);
    }

    #[test]
    fn cuda_kernel_load_failed_absent_on_other_cuda_errors() {
        let a = analyze_text("n:1:2 [1] enqueue.cc:47 NCCL WARN Cuda failure 'out of memory'\n");
        absent(&a, RuleId::CUDA_KERNEL_LOAD_FAILED);
    }

    const SILENT: &str = "\
nd20-01:191191:219889 [0] NCCL INFO misc/socket.cc:564 -> 2
nd20-01:191191:219889 [0] NCCL INFO misc/socket.cc:615 -> 2
nd20-01:191191:219889 [0] NCCL INFO bootstrap.cc:270 -> 2
nd20-01:191191:219889 [0] NCCL INFO init.cc:1303 -> 2
nd20-01:191191:219889 [0] NCCL INFO group.cc:64 -> 2 [Async thread]
nd20-01:191191:191191 [0] NCCL INFO group.cc:422 -> 2
nd20-01:191191:191191 [0] NCCL INFO group.cc:106 -> 2
";

    #[test]
    fn nccl_error_unwind_reports_the_innermost_frame_of_a_silent_chain() {
        let a = analyze_text(SILENT);
        let f = expect(&a, RuleId::NCCL_ERROR_UNWIND, Severity::Critical);
        assert!(f.message.contains("starts at misc/socket.cc:564 with code 2"), "{}", f.message);
        assert!(f.message.contains("communicator init failed"), "{}", f.message);
        // One origin: the main thread's group.cc frames are the same error propagating.
        assert_eq!(a.findings.iter().filter(|f| f.rule == RuleId::NCCL_ERROR_UNWIND).count(), 1);
    }

    #[test]
    fn nccl_error_unwind_absent_on_benign_or_explained_chains() {
        // A virtual NIC without a PCI path: the chain stops in include/net.h.
        let a = analyze_text(
            "pod:435:783 [0] NCCL INFO Could not find real path of /sys/class/net/eth0/device\n\
             pod:435:783 [0] NCCL INFO include/net.h:19 -> 2\n",
        );
        absent(&a, RuleId::NCCL_ERROR_UNWIND);
        // Explained by the WARN of its thread; the main thread only propagates it.
        let a = analyze_text(
            "ip:149:298 [5] register_mr_buffers:465 NCCL WARN NET/OFI Unable to register memory (type = 1) for device 0. RC: 12, Error: Cannot allocate memory\n\
             ip:149:298 [5] NCCL INFO include/net.h:23 -> 2\n\
             ip:149:298 [5] NCCL INFO transport/net.cc:223 -> 2\n\
             ip:149:298 [5] NCCL INFO group.cc:137 -> 2 [Async thread]\n\
             ip:149:149 [5] NCCL INFO group.cc:210 -> 2\n",
        );
        absent(&a, RuleId::NCCL_ERROR_UNWIND);
        // Init completed after the chain: NCCL fell back and carried on.
        let a = analyze_text(
            "a:1:2 [0] NCCL INFO transport/p2p.cc:100 -> 2\n\
             a:1:2 [0] NCCL INFO init.cc:900 -> 2\n\
             a:1:2 [0] NCCL INFO comm 0x1 rank 0 nranks 1 cudaDev 0 busId 1000 - Init COMPLETE\n",
        );
        absent(&a, RuleId::NCCL_ERROR_UNWIND);
    }

    #[test]
    fn nccl_warn_groups_shapes_and_counts_per_rank() {
        let a = analyze_text(
            "a:1:1 [0] misc/ibvwrap.cc:63 NCCL WARN Failed to open libibverbs.so[.1]\n\
             a:2:2 [1] misc/ibvwrap.cc:63 NCCL WARN Failed to open libibverbs.so[.1]\n",
        );
        let f = expect(&a, RuleId::NCCL_WARN, Severity::Warning);
        assert!(f.message.contains("2 time(s) on 2 process(es)"), "{}", f.message);
        assert_eq!(a.findings.iter().filter(|f| f.rule == RuleId::NCCL_WARN).count(), 1);
    }

    #[test]
    fn nccl_warn_absent_without_warn_lines() {
        absent(&analyze_text("a:1:1 [0] NCCL INFO Using network IB\n"), RuleId::NCCL_WARN);
    }

    #[test]
    fn every_line_the_explainer_claims_is_reported_by_its_rule() {
        let text = "\
a:1:1 [0] include/shm.h:28 NCCL WARN Call to posix_fallocate failed : No space left on device
a:1:1 [0] misc/ibvwrap.cc:190 NCCL WARN Call to ibv_reg_mr failed with error Cannot allocate memory
a:1:1 [0] transport/net_ib.cc:1038 NCCL WARN NET/IB : req 0/1 tag 0 peer b<1> collective mismatch error, local size 2 remote size 1
a:1:1 [0] enqueue.cc:47 NCCL WARN Cuda failure 'no kernel image is available for execution on the device'
a:1:1 [0] transport/nvls.cc:254 NCCL WARN Cuda failure 1 'invalid argument'
a:1:1 [0] transport/net_ib.cc:93 NCCL WARN NET/IB : Got async event : port error
a:1:1 [0] misc/socket.cc:49 NCCL WARN socketProgress: Connection closed by remote peer b<2>
";
        let a = analyze_text_on(text, None);
        let ex = Explainer::new(&a.job);
        for w in a.job.warns.iter() {
            let id = ex.rule_for(&FailureLine::from_warn(w));
            let id = id.unwrap_or_else(|| panic!("unclaimed: {}", w.data.message));
            assert!(finding(&a, id).is_some(), "{id} claims '{}' but did not fire", w.data.message);
        }
        expect(&a, RuleId::NCCL_WARN, Severity::Info);
        assert!(!a.findings.iter().any(|f| f.rule == RuleId::NCCL_WARN && f.severity == Severity::Warning));
    }
}
