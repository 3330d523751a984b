//! The app: all views, which one shows, the status line, the help overlay; one event loop.
//!
//! `App::handle_event` and `App::draw` need no terminal, so tests drive the whole UI through
//! a `TestBackend`. `run` owns the terminal: progress gauge while the analyzer runs on a
//! worker thread, then the views.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use crossterm::event::{
    self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Tabs};
use ratatui::Frame;

use ncclscope_analyzer::model::ProcId;
use ncclscope_analyzer::report::markdown;
use ncclscope_analyzer::{analyze, Analysis, Finding, Options, Progress};
use ncclscope_parser::input::InputSource;
use ncclscope_parser::{expand_paths, InputId, InputSpec};

use crate::action::{Action, ViewId};
use crate::logs::LogsView;
use crate::views::{help, BandwidthView, FindingsView, OverviewView, RanksView, TopologyView};

/// How long the loop waits for input before polling background work again.
const POLL: Duration = Duration::from_millis(50);

pub struct App {
    pub analysis: Arc<Analysis>,
    pub current: ViewId,
    /// Views left with a jump (Enter on a line, a number key), for Esc.
    history: Vec<ViewId>,
    pub overview: OverviewView,
    pub findings: FindingsView,
    pub topology: TopologyView,
    pub ranks: RanksView,
    pub logs: LogsView,
    pub bandwidth: BandwidthView,
    pub status: String,
    pub show_help: bool,
    /// Where `m` writes the report (the current directory unless a test says otherwise).
    pub export_dir: PathBuf,
    /// The last line sent to the Logs view with [`LogsView::goto`] (for tests and the status).
    pub last_log_request: Option<(InputId, u64)>,
    /// The last process whose lines the Logs view was asked to show.
    pub last_rank_request: Option<ProcId>,
    /// The tab bar as last drawn, for clicks.
    tabs_area: std::cell::Cell<Rect>,
}

impl App {
    pub fn new(analysis: Arc<Analysis>, specs: Vec<InputSpec>) -> Self {
        Self {
            overview: OverviewView::new(&analysis),
            findings: FindingsView::new(analysis.clone()),
            topology: TopologyView::new(&analysis),
            ranks: RanksView::new(&analysis),
            logs: LogsView::new(analysis.clone(), specs),
            bandwidth: BandwidthView::new(&analysis),
            analysis,
            current: ViewId::Overview,
            history: Vec::new(),
            status: String::new(),
            show_help: false,
            export_dir: PathBuf::from("."),
            last_log_request: None,
            last_rank_request: None,
            tabs_area: Default::default(),
        }
    }

    /// Polls background work (the Logs index); true when something new is to be drawn.
    pub fn tick(&mut self) -> bool {
        self.logs.tick()
    }

    /// A text field has the keyboard: keys are text, not commands.
    fn editing(&self) -> bool {
        match self.current {
            ViewId::Logs => self.logs.is_editing(),
            ViewId::Ranks => self.ranks.is_editing(),
            _ => false,
        }
    }

    /// Handles one terminal event; returns true when the app should quit.
    pub fn handle_event(&mut self, ev: Event) -> bool {
        match ev {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.handle_key(key),
            Event::Mouse(m) => {
                self.handle_mouse(m);
                false
            }
            // Resize: the next draw lays out for the new size.
            _ => false,
        }
    }

