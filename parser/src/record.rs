//! What the parser hands to its sink: positioned, typed records.
use serde::Serialize;

use crate::nccl::NcclLine;
use crate::nccltests::TestsLine;
use crate::ucx::UcxLine;

/// Index of an input in the order the inputs were given (after directory expansion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct InputId(pub u32);

/// Where a line starts: 1-based line number and byte offset of the line's first byte in the
/// input as read (after decompression).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct Position {
    pub line: u64,
    pub offset: u64,
}

/// A problem with an input that did not stop it from being read (or stopped only this input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputWarning {
    /// 1-based line, when the warning belongs to one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub message: String,
}

impl InputWarning {
    pub fn at(line: u64, message: impl Into<String>) -> Self {
        Self { line: Some(line), message: message.into() }
    }
    pub fn file(message: impl Into<String>) -> Self {
        Self { line: None, message: message.into() }
    }
}

/// One parsed line. `text` is the sanitized line (control sequences stripped, no line ending).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record<'a> {
    /// A line carrying the NCCL marker (INFO/WARN/TRACE/…), or a bare NCCL banner.
    Nccl(NcclLine<'a>),
    /// A line of nccl-tests output (header, device, table row, footer, failure).
    Tests(TestsLine<'a>),
    /// A line recognised as UCX / ucx_info / ucx_perftest / NIXL output.
    Ucx(UcxLine<'a>),
    /// Any other line (application output, launcher noise).
    Other,
}

/// The receiver of records, implemented by the analyzer's job model (and by tests).
pub trait RecordSink {
    /// Called once per line, in file order. `text` is the sanitized line.
    fn record(&mut self, input: InputId, pos: Position, text: &str, record: &Record<'_>);

    /// Called once for an XML input (topology or graph dump), after it was parsed.
    fn xml(&mut self, _input: InputId, _doc: &crate::topo::XmlDoc) {}

    /// Called for each `nvidia-smi topo -m` matrix found in an input.
    fn smi(&mut self, _input: InputId, _matrix: &crate::topo::SmiMatrix) {}

    /// A plain `NCCL_DEBUG_SUBSYS=COLL` trace line that [`crate::scan_inputs`] recognised on a
    /// worker thread: a sink can take the fast path with `hot`; by default the line is parsed
    /// again and passed to [`RecordSink::record`] like any other.
    fn hot_nccl(&mut self, input: InputId, pos: Position, text: &str, _hot: &crate::pipeline::HotNccl<'_>) {
        let record = crate::nccl::parse_line(text).map_or(Record::Other, Record::Nccl);
        self.record(input, pos, text, &record);
    }

    /// Whether the sink takes [`RecordSink::hot_run`]: most COLL trace lines then reach it
    /// added up per process ([`crate::pipeline::HotRun`]) rather than one by one. A sink that
    /// says yes must count a run's lines and keep its latest line as `hot_nccl` would have.
    fn takes_hot_runs(&self) -> bool {
        false
    }

    /// COLL trace lines of a process already seen, added up (only when `takes_hot_runs`).
    fn hot_run(&mut self, _input: InputId, _run: &crate::pipeline::HotRun<'_>) {}

    /// The kind sniffed for an input, before its first record.
    fn input_kind(&mut self, _input: InputId, _kind: crate::sniff::InputKind) {}

    /// An input has been read to its end (called by [`crate::scan_inputs`]).
    fn input_done(&mut self, _input: InputId, _summary: &crate::scan::InputSummary) {}
}

impl<F> RecordSink for F
where
    F: FnMut(InputId, Position, &str, &Record<'_>),
{
    fn record(&mut self, input: InputId, pos: Position, text: &str, record: &Record<'_>) {
        self(input, pos, text, record)
    }
}
