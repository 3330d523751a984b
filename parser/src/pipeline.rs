//! Scanning many inputs on all cores: worker threads read and the sink's thread builds.
//!
//! The inputs are cut into units of work: a whole input, or, for a large plain-text file, a
//! piece of [`Tuning::piece_bytes`] (the lines that start in a byte range). Worker threads take units in
//! order and do the I/O, line splitting, UTF-8 and control-sequence checks and the quick check
//! for COLL trace lines, and ship each unit's lines in batches of about [`BATCH_BYTES`]. The
//! calling thread hands them to the sink in the same order a plain [`scan_input`] loop would,
//! renumbering the lines of a piece from where the previous piece ended.
//!
//! Records borrow their line, so they cannot cross threads: a batch carries the line texts,
//! and the lines are parsed on the sink's thread. The one shape that makes up the bulk of a
//! big log (a `NCCL_DEBUG_SUBSYS=COLL` trace line) is recognised by the worker and handed to
//! the sink as a [`HotNccl`], which the job model takes on a fast path. A sink that takes
//! [`HotRun`]s gets most of them added up per process instead: the sink's thread is the one
//! that cannot be split, so the less it does per line, the more cores the workers can use.
//! A run's last line is then kept as a position when the input can be read again there.
//!
//! [`scan_input`]: crate::scan_input
use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

use crate::input::{self, InputSpec};
use crate::lines::{LineReader, Problems};
use crate::record::{InputId, Position, Record, RecordSink};
use crate::scan::{classify, push_read_error, scan_with, InputSummary};
use crate::sniff::{self, InputKind, SNIFF_BYTES};
use crate::topo::smi::SmiBuilder;
use crate::topo::XmlDoc;

/// Text per batch: large enough that channel traffic is noise, small enough that the batches
/// in flight stay a few MiB whatever the input size.
pub const BATCH_BYTES: usize = 1 << 20;
/// Batches a unit may queue before its worker waits (see `scan_inputs_tuned`).
const BATCHES_PER_UNIT: usize = 3;

/// How the inputs are cut and how many threads read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Size of the pieces a large plain-text file is read in. Each piece's COLL lines are
    /// added up per process, so larger pieces leave less to the sink's thread (16 MiB:
    /// measured 14 % faster than 4 MiB on a 1 GiB log of 1024 ranks, 32 MiB no better).
    pub piece_bytes: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { workers: cores.clamp(1, 16), piece_bytes: 16 << 20 }
    }
}

/// A COLL trace line (`host:pid:tid [dev] NCCL INFO AllReduce: opCount …`) with no launcher
/// prefix, recognised by the quick check: the sink needs only who printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotNccl<'a> {
    pub host: &'a str,
    pub pid: u32,
    pub cuda_dev: Option<i32>,
    /// The collective (`AllReduce`).
    pub op: &'a str,
}

/// COLL trace lines of one process and device, added up over one unit of work; handed to a
/// sink whose [`RecordSink::takes_hot_runs`] is true, after the unit's other lines.
///
/// The first such line of the unit, and any that follows a line that is not a COLL line
/// (which may hold state a COLL line settles: a wrapped UCX line, an nvidia-smi matrix), are
/// passed one by one as [`HotNccl`] lines in their place; a run holds only lines of a process
/// the sink has therefore seen before, and nothing about them depends on their order except
/// which is the process's latest line, which the run's position tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotRun<'a> {
    pub host: &'a str,
    pub pid: u32,
    pub cuda_dev: Option<i32>,
    /// How many lines the run stands for.
    pub lines: u64,
    /// The latest of them.
    pub last: Position,
    /// Its text; None when the input is stored as plain text (a regular file or bytes in
    /// memory, not compressed or transcoded), where the line can be read again at
    /// `last.offset` ([`crate::lines::read_lines_at`]) rather than copied on every COLL line
    /// in case it is the last.
    pub last_text: Option<&'a str>,
}

type Span = (u32, u32);

/// The quick check's findings on a line, as spans of the batch text.
#[derive(Debug, Clone, Copy)]
struct HotSpans {
    host: Span,
    op: Span,
    pid: u32,
    cuda_dev: Option<i32>,
}

#[derive(Debug, Clone, Copy)]
struct LineMeta {
    pos: Position,
    text: Span,
    hot: Option<HotSpans>,
}

#[derive(Debug, Clone, Copy)]
struct RunMeta {
    host: Span,
    pid: u32,
    cuda_dev: Option<i32>,
    lines: u64,
    last: Position,
    last_text: Option<Span>,
}

enum Msg {
    Kind(InputKind),
    Lines {
        kind: InputKind,
        text: String,
        lines: Vec<LineMeta>,
    },
    Runs {
        text: String,
        runs: Vec<RunMeta>,
    },
    Xml(Box<XmlDoc>),
    /// A whole input has been read.
    Done(Box<InputSummary>),
    /// A piece has been read: its line count (its lines are numbered from 1), bytes, problems,
    /// and the read error that ended it early.
    PieceDone {
        lines: u64,
        bytes: u64,
        problems: Problems,
        error: Option<io::Error>,
    },
}

