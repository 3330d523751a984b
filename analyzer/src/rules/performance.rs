//! Performance (nccl-tests).
use super::{Ctx, Rule};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::nccltests::{TestsRow, TestsRun};
use crate::platform::{Confidence, DetectedPlatform, Platform};

/// Multi-node busbw at or below this is TCP level (platforms.md).
pub const TCP_LEVEL_GBPS: f64 = 25.0;

const GIB: u64 = 1 << 30;
/// Below this size busbw is still latency-bound (a 2-node p5 reaches ~40 % of its plateau at
/// 256 MiB, far less at 8 MiB): a table cut shorter gives no bandwidth verdict.
const MIN_VERDICT_BYTES: u64 = 256 << 20;

/// The row a bandwidth verdict rests on: the largest size, if it is large enough. `full` is
/// whether it is ≥ 1 GiB, the size the platform bands are measured at. Never the `Avg bus
/// bandwidth` line: it averages every size, small ones included.
struct Verdict<'a> {
    row: &'a TestsRow,
    full: bool,
    evidence: Option<Evidence>,
}

fn verdict(run: &TestsRun) -> Option<Verdict<'_>> {
    let row = run.largest()?;
    if row.size_bytes < MIN_VERDICT_BYTES {
        return None;
    }
    let evidence = run.largest_row_text.as_deref().map(|t| Evidence::new(run.input, row.pos, t));
    Some(Verdict { row, full: row.size_bytes >= GIB, evidence })
}

/// Collectives whose busbw is normalised to the link rate (nccl-tests doc/PERFORMANCE.md) and
/// comparable with a fabric's rate; a table without its header (`op` unknown) is taken as one.
fn bandwidth_op(run: &TestsRun) -> bool {
    matches!(run.op.as_deref(), None | Some("all_reduce" | "all_gather" | "reduce_scatter"))
}

/// The platform bands are all_reduce figures.
fn all_reduce(run: &TestsRun) -> bool {
    matches!(run.op.as_deref(), None | Some("all_reduce"))
}

/// Ranks of an all_reduce run from its own figures, for tables pasted without their device
/// list: busbw = algbw × 2(n−1)/n (nccl-tests doc/PERFORMANCE.md). Only when the ratio fits
/// that formula to the printed precision.
fn ranks_from_busbw(run: &TestsRun) -> Option<u32> {
    if !all_reduce(run) {
        return None;
    }
    let row = run.largest()?;
    if row.algbw_gbps < 1.0 {
        return None;
    }
    let r = row.busbw_gbps / row.algbw_gbps;
    if !(1.0..2.0).contains(&r) {
        return None;
    }
    let n = (2.0 / (2.0 - r)).round();
    if !(2.0..=1024.0).contains(&n) || (r - 2.0 * (n - 1.0) / n).abs() > 0.01 {
        return None;
    }
    Some(n as u32)
}

/// Nodes of a run without a device list: its rank count (from busbw/algbw) over the
/// platform's GPUs per node, when that makes more than one node.
fn nodes_from_busbw(ctx: &Ctx<'_>, run: &TestsRun) -> Option<(u32, String)> {
    let per_node = ctx.platform.and_then(|dp| dp.platform).map(|p| p.gpus_per_node)?;
    let n = ranks_from_busbw(run)?;
    (n > per_node).then(|| {
        (
            n.div_ceil(per_node),
            format!("{n} ranks by the table's busbw/algbw ratio, more than one {per_node}-GPU node holds"),
        )
    })
}

/// Whether this run spans nodes, and why: its own device list first (a single-host list says
/// no), else the job's evidence, else its rank count.
fn multi_node(ctx: &Ctx<'_>, run: &TestsRun) -> Option<String> {
    match run.is_multi_node() {
        Some(true) => Some(format!("ranks on {} hosts", run.hosts.len())),
        Some(false) => None,
        None => ctx.job.multi_node_evidence().or_else(|| nodes_from_busbw(ctx, run).map(|(_, why)| why)),
    }
}

fn op_name(run: &TestsRun) -> &str {
    run.op.as_deref().unwrap_or("the collective")
}

fn size_text(bytes: u64) -> String {
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} B")
    }
}

/// A platform whose band starts well above TCP level: there, TCP-level busbw means the RDMA
/// network is unused (a 100 Gbps single-NIC node tops out near TCP level anyway).
fn tcp_level_applies(p: &Platform) -> bool {
    p.expected_busbw.is_some_and(|(low, _)| low > 2.0 * TCP_LEVEL_GBPS)
}

