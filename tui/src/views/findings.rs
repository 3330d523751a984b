//! Findings: the list sorted by severity, and the selected finding's message, remedy, who is
//! affected and the evidence lines (focusable: Enter opens Logs at the line).
use std::collections::BTreeSet;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, MouseEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use ncclscope_analyzer::model::short_list;
use ncclscope_analyzer::Analysis;

use super::{clean, selected_style, severity_style, severity_symbol, ListNav};
use crate::action::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    List,
    Evidence,
}

pub struct FindingsView {
    analysis: Arc<Analysis>,
    /// Indices into `analysis.findings`, most severe first (stable: the analyzer's order
    /// within a severity).
    order: Vec<usize>,
    nav: ListNav,
    evidence: ListNav,
    focus: Focus,
    /// Marked findings (indices into `analysis.findings`) for the Markdown export.
    marked: BTreeSet<usize>,
}

impl FindingsView {
    pub fn new(analysis: Arc<Analysis>) -> Self {
        let mut order: Vec<usize> = (0..analysis.findings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(analysis.findings[i].severity));
        let nav = ListNav::new(order.len());
        let first_evidence = order.first().map_or(0, |&i| analysis.findings[i].evidence.len());
        Self {
            analysis,
            order,
            nav,
            evidence: ListNav::new(first_evidence),
            focus: Focus::List,
            marked: BTreeSet::new(),
        }
    }

    /// The finding under the cursor (index into `analysis.findings`).
    pub fn selected(&self) -> Option<usize> {
        self.order.get(self.nav.selected).copied()
    }

    /// Puts the cursor on finding `i` (index into `analysis.findings`), focus on the list.
    pub fn select(&mut self, i: usize) {
        if let Some(pos) = self.order.iter().position(|&j| j == i) {
            self.nav.selected = pos;
            self.focus = Focus::List;
            self.reset_evidence();
        }
    }

    /// Findings for `m`: the marked ones, else all (indices into `analysis.findings`).
    pub fn export_selection(&self) -> Vec<usize> {
        if self.marked.is_empty() {
            (0..self.analysis.findings.len()).collect()
        } else {
            self.marked.iter().copied().collect()
        }
    }

    pub fn marked_count(&self) -> usize {
        self.marked.len()
    }

    /// Whether Esc/arrow keys belong to the evidence pane right now.
    pub fn evidence_focused(&self) -> bool {
        self.focus == Focus::Evidence
    }