/// What a unit of work is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    Whole,
    /// The lines of a plain-text input that start in `[from, to)` (`to` None: to the end, the
    /// input's last piece); the input's kind was sniffed once, from its head.
    Piece {
        kind: InputKind,
        from: u64,
        to: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    input: usize,
    work: Work,
}

/// Scans `specs` in order on worker threads and feeds `sink` on this one. Returns one summary
/// per spec, in order; `sink.input_done` is called as each input ends.
pub fn scan_inputs(specs: &[InputSpec], sink: &mut (dyn RecordSink + '_)) -> Vec<InputSummary> {
    scan_inputs_tuned(specs, sink, Tuning::default())
}

/// [`scan_inputs`] with the cutting and the number of workers given (tests use tiny pieces).
pub fn scan_inputs_tuned(
    specs: &[InputSpec],
    sink: &mut (dyn RecordSink + '_),
    tuning: Tuning,
) -> Vec<InputSummary> {
    let units = plan(specs, tuning.piece_bytes.max(1));
    let workers = tuning.workers.clamp(1, units.len().max(1));
    let aggregate = sink.takes_hot_runs();
    let (work_tx, work_rx) = channel::<(usize, SyncSender<Msg>)>();
    let work_rx = Mutex::new(work_rx);
    // Units are claimed in order and at most `window` are ahead of the sink, so the text in
    // flight stays bounded; the sink drains the oldest, which some worker is always finishing.
    let window = 2 * workers;
    // Batches a unit may queue before its worker waits: a COLL trace ships few lines per unit,
    // so its workers never wait; an input shipping every line keeps the sink's thread busy,
    // so its workers need not run far ahead. At most `window * (BATCHES_PER_UNIT + 1)` MiB
    // of text is in flight.
    let capacity = BATCHES_PER_UNIT;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (units, work_rx) = (&units, &work_rx);
            scope.spawn(move || {
                // Each unit reads into a fresh buffer: reusing one per worker was measured
                // slower on 1024 per-rank files (strace: reads into it took over twice as long).
                let mut runs = RunTable::default();
                loop {
                    let next = work_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((u, tx)) = next else { return };
                    read_unit(specs, units[u], &tx, aggregate, &mut runs);
                }
            });
        }
        let mut pending = VecDeque::new();
        let issue = |u: usize, pending: &mut VecDeque<Receiver<Msg>>| {
            let (tx, rx) = sync_channel(capacity);
            if work_tx.send((u, tx)).is_ok() {
                pending.push_back(rx);
            }
        };
        for u in 0..units.len().min(window) {
            issue(u, &mut pending);
        }
        let mut feeder = Feeder::new(specs, sink);
        for u in 0..units.len() {
            let Some(rx) = pending.pop_front() else { break };
            if u + window < units.len() {
                issue(u + window, &mut pending);
            }
            if !feeder.feed_unit(units[u], rx) {
                break; // a worker died (it panicked): the scope re-raises its panic
            }
        }
        drop(work_tx);
        feeder.summaries
    })
}

/// Cuts the inputs into units: a plain-text file of more than two pieces is read in pieces.
fn plan(specs: &[InputSpec], piece_bytes: u64) -> Vec<Unit> {
    let mut units = Vec::with_capacity(specs.len());
    for (input, spec) in specs.iter().enumerate() {
        match splittable(spec, piece_bytes) {
            Some((kind, size)) => {
                let n = size.div_ceil(piece_bytes);
                for k in 0..n {
                    let to = (k + 1 < n).then(|| (k + 1) * piece_bytes);
                    units.push(Unit { input, work: Work::Piece { kind, from: k * piece_bytes, to } });
                }
            }
            None => units.push(Unit { input, work: Work::Whole }),
        }
    }
    units
}

/// The kind and size of an input that can be read in pieces: a regular file or bytes in
/// memory, larger than two pieces, stored as UTF-8 text (not compressed, not UTF-16, not
/// binary) and not an XML document. Anything else, or any doubt, is read whole.
fn splittable(spec: &InputSpec, piece_bytes: u64) -> Option<(InputKind, u64)> {
    // The size first, without opening: most inputs of a per-rank directory are small.
    if spec.stored_size() <= 2 * piece_bytes {
        return None;
    }
    let (reader, size) = input::open_stored(spec)?.ok()?;
    if size <= 2 * piece_bytes {
        return None;
    }
    let mut head = Vec::new();
    reader.take(SNIFF_BYTES as u64).read_to_end(&mut head).ok()?;
    if !input::is_stored_as_text(&head)
        || sniff::utf16_big_endian(&head).is_some()
        || sniff::looks_binary(&head)
    {
        return None;
    }
    let kind = sniff::sniff(&head);
    (!kind.is_xml()).then_some((kind, size))
}

