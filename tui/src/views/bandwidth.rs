//! Bandwidth: nccl-tests busbw against message size (log2 x axis), one series per run, with
//! the platform's expected band as two dashed lines.
use std::sync::Arc;

use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, LegendPosition, Paragraph, Wrap};
use ratatui::Frame;

use ncclscope_analyzer::report::bandwidth;
use ncclscope_analyzer::Analysis;

use super::clean;
use crate::action::Action;

/// Colours of the series, in turn (the band is grey).
const SERIES_COLORS: [Color; 6] =
    [Color::Cyan, Color::Magenta, Color::Green, Color::Yellow, Color::Blue, Color::LightRed];

/// Dashes per band line across the x range.
const DASHES: usize = 24;

struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

pub struct BandwidthView {
    series: Vec<Series>,
    /// Expected busbw range of the platform (GB/s).
    expected: Option<[f64; 2]>,
    platform: Option<String>,
    /// `verdict` lines from `report::bandwidth` (largest size of each run).
    summary: Vec<String>,
}

/// `2^exp` bytes as 8B, 64K, 1M, 8G.
fn size_label(exp: i32) -> String {
    let (div, unit) = match exp {
        e if e >= 40 => (40, "T"),
        e if e >= 30 => (30, "G"),
        e if e >= 20 => (20, "M"),
        e if e >= 10 => (10, "K"),
        _ => (0, "B"),
    };
    format!("{}{unit}", 1u64 << (exp - div).clamp(0, 62))
}

impl BandwidthView {
    pub fn new(a: &Arc<Analysis>) -> Self {
        let points = bandwidth(a);
        let expected = points.iter().find_map(|p| p.expected_gbps);
        let series = a
            .job
            .tests
            .iter()
            .filter(|run| !run.rows.is_empty())
            .map(|run| {
                let path = a.path(run.input);
                let name = format!(
                    "{} {} ({} ranks)",
                    clean(path.rsplit('/').next().unwrap_or(path)),
                    clean(run.op.as_deref().unwrap_or("?")),
                    run.nranks
                );
                let points = run
                    .rows
                    .iter()
                    .filter(|r| r.size_bytes > 0 && r.busbw_gbps.is_finite())
                    .map(|r| ((r.size_bytes as f64).log2(), r.busbw_gbps))
                    .collect();
                Series { name, points }
            })
            .collect();
        let summary = points
            .iter()
            .map(|b| {
                let verdict = match b.expected_gbps {
                    Some([l, _]) if b.busbw_gbps < l => "  below the expected band",
                    Some(_) => "  within or above the expected band",
                    None => "",
                };
                format!(
                    "{} {:.2} GB/s at {} B  [{}]{verdict}",
                    clean(b.op.as_deref().unwrap_or("?")),
                    b.busbw_gbps,
                    b.size_bytes,
                    clean(&b.path)
                )
            })
            .collect();
        let platform = a
            .platform
            .as_ref()
            .map(|p| p.platform.map_or_else(|| clean(&p.name).into_owned(), |t| t.name.to_string()));
        Self { series, expected, platform, summary }
    }

    pub fn has_data(&self) -> bool {
        self.series.iter().any(|s| !s.points.is_empty())
    }

    pub fn handle_key(&mut self, _key: KeyEvent) -> Option<Action> {
        None
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let block =
            Block::default().borders(Borders::ALL).title(" Bandwidth — nccl-tests busbw vs message size ");
        if !self.has_data() {
            let text = vec![
                Line::styled(
                    "No nccl-tests results in these inputs.",
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Line::raw(""),
                Line::raw(
                    "To see busbw against message size and the platform's expected band, run nccl-tests",
                ),
                Line::raw("across the nodes and give its output to ncclscope, e.g.:"),
                Line::raw(""),
                Line::raw(
                    "  mpirun -np 16 -N 8 ./build/all_reduce_perf -b 8 -e 8G -f 2 -g 1 > all_reduce.log",
                ),
                Line::raw("  ncclscope all_reduce.log job.log"),
            ];
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block), area);
            return;
        }
        let summary_height = self.summary.len() as u16 + 1;
        let [chart_area, summary_area] =
            Layout::vertical([Constraint::Min(8), Constraint::Length(summary_height.min(area.height / 3))])
                .areas(area);

