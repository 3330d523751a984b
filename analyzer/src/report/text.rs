//! The terminal report.
use std::fmt::Write;

use ncclscope_parser::sanitize::sanitize_line;

use super::{bandwidth, counts, job_summary};
use crate::catalog::Severity;
use crate::Analysis;

/// Whether to colour: the caller decides (NO_COLOR, tty).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Symbol + word, so severity never rests on colour alone.
pub fn severity_label(s: Severity) -> (&'static str, &'static str, &'static str) {
    match s {
        Severity::Critical => ("✖", "CRITICAL", "1;31"),
        Severity::Warning => ("▲", "WARNING", "1;33"),
        Severity::Info => ("●", "INFO", "1;36"),
    }
}

/// Log-derived text is sanitized once more here: nothing from an input may drive the terminal.
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    sanitize_line(s)
}

pub fn render(a: &Analysis, style: Style) -> String {
    let mut o = String::new();
    let job = job_summary(a);
    let _ = writeln!(o, "{}", style.paint("1", "ncclscope report"));
    let total_lines: u64 = a.inputs.iter().map(|i| i.lines).sum();
    let _ = writeln!(o, "inputs   {} file(s), {} lines", a.inputs.len(), total_lines);
    // A directory of 1000 per-rank files: list the ones with something to say, then a few.
    const SHOWN: usize = 8;
    let notable = |i: usize| {
        let input = &a.inputs[i];
        input.error.is_some() || input.skipped || !input.warnings.is_empty()
    };
    let mut shown = 0;
    for (i, input) in a.inputs.iter().enumerate() {
        if shown >= SHOWN && !notable(i) {
            continue;
        }
        shown += 1;
        let mut extra = String::new();
        if let Some(e) = &input.error {
            extra = format!("  error: {e}");
        } else if input.skipped {
            extra = "  skipped (binary)".into();
        } else if !input.warnings.is_empty() {
            extra = format!("  {} warning(s)", input.warnings.len());
        }
        let _ = writeln!(o, "  {:<14} {}{}", input.kind.as_str(), clean(&input.path), clean(&extra));
    }
    if shown < a.inputs.len() {
        let _ = writeln!(o, "  … {} more input(s)", a.inputs.len() - shown);
    }
    let hosts = if job.hosts.is_empty() { "-".to_string() } else { crate::model::short_list(&job.hosts, 4) };
    let _ = writeln!(o, "hosts    {} ({})", job.hosts.len(), clean(&hosts));
    let _ = writeln!(o, "ranks    {}", job.ranks);
    if !job.nccl_versions.is_empty() {
        let _ = writeln!(o, "nccl     {}", clean(&job.nccl_versions.join(", ")));
    }
    let mut net = job.net.clone().unwrap_or_else(|| "-".into());
    if let Some(p) = &job.net_plugin {
        net.push_str(&format!(" via {p}"));
    }
    if let Some(p) = &job.ofi_provider {
        net.push_str(&format!(" (provider {p})"));
    }
    let _ = writeln!(o, "network  {}", clean(&net));
    if let Some(t) = &job.instance_type {
        let basis = job.instance_type_basis.as_deref().unwrap_or("?");
        let guess = if job.instance_type_confidence == Some(crate::platform::Confidence::Guess) {
            "guessed: "
        } else {
            ""
        };
        let source = job.instance_type_source.as_deref().unwrap_or("?");
        let from = if source == basis { basis.to_string() } else { format!("{basis}, {source}") };
        let _ = writeln!(o, "platform {} ({guess}{})", clean(t), clean(&from));
    }

    for c in &job.communicators {
        let _ = writeln!(
            o,
            "comm     {} nranks {} complete {}/{}",
            clean(&c.id),
            c.nranks,
            c.ranks_complete,
            c.ranks_seen
        );
    }
    for b in bandwidth(a) {
        let expected = b.expected_gbps.map_or(String::new(), |[l, h]| format!(" (expected {l:.0}–{h:.0})"));
        let _ = writeln!(
            o,
            "busbw    {} {:.2} GB/s at {} B{}  [{}]",
            b.op.as_deref().unwrap_or("?"),
            b.busbw_gbps,
            b.size_bytes,
            expected,
            clean(&b.path)
        );
    }
    // The machine, when a topology dump or nvidia-smi matrix was given (`ncclscope topo` has
    // the full tree).
    let topo = &a.job.topology;
    if !topo.hosts.is_empty() || !topo.smi.is_empty() {
        let _ = writeln!(o, "\ntopology (full tree: ncclscope topo)");
        for l in super::topo::render_summary(a).lines() {
            let _ = writeln!(o, "  {}", clean(l));
        }
        let _ = writeln!(o);
    }
    // UCX / NIXL: what each process selected per endpoint config (only with UCX lines).
    if let Some(u) = super::ucx::ucx_section(a) {
        let _ = writeln!(o, "\nucx (transports per endpoint config and feature)");
        for l in super::ucx::render_text(&u).lines() {
            let _ = writeln!(o, "  {}", clean(l));
        }
        let _ = writeln!(o);
    }
    let summary: Vec<String> = counts(&a.findings)
        .iter()
        .map(|(s, n)| {
            let (sym, word, code) = severity_label(*s);
            style.paint(code, &format!("{sym} {n} {}", word.to_ascii_lowercase()))
        })
        .collect();
    let _ = writeln!(o, "findings {}", summary.join("  "));
    for f in &a.findings {
        let info = f.rule.info();
        let (sym, word, code) = severity_label(f.severity);
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{} {}  {}",
            style.paint(code, &format!("{sym} {word}")),
            style.paint("1", f.rule.as_str()),
            info.title
        );
        let _ = writeln!(o, "  {}", clean(&f.message));
        if !f.hosts.is_empty() {
            let _ = writeln!(o, "  hosts: {}", clean(&crate::model::short_list(&f.hosts, 6)));
        }
        if !f.ranks.is_empty() {
            let shown: Vec<String> = f.ranks.iter().take(24).map(u32::to_string).collect();
            let more =
                if f.ranks.len() > 24 { format!(" … ({} in all)", f.ranks.len()) } else { String::new() };
            let _ = writeln!(o, "  ranks: {}{more}", shown.join(" "));
        }
        for e in &f.evidence {
            let loc = format!("{}:{}", a.path(e.input), e.pos.line);
            let _ = writeln!(o, "  {} {}", style.paint("2", &clean(&loc)), clean(&e.text));
        }
        if f.evidence_total > f.evidence.len() {
            let _ = writeln!(o, "  … {} more line(s)", f.evidence_total - f.evidence.len());
        }
        if info.remedy != "—" {
            let _ = writeln!(o, "  {} {}", style.paint("32", "fix:"), info.remedy);
        }
    }
    if a.findings.is_empty() {
        let _ = writeln!(o, "\nNo findings.");
    }
    o
}
