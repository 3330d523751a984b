//! The JSON report: exactly the contract of ../shared/spec/report.md (fields may be added,
//! never renamed).
use serde::Serialize;

use super::{bandwidth, job_summary, BandwidthPoint, JobSummary, SCHEMA};
use crate::catalog::Severity;
use crate::finding::EvidenceOut;
use crate::Analysis;
use ncclscope_parser::InputWarning;

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    tool: Tool,
    inputs: Vec<InputOut<'a>>,
    job: JobSummary,
    findings: Vec<FindingOut<'a>>,
    gpu_nic_map: Vec<super::topo::GpuNicOut>,
    bandwidth: Vec<BandwidthPoint>,
    /// Added field: the UCX section, present only when the inputs hold UCX lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    ucx: Option<super::ucx::UcxOut>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct InputOut<'a> {
    path: &'a str,
    kind: &'static str,
    bytes: u64,
    lines: u64,
    warnings: &'a [InputWarning],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    skipped: bool,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: crate::RuleId,
    severity: Severity,
    title: &'static str,
    message: &'a str,
    remedy: &'static str,
    hosts: &'a [String],
    ranks: &'a [u32],
    evidence: Vec<EvidenceOut<'a>>,
    /// Lines that proved it in all; `evidence` holds the first few.
    evidence_total: usize,
}

pub fn render(a: &Analysis) -> String {
    let report = Report {
        schema: SCHEMA,
        tool: Tool { name: "ncclscope", version: env!("CARGO_PKG_VERSION") },
        inputs: a
            .inputs
            .iter()
            .map(|s| InputOut {
                path: &s.path,
                kind: s.kind.as_str(),
                bytes: s.bytes,
                lines: s.lines,
                warnings: &s.warnings,
                error: s.error.as_deref(),
                skipped: s.skipped,
            })
            .collect(),
        job: job_summary(a),
        findings: a
            .findings
            .iter()
            .map(|f| {
                let info = f.rule.info();
                FindingOut {
                    rule: f.rule,
                    severity: f.severity,
                    title: info.title,
                    message: &f.message,
                    remedy: info.remedy,
                    hosts: &f.hosts,
                    ranks: &f.ranks,
                    evidence: f
                        .evidence
                        .iter()
                        .map(|e| EvidenceOut {
                            path: a.path(e.input),
                            line: e.pos.line,
                            offset: e.pos.offset,
                            text: &e.text,
                        })
                        .collect(),
                    evidence_total: f.evidence_total,
                }
            })
            .collect(),
        gpu_nic_map: super::topo::gpu_nic_map(a),
        bandwidth: bandwidth(a),
        ucx: super::ucx::ucx_section(a),
    };
    // Serialising plain data with string keys cannot fail; fall back to a valid document.
    escape_c1(
        serde_json::to_string_pretty(&report)
            .unwrap_or_else(|e| format!("{{\"schema\":\"{SCHEMA}\",\"error\":{:?}}}", e.to_string())),
    )
}

/// serde_json escapes C0 controls but writes DEL and the C1 controls (U+0080–U+009F, 8-bit
/// CSI/OSC to terminals that honour them) as they are. They can only occur inside strings (file
/// names are not sanitized: JSON keeps the real path), where `\u00XX` means the same: JSON piped
/// to a terminal stays inert (issue 7).
pub fn escape_c1(json: String) -> String {
    if !json.contains(|c: char| ('\u{7f}'..='\u{9f}').contains(&c)) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}
