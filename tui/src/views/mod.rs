//! The views other than Logs, and what they share: a list cursor that remembers where it was
//! drawn (for mouse clicks), severity styling, sanitizing of log-derived text.
use std::borrow::Cow;
use std::cell::Cell;

use crossterm::event::{KeyCode, KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};

use ncclscope_analyzer::Severity;

pub mod bandwidth;
pub mod findings;
pub mod help;
pub mod overview;
pub mod ranks;
pub mod topology;

pub use bandwidth::BandwidthView;
pub use findings::FindingsView;
pub use overview::OverviewView;
pub use ranks::RanksView;
pub use topology::TopologyView;

/// Text that came from an input (log lines, host names, paths): control sequences removed so
/// it cannot drive the terminal (`sanitize_line` leaves no control character but TAB), tabs
/// made spaces so cell widths stay right.
pub fn clean(s: &str) -> Cow<'_, str> {
    let s = ncclscope_parser::sanitize::sanitize_line(s);
    if s.contains('\t') {
        Cow::Owned(s.replace('\t', " "))
    } else {
        s
    }
}

/// Symbol, word and colour: severity never rests on colour alone.
pub fn severity_symbol(s: Severity) -> (&'static str, &'static str, Color) {
    match s {
        Severity::Critical => ("✖", "critical", Color::Red),
        Severity::Warning => ("▲", "warning", Color::Yellow),
        Severity::Info => ("●", "info", Color::Cyan),
    }
}

pub fn severity_style(s: Severity) -> Style {
    Style::default().fg(severity_symbol(s).2).add_modifier(Modifier::BOLD)
}

pub fn selected_style() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

/// A cursor over a list of `len` rows. `draw` is `&self`, so the scroll offset and the area
/// the list was last drawn in live in `Cell`s: the next click maps to a row through them.
#[derive(Debug, Default)]
pub struct ListNav {
    pub selected: usize,
    pub len: usize,
    offset: Cell<usize>,
    area: Cell<Rect>,
}

impl ListNav {
    pub fn new(len: usize) -> Self {
        Self { len, ..Self::default() }
    }

    pub fn set_len(&mut self, len: usize) {
        self.len = len;
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    pub fn down(&mut self, n: usize) {
        if self.len > 0 {
            self.selected = (self.selected + n).min(self.len - 1);
        }
    }

    pub fn up(&mut self, n: usize) {
        self.selected = self.selected.saturating_sub(n);
    }

    fn page(&self) -> usize {
        (self.area.get().height as usize).max(1)
    }

    /// Up/Down/PgUp/PgDn/Home/End/j/k; true when the key moved (or could move) the cursor.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.down(1),
            KeyCode::Up | KeyCode::Char('k') => self.up(1),
            KeyCode::PageDown => self.down(self.page()),
            KeyCode::PageUp => self.up(self.page()),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = self.len.saturating_sub(1),
            _ => return false,
        }
        true
    }

    /// Wheel moves the cursor by 3; a left click inside the list selects the row under it.
    /// Returns true when the event was inside the list.
    pub fn handle_mouse(&mut self, ev: &MouseEvent) -> bool {
        let area = self.area.get();
        if !area.contains(Position { x: ev.column, y: ev.row }) {
            return false;
        }
        match ev.kind {
            MouseEventKind::ScrollDown => self.down(3),
            MouseEventKind::ScrollUp => self.up(3),
            MouseEventKind::Down(_) => {
                let row = self.offset.get() + usize::from(ev.row - area.y);
                if row < self.len {
                    self.selected = row;
                }
            }
            _ => return false,
        }
        true
    }

    /// Records where the rows are drawn (inside any border) and returns the first visible row:
    /// the old offset when the cursor is still on screen, else scrolled just enough.
    pub fn layout(&self, rows_area: Rect) -> usize {
        self.area.set(rows_area);
        let height = (rows_area.height as usize).max(1);
        let mut offset = self.offset.get().min(self.len.saturating_sub(1));
        if self.selected < offset {
            offset = self.selected;
        } else if self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        self.offset.set(offset);
        offset
    }
}

/// Cuts `s` to `width` characters, ending in `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
