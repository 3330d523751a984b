//! The driver: opens one input, decides its kind, and streams its lines as records to a sink.
use std::io::{BufReader, Cursor, Read};

use serde::Serialize;

use crate::input::{self, InputSpec};
use crate::lines::LineReader;
use crate::record::{InputId, InputWarning, Position, Record, RecordSink};
use crate::sniff::{self, InputKind, SNIFF_BYTES};
use crate::topo::smi::SmiBuilder;

/// What scanning one input found, for the report's `inputs` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    pub path: String,
    pub kind: InputKind,
    /// Bytes read, after decompression.
    pub bytes: u64,
    pub lines: u64,
    pub warnings: Vec<InputWarning>,
    /// Set when the input could not be read at all (missing, unreadable, corrupt archive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set when the input was recognised as binary and not parsed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// Reads input `id` described by `spec` and calls `sink` once per line, in order.
///
/// Never panics on bad input and never fails as a whole: an unopenable input is reported in
/// `error`, a binary one is `skipped`, and a read error half-way becomes a warning that keeps
/// every record delivered before it.
pub fn scan_input(id: InputId, spec: &InputSpec, sink: &mut dyn RecordSink) -> InputSummary {
    scan_with(
        id,
        spec,
        sink,
        |sink, id, kind, pos, text| sink.record(id, pos, text, &classify(kind, text)),
        |_, _| {},
        true,
    )
}

/// What to do with each line of a line-oriented input.
pub(crate) type OnLine<S> = fn(&mut S, InputId, InputKind, Position, &str);

/// [`scan_input`] with the per-line step left to the caller (the pipeline's workers do not
/// parse lines); XML documents go to `sink`, and nvidia-smi matrices too when
/// `find_smi` (the pipeline looks for them on the sink's thread instead). `on_lines` is called
/// before the first line with whether the lines' offsets can be read again from the input
/// as stored (a plain regular file or bytes in memory: see `input::open_as_stored`).
pub(crate) fn scan_with<S: RecordSink + ?Sized>(
    id: InputId,
    spec: &InputSpec,
    sink: &mut S,
    on_line: OnLine<S>,
    on_lines: fn(&mut S, bool),
    find_smi: bool,
) -> InputSummary {
    let mut summary = InputSummary {
        path: spec.display.clone(),
        kind: InputKind::Unknown,
        bytes: 0,
        lines: 0,
        warnings: Vec::new(),
        error: None,
        skipped: false,
    };
    let (mut reader, mut as_stored) = match input::open_as_stored(spec) {
        Ok(opened) => opened,
        Err(e) => {
            summary.error = Some(format!("cannot open: {e}"));
            return summary;
        }
    };

    // The head is read once and then replayed in front of the rest, so stdin works too.
    let (mut head, mut head_error) = match read_head(&mut reader) {
        Ok(head) => head,
        Err(e) => {
            summary.error = Some(format!("cannot read: {e}"));
            return summary;
        }
    };
    // UTF-16 with a BOM was transcoded by `open`; without one it is only recognisable here.
    if head_error.is_none() {
        if let Some(big_endian) = sniff::utf16_big_endian(&head) {
            let stream = Cursor::new(std::mem::take(&mut head)).chain(reader);
            reader = Box::new(input::Utf16Decoder::new(stream, big_endian));
            (head, head_error) = match read_head(&mut reader) {
                Ok(head) => head,
                Err(e) => {
                    summary.error = Some(format!("cannot read: {e}"));
                    return summary;
                }
            };
            summary.warnings.push(InputWarning::file("UTF-16 text without byte-order mark, transcoded"));
            as_stored = false;
        }
    }

    if sniff::looks_binary(&head) {
        let why = if head.contains(&0) { "NUL bytes" } else { "not text" };
        summary.warnings.push(InputWarning::file(format!("binary file ({why}), skipped")));
        summary.skipped = true;
        summary.bytes = head.len() as u64;
        return summary;
    }
    summary.kind = sniff::sniff(&head);
    sink.input_kind(id, summary.kind);

    let rest: Box<dyn Read> = match head_error {
        // The error has been seen once; replay the head and stop there.
        Some(_) => Box::new(std::io::empty()),
        None => Box::new(reader),
    };
    if summary.kind.is_xml() {
        let stream = Cursor::new(head).chain(rest);
        // XML dumps are documents, not lines: the analyzer gets the element tree.
        let (doc, stats) = crate::topo::xml::parse_xml_counted(BufReader::new(stream));
        summary.bytes = stats.bytes;
        summary.lines = stats.lines;
        summary.warnings.extend(doc.warnings.iter().cloned());
        sink.xml(id, &doc);
        // A read error during the parse is among the document's warnings already.
        push_read_error(&mut summary, head_error);
        return summary;
    }
    let mut lines = LineReader::after_head(head, rest);
    let kind = summary.kind;
    on_lines(sink, as_stored);
    let mut smi = SmiBuilder::new();
    let result = lines.for_each_line(&mut summary.warnings, |pos, text| {
        on_line(sink, id, kind, pos, text);
        if find_smi {
            smi.push(pos.line, text);
        }
    });
    for matrix in smi.finish() {
        sink.smi(id, &matrix);
    }
    let stats = lines.stats();
    summary.bytes = stats.bytes;
    summary.lines = stats.lines;
    push_read_error(&mut summary, result.err().or(head_error));
    summary
}

