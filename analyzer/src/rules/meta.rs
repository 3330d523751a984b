//! Meta: what could not be read, and what could not be checked.
use ncclscope_parser::InputKind;

use super::{Ctx, Rule};
use crate::catalog::RuleId;
use crate::finding::{Evidence, Finding};

pub struct InsufficientLogging;

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
        let mut missing: Vec<String> = Vec::new();
        let mut vars: Vec<&str> = Vec::new();
        if cov.info_lines == 0 {
            let what = if cov.warn_lines > 0 { "only NCCL WARN lines" } else { "no NCCL INFO line" };
            missing.push(format!(
                "the logs hold {what}, so transport, GPUDirect, environment, init and topology checks (NET_SOCKET_FALLBACK, GDR_DISABLED, ENV_DEBUG_OVERRIDE, INIT_INCOMPLETE, …) could not run"
            ));
            vars.push("NCCL_DEBUG=INFO");
        } else {
            if !cov.net {
                missing.push("no NET lines (NET/IB, NET/Socket, NET/OFI, `Using network`): transport checks (NET_SOCKET_FALLBACK, IB_NO_DEVICE, OFI_PROVIDER_NOT_EFA) are blind".into());
                vars.push("NCCL_DEBUG_SUBSYS=INIT,NET");
            }
            if !cov.init {
                missing.push("no INIT lines (Bootstrap, `comm … Init COMPLETE`): hang triage (INIT_INCOMPLETE) is impossible".into());
                vars.push("NCCL_DEBUG_SUBSYS=INIT");
            }
            if !cov.graph {
                missing.push("no GRAPH lines (rings, channel connections, topology): NIC usage, GPUDirect-per-channel and topology checks could not run".into());
                vars.push("NCCL_DEBUG_SUBSYS=GRAPH");
            }
            if !cov.env {
                missing.push("no ENV echo lines (`… set by environment to …`): overrides (ENV_DEBUG_OVERRIDE, ENV_LEGACY_EFA) are only seen where a command line shows them".into());
                vars.push("NCCL_DEBUG_SUBSYS=ENV");
            }
        }
        if missing.is_empty() {
            return;
        }
        let evidence: Vec<Evidence> = job.procs.iter().filter_map(|p| p.first_line.clone()).take(1).collect();
        let mut f = Finding::new(
            self.id(),
            format!(
                "Some checks could not be made: {}. Rerun with NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,GRAPH,ENV,NET,TUNING (and NCCL_TOPO_DUMP_FILE=/path/topo.%h.xml) to let ncclscope check everything.",
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