/// Reads one unit into its channel; `runs` is the worker's own.
fn read_unit(specs: &[InputSpec], unit: Unit, tx: &SyncSender<Msg>, aggregate: bool, runs: &mut RunTable) {
    let spec = &specs[unit.input];
    let id = InputId(u32::try_from(unit.input).unwrap_or(u32::MAX));
    let kind = match unit.work {
        Work::Whole => InputKind::Unknown,
        Work::Piece { kind, .. } => kind,
    };
    // A piece's lines can be read again from the file by offset; a whole input may be a pipe or
    // compressed, and its runs carry their text unless `scan_with` says otherwise.
    runs.copy_text = matches!(unit.work, Work::Whole);
    let mut batcher = Batcher::new(tx, id, kind, if aggregate { Some(runs) } else { None });
    let done = match unit.work {
        Work::Whole => {
            let summary = scan_with(id, spec, &mut batcher, Batcher::line_of, Batcher::rereadable, false);
            Msg::Done(Box::new(summary))
        }
        Work::Piece { from, to, .. } => match open_piece(spec, from, to) {
            Ok((reader, start)) => {
                let mut lines = LineReader::at_offset(reader, start);
                let (result, problems) = lines.scan(|pos, text| batcher.line(pos, text));
                let stats = lines.stats();
                Msg::PieceDone { lines: stats.lines, bytes: stats.bytes, problems, error: result.err() }
            }
            Err(e) => Msg::PieceDone { lines: 0, bytes: 0, problems: Problems::default(), error: Some(e) },
        },
    };
    batcher.finish();
    if !batcher.closed {
        let _ = tx.send(done);
    }
}

/// Opens the piece of `spec` holding the lines that start in `[from, to)`, and returns it with
/// the offset of its first byte.
///
/// A line starts at offset 0 and right after every `\n` (whether the `\n` ends a line alone,
/// ends a `\r\n`, or ends the skipped rest of a line over the length cap), so both neighbours
/// of a cut find the same line start on their own: the first one at or after the cut.
fn open_piece(spec: &InputSpec, from: u64, to: Option<u64>) -> io::Result<(Box<dyn Read + Send>, u64)> {
    let (mut reader, _) =
        input::open_stored(spec).unwrap_or_else(|| Err(io::ErrorKind::Unsupported.into()))?;
    let Some(start) = line_start_in(&mut reader, from, to)? else {
        // No line starts in the range: the line across it belongs to an earlier piece, which
        // reads it to its end. Scanning only the range keeps a file without newlines linear.
        return Ok((Box::new(io::empty()), from));
    };
    reader.seek(SeekFrom::Start(start))?;
    let piece =
        Piece { inner: reader, left: to.map(|to| to.saturating_sub(start)), ended_line: true, done: false };
    Ok((Box::new(piece), start))
}

/// The first line start at or after `at` and before `to` (None: the end of the input); None
/// when there is none.
fn line_start_in(reader: &mut dyn input::ReadSeek, at: u64, to: Option<u64>) -> io::Result<Option<u64>> {
    if at == 0 {
        return Ok(Some(0));
    }
    // A line starts at `p` when the byte at `p - 1` is `\n`: look at `[at - 1, to - 1)`.
    let len = to.map_or(u64::MAX, |to| to.saturating_sub(at));
    let mut pos = reader.seek(SeekFrom::Start(at - 1))?;
    let mut range = reader.take(len);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match range.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(pos + i as u64 + 1));
        }
        pos += n as u64;
    }
}

/// Reads from a line start up to the first line start at or after the cut: `left` bytes to
/// the cut, then, unless they ended a line, on to the end of the line they end in.
struct Piece<R> {
    inner: R,
    left: Option<u64>,
    /// The bytes so far end a line (true before the first: the piece starts at a line start).
    ended_line: bool,
    done: bool,
}

impl<R: Read> Read for Piece<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        match self.left {
            None => self.inner.read(out),
            Some(0) if self.ended_line => {
                self.done = true;
                Ok(0)
            }
            Some(0) => {
                let n = self.inner.read(out)?;
                match memchr::memchr(b'\n', &out[..n]) {
                    Some(i) => {
                        self.done = true;
                        Ok(i + 1)
                    }
                    None => {
                        self.done = n == 0;
                        Ok(n)
                    }
                }
            }
            Some(left) => {
                let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = self.inner.read(&mut out[..want])?;
                if n == 0 {
                    self.done = true;
                } else {
                    self.left = Some(left - n as u64);
                    self.ended_line = out[n - 1] == b'\n';
                }
                Ok(n)
            }
        }
    }
}

/// The sink's side: hands each unit's lines to the sink in order and puts the summaries of
/// inputs read in pieces together.
struct Feeder<'s, 'k> {
    specs: &'s [InputSpec],
    sink: &'s mut (dyn RecordSink + 'k),
    summaries: Vec<InputSummary>,
    /// nvidia-smi matrices are looked for here, not on the workers (a matrix can span pieces);
    /// a COLL line cannot start a matrix, so it skips the check unless one is open.
    smi: SmiBuilder,
    /// The input read in pieces, so far: lines before the current piece, bytes, problems, and
    /// whether a read error stopped it (the later pieces are then dropped, as one reader would
    /// have stopped there).
    piece_lines: u64,
    piece_bytes: u64,
    problems: Problems,
    stopped: Option<io::Error>,
}

