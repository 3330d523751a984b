//! The Logs view: a virtual list of `(input, line)` rows over the background index.
//!
//! Rows are all lines of all inputs, merged by timestamp when every input has them, else input
//! after input. Filters (level, host, process, regex) and `/` searches run on their own threads
//! and hand back row lists / a row; the view only ever reads the few lines on screen, through
//! the index's block cache. `draw` is pure: the visible lines are decoded into `visible` by
//! every method that can move the window (`set_viewport`, `handle_key`, `handle_mouse`,
//! `tick`, `goto`, `filter_process`).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, RwLock};
use std::thread;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use memchr::memmem;
use ncclscope_analyzer::model::ProcId;
use ncclscope_analyzer::Analysis;
use ncclscope_parser::input::InputSpec;
use ncclscope_parser::sanitize::sanitize_line;
use ncclscope_parser::InputId;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use regex::Regex;

use super::index::{self, IndexState, Level, LineSource, LogIndex, MergedOrder, DISPLAY_CAP};

const TAB_WIDTH: usize = 8;
/// Decoded text the view keeps for scrolling back and forth.
const DISPLAY_CACHE_BYTES: usize = 32 << 20;
/// Decoded text the `/` search thread keeps (it reads forward, so little is reused).
const SEARCH_CACHE_BYTES: usize = 8 << 20;
/// `/` looks at the first 256 KiB of a line, so one block stays under 64 MiB even when every
/// line is a cut 1 MiB one; `&` filters stream whole lines.
const SEARCH_CAP: usize = 256 << 10;
const HSCROLL_STEP: usize = 8;
const WHEEL_STEP: u64 = 3;
/// Level mask with every class shown.
const ALL_LEVELS: u8 = 0x1f;
/// `w`: NCCL WARN and UCX warnings/errors.
const WARN_LEVELS: u8 =
    (1 << Level::NcclWarn as u8) | (1 << Level::UcxWarn as u8) | (1 << Level::UcxError as u8);

/// The order of all lines before filtering.
#[derive(Debug, Clone)]
enum BaseOrder {
    /// Input after input; `starts[i]` is the first row of input `i`, `starts[n]` the total.
    Concat { starts: Vec<u64> },
    /// Time order over all inputs.
    Merged(Arc<MergedOrder>),
}

impl BaseOrder {
    fn from_state(st: &IndexState) -> BaseOrder {
        if let (true, Some(order)) = (st.finished, &st.merged) {
            return BaseOrder::Merged(order.clone());
        }
        let mut starts = Vec::with_capacity(st.inputs.len() + 1);
        let mut row = 0;
        for inp in &st.inputs {
            starts.push(row);
            row += inp.lines;
        }
        starts.push(row);
        BaseOrder::Concat { starts }
    }

    fn len(&self) -> u64 {
        match self {
            BaseOrder::Concat { starts } => starts.last().copied().unwrap_or(0),
            BaseOrder::Merged(order) => order.len(),
        }
    }

    fn get(&self, row: u64) -> Option<(u32, u64)> {
        if row >= self.len() {
            return None;
        }
        match self {
            BaseOrder::Concat { starts } => {
                let i = starts.partition_point(|&s| s <= row) - 1;
                Some((i as u32, row - starts[i] + 1))
            }
            BaseOrder::Merged(order) => order.get(row),
        }
    }

    fn find(&self, input: u32, line: u64) -> Option<u64> {
        if line == 0 {
            return None;
        }
        match self {
            BaseOrder::Concat { starts } => {
                let (s, e) = (*starts.get(input as usize)?, *starts.get(input as usize + 1)?);
                (line <= e - s).then(|| s + line - 1)
            }
            BaseOrder::Merged(order) => order.find(input, line),
        }
    }

    fn is_merged(&self) -> bool {
        matches!(self, BaseOrder::Merged(_))
    }
}

/// The rows shown: the base order, optionally narrowed to a sorted list of base rows.
#[derive(Debug, Clone)]
struct Rows {
    base: Arc<BaseOrder>,
    filtered: Option<Arc<Vec<u64>>>,
}

impl Rows {
    fn len(&self) -> u64 {
        match &self.filtered {
            Some(f) => f.len() as u64,
            None => self.base.len(),
        }
    }

    fn get(&self, row: u64) -> Option<(u32, u64)> {
        match &self.filtered {
            Some(f) => self.base.get(*f.get(usize::try_from(row).ok()?)?),
            None => self.base.get(row),
        }
    }

    /// The row showing `(input, line)`, if shown.
    fn find(&self, input: u32, line: u64) -> Option<u64> {
        let b = self.base.find(input, line)?;
        match &self.filtered {
            Some(f) => f.binary_search(&b).ok().map(|r| r as u64),
            None => Some(b),
        }
    }

    /// The first row at or after where `(input, line)` is (or would be).
    fn find_at_or_after(&self, input: u32, line: u64) -> Option<u64> {
        let b = self.base.find(input, line)?;
        match &self.filtered {
            Some(f) => Some(f.partition_point(|&x| x < b) as u64),
            None => Some(b),
        }
    }
}

/// Which lines of one input a host/process filter keeps.
#[derive(Debug, Clone)]
enum Scope {
    All,
    Nothing,
    /// Lines containing this (`host:pid:` or `host:`).
    Containing(Vec<u8>),
}

/// What the user asked to see.
#[derive(Debug, Clone)]
struct Filter {
    levels: u8,
    proc: Option<ProcId>,
    host: Option<String>,
    regex: Option<Regex>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { levels: ALL_LEVELS, proc: None, host: None, regex: None }
    }
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.levels == ALL_LEVELS && self.proc.is_none() && self.host.is_none() && self.regex.is_none()
    }
}

/// A background computation with a cancel flag and progress counter.
struct Job<T> {
    rx: mpsc::Receiver<T>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    total: u64,
    tag: u64,
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl<T: Send + 'static> Job<T> {
    fn spawn(tag: u64, total: u64, f: impl FnOnce(&AtomicBool, &AtomicU64) -> T + Send + 'static) -> Job<T> {
        let (tx, rx) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let (c, d) = (cancel.clone(), done.clone());
        // A failed spawn leaves `rx` disconnected: polling reports the job as gone.
        let _ = thread::Builder::new().name("ncclscope-log-job".into()).spawn(move || {
            let _ = tx.send(f(&c, &d));
        });
        Job { rx, cancel, done, total: total.max(1), tag }
    }

    fn percent(&self) -> u64 {
        (self.done.load(Ordering::Relaxed).min(self.total) * 100) / self.total
    }
}

/// Forward search over inputs shown one after the other: each input is streamed once from the
/// starting line (a whole-log search reads like a filter, in one buffered pass per input); a
/// line counts when the regex matches its first [`SEARCH_CAP`] bytes and the line is shown
/// (filters). Returns the first matching row after `from` (or at it, when `inclusive`).
fn search_forward_streaming(
    state: &RwLock<IndexState>,
    rows: &Rows,
    re: &Regex,
    from: u64,
    inclusive: bool,
    cancel: &AtomicBool,
    done: &AtomicU64,
) -> Option<u64> {
    let (first_input, first_line) = rows.get(from)?;
    let start_line = if inclusive { first_line } else { first_line + 1 };
    let inputs = state.read().ok()?.inputs.len() as u32;
    let mut found = None;
    for input in first_input..inputs {
        let from_line = if input == first_input { start_line } else { 1 };
        let mut stopped = false;
        let _ = index::for_each_line_from(state, input, from_line, |line, text| {
            if cancel.load(Ordering::Relaxed) {
                stopped = true;
                return false;
            }
            done.fetch_add(1, Ordering::Relaxed);
            if re.is_match(index::cut(text, SEARCH_CAP)) {
                if let Some(row) = rows.find(input, line) {
                    found = Some(row);
                    return false;
                }
            }
            true
        });
        if found.is_some() || stopped {
            break;
        }
    }
    found
}