fn platform_note(dp: &DetectedPlatform) -> &'static str {
    if dp.confidence == Confidence::Guess {
        " The platform is a guess from the hardware in the logs; pass --platform to confirm."
    } else {
        ""
    }
}

pub struct BusbwTcpLevel;

impl Rule for BusbwTcpLevel {
    fn id(&self) -> RuleId {
        RuleId::BUSBW_TCP_LEVEL
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(dp) = ctx.platform else { return };
        let Some(platform) = dp.platform.filter(|p| tcp_level_applies(p)) else { return };
        let Some((low, high)) = platform.expected_busbw else { return };
        for run in ctx.job.tests.iter().filter(|r| bandwidth_op(r)) {
            let Some(nodes) = multi_node(ctx, run) else { continue };
            let Some(v) = verdict(run) else { continue };
            if v.row.busbw_gbps > TCP_LEVEL_GBPS {
                continue;
            }
            let mut f = Finding::new(
                self.id(),
                format!(
                    "{} reaches {:.1} GB/s bus bandwidth at {} ({nodes}) on {} where {low:.0}–{high:.0} GB/s is expected: TCP level, the RDMA network is not carrying the traffic.{}",
                    op_name(run),
                    v.row.busbw_gbps,
                    size_text(v.row.size_bytes),
                    dp.describe(),
                    platform_note(dp)
                ),
            )
            .hosts(run.hosts.iter().cloned());
            if let Some(e) = &v.evidence {
                f.push_evidence(e);
            }
            out.push(f);
        }
    }
}

pub struct BusbwBelowExpected;

impl Rule for BusbwBelowExpected {
    fn id(&self) -> RuleId {
        RuleId::BUSBW_BELOW_EXPECTED
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(dp) = ctx.platform else { return };
        let Some(platform) = dp.platform else { return };
        let Some((low, high)) = platform.expected_busbw else { return };
        for run in ctx.job.tests.iter().filter(|r| all_reduce(r)) {
            let Some(nodes) = multi_node(ctx, run) else { continue };
            let Some(v) = verdict(run) else { continue };
            let busbw = v.row.busbw_gbps;
            // BUSBW_TCP_LEVEL says it louder.
            if busbw <= TCP_LEVEL_GBPS && tcp_level_applies(platform) {
                continue;
            }
            // "Well below": a quarter under the band's floor at ≥ 1 GiB; below 1 GiB busbw has
            // not reached its plateau, so only half the floor counts.
            let (threshold, caveat) = if v.full {
                (0.75 * low, String::new())
            } else {
                (
                    0.5 * low,
                    format!(
                        " The largest size in this run is {}: below 1 GiB busbw is still climbing, so only a drop under half the band is reported.",
                        size_text(v.row.size_bytes)
                    ),
                )
            };
            if busbw >= threshold {
                continue;
            }
            let mut f = Finding::new(
                self.id(),
                format!(
                    "{} bus bandwidth is {busbw:.1} GB/s at {} ({nodes}), well below the {low:.0}–{high:.0} GB/s a multi-node all_reduce reaches on {} ({:.0}% of the band's floor).{caveat}{}",
                    op_name(run),
                    size_text(v.row.size_bytes),
                    dp.describe(),
                    100.0 * busbw / low,
                    platform_note(dp)
                ),
            )
            .hosts(run.hosts.iter().cloned());
            if let Some(e) = &v.evidence {
                f.push_evidence(e);
            }
            out.push(f);
        }
    }
}

/// `NCCL_ALGO` forcing the tree algorithm (`Tree`, `tree,ring`, `NVLSTree`), not excluding it
/// (`^Tree`).
fn forces_tree(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    !v.starts_with('^') && v.contains("tree")
}

pub struct BusbwTwoNodeTree;