impl<'s, 'k> Feeder<'s, 'k> {
    fn new(specs: &'s [InputSpec], sink: &'s mut (dyn RecordSink + 'k)) -> Self {
        Self {
            specs,
            sink,
            summaries: Vec::with_capacity(specs.len()),
            smi: SmiBuilder::new(),
            piece_lines: 0,
            piece_bytes: 0,
            problems: Problems::default(),
            stopped: None,
        }
    }

    /// Feeds one unit; false when its worker went away before finishing it.
    fn feed_unit(&mut self, unit: Unit, rx: Receiver<Msg>) -> bool {
        let input = InputId(self.summaries.len() as u32);
        debug_assert_eq!(self.summaries.len(), unit.input);
        if let Work::Piece { kind, from: 0, .. } = unit.work {
            self.sink.input_kind(input, kind);
        }
        let skip = self.stopped.is_some();
        let base = self.piece_lines;
        for msg in rx {
            match msg {
                Msg::Kind(kind) => self.sink.input_kind(input, kind),
                Msg::Lines { .. } | Msg::Runs { .. } if skip => {}
                Msg::Lines { kind, text, lines } => self.lines(input, kind, &text, &lines, base),
                Msg::Runs { text, runs } => {
                    for run in &runs {
                        let hot = HotRun {
                            host: span(&text, run.host),
                            pid: run.pid,
                            cuda_dev: run.cuda_dev,
                            lines: run.lines,
                            last: Position { line: run.last.line + base, ..run.last },
                            last_text: run.last_text.map(|t| span(&text, t)),
                        };
                        self.sink.hot_run(input, &hot);
                    }
                }
                Msg::Xml(doc) => self.sink.xml(input, &doc),
                Msg::Done(summary) => {
                    self.input_done(input, *summary);
                    return true;
                }
                Msg::PieceDone { lines, bytes, problems, error } => {
                    if !skip {
                        self.problems.merge(&problems, base);
                        self.piece_lines += lines;
                        self.piece_bytes += bytes;
                        self.stopped = error;
                    }
                    if let Work::Piece { kind, to: None, .. } = unit.work {
                        let mut summary = InputSummary {
                            path: self.specs[unit.input].display.clone(),
                            kind,
                            bytes: std::mem::take(&mut self.piece_bytes),
                            lines: std::mem::take(&mut self.piece_lines),
                            warnings: Vec::new(),
                            error: None,
                            skipped: false,
                        };
                        std::mem::take(&mut self.problems).write(&mut summary.warnings);
                        push_read_error(&mut summary, self.stopped.take());
                        self.input_done(input, summary);
                    }
                    return true;
                }
            }
        }
        false
    }

    fn lines(&mut self, input: InputId, kind: InputKind, text: &str, lines: &[LineMeta], base: u64) {
        for meta in lines {
            let line = span(text, meta.text);
            let pos = Position { line: meta.pos.line + base, ..meta.pos };
            match meta.hot {
                Some(h) => {
                    let hot = HotNccl {
                        host: span(text, h.host),
                        pid: h.pid,
                        cuda_dev: h.cuda_dev,
                        op: span(text, h.op),
                    };
                    self.sink.hot_nccl(input, pos, line, &hot);
                    if self.smi.is_pending() {
                        self.smi.push(pos.line, line);
                    }
                }
                None => {
                    self.sink.record(input, pos, line, &classify(kind, line));
                    self.smi.push(pos.line, line);
                }
            }
        }
    }

    fn input_done(&mut self, input: InputId, summary: InputSummary) {
        for matrix in std::mem::take(&mut self.smi).finish() {
            self.sink.smi(input, &matrix);
        }
        self.sink.input_done(input, &summary);
        self.summaries.push(summary);
    }
}

fn span(text: &str, (a, b): Span) -> &str {
    text.get(a as usize..b as usize).unwrap_or("")
}

/// Where `part`, a slice of `whole`, sits in it, shifted by `base`.
fn span_in(whole: &str, part: &str, base: usize) -> Span {
    let a = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize) + base;
    (a as u32, (a + part.len()) as u32)
}

/// Per worker, the COLL lines added up over the current unit, per header (process, thread
/// and device). Slots outlive units, so a header is parsed once per worker, not once per line:
/// a COLL line is found by its ` NCCL INFO <Op>: opCount` and its slot by the header's bytes.
/// `epoch` tells whether a slot has been seen in the current unit.
#[derive(Default)]
struct RunTable {
    index: FxHashMap<Box<[u8]>, usize>,
    slots: Vec<RunSlot>,
    /// Slots seen in the current unit.
    touched: Vec<usize>,
    epoch: u64,
    /// The slot of the previous COLL line: per-rank files repeat one header.
    last: Option<usize>,
    /// Whether runs of the current unit carry their last line's text (see [`HotRun`]).
    copy_text: bool,
}

struct RunSlot {
    /// The header, `host:pid:tid [dev] `.
    header: Box<str>,
    host_len: usize,
    pid: u32,
    cuda_dev: Option<i32>,
    epoch: u64,
    lines: u64,
    last: Position,
    last_text: String,
    /// `NCCL INFO <Op>: opCount ` of the slot's latest COLL line: a trace repeats its ops, and
    /// one comparison with it replaces the op check byte by byte.
    coll_prefix: String,
}

impl RunSlot {
    /// Keeps `NCCL INFO <op>: opCount ` from `rest`, the line after the header, whose op is `op`.
    fn note_op(&mut self, rest: &str, op: &str) {
        self.coll_prefix.clear();
        self.coll_prefix.push_str(&rest[.."NCCL INFO ".len() + op.len() + ": opCount ".len()]);
    }