    fn handle_key(&mut self, key: KeyEvent) -> bool {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return true;
        }
        if self.show_help {
            match key.code {
                KeyCode::Esc | KeyCode::Char('?') => self.show_help = false,
                KeyCode::Char('q') => return true,
                _ => {}
            }
            return false;
        }
        if !self.editing() {
            let global = match key.code {
                KeyCode::Char('q') => Some(Action::Quit),
                KeyCode::Char('?') => Some(Action::ToggleHelp),
                KeyCode::Char('m') => Some(Action::Export),
                KeyCode::Tab => Some(Action::SwitchView(self.current.next())),
                KeyCode::BackTab => Some(Action::SwitchView(self.current.prev())),
                KeyCode::Char(c) => ViewId::from_digit(c).map(Action::SwitchView),
                _ => None,
            };
            if let Some(action) = global {
                return self.apply(action);
            }
        }
        let action = match self.current {
            ViewId::Overview => self.overview.handle_key(key),
            ViewId::Findings => self.findings.handle_key(key),
            ViewId::Topology => self.topology.handle_key(key),
            ViewId::Ranks => self.ranks.handle_key(key),
            ViewId::Logs => self.logs.handle_key(key).then_some(Action::Handled),
            ViewId::Bandwidth => self.bandwidth.handle_key(key),
        };
        match action {
            Some(a) => self.apply(a),
            None if key.code == KeyCode::Esc => self.apply(Action::Back),
            None => false,
        }
    }

    fn handle_mouse(&mut self, m: MouseEvent) {
        if self.show_help {
            return;
        }
        if let MouseEventKind::Down(_) = m.kind {
            let tabs = self.tabs_area.get();
            if tabs.contains(Position { x: m.column, y: m.row }) {
                // Tab titles are ` N Title ` separated by `|`: find the one under the click.
                let mut x = tabs.x;
                for v in ViewId::ALL {
                    let w = tab_title(v).chars().count() as u16 + 3;
                    if m.column < x + w {
                        self.apply(Action::SwitchView(v));
                        return;
                    }
                    x += w;
                }
                return;
            }
        }
        match self.current {
            ViewId::Overview => self.overview.handle_mouse(m),
            ViewId::Findings => self.findings.handle_mouse(m),
            ViewId::Topology => self.topology.handle_mouse(m),
            ViewId::Ranks => self.ranks.handle_mouse(m),
            ViewId::Logs => self.logs.handle_mouse(m),
            ViewId::Bandwidth => false,
        };
    }

    /// Carries out an action; true = quit.
    pub fn apply(&mut self, action: Action) -> bool {
        match action {
            Action::Quit => return true,
            Action::Handled => {}
            Action::Back => {
                if let Some(v) = self.history.pop() {
                    self.current = v;
                } else if self.current != ViewId::Overview {
                    self.current = ViewId::Overview;
                }
            }
            Action::SwitchView(v) => self.switch(v),
            Action::OpenLog { input, line } => {
                self.logs.goto(input, line);
                self.last_log_request = Some((input, line));
                self.status = format!("{}:{line}", crate::views::clean(self.analysis.path(input)));
                self.switch(ViewId::Logs);
            }
            Action::ShowFinding(i) => {
                self.findings.select(i);
                self.switch(ViewId::Findings);
            }
            Action::OpenRankLogs(proc) => {
                self.logs.filter_process(Some(proc));
                self.last_rank_request = Some(proc);
                let label = self.analysis.job.procs.get(proc).map_or_else(|| "?".into(), |p| p.label());
                self.status = format!("Logs: lines of {}", crate::views::clean(&label));
                self.switch(ViewId::Logs);
            }
            Action::Export => {
                self.status = match self.export() {
                    Ok((path, n)) => format!("wrote {n} finding(s) to {}", path.display()),
                    Err(e) => format!("export failed: {e:#}"),
                };
            }
            Action::ToggleHelp => self.show_help = !self.show_help,
            Action::Status(s) => self.status = s,
        }
        false
    }

    fn switch(&mut self, v: ViewId) {
        if v != self.current {
            self.history.push(self.current);
            // Number keys back and forth must not grow the history without bound.
            if self.history.len() > 64 {
                self.history.remove(0);
            }
            self.current = v;
        }
    }

    /// Writes the Markdown report of the marked findings (all when none is marked) to
    /// `ncclscope-report-<unix time>.md` in `export_dir`; returns its absolute path.
    pub fn export(&self) -> Result<(PathBuf, usize)> {
        let chosen: Vec<&Finding> = self
            .findings
            .export_selection()
            .into_iter()
            .filter_map(|i| self.analysis.findings.get(i))
            .collect();
        let body = markdown::render_findings(&self.analysis, &chosen);
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let dir = std::fs::canonicalize(&self.export_dir)
            .with_context(|| format!("cannot use directory {}", self.export_dir.display()))?;
        let path = unused_path(&dir, &format!("ncclscope-report-{secs}"));
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
        Ok((path, chosen.len()))
    }

    pub fn draw(&self, f: &mut Frame) {
        let [tabs_area, body, status_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)])
                .areas(f.area());
        self.tabs_area.set(tabs_area);
        let titles: Vec<String> = ViewId::ALL.iter().map(|v| tab_title(*v)).collect();
        f.render_widget(
            Tabs::new(titles)
                .select(self.current.index())
                .highlight_style(
                    Style::default().fg(Color::Black).bg(Color::Cyan).add_modifier(Modifier::BOLD),
                )
                .padding(" ", " ")
                .divider("|"),
            tabs_area,
        );
        match self.current {
            ViewId::Overview => self.overview.draw(f, body),
            ViewId::Findings => self.findings.draw(f, body),
            ViewId::Topology => self.topology.draw(f, body),
            ViewId::Ranks => self.ranks.draw(f, body),
            ViewId::Logs => self.logs.draw(f, body),
            ViewId::Bandwidth => self.bandwidth.draw(f, body),
        }
        let hint =
            Span::styled(" ? help  q quit  1-6/Tab views  m export ", Style::default().fg(Color::DarkGray));
        let status = Line::from(vec![Span::raw(format!(" {}", self.status)), hint]);
        f.render_widget(Paragraph::new(status), status_area);
        if self.show_help {
            help::draw(f, body, LogsView::key_help());
        }
    }

    /// Gives the Logs view its area before a draw (it pages by its height).
    pub fn prepare(&mut self, size: Rect) {
        let [_, body, _] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(size);
        self.logs.set_viewport(body);
    }
}

fn tab_title(v: ViewId) -> String {
    format!("{} {}", v.index() + 1, v.title())
}

/// `dir/stem.md`, or `dir/stem-2.md`, … when that exists (two exports in one second).
fn unused_path(dir: &Path, stem: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.md"));
    if !first.exists() {
        return first;
    }
    (2..1000).map(|n| dir.join(format!("{stem}-{n}.md"))).find(|p| !p.exists()).unwrap_or(first)
}

