//! Streaming line splitter: fixed buffers, no whole-file reads, no per-line allocation.
//!
//! Modelled on ripgrep's `line_buffer.rs`: one buffer is refilled from the reader and lines are
//! handed out as slices of it. The buffer grows only while a single line does not fit, and never
//! past [`MAX_LINE_BYTES`]: the rest of a longer line is skipped without being kept, because a
//! multi-gigabyte "line" (a binary blob, a log without newlines) must not take the process down.
use std::borrow::Cow;
use std::io::{self, Read};

use memchr::{memchr, memchr2};

use crate::record::{InputWarning, Position};
use crate::sanitize;

/// Longest line delivered; longer lines are cut to this and flagged.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Default read buffer: large enough that refills are rare, small next to the line cap.
const DEFAULT_CAPACITY: usize = 256 * 1024;

/// How many "line longer than 1 MiB" warnings one input may produce before they are summarised.
const MAX_LONG_LINE_WARNINGS: usize = 20;

/// What a [`LineReader`] has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Bytes read from the (decompressed) stream.
    pub bytes: u64,
    /// Lines delivered.
    pub lines: u64,
}

/// Splits a byte stream into sanitized UTF-8 lines. See the module docs.
pub struct LineReader<R: Read> {
    inner: R,
    /// Read buffer; `buf.len()` is the current capacity, `[start, end)` holds unread bytes.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    max_line: usize,
    stats: LineStats,
}

/// Per-input bookkeeping of the problems worth one warning each, kept as numbers until the
/// input ends so that the pieces of an input read in parallel can be added up
/// ([`Problems::merge`]) into exactly the warnings one reader would have written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Problems {
    /// First line and number of lines that were not UTF-8.
    invalid_utf8: Option<(u64, u64)>,
    /// First line and number of lines that held NUL bytes.
    nul: Option<(u64, u64)>,
    long_lines: usize,
    /// The lines of the first [`MAX_LONG_LINE_WARNINGS`] long lines.
    long_line_at: Vec<u64>,
}

impl Problems {
    /// Adds the problems of the next piece of the same input, whose line 1 is line
    /// `line_base + 1` of the input.
    pub(crate) fn merge(&mut self, next: &Problems, line_base: u64) {
        fn add(into: &mut Option<(u64, u64)>, next: Option<(u64, u64)>, base: u64) {
            match (into.as_mut(), next) {
                (Some((_, n)), Some((_, m))) => *n += m,
                (None, Some((first, m))) => *into = Some((first + base, m)),
                (_, None) => {}
            }
        }
        add(&mut self.invalid_utf8, next.invalid_utf8, line_base);
        add(&mut self.nul, next.nul, line_base);
        self.long_lines += next.long_lines;
        let room = MAX_LONG_LINE_WARNINGS.saturating_sub(self.long_line_at.len());
        self.long_line_at.extend(next.long_line_at.iter().take(room).map(|l| l + line_base));
    }