    /// Whether `line` has this slot's header: it starts with the header's bytes (their first
    /// space and `[dev] ` are then at the same places), unless a `[dev] ` follows a header that
    /// had none. Headers of one job differ mostly in their last bytes (pid, tid, device): those
    /// are compared first, so that in an interleaved log the check fails fast.
    fn heads(&self, line: &str) -> bool {
        let (line, header) = (line.as_bytes(), self.header.as_bytes());
        let Some(start) = line.get(..header.len()) else { return false };
        let tail =
            |x: &[u8]| -> Option<[u8; 8]> { x.len().checked_sub(8).and_then(|n| x[n..].try_into().ok()) };
        tail(start) == tail(header) && start == header && line.get(header.len()) != Some(&b'[')
    }
}

/// Slots kept before the table starts over (a job of a million threads, or a generated log).
const MAX_SLOTS: usize = 1 << 16;

impl RunTable {
    /// The slot and the quick check's findings for a COLL line; None for any other line.
    fn hot_line<'t>(&mut self, text: &'t str) -> Option<(usize, HotNccl<'t>)> {
        let i = match self.last.filter(|&i| self.slots[i].heads(text)) {
            Some(i) => i,
            None => {
                let end = crate::nccl::coll_header_end(text)?;
                match self.index.get(&text.as_bytes()[..end]) {
                    Some(&i) => i,
                    None => self.new_slot(text, end)?,
                }
            }
        };
        let s = &mut self.slots[i];
        let end = s.header.len();
        let rest = &text[end..];
        let op = if !s.coll_prefix.is_empty() && rest.starts_with(s.coll_prefix.as_str()) {
            &rest["NCCL INFO ".len()..s.coll_prefix.len() - ": opCount ".len()]
        } else {
            let op = crate::nccl::coll_after_header(text, end)?;
            s.note_op(rest, op);
            op
        };
        self.last = Some(i);
        Some((i, HotNccl { host: &text[..s.host_len], pid: s.pid, cuda_dev: s.cuda_dev, op }))
    }

    /// A slot for the header of `text`, which ends at `end`, when `text` is a COLL line.
    fn new_slot(&mut self, text: &str, end: usize) -> Option<usize> {
        let op = crate::nccl::coll_after_header(text, end)?;
        let (h, parsed_end) = crate::nccl::header_at_start(text)?;
        let (Some(host), Some(pid), true) = (h.host, h.pid, parsed_end == end) else { return None };
        let i = self.slots.len();
        self.slots.push(RunSlot {
            header: text[..end].into(),
            host_len: host.len(),
            pid,
            cuda_dev: h.cuda_dev,
            epoch: u64::MAX,
            lines: 0,
            last: Position::default(),
            last_text: String::new(),
            coll_prefix: String::new(),
        });
        self.slots[i].note_op(&text[end..], op);
        self.index.insert(text.as_bytes()[..end].into(), i);
        Some(i)
    }

    /// Adds the line to slot `i`'s run; false when it must be passed on in its place instead
    /// (the first of its header in this unit, or one that follows another kind of line).
    fn absorb(&mut self, i: usize, after_hot: bool, pos: Position, text: &str) -> bool {
        let slot = &mut self.slots[i];
        if slot.epoch != self.epoch {
            slot.epoch = self.epoch;
            slot.lines = 0;
            self.touched.push(i);
            return false;
        }
        if !after_hot {
            return false;
        }
        slot.lines += 1;
        slot.last = pos;
        if self.copy_text {
            slot.last_text.clear();
            slot.last_text.push_str(text);
        }
        true
    }

    /// The unit's runs, packed for the sink; starts the next unit.
    fn take(&mut self) -> Option<Msg> {
        let mut text = String::new();
        let mut runs = Vec::new();
        for &i in &self.touched {
            let s = &self.slots[i];
            if s.lines == 0 {
                continue;
            }
            let a = text.len();
            text.push_str(&s.header[..s.host_len]);
            let b = text.len();
            let last_text = self.copy_text.then(|| {
                text.push_str(&s.last_text);
                (b as u32, text.len() as u32)
            });
            runs.push(RunMeta {
                host: (a as u32, b as u32),
                pid: s.pid,
                cuda_dev: s.cuda_dev,
                lines: s.lines,
                last: s.last,
                last_text,
            });
        }
        self.touched.clear();
        self.epoch = self.epoch.wrapping_add(1);
        self.last = None;
        if self.slots.len() > MAX_SLOTS {
            self.slots.clear();
            self.index.clear();
        }
        (!runs.is_empty()).then_some(Msg::Runs { text, runs })
    }
}

/// A worker's sink for one unit: copies lines into the current batch, COLL lines into runs.
struct Batcher<'a> {
    tx: &'a SyncSender<Msg>,
    input: InputId,
    kind: InputKind,
    text: String,
    lines: Vec<LineMeta>,
    /// Present when the sink takes runs.
    runs: Option<&'a mut RunTable>,
    /// The previous line was a COLL line.
    after_hot: bool,
    /// The receiver is gone; nothing more is sent.
    closed: bool,
}

