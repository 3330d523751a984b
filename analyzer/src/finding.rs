//! Findings and the evidence that proves them.
use serde::Serialize;

use ncclscope_parser::{InputId, Position};

use crate::catalog::{RuleId, Severity};

/// Longest evidence text kept; the rest is cut (a WARN line is never this long, a pasted
/// one-line JSON blob can be).
pub const EVIDENCE_TEXT_MAX: usize = 400;

/// One input line that proves a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Evidence {
    pub input: InputId,
    pub pos: Position,
    pub text: Box<str>,
}

impl Evidence {
    pub fn new(input: InputId, pos: Position, text: &str) -> Self {
        let text = if text.len() > EVIDENCE_TEXT_MAX {
            let mut cut = EVIDENCE_TEXT_MAX;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}…", &text[..cut]).into_boxed_str()
        } else {
            text.into()
        };
        Self { input, pos, text }
    }
}

/// A diagnosis: rule, severity, what it means, the fix, who is affected, the proof.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: RuleId,
    pub severity: Severity,
    pub message: String,
    pub hosts: Vec<String>,
    pub ranks: Vec<u32>,
    /// The first few proving lines (grouped: see `evidence_total`).
    pub evidence: Vec<Evidence>,
    /// How many lines proved it in all (evidence holds at most [`MAX_EVIDENCE`] of them).
    pub evidence_total: usize,
}

/// Evidence lines kept per finding: repeated evidence across 1000 ranks is grouped.
pub const MAX_EVIDENCE: usize = 8;

impl Finding {
    pub fn new(rule: RuleId, message: impl Into<String>) -> Self {
        Self {
            rule,
            severity: rule.info().severity,
            message: message.into(),
            hosts: Vec::new(),
            ranks: Vec::new(),
            evidence: Vec::new(),
            evidence_total: 0,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds evidence lines. When there are more than fit, they are sampled evenly across the
    /// list (which is in input order), so the first line and lines from later hosts/ranks show.
    pub fn evidence<'a>(mut self, ev: impl IntoIterator<Item = &'a Evidence>) -> Self {
        let all: Vec<&Evidence> = ev.into_iter().collect();
        let room = MAX_EVIDENCE.saturating_sub(self.evidence.len()).max(1);
        if all.len() <= room {
            all.into_iter().for_each(|e| self.push_evidence(e));
            return self;
        }
        let picked: Vec<usize> = (0..room).map(|i| i * all.len() / room).collect();
        for (i, e) in all.iter().enumerate() {
            if picked.contains(&i) {
                self.push_evidence(e);
            } else {
                self.evidence_total += 1;
            }
        }
        self
    }

    pub fn push_evidence(&mut self, e: &Evidence) {
        self.evidence_total += 1;
        if self.evidence.len() < MAX_EVIDENCE && !self.evidence.contains(e) {
            self.evidence.push(e.clone());
        }
    }

    /// Hosts and ranks of the processes this finding affects.
    pub fn affecting(
        self,
        job: &crate::model::Job,
        procs: impl IntoIterator<Item = crate::model::ProcId>,
    ) -> Self {
        let procs: Vec<crate::model::ProcId> = procs.into_iter().collect();
        let hosts = job.hosts_of(procs.iter().copied());
        self.hosts(hosts).ranks(job.ranks_of(procs))
    }

    pub fn hosts(mut self, hosts: impl IntoIterator<Item = String>) -> Self {
        self.hosts.extend(hosts);
        self.hosts.sort();
        self.hosts.dedup();
        self
    }

    pub fn ranks(mut self, ranks: impl IntoIterator<Item = u32>) -> Self {
        self.ranks.extend(ranks);
        self.ranks.sort_unstable();
        self.ranks.dedup();
        self
    }
}

/// The serialized form of one evidence line (report.md: path, line, text).
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceOut<'a> {
    pub path: &'a str,
    pub line: u64,
    pub offset: u64,
    pub text: &'a str,
}