/// One line prepared for drawing.
#[derive(Debug, Clone)]
struct VisibleLine {
    row: u64,
    gutter: String,
    text: String,
    level: Level,
    evidence: bool,
    /// Byte ranges of `text` matching the search.
    matches: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PromptKind {
    Search,
    Filter,
}

/// The Logs view. See the module docs.
pub struct LogsView {
    analysis: Arc<Analysis>,
    index: LogIndex,
    state: Arc<RwLock<IndexState>>,
    names: Vec<String>,
    source: LineSource,
    rows: Rows,
    seen_generation: u64,
    index_finished: bool,
    filter: Filter,
    /// Bumped on every filter change; a filter job's result counts only for its tag.
    filter_tag: u64,
    filter_job: Option<Job<Option<Vec<u64>>>>,
    search: Option<Regex>,
    search_job: Option<Job<Option<u64>>>,
    prompt: Option<(PromptKind, String)>,
    selected: u64,
    top: u64,
    hscroll: usize,
    area: Rect,
    visible: Vec<VisibleLine>,
    evidence: BTreeMap<(u32, u64), Vec<&'static str>>,
    pending_goto: Option<(u32, u64)>,
    message: String,
    /// Inputs the indexer could not (fully) read.
    unreadable: usize,
}

impl LogsView {
    pub fn new(analysis: Arc<Analysis>, specs: Vec<InputSpec>) -> Self {
        let names = specs.iter().map(|s| short_name(&s.display)).collect();
        let index = LogIndex::start(specs);
        let state = index.state.clone();
        let mut evidence: BTreeMap<(u32, u64), Vec<&'static str>> = BTreeMap::new();
        for f in &analysis.findings {
            for e in &f.evidence {
                let ids = evidence.entry((e.input.0, e.pos.line)).or_default();
                if !ids.contains(&f.rule.as_str()) {
                    ids.push(f.rule.as_str());
                }
            }
        }
        let rows = Rows { base: Arc::new(BaseOrder::Concat { starts: vec![0] }), filtered: None };
        let mut view = LogsView {
            analysis,
            source: LineSource::new(state.clone(), DISPLAY_CACHE_BYTES, DISPLAY_CAP),
            index,
            state,
            names,
            rows,
            seen_generation: u64::MAX,
            index_finished: false,
            filter: Filter::default(),
            filter_tag: 0,
            filter_job: None,
            search: None,
            search_job: None,
            prompt: None,
            selected: 0,
            top: 0,
            hscroll: 0,
            area: Rect::new(0, 0, 80, 24),
            visible: Vec::new(),
            evidence,
            pending_goto: None,
            message: String::new(),
            unreadable: 0,
        };
        view.tick();
        view
    }

    pub fn key_help() -> &'static [(&'static str, &'static str)] {
        &[
            ("↑/↓ j/k", "move one line"),
            ("PgUp/PgDn", "move one page"),
            ("g/G Home/End", "first / last line"),
            ("←/→", "scroll sideways"),
            ("/", "search (regex); n/N next/previous match"),
            ("&", "filter: keep lines matching a regex"),
            ("e/E", "next/previous line that is evidence of a finding"),
            ("w", "only warnings and errors (NCCL WARN, UCX WARN/ERROR)"),
            ("i", "show/hide NCCL INFO lines"),
            ("o", "show/hide other lines"),
            ("a", "all levels again"),
            ("H", "cycle host filter"),
            ("p", "cycle process filter"),
            ("c", "clear every filter and the search"),
            ("Esc", "cancel a running search/filter, or close the prompt"),
        ]
    }

    /// True while indexing, a filter or a search runs in the background (the app may tick
    /// more often then).
    pub fn is_busy(&self) -> bool {
        !self.index_finished
            || self.filter_job.is_some()
            || self.search_job.is_some()
            || (!self.filter.is_empty() && self.rows.filtered.is_none())
    }

    /// Rows currently shown (after filters).
    pub fn row_count(&self) -> u64 {
        self.rows.len()
    }

    /// The selected `(input, line)`, if any row is shown.
    pub fn selected_line(&self) -> Option<(InputId, u64)> {
        self.rows.get(self.selected).map(|(i, l)| (InputId(i), l))
    }

    /// True while a prompt takes the keys.
    pub fn is_editing(&self) -> bool {
        self.prompt.is_some()
    }

    /// Selects and centres line `line` (1-based) of `input`, clearing filters that hide it.
    pub fn goto(&mut self, input: InputId, line: u64) {
        let (i, l) = (input.0, line.max(1));
        if self.rows.base.find(i, l).is_none() {
            // Not indexed yet: done when it is.
            self.pending_goto = Some((i, l));
            self.message = format!("waiting for {}:{l} to be indexed…", self.name(i));
            return;
        }
        self.pending_goto = None;
        // A search still running would move the selection away from the line asked for.
        self.search_job = None;
        if self.rows.find(i, l).is_none() || (self.filter_job.is_some() && !self.filter.is_empty()) {
            self.set_filter(Filter::default());
            self.message = "filters cleared to show the line".into();
        }
        if let Some(row) = self.rows.find(i, l) {
            self.selected = row;
            let h = u64::from(self.body_height());
            self.top = row.saturating_sub(h / 2);
            self.hscroll = 0;
        }
        self.refresh();
    }

    /// Shows only the lines of one process (`None`: all).
    pub fn filter_process(&mut self, proc: Option<ProcId>) {
        let mut f = self.filter.clone();
        f.proc = proc.filter(|&p| p < self.analysis.job.procs.len());
        self.set_filter(f);
        self.refresh();
    }

    pub fn set_viewport(&mut self, area: Rect) {
        if area != self.area {
            self.area = area;
            self.scroll_to_selection();
            self.refresh();
        }
    }