/// Records a read error that cut the input short; what was read before it is kept.
pub(crate) fn push_read_error(summary: &mut InputSummary, read_error: Option<std::io::Error>) {
    if let Some(e) = read_error {
        let lines = summary.lines;
        let message = format!("read error after line {lines}: {e}; kept what was read");
        summary.warnings.push(if lines > 0 {
            InputWarning::at(lines, message)
        } else {
            InputWarning::file(message)
        });
    }
}

/// Reads up to [`SNIFF_BYTES`]. A read error after some bytes is returned next to them, so
/// what was read is still used; an error before any byte is the input's error.
fn read_head(reader: &mut dyn Read) -> std::io::Result<(Vec<u8>, Option<std::io::Error>)> {
    // Most inputs fill the head: one allocation rather than a doubling series of copies.
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    match reader.take(SNIFF_BYTES as u64).read_to_end(&mut head) {
        Ok(_) => Ok((head, None)),
        Err(e) if head.is_empty() => Err(e),
        Err(e) => Ok((head, Some(e))),
    }
}

/// The record for one sanitized line of an input of kind `kind`.
pub fn classify(kind: InputKind, text: &str) -> Record<'_> {
    // XML inputs never get here (scan_input parses them as documents); kept for safety.
    if kind.is_xml() {
        return Record::Other;
    }
    if let Some(line) = crate::nccl::parse_line(text) {
        return Record::Nccl(line);
    }
    if let Some(line) = crate::nccltests::parse_line(text) {
        return Record::Tests(line);
    }
    // In a `ucx_info` dump every line belongs to the dump (`put_opt_zcopy_align: <= 1`); in
    // other inputs only lines that identify themselves as UCX/NIXL output do.
    // `#`-prefixed ucx_info keys identify themselves in any input (a dump pasted into a log).
    if kind == InputKind::UcxInfo
        || sniff::is_ucx_or_nixl_line(text.as_bytes())
        || crate::ucx::is_info_line(text)
    {
        return Record::Ucx(crate::ucx::parse_line(text));
    }
    Record::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputSource;
    use crate::record::Position;
    use std::io::Write;
    use std::path::Path;

    #[derive(Default)]
    struct Collect(
        Vec<(InputId, Position, String, &'static str)>,
        Vec<crate::topo::XmlDoc>,
        Vec<crate::topo::SmiMatrix>,
    );

    impl RecordSink for Collect {
        fn record(&mut self, input: InputId, pos: Position, text: &str, record: &Record<'_>) {
            let kind = match record {
                Record::Nccl(_) => "nccl",
                Record::Tests(_) => "tests",
                Record::Ucx(_) => "ucx",
                Record::Other => "other",
            };
            self.0.push((input, pos, text.to_owned(), kind));
        }
        fn xml(&mut self, _input: InputId, doc: &crate::topo::XmlDoc) {
            self.1.push(doc.clone());
        }
        fn smi(&mut self, _input: InputId, matrix: &crate::topo::SmiMatrix) {
            self.2.push(matrix.clone());
        }
    }

    fn spec(path: &Path) -> InputSpec {
        InputSpec { display: path.to_string_lossy().into_owned(), source: InputSource::File(path.to_owned()) }
    }

    fn scan(path: &Path) -> (InputSummary, Collect) {
        let mut sink = Collect::default();
        let summary = scan_input(InputId(7), &spec(path), &mut sink);
        (summary, sink)
    }

    const LOG: &str = "node1:100:100 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>\n\
                       some application line\n\
                       [1716920651.160128] [gpu1:259:0] ucp_worker.c:1783 UCX  INFO ep_cfg[4]: tag(tcp/ib0)\n\
                       \x1b[31mnode1:100:100 [0] NCCL WARN colourful\x1b[0m\n";

    #[test]
    fn plain_gz_and_zstd_give_the_same_records() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, LOG).unwrap();
        let gz = dir.path().join("b.log.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(LOG.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.path().join("c.bin");
        std::fs::write(&zst, zstd::encode_all(LOG.as_bytes(), 1).unwrap()).unwrap();

        let (s0, r0) = scan(&plain);
        assert_eq!(s0.kind, InputKind::NcclLog);
        assert_eq!(s0.lines, 4);
        assert_eq!(s0.bytes, LOG.len() as u64);
        assert!(s0.warnings.is_empty() && s0.error.is_none() && !s0.skipped);
        assert_eq!(r0.0[0].0, InputId(7));
        assert_eq!(r0.0[1].1, Position { line: 2, offset: 63 });
        assert_eq!(r0.0[3].2, "node1:100:100 [0] NCCL WARN colourful");
        assert_eq!(r0.0[1].3, "other");
        assert_eq!(r0.0[2].3, "ucx");
        for path in [&gz, &zst] {
            let (s, r) = scan(path);
            assert_eq!((s.kind, s.lines, s.bytes), (s0.kind, s0.lines, s0.bytes));
            assert_eq!(r.0, r0.0);
        }
    }

    #[test]
    fn crlf_input() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("win.log");
        std::fs::write(&p, LOG.replace('\n', "\r\n")).unwrap();
        let (s, r) = scan(&p);
        assert_eq!(s.lines, 4);
        assert_eq!(r.0[1].1, Position { line: 2, offset: 64 });
        assert!(r.0.iter().all(|l| !l.2.contains('\r')));
        assert_eq!(r.0[1].2, "some application line");
    }

    #[test]
    fn binary_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("core");
        let mut data = b"\x7fELF\x02\x01\x01\0".to_vec();
        data.extend_from_slice(&[0u8; 4096]);
        std::fs::write(&p, &data).unwrap();
        let (s, r) = scan(&p);
        assert!(s.skipped);
        assert_eq!(s.kind, InputKind::Unknown);
        assert_eq!(s.warnings, [InputWarning::file("binary file (NUL bytes), skipped")]);
        assert!(r.0.is_empty());
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["skipped"], true);
        assert_eq!(json["kind"], "unknown");
    }

    #[test]
    fn missing_file_is_an_error_not_a_panic() {
        let (s, r) = scan(Path::new("/nonexistent/ncclscope/rank0.log"));
        assert!(s.error.as_deref().unwrap_or("").starts_with("cannot open: "), "{s:?}");
        assert_eq!((s.lines, s.bytes), (0, 0));
        assert!(r.0.is_empty());
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.gz");
        std::fs::write(&p, b"\x1f\x8b\x08\x00garbage that is not deflate").unwrap();
        let (s, _) = scan(&p);
        assert!(s.error.is_some() || !s.warnings.is_empty(), "{s:?}");
    }

    #[test]
    fn truncated_gzip_keeps_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cut.gz");
        let text: String = (0..50_000).map(|i| format!("node1:1:1 [0] NCCL INFO line {i}\n")).collect();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        std::fs::write(&p, &gz[..gz.len() * 3 / 4]).unwrap();
        let (s, r) = scan(&p);
        assert!(s.error.is_none(), "{s:?}");
        assert!(s.lines > 1000 && !r.0.is_empty());
        let last = s.warnings.last().unwrap();
        assert!(last.message.starts_with("read error after line"), "{last:?}");
        assert_eq!(last.line, Some(s.lines));
    }

    #[test]
    fn empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.log");
        std::fs::write(&p, b"").unwrap();
        let (s, r) = scan(&p);
        assert_eq!(s.kind, InputKind::Unknown);
        assert_eq!((s.lines, s.bytes), (0, 0));
        assert!(s.warnings.is_empty() && s.error.is_none() && !s.skipped);
        assert!(r.0.is_empty());
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "path": p.to_string_lossy(), "kind": "unknown", "bytes": 0, "lines": 0,
                "warnings": []
            })
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let dir = tempfile::tempdir().unwrap();
        let text = "node1:1:1 [0] NCCL INFO caf\u{e9}\r\nnext\r\n";
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut with_bom = vec![0xff, 0xfe];
        with_bom.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        let without_bom: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        for (name, data, warnings) in [("bom", with_bom, 0), ("nobom", without_bom, 1)] {
            let p = dir.path().join(name);
            std::fs::write(&p, data).unwrap();
            let (s, r) = scan(&p);
            assert_eq!(s.kind, InputKind::NcclLog, "{name}");
            assert_eq!(s.lines, 2, "{name}");
            assert_eq!(s.warnings.len(), warnings, "{name}: {:?}", s.warnings);
            assert_eq!(r.0[0].2, "node1:1:1 [0] NCCL INFO caf\u{e9}");
            assert_eq!(r.0[0].3, "nccl");
        }
    }

    #[test]
    fn xml_is_parsed_as_a_document() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("topo");
        let text = "<system version=\"1\">\n  <cpu numaid=\"0\"/>\n</system>\n";
        std::fs::write(&p, text).unwrap();
        let (s, r) = scan(&p);
        assert_eq!(s.kind, InputKind::NcclTopoXml);
        assert_eq!((s.lines, s.bytes), (3, text.len() as u64));
        assert!(s.warnings.is_empty());
        assert!(r.0.is_empty(), "no per-line records for XML");
        assert_eq!(r.1.len(), 1);
        assert_eq!(r.1[0].root_name(), Some("system"));
        assert_eq!(r.1[0].elements[1].line, 2);
    }

    #[test]
    fn truncated_xml_longer_than_the_head_warns_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("topo.xml.gz");
        let mut text = String::from("<system version=\"2\">\n");
        let n = SNIFF_BYTES / 30 + 100;
        for i in 0..n {
            text.push_str(&format!("  <cpu numaid=\"{i}\"/>\n"));
        }
        text.push_str("  <pci busid=\"000");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let (s, r) = scan(&p);
        assert_eq!(s.kind, InputKind::NcclTopoXml);
        assert_eq!((s.lines, s.bytes), (n as u64 + 2, text.len() as u64));
        let doc = &r.1[0];
        assert!(doc.truncated);
        assert_eq!(doc.elements.len(), n + 1);
        assert_eq!(s.warnings[0], InputWarning::at(1, "RCCL topology (version 2)"));
        assert_eq!(s.warnings[1].line, Some(n as u64 + 2), "{:?}", s.warnings);
        assert_eq!(s.warnings, doc.warnings);
    }

    #[test]
    fn truncated_gzip_xml_keeps_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("topo.xml.gz");
        let mut text = String::from("<system version=\"1\">\n");
        for i in 0..50_000 {
            text.push_str(&format!("  <cpu numaid=\"{i}\" affinity=\"{i:08x}\"/>\n"));
        }
        text.push_str("</system>\n");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        std::fs::write(&p, &gz[..gz.len() * 3 / 4]).unwrap();
        let (s, r) = scan(&p);
        assert!(s.error.is_none(), "{s:?}");
        let doc = &r.1[0];
        assert!(doc.truncated && doc.elements.len() > 1000);
        assert!(s.warnings.iter().any(|w| w.message.starts_with("read error")), "{:?}", s.warnings);
        assert!(s.lines > 1000);
    }

    #[test]
    fn smi_matrix_inside_a_log() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("job.log");
        let text = format!(
            "{LOG}#nvidia-smi topo -m\n\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV1\t0-95\nGPU1\tNV1\t X \t0-95\n"
        );
        std::fs::write(&p, text).unwrap();
        let (s, r) = scan(&p);
        assert_eq!(s.kind, InputKind::NcclLog);
        assert_eq!(r.0.len(), 8, "lines are still records");
        assert_eq!(r.2.len(), 1);
        assert_eq!(r.2[0].line, 6);
        assert_eq!(r.2[0].rows[1].cells, ["NV1", "X"]);
    }

    #[test]
    fn input_longer_than_the_head_is_read_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.log");
        let line = "node1:1:1 [0] NCCL INFO a reasonably long line of text for padding\n";
        let n = SNIFF_BYTES / line.len() * 3 + 7;
        std::fs::write(&p, line.repeat(n)).unwrap();
        let (s, r) = scan(&p);
        assert_eq!(s.lines, n as u64);
        assert_eq!(s.bytes, (n * line.len()) as u64);
        let last = &r.0[n - 1];
        assert_eq!(last.1, Position { line: n as u64, offset: ((n - 1) * line.len()) as u64 });
    }
}
