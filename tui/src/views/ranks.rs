//! Ranks: one row per (process, rank) — host, pid, GPU, bus id, NICs used, transports, NCCL
//! version, init state, last line. Sortable by any column, filterable with `/`.
use std::cmp::Ordering;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use ncclscope_analyzer::model::{ConnKind, ProcId};
use ncclscope_analyzer::report::topo::gpu_nic_map;
use ncclscope_analyzer::Analysis;

use super::{clean, fit, selected_style, ListNav};
use crate::action::Action;

pub const COLUMNS: [&str; 10] =
    ["rank", "host", "pid", "gpu", "bus id", "nics used", "transport", "nccl", "init", "last line"];

/// Column index of the init state (coloured).
const INIT: usize = 8;

/// Longest cell text kept (the last line is cut to this; the table cuts it again to fit).
const CELL_MAX: usize = 300;

#[derive(Debug, Clone)]
pub struct RankRow {
    pub proc: ProcId,
    pub cells: [String; 10],
    /// Lower-cased cells joined, for the filter.
    haystack: String,
}

pub struct RanksView {
    rows: Vec<RankRow>,
    /// Indices into `rows`: filtered, then sorted.
    visible: Vec<usize>,
    nav: ListNav,
    pub sort_column: usize,
    pub sort_descending: bool,
    filter: String,
    editing: bool,
}

fn transport_name(k: &ConnKind) -> String {
    match k {
        ConnKind::Net { name, gdr } => {
            if *gdr {
                format!("NET/{name}/GDRDMA")
            } else {
                format!("NET/{name}")
            }
        }
        ConnKind::P2p => "P2P".into(),
        ConnKind::Shm => "SHM".into(),
        ConnKind::CollNet => "CollNet".into(),
        ConnKind::Other => "other".into(),
    }
}

fn build_rows(a: &Analysis) -> Vec<RankRow> {
    let job = &a.job;
    let map = gpu_nic_map(a);
    let mut rows = Vec::new();
    for (p, proc) in job.procs.iter().enumerate() {
        let host = proc.host.clone().unwrap_or_else(|| "-".into());
        let pid = proc.pid.map_or("-".into(), |x| x.to_string());
        let ranks = proc.world_ranks();
        // A banner or tool line with neither host nor rank is no rank of the job.
        if proc.host.is_none() && ranks.is_empty() {
            continue;
        }
        // The version banner is printed once per process, sometimes before NCCL's
        // `host:pid` header exists: then the job's only version is this process's too.
        let versions = job.nccl_versions();
        let version = job
            .versions
            .iter()
            .find(|f| f.proc == p)
            .map(|f| f.data.clone())
            .or_else(|| if versions.len() == 1 { versions.into_iter().next() } else { None })
            .unwrap_or_else(|| "-".into());
        let transports: Vec<String> =
            job.connections.keys().filter(|(q, _)| *q == p).map(|(_, k)| transport_name(k)).collect();
        let transport = if transports.is_empty() { "-".into() } else { transports.join(",") };
        let last =
            proc.last_line.as_ref().map_or(String::new(), |e| fit(&clean(message_of(&e.text)), CELL_MAX));
        let rank_list: Vec<Option<u32>> =
            if ranks.is_empty() { vec![None] } else { ranks.into_iter().map(Some).collect() };
        for rank in rank_list {
            // The rank's entry in the largest communicator that has it on this process.
            let comm_rank = rank.and_then(|r| {
                job.comms
                    .values()
                    .filter_map(|c| c.ranks.get(&r).filter(|cr| cr.proc == p).map(|cr| (c.nranks, cr)))
                    .max_by_key(|(n, _)| *n)
                    .map(|(_, cr)| cr)
            });
            let gpu = comm_rank.and_then(|c| c.cuda_dev);
            let bus = comm_rank.and_then(|c| c.bus_id.clone());
            let init = match comm_rank {
                Some(c) if c.complete.is_some() => "complete",
                Some(c) if c.start.is_some() => "STUCK",
                Some(_) => "seen",
                None => "-",
            };
            let nics: Vec<String> = map
                .iter()
                .filter(|m| {
                    m.rank.is_some() && m.rank == rank && proc.host.as_deref().is_none_or(|h| m.host == h)
                })
                .flat_map(|m| m.nic_used.iter().cloned())
                .collect();
            let nics = if nics.is_empty() {
                let devs: Vec<String> = job
                    .net_use
                    .iter()
                    .filter(|((q, dev, _), _)| *q == p && (gpu.is_none() || *dev == gpu))
                    .flat_map(|((_, _, name), u)| u.devs.iter().map(move |d| format!("{name}/{d}")))
                    .collect();
                if devs.is_empty() {
                    "-".into()
                } else {
                    devs.join(",")
                }
            } else {
                nics.join("+")
            };
            let cells = [
                rank.map_or("-".into(), |r| r.to_string()),
                clean(&host).into_owned(),
                pid.clone(),
                gpu.map_or("-".into(), |g| g.to_string()),
                clean(bus.as_deref().unwrap_or("-")).into_owned(),
                clean(&nics).into_owned(),
                transport.clone(),
                clean(&version).into_owned(),
                init.to_string(),
                last.clone(),
            ];
            let haystack = cells.join(" ").to_lowercase();
            rows.push(RankRow { proc: p, cells, haystack });
        }
    }
    rows
}

/// The message of an NCCL line, without the `host:pid:tid [dev] NCCL INFO` header the other
/// columns already show.
fn message_of(line: &str) -> &str {
    for level in [" NCCL INFO ", " NCCL WARN ", " NCCL TRACE "] {
        if let Some(i) = line.find(level) {
            let rest = &line[i + level.len()..];
            return if level == " NCCL INFO " { rest } else { &line[i + 1..] };
        }
    }
    line
}