impl Rule for BusbwTwoNodeTree {
    fn id(&self) -> RuleId {
        RuleId::BUSBW_TWO_NODE_TREE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let algo = job
            .env
            .iter()
            .chain(job.cmdline_env.iter())
            .find(|f| f.data.0 == "NCCL_ALGO" && forces_tree(&f.data.1));
        let nnodes_line = job.nnodes.iter().find(|f| f.data == 2);
        let job_two =
            (nnodes_line.is_some() && job.nnodes.iter().all(|f| f.data <= 2)) || job.hosts().len() == 2;
        for run in job.tests.iter().filter(|r| all_reduce(r)) {
            // Without a device list or NCCL's node count, 2 full nodes' worth of ranks counts
            // (said in the message: 4 half-used nodes would look the same).
            let by_ratio = nodes_from_busbw(ctx, run).filter(|(n, _)| *n == 2);
            let two_nodes = match run.is_multi_node() {
                Some(_) => run.hosts.len() == 2,
                None => job_two || by_ratio.is_some(),
            };
            if !two_nodes {
                continue;
            }
            let assumed = match (&by_ratio, run.is_multi_node(), job_two) {
                (Some((_, why)), None, false) => {
                    format!(" Two nodes is inferred ({why}), assuming full nodes.")
                }
                _ => String::new(),
            };
            let Some(row) = run.largest() else { continue };
            let line_rate = ctx.platform.and_then(|dp| dp.platform).map(|p| (p, p.line_rate_gbs()));
            let why = match (algo, line_rate) {
                (Some(f), _) => format!("{}={} is set", f.data.0, f.data.1),
                (None, Some((p, rate))) if row.busbw_gbps > rate => format!(
                    "its {:.1} GB/s busbw is above the {rate:.0} GB/s line rate of {}'s network ({} Gbps), which only the tree algorithm can show",
                    row.busbw_gbps, p.name, p.network_gbps
                ),
                _ => continue,
            };
            let mut f = Finding::new(
                self.id(),
                format!(
                    "This two-node all_reduce runs the tree algorithm ({why}). On two nodes tree halves what crosses the network, so busbw can exceed the line rate: the figure says little about the network. Compare with NCCL_ALGO=Ring, or test on 3 or more nodes.{assumed}"
                ),
            )
            .hosts(run.hosts.iter().cloned());
            if let Some(t) = &run.largest_row_text {
                f.push_evidence(&Evidence::new(run.input, row.pos, t));
            }
            if let Some(a) = algo {
                f.push_evidence(&a.ev);
            }
            if let Some(n) = nnodes_line.filter(|_| run.is_multi_node().is_none()) {
                f.push_evidence(&n.ev);
            }
            out.push(f);
        }
    }
}

pub struct NcclTestsWrong;