    /// Polls background work; true when something changed on screen.
    pub fn tick(&mut self) -> bool {
        let mut changed = false;
        let generation = self.index.generation.load(Ordering::Relaxed);
        if generation != self.seen_generation {
            self.seen_generation = generation;
            let anchor = self.rows.get(self.selected);
            let (base, finished) = match self.state.read() {
                Ok(st) => {
                    self.unreadable = st.inputs.iter().filter(|i| i.error.is_some()).count();
                    (BaseOrder::from_state(&st), st.finished)
                }
                Err(_) => (BaseOrder::Concat { starts: vec![0] }, true),
            };
            self.index_finished = finished;
            let re_anchor = base.is_merged() != self.rows.base.is_merged();
            self.rows = Rows { base: Arc::new(base), filtered: None };
            if re_anchor {
                if let Some((i, l)) = anchor {
                    self.selected = self.rows.find(i, l).unwrap_or(0);
                    self.scroll_to_selection();
                }
            }
            if !self.filter.is_empty() {
                // Row lists refer to the base order: recompute once the index is complete.
                self.filter_tag += 1;
                self.filter_job = None;
            }
            changed = true;
        }
        if self.index_finished
            && !self.filter.is_empty()
            && self.filter_job.is_none()
            && self.rows.filtered.is_none()
        {
            self.start_filter_job();
            changed = true;
        }
        if let Some(job) = &self.filter_job {
            match job.rx.try_recv() {
                Ok(result) => {
                    let tag = job.tag;
                    self.filter_job = None;
                    if tag == self.filter_tag {
                        self.search_job = None;
                        let anchor = self.rows.get(self.selected);
                        let filtered = result.unwrap_or_default();
                        self.message = format!("{} lines match the filter", filtered.len());
                        self.rows.filtered = Some(Arc::new(filtered));
                        self.selected = anchor
                            .and_then(|(i, l)| self.rows.find_at_or_after(i, l))
                            .unwrap_or(0)
                            .min(self.rows.len().saturating_sub(1));
                        self.scroll_to_selection();
                    }
                    changed = true;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.filter_job = None;
                    // An empty result, so the job is not restarted on every tick.
                    self.rows.filtered = Some(Arc::new(Vec::new()));
                    self.message = "filter failed".into();
                    changed = true;
                }
                Err(mpsc::TryRecvError::Empty) => changed = true, // progress moves
            }
        }
        if let Some(job) = &self.search_job {
            match job.rx.try_recv() {
                Ok(found) => {
                    self.search_job = None;
                    match found {
                        Some(row) => {
                            self.selected = row;
                            self.scroll_to_selection();
                            self.message.clear();
                        }
                        None => self.message = "no more matches".into(),
                    }
                    changed = true;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.search_job = None;
                    changed = true;
                }
                Err(mpsc::TryRecvError::Empty) => changed = true,
            }
        }
        if let Some((i, l)) = self.pending_goto {
            if self.rows.base.find(i, l).is_some() {
                self.goto(InputId(i), l);
                changed = true;
            } else if self.index_finished {
                self.pending_goto = None;
                self.message = format!("{}:{l} is past the end of the input", self.name(i));
                changed = true;
            }
        }
        if changed {
            self.clamp();
            self.refresh();
        }
        changed
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        if key.kind == KeyEventKind::Release {
            return false;
        }
        if let Some((kind, text)) = &mut self.prompt {
            match key.code {
                KeyCode::Esc => self.prompt = None,
                KeyCode::Enter => {
                    let (kind, text) = (*kind, std::mem::take(text));
                    self.prompt = None;
                    self.commit_prompt(kind, &text);
                }
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
                _ => {}
            }
            self.refresh();
            return true;
        }
        let page = u64::from(self.body_height().max(1));
        let last = self.rows.len().saturating_sub(1);
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(page),
            KeyCode::PageDown => self.selected = (self.selected + page).min(last),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = last,
            KeyCode::Left => self.hscroll = self.hscroll.saturating_sub(HSCROLL_STEP),
            KeyCode::Right => {
                let widest = self.visible.iter().map(|v| v.text.chars().count()).max().unwrap_or(0);
                self.hscroll = (self.hscroll + HSCROLL_STEP).min(widest.saturating_sub(1));
            }
            KeyCode::Char('/') => self.prompt = Some((PromptKind::Search, String::new())),
            KeyCode::Char('&') => self.prompt = Some((PromptKind::Filter, String::new())),
            KeyCode::Char('n') => self.start_search(true),
            KeyCode::Char('N') => self.start_search(false),
            KeyCode::Char('e') => self.jump_evidence(true),
            KeyCode::Char('E') => self.jump_evidence(false),
            KeyCode::Char('w') => self.set_levels(WARN_LEVELS),
            KeyCode::Char('i') => self.set_levels(self.filter.levels ^ Level::NcclInfo.bit()),
            KeyCode::Char('o') => self.set_levels(self.filter.levels ^ Level::Other.bit()),
            KeyCode::Char('a') => self.set_levels(ALL_LEVELS),
            KeyCode::Char('H') => self.cycle_host(),
            KeyCode::Char('p') => self.cycle_proc(),
            KeyCode::Char('c') => {
                self.search = None;
                self.search_job = None;
                self.set_filter(Filter::default());
            }
            KeyCode::Esc if self.search_job.is_some() || self.filter_job.is_some() => {
                self.search_job = None;
                if self.filter_job.take().is_some() {
                    // A cancelled filter is dropped, not left half-applied.
                    self.filter = Filter::default();
                    self.filter_tag += 1;
                    self.rows.filtered = None;
                }
                self.message = "cancelled".into();
            }
            _ => return false,
        }
        self.clamp();
        self.scroll_to_selection();
        self.refresh();
        true
    }

    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        let body = self.body_area();
        let inside = ev.column >= self.area.x
            && ev.column < self.area.x + self.area.width
            && ev.row >= self.area.y
            && ev.row < self.area.y + self.area.height;
        if !inside {
            return false;
        }
        let last = self.rows.len().saturating_sub(1);
        match ev.kind {
            MouseEventKind::ScrollUp => {
                self.top = self.top.saturating_sub(WHEEL_STEP);
                self.selected = self.selected.saturating_sub(WHEEL_STEP);
            }
            MouseEventKind::ScrollDown => {
                self.selected = (self.selected + WHEEL_STEP).min(last);
                self.top = (self.top + WHEEL_STEP).min(self.max_top());
            }
            MouseEventKind::Down(MouseButton::Left) if ev.row >= body.y && ev.row < body.y + body.height => {
                let row = self.top + u64::from(ev.row - body.y);
                if row <= last && self.rows.len() > 0 {
                    self.selected = row;
                }
            }
            _ => return false,
        }
        self.clamp();
        self.scroll_to_selection();
        self.refresh();
        true
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        if area.height == 0 || area.width == 0 {
            return;
        }
        let header = Rect { height: 1, ..area };
        f.render_widget(
            Paragraph::new(self.header_line()).style(Style::new().add_modifier(Modifier::REVERSED)),
            header,
        );
        if area.height >= 2 {
            let footer = Rect { y: area.y + area.height - 1, height: 1, ..area };
            f.render_widget(Paragraph::new(self.footer_line()), footer);
        }
        let body = body_of(area);
        if body.height == 0 {
            return;
        }
        let gutter_w = self.visible.iter().map(|v| v.gutter.chars().count()).max().unwrap_or(0);
        let mut lines = Vec::with_capacity(body.height as usize);
        for v in self.visible.iter().take(body.height as usize) {
            lines.push(self.render_line(v, gutter_w, body.width as usize));
        }
        if self.visible.is_empty() {
            let text = if !self.index_finished {
                "indexing…"
            } else if !self.filter.is_empty() && self.filter_job.is_none() {
                "no line matches the filter (c clears filters)"
            } else {
                "no lines"
            };
            lines.push(Line::styled(text, Style::new().fg(Color::DarkGray)));
        }
        f.render_widget(Paragraph::new(lines), body);
    }

    // --- internals -------------------------------------------------------------------------

    fn name(&self, input: u32) -> &str {
        self.names.get(input as usize).map_or("?", String::as_str)
    }

    fn body_height(&self) -> u16 {
        body_of(self.area).height
    }

    fn body_area(&self) -> Rect {
        body_of(self.area)
    }

    fn max_top(&self) -> u64 {
        self.rows.len().saturating_sub(u64::from(self.body_height()))
    }

    fn clamp(&mut self) {
        let len = self.rows.len();
        self.selected = self.selected.min(len.saturating_sub(1));
        self.top = self.top.min(self.max_top());
    }

    fn scroll_to_selection(&mut self) {
        let h = u64::from(self.body_height().max(1));
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + h {
            self.top = self.selected + 1 - h;
        }
        self.top = self.top.min(self.max_top());
    }

    /// Decodes the lines on screen into `visible`.
    fn refresh(&mut self) {
        let h = u64::from(self.body_height());
        let end = (self.top + h).min(self.rows.len());
        let mut visible = Vec::with_capacity(h as usize);
        for row in self.top..end {
            let Some((input, line)) = self.rows.get(row) else { break };
            let level = self
                .state
                .read()
                .ok()
                .and_then(|st| st.inputs.get(input as usize)?.levels.get((line - 1) as usize).copied())
                .map_or(Level::Other, Level::from_u8);
            let raw = self.source.line(input, line).unwrap_or("").to_owned();
            let text = expand_tabs(&sanitize_line(&raw));
            let matches = match &self.search {
                Some(re) => {
                    re.find_iter(&text).map(|m| (m.start(), m.end())).filter(|(a, b)| a < b).collect()
                }
                None => Vec::new(),
            };
            visible.push(VisibleLine {
                row,
                gutter: if self.names.len() == 1 {
                    line.to_string()
                } else {
                    format!("{}:{line}", self.names.get(input as usize).map_or("?", String::as_str))
                },
                text,
                level,
                evidence: self.evidence.contains_key(&(input, line)),
                matches,
            });
        }
        self.visible = visible;
    }

    fn set_levels(&mut self, levels: u8) {
        let mut f = self.filter.clone();
        f.levels = if levels == 0 { ALL_LEVELS } else { levels };
        self.set_filter(f);
    }

    fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.filter_tag += 1;
        self.filter_job = None;
        // A running search answers with a row of the old row list.
        self.search_job = None;
        let anchor = self.rows.get(self.selected);
        self.rows.filtered = None;
        if let Some((i, l)) = anchor {
            self.selected = self.rows.find(i, l).unwrap_or(0);
        }
        if !self.filter.is_empty() && self.index_finished {
            self.start_filter_job();
        }
        self.clamp();
        self.scroll_to_selection();
    }

    fn cycle_host(&mut self) {
        let hosts: Vec<String> = {
            let mut h: Vec<String> = self.analysis.job.procs.iter().filter_map(|p| p.host.clone()).collect();
            h.sort();
            h.dedup();
            h
        };
        let next = match &self.filter.host {
            None => hosts.first().cloned(),
            Some(cur) => hosts.iter().position(|h| h == cur).and_then(|p| hosts.get(p + 1)).cloned(),
        };
        let mut f = self.filter.clone();
        f.host = next;
        self.set_filter(f);
    }

    fn cycle_proc(&mut self) {
        let n = self.analysis.job.procs.len();
        let next = match self.filter.proc {
            None if n > 0 => Some(0),
            Some(p) if p + 1 < n => Some(p + 1),
            _ => None,
        };
        let mut f = self.filter.clone();
        f.proc = next;
        self.set_filter(f);
    }

    fn commit_prompt(&mut self, kind: PromptKind, text: &str) {
        if text.is_empty() {
            match kind {
                PromptKind::Search => self.search = None,
                PromptKind::Filter => {
                    let mut f = self.filter.clone();
                    f.regex = None;
                    self.set_filter(f);
                }
            }
            return;
        }
        let re = match Regex::new(text) {
            Ok(re) => re,
            Err(e) => {
                self.message = format!("bad regex: {}", e.to_string().lines().last().unwrap_or(""));
                return;
            }
        };
        match kind {
            PromptKind::Search => {
                self.search = Some(re);
                // The selected line itself counts when it matches: start just before it.
                self.start_search_from(self.selected, true, true);
            }
            PromptKind::Filter => {
                let mut f = self.filter.clone();
                f.regex = Some(re);
                self.set_filter(f);
            }
        }
    }

    /// Per input: which lines the host/process filters keep.
    fn scopes(&self) -> Vec<Scope> {
        let n = self.names.len();
        let procs = &self.analysis.job.procs;
        let mut scopes = vec![Scope::All; n];
        let procs_in = |i: usize| procs.iter().filter(|p| p.input.0 as usize == i).count();
        if let Some(p) = self.filter.proc.and_then(|p| procs.get(p)) {
            for (i, s) in scopes.iter_mut().enumerate() {
                *s = if p.input.0 as usize != i {
                    Scope::Nothing
                } else if procs_in(i) <= 1 {
                    Scope::All
                } else {
                    match (&p.host, p.pid) {
                        (Some(h), Some(pid)) => Scope::Containing(format!("{h}:{pid}:").into_bytes()),
                        (Some(h), None) => Scope::Containing(format!("{h}:").into_bytes()),
                        _ => Scope::All,
                    }
                };
            }
        }
        if let Some(host) = &self.filter.host {
            for (i, s) in scopes.iter_mut().enumerate() {
                let on_input: Vec<_> = procs.iter().filter(|p| p.input.0 as usize == i).collect();
                let mine = on_input.iter().filter(|p| p.host.as_deref() == Some(host.as_str())).count();
                let host_scope = if mine == 0 {
                    Scope::Nothing
                } else if mine == on_input.len() {
                    Scope::All
                } else {
                    Scope::Containing(format!("{host}:").into_bytes())
                };
                *s = match (std::mem::replace(s, Scope::All), host_scope) {
                    (Scope::Nothing, _) | (_, Scope::Nothing) => Scope::Nothing,
                    (Scope::All, other) | (other, Scope::All) => other,
                    // A process needle already names its host.
                    (proc_needle @ Scope::Containing(_), Scope::Containing(_)) => proc_needle,
                };
            }
        }
        scopes
    }

    fn start_filter_job(&mut self) {
        let scopes = self.scopes();
        let levels = self.filter.levels;
        let regex = self.filter.regex.clone();
        let state = self.state.clone();
        let base = self.rows.base.clone();
        let total = base.len();
        let tag = self.filter_tag;
        self.filter_job = Some(Job::spawn(tag, total, move |cancel, done| {
            compute_filter(&state, &base, &scopes, levels, regex.as_ref(), cancel, done)
        }));
    }

    fn start_search(&mut self, forward: bool) {
        if self.search.is_none() {
            self.message = "no search: press / first".into();
            return;
        }
        self.start_search_from(self.selected, forward, false);
    }

    fn start_search_from(&mut self, from: u64, forward: bool, inclusive: bool) {
        let Some(re) = self.search.clone() else { return };
        let rows = self.rows.clone();
        let state = self.state.clone();
        let total = rows.len();
        self.message = format!("searching /{}…", re.as_str());
        if forward && !rows.base.is_merged() {
            self.search_job = Some(Job::spawn(0, total, move |cancel, done| {
                search_forward_streaming(&state, &rows, &re, from, inclusive, cancel, done)
            }));
            return;
        }
        self.search_job = Some(Job::spawn(0, total, move |cancel, done| {
            let mut source = LineSource::new(state, SEARCH_CACHE_BYTES, SEARCH_CAP);
            let mut row = from;
            let mut first = inclusive;
            loop {
                if !first {
                    if forward {
                        row += 1;
                        if row >= rows.len() {
                            return None;
                        }
                    } else {
                        row = row.checked_sub(1)?;
                    }
                }
                first = false;
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                done.fetch_add(1, Ordering::Relaxed);
                let (i, l) = rows.get(row)?;
                if source.line(i, l).is_some_and(|t| re.is_match(t)) {
                    return Some(row);
                }
            }
        }));
    }

    fn jump_evidence(&mut self, forward: bool) {
        let sel = self.selected;
        let mut best: Option<u64> = None;
        for &(i, l) in self.evidence.keys() {
            let Some(r) = self.rows.find(i, l) else { continue };
            let better = if forward {
                r > sel && best.is_none_or(|b| r < b)
            } else {
                r < sel && best.is_none_or(|b| r > b)
            };
            if better {
                best = Some(r);
            }
        }
        match best {
            Some(r) => {
                self.selected = r;
                self.message.clear();
            }
            None => {
                self.message =
                    if forward { "no evidence line below" } else { "no evidence line above" }.into();
            }
        }
    }

    fn header_line(&self) -> Line<'static> {
        let n = self.names.len();
        let mut parts = vec![if self.rows.base.is_merged() {
            format!(" Logs · {n} inputs merged by timestamp")
        } else if n > 1 {
            format!(" Logs · {n} inputs one after the other (not all timestamped)")
        } else {
            " Logs · 1 input".to_owned()
        }];
        let mut filters = Vec::new();
        if self.filter.levels != ALL_LEVELS {
            let shown: Vec<_> =
                Level::ALL.iter().filter(|l| self.filter.levels & l.bit() != 0).map(|l| l.name()).collect();
            filters.push(format!("levels {}", shown.join("+")));
        }
        if let Some(h) = &self.filter.host {
            filters.push(format!("host {h}"));
        }
        if let Some(p) = self.filter.proc.and_then(|p| self.analysis.job.procs.get(p)) {
            filters.push(format!("process {}", p.label()));
        }
        if let Some(re) = &self.filter.regex {
            filters.push(format!("&{}", re.as_str()));
        }
        if !filters.is_empty() {
            parts.push(format!("filter: {}", filters.join(", ")));
        }
        parts.push(format!("{} lines", self.rows.len()));
        if self.unreadable > 0 {
            parts.push(format!("⚠ {} input(s) could not be read to the end", self.unreadable));
        }
        if !self.index_finished {
            parts.push(format!("indexing {:.0}%", self.index.fraction() * 100.0));
        }
        if let Some(job) = &self.filter_job {
            parts.push(format!("filtering {}% (Esc cancels)", job.percent()));
        } else if !self.filter.is_empty() && self.rows.filtered.is_none() {
            parts.push("filter waits for the index".into());
        }
        if let Some(job) = &self.search_job {
            parts.push(format!("searching {}% (Esc cancels)", job.percent()));
        }
        Line::from(sanitize_line(&parts.join(" │ ")).into_owned())
    }

    fn footer_line(&self) -> Line<'static> {
        if let Some((kind, text)) = &self.prompt {
            let p = match kind {
                PromptKind::Search => "/",
                PromptKind::Filter => "&",
            };
            return Line::from(vec![
                Span::styled(p.to_owned(), Style::new().fg(Color::Yellow)),
                Span::raw(sanitize_line(text).into_owned()),
                Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
            ]);
        }
        let mut spans = Vec::new();
        if let Some((i, l)) = self.rows.get(self.selected) {
            let path = self
                .analysis
                .inputs
                .get(i as usize)
                .map_or_else(|| self.name(i).to_owned(), |s| s.path.clone());
            spans.push(Span::raw(format!("{}:{l}", sanitize_line(&path))));
            if let Some(rules) = self.evidence.get(&(i, l)) {
                spans.push(Span::raw("  "));
                spans.push(Span::styled(
                    format!("◆ evidence for {}", rules.join(", ")),
                    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                ));
            }
        }
        if let Some(re) = &self.search {
            spans.push(Span::raw(format!("  /{}", sanitize_line(re.as_str()))));
        }
        if !self.message.is_empty() {
            spans.push(Span::styled(
                format!("  {}", sanitize_line(&self.message)),
                Style::new().fg(Color::Yellow),
            ));
        }
        Line::from(spans)
    }

    fn render_line(&self, v: &VisibleLine, gutter_w: usize, width: usize) -> Line<'static> {
        let selected = v.row == self.selected;
        // The selection is marked by a symbol too, not only by reversed colours.
        let cursor = Span::raw(if selected { "▶" } else { " " });
        let marker = if v.evidence {
            Span::styled("◆", Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD))
        } else {
            Span::raw(" ")
        };
        let gutter = Span::styled(format!("{:>gutter_w$}│", v.gutter), Style::new().fg(Color::DarkGray));
        let base = match v.level {
            Level::NcclWarn | Level::UcxWarn => Style::new().fg(Color::Yellow),
            Level::UcxError => Style::new().fg(Color::Red),
            Level::NcclInfo | Level::Other => Style::new(),
        };
        let base = if selected { base.add_modifier(Modifier::REVERSED) } else { base };
        let hit = base.bg(Color::Yellow).fg(Color::Black);
        let room = width.saturating_sub(gutter_w + 3);
        let mut spans = vec![cursor, marker, gutter];
        let mut cur = String::new();
        let mut cur_hit = false;
        let mut shown = 0;
        let mut next_match = 0;
        for (pos, c) in v.text.char_indices().skip(self.hscroll) {
            if shown >= room {
                break;
            }
            // Matches are sorted and disjoint: walk them along with the text.
            while v.matches.get(next_match).is_some_and(|&(_, b)| b <= pos) {
                next_match += 1;
            }
            let is_hit = v.matches.get(next_match).is_some_and(|&(a, _)| a <= pos);
            if is_hit != cur_hit && !cur.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut cur), if cur_hit { hit } else { base }));
            }
            cur_hit = is_hit;
            cur.push(c);
            shown += 1;
        }
        if !cur.is_empty() {
            spans.push(Span::styled(cur, if cur_hit { hit } else { base }));
        }
        if selected && shown < room {
            spans.push(Span::styled(" ".repeat(room - shown), base));
        }
        Line::from(spans)
    }
}

