//! Meta: what could not be read, and what could not be checked.
use std::collections::{BTreeMap, BTreeSet};

use ncclscope_parser::InputKind;

use super::{Ctx, Rule, Subsystem, REGISTRY};
use crate::catalog::RuleId;
use crate::finding::{Evidence, Finding};

pub struct InsufficientLogging;

/// Whether the logs show lines of a subsystem.
fn logged(cov: &crate::model::Coverage, s: Subsystem) -> bool {
    if cov.info_lines == 0 {
        return false;
    }
    match s {
        Subsystem::Info => true,
        Subsystem::Init => cov.init,
        Subsystem::Net => cov.net,
        Subsystem::Graph => cov.graph,
        Subsystem::Env => cov.env,
    }
}

/// Rules whose GRAPH need a topology input meets on its own: a topology XML (dump or
/// NCCL_TOPO_FILE) feeds the graph, GPU↔NIC locality, PCI links, NVLink and affinity checks;
/// an `nvidia-smi topo -m` matrix feeds the GPU↔NIC locality check.
fn graph_fed_by_topology(id: RuleId, topo: &crate::topology::Topology) -> bool {
    let xml = topo.hosts.iter().any(|h| h.source == crate::topology::TopoSource::Xml);
    match id {
        RuleId::GPU_NIC_CROSS_NUMA => xml || !topo.smi.is_empty(),
        RuleId::PCI_LINK_DEGRADED
        | RuleId::TOPOLOGY_HIDDEN
        | RuleId::NVLINK_TOPO_ANOMALY
        | RuleId::TOPO_AFFINITY_SUSPECT
        | RuleId::GDR_DISABLED
        | RuleId::NIC_UNDERUSED
        | RuleId::EFA_PARTIAL_ALLOCATION => xml,
        _ => false,
    }
}

fn what_is_missing(s: Subsystem) -> &'static str {
    match s {
        Subsystem::Info => "no NCCL INFO line (error unwinds, HINTs)",
        Subsystem::Init => "no INIT lines (Bootstrap, `comm … Init COMPLETE`, channel connections)",
        Subsystem::Net => "no NET lines (NET/IB, NET/Socket, NET/OFI, `Using network`)",
        Subsystem::Graph => "no GRAPH lines (topology printout, rings/trees, GPU-NIC paths)",
        Subsystem::Env => {
            "no ENV echo lines (`… set by environment to …`; NCCL echoes only variables that are set, so overrides were checked against command lines only)"
        }
    }
}

fn ids(list: &[RuleId]) -> String {
    list.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", ")
}

/// `NCCL_DEBUG_SUBSYS` must name every subsystem some rule reads: setting it replaces the
/// default (INIT, plus ENV from 2.17 and BOOTSTRAP from 2.23), it does not add to it.
fn debug_subsys_value() -> String {
    let mut subs: BTreeSet<Subsystem> = REGISTRY.iter().flat_map(|r| r.needs().iter().copied()).collect();
    subs.extend([Subsystem::Init, Subsystem::Env]);
    subs.into_iter().filter_map(Subsystem::debug_subsys).collect::<Vec<_>>().join(",")
}

