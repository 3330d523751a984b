//! Overview: the job at a glance. Each line knows which view explains it (Enter goes there).
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use ncclscope_analyzer::model::short_list;
use ncclscope_analyzer::platform::Confidence;
use ncclscope_analyzer::report::{bandwidth, counts, job_summary};
use ncclscope_analyzer::Analysis;

use super::{clean, selected_style, severity_style, severity_symbol, ListNav};
use crate::action::{Action, ViewId};

/// Findings named on the Overview (the rest are counted).
const OVERVIEW_FINDINGS: usize = 8;

/// One Overview line: its label, its value (styled spans) and the view that explains it.
struct OverviewLine {
    label: &'static str,
    value: Vec<Span<'static>>,
    target: Option<ViewId>,
    /// A finding's own line: Enter selects it in Findings.
    finding: Option<usize>,
}

pub struct OverviewView {
    lines: Vec<OverviewLine>,
    nav: ListNav,
}

fn plain(s: impl Into<String>) -> Vec<Span<'static>> {
    vec![Span::raw(s.into())]
}

impl OverviewView {
    pub fn new(a: &Arc<Analysis>) -> Self {
        let job = job_summary(a);
        let mut lines: Vec<OverviewLine> = Vec::new();
        // A macro, not a closure: a closure would hold `lines` borrowed across the finding
        // lines, which set their `finding` after the push.
        macro_rules! push {
            ($label:expr, $value:expr, $target:expr $(,)?) => {
                lines.push(OverviewLine { label: $label, value: $value, target: $target, finding: None })
            };
        }
        let total_lines: u64 = a.inputs.iter().map(|i| i.lines).sum();
        let unreadable = a.inputs.iter().filter(|i| i.error.is_some()).count();
        let mut inputs = format!("{} file(s), {} lines", a.inputs.len(), total_lines);
        if unreadable > 0 {
            inputs.push_str(&format!(", {unreadable} unreadable"));
        }
        push!("inputs", plain(inputs), Some(ViewId::Logs));
        let hosts = if job.hosts.is_empty() { "-".to_string() } else { short_list(&job.hosts, 4) };
        push!("hosts", plain(format!("{} ({})", job.hosts.len(), clean(&hosts))), Some(ViewId::Ranks));
        push!("ranks", plain(job.ranks.to_string()), Some(ViewId::Ranks));
        for c in &job.communicators {
            let stuck = c.ranks_complete < c.nranks as usize;
            let state = if stuck {
                Span::styled(
                    format!(
                        "  STUCK: {} of {} ranks never completed init",
                        (c.nranks as usize).saturating_sub(c.ranks_complete),
                        c.nranks
                    ),
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::styled("  complete", Style::default().fg(Color::Green))
            };
            push!(
                "comm",
                vec![
                    Span::raw(format!(
                        "{} nranks {} complete {}/{}",
                        clean(&c.id),
                        c.nranks,
                        c.ranks_complete,
                        c.ranks_seen
                    )),
                    state,
                ],
                Some(ViewId::Ranks),
            );
        }
        if !job.nccl_versions.is_empty() {
            push!("nccl", plain(clean(&job.nccl_versions.join(", ")).into_owned()), Some(ViewId::Ranks));
        }
        let mut net = job.net.clone().unwrap_or_else(|| "-".into());
        if let Some(p) = &job.net_plugin {
            net.push_str(&format!(" via {p}"));
        }
        if let Some(p) = &job.ofi_provider {
            net.push_str(&format!(" (provider {p})"));
        }
        let net_style = if job.net.as_deref() == Some("socket") {
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        push!("network", vec![Span::styled(clean(&net).into_owned(), net_style)], Some(ViewId::Topology));
        if let Some(t) = &job.instance_type {
            let guess =
                if job.instance_type_confidence == Some(Confidence::Guess) { "guessed: " } else { "" };
            let basis = job.instance_type_basis.as_deref().unwrap_or("?");
            push!(
                "platform",
                plain(format!("{} ({guess}{})", clean(t), clean(basis))),
                Some(ViewId::Bandwidth),
            );
        }
        let topo = &a.job.topology;
        let map = &topo.map.entries;
        if !topo.hosts.is_empty() || !topo.smi.is_empty() || !map.is_empty() {
            let mismatches = map.iter().filter(|e| e.mismatch()).count();
            let mut value = plain(format!(
                "{} host dump(s), {} nvidia-smi matrix(es), {} GPU↔NIC row(s)",
                topo.hosts.len(),
                topo.smi.len(),
                map.len()
            ));
            if mismatches > 0 {
                value.push(Span::styled(
                    format!(", {mismatches} NIC mismatch(es)"),
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                ));
            }
            push!("topology", value, Some(ViewId::Topology));
        }
        let mut findings: Vec<Span<'static>> = Vec::new();
        for (s, n) in counts(&a.findings) {
            let (sym, word, _) = severity_symbol(s);
            findings.push(Span::styled(format!("{sym} {n} {word}"), severity_style(s)));
            findings.push(Span::raw("  "));
        }
        findings.pop();
        push!("findings", findings, Some(ViewId::Findings));
        // The most severe findings by name, so the verdict is on the first screen.
        let mut order: Vec<usize> = (0..a.findings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(a.findings[i].severity));
        for &i in order.iter().take(OVERVIEW_FINDINGS) {
            let f = &a.findings[i];
            let (sym, _, _) = severity_symbol(f.severity);
            push!(
                "",
                vec![
                    Span::styled(format!("  {sym} {}", f.rule.as_str()), severity_style(f.severity)),
                    Span::raw(format!("  {}", f.rule.info().title)),
                ],
                Some(ViewId::Findings),
            );
            if let Some(line) = lines.last_mut() {
                line.finding = Some(i);
            }
        }
        if order.len() > OVERVIEW_FINDINGS {
            push!("", plain(format!("  … {} more", order.len() - OVERVIEW_FINDINGS)), Some(ViewId::Findings));
        }
        for b in bandwidth(a) {
            let expected =
                b.expected_gbps.map_or(String::new(), |[l, h]| format!(" (expected {l:.0}–{h:.0})"));
            let low = b.expected_gbps.is_some_and(|[l, _]| b.busbw_gbps < l);
            let verdict = match b.expected_gbps {
                None => Span::raw(""),
                Some(_) if low => Span::styled(
                    "  BELOW EXPECTED",
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                ),
                Some(_) => Span::styled("  ok", Style::default().fg(Color::Green)),
            };
            push!(
                "busbw",
                vec![
                    Span::raw(format!(
                        "{} {:.2} GB/s at {} B{}  [{}]",
                        clean(b.op.as_deref().unwrap_or("?")),
                        b.busbw_gbps,
                        b.size_bytes,
                        expected,
                        clean(&b.path)
                    )),
                    verdict,
                ],
                Some(ViewId::Bandwidth),
            );
        }
        let nav = ListNav::new(lines.len());
        Self { lines, nav }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        if self.nav.handle_key(&key) {
            return Some(Action::Handled);
        }
        match key.code {
            KeyCode::Enter => {
                let line = self.lines.get(self.nav.selected)?;
                Some(match (line.finding, line.target) {
                    (Some(i), _) => Action::ShowFinding(i),
                    (None, Some(v)) => Action::SwitchView(v),
                    (None, None) => Action::Status("no view explains this line".into()),
                })
            }
            _ => None,
        }
    }

    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        self.nav.handle_mouse(&ev)
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let block =
            Block::default().borders(Borders::ALL).title(" Overview — Enter opens the view behind a line ");
        let inner = block.inner(area);
        let offset = self.nav.layout(inner);
        let lines: Vec<Line> = self
            .lines
            .iter()
            .enumerate()
            .skip(offset)
            .map(|(i, l)| {
                let mut spans = vec![Span::styled(
                    format!("{:<9} ", l.label),
                    Style::default().add_modifier(Modifier::BOLD),
                )];
                spans.extend(l.value.iter().cloned());
                if let Some(t) = l.target {
                    spans.push(Span::styled(
                        format!("  → {}", t.title()),
                        Style::default().fg(Color::DarkGray),
                    ));
                }
                let line = Line::from(spans);
                if i == self.nav.selected {
                    line.patch_style(selected_style())
                } else {
                    line
                }
            })
            .collect();
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