fn body_of(area: Rect) -> Rect {
    let h = area.height.saturating_sub(2);
    Rect { y: area.y + area.height.min(1), height: h, ..area }
}

/// The file name of a path, cut to its last 24 characters.
fn short_name(display: &str) -> String {
    let name = display.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(display);
    let clean = sanitize_line(name);
    let n = clean.chars().count();
    if n <= 24 {
        clean.into_owned()
    } else {
        format!("…{}", clean.chars().skip(n - 23).collect::<String>())
    }
}

fn expand_tabs(text: &str) -> String {
    if !text.contains('\t') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut col = 0;
    for c in text.chars() {
        if c == '\t' {
            let n = TAB_WIDTH - col % TAB_WIDTH;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

/// The base rows kept by a filter, in order; `None` when cancelled.
fn compute_filter(
    state: &RwLock<IndexState>,
    base: &BaseOrder,
    scopes: &[Scope],
    levels: u8,
    regex: Option<&Regex>,
    cancel: &AtomicBool,
    done: &AtomicU64,
) -> Option<Vec<u64>> {
    // Per input, a bitmap of kept lines (bit l-1 for line l).
    let mut keep: Vec<Vec<u64>> = Vec::with_capacity(scopes.len());
    for (i, scope) in scopes.iter().enumerate() {
        let (lines, lv): (u64, Vec<u8>) = {
            let st = state.read().ok()?;
            let inp = st.inputs.get(i)?;
            (inp.lines, if levels == ALL_LEVELS { Vec::new() } else { inp.levels.clone() })
        };
        let mut bits = vec![0u64; lines.div_ceil(64) as usize];
        let level_ok = |l: u64| {
            levels == ALL_LEVELS || lv.get((l - 1) as usize).is_some_and(|&b| levels & (1 << b) != 0)
        };
        let needle = match scope {
            Scope::Nothing => {
                done.fetch_add(lines, Ordering::Relaxed);
                keep.push(bits);
                continue;
            }
            Scope::All => None,
            Scope::Containing(n) => Some(memmem::Finder::new(n)),
        };
        if needle.is_none() && regex.is_none() {
            for l in 1..=lines {
                if level_ok(l) {
                    bits[((l - 1) / 64) as usize] |= 1 << ((l - 1) % 64);
                }
            }
            done.fetch_add(lines, Ordering::Relaxed);
        } else {
            let mut cancelled = false;
            let r = index::for_each_line_of(state, i as u32, |l, text| {
                if l % 4096 == 0 {
                    done.fetch_add(4096, Ordering::Relaxed);
                    if cancel.load(Ordering::Relaxed) {
                        cancelled = true;
                        return false;
                    }
                }
                if level_ok(l)
                    && needle.as_ref().is_none_or(|n| n.find(text.as_bytes()).is_some())
                    && regex.is_none_or(|re| re.is_match(text))
                {
                    if let Some(w) = bits.get_mut(((l - 1) / 64) as usize) {
                        *w |= 1 << ((l - 1) % 64);
                    }
                }
                true
            });
            if cancelled {
                return None;
            }
            // An unreadable input keeps nothing; the others still count.
            let _ = r;
        }
        keep.push(bits);
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
    }
    let mut rows = Vec::new();
    let test = |i: u32, l: u64| -> bool {
        keep.get(i as usize)
            .and_then(|b| b.get(((l - 1) / 64) as usize))
            .is_some_and(|w| w & (1 << ((l - 1) % 64)) != 0)
    };
    match base {
        BaseOrder::Concat { starts } => {
            for i in 0..scopes.len() {
                let (s, e) = (starts.get(i).copied().unwrap_or(0), starts.get(i + 1).copied().unwrap_or(0));
                for l in 1..=(e.saturating_sub(s)) {
                    if test(i as u32, l) {
                        rows.push(s + l - 1);
                    }
                }
            }
        }
        BaseOrder::Merged(order) => {
            let mut cancelled = false;
            order.for_each(|row, i, l| {
                if test(i, l) {
                    rows.push(row);
                }
                if row % 65_536 == 0 && cancel.load(Ordering::Relaxed) {
                    cancelled = true;
                }
                !cancelled
            });
            if cancelled {
                return None;
            }
        }
    }
    Some(rows)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use ncclscope_analyzer::{analyze, Options};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;

    fn sample(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples").join(rel)
    }

    fn open_view(paths: &[PathBuf]) -> LogsView {
        let (specs, problems) = ncclscope_parser::expand_paths(paths);
        let analysis = Arc::new(analyze(&specs, &problems, &Options::default()));
        let mut v = LogsView::new(analysis, specs);
        v.set_viewport(Rect::new(0, 0, 100, 12));
        settle(&mut v);
        v
    }

    /// Polls `tick` until indexing, filtering and searching are done.
    fn settle(v: &mut LogsView) {
        let start = Instant::now();
        loop {
            v.tick();
            let filter_done = v.filter.is_empty() || v.rows.filtered.is_some();
            if v.index_finished && v.filter_job.is_none() && v.search_job.is_none() && filter_done {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "background work did not finish");
            thread::sleep(Duration::from_millis(2));
        }
    }

    fn press(v: &mut LogsView, code: KeyCode) -> bool {
        let consumed = v.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
        settle(v);
        consumed
    }

    fn press_no_settle(v: &mut LogsView, code: KeyCode) -> bool {
        v.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn type_text(v: &mut LogsView, text: &str) {
        for c in text.chars() {
            assert!(v.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
        }
        press(v, KeyCode::Enter);
    }

    fn render(v: &LogsView, w: u16, h: u16) -> (String, ratatui::buffer::Buffer) {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| v.draw(f, f.area())).unwrap();
        let buf = term.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        // Paths differ per machine and run: masked so snapshots are stable.
        let tmp = std::env::temp_dir().to_string_lossy().trim_end_matches('/').to_owned();
        let out = out.replace(env!("CARGO_MANIFEST_DIR"), "<crate>");
        let out = regex::Regex::new(&format!(r"{}/\.tmp\w+", regex::escape(&tmp)))
            .unwrap()
            .replace_all(&out, "<tmp>");
        (out.into_owned(), buf)
    }

    fn selected(v: &LogsView) -> (u32, u64) {
        v.rows.get(v.selected).unwrap()
    }

    /// Every row's `(input, line)` in order.
    fn all_rows(v: &LogsView) -> Vec<(u32, u64)> {
        (0..v.rows.len()).map(|r| v.rows.get(r).unwrap()).collect()
    }

    fn text_of(v: &mut LogsView, input: u32, line: u64) -> String {
        v.source.line(input, line).unwrap().to_owned()
    }

    #[test]
    fn goto_selects_and_centres_the_line() {
        let path = sample("p5-efa-healthy.log");
        let mut v = open_view(std::slice::from_ref(&path));
        let lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
        assert_eq!(v.rows.len(), lines.len() as u64);
        let target = (lines.len() / 2) as u64;
        v.goto(InputId(0), target);
        assert_eq!(selected(&v), (0, target));
        let (screen, _) = render(&v, 100, 12);
        let want: String = lines[target as usize - 1].chars().take(60).collect();
        assert!(screen.contains(&want), "line {target} not on screen:\n{screen}");
        // Centred: the selected row is in the middle of the 10-line body.
        assert_eq!(v.selected - v.top, 5);
        insta::assert_snapshot!("goto_middle_of_sample", screen);
    }

    #[test]
    fn level_filter_hides_info() {
        let mut v = open_view(&[sample("stuck-init")]);
        let before = v.rows.len();
        assert!(press(&mut v, KeyCode::Char('w')));
        let rows = all_rows(&v);
        assert!(!rows.is_empty() && (rows.len() as u64) < before);
        for (i, l) in rows.clone() {
            let text = text_of(&mut v, i, l);
            assert!(!text.contains("NCCL INFO"), "{text}");
            assert!(text.contains("WARN") || text.contains("ERROR"), "{text}");
        }
        // `i` on top of `w` brings INFO back, `a` everything.
        press(&mut v, KeyCode::Char('i'));
        assert!(v.rows.len() > rows.len() as u64);
        press(&mut v, KeyCode::Char('a'));
        assert_eq!(v.rows.len(), before);
        assert!(v.rows.filtered.is_none());
    }

    #[test]
    fn regex_search_and_next_previous() {
        let path = sample("p5-efa-healthy.log");
        let mut v = open_view(std::slice::from_ref(&path));
        let lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
        let re = Regex::new(r"NET/\w+ ?:").unwrap();
        let want: Vec<u64> =
            lines.iter().enumerate().filter(|(_, l)| re.is_match(l)).map(|(i, _)| i as u64 + 1).collect();
        assert!(want.len() >= 2, "sample has too few matches");
        press(&mut v, KeyCode::Char('/'));
        assert!(v.is_editing());
        type_text(&mut v, r"NET/\w+ ?:");
        assert!(!v.is_editing());
        assert_eq!(selected(&v), (0, want[0]));
        press(&mut v, KeyCode::Char('n'));
        assert_eq!(selected(&v), (0, want[1]));
        press(&mut v, KeyCode::Char('N'));
        assert_eq!(selected(&v), (0, want[0]));
        // The match is highlighted on the selected line.
        let (_, buf) = render(&v, 100, 12);
        let hit = (0..buf.area.height)
            .flat_map(|y| (0..buf.area.width).map(move |x| (x, y)))
            .any(|(x, y)| buf[(x, y)].bg == Color::Yellow);
        assert!(hit, "no highlighted match");
    }

    /// `n` walks every match of a whole multi-input log in order (the streaming forward
    /// search), across input boundaries and past lines a filter hides.
    #[test]
    fn forward_search_crosses_inputs_and_respects_filters() {
        let (specs, _) = ncclscope_parser::expand_paths(&[sample("stuck-init")]);
        let dir: Vec<String> = specs.iter().map(|s| s.display.clone()).collect();
        let mut v = open_view(&[sample("stuck-init")]);
        assert!(!v.rows.base.is_merged(), "the streaming path serves inputs shown one after the other");
        let re = Regex::new(r"Init START|NCCL WARN").unwrap();
        let mut want = Vec::new();
        for (i, path) in dir.iter().enumerate() {
            for (n, l) in std::fs::read_to_string(path).unwrap().lines().enumerate() {
                if re.is_match(l) {
                    want.push((i as u32, n as u64 + 1));
                }
            }
        }
        assert!(want.iter().map(|w| w.0).collect::<std::collections::BTreeSet<_>>().len() > 2);
        v.selected = 0;
        press(&mut v, KeyCode::Char('/'));
        type_text(&mut v, r"Init START|NCCL WARN");
        let mut got = vec![selected(&v)];
        loop {
            let before = v.selected;
            press(&mut v, KeyCode::Char('n'));
            if v.selected == before {
                break;
            }
            got.push(selected(&v));
        }
        assert_eq!(got, want);
        // WARN and errors only: INFO lines (Init START) are hidden, so only WARNs are found.
        press(&mut v, KeyCode::Char('w'));
        v.selected = 0;
        let line_text = |(i, l): (u32, u64)| {
            std::fs::read_to_string(&dir[i as usize]).unwrap().lines().nth(l as usize - 1).unwrap().to_owned()
        };
        let warns = want.iter().filter(|&&w| line_text(w).contains("NCCL WARN")).count();
        let mut seen = 0;
        loop {
            let before = v.selected;
            press(&mut v, KeyCode::Char('n'));
            if v.selected == before {
                break;
            }
            assert!(line_text(selected(&v)).contains("NCCL WARN"), "{:?}", selected(&v));
            seen += 1;
        }
        assert!(seen + 1 >= warns && warns > 0, "saw {seen} of {warns} WARN lines");
    }

    #[test]
    fn evidence_lines_are_visited_in_order() {
        let mut v = open_view(&[sample("stuck-init")]);
        let mut want: Vec<u64> = v.evidence.keys().filter_map(|&(i, l)| v.rows.find(i, l)).collect();
        want.sort_unstable();
        assert!(want.len() >= 2, "stuck-init should have evidence lines: {:?}", v.analysis.findings.len());
        let mut got = Vec::new();
        v.selected = 0;
        if want[0] == 0 {
            got.push(0);
        }
        loop {
            let before = v.selected;
            press(&mut v, KeyCode::Char('e'));
            if v.selected == before {
                break;
            }
            got.push(v.selected);
        }
        assert_eq!(got, want);
        let mut back = Vec::new();
        loop {
            let before = v.selected;
            press(&mut v, KeyCode::Char('E'));
            if v.selected == before {
                break;
            }
            back.push(v.selected);
        }
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(back, rev[1..]);
        // The footer names the rule of the selected evidence line.
        let (i, l) = selected(&v);
        let (screen, _) = render(&v, 140, 12);
        let rules = &v.evidence[&(i, l)];
        assert!(screen.contains(rules[0]), "{screen}");
        assert!(screen.contains('◆'));
        insta::assert_snapshot!("stuck_init_first_evidence", screen);
    }

    #[test]
    fn process_filter_shows_only_that_process() {
        let mut v = open_view(&[sample("stuck-init")]);
        let procs = &v.analysis.job.procs;
        assert!(procs.len() >= 2);
        let p = 3;
        let input = procs[p].input.0;
        let total_in_input = v.rows.base.find(input + 1, 1).unwrap() - v.rows.base.find(input, 1).unwrap();
        v.filter_process(Some(p));
        settle(&mut v);
        let rows = all_rows(&v);
        assert_eq!(rows.len() as u64, total_in_input);
        assert!(rows.iter().all(|&(i, _)| i == input));
        let (screen, _) = render(&v, 120, 12);
        assert!(screen.contains("process gpu-node-a:5103"), "{screen}");
        v.filter_process(None);
        settle(&mut v);
        assert!(v.rows.filtered.is_none());
    }

    #[test]
    fn process_filter_in_a_shared_input_uses_the_nccl_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mixed.log");
        let mut body = String::new();
        for k in 0..600 {
            let (pid, rank) = if k % 3 == 0 { (7002, 1) } else { (7001, 0) };
            body.push_str(&format!("nodeq:{pid}:{pid} [{rank}] NCCL INFO line {k}\n"));
            if k % 100 == 0 {
                body.push_str("launcher noise without prefix\n");
            }
        }
        std::fs::write(&p, body).unwrap();
        let mut v = open_view(&[p]);
        let procs = &v.analysis.job.procs;
        let target = procs.iter().position(|p| p.pid == Some(7002)).expect("process 7002 in the job model");
        assert!(procs.len() >= 2);
        v.filter_process(Some(target));
        settle(&mut v);
        let rows = all_rows(&v);
        assert_eq!(rows.len(), 200);
        for (i, l) in rows {
            assert!(text_of(&mut v, i, l).starts_with("nodeq:7002:"));
        }
    }

    /// The index numbers lines exactly as the analyzer does: same counts, and every evidence
    /// line reads back with the evidence's text.
    #[test]
    fn corpus_line_numbers_match_the_analyzer() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
        if !corpus.is_dir() {
            eprintln!("skipped: corpus not found at {}", corpus.display());
            return;
        }
        let mut v = open_view(&[corpus.join("nccl"), corpus.join("ucx")]);
        let analysis = v.analysis.clone();
        let st_lines: Vec<u64> = v.state.read().unwrap().inputs.iter().map(|i| i.lines).collect();
        for (i, summary) in analysis.inputs.iter().enumerate().take(st_lines.len()) {
            assert_eq!(st_lines[i], summary.lines, "{}", summary.path);
        }
        let mut checked = 0;
        for f in &analysis.findings {
            // Line 0 is evidence about a whole input.
            for e in f.evidence.iter().filter(|e| e.pos.line > 0) {
                let Some(text) = v.source.line(e.input.0, e.pos.line).map(str::to_owned) else {
                    panic!(
                        "{}:{} ({:?}) unreadable: {:?}",
                        analysis.path(e.input),
                        e.pos.line,
                        e.text,
                        st_lines.get(e.input.0 as usize)
                    );
                };
                let want = e.text.trim_end_matches('…');
                assert!(
                    text.contains(want),
                    "{}:{}: {text:?} vs {want:?}",
                    analysis.path(e.input),
                    e.pos.line
                );
                checked += 1;
            }
        }
        assert!(checked > 0);
    }

    /// A pipe is spooled, and its lines are shown while it is still being written.
    #[cfg(unix)]
    #[test]
    fn pipe_lines_show_while_indexing_continues() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("live.log");
        match std::process::Command::new("mkfifo").arg(&fifo).status() {
            Ok(s) if s.success() => {}
            _ => {
                eprintln!("skipped: mkfifo not available");
                return;
            }
        }
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let path = fifo.clone();
        let writer = thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            let first = index::CHECKPOINT_EVERY * 40;
            for k in 1..=first {
                writeln!(f, "h:1:1 [0] NCCL INFO early {k}").unwrap();
            }
            f.flush().unwrap();
            // Hold the pipe open until the view has shown the early lines.
            let _ = release_rx.recv_timeout(Duration::from_secs(30));
            writeln!(f, "h:1:1 [0] NCCL WARN late").unwrap();
        });
        let analysis = Arc::new(analyze(&[], &[], &Options::default()));
        let spec = InputSpec {
            display: fifo.to_string_lossy().into_owned(),
            source: ncclscope_parser::input::InputSource::File(fifo.clone()),
        };
        let mut v = LogsView::new(analysis, vec![spec]);
        v.set_viewport(Rect::new(0, 0, 80, 8));
        let start = Instant::now();
        while v.rows.len() < index::CHECKPOINT_EVERY * 32 {
            v.tick();
            assert!(start.elapsed() < Duration::from_secs(30), "early lines never shown");
            thread::sleep(Duration::from_millis(2));
        }
        assert!(!v.index_finished);
        assert!(v.is_busy());
        press_no_settle(&mut v, KeyCode::Char('G'));
        let (screen, _) = render(&v, 80, 8);
        assert!(screen.contains("indexing"), "{screen}");
        assert!(screen.contains("early"), "{screen}");
        release_tx.send(()).unwrap();
        writer.join().unwrap();
        settle(&mut v);
        assert_eq!(v.rows.len(), index::CHECKPOINT_EVERY * 40 + 1);
        press(&mut v, KeyCode::Char('G'));
        let last = v.rows.len();
        assert_eq!(text_of(&mut v, 0, last), "h:1:1 [0] NCCL WARN late");
    }

    #[test]
    fn escape_cancels_a_running_filter() {
        let mut v = open_view(&[sample("stuck-init")]);
        v.handle_key(KeyEvent::new(KeyCode::Char('&'), KeyModifiers::NONE));
        for c in "INFO".chars() {
            v.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        v.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        // The result, if already computed, is only taken by `tick`: the job is still running.
        assert!(v.filter_job.is_some());
        assert!(v.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        settle(&mut v);
        assert!(v.filter.is_empty() && v.rows.filtered.is_none());
        assert_eq!(v.message, "cancelled");
    }

    #[test]
    fn host_filter_keeps_that_hosts_inputs() {
        let mut v = open_view(&[sample("stuck-init")]);
        press(&mut v, KeyCode::Char('H'));
        let host = v.filter.host.clone().unwrap();
        let rows = all_rows(&v);
        assert!(!rows.is_empty());
        for (i, l) in rows {
            let t = text_of(&mut v, i, l);
            assert!(t.contains(&format!("{host}:")) || v.names[i as usize].contains(&host), "{t}");
        }
    }

    #[test]
    fn gz_input_shows_the_same_lines_as_plain() {
        let dir = tempfile::tempdir().unwrap();
        let data = std::fs::read(sample("p5-socket-fallback.log")).unwrap();
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, &data).unwrap();
        let gz = dir.path().join("b.log.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&data).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let mut a = open_view(&[plain]);
        let mut b = open_view(&[gz]);
        assert_eq!(a.rows.len(), b.rows.len());
        assert!(matches!(b.state.read().unwrap().inputs[0].readback, Some(index::Readback::Spool(_))));
        for l in 1..=a.rows.len() {
            assert_eq!(text_of(&mut a, 0, l), text_of(&mut b, 0, l), "line {l}");
        }
        a.goto(InputId(0), 40);
        b.goto(InputId(0), 40);
        let texts = |v: &LogsView| v.visible.iter().map(|l| (l.row, l.text.clone())).collect::<Vec<_>>();
        assert_eq!(texts(&a), texts(&b));
        assert_eq!(a.selected, b.selected);
    }

    #[test]
    fn escape_sequences_render_inert() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("evil.log");
        let mut body = String::new();
        body.push_str("h:1:1 [0] NCCL WARN \x1b]52;c;ZXZpbA==\x07clipboard\n");
        body.push_str("\x1b[2J\x1b[H\x1b[31mred\x1b[0m\tcursor\x1b[10;10H moved\n");
        body.push_str("c1 \u{9b}2J csi \u{9d}8;;http://x\u{9c}link\x1bPdcs\x1b\\ end\x07\x08\n");
        body.push_str("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\\n");
        std::fs::write(&p, body).unwrap();
        let mut v = open_view(&[p]);
        assert_eq!(v.rows.len(), 4);
        press(&mut v, KeyCode::Char('/'));
        type_text(&mut v, "red");
        let (screen, buf) = render(&v, 80, 8);
        for cell in buf.content() {
            assert!(
                !cell.symbol().chars().any(|c| c.is_control()),
                "control char in cell: {:?}",
                cell.symbol()
            );
        }
        assert!(screen.contains("clipboard") && screen.contains("red") && screen.contains("click"));
        insta::assert_snapshot!("escape_sequences_inert", screen);
    }

    #[test]
    fn huge_line_and_crlf_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let long = dir.path().join("long.log");
        let mut data = b"first\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', (1 << 20) + 4096));
        data.extend_from_slice(b"\nafter\n");
        std::fs::write(&long, data).unwrap();
        let crlf = dir.path().join("crlf.log");
        std::fs::write(&crlf, "a\r\nb\tc\r\n\r\nlast").unwrap();
        let mut v = open_view(&[long, crlf]);
        assert_eq!(v.rows.len(), 3 + 4);
        assert_eq!(text_of(&mut v, 0, 3), "after");
        assert_eq!(text_of(&mut v, 1, 2), "b\tc");
        assert_eq!(text_of(&mut v, 1, 4), "last");
        for _ in 0..10 {
            press(&mut v, KeyCode::Down);
            press(&mut v, KeyCode::Right);
            render(&v, 60, 6);
        }
        press(&mut v, KeyCode::Char('G'));
        press(&mut v, KeyCode::Char('/'));
        type_text(&mut v, "x{10}");
        let (screen, _) = render(&v, 60, 6);
        assert!(!screen.contains('\r'));
        // A tiny area and an empty one draw without panicking.
        render(&v, 3, 1);
        v.set_viewport(Rect::new(0, 0, 0, 0));
        render(&v, 1, 1);
    }

    #[test]
    fn timestamped_inputs_are_merged_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.log");
        let b = dir.path().join("b.log");
        std::fs::write(&a, "2025-01-01T00:00:01.000 a1\n2025-01-01T00:00:03.000 a2\ncontinued a2\n").unwrap();
        std::fs::write(&b, "2025-01-01T00:00:02.000 b1\n2025-01-01T00:00:04.000 b2\n").unwrap();
        let mut v = open_view(&[a, b]);
        assert!(v.rows.base.is_merged());
        assert_eq!(all_rows(&v), [(0, 1), (1, 1), (0, 2), (0, 3), (1, 2)]);
        let (screen, _) = render(&v, 80, 8);
        assert!(screen.contains("2 inputs merged by timestamp"), "{screen}");
        // goto and find work through the merged order, and so do filters.
        v.goto(InputId(1), 2);
        assert_eq!(v.selected, 4);
        press(&mut v, KeyCode::Char('&'));
        type_text(&mut v, " a");
        assert_eq!(all_rows(&v), [(0, 1), (0, 2), (0, 3)]);
    }

    #[test]
    fn regex_filter_and_escape_cancel() {
        let mut v = open_view(&[sample("stuck-init")]);
        press(&mut v, KeyCode::Char('&'));
        type_text(&mut v, "docker0");
        let rows = all_rows(&v);
        assert!(!rows.is_empty());
        for (i, l) in rows {
            assert!(text_of(&mut v, i, l).contains("docker0"));
        }
        // goto a line the filter hides clears the filter.
        v.goto(InputId(0), 1);
        settle(&mut v);
        assert!(v.filter.is_empty());
        assert_eq!(selected(&v), (0, 1));
        // Esc with nothing running is left to the app.
        assert!(!press(&mut v, KeyCode::Esc));
    }

    #[test]
    fn mouse_wheel_and_click() {
        let mut v = open_view(&[sample("p5-efa-healthy.log")]);
        let ev = |kind, row| MouseEvent { kind, column: 10, row, modifiers: KeyModifiers::NONE };
        assert!(v.handle_mouse(ev(MouseEventKind::ScrollDown, 5)));
        assert_eq!(v.top, 3);
        assert!(v.handle_mouse(ev(MouseEventKind::Down(MouseButton::Left), 4)));
        assert_eq!(v.selected, 3 + 3);
        assert!(!v.handle_mouse(ev(MouseEventKind::ScrollDown, 50)));
    }
}
