//! Scanning many inputs on two cores: a reading thread and the sink's thread.
//!
//! The reading thread opens each input in turn, splits, sanitizes and parses its lines
//! ([`scan_input`]) and ships them in batches of about [`BATCH_BYTES`] over a bounded channel;
//! the calling thread hands them to the sink in the same order a plain [`scan_input`] loop
//! would. The reading thread's work (I/O, line splitting, UTF-8 and control-sequence checks)
//! and the sink thread's (parsing, the job model) then overlap: on a 256 MiB COLL-heavy log
//! perf put roughly half the samples on each side.
//!
//! Records borrow their line, so they cannot cross threads: a batch carries the line texts,
//! and the lines are parsed on the sink's thread. The one shape that makes up the bulk of a
//! big log (a `NCCL_DEBUG_SUBSYS=COLL` trace line) is recognised there by a quick check and
//! handed to the sink as a [`HotNccl`], which the job model takes on a fast path.
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::input::InputSpec;
use crate::nccl::Header;
use crate::record::{InputId, Position, Record, RecordSink};
use crate::scan::{classify, scan_with, InputSummary};
use crate::sniff::InputKind;
use crate::topo::smi::SmiBuilder;
use crate::topo::XmlDoc;

/// Text per batch: large enough that channel traffic is noise, small enough that the batches
/// in flight (at most [`BATCHES_IN_FLIGHT`] + 2) stay a few MiB whatever the input size.
pub const BATCH_BYTES: usize = 1 << 20;
const BATCHES_IN_FLIGHT: usize = 2;

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

#[derive(Debug, Clone, Copy)]
struct LineMeta {
    pos: Position,
    text: (u32, u32),
}

enum Msg {
    Lines { input: InputId, kind: InputKind, text: String, lines: Vec<LineMeta> },
    Xml(InputId, Box<XmlDoc>),
    Done(Box<InputSummary>),
}