impl Rule for NcclTestsWrong {
    fn id(&self) -> RuleId {
        RuleId::NCCLTESTS_WRONG
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for run in &ctx.job.tests {
            let oob = run.out_of_bounds.unwrap_or(0);
            if oob == 0 && run.wrong_rows.is_empty() {
                continue;
            }
            let mut what: Vec<String> = Vec::new();
            if !run.wrong_rows.is_empty() {
                what.push(format!("{} row(s) with a non-zero #wrong count", run.wrong_rows.len()));
            }
            if oob > 0 {
                what.push(format!("`Out of bounds values : {oob} FAILED`"));
            }
            let mut f = Finding::new(
                self.id(),
                format!(
                    "nccl-tests validated the results of {} and found wrong data: {}. A collective returned corrupted values: suspect the IOMMU/ACS setup, a faulty GPU or NIC, or the NCCL build; rerun on subsets of nodes to isolate it.",
                    op_name(run),
                    what.join("; ")
                ),
            )
            .severity(Severity::Critical)
            .hosts(run.hosts.iter().cloned());
            if let (Some(pos), Some(text)) = (run.out_of_bounds_pos, &run.out_of_bounds_text) {
                if oob > 0 {
                    f.push_evidence(&Evidence::new(run.input, pos, text));
                }
            }
            for (pos, text) in run.wrong_rows.iter().zip(&run.wrong_row_texts) {
                f.push_evidence(&Evidence::new(run.input, *pos, text));
            }
            if f.evidence.is_empty() {
                continue;
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, analyze_text_on, expect};
    use crate::catalog::{RuleId, Severity};
    use crate::platform::Confidence;

    /// nccl-tests output: 2 hosts × 8 ranks, one row per (size, busbw).
    fn run(gpu: &str, hosts: &[&str], rows: &[(u64, f64)]) -> String {
        let mut s = String::from("# Collective test starting: all_reduce_perf\n# Using devices\n");
        let mut rank = 0;
        for h in hosts {
            for d in 0..8 {
                s.push_str(&format!(
                    "#  Rank {rank:2} Group  0 Pid  {} on {h} device  {d} [0000:{d:02}:00] {gpu}\n",
                    100 + rank
                ));
                rank += 1;
            }
        }
        s.push_str("#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n");
        s.push_str("#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)\n");
        for (size, busbw) in rows {
            let algbw = busbw / 1.875;
            s.push_str(&format!(
                "  {size:>10}  {:>10}     float     sum      -1   1000.0  {algbw:.2}  {busbw:.2}      0   1000.0  {algbw:.2}  {busbw:.2}      0\n",
                size / 4
            ));
        }
        s.push_str("# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 12.5\n");
        s
    }

    const EFA32: &str =
        "a:1:1 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa (found 32 nics)\n";

    #[test]
    fn platform_detected_from_gpu_model_and_efa() {
        let text = format!("{EFA32}{}", run("NVIDIA H100 80GB HBM3", &["a", "b"], &[(1 << 30, 350.0)]));
        let a = analyze_text(&text);
        let p = a.platform.as_ref().map(|p| (p.platform.map(|p| p.name), p.confidence));
        assert_eq!(p, Some((Some("p5.48xlarge"), Confidence::Guess)));
        // Named by a topology file.
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL_TOPO_FILE set by environment to /opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p4d-24xl-topo.xml\n",
        );
        let p = a.platform.as_ref().map(|p| (p.platform.map(|p| p.name), p.confidence));
        assert_eq!(p, Some((Some("p4d.24xlarge"), Confidence::Named)));
        // H100 without EFA (a GCP or IB cluster): nothing guessed.
        let a = analyze_text(&run("NVIDIA H100 80GB HBM3", &["a", "b"], &[(1 << 30, 350.0)]));
        assert!(a.platform.is_none());
    }

    #[test]
    fn tcp_level_on_rdma_platform() {
        let a = analyze_text_on(&run("NVIDIA H100 80GB HBM3", &["a", "b"], &[(1 << 30, 11.5)]), Some("p5"));
        let f = expect(&a, RuleId::BUSBW_TCP_LEVEL, Severity::Critical);
        assert_eq!(f.hosts, ["a", "b"]);
        absent(&a, RuleId::BUSBW_BELOW_EXPECTED);
    }

    #[test]
    fn tcp_level_not_on_small_sizes_single_host_or_slow_fabric() {
        // The table stops at 8 MiB: no verdict.
        let a = analyze_text_on(&run("NVIDIA H100 80GB HBM3", &["a", "b"], &[(8 << 20, 6.9)]), Some("p5"));
        absent(&a, RuleId::BUSBW_TCP_LEVEL);
        // One host: NVLink figures, not the network.
        let a = analyze_text_on(&run("NVIDIA H100 80GB HBM3", &["a"], &[(1 << 30, 11.5)]), Some("p5"));
        absent(&a, RuleId::BUSBW_TCP_LEVEL);
        // p3dn: one 100 Gbps EFA, no RDMA-class band to fall from.
        let a = analyze_text_on(&run("Tesla V100-SXM2-32GB", &["a", "b"], &[(1 << 30, 6.9)]), Some("p3dn"));
        absent(&a, RuleId::BUSBW_TCP_LEVEL);
        absent(&a, RuleId::BUSBW_BELOW_EXPECTED);
    }

    #[test]
    fn below_expected_band() {
        let a = analyze_text_on(&run("A100-SXM4-40GB", &["a", "b"], &[(1 << 30, 29.6)]), Some("p4d"));
        let f = expect(&a, RuleId::BUSBW_BELOW_EXPECTED, Severity::Warning);
        assert!(f.message.contains("29.6 GB/s") && f.message.contains("50–80"), "{}", f.message);
        // Guessed platform: said so.
        let text = format!("{EFA32}{}", run("NVIDIA H100 80GB HBM3", &["a", "b"], &[(1 << 30, 150.0)]));
        let f = expect(&analyze_text(&text), RuleId::BUSBW_BELOW_EXPECTED, Severity::Warning).clone();
        assert!(f.message.contains("guess"), "{}", f.message);
    }

    #[test]
    fn below_expected_not_for_healthy_or_unknown() {
        let a = analyze_text_on(&run("A100-SXM4-40GB", &["a", "b"], &[(2 << 30, 78.3)]), Some("p4d"));
        absent(&a, RuleId::BUSBW_BELOW_EXPECTED);
        // No platform: no band to compare with.
        let a = analyze_text(&run("A100-SXM4-40GB", &["a", "b"], &[(1 << 30, 29.6)]));
        absent(&a, RuleId::BUSBW_BELOW_EXPECTED);
        // 512 MiB at 60% of the floor: still climbing, not reported.
        let a = analyze_text_on(&run("A100-SXM4-40GB", &["a", "b"], &[(512 << 20, 30.0)]), Some("p4d"));
        absent(&a, RuleId::BUSBW_BELOW_EXPECTED);
    }

    #[test]
    fn two_node_tree_above_line_rate_or_forced() {
        let a = analyze_text_on(&run("NVIDIA H100 80GB HBM3", &["a", "b"], &[(16 << 30, 487.1)]), Some("p5"));
        let f = expect(&a, RuleId::BUSBW_TWO_NODE_TREE, Severity::Info);
        assert!(f.message.contains("400 GB/s line rate"), "{}", f.message);
        let text = format!(
            "mpirun -x NCCL_ALGO=Tree -np 16 ./all_reduce_perf\n{}",
            run("A100-SXM4-40GB", &["a", "b"], &[(1 << 30, 41.3)])
        );
        let f = expect(&analyze_text(&text), RuleId::BUSBW_TWO_NODE_TREE, Severity::Info).clone();
        assert!(f.message.contains("NCCL_ALGO=Tree"));
        assert_eq!(f.evidence.len(), 2);
    }

    #[test]
    fn two_node_tree_from_a_bare_table() {
        // A pasted table only (no device list): 16 ranks by busbw/algbw on 8-GPU p5 nodes.
        let table = "\
0: #       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
0: 17179869184    4294967296     float     sum      -1    66133  259.78  487.09      0    66153  259.70  486.94      0
";
        let f =
            expect(&analyze_text_on(table, Some("p5")), RuleId::BUSBW_TWO_NODE_TREE, Severity::Info).clone();
        assert!(f.message.contains("16 ranks") && f.message.contains("assuming full nodes"), "{}", f.message);
        // Without a platform nothing says how many nodes that is.
        absent(&analyze_text(table), RuleId::BUSBW_TWO_NODE_TREE);
    }

    #[test]
    fn two_node_tree_not_for_ring_or_more_nodes() {
        let a = analyze_text_on(&run("NVIDIA H100 80GB HBM3", &["a", "b"], &[(16 << 30, 380.0)]), Some("p5"));
        absent(&a, RuleId::BUSBW_TWO_NODE_TREE);
        let text = format!(
            "mpirun -x NCCL_ALGO=Tree ./all_reduce_perf\n{}",
            run("A100-SXM4-40GB", &["a", "b", "c"], &[(1 << 30, 41.3)])
        );
        absent(&analyze_text(&text), RuleId::BUSBW_TWO_NODE_TREE);
        let text = format!(
            "mpirun -x NCCL_ALGO=^Tree ./x\n{}",
            run("A100-SXM4-40GB", &["a", "b"], &[(1 << 30, 41.3)])
        );
        absent(&analyze_text(&text), RuleId::BUSBW_TWO_NODE_TREE);
    }

    #[test]
    fn nccltests_wrong_results() {
        let a = analyze_text(
            "all_gather_perf -g 8 -b 4294967296 -e 4294967296 -n 100\n\
             \x20      size         count    type     time   algbw   busbw  error     time   algbw   busbw  error\n\
             \x20       (B)    (elements)             (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)\n\
             \x20 4294967296     134217728   float    29122  129.05  129.05  1e+00    29169  128.84  128.84  1e+00\n\
             \x20Out of bounds values : 2 FAILED\n\
             \x20Avg bus bandwidth    : 128.942\n",
        );
        let f = expect(&a, RuleId::NCCLTESTS_WRONG, Severity::Critical);
        assert!(f.evidence.iter().any(|e| e.text.contains("Out of bounds values : 2 FAILED")));
        let text = run("A100-SXM4-40GB", &["a"], &[(1 << 30, 200.0)])
            .replace("200.00      0   1000.0", "200.00      3   1000.0");
        let f = expect(&analyze_text(&text), RuleId::NCCLTESTS_WRONG, Severity::Critical).clone();
        assert!(f.message.contains("1 row(s)"), "{}", f.message);
    }

    #[test]
    fn nccltests_wrong_absent_when_ok() {
        let a = analyze_text(&run("A100-SXM4-40GB", &["a", "b"], &[(1 << 30, 78.0)]));
        absent(&a, RuleId::NCCLTESTS_WRONG);
    }
}