impl<'a> Batcher<'a> {
    fn new(tx: &'a SyncSender<Msg>, input: InputId, kind: InputKind, runs: Option<&'a mut RunTable>) -> Self {
        Self {
            tx,
            input,
            kind,
            text: String::new(),
            lines: Vec::new(),
            runs,
            after_hot: false,
            closed: false,
        }
    }

    fn send(&mut self, msg: Msg) {
        if !self.closed {
            self.closed = self.tx.send(msg).is_err();
        }
    }

    fn flush(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let msg = Msg::Lines {
            kind: self.kind,
            text: std::mem::take(&mut self.text),
            lines: std::mem::take(&mut self.lines),
        };
        self.send(msg);
    }

    /// The unit's last lines, then its runs.
    fn finish(&mut self) {
        self.flush();
        if let Some(msg) = self.runs.as_mut().and_then(|r| r.take()) {
            self.send(msg);
        }
    }

    /// Whether the unit's lines can be read again by offset: then runs need not copy them.
    fn rereadable(&mut self, yes: bool) {
        if let Some(runs) = self.runs.as_mut() {
            runs.copy_text = !yes;
        }
    }

    fn line_of(&mut self, input: InputId, _kind: InputKind, pos: Position, text: &str) {
        debug_assert_eq!(input, self.input);
        self.line(pos, text);
    }

    /// Runs the quick check, then copies the line into the batch or adds it to its run.
    /// Parsing is the sink thread's share of the work; it is kept small.
    fn line(&mut self, pos: Position, text: &str) {
        let (hot, slot) = match self.runs.as_mut() {
            Some(runs) => runs.hot_line(text).map_or((None, None), |(i, hot)| (Some(hot), Some(i))),
            None => (quick_hot(text), None),
        };
        let after_hot = std::mem::replace(&mut self.after_hot, hot.is_some());
        if let (Some(i), Some(runs)) = (slot, self.runs.as_mut()) {
            if runs.absorb(i, after_hot, pos, text) {
                return;
            }
        }
        // Lines are at most 1 MiB (the line reader cuts them), so offsets fit in u32 per batch.
        if self.text.capacity() == 0 {
            // Not before the first line: most units of a COLL trace ship few lines.
            self.text.reserve(BATCH_BYTES + 4096);
        }
        let start = self.text.len();
        self.text.push_str(text);
        let end = self.text.len();
        let hot = hot.map(|h| HotSpans {
            host: span_in(text, h.host, start),
            op: span_in(text, h.op, start),
            pid: h.pid,
            cuda_dev: h.cuda_dev,
        });
        self.lines.push(LineMeta { pos, text: (start as u32, end as u32), hot });
        if self.text.len() >= BATCH_BYTES {
            self.flush();
        }
    }
}

/// The quick check on a line, one by one.
fn quick_hot(text: &str) -> Option<HotNccl<'_>> {
    match crate::nccl::quick_coll(text) {
        Some((crate::nccl::Header { host: Some(host), pid: Some(pid), cuda_dev, .. }, op)) => {
            Some(HotNccl { host, pid, cuda_dev, op })
        }
        _ => None,
    }
}

