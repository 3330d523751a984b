//! Background line index over every input, and the readers built on it.
//!
//! Each input is streamed once on a thread with the analyzer's own [`LineReader`], so line
//! numbers match the findings' evidence exactly. Per input the index keeps a sparse table of the
//! byte offset of every [`CHECKPOINT_EVERY`]th line (about 30 KiB per million lines), one level
//! byte per line (so level filters need no text) and, when lines start with a timestamp, a
//! 32-bit millisecond delta per line to merge inputs in time order. Text is never kept: a line
//! is read back by seeking to its checkpoint and decoding forward. Inputs that cannot be seeked
//! (compressed, UTF-16, pipes, in-memory bytes) are spooled decoded into a temporary file while
//! indexing, so decoded offsets are file offsets there too.
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;

use memchr::memmem;
use ncclscope_parser::input::{self, InputSource, InputSpec};
use ncclscope_parser::LineReader;

/// A line's byte offset is kept for every this many lines.
pub const CHECKPOINT_EVERY: u64 = 256;

/// Lines indexed between two publications to the view (and spool flushes).
const PUBLISH_EVERY: u64 = CHECKPOINT_EVERY * 32;

/// Text kept per line in the page cache: enough for any horizontal scroll; the search thread
/// reads full lines.
pub const DISPLAY_CAP: usize = 16 * 1024;

/// The class of a line, one byte per line in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Level {
    Other = 0,
    NcclInfo = 1,
    NcclWarn = 2,
    UcxWarn = 3,
    UcxError = 4,
}

impl Level {
    pub const ALL: [Level; 5] =
        [Level::Other, Level::NcclInfo, Level::NcclWarn, Level::UcxWarn, Level::UcxError];

    pub fn from_u8(b: u8) -> Level {
        match b {
            1 => Level::NcclInfo,
            2 => Level::NcclWarn,
            3 => Level::UcxWarn,
            4 => Level::UcxError,
            _ => Level::Other,
        }
    }

    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Other => "other",
            Level::NcclInfo => "INFO",
            Level::NcclWarn => "WARN",
            Level::UcxWarn => "UCX WARN",
            Level::UcxError => "UCX ERROR",
        }
    }
}

/// Byte searchers for [`classify`], built once per thread.
pub struct Classifier {
    nccl: memmem::Finder<'static>,
    ucx: memmem::Finder<'static>,
}

impl Default for Classifier {
    fn default() -> Self {
        Self { nccl: memmem::Finder::new(b"NCCL "), ucx: memmem::Finder::new(b"UCX ") }
    }
}

impl Classifier {
    /// NCCL prints `NCCL WARN` / `NCCL INFO`; UCX pads its level (`UCX  ERROR`, `UCX  WARN`).
    pub fn classify(&self, line: &[u8]) -> Level {
        for i in self.nccl.find_iter(line) {
            let rest = &line[i + 5..];
            if rest.starts_with(b"WARN") {
                return Level::NcclWarn;
            }
            if rest.starts_with(b"INFO") {
                return Level::NcclInfo;
            }
        }
        for i in self.ucx.find_iter(line) {
            let rest = &line[i + 4..];
            let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
            let rest = &rest[start..];
            if rest.starts_with(b"ERROR") || rest.starts_with(b"FATAL") {
                return Level::UcxError;
            }
            if rest.starts_with(b"WARN") {
                return Level::UcxWarn;
            }
        }
        Level::Other
    }
}