    /// The warnings: one per long line (up to the cap), then one per kind of problem.
    pub(crate) fn write(&self, warnings: &mut Vec<InputWarning>) {
        for &line in &self.long_line_at {
            warnings.push(InputWarning::at(line, "line longer than 1 MiB, cut"));
        }
        if let Some((first, count)) = self.invalid_utf8 {
            let more = if count > 1 { format!(" ({count} lines)") } else { String::new() };
            warnings.push(InputWarning::at(
                first,
                format!("invalid UTF-8 from line {first}, decoded lossily{more}"),
            ));
        }
        if let Some((first, count)) = self.nul {
            let more = if count > 1 { format!(" ({count} lines)") } else { String::new() };
            warnings.push(InputWarning::at(first, format!("NUL bytes removed from line {first}{more}")));
        }
        if self.long_lines > MAX_LONG_LINE_WARNINGS {
            let more = self.long_lines - MAX_LONG_LINE_WARNINGS;
            warnings.push(InputWarning::file(format!("… {more} more lines longer than 1 MiB, cut")));
        }
    }
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_capacity(inner, DEFAULT_CAPACITY)
    }

    /// A reader whose buffer starts at `capacity` bytes (tests use tiny ones to hit every
    /// buffer-boundary case).
    pub fn with_capacity(inner: R, capacity: usize) -> Self {
        Self::with_limits(inner, capacity, MAX_LINE_BYTES)
    }

    fn with_limits(inner: R, capacity: usize, max_line: usize) -> Self {
        let max_line = max_line.max(4);
        // Never start above the largest size the buffer may need: one capped line plus one byte
        // to see that it is longer.
        let capacity = capacity.clamp(1, max_line + 1);
        Self {
            inner,
            buf: vec![0; capacity],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            max_line,
            stats: LineStats::default(),
        }
    }

    /// A reader that starts with `head`, bytes already read from the front of the input (to
    /// sniff it), and goes on with `inner`: the head is not copied again.
    pub(crate) fn after_head(head: Vec<u8>, inner: R) -> Self {
        let mut reader = Self::with_capacity(inner, 1);
        reader.end = head.len();
        reader.stats.bytes = head.len() as u64;
        reader.buf = head;
        // The head is at most the sniffing size, below the cap, so the buffer stays within it.
        let capacity = reader.buf.len().max(DEFAULT_CAPACITY).min(reader.max_line + 1);
        if reader.buf.len() < capacity {
            reader.buf.resize(capacity, 0);
        }
        reader
    }

    /// A reader whose first byte is byte `offset` of the input (a piece of an input read on
    /// its own): positions are offsets in the whole input, line numbers count from the piece.
    pub(crate) fn at_offset(inner: R, offset: u64) -> Self {
        let mut reader = Self::new(inner);
        reader.base = offset;
        reader
    }

    /// Counters so far; after an I/O error from [`Self::for_each_line`] they tell how far the
    /// input was read.
    pub fn stats(&self) -> LineStats {
        self.stats
    }

    /// Calls `f` with every line of the input, in order.
    ///
    /// Terminators are `\n`, `\r\n` and a lone `\r` (progress bars, old Mac pastes); none is
    /// part of the text. A last line without terminator is delivered; an empty input delivers
    /// nothing. Each line is decoded (lossily when it is not UTF-8), has NUL bytes dropped,
    /// passes through [`sanitize::sanitize_line`], and is cut at [`MAX_LINE_BYTES`]. Problems
    /// are reported in `warnings`, at most one per kind and input except for long lines.
    pub fn for_each_line(
        &mut self,
        warnings: &mut Vec<InputWarning>,
        f: impl FnMut(Position, &str),
    ) -> io::Result<LineStats> {
        let (result, problems) = self.scan(f);
        // Summaries are written even when reading failed half-way: they describe what was read.
        problems.write(warnings);
        result.map(|()| self.stats)
    }

    /// [`Self::for_each_line`] with the problems returned as numbers, not yet as warnings.
    pub(crate) fn scan(&mut self, mut f: impl FnMut(Position, &str)) -> (io::Result<()>, Problems) {
        let mut problems = Problems::default();
        let result = self.run(&mut problems, &mut f);
        (result, problems)
    }

    fn run(&mut self, problems: &mut Problems, f: &mut dyn FnMut(Position, &str)) -> io::Result<()> {
        // The previous line ended with `\r`: a `\n` right after it belongs to that terminator.
        let mut skip_lf = false;
        // The current line was cut: discard bytes up to its terminator.
        let mut skipping = false;
        // Bytes in `[start, scan_from)` are known to hold no terminator.
        let mut scan_from = self.start;
        // Stream offset up to which the bytes are known not to be clean text: lines there go
        // one by one (see `deliver_clean_block`).
        let mut dirty_until = 0u64;
        loop {
            if skip_lf {
                if self.start < self.end {
                    if self.buf[self.start] == b'\n' {
                        self.start += 1;
                    }
                    skip_lf = false;
                    scan_from = self.start;
                } else if self.eof {
                    return Ok(());
                } else {
                    self.fill(&mut scan_from)?;
                    continue;
                }
            }
            if skipping {
                match memchr2(b'\n', b'\r', &self.buf[self.start..self.end]) {
                    Some(i) => {
                        let t = self.start + i;
                        skip_lf = self.buf[t] == b'\r';
                        self.start = t + 1;
                        scan_from = self.start;
                        skipping = false;
                    }
                    None => {
                        self.start = self.end;
                        scan_from = self.end;
                        if self.eof {
                            return Ok(());
                        }
                        self.fill(&mut scan_from)?;
                    }
                }
                continue;
            }
            if self.base + self.start as u64 >= dirty_until && self.deliver_clean_block(&mut dirty_until, f) {
                scan_from = self.start;
                continue;
            }
            match memchr2(b'\n', b'\r', &self.buf[scan_from..self.end]) {
                Some(i) => {
                    let t = scan_from + i;
                    let (a, len) = (self.start, t - self.start);
                    if len > self.max_line {
                        self.deliver_cut(a, problems, f);
                    } else {
                        self.deliver(a, t, problems, f);
                    }
                    skip_lf = self.buf[t] == b'\r';
                    self.start = t + 1;
                    scan_from = self.start;
                }
                None if self.end - self.start > self.max_line => {
                    self.deliver_cut(self.start, problems, f);
                    skipping = true;
                }
                None if self.eof => {
                    if self.start < self.end {
                        let (a, b) = (self.start, self.end);
                        self.deliver(a, b, problems, f);
                        self.start = self.end;
                    }
                    return Ok(());
                }
                None => {
                    scan_from = self.end;
                    self.fill(&mut scan_from)?;
                }
            }
        }
    }

    /// The common case, a block at a time: when the whole lines at the front of the unread
    /// bytes are all clean text ([`sanitize::is_clean_text`]: printable ASCII, TAB, `\n`),
    /// they are handed out without checking each line again: one vectorised pass and one
    /// UTF-8 validation per read instead of two per line. Returns whether any line was
    /// delivered; a block that is not clean (or holds a line over the cap) is marked in
    /// `dirty_until` and left to the line-by-line path, which gives the same result.
    fn deliver_clean_block(&mut self, dirty_until: &mut u64, f: &mut dyn FnMut(Position, &str)) -> bool {
        let Some(last) = memchr::memrchr(b'\n', &self.buf[self.start..self.end]) else { return false };
        let end = self.start + last + 1;
        let bytes = &self.buf[self.start..end];
        // Clean text is ASCII, so the UTF-8 check cannot fail; it is what makes it a `str`.
        let clean = sanitize::is_clean_text(bytes).then(|| std::str::from_utf8(bytes).ok()).flatten();
        let Some(block) = clean else {
            *dirty_until = self.base + end as u64;
            return false;
        };
        let offset = self.base + self.start as u64;
        let mut a = 0;
        while let Some(i) = memchr(b'\n', &block.as_bytes()[a..]) {
            if i > self.max_line {
                *dirty_until = self.base + end as u64;
                break;
            }
            self.stats.lines += 1;
            f(Position { line: self.stats.lines, offset: offset + a as u64 }, &block[a..a + i]);
            a += i + 1;
        }
        self.start += a;
        a > 0
    }

    /// Delivers the first `max_line` bytes of the line starting at `a`, cut back to a UTF-8
    /// character boundary so the cut itself does not produce a replacement character.
    fn deliver_cut(&mut self, a: usize, problems: &mut Problems, f: &mut dyn FnMut(Position, &str)) {
        let mut cut = self.max_line;
        for _ in 0..3 {
            if cut > 0 && (self.buf[a + cut] & 0xc0) == 0x80 {
                cut -= 1;
            } else {
                break;
            }
        }
        self.deliver(a, a + cut, problems, f);
        problems.long_lines += 1;
        if problems.long_lines <= MAX_LONG_LINE_WARNINGS {
            problems.long_line_at.push(self.stats.lines);
        }
    }

    fn deliver(&mut self, a: usize, b: usize, problems: &mut Problems, f: &mut dyn FnMut(Position, &str)) {
        self.stats.lines += 1;
        let line_no = self.stats.lines;
        let pos = Position { line: line_no, offset: self.base + a as u64 };
        let bytes = &self.buf[a..b];
        // The common line: printable ASCII, so valid UTF-8 with nothing to strip.
        if sanitize::is_printable_ascii(bytes) {
            if let Ok(text) = std::str::from_utf8(bytes) {
                f(pos, text);
                return;
            }
        }
        let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                count(&mut problems.invalid_utf8, line_no);
                String::from_utf8_lossy(bytes)
            }
        };
        // The common line has no control character: hand it over as is.
        if !sanitize::needs_sanitizing(text.as_bytes()) {
            f(pos, &text);
            return;
        }
        // NULs are C0 controls, so sanitizing drops them; only the warning needs this check.
        if memchr(0, text.as_bytes()).is_some() {
            count(&mut problems.nul, line_no);
        }
        f(pos, &sanitize::sanitize_line(&text));
    }

    /// Moves the unread bytes to the front, grows the buffer when a line fills it, and reads
    /// once. Sets `eof` on a zero-byte read.
    fn fill(&mut self, scan_from: &mut usize) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            *scan_from -= self.start;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Only reached while one line fills the buffer and is not yet over the cap
            // (`run` cuts it first otherwise), so the buffer stays <= max_line + 1.
            let len = self.buf.len();
            let new_len = (len * 2).min(self.max_line + 1).max(len + 1);
            self.buf.resize(new_len, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    self.stats.bytes += n as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The lines that start at `offsets` of a stored input (a regular file or bytes in memory),
/// read again and cleaned exactly as the line reader delivered them the first time: how a
/// line kept as a position becomes text again. None where the input can no longer be read
/// there (it was removed or truncated).
pub fn read_lines_at(spec: &crate::InputSpec, offsets: &[u64]) -> Vec<Option<String>> {
    use std::io::{Seek, SeekFrom};
    let Some(Ok((mut reader, _))) = crate::input::open_stored(spec) else {
        return vec![None; offsets.len()];
    };
    let mut read_at = |offset: u64| -> Option<String> {
        reader.seek(SeekFrom::Start(offset)).ok()?;
        // Up to the first terminator, and never more than a cut line needs.
        let first = FirstLine { inner: (&mut reader).take(MAX_LINE_BYTES as u64 + 1), done: false };
        let mut text = None;
        LineReader::with_capacity(first, 4096)
            .for_each_line(&mut Vec::new(), |_, t| {
                text.get_or_insert_with(|| t.to_string());
            })
            .ok()?;
        text
    };
    offsets.iter().map(|&offset| read_at(offset)).collect()
}

/// Passes bytes through the first line terminator (`\n` or `\r`), then ends.
struct FirstLine<R> {
    inner: R,
    done: bool,
}

impl<R: Read> Read for FirstLine<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.inner.read(out)?;
        match memchr2(b'\n', b'\r', &out[..n]) {
            Some(i) => {
                self.done = true;
                Ok(i + 1)
            }
            None => Ok(n),
        }
    }
}