    fn reset_evidence(&mut self) {
        let n = self.selected().map_or(0, |i| self.analysis.findings[i].evidence.len());
        self.evidence = ListNav::new(n);
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        match self.focus {
            Focus::List => {
                if self.nav.handle_key(&key) {
                    self.reset_evidence();
                    return Some(Action::Handled);
                }
                match key.code {
                    KeyCode::Char(' ') => {
                        let i = self.selected()?;
                        if !self.marked.remove(&i) {
                            self.marked.insert(i);
                        }
                        self.nav.down(1);
                        self.reset_evidence();
                        Some(Action::Status(format!("{} finding(s) marked for `m`", self.marked.len())))
                    }
                    KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => {
                        if self.evidence.len == 0 {
                            return Some(Action::Status("this finding has no evidence lines".into()));
                        }
                        self.focus = Focus::Evidence;
                        Some(Action::Handled)
                    }
                    _ => None,
                }
            }
            Focus::Evidence => {
                if self.evidence.handle_key(&key) {
                    return Some(Action::Handled);
                }
                match key.code {
                    KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => {
                        self.focus = Focus::List;
                        Some(Action::Handled)
                    }
                    KeyCode::Enter => {
                        let f = &self.analysis.findings[self.selected()?];
                        let e = f.evidence.get(self.evidence.selected)?;
                        Some(Action::OpenLog { input: e.input, line: e.pos.line })
                    }
                    _ => None,
                }
            }
        }
    }

    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        if self.nav.handle_mouse(&ev) {
            self.focus = Focus::List;
            self.reset_evidence();
            return true;
        }
        if self.evidence.handle_mouse(&ev) {
            self.focus = Focus::Evidence;
            return true;
        }
        false
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let [list_area, detail_area] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
        let title = if self.marked.is_empty() {
            format!(" Findings ({}) — space marks for m ", self.order.len())
        } else {
            format!(" Findings ({}, {} marked) ", self.order.len(), self.marked.len())
        };
        let list_block =
            Block::default().borders(Borders::ALL).title(title).border_style(if self.focus == Focus::List {
                Style::default().fg(Color::Cyan)
            } else {
                Style::default()
            });
        if self.order.is_empty() {
            f.render_widget(Paragraph::new("No findings.").block(list_block), list_area);
            f.render_widget(Block::default().borders(Borders::ALL).title(" Detail "), detail_area);
            return;
        }
        let inner = list_block.inner(list_area);
        let offset = self.nav.layout(inner);
        let items: Vec<ListItem> = self
            .order
            .iter()
            .map(|&i| {
                let fnd = &self.analysis.findings[i];
                let (sym, _, _) = severity_symbol(fnd.severity);
                let mark = if self.marked.contains(&i) { "[x] " } else { "[ ] " };
                ListItem::new(Line::from(vec![
                    Span::raw(mark),
                    Span::styled(format!("{sym} "), severity_style(fnd.severity)),
                    Span::styled(fnd.rule.as_str(), severity_style(fnd.severity)),
                    Span::raw(format!("  {}", fnd.rule.info().title)),
                ]))
            })
            .collect();
        let mut state = ListState::default().with_offset(offset).with_selected(Some(self.nav.selected));
        f.render_stateful_widget(
            List::new(items).block(list_block).highlight_style(selected_style()),
            list_area,
            &mut state,
        );
        self.draw_detail(f, detail_area);
    }

    fn draw_detail(&self, f: &mut Frame, area: Rect) {
        let Some(i) = self.selected() else { return };
        let fnd = &self.analysis.findings[i];
        let info = fnd.rule.info();
        let (sym, word, _) = severity_symbol(fnd.severity);
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let mut text: Vec<Line> = vec![
            Line::from(vec![
                Span::styled(format!("{sym} {} ", word.to_ascii_uppercase()), severity_style(fnd.severity)),
                Span::styled(fnd.rule.as_str(), bold),
                Span::raw(format!(" — {}", info.title)),
            ]),
            Line::raw(""),
            Line::raw(clean(&fnd.message).into_owned()),
        ];
        if info.remedy != "—" {
            text.push(Line::raw(""));
            text.push(Line::from(vec![
                Span::styled("Fix: ", Style::default().fg(Color::Green).add_modifier(Modifier::BOLD)),
                Span::raw(info.remedy),
            ]));
        }
        if !fnd.hosts.is_empty() || !fnd.ranks.is_empty() {
            text.push(Line::raw(""));
        }
        if !fnd.hosts.is_empty() {
            text.push(Line::from(vec![
                Span::styled("Hosts: ", bold),
                Span::raw(clean(&short_list(&fnd.hosts, 6)).into_owned()),
            ]));
        }
        if !fnd.ranks.is_empty() {
            let shown: Vec<String> = fnd.ranks.iter().take(24).map(u32::to_string).collect();
            let more = if fnd.ranks.len() > 24 {
                format!(" … ({} in all)", fnd.ranks.len())
            } else {
                String::new()
            };
            text.push(Line::from(vec![
                Span::styled("Ranks: ", bold),
                Span::raw(format!("{}{more}", shown.join(" "))),
            ]));
        }
        let block = Block::default().borders(Borders::ALL).title(" Detail ");
        let inner = block.inner(area);
        f.render_widget(block, area);
        // The evidence list gets what the wrapped text leaves, at least 3 rows.
        let width = inner.width.max(1) as usize;
        let text_rows: usize = text.iter().map(|l| l.width().max(1).div_ceil(width)).sum();
        let evidence_rows = (fnd.evidence.len() + 2) as u16;
        let text_height = (text_rows as u16).min(inner.height.saturating_sub(evidence_rows.min(5)));
        let [text_area, ev_area] =
            Layout::vertical([Constraint::Length(text_height), Constraint::Min(0)]).areas(inner);
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), text_area);

        let more = if fnd.evidence_total > fnd.evidence.len() {
            format!(", {} more not shown", fnd.evidence_total - fnd.evidence.len())
        } else {
            String::new()
        };
        let focused = self.focus == Focus::Evidence;
        let ev_block = Block::default()
            .borders(Borders::TOP)
            .title(format!(
                " Evidence ({}{more}){} ",
                fnd.evidence.len(),
                if focused { " — Enter opens in Logs" } else { " — → to select" }
            ))
            .border_style(if focused { Style::default().fg(Color::Cyan) } else { Style::default() });
        // Evidence rows are cut at the pane's width: the one under the cursor is also shown
        // whole, wrapped, below the list.
        let [ev_area, full_area] =
            Layout::vertical([Constraint::Length(fnd.evidence.len() as u16 + 1), Constraint::Min(0)])
                .areas(ev_area);
        if let Some(e) = fnd.evidence.get(self.evidence.selected) {
            let full = vec![
                Line::styled(
                    format!("{}:{}", clean(self.analysis.path(e.input)), e.pos.line),
                    Style::default().fg(Color::DarkGray),
                ),
                Line::raw(clean(&e.text).into_owned()),
            ];
            f.render_widget(
                Paragraph::new(full)
                    .wrap(Wrap { trim: false })
                    .block(Block::default().borders(Borders::TOP).title(" Line ")),
                full_area,
            );
        }
        let ev_inner = ev_block.inner(ev_area);
        let offset = self.evidence.layout(ev_inner);
        let items: Vec<ListItem> = fnd
            .evidence
            .iter()
            .map(|e| {
                ListItem::new(Line::from(vec![
                    Span::styled(
                        format!("{}:{} ", clean(self.analysis.path(e.input)), e.pos.line),
                        Style::default().fg(Color::DarkGray),
                    ),
                    Span::raw(clean(&e.text).into_owned()),
                ]))
            })
            .collect();
        let mut state = ListState::default().with_offset(offset).with_selected(if focused {
            Some(self.evidence.selected)
        } else {
            None
        });
        f.render_stateful_widget(
            List::new(items).block(ev_block).highlight_style(selected_style()),
            ev_area,
            &mut state,
        );
    }
}