/// Scans `specs` in order on a reading thread and feeds `sink` on this one. Returns one
/// summary per spec, in order; `sink.input_done` is called as each input ends.
pub fn scan_inputs(specs: &[InputSpec], sink: &mut (dyn RecordSink + '_)) -> Vec<InputSummary> {
    let (tx, rx) = sync_channel::<Msg>(BATCHES_IN_FLIGHT);
    std::thread::scope(|scope| {
        scope.spawn(move || read_all(specs, tx));
        feed(rx, sink)
    })
}

fn read_all(specs: &[InputSpec], tx: SyncSender<Msg>) {
    for (i, spec) in specs.iter().enumerate() {
        let id = InputId(u32::try_from(i).unwrap_or(u32::MAX));
        let mut batcher = Batcher {
            tx: &tx,
            input: id,
            kind: InputKind::Unknown,
            text: String::new(),
            lines: Vec::new(),
            closed: false,
        };
        let summary = scan_with(id, spec, &mut batcher, Batcher::line, false);
        batcher.flush();
        if batcher.closed || tx.send(Msg::Done(Box::new(summary))).is_err() {
            return; // the sink's side has gone (it panicked): stop reading
        }
    }
}

fn feed(rx: Receiver<Msg>, sink: &mut (dyn RecordSink + '_)) -> Vec<InputSummary> {
    let mut summaries = Vec::new();
    // nvidia-smi matrices are looked for here, not on the reading thread (it is the busier
    // one); a COLL line cannot start a matrix, so it skips the check unless one is open.
    let mut smi: Option<(InputId, SmiBuilder)> = None;
    for msg in rx {
        match msg {
            Msg::Lines { input, kind, text, lines } => {
                if smi.as_ref().is_none_or(|(i, _)| *i != input) {
                    smi = Some((input, SmiBuilder::new()));
                }
                let Some((_, smi)) = smi.as_mut() else { continue };
                for meta in &lines {
                    let line = span(&text, meta.text);
                    match crate::nccl::quick_coll(line) {
                        Some((Header { host: Some(host), pid: Some(pid), cuda_dev, .. }, op)) => {
                            sink.hot_nccl(input, meta.pos, line, &HotNccl { host, pid, cuda_dev, op });
                            if smi.is_pending() {
                                smi.push(meta.pos.line, line);
                            }
                        }
                        _ => {
                            sink.record(input, meta.pos, line, &classify(kind, line));
                            smi.push(meta.pos.line, line);
                        }
                    }
                }
            }
            Msg::Xml(input, doc) => sink.xml(input, &doc),
            Msg::Done(summary) => {
                let input = InputId(summaries.len() as u32);
                if let Some((_, builder)) = smi.take_if(|(i, _)| *i == input) {
                    for matrix in builder.finish() {
                        sink.smi(input, &matrix);
                    }
                }
                sink.input_done(input, &summary);
                summaries.push(*summary);
            }
        }
    }
    summaries
}

fn span(text: &str, (a, b): (u32, u32)) -> &str {
    text.get(a as usize..b as usize).unwrap_or("")
}

/// The reading thread's sink: copies lines into the current batch.
struct Batcher<'a> {
    tx: &'a SyncSender<Msg>,
    input: InputId,
    kind: InputKind,
    text: String,
    lines: Vec<LineMeta>,
    /// The receiver is gone; nothing more is sent.
    closed: bool,
}

impl Batcher<'_> {
    fn flush(&mut self) {
        if self.lines.is_empty() || self.closed {
            return;
        }
        let msg = Msg::Lines {
            input: self.input,
            kind: self.kind,
            text: std::mem::replace(&mut self.text, String::with_capacity(BATCH_BYTES + 4096)),
            lines: std::mem::take(&mut self.lines),
        };
        self.closed = self.tx.send(msg).is_err();
    }

    /// Copies the line into the batch: parsing is the sink thread's share of the work, which
    /// keeps the two threads' shares close (perf: reading, splitting and sanitizing on one side,
    /// parsing and the model on the other).
    fn line(&mut self, input: InputId, _kind: InputKind, pos: Position, text: &str) {
        debug_assert_eq!(input, self.input);
        // Lines are at most 1 MiB (the line reader cuts them), so offsets fit in u32 per batch.
        let start = self.text.len();
        self.text.push_str(text);
        let end = self.text.len();
        self.lines.push(LineMeta { pos, text: (start as u32, end as u32) });
        if self.text.len() >= BATCH_BYTES {
            self.flush();
        }
    }
}

impl RecordSink for Batcher<'_> {
    /// Not used by `read_all` (lines come through `line`); correct if called: parsed again.
    fn record(&mut self, input: InputId, pos: Position, text: &str, _record: &Record<'_>) {
        self.line(input, self.kind, pos, text);
    }

    fn xml(&mut self, input: InputId, doc: &XmlDoc) {
        self.flush();
        if !self.closed {
            self.closed = self.tx.send(Msg::Xml(input, Box::new(doc.clone()))).is_err();
        }
    }

    // No `smi`: `read_all` scans with `find_smi` off; the sink's thread looks for matrices.

    fn input_kind(&mut self, _input: InputId, kind: InputKind) {
        self.kind = kind;
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
        ];
        let mut piped = Log::default();
        let summaries = scan_inputs(&specs, &mut piped);
        let mut plain = Log::default();
        let mut expected = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let s = scan_input(InputId(i as u32), spec, &mut plain);
            plain.input_done(InputId(i as u32), &s);
            expected.push(s);
        }
        assert_eq!(summaries, expected);
        assert!(plain.0.iter().filter(|l| l.contains(" smi ")).count() >= 2, "the matrices are found");
        assert_eq!(piped.0.len(), plain.0.len());
        for (a, b) in piped.0.iter().zip(&plain.0) {
            assert_eq!(a, b);
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
        ];
        let mut hot = 0;
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
        }
        assert_eq!(hot, 2);
    }
}