        let all = self.series.iter().flat_map(|s| s.points.iter());
        let (mut xmin, mut xmax, mut ymax) = (f64::MAX, f64::MIN, 0.0f64);
        for &(x, y) in all {
            xmin = xmin.min(x);
            xmax = xmax.max(x);
            ymax = ymax.max(y);
        }
        if let Some([_, hi]) = self.expected {
            ymax = ymax.max(hi);
        }
        // Whole powers of two, with at most 8 labels, each on a whole power (ratatui spreads
        // labels evenly, so the span is a multiple of the label step).
        let xmin = xmin.floor();
        let raw_span = (xmax.ceil() - xmin).max(1.0);
        let step = (raw_span / 7.0).ceil().max(1.0);
        let span = (raw_span / step).ceil() * step;
        let xmax = xmin + span;
        let label_count = (span / step) as i32;
        // Headroom above the band for the legend (top left).
        let ymax = (ymax * 1.3).max(1.0);

        let band: Vec<Vec<(f64, f64)>> = match self.expected {
            Some([lo, hi]) => [lo, hi]
                .iter()
                .flat_map(|&y| {
                    (0..DASHES).map(move |i| {
                        let step = span / DASHES as f64;
                        let x0 = xmin + step * i as f64;
                        vec![(x0, y), (x0 + step * 0.5, y)]
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        let mut datasets: Vec<Dataset> = Vec::new();
        for (i, dash) in band.iter().enumerate() {
            let mut d = Dataset::default()
                .graph_type(GraphType::Line)
                .marker(Marker::Braille)
                .style(Style::default().fg(Color::DarkGray))
                .data(dash);
            if i == 0 {
                if let Some([lo, hi]) = self.expected {
                    d = d.name(format!("expected {lo:.0}–{hi:.0} GB/s"));
                }
            }
            datasets.push(d);
        }
        for (i, s) in self.series.iter().enumerate() {
            datasets.push(
                Dataset::default()
                    .name(s.name.clone())
                    .graph_type(GraphType::Line)
                    .marker(Marker::Braille)
                    .style(Style::default().fg(SERIES_COLORS[i % SERIES_COLORS.len()]))
                    .data(&s.points),
            );
        }
        let x_labels: Vec<Span> =
            (0..=label_count).map(|k| Span::raw(size_label((xmin + step * f64::from(k)) as i32))).collect();
        let y_labels: Vec<Span> =
            (0..=4).map(|k| Span::raw(format!("{:.0}", ymax * f64::from(k) / 4.0))).collect();
        let title = match (&self.platform, self.expected) {
            (Some(p), Some(_)) => format!(" Bandwidth — busbw (GB/s) vs message size; expected band of {p} "),
            (Some(p), None) => {
                format!(" Bandwidth — busbw (GB/s) vs message size; no expected band known for {p} ")
            }
            (None, _) => {
                " Bandwidth — busbw (GB/s) vs message size; platform unknown: no expected band ".to_string()
            }
        };
        let chart = Chart::new(datasets)
            .block(Block::default().borders(Borders::ALL).title(title))
            .x_axis(Axis::default().title("size (log2)").bounds([xmin, xmax]).labels(x_labels))
            .y_axis(Axis::default().title("GB/s").bounds([0.0, ymax]).labels(y_labels))
            .legend_position(Some(LegendPosition::TopLeft))
            .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(40)));
        f.render_widget(chart, chart_area);
        let lines: Vec<Line> = self.summary.iter().map(|s| Line::raw(format!(" {s}"))).collect();
        f.render_widget(Paragraph::new(lines), summary_area);
    }
}
