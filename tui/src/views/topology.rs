//! Topology: per host the tree and GPU×NIC matrix (the text of `ncclscope topo`, one host
//! section per page), and the used-vs-nearest NIC table with mismatches marked.
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use ncclscope_analyzer::report::topo::{gpu_nic_map, render_text, GpuNicOut, LEGEND};
use ncclscope_analyzer::Analysis;

use super::clean;
use crate::action::Action;

/// One host (or nvidia-smi matrix) page.
struct Page {
    title: String,
    lines: Vec<String>,
    /// Indices into `rows` that belong to this page's host (all rows when none match).
    rows: Vec<usize>,
}

pub struct TopologyView {
    pages: Vec<Page>,
    rows: Vec<GpuNicOut>,
    page: usize,
    scroll: u16,
    content_area: std::cell::Cell<Rect>,
}

fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

impl TopologyView {
    pub fn new(a: &Arc<Analysis>) -> Self {
        let rows = gpu_nic_map(a);
        let topo = &a.job.topology;
        let text = render_text(a);
        // render_text writes one `== title` section per host then per nvidia-smi matrix, then
        // the legend and the map table (drawn here as a table): cut at the legend.
        let body = match text.find(LEGEND) {
            Some(i) => &text[..i],
            None => "",
        };
        let mut sections: Vec<(String, Vec<String>)> = Vec::new();
        for line in body.lines() {
            if let Some(title) = line.strip_prefix("== ") {
                sections.push((title.to_string(), Vec::new()));
            } else if let Some((_, lines)) = sections.last_mut() {
                lines.push(line.to_string());
            }
        }
        let all: Vec<usize> = (0..rows.len()).collect();
        let mut pages: Vec<Page> = sections
            .into_iter()
            .enumerate()
            .map(|(i, (title, mut lines))| {
                while lines.last().is_some_and(|l| l.trim().is_empty()) {
                    lines.pop();
                }
                let mine: Vec<usize> = match topo.hosts.get(i) {
                    Some(h) => {
                        let path = a.path(h.input);
                        let names: Vec<&str> = [h.host_name.as_deref(), Some(path), Some(file_name(path))]
                            .into_iter()
                            .flatten()
                            .collect();
                        (0..rows.len()).filter(|&r| names.contains(&rows[r].host.as_str())).collect()
                    }
                    None => Vec::new(),
                };
                Page { title, lines, rows: if mine.is_empty() { all.clone() } else { mine } }
            })
            .collect();
        if pages.is_empty() {
            let lines = if rows.is_empty() {
                text.lines().map(str::to_string).collect()
            } else {
                vec!["No topology dump or nvidia-smi matrix: only the NIC each GPU used, from the logs."
                    .to_string()]
            };
            pages.push(Page { title: "GPU ↔ NIC map".into(), lines, rows: all });
        }
        Self { pages, rows, page: 0, scroll: 0, content_area: Default::default() }
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        match key.code {
            KeyCode::Right | KeyCode::Char(']') | KeyCode::Char('l') => {
                self.page = (self.page + 1) % self.pages.len();
                self.scroll = 0;
            }
            KeyCode::Left | KeyCode::Char('[') | KeyCode::Char('h') => {
                self.page = (self.page + self.pages.len() - 1) % self.pages.len();
                self.scroll = 0;
            }
            KeyCode::Down | KeyCode::Char('j') => self.scroll_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll_by(-1),
            KeyCode::PageDown => self.scroll_by(20),
            KeyCode::PageUp => self.scroll_by(-20),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            _ => return None,
        }
        Some(Action::Handled)
    }

    fn scroll_by(&mut self, n: i32) {
        let max = self.pages[self.page].lines.len().saturating_sub(1) as i32;
        self.scroll = (i32::from(self.scroll) + n).clamp(0, max.min(i32::from(u16::MAX))) as u16;
    }

    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        if !self.content_area.get().contains(Position { x: ev.column, y: ev.row }) {
            return false;
        }
        match ev.kind {
            MouseEventKind::ScrollDown => self.scroll_by(3),
            MouseEventKind::ScrollUp => self.scroll_by(-3),
            _ => return false,
        }
        true
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let page = &self.pages[self.page];
        let table_rows = if self.rows.is_empty() { 0 } else { page.rows.len() as u16 + 4 };
        let content_rows = page.lines.len() as u16 + 2;
        // A short page (no tree: only the map from the logs) leaves the room to the table.
        let constraints = if content_rows < area.height / 2 {
            [Constraint::Length(1), Constraint::Length(content_rows), Constraint::Min(0)]
        } else {
            [Constraint::Length(1), Constraint::Min(5), Constraint::Length(table_rows.min(area.height / 2))]
        };
        let [picker, content, table] = Layout::vertical(constraints).areas(area);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(
                    format!(" Host {}/{}: ", self.page + 1, self.pages.len()),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(clean(&page.title).into_owned()),
                Span::styled("   ←/→ or [ ] other host", Style::default().fg(Color::DarkGray)),
            ])),
            picker,
        );
        let block = Block::default().borders(Borders::ALL).title(" Topology — tree and GPU×NIC matrix ");
        self.content_area.set(block.inner(content));
        let lines: Vec<Line> = page.lines.iter().map(|l| Line::raw(clean(l).into_owned())).collect();
        f.render_widget(Paragraph::new(lines).block(block).scroll((self.scroll, 0)), content);
        if table_rows > 0 {
            self.draw_table(f, table, page);
        }
    }

    fn draw_table(&self, f: &mut Frame, area: Rect, page: &Page) {
        let opt = |v: Option<u32>| v.map_or("-".to_string(), |x| x.to_string());
        let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join("+") };
        let rows: Vec<Row> = page
            .rows
            .iter()
            .filter_map(|&i| self.rows.get(i))
            .map(|r| {
                let style = if r.mismatch {
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
                } else {
                    Style::default()
                };
                Row::new(vec![
                    Cell::from(if r.mismatch { "!" } else { " " }),
                    Cell::from(clean(file_name(&r.host)).into_owned()),
                    Cell::from(opt(r.rank)),
                    Cell::from(opt(r.gpu)),
                    Cell::from(clean(r.bus_id.as_deref().unwrap_or("-")).into_owned()),
                    Cell::from(clean(&list(&r.nic_used)).into_owned()),
                    Cell::from(clean(&list(&r.nic_nearest)).into_owned()),
                    Cell::from(r.path.clone().unwrap_or_else(|| "-".into())),
                    Cell::from(r.source),
                ])
                .style(style)
            })
            .collect();
        let widths = [
            Constraint::Length(1),
            Constraint::Min(10),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Length(14),
            Constraint::Min(10),
            Constraint::Min(10),
            Constraint::Length(5),
            Constraint::Length(10),
        ];
        let header = Row::new(["", "host", "rank", "gpu", "bus id", "used", "nearest", "path", "source"])
            .style(Style::default().add_modifier(Modifier::BOLD));
        f.render_widget(
            Table::new(rows, widths).header(header).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" GPU ↔ NIC: used vs nearest (! = used NIC farther than nearest) "),
            ),
            area,
        );
    }
}