impl Rule for InsufficientLogging {
    fn id(&self) -> RuleId {
        RuleId::INSUFFICIENT_LOGGING
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // UCX, NIXL and topology inputs are complete on their own; anything else (NCCL logs,
        // nccl-tests output, unrecognised text) is expected to carry NCCL's lines.
        let expects_nccl = ctx.inputs.iter().any(|i| {
            matches!(i.kind, InputKind::NcclLog | InputKind::NcclTests | InputKind::Unknown)
                && i.error.is_none()
        });
        if !expects_nccl {
            return;
        }
        let job = ctx.job;
        let cov = &job.coverage;
        // A rule that reported anyway found its evidence elsewhere (lspci lines, a command
        // line): it was checked. Rules run in REGISTRY order and this one comes after the
        // NCCL-log rules, so their findings are already in `out`.
        let fired: BTreeSet<RuleId> = out.iter().map(|f| f.rule).collect();
        // In REGISTRY order; each rule under the first subsystem it misses.
        let mut not_checked: Vec<RuleId> = Vec::new();
        let mut blind: BTreeMap<Subsystem, Vec<RuleId>> = BTreeMap::new();
        for rule in REGISTRY {
            let id = rule.id();
            if fired.contains(&id) {
                continue;
            }
            let fed = |s: Subsystem| s == Subsystem::Graph && graph_fed_by_topology(id, &job.topology);
            if let Some(s) = rule.needs().iter().find(|s| !logged(cov, **s) && !fed(**s)) {
                blind.entry(*s).or_default().push(id);
                not_checked.push(id);
            }
        }
        if blind.is_empty() {
            return;
        }
        let mut missing: Vec<String> = Vec::new();
        if cov.info_lines == 0 {
            let what = if cov.warn_lines > 0 { "only NCCL WARN lines" } else { "no NCCL INFO line" };
            let all = not_checked;
            missing.push(format!(
                "the logs hold {what}, so {} checks could not run: {}",
                all.len(),
                ids(&all)
            ));
        } else {
            for (s, rules) in &blind {
                missing.push(format!("{}: {} could not be checked", what_is_missing(*s), ids(rules)));
            }
        }
        let mut vars = format!("NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS={}", debug_subsys_value());
        if blind.contains_key(&Subsystem::Graph) || cov.info_lines == 0 {
            // The topology dump feeds the same checks when the GRAPH printout is absent.
            vars.push_str(" NCCL_TOPO_DUMP_FILE=/path/topo.%h.xml");
        }
        let evidence: Vec<Evidence> = job.procs.iter().filter_map(|p| p.first_line.clone()).take(1).collect();
        let mut f = Finding::new(
            self.id(),
            format!(
                "Some checks could not be made: {}. Rerun with {vars} to let ncclscope check everything.",
                missing.join("; ")
            ),
        );
        f = f.evidence(evidence.iter());
        if f.evidence.is_empty() {
            // Nothing NCCL printed: the evidence is the inputs themselves (their first line).
            if let Some((i, input)) = ctx.inputs.iter().enumerate().find(|(_, i)| i.lines > 0) {
                f.push_evidence(&Evidence::new(
                    ncclscope_parser::InputId(u32::try_from(i).unwrap_or(u32::MAX)),
                    Default::default(),
                    &format!(
                        "{} ({}, {} lines, no NCCL INFO line)",
                        input.path,
                        input.kind.as_str(),
                        input.lines
                    ),
                ));
            }
        }
        out.push(f);
    }
}

pub struct ParseError;