fn count(slot: &mut Option<(u64, u64)>, line: u64) {
    match slot {
        Some((_, n)) => *n += 1,
        None => *slot = Some((line, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `chunk` bytes per read, to split data at every place.
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    type Collected = (Vec<(u64, u64, String)>, Vec<InputWarning>, LineStats);

    fn collect_with(data: &[u8], capacity: usize, chunk: usize, max_line: usize) -> Collected {
        let mut reader = LineReader::with_limits(Chunked { data, chunk }, capacity, max_line);
        let mut lines = Vec::new();
        let mut warnings = Vec::new();
        let stats = reader
            .for_each_line(&mut warnings, |pos, text| lines.push((pos.line, pos.offset, text.to_owned())))
            .unwrap();
        (lines, warnings, stats)
    }

    fn texts(data: &[u8]) -> Vec<String> {
        collect_with(data, 256, usize::MAX, MAX_LINE_BYTES).0.into_iter().map(|l| l.2).collect()
    }

    #[test]
    fn empty_input_delivers_nothing() {
        let (lines, warnings, stats) = collect_with(b"", 16, 16, 64);
        assert!(lines.is_empty());
        assert!(warnings.is_empty());
        assert_eq!(stats, LineStats { bytes: 0, lines: 0 });
    }

    #[test]
    fn terminators() {
        assert_eq!(texts(b"a\nb\n"), ["a", "b"]);
        assert_eq!(texts(b"a\r\nb\r\n"), ["a", "b"]);
        assert_eq!(texts(b"a\rb\rc"), ["a", "b", "c"]);
        assert_eq!(texts(b"a\r\r\nb"), ["a", "", "b"]);
        assert_eq!(texts(b"\n\n"), ["", ""]);
        assert_eq!(texts(b"\r\n"), [""]);
        assert_eq!(texts(b"\r"), [""]);
        assert_eq!(texts(b"last without newline"), ["last without newline"]);
        assert_eq!(texts(b"x\n\ry"), ["x", "", "y"]);
    }

    #[test]
    fn positions_are_line_numbers_and_byte_offsets() {
        let (lines, _, stats) = collect_with(b"ab\r\ncd\ref\n\ngh", 4, 3, 64);
        let got: Vec<_> = lines.iter().map(|(l, o, t)| (*l, *o, t.as_str())).collect();
        assert_eq!(got, [(1, 0, "ab"), (2, 4, "cd"), (3, 7, "ef"), (4, 10, ""), (5, 11, "gh")]);
        assert_eq!(stats, LineStats { bytes: 13, lines: 5 });
    }

    #[test]
    fn crlf_split_across_reads_is_one_terminator() {
        for chunk in 1..6 {
            for cap in 1..8 {
                let (lines, _, _) = collect_with(b"abc\r\ndef\r\n\r\nx", cap, chunk, 64);
                let got: Vec<_> = lines.iter().map(|l| l.2.as_str()).collect();
                assert_eq!(got, ["abc", "def", "", "x"], "chunk {chunk} cap {cap}");
            }
        }
    }

    #[test]
    fn invalid_utf8_is_lossy_with_one_warning() {
        let (lines, warnings, _) = collect_with(b"ok\nbad \xff\nalso \xc3\n", 64, 64, 64);
        assert_eq!(lines[1].2, "bad \u{fffd}");
        assert_eq!(lines[2].2, "also \u{fffd}");
        assert_eq!(warnings, [InputWarning::at(2, "invalid UTF-8 from line 2, decoded lossily (2 lines)")]);
    }

    #[test]
    fn nul_bytes_are_removed_with_one_warning() {
        let (lines, warnings, _) = collect_with(b"a\0b\nc\nd\0\0\n", 64, 64, 64);
        let got: Vec<_> = lines.iter().map(|l| l.2.as_str()).collect();
        assert_eq!(got, ["ab", "c", "d"]);
        assert_eq!(warnings, [InputWarning::at(1, "NUL bytes removed from line 1 (2 lines)")]);
    }

    #[test]
    fn lines_are_sanitized() {
        assert_eq!(texts(b"\x1b[31mred\x1b[0m\tx\x07\n"), ["red\tx"]);
    }

    #[test]
    fn long_line_is_cut_and_rest_skipped() {
        let max = 16;
        let mut data = b"short\n".to_vec();
        data.extend_from_slice(&[b'x'; 100]);
        data.extend_from_slice(b"\r\nafter\n");
        for cap in [1, 4, 16, 17, 64, 1000] {
            for chunk in [1, 3, 7, 100, 10_000] {
                let (lines, warnings, stats) = collect_with(&data, cap, chunk, max);
                let got: Vec<_> = lines.iter().map(|l| (l.0, l.1, l.2.as_str())).collect();
                assert_eq!(
                    got,
                    [(1, 0, "short"), (2, 6, "xxxxxxxxxxxxxxxx"), (3, 108, "after")],
                    "cap {cap} chunk {chunk}"
                );
                assert_eq!(warnings, [InputWarning::at(2, "line longer than 1 MiB, cut")]);
                assert_eq!(stats.bytes, data.len() as u64);
            }
        }
    }

    #[test]
    fn long_line_at_eof_and_exact_cap() {
        let max = 8;
        let (lines, warnings, _) = collect_with(b"123456789012", 4, 3, max);
        assert_eq!(lines.iter().map(|l| l.2.as_str()).collect::<Vec<_>>(), ["12345678"]);
        assert_eq!(warnings.len(), 1);
        // Exactly the cap is not too long.
        let (lines, warnings, _) = collect_with(b"12345678\n12345678", 4, 3, max);
        assert_eq!(lines.len(), 2);
        assert!(warnings.is_empty());
        assert_eq!(lines[1].2, "12345678");
    }

    #[test]
    fn long_line_cut_on_char_boundary() {
        // 'é' is 2 bytes; with max 5 the cut would split the third 'é'.
        let data = "ééééé\n".as_bytes();
        let (lines, warnings, _) = collect_with(data, 64, 64, 5);
        assert_eq!(lines[0].2, "éé");
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn long_line_warnings_are_capped() {
        let max = 4;
        let data = b"123456\n".repeat(25);
        let (lines, warnings, _) = collect_with(&data, 8, 8, max);
        assert_eq!(lines.len(), 25);
        assert_eq!(warnings.len(), MAX_LONG_LINE_WARNINGS + 1);
        assert_eq!(warnings.last().unwrap().message, "… 5 more lines longer than 1 MiB, cut");
    }

    #[test]
    fn real_cap_is_one_mib() {
        let mut data = vec![b'a'; MAX_LINE_BYTES * 3 + 5];
        data.extend_from_slice(b"\nnext\n");
        let mut reader = LineReader::new(&data[..]);
        let mut lens = Vec::new();
        let mut warnings = Vec::new();
        reader.for_each_line(&mut warnings, |_, t| lens.push(t.len())).unwrap();
        assert_eq!(lens, [MAX_LINE_BYTES, 4]);
        assert_eq!(warnings, [InputWarning::at(1, "line longer than 1 MiB, cut")]);
        // The buffer never grew past one capped line.
        assert!(reader.buf.len() <= MAX_LINE_BYTES + 1);
    }

    #[test]
    fn read_error_keeps_lines_before_it() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk on fire"));
                }
                self.0 -= 1;
                out[..2].copy_from_slice(b"a\n");
                Ok(2)
            }
        }
        let mut reader = LineReader::with_capacity(Failing(3), 16);
        let mut n = 0;
        let err = reader.for_each_line(&mut Vec::new(), |_, _| n += 1).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        assert_eq!(n, 3);
        assert_eq!(reader.stats(), LineStats { bytes: 6, lines: 3 });
    }

    /// Reference splitter: the obvious whole-buffer implementation.
    fn reference(data: &[u8], max: usize) -> Vec<(u64, u64, String)> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut line = 0;
        while i < data.len() {
            let rest = &data[i..];
            let t = rest.iter().position(|&b| b == b'\n' || b == b'\r');
            let len = t.unwrap_or(rest.len());
            let mut body = &rest[..len];
            if body.len() > max {
                let mut cut = max;
                for _ in 0..3 {
                    if cut > 0 && (body[cut] & 0xc0) == 0x80 {
                        cut -= 1;
                    }
                }
                body = &body[..cut];
            }
            line += 1;
            let text = String::from_utf8_lossy(body);
            out.push((line, i as u64, sanitize::sanitize_line(&text).into_owned()));
            let mut next = i + len;
            if let Some(t) = t {
                next += 1;
                if rest[t] == b'\r' && rest.get(t + 1) == Some(&b'\n') {
                    next += 1;
                }
            }
            i = next;
        }
        out
    }

    /// Every line read again at its offset is the line as delivered the first time.
    #[test]
    fn lines_read_again_at_their_offsets() {
        let mut data = b"plain\r\nlone cr\rdirty \x1b[31mred\x1b[0m \xff\n\nn\0ul\ttab\n".to_vec();
        data.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES + 10));
        data.extend_from_slice(b"\nlast without end");
        let spec = crate::InputSpec {
            display: "mem".into(),
            source: crate::input::InputSource::Bytes(std::sync::Arc::from(data.as_slice())),
        };
        let mut first = Vec::new();
        LineReader::new(data.as_slice())
            .for_each_line(&mut Vec::new(), |pos, t| first.push((pos.offset, t.to_string())))
            .unwrap();
        assert_eq!(first.len(), 7);
        let offsets: Vec<u64> = first.iter().map(|(o, _)| *o).collect();
        let again = read_lines_at(&spec, &offsets);
        for ((_, text), back) in first.iter().zip(&again) {
            assert_eq!(back.as_deref(), Some(text.as_str()));
        }
        assert_eq!(read_lines_at(&spec, &[data.len() as u64 + 5]), [None]);
    }

    #[test]
    fn randomized_against_reference() {
        // xorshift: deterministic, no extra dependency.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rnd = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet: &[&[u8]] =
            &[b"a", b"b", b"\n", b"\r", b"\r\n", b"\xc3\xa9", b"\xff", b"\0", b"\x1b[1m", b" "];
        for round in 0..400 {
            let len = rnd(80) as usize;
            let mut data = Vec::new();
            for _ in 0..len {
                data.extend_from_slice(alphabet[rnd(alphabet.len() as u64) as usize]);
            }
            let max = 4 + rnd(12) as usize;
            let cap = 1 + rnd(20) as usize;
            let chunk = 1 + rnd(24) as usize;
            let (got, _, stats) = collect_with(&data, cap, chunk, max);
            let want = reference(&data, max);
            assert_eq!(got, want, "round {round}: data {data:?} max {max} cap {cap} chunk {chunk}");
            assert_eq!(stats.bytes, data.len() as u64);
            assert_eq!(stats.lines, want.len() as u64);
        }
    }
}
