//! The Markdown report: pastes cleanly into a GitHub or Jira ticket.
use std::fmt::Write;

use super::{bandwidth, job_summary};
use crate::catalog::Severity;
use crate::finding::Finding;
use crate::Analysis;

/// Evidence blocks longer than this are folded in `<details>`.
const FOLD_AFTER: usize = 4;

/// Escapes text for a table cell or a paragraph: `|` would end a cell, backticks open code,
/// `<`/`>` open HTML (a log must not inject `<script>` or `<details>`), `*_[]#` format.
pub fn escape(s: &str) -> String {
    let s = ncclscope_parser::sanitize::sanitize_line(s);
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => o.push_str("\\|"),
            '`' => o.push_str("\\`"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '*' | '_' | '[' | ']' | '#' | '\\' => {
                o.push('\\');
                o.push(c);
            }
            _ => o.push(c),
        }
    }
    o
}

/// A code fence longer than any backtick run in the content, so evidence cannot close it.
fn fence(lines: &[String]) -> String {
    let longest =
        lines.iter().map(|l| l.split(|c| c != '`').map(str::len).max().unwrap_or(0)).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn badge(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🔴 critical",
        Severity::Warning => "🟠 warning",
        Severity::Info => "🔵 info",
    }
}

pub fn render(a: &Analysis) -> String {
    let all: Vec<&Finding> = a.findings.iter().collect();
    render_findings(a, &all)
}

/// The report with only `findings` (a selection of `a.findings`, e.g. the ones marked in the
/// TUI): the job summary is the whole job's, the counts and sections are the selection's.
pub fn render_findings(a: &Analysis, findings: &[&Finding]) -> String {
    let mut o = String::new();
    let job = job_summary(a);
    let _ = writeln!(o, "## ncclscope report\n");
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let c = [Severity::Critical, Severity::Warning, Severity::Info].map(|s| (s, n(s)));
    let _ = writeln!(o, "**{}** critical · **{}** warning · **{}** info\n", c[0].1, c[1].1, c[2].1);
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| Inputs | {} |", a.inputs.len());
    let _ = writeln!(
        o,
        "| Hosts | {} |",
        escape(&if job.hosts.is_empty() { "-".into() } else { crate::model::short_list(&job.hosts, 6) })
    );
    let _ = writeln!(o, "| Ranks | {} |", job.ranks);
    if !job.nccl_versions.is_empty() {
        let _ = writeln!(o, "| NCCL | {} |", escape(&job.nccl_versions.join(", ")));
    }
    if let Some(n) = &job.net {
        let _ = writeln!(o, "| Network | {} |", escape(n));
    }
    if let Some(p) = &job.net_plugin {
        let _ = writeln!(o, "| Net plugin | {} |", escape(p));
    }
    if let Some(t) = &job.instance_type {
        let _ = writeln!(o, "| Platform | {} |", escape(t));
    }
    for b in bandwidth(a) {
        let _ = writeln!(
            o,
            "| busbw {} | {:.2} GB/s at {} B |",
            escape(b.op.as_deref().unwrap_or("?")),
            b.busbw_gbps,
            b.size_bytes
        );
    }
    let topo = &a.job.topology;
    if !topo.hosts.is_empty() || !topo.smi.is_empty() {
        let _ = writeln!(
            o,
            "\n### Topology\n\n```text\n{}```",
            super::topo::render_summary(a).replace("```", "'''")
        );
    }
    if let Some(u) = super::ucx::ucx_section(a) {
        let body = super::ucx::render_text(&u);
        let lines: Vec<String> =
            body.lines().map(|l| ncclscope_parser::sanitize::sanitize_line(l).into_owned()).collect();
        let fence = fence(&lines);
        let _ = writeln!(
            o,
            "\n### UCX\n\nTransports per endpoint config and feature; TCP to other hosts and emulated paths are marked.\n\n{fence}text\n{}\n{fence}",
            lines.join("\n")
        );
    }
    if findings.is_empty() {
        let _ = writeln!(o, "\nNo findings.");
        return o;
    }
    let _ = writeln!(o, "\n| Severity | Rule | Title | Hosts | Ranks |\n|---|---|---|---|---|");
    for f in findings {
        let _ = writeln!(
            o,
            "| {} | `{}` | {} | {} | {} |",
            badge(f.severity),
            f.rule.as_str(),
            escape(f.rule.info().title),
            f.hosts.len(),
            f.ranks.len()
        );
    }
    for f in findings {
        let info = f.rule.info();
        let _ = writeln!(o, "\n### {} `{}` — {}\n", badge(f.severity), f.rule.as_str(), escape(info.title));
        let _ = writeln!(o, "{}\n", escape(&f.message));
        if !f.hosts.is_empty() {
            let _ = writeln!(o, "**Hosts:** {}  ", escape(&crate::model::short_list(&f.hosts, 8)));
        }
        if !f.ranks.is_empty() {
            let shown: Vec<String> = f.ranks.iter().take(32).map(u32::to_string).collect();
            let more =
                if f.ranks.len() > 32 { format!(" … ({} in all)", f.ranks.len()) } else { String::new() };
            let _ = writeln!(o, "**Ranks:** {}{more}  ", shown.join(", "));
        }
        if info.remedy != "—" {
            let _ = writeln!(o, "**Fix:** {}\n", escape(info.remedy));
        }
        let lines: Vec<String> = f
            .evidence
            .iter()
            .map(|e| {
                let text = ncclscope_parser::sanitize::sanitize_line(&e.text);
                format!(
                    "{}:{}: {}",
                    ncclscope_parser::sanitize::sanitize_line(a.path(e.input)),
                    e.pos.line,
                    text
                )
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let fence = fence(&lines);
        let more = if f.evidence_total > f.evidence.len() {
            format!("… {} more line(s)\n", f.evidence_total - f.evidence.len())
        } else {
            String::new()
        };
        let block = format!("{fence}text\n{}\n{more}{fence}", lines.join("\n"));
        if lines.len() > FOLD_AFTER {
            let _ = writeln!(
                o,
                "<details><summary>Evidence ({} lines)</summary>\n\n{block}\n\n</details>",
                f.evidence_total
            );
        } else {
            let _ = writeln!(o, "Evidence:\n\n{block}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_table_and_html() {
        assert_eq!(escape("a|b `c` <script>"), "a\\|b \\`c\\` &lt;script&gt;");
        assert_eq!(fence(&["x ``` y".to_string()]), "````");
    }
}