impl Rule for ParseError {
    fn id(&self) -> RuleId {
        RuleId::PARSE_ERROR
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (i, input) in ctx.inputs.iter().enumerate() {
            let id = ncclscope_parser::InputId(i as u32);
            let mut problems: Vec<String> = Vec::new();
            if let Some(e) = &input.error {
                problems.push(format!("could not be read: {e}"));
            }
            if input.skipped {
                problems.push("looks binary and was skipped".into());
            }
            if input.error.is_none() && !input.skipped && input.kind == InputKind::Unknown && input.lines > 0
            {
                problems
                    .push("holds no NCCL, nccl-tests, UCX or topology output ncclscope recognises".into());
            }
            let mut f = Finding::new(self.id(), String::new());
            for w in &input.warnings {
                problems.push(match w.line {
                    Some(l) => format!("line {l}: {}", w.message),
                    None => w.message.clone(),
                });
                f.push_evidence(&Evidence::new(
                    id,
                    ncclscope_parser::Position { line: w.line.unwrap_or(0), offset: 0 },
                    &w.message,
                ));
            }
            if problems.is_empty() {
                continue;
            }
            f.message = format!("{}: {}.", input.path, problems.join("; "));
            if f.evidence.is_empty() {
                f.push_evidence(&Evidence::new(
                    id,
                    Default::default(),
                    &format!("{} ({})", input.path, problems[0]),
                ));
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, expect};
    use crate::catalog::{RuleId, Severity};

    #[test]
    fn insufficient_logging_names_rules_and_variables() {
        // nccl-tests output only (NCCL_DEBUG unset).
        let a = analyze_text(
            "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n\
             \x20 1073741824     268435456     float     sum      -1    26217   40.96   76.79      0    26194   40.99   76.86      0\n",
        );
        let f = expect(&a, RuleId::INSUFFICIENT_LOGGING, Severity::Info);
        for id in ["NET_SOCKET_FALLBACK", "GDR_DISABLED", "ENV_DEBUG_OVERRIDE", "INIT_INCOMPLETE"] {
            assert!(f.message.contains(id), "{id} not named: {}", f.message);
        }
        assert!(f.message.contains("NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET,GRAPH,ENV"), "{}", f.message);
        // INIT and NET logged, GRAPH not: only the graph checks are named.
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>\n\
             a:1:1 [0] NCCL INFO Using network IB\n\
             a:1:1 [0] NCCL INFO NCCL_IB_TIMEOUT set by environment to 22.\n",
        );
        let f = expect(&a, RuleId::INSUFFICIENT_LOGGING, Severity::Info);
        assert!(f.message.contains("no GRAPH lines") && f.message.contains("GDR_DISABLED"), "{}", f.message);
        assert!(!f.message.contains("NET_SOCKET_FALLBACK"), "{}", f.message);
    }

    #[test]
    fn a_topology_xml_meets_the_graph_need_of_topology_rules() {
        let log = "a:1:1 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>\n\
                   a:1:1 [0] NCCL INFO Using network IB\n\
                   a:1:1 [0] NCCL INFO NCCL_IB_TIMEOUT set by environment to 22.\n";
        let xml = "<system version=\"1\">\n  <cpu numaid=\"0\" affinity=\"0000ffff\" arch=\"x86_64\" vendor=\"AuthenticAMD\">\n    <pci busid=\"0000:11:00.0\" class=\"0x030200\" link_speed=\"16.0 GT/s PCIe\" link_width=\"16\">\n      <gpu dev=\"0\" sm=\"80\" rank=\"0\" gdr=\"1\"/>\n    </pci>\n  </cpu>\n</system>\n";
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rank.log"), log).expect("write");
        std::fs::write(dir.path().join("topo.xml"), xml).expect("write");
        let (specs, _) = ncclscope_parser::expand_paths(&[dir.path().to_path_buf()]);
        let a = crate::analyze(&specs, &[], &crate::Options::default());
        // Only rules that need the log's GRAPH lines themselves are left (none here).
        let f = super::super::testing::finding(&a, RuleId::INSUFFICIENT_LOGGING);
        for id in ["GPU_NIC_CROSS_NUMA", "PCI_LINK_DEGRADED", "NVLINK_TOPO_ANOMALY", "TOPO_AFFINITY_SUSPECT"]
        {
            assert!(
                f.is_none_or(|f| !f.message.contains(id)),
                "{id} still listed: {:?}",
                f.map(|f| &f.message)
            );
        }
        // Without the XML the same log leaves them unchecked.
        let bare = analyze_text(log);
        let f = expect(&bare, RuleId::INSUFFICIENT_LOGGING, Severity::Info);
        assert!(f.message.contains("GPU_NIC_CROSS_NUMA"), "{}", f.message);
    }

    #[test]
    fn insufficient_logging_absent_when_everything_is_logged() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>\n\
             a:1:1 [0] NCCL INFO Using network IB\n\
             a:1:1 [0] NCCL INFO NCCL_IB_TIMEOUT set by environment to 22.\n\
             a:1:1 [0] NCCL INFO === System : maxBw 24.0 totalBw 240.0 ===\n\
             a:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via P2P/IPC/read\n",
        );
        absent(&a, RuleId::INSUFFICIENT_LOGGING);
    }

    #[test]
    fn parse_error_for_a_cut_line_and_unknown_input() {
        let mut text = String::from("a:1:1 [0] NCCL INFO Using network IB\n");
        text.push_str(&"x".repeat(ncclscope_parser::MAX_LINE_BYTES + 10));
        text.push('\n');
        let a = analyze_text(&text);
        let f = expect(&a, RuleId::PARSE_ERROR, Severity::Warning);
        assert!(f.message.contains("line 2"), "{}", f.message);
        let a = analyze_text("just some application output\nnothing to see\n");
        expect(&a, RuleId::PARSE_ERROR, Severity::Warning);
    }

    #[test]
    fn no_parse_error_on_a_clean_log() {
        absent(&analyze_text("a:1:1 [0] NCCL INFO Using network IB\n"), RuleId::PARSE_ERROR);
    }
}