/// Milliseconds of a leading timestamp: `2025-04-25T06:44:24.787`, `[2025-12-07 19:34:32]`
/// (sagemaker, NCCL_DEBUG_TIMESTAMP_FORMAT) or UCX's `[1745563465.856286]` epoch seconds.
pub fn leading_timestamp_ms(line: &[u8]) -> Option<u64> {
    let s = line.strip_prefix(b"[").unwrap_or(line);
    let digits = |b: &[u8]| -> Option<u64> {
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        b.iter().try_fold(0u64, |acc, &d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))
    };
    let frac_ms = |b: &[u8]| -> u64 {
        let n = b
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .take(3)
            .fold((0u64, 0), |(v, k), &d| (v * 10 + u64::from(d - b'0'), k + 1));
        n.0 * 10u64.pow(3 - n.1)
    };
    if s.len() >= 19 && s[4] == b'-' && s[7] == b'-' && (s[10] == b'T' || s[10] == b' ') {
        let (y, mo, d) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
        if s[13] != b':' || s[16] != b':' {
            return None;
        }
        let (h, mi, sec) = (digits(&s[11..13])?, digits(&s[14..16])?, digits(&s[17..19])?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let days = days_from_civil(y as i64, mo as i64, d as i64);
        let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + sec;
        let ms = match s.get(19) {
            Some(b'.' | b',') => frac_ms(&s[20..]),
            _ => 0,
        };
        return Some(secs * 1000 + ms);
    }
    // Epoch seconds with a fraction (UCX): at least 9 integer digits.
    let int_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if (9..=11).contains(&int_len) && s.get(int_len) == Some(&b'.') {
        let secs = digits(&s[..int_len])?;
        return Some(secs * 1000 + frac_ms(&s[int_len + 1..]));
    }
    None
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Where an indexed input's decoded bytes can be read back from.
#[derive(Debug, Clone)]
pub enum Readback {
    /// The input file itself: its bytes are the decoded stream.
    Plain(PathBuf),
    /// A decoded copy; deleted when the last index referencing it goes.
    Spool(Arc<tempfile::TempPath>),
}

impl Readback {
    pub fn path(&self) -> &std::path::Path {
        match self {
            Readback::Plain(p) => p,
            Readback::Spool(t) => t,
        }
    }
}

/// What is known about one input. Grows while the indexer runs.
#[derive(Debug, Default)]
pub struct InputIndex {
    pub display: String,
    pub readback: Option<Readback>,
    /// Offset of line `1 + k * CHECKPOINT_EVERY` at index `k`.
    pub checkpoints: Vec<u64>,
    /// Lines that can be read back (all of them once `done`).
    pub lines: u64,
    /// One [`Level`] byte per readable line.
    pub levels: Vec<u8>,
    /// Decoded size (known once `done`).
    pub end_offset: u64,
    pub done: bool,
    pub error: Option<String>,
    /// Lines that start with a timestamp.
    pub stamped_lines: u64,
}

impl InputIndex {
    /// True when at least half the lines carry a leading timestamp.
    pub fn is_timestamped(&self) -> bool {
        self.lines > 0 && self.stamped_lines * 2 >= self.lines
    }

    /// Byte range `[start, end)` of the block holding checkpoint `k`, when it is readable.
    fn block_range(&self, k: usize) -> Option<(u64, u64, u64)> {
        let start = *self.checkpoints.get(k)?;
        let first_line = k as u64 * CHECKPOINT_EVERY + 1;
        if first_line > self.lines {
            return None;
        }
        let end = match self.checkpoints.get(k + 1) {
            Some(&e) => e,
            None if self.done => self.end_offset,
            None => return None,
        };
        Some((start, end, first_line))
    }
}

/// All lines of all inputs in time order, in about 2.5 bytes a line: the input of each row,
/// plus every `stride` rows how many rows each input had before (the line number of a row is
/// then a count within one stride).
#[derive(Debug)]
pub struct MergedOrder {
    row_input: Vec<u16>,
    inputs: usize,
    stride: usize,
    /// `counts[c * inputs + i]`: rows of input `i` before row `c * stride`.
    counts: Vec<u64>,
    /// Rows of each input.
    totals: Vec<u64>,
}

impl MergedOrder {
    fn new(inputs: usize, row_input: Vec<u16>) -> MergedOrder {
        // Counts cost `inputs` words per stride: keep them near half a byte per row.
        let stride = (inputs * 16).max(1024);
        let mut counts = Vec::with_capacity((row_input.len() / stride + 1) * inputs);
        let mut running = vec![0u64; inputs];
        for (r, &i) in row_input.iter().enumerate() {
            if r % stride == 0 {
                counts.extend_from_slice(&running);
            }
            running[usize::from(i)] += 1;
        }
        MergedOrder { row_input, inputs, stride, counts, totals: running }
    }

    pub fn len(&self) -> u64 {
        self.row_input.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.row_input.is_empty()
    }

    /// `(input, line)` of a row.
    pub fn get(&self, row: u64) -> Option<(u32, u64)> {
        let r = usize::try_from(row).ok()?;
        let input = *self.row_input.get(r)?;
        let c = r / self.stride;
        let before = self.counts.get(c * self.inputs + usize::from(input))?;
        let within = self.row_input[c * self.stride..r].iter().filter(|&&x| x == input).count() as u64;
        Some((u32::from(input), before + within + 1))
    }

    /// The row of `(input, line)`.
    pub fn find(&self, input: u32, line: u64) -> Option<u64> {
        let i = usize::from(u16::try_from(input).ok()?);
        if i >= self.inputs || line == 0 {
            return None;
        }
        if line > *self.totals.get(i)? {
            return None;
        }
        // Last stride start with fewer than `line` rows of this input before it: the row is
        // within that stride.
        let (mut lo, mut hi) = (0, self.counts.len() / self.inputs);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.counts[mid * self.inputs + i] < line {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let c = lo.checked_sub(1)?;
        let mut seen = self.counts[c * self.inputs + i];
        for (r, &x) in self.row_input.iter().enumerate().skip(c * self.stride) {
            if usize::from(x) == i {
                seen += 1;
                if seen == line {
                    return Some(r as u64);
                }
            }
        }
        None
    }

    /// Calls `f(row, input, line)` for every row in order.
    pub fn for_each(&self, mut f: impl FnMut(u64, u32, u64) -> bool) {
        let mut next = vec![0u64; self.inputs];
        for (r, &i) in self.row_input.iter().enumerate() {
            let n = &mut next[usize::from(i)];
            *n += 1;
            if !f(r as u64, u32::from(i), *n) {
                return;
            }
        }
    }
}

/// Shared between the indexer thread and its readers.
#[derive(Debug, Default)]
pub struct IndexState {
    pub inputs: Vec<InputIndex>,
    /// Set when every input is done; `Some` when all inputs had timestamps.
    pub merged: Option<Arc<MergedOrder>>,
    pub finished: bool,
}

/// Handle on the background indexer.
pub struct LogIndex {
    pub state: Arc<RwLock<IndexState>>,
    pub bytes_done: Arc<AtomicU64>,
    pub bytes_total: u64,
    /// Bumped at each publication; the view redraws when it moved.
    pub generation: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
}

impl Drop for LogIndex {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl LogIndex {
    /// Starts indexing `specs` on a new thread.
    pub fn start(specs: Vec<InputSpec>) -> LogIndex {
        let bytes_total = specs.iter().map(InputSpec::stored_size).sum();
        let inputs = specs
            .iter()
            .map(|s| InputIndex { display: s.display.clone(), ..InputIndex::default() })
            .collect();
        let index = LogIndex {
            state: Arc::new(RwLock::new(IndexState { inputs, merged: None, finished: false })),
            bytes_done: Arc::default(),
            bytes_total,
            generation: Arc::default(),
            cancel: Arc::default(),
        };
        let (state, done, generation, cancel) =
            (index.state.clone(), index.bytes_done.clone(), index.generation.clone(), index.cancel.clone());
        let spawned = thread::Builder::new().name("ncclscope-log-index".into()).spawn(move || {
            let mut stamps_all: Vec<Option<(u64, Vec<u32>)>> = Vec::with_capacity(specs.len());
            let mut base = 0u64;
            for (i, spec) in specs.iter().enumerate() {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let result = index_input(i, spec, &state, &done, base, &generation, &cancel);
                base = done.load(Ordering::Relaxed);
                match result {
                    Ok(stamps) => stamps_all.push(stamps),
                    Err(e) => {
                        if let Ok(mut st) = state.write() {
                            let inp = &mut st.inputs[i];
                            inp.error = Some(e.to_string());
                            // What was published stays readable: whole blocks, plus the
                            // checkpoint after them that gives the last one its end.
                            let blocks = (inp.lines / CHECKPOINT_EVERY) as usize;
                            inp.end_offset = inp.checkpoints.get(blocks).copied().unwrap_or(0);
                            inp.checkpoints.truncate(blocks + 1);
                            inp.done = true;
                        }
                        stamps_all.push(None);
                    }
                }
                generation.fetch_add(1, Ordering::Relaxed);
            }
            let merged = merge_by_time(&state, stamps_all);
            if let Ok(mut st) = state.write() {
                st.merged = merged.map(Arc::new);
                st.finished = true;
            }
            generation.fetch_add(1, Ordering::Relaxed);
        });
        if let Err(e) = spawned {
            if let Ok(mut st) = index.state.write() {
                for inp in &mut st.inputs {
                    inp.error = Some(format!("cannot start indexer: {e}"));
                    inp.done = true;
                }
                st.finished = true;
            }
        }
        index
    }

    pub fn is_finished(&self) -> bool {
        self.state.read().map(|s| s.finished).unwrap_or(true)
    }

    pub fn fraction(&self) -> f64 {
        if self.bytes_total == 0 {
            return if self.is_finished() { 1.0 } else { 0.0 };
        }
        (self.bytes_done.load(Ordering::Relaxed) as f64 / self.bytes_total as f64).clamp(0.0, 1.0)
    }
}

/// True when the decoded stream of `path` is its bytes: a regular file without compression
/// magic or UTF-16 byte-order mark (see `ncclscope_parser::input::open`).
fn is_plain_file(path: &std::path::Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    if !meta.is_file() {
        return false;
    }
    let mut head = [0u8; 4];
    let Ok(mut f) = File::open(path) else { return false };
    let mut n = 0;
    while n < 4 {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    let head = &head[..n];
    !(head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.starts_with(&[0xff, 0xfe])
        || head.starts_with(&[0xfe, 0xff]))
}

/// Copies every byte read into the spool file, so decoded offsets are spool offsets.
struct Tee<R> {
    inner: R,
    spool: std::rc::Rc<std::cell::RefCell<BufWriter<File>>>,
    counted: Arc<AtomicU64>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.spool.borrow_mut().write_all(&buf[..n])?;
        self.counted.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Counts bytes for the progress bar.
struct Counted<R> {
    inner: R,
    counted: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counted.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Per-input batch not yet published to the shared state.
#[derive(Default)]
struct Pending {
    checkpoints: Vec<u64>,
    levels: Vec<u8>,
    stamped: u64,
}

/// Indexes one input; returns its timestamps `(base ms, delta per line)` when it had any.
fn index_input(
    i: usize,
    spec: &InputSpec,
    state: &RwLock<IndexState>,
    done: &Arc<AtomicU64>,
    base: u64,
    generation: &AtomicU64,
    cancel: &AtomicBool,
) -> io::Result<Option<(u64, Vec<u32>)>> {
    done.store(base, Ordering::Relaxed);
    let plain = match &spec.source {
        InputSource::File(p) if is_plain_file(p) => Some(p.clone()),
        _ => None,
    };
    let decoded = input::open(spec)?;
    let mut spool_writer = None;
    let reader: Box<dyn Read> = match &plain {
        Some(p) => {
            set_readback(state, i, Readback::Plain(p.clone()));
            Box::new(Counted { inner: decoded, counted: done.clone() })
        }
        None => {
            let tmp = tempfile::NamedTempFile::new()?;
            let (file, path) = tmp.into_parts();
            set_readback(state, i, Readback::Spool(Arc::new(path)));
            let w = std::rc::Rc::new(std::cell::RefCell::new(BufWriter::with_capacity(256 * 1024, file)));
            spool_writer = Some(w.clone());
            Box::new(Tee { inner: decoded, spool: w, counted: done.clone() })
        }
    };
    let classifier = Classifier::default();
    let mut pending = Pending::default();
    let mut stamps: Vec<u32> = Vec::new();
    let mut stamp_base: Option<u64> = None;
    let mut last_delta = 0u32;
    let mut stamped_total = 0u64;
    let mut keep_stamps = true;
    let mut reader = LineReader::new(reader);
    let mut warnings = Vec::new();
    let mut cancelled = false;
    let publish = |pending: &mut Pending, upto: u64| {
        if let Some(w) = &spool_writer {
            // Readers open the spool by path: the bytes of the published lines must be there.
            let _ = w.borrow_mut().flush();
        }
        if let Ok(mut st) = state.write() {
            let inp = &mut st.inputs[i];
            inp.checkpoints.append(&mut pending.checkpoints);
            let add = (upto - inp.lines) as usize;
            inp.levels.extend(pending.levels.drain(..add));
            inp.lines = upto;
            inp.stamped_lines += std::mem::take(&mut pending.stamped);
        }
        generation.fetch_add(1, Ordering::Relaxed);
    };
    let stats = reader.for_each_line(&mut warnings, |pos, text| {
        if cancelled {
            return;
        }
        let bytes = text.as_bytes();
        let n = pos.line;
        if (n - 1) % CHECKPOINT_EVERY == 0 {
            pending.checkpoints.push(pos.offset);
            // A block just completed: publish whole blocks only, with this checkpoint, which
            // is the end of the last one.
            if n > 1 && (n - 1) % PUBLISH_EVERY == 0 {
                publish(&mut pending, n - 1);
                if cancel.load(Ordering::Relaxed) {
                    cancelled = true;
                    return;
                }
            }
        }
        pending.levels.push(classifier.classify(bytes) as u8);
        match leading_timestamp_ms(bytes) {
            Some(ms) => {
                pending.stamped += 1;
                stamped_total += 1;
                if stamp_base.is_none() {
                    // Lines before the first timestamp sort with it.
                    stamp_base = Some(ms);
                    stamps = vec![0; (n - 1) as usize];
                }
                let b = stamp_base.unwrap_or(ms);
                last_delta = u32::try_from(ms.saturating_sub(b)).unwrap_or(u32::MAX);
                if keep_stamps {
                    stamps.push(last_delta);
                }
            }
            // An unstamped line (continuation, banner) stays with the line before it.
            None if keep_stamps && stamp_base.is_some() => stamps.push(last_delta),
            None => {}
        }
        // A mostly unstamped input will not be merged: stop spending 4 bytes a line on it.
        if keep_stamps && n % 65_536 == 0 && stamped_total * 4 < n {
            keep_stamps = false;
            stamps = Vec::new();
        }
    })?;
    if cancelled {
        return Err(io::Error::other("cancelled"));
    }
    if let Some(w) = &spool_writer {
        w.borrow_mut().flush()?;
    }
    if let Ok(mut st) = state.write() {
        let inp = &mut st.inputs[i];
        inp.checkpoints.append(&mut pending.checkpoints);
        inp.levels.append(&mut pending.levels);
        inp.lines = stats.lines;
        inp.stamped_lines += pending.stamped;
        inp.end_offset = stats.bytes;
        inp.done = true;
    }
    Ok(stamp_base.filter(|_| keep_stamps).map(|b| (b, stamps)))
}

fn set_readback(state: &RwLock<IndexState>, i: usize, rb: Readback) {
    if let Ok(mut st) = state.write() {
        st.inputs[i].readback = Some(rb);
    }
}

/// Orders every line of every input by timestamp (stable: input order, then line order for
/// equal times) as runs of consecutive lines. `None` unless every non-empty input is
/// timestamped.
fn merge_by_time(state: &RwLock<IndexState>, stamps: Vec<Option<(u64, Vec<u32>)>>) -> Option<MergedOrder> {
    let st = state.read().ok()?;
    let nonempty: Vec<usize> = (0..st.inputs.len()).filter(|&i| st.inputs[i].lines > 0).collect();
    if nonempty.len() < 2
        || st.inputs.len() > usize::from(u16::MAX)
        || !nonempty.iter().all(|&i| st.inputs[i].is_timestamped() && stamps[i].is_some())
    {
        return None;
    }
    let lines: Vec<u64> = st.inputs.iter().map(|i| i.lines).collect();
    drop(st);
    // Min-heap of (time, input, line index 0-based).
    let mut heap = BinaryHeap::new();
    let key = |i: usize, l: u64| -> Option<u64> {
        let (b, d) = stamps[i].as_ref()?;
        Some(b + u64::from(*d.get(l as usize)?))
    };
    for &i in &nonempty {
        if let Some(k) = key(i, 0) {
            heap.push(std::cmp::Reverse((k, i, 0u64)));
        }
    }
    let total: u64 = lines.iter().sum();
    let mut row_input: Vec<u16> = Vec::with_capacity(usize::try_from(total).ok()?);
    while let Some(std::cmp::Reverse((_, i, l))) = heap.pop() {
        // Take every following line of this input that is not later than the next input's head.
        let limit = heap.peek().map(|std::cmp::Reverse((k, j, _))| (*k, *j));
        let mut end = l + 1;
        while end < lines[i] {
            let Some(k) = key(i, end) else { break };
            match limit {
                Some((lk, lj)) if (k, i) > (lk, lj) => break,
                _ => end += 1,
            }
        }
        let id = u16::try_from(i).ok()?;
        row_input.extend(std::iter::repeat_n(id, usize::try_from(end - l).ok()?));
        if end < lines[i] {
            if let Some(k) = key(i, end) {
                heap.push(std::cmp::Reverse((k, i, end)));
            }
        }
    }
    Some(MergedOrder::new(lines.len(), row_input))
}

/// A decoded block of lines: `CHECKPOINT_EVERY` lines from a checkpoint.
pub type Block = Arc<Vec<String>>;

/// Reads lines back through the checkpoints, with a small LRU of decoded blocks bounded in
/// bytes (a block of 1 MiB lines must not multiply into gigabytes).
pub struct LineSource {
    state: Arc<RwLock<IndexState>>,
    cache: HashMap<(u32, usize), (Block, usize)>,
    order: VecDeque<(u32, usize)>,
    budget: usize,
    cached: usize,
    /// Each line is cut to this many bytes.
    cap: usize,
}

impl LineSource {
    /// A reader keeping about `budget` bytes of decoded text, lines cut to `cap` bytes.
    pub fn new(state: Arc<RwLock<IndexState>>, budget: usize, cap: usize) -> Self {
        Self { state, cache: HashMap::new(), order: VecDeque::new(), budget, cached: 0, cap: cap.max(1) }
    }

    /// The text of `line` (1-based) of `input`, sanitized by the line reader; `None` when not
    /// indexed (yet) or unreadable.
    pub fn line(&mut self, input: u32, line: u64) -> Option<&str> {
        if line == 0 {
            return None;
        }
        let k = ((line - 1) / CHECKPOINT_EVERY) as usize;
        self.load(input, k)?;
        let idx = ((line - 1) % CHECKPOINT_EVERY) as usize;
        self.cache.get(&(input, k))?.0.get(idx).map(String::as_str)
    }

    fn load(&mut self, input: u32, k: usize) -> Option<()> {
        if self.cache.contains_key(&(input, k)) {
            // Consecutive lines hit the newest block: no LRU reordering needed then.
            if self.order.back() == Some(&(input, k)) {
                return Some(());
            }
            if let Some(p) = self.order.iter().position(|x| *x == (input, k)) {
                self.order.remove(p);
            }
            self.order.push_back((input, k));
            return Some(());
        }
        let (path, start, end) = {
            let st = self.state.read().ok()?;
            let inp = st.inputs.get(input as usize)?;
            let (start, end, _) = inp.block_range(k)?;
            (inp.readback.clone()?, start, end)
        };
        let lines = read_block(path.path(), start, end, self.cap).ok()?;
        let size = lines.iter().map(|l| l.len() + 24).sum::<usize>();
        // Keep the newest block even when it alone is over budget: it is the one being read.
        while self.cached + size > self.budget {
            let Some(old) = self.order.pop_front() else { break };
            if let Some((_, n)) = self.cache.remove(&old) {
                self.cached -= n;
            }
        }
        self.cache.insert((input, k), (Arc::new(lines), size));
        self.cached += size;
        self.order.push_back((input, k));
        Some(())
    }
}

/// Decodes the lines in `[start, end)` of a readback file exactly as the indexer split them.
fn read_block(path: &std::path::Path, start: u64, end: u64, cap: usize) -> io::Result<Vec<String>> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(start))?;
    let take = f.take(end.saturating_sub(start));
    let mut reader = LineReader::with_capacity(take, 64 * 1024);
    let mut out = Vec::with_capacity(CHECKPOINT_EVERY as usize);
    let mut warnings = Vec::new();
    reader.for_each_line(&mut warnings, |_, text| {
        if out.len() < CHECKPOINT_EVERY as usize {
            out.push(cut(text, cap).to_owned());
        }
    })?;
    Ok(out)
}

/// `text` cut to at most `cap` bytes on a character boundary.
pub fn cut(text: &str, cap: usize) -> &str {
    if text.len() <= cap {
        return text;
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Streams every readable line of `input` (full text), for filters. Stops early when `f`
/// returns false.
pub fn for_each_line_of(
    state: &RwLock<IndexState>,
    input: u32,
    f: impl FnMut(u64, &str) -> bool,
) -> io::Result<()> {
    for_each_line_from(state, input, 1, f)
}

/// Streams the lines of `input` from line `from` (1-based) to its end: seeks to the checkpoint
/// at or before `from` and reads forward, so a forward search costs what the filter costs (one
/// buffered pass), not a block load per 256 lines. Stops early when `f` returns false.
pub fn for_each_line_from(
    state: &RwLock<IndexState>,
    input: u32,
    from: u64,
    mut f: impl FnMut(u64, &str) -> bool,
) -> io::Result<()> {
    let from = from.max(1);
    let (path, start, first_line, end, lines) = {
        let st = state.read().map_err(|_| io::Error::other("index poisoned"))?;
        let Some(inp) = st.inputs.get(input as usize) else { return Ok(()) };
        let Some(rb) = inp.readback.clone() else { return Ok(()) };
        if !inp.done || from > inp.lines {
            return Ok(());
        }
        let k = ((from - 1) / CHECKPOINT_EVERY) as usize;
        let Some(&start) = inp.checkpoints.get(k) else { return Ok(()) };
        (rb, start, k as u64 * CHECKPOINT_EVERY + 1, inp.end_offset, inp.lines)
    };
    let mut file = File::open(path.path())?;
    file.seek(SeekFrom::Start(start))?;
    let mut reader = LineReader::new(file.take(end.saturating_sub(start)));
    let mut warnings = Vec::new();
    let mut go = true;
    reader.for_each_line(&mut warnings, |pos, text| {
        let line = first_line + pos.line - 1;
        if go && line >= from && line <= lines {
            go = f(line, text);
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_levels() {
        let c = Classifier::default();
        assert_eq!(c.classify(b"h:1:2 [0] NCCL INFO x"), Level::NcclInfo);
        assert_eq!(c.classify(b"h:1:2 [0] NCCL WARN x"), Level::NcclWarn);
        assert_eq!(c.classify(b"[1.2] [h:1:0] ib.c:1 UCX  ERROR boom"), Level::UcxError);
        assert_eq!(c.classify(b"[1.2] [h:1:0] ib.c:1 UCX  WARN  meh"), Level::UcxWarn);
        assert_eq!(c.classify(b"plain"), Level::Other);
    }

    #[test]
    fn merged_order_rows_and_lines_round_trip() {
        let mut x = 88_172_645_463_325_252u64;
        let row_input: Vec<u16> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Input 1 is rare, input 3 absent.
                [0u16, 0, 2, 2, 2, 1][(x % 6) as usize]
            })
            .collect();
        let order = MergedOrder::new(4, row_input.clone());
        let mut next = [0u64; 4];
        let mut visited = 0;
        order.for_each(|row, i, l| {
            next[i as usize] += 1;
            assert_eq!(l, next[i as usize]);
            assert_eq!(order.get(row), Some((i, l)));
            assert_eq!(order.find(i, l), Some(row));
            visited += 1;
            true
        });
        assert_eq!(visited, 5000);
        assert_eq!(order.find(3, 1), None);
        assert_eq!(order.find(1, next[1] + 1), None);
        assert_eq!(order.find(0, 0), None);
        assert_eq!(order.get(5000), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(leading_timestamp_ms(b"1970-01-01T00:00:01.5 x"), Some(1500));
        assert_eq!(leading_timestamp_ms(b"[1970-01-02 00:00:00] x"), Some(86_400_000));
        assert_eq!(leading_timestamp_ms(b"[1745563465.856286] [h:1 :0]"), Some(1_745_563_465_856));
        assert_eq!(leading_timestamp_ms(b"gpu-node-a:5100:5100 [0] NCCL"), None);
        assert_eq!(leading_timestamp_ms(b"2025-13-01T00:00:00"), None);
    }
}