/// Progress while the analyzer reads the inputs.
fn draw_progress(f: &mut Frame, progress: &Progress) {
    let area = f.area();
    let [_, mid, _] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Length(5), Constraint::Min(0)]).areas(area);
    let [_, mid, _] = Layout::horizontal([
        Constraint::Percentage(15),
        Constraint::Percentage(70),
        Constraint::Percentage(15),
    ])
    .areas(mid);
    let mb = |b: u64| b as f64 / 1_048_576.0;
    let label = if progress.is_finished() {
        "running the rules…".to_string()
    } else {
        format!(
            "{:.1} / {:.1} MiB, {} of {} input(s)",
            mb(progress.bytes_done()),
            mb(progress.bytes_total()),
            progress.inputs_done(),
            progress.inputs_total()
        )
    };
    f.render_widget(
        Gauge::default()
            .block(Block::default().borders(Borders::ALL).title(" ncclscope: reading the logs (q quits) "))
            .gauge_style(Style::default().fg(Color::Cyan))
            .ratio(progress.fraction().clamp(0.0, 1.0))
            .label(label),
        mid,
    );
}

fn is_quit_key(ev: &Event) -> bool {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
                || (k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c'))
        }
        _ => false,
    }
}

/// `-` (stdin) read into memory first: the analyzer and the Logs view both read every input,
/// and a pipe can be read only once. (Keys then come from /dev/tty: crossterm opens it when
/// stdin is not a terminal.)
fn stdin_in_memory(specs: Vec<InputSpec>) -> Result<Vec<InputSpec>> {
    specs
        .into_iter()
        .map(|spec| match spec.source {
            InputSource::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin().lock().read_to_end(&mut bytes).context("cannot read stdin")?;
                Ok(InputSpec { display: spec.display, source: InputSource::Bytes(bytes.into()) })
            }
            _ => Ok(spec),
        })
        .collect()
}

/// `ncclscope <PATH>...` on a terminal: analyze with a progress gauge, then the views.
pub fn run(paths: Vec<PathBuf>, mut options: Options) -> Result<()> {
    let (specs, problems) = expand_paths(&paths);
    let fatal: Vec<String> =
        problems.iter().filter(|p| p.fatal).map(|p| format!("{}: {}", p.path, p.message)).collect();
    if !fatal.is_empty() {
        bail!(fatal.join("\n"));
    }
    let non_fatal: Vec<_> = problems.into_iter().filter(|p| !p.fatal).collect();
    let specs = stdin_in_memory(specs)?;
    let progress = Arc::new(Progress::default());
    options.progress = Some(progress.clone());

    let mut guard = crate::term::enter().context("cannot set up the terminal")?;
    let terminal = &mut guard.terminal;
    let worker_specs = specs.clone();
    let worker = std::thread::Builder::new()
        .name("ncclscope-analyze".into())
        .spawn(move || analyze(&worker_specs, &non_fatal, &options))
        .context("cannot start the analysis thread")?;
    while !worker.is_finished() {
        terminal.draw(|f| draw_progress(f, &progress))?;
        if event::poll(POLL)? && is_quit_key(&event::read()?) {
            // The worker is left to the process exit: nothing it holds needs closing.
            return Ok(());
        }
    }
    let analysis = match worker.join() {
        Ok(a) => Arc::new(a),
        Err(_) => bail!("the analysis failed (panicked); `ncclscope report` shows the same inputs as text"),
    };

    let mut app = App::new(analysis, specs);
    let mut dirty = true;
    loop {
        if app.tick() {
            dirty = true;
        }
        if dirty {
            let size = terminal.size()?;
            app.prepare(Rect::new(0, 0, size.width, size.height));
            terminal.draw(|f| app.draw(f))?;
            dirty = false;
        }
        if event::poll(POLL)? {
            // Drain what is queued (a wheel burst, a paste) before drawing again.
            loop {
                if app.handle_event(event::read()?) {
                    return Ok(());
                }
                dirty = true;
                if !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    #[test]
    fn progress_gauge_shows_bytes_and_inputs() {
        let progress = Progress::default();
        let mut terminal = Terminal::new(TestBackend::new(100, 20)).expect("backend");
        terminal.draw(|f| draw_progress(f, &progress)).expect("draw");
        let text: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(text.contains("reading the logs (q quits)"), "{text}");
        assert!(text.contains("0 of 0 input(s)"), "{text}");
    }

    #[test]
    fn quit_keys_during_analysis() {
        let k = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
        assert!(is_quit_key(&k(KeyCode::Char('q'))));
        assert!(is_quit_key(&k(KeyCode::Esc)));
        assert!(is_quit_key(&Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))));
        assert!(!is_quit_key(&k(KeyCode::Char('x'))));
    }

    #[test]
    fn export_names_do_not_collide() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = unused_path(dir.path(), "r");
        std::fs::write(&first, "x").expect("write");
        let second = unused_path(dir.path(), "r");
        assert_ne!(first, second);
        assert!(second.ends_with("r-2.md"), "{}", second.display());
    }
}
