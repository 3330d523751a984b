//! The `?` overlay: every key of every view, Logs' list coming from the Logs view itself so it
//! cannot drift from what that view handles.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("1-6", "switch view: Overview, Findings, Topology, Ranks, Logs, Bandwidth"),
    ("Tab / Shift-Tab", "next / previous view"),
    ("?", "this help (Esc or ? closes)"),
    ("q", "quit (in a text field it types q)"),
    ("Esc", "close overlay / leave field / back to previous view"),
    ("m", "write the Markdown report of the selected findings (or all) to a file"),
    ("mouse", "wheel scrolls the list, click selects a row"),
];

pub const LIST_KEYS: &[(&str, &str)] =
    &[("↑/↓ j/k", "move"), ("PgUp/PgDn", "page"), ("Home/End g/G", "first / last")];

pub const OVERVIEW_KEYS: &[(&str, &str)] = &[("Enter", "open the view that explains the line")];

pub const FINDINGS_KEYS: &[(&str, &str)] = &[
    ("space", "mark / unmark the finding for `m`"),
    ("→ / Enter", "focus the evidence lines"),
    ("← / Esc", "back to the finding list"),
    ("Enter (evidence)", "open Logs at that line"),
];

pub const TOPOLOGY_KEYS: &[(&str, &str)] = &[("← → / [ ]", "previous / next host"), ("↑/↓", "scroll")];

pub const RANKS_KEYS: &[(&str, &str)] = &[
    ("s / S", "sort by next column / reverse direction"),
    ("/", "filter (Enter keeps, Esc clears)"),
    ("Enter", "open this rank's lines in Logs"),
];

pub const BANDWIDTH_KEYS: &[(&str, &str)] = &[("(none)", "the chart has no keys of its own")];

/// Draws the overlay over all of `area`: the global and list keys and views 1–4 on the left, Logs
/// (the longest list) and Bandwidth on the right, so all of it fits a 40-row terminal.
pub fn draw(f: &mut Frame, area: Rect, logs_keys: &[(&str, &str)]) {
    let left: [(&str, &[(&str, &str)]); 6] = [
        ("Global", GLOBAL_KEYS),
        ("Lists", LIST_KEYS),
        ("1 Overview", OVERVIEW_KEYS),
        ("2 Findings", FINDINGS_KEYS),
        ("3 Topology", TOPOLOGY_KEYS),
        ("4 Ranks", RANKS_KEYS),
    ];
    let right: [(&str, &[(&str, &str)]); 2] = [("5 Logs", logs_keys), ("6 Bandwidth", BANDWIDTH_KEYS)];
    let popup = area;
    let block = Block::default().borders(Borders::ALL).title(" Help — keys (Esc closes) ");
    let inner = block.inner(popup);
    f.render_widget(Clear, popup);
    f.render_widget(block, popup);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).spacing(1).areas(inner);
    f.render_widget(Paragraph::new(section_lines(&left)).wrap(Wrap { trim: false }), left_area);
    f.render_widget(Paragraph::new(section_lines(&right)).wrap(Wrap { trim: false }), right_area);
}

fn section_lines<'a>(sections: &[(&'a str, &'a [(&'a str, &'a str)])]) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = Vec::new();
    for (title, keys) in sections {
        lines.push(Line::from(Span::styled(*title, Style::default().add_modifier(Modifier::BOLD))));
        for (k, what) in keys.iter() {
            lines.push(Line::from(vec![Span::raw(format!(" {k:<15} ")), Span::raw(*what)]));
        }
    }
    lines
}