/// Numbers compare as numbers (rank 10 after rank 9); `-` (unknown) sorts last.
fn compare_cells(x: &str, y: &str) -> Ordering {
    match (x == "-", y == "-") {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    match (x.parse::<u64>(), y.parse::<u64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => x.cmp(y),
    }
}

impl RanksView {
    pub fn new(a: &Arc<Analysis>) -> Self {
        let rows = build_rows(a);
        let mut v = Self {
            nav: ListNav::new(rows.len()),
            visible: Vec::new(),
            rows,
            sort_column: 0,
            sort_descending: false,
            filter: String::new(),
            editing: false,
        };
        v.refresh();
        v
    }

    /// Rows in display order (after filter and sort).
    pub fn visible_rows(&self) -> impl Iterator<Item = &RankRow> {
        self.visible.iter().map(|&i| &self.rows[i])
    }

    /// The row under the cursor.
    pub fn selected_row(&self) -> Option<&RankRow> {
        self.visible.get(self.nav.selected).map(|&i| &self.rows[i])
    }

    pub fn is_editing(&self) -> bool {
        self.editing
    }

    fn refresh(&mut self) {
        let needle = self.filter.to_lowercase();
        self.visible = (0..self.rows.len()).filter(|&i| self.rows[i].haystack.contains(&needle)).collect();
        let col = self.sort_column;
        let rows = &self.rows;
        self.visible.sort_by(|&x, &y| {
            let o = compare_cells(&rows[x].cells[col], &rows[y].cells[col]).then(x.cmp(&y));
            if self.sort_descending {
                o.reverse()
            } else {
                o
            }
        });
        self.nav.set_len(self.visible.len());
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        if self.editing {
            match key.code {
                KeyCode::Esc => {
                    self.editing = false;
                    self.filter.clear();
                }
                KeyCode::Enter => self.editing = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => self.filter.push(c),
                _ => return Some(Action::Handled),
            }
            self.refresh();
            return Some(Action::Handled);
        }
        if self.nav.handle_key(&key) {
            return Some(Action::Handled);
        }
        match key.code {
            KeyCode::Char('s') => {
                self.sort_column = (self.sort_column + 1) % COLUMNS.len();
                self.refresh();
                Some(Action::Status(format!("sorted by {}", COLUMNS[self.sort_column])))
            }
            KeyCode::Char('S') => {
                self.sort_descending = !self.sort_descending;
                self.refresh();
                Some(Action::Handled)
            }
            KeyCode::Char('/') => {
                self.editing = true;
                Some(Action::Handled)
            }
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.refresh();
                Some(Action::Handled)
            }
            KeyCode::Enter => {
                let row = self.visible.get(self.nav.selected).map(|&i| &self.rows[i])?;
                Some(Action::OpenRankLogs(row.proc))
            }
            _ => None,
        }
    }

    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        self.nav.handle_mouse(&ev)
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let [table_area, filter_area] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let arrow = if self.sort_descending { "▼" } else { "▲" };
        let header = Row::new(COLUMNS.iter().enumerate().map(|(i, c)| {
            if i == self.sort_column {
                Cell::from(format!("{c}{arrow}"))
            } else {
                Cell::from(*c)
            }
        }))
        .style(Style::default().add_modifier(Modifier::BOLD));
        let block = Block::default().borders(Borders::ALL).title(format!(
            " Ranks ({} of {}) — s/S sort, / filter, Enter logs ",
            self.visible.len(),
            self.rows.len()
        ));
        let mut rows_area = block.inner(table_area);
        // The header row and its bottom margin are not rows.
        rows_area.y = rows_area.y.saturating_add(1);
        rows_area.height = rows_area.height.saturating_sub(1);
        let offset = self.nav.layout(rows_area);
        let rows: Vec<Row> = self
            .visible_rows()
            .map(|r| {
                Row::new(r.cells.iter().enumerate().map(|(i, c)| {
                    let style = match (i, c.as_str()) {
                        (INIT, "STUCK") => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                        (INIT, "complete") => Style::default().fg(Color::Green),
                        _ => Style::default(),
                    };
                    Cell::from(Span::styled(c.clone(), style))
                }))
            })
            .collect();
        // Columns as wide as their widest cell (capped), the last line gets the rest.
        const CAPS: [usize; 9] = [6, 24, 8, 4, 16, 24, 24, 18, 9];
        let mut widths: Vec<Constraint> = CAPS
            .iter()
            .enumerate()
            .map(|(i, cap)| {
                let widest = self.visible_rows().map(|r| r.cells[i].chars().count()).max().unwrap_or(0);
                Constraint::Length(widest.max(COLUMNS[i].chars().count() + 1).min(*cap) as u16)
            })
            .collect();
        widths.push(Constraint::Min(10));
        let mut state = TableState::default().with_offset(offset).with_selected(Some(self.nav.selected));
        f.render_stateful_widget(
            Table::new(rows, widths).header(header).block(block).row_highlight_style(selected_style()),
            table_area,
            &mut state,
        );
        let filter_line = if self.editing {
            Line::from(vec![
                Span::styled(" filter: ", Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(clean(&self.filter).into_owned()),
                Span::styled("█", Style::default().fg(Color::Cyan)),
                Span::styled("  (Enter keeps, Esc clears)", Style::default().fg(Color::DarkGray)),
            ])
        } else if self.filter.is_empty() {
            Line::styled(" / to filter", Style::default().fg(Color::DarkGray))
        } else {
            Line::from(vec![
                Span::styled(" filter: ", Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(clean(&self.filter).into_owned()),
                Span::styled("  (Esc clears)", Style::default().fg(Color::DarkGray)),
            ])
        };
        f.render_widget(Paragraph::new(filter_line), filter_area);
    }
}