impl RecordSink for Batcher<'_> {
    /// Not used by `read_unit` (lines come through `line`); correct if called: parsed again.
    fn record(&mut self, _input: InputId, pos: Position, text: &str, _record: &Record<'_>) {
        self.line(pos, text);
    }

    fn xml(&mut self, _input: InputId, doc: &XmlDoc) {
        self.flush();
        self.send(Msg::Xml(Box::new(doc.clone())));
    }

    // No `smi`: `read_unit` scans with `find_smi` off; the sink's thread looks for matrices.

    fn input_kind(&mut self, _input: InputId, kind: InputKind) {
        self.kind = kind;
        self.send(Msg::Kind(kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputSource;
    use crate::nccl::{Event, Level};
    use crate::scan::scan_input;
    use std::sync::Arc;

    /// Records every call as text, hot lines re-parsed the default way.
    #[derive(Default)]
    struct Log(Vec<String>);
    impl RecordSink for Log {
        fn record(&mut self, input: InputId, pos: Position, text: &str, record: &Record<'_>) {
            let kind = match record {
                Record::Nccl(l) => format!("nccl {:?}", l.event),
                Record::Tests(_) => "tests".into(),
                Record::Ucx(_) => "ucx".into(),
                Record::Other => "other".into(),
            };
            self.0.push(format!("{} {} {} {text} {kind}", input.0, pos.line, pos.offset));
        }
        fn xml(&mut self, input: InputId, doc: &XmlDoc) {
            self.0.push(format!("{} xml {}", input.0, doc.elements.len()));
        }
        fn input_done(&mut self, input: InputId, summary: &InputSummary) {
            self.0.push(format!("{} done {} lines", input.0, summary.lines));
        }
        fn smi(&mut self, input: InputId, matrix: &crate::topo::SmiMatrix) {
            self.0.push(format!("{} smi {:?}", input.0, matrix));
        }
    }

    fn bytes(s: &str) -> InputSpec {
        InputSpec { display: "mem".into(), source: InputSource::Bytes(Arc::from(s.as_bytes())) }
    }

    /// Tunings that cut inputs into many pieces, with more workers than cores.
    const TUNINGS: [Tuning; 4] = [
        Tuning { workers: 1, piece_bytes: 4 << 20 },
        Tuning { workers: 1, piece_bytes: 1000 },
        Tuning { workers: 2, piece_bytes: 4096 },
        Tuning { workers: 3, piece_bytes: 333 },
    ];

    /// `scan_inputs_tuned` makes the same calls, in the same order, with the same summaries, as
    /// scanning the inputs one by one.
    fn assert_same_as_one_by_one(specs: &[InputSpec], tuning: Tuning) -> Log {
        let mut plain = Log::default();
        let mut expected = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let s = scan_input(InputId(i as u32), spec, &mut plain);
            plain.input_done(InputId(i as u32), &s);
            expected.push(s);
        }
        let mut piped = Log::default();
        let summaries = scan_inputs_tuned(specs, &mut piped, tuning);
        assert_eq!(summaries, expected, "{tuning:?}");
        assert_eq!(piped.0.len(), plain.0.len(), "{tuning:?}");
        for (a, b) in piped.0.iter().zip(&plain.0) {
            assert_eq!(a, b, "{tuning:?}");
        }
        plain
    }

    #[test]
    fn same_calls_in_the_same_order_as_scanning_one_by_one() {
        let coll = "h1:10:10 [0] NCCL INFO AllReduce: opCount 4d sendbuff 0x1 recvbuff 0x2 count 8 datatype 7 op 0 root 0 comm 0x5 [nranks=2] stream 0x6\n";
        let mut big = String::new();
        for i in 0..20_000 {
            big.push_str(&coll.replace("h1:10:10", &format!("h{}:{}:1", i % 3, i % 7)));
            if i % 1000 == 0 {
                big.push_str("h9:1:1 [0] NCCL WARN Call to connect returned Connection refused\n");
                big.push_str("[1,3]<stdout>:h1:10:10 [0] NCCL INFO AllReduce: opCount 1 sendbuff 0x1\n");
            }
        }
        let specs = vec![
            bytes(&big),
            bytes("<system version=\"1\"><cpu numaid=\"0\"/></system>\n"),
            bytes("plain line\r\nh1:1:1 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0>\n"),
            // nvidia-smi matrices inside a log, one of them cut short by a COLL line.
            bytes(&format!(
                "#nvidia-smi topo -m\n\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV1\t0-95\nGPU1\tNV1\t X \t0-95\n{coll}\
                 \tGPU0\tGPU1\nGPU0\t X \tSYS\n{coll}GPU1\tSYS\t X \n{coll}"
            )),
            bytes(&big[..big.len() / 3]),
        ];
        for tuning in TUNINGS {
            let plain = assert_same_as_one_by_one(&specs, tuning);
            assert!(plain.0.iter().filter(|l| l.contains(" smi ")).count() >= 2, "the matrices are found");
        }
    }

    /// Pieces cut at every place relative to CRLF, lone CR, invalid UTF-8, NUL bytes, control
    /// sequences and a last line without terminator: the lines, positions and warnings are
    /// those of one reader.
    #[test]
    fn pieces_cut_anywhere_read_like_one_reader() {
        let text: &[u8] = b"a\r\nbb\rccc\r\r\n\nd\xff\xfee\n\x1b[31mred\x1b[0m\nn\0ul\n\
                            host:1:1 [0] NCCL INFO AllReduce: opCount 1 sendbuff 0x1\r\n\xc3\xa9t\xc3\xa9\nlast";
        let spec = InputSpec { display: "mem".into(), source: InputSource::Bytes(Arc::from(text)) };
        for piece_bytes in 1..=20 {
            for workers in [1, 2] {
                assert_same_as_one_by_one(std::slice::from_ref(&spec), Tuning { workers, piece_bytes });
            }
        }
        // Long stretches without a newline across many cuts: the pieces inside them are empty.
        let mut long = "x".repeat(5000);
        long.push_str("\nmiddle\r");
        long.push_str(&"y".repeat(3000));
        long.push_str("\nend");
        for piece_bytes in [7, 100, 999] {
            assert_same_as_one_by_one(&[bytes(&long)], Tuning { workers: 2, piece_bytes });
        }
    }

    /// Lines over the 1 MiB cap across many cuts: each is cut once, warned about once (up to
    /// the cap on warnings), and the next line starts where one reader starts it.
    #[test]
    fn long_lines_across_pieces() {
        let mut text = Vec::new();
        for i in 0..22 {
            text.extend_from_slice(format!("short {i}\n").as_bytes());
            text.extend(std::iter::repeat_n(b'x', crate::MAX_LINE_BYTES + 100 + i * 7_000));
            // Cut lines end with `\r` (the rest is skipped to it) or `\n`.
            text.extend_from_slice(if i % 3 == 0 { b"\rafter cr\n" } else { b"\n" });
        }
        let spec = InputSpec { display: "mem".into(), source: InputSource::Bytes(Arc::from(text)) };
        let plain = assert_same_as_one_by_one(
            std::slice::from_ref(&spec),
            Tuning { workers: 2, piece_bytes: 300_000 },
        );
        assert!(plain.0.iter().any(|l| l.contains("after cr")));
        let summary = scan_input(InputId(0), &spec, &mut Log::default());
        assert_eq!(summary.warnings.len(), 21, "20 lines, then a summary: {:?}", summary.warnings);
    }

    proptest::proptest! {
        /// The run table finds the same COLL lines, with the same header, as the quick check
        /// on each line, whatever the header looks like and whether it was seen before.
        #[test]
        fn run_table_agrees_with_the_quick_check(
            lines in proptest::collection::vec(
                (proptest::collection::vec(0usize..5, 7), 0usize..7, 0usize..5),
                1..40,
            ),
        ) {
            // A header and message put together from a few well-formed and broken choices per
            // part, so that many lines are COLL lines and many are near misses.
            // Each part may also be missing ("").
            const PARTS: [[&str; 5]; 7] = [
                ["node-1", "ip-10-0-0-1", "[1,0]<stdout>:h", "é", ""],
                [":42", ":4294967296", ":", ":7", ""],
                [":43", ":x", ":0", ":43", ""],
                [" ", "  ", " ", " ", ""],
                ["[3] ", "[-1] ", "[3]", "[ 3] ", ""],
                ["NCCL INFO ", "NCCL WARN ", "NCCL INFO  ", "NCCL INFO ", ""],
                ["AllReduce: opCount 1 sendbuff 0x1", "Send: opCount", "Channel 00/02 : 0 1", "Broadcast: opCount 0", ""],
            ];
            // Each line is followed by a twin with one part changed: the table's check against
            // the previous line's header meets near misses.
            let mut table = RunTable::default();
            for (choice, part, option) in &lines {
                let mut twin = choice.clone();
                twin[*part] = *option;
                // Three times in a row: through the index, then the previous header (which
                // notes the op), then the previous header and op.
                for choice in [choice, choice, choice, &twin, &twin, &twin] {
                    let t: String = choice.iter().zip(PARTS).map(|(&i, part)| part[i]).collect();
                    let expected = quick_hot(&t);
                    proptest::prop_assert_eq!(table.hot_line(&t).map(|(_, h)| h), expected, "{}", t);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn random_inputs_in_random_pieces(
            parts in proptest::collection::vec(0usize..9, 0..120),
            piece_bytes in 1u64..80,
            workers in 1usize..4,
        ) {
            const PARTS: [&[u8]; 9] = [
                b"\n", b"\r", b"\r\n", b"text", b"\xff", b"\0", b"\x1b[1m",
                b"h:1:2 [3] NCCL INFO Broadcast: opCount 0 sendbuff 0x1\n",
                b"h:1:2 [3] NCCL WARN oops\n",
            ];
            let text: Vec<u8> = parts.iter().flat_map(|&i| PARTS[i].iter().copied()).collect();
            let spec = InputSpec { display: "mem".into(), source: InputSource::Bytes(Arc::from(text)) };
            assert_same_as_one_by_one(std::slice::from_ref(&spec), Tuning { workers, piece_bytes });
        }
    }

    /// The quick check agrees with the full parser on which lines are plain COLL lines and on
    /// what they say.
    #[test]
    fn quick_check_agrees_with_the_parser() {
        let lines = [
            "node-1:42:43 [3] NCCL INFO Broadcast: opCount 0 sendbuff 0x1",
            "node-1:42:43 NCCL INFO AllReduce: opCount 1f sendbuff 0x1 recvbuff 0x2",
            "node-1:42:43 [3] NCCL WARN Broadcast: opCount 0 sendbuff 0x1",
            "[1,0]<stdout>:node-1:42:43 [3] NCCL INFO Broadcast: opCount 0",
            "[2025-01-01 10:00:00] node-1:42:43 [3] NCCL INFO Broadcast: opCount 0",
            "node-1:42:43 [3] NCCL INFO Channel 00/02 : 0 1",
            "node-1:42:43 [3] NCCL INFO Send: opCount",
            "node-1:42:43 [3] NCCL INFO ncclCommInitRank comm 0x1 rank 0 nranks 2",
            "node-1:99999999999:43 [3] NCCL INFO Broadcast: opCount 0 sendbuff 0x1",
            "node-1:42:43 [-1] NCCL INFO AllGather: opCount 7 sendbuff 0x1",
            "node-1:42:43 NCCL INFO AllGather: opCount 7 sendbuff 0x1",
        ];
        let mut hot = 0;
        let mut table = RunTable::default();
        for t in lines {
            let parsed = crate::nccl::parse_line(t);
            let full = parsed.as_ref().and_then(|l| match l.event {
                Event::Coll { op } if l.level == Level::Info && l.launcher == Default::default() => {
                    Some((l.header.clone(), op))
                }
                _ => None,
            });
            assert_eq!(crate::nccl::quick_coll(t), full, "{t}");
            hot += usize::from(full.is_some());
            // The run table's check (a header parsed once, then found by its bytes) agrees too,
            // the first time and from its caches (the index, the previous header and op).
            let one_by_one = quick_hot(t);
            for _ in 0..3 {
                assert_eq!(table.hot_line(t).map(|(_, h)| h), one_by_one, "{t}");
            }
        }
        assert_eq!(hot, 5);
    }
}
