//! NCCL topology / graph XML (quick-xml, streaming, iterative).
//!
//! The element tree is built with an explicit stack, never by recursion: a hostile file nested
//! 100 000 deep must not overflow the thread's stack. Only the five predefined entities and
//! character references are expanded; a DOCTYPE is skipped, so internal entities (billion
//! laughs) are never expanded and external ones never fetched. Whatever parsed before a problem
//! is kept: NCCL dumps pasted into issues are often cut mid-attribute.
use std::io::{self, BufRead};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::{XmlDoc, XmlElement};
use crate::record::InputWarning;
use crate::sanitize::{needs_sanitizing, sanitize_line};

/// Elements kept per document. NCCL itself refuses more than 256 nodes per `<system>`; real
/// dumps hold a few hundred, so anything near this is hostile or not a topology.
pub const MAX_ELEMENTS: usize = 200_000;
/// Longest attribute value kept (longer ones are cut).
pub const MAX_ATTR_BYTES: usize = 64 * 1024;
/// Longest single piece of markup or text quick-xml may buffer; past it parsing stops, so a
/// gigabyte-long "tag" cannot take the process's memory.
pub const MAX_MARKUP_BYTES: u64 = 1 << 20;
/// How much of a start tag is kept as evidence.
const MAX_TAG_TEXT: usize = 300;
/// Warnings per document before the rest are summarised.
const MAX_WARNINGS: usize = 100;
/// Recoverable well-formedness errors tolerated before giving up on the document.
const MAX_ERRORS: usize = 1000;

/// Bytes and lines of the XML stream, counted the way [`crate::LineReader`] counts them.
#[derive(Debug, Default)]
pub struct XmlStats {
    pub bytes: u64,
    pub lines: u64,
    /// An I/O error of the underlying stream (not an XML problem), if reading stopped on one;
    /// the document's warnings already mention it.
    pub read_error: Option<io::Error>,
}

/// Parses one topology or graph XML document. Never fails and never panics: problems become
/// `warnings` with lines, and `truncated` is set when the root did not close.
pub fn parse_xml<R: BufRead>(reader: R) -> XmlDoc {
    parse(reader, false).0
}

/// [`parse_xml`], then reads the stream to its end so the caller learns its full size (the
/// scan's `lines`/`bytes`), even when parsing stopped early.
pub fn parse_xml_counted<R: BufRead>(reader: R) -> (XmlDoc, XmlStats) {
    parse(reader, true)
}

fn parse<R: BufRead>(reader: R, drain: bool) -> (XmlDoc, XmlStats) {
    let mut reader = Reader::from_reader(Counting::new(reader));
    let config = reader.config_mut();
    // Be lenient like NCCL's own hand-written parser: end tags are matched here, with repair.
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.expand_empty_elements = false;

    let mut b = Builder::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let start_offset = reader.buffer_position();
        let start_line = reader.get_ref().line();
        reader.get_mut().mark_event_start();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                if !b.open(&e, start_line, start_offset, false) {
                    break;
                }
            }
            Ok(Event::Empty(e)) => {
                if !b.open(&e, start_line, start_offset, true) {
                    break;
                }
            }
            Ok(Event::End(e)) => b.close(&e, start_line),
            Ok(Event::Eof) => break,
            // NCCL files carry no text content; comments, declarations, PIs and the DOCTYPE
            // (with any entity definitions in it) are skipped.
            Ok(_) => {}
            Err(e) => {
                // The line where the failing piece of markup starts: for a file cut
                // mid-attribute, the line of the cut tag.
                let line = start_line;
                if reader.get_ref().overlong {
                    b.warn(
                        line,
                        format!("XML markup longer than {} bytes; parsing stopped", MAX_MARKUP_BYTES),
                    );
                    b.doc.truncated = true;
                    break;
                }
                if let quick_xml::Error::Io(io) = &e {
                    b.warn(line, format!("read error, kept what was read: {io}"));
                    b.doc.truncated = true;
                    break;
                }
                let fatal = !matches!(e, quick_xml::Error::IllFormed(_));
                b.errors += 1;
                if fatal || b.errors > MAX_ERRORS {
                    b.warn(line, format!("malformed XML, parsing stopped: {e}"));
                    b.doc.truncated = true;
                    break;
                }
                b.warn(line, format!("malformed XML: {e}"));
            }
        }
        if b.stopped {
            break;
        }
    }
    // The last line read (not the empty line after a final newline).
    let end_line = reader.get_ref().lines_total().max(1);
    let counting = reader.get_ref();
    if counting.replaced > 0 {
        let (n, line) = (counting.replaced, counting.first_replaced_line);
        b.warn(line, format!("{n} bytes of invalid UTF-8 read as '?'"));
    }
    b.finish(end_line);

    let mut counting = reader.into_inner();
    if drain {
        counting.drain();
    }
    let stats =
        XmlStats { bytes: counting.bytes, lines: counting.lines_total(), read_error: counting.error.take() };
    (b.doc, stats)
}

#[derive(Default)]
struct Builder {
    doc: XmlDoc,
    /// Open elements, innermost last.
    stack: Vec<usize>,
    errors: usize,
    warnings_dropped: usize,
    cut_attrs: usize,
    stopped: bool,
}

impl Builder {
    fn warn(&mut self, line: u64, message: String) {
        if self.doc.warnings.len() < MAX_WARNINGS {
            self.doc.warnings.push(InputWarning::at(line, message));
        } else {
            self.warnings_dropped += 1;
        }
    }

    /// Adds an element; false once the element cap is reached.
    fn open(&mut self, e: &BytesStart<'_>, line: u64, offset: u64, empty: bool) -> bool {
        if self.doc.elements.len() >= MAX_ELEMENTS {
            self.warn(line, format!("more than {MAX_ELEMENTS} XML elements; parsing stopped"));
            self.doc.truncated = true;
            self.stopped = true;
            return false;
        }
        let raw: &str = e;
        // Names, values and the tag text are shown in reports like log text, and raw control
        // bytes or character references (`&#27;`) can put escape sequences in them: they are
        // cleaned like log lines (issue 7, found by the topo_xml fuzz target).
        let name = sanitize_line(e.name().as_ref()).into_owned();
        let mut attrs = Vec::new();
        let mut iter = e.attributes();
        // NCCL never writes duplicates, but a hand-edited file might; keep both, in order.
        iter.with_checks(false);
        for attr in iter {
            match attr {
                Ok(a) => {
                    let key = sanitize_line(a.key.as_ref()).into_owned();
                    // Invalid escapes (`&foo;`, a stray `&`) keep the raw text: a value is evidence.
                    let mut value = match a.normalized_value(XmlVersion::Implicit1_0) {
                        Ok(v) => v.into_owned(),
                        Err(_) => a.value.clone().into_owned(),
                    };
                    if needs_sanitizing(value.as_bytes()) {
                        value = sanitize_line(&value).into_owned();
                    }
                    if value.len() > MAX_ATTR_BYTES {
                        value.truncate(floor_char_boundary(&value, MAX_ATTR_BYTES));
                        self.cut_attrs += 1;
                        if self.cut_attrs == 1 {
                            self.warn(
                                line,
                                format!("attribute {key} longer than {MAX_ATTR_BYTES} bytes, cut"),
                            );
                        }
                    }
                    attrs.push((key, value));
                }
                Err(err) => {
                    self.warn(
                        line,
                        format!("malformed attributes in <{name}>: {err}; rest of the tag skipped"),
                    );
                    break;
                }
            }
        }
        let mut text = String::with_capacity(raw.len().min(MAX_TAG_TEXT) + 3);
        text.push('<');
        if raw.len() > MAX_TAG_TEXT {
            text.push_str(&raw[..floor_char_boundary(raw, MAX_TAG_TEXT)]);
            text.push('…');
        } else {
            text.push_str(raw);
            text.push_str(if empty { "/>" } else { ">" });
        }
        if needs_sanitizing(text.as_bytes()) {
            // Line by line: a tag spanning lines keeps its line breaks.
            text = text.split('\n').map(sanitize_line).collect::<Vec<_>>().join("\n");
        }
        let idx = self.doc.elements.len();
        let parent = self.stack.last().copied();
        if let Some(p) = parent {
            self.doc.elements[p].children.push(idx);
        } else if self.doc.root.is_none() {
            self.doc.root = Some(idx);
            // RCCL writes version 2; NCCL refuses anything but 1.
            if name == "system" && attrs.iter().any(|(k, v)| k == "version" && v == "2") {
                self.warn(line, "RCCL topology (version 2)".to_owned());
            }
        } else {
            self.warn(line, format!("second top-level element <{name}> (a concatenation of dumps?)"));
        }
        self.doc.elements.push(XmlElement { name, attrs, parent, children: Vec::new(), line, offset, text });
        if !empty {
            self.stack.push(idx);
        }
        true
    }

    fn close(&mut self, e: &quick_xml::events::BytesEnd<'_>, line: u64) {
        let name = e.name();
        let name = sanitize_line(name.as_ref());
        let name = name.as_ref();
        match self.stack.iter().rposition(|&i| self.doc.elements[i].name == name) {
            Some(pos) => {
                if pos + 1 != self.stack.len() {
                    let open = &self.doc.elements[self.stack[self.stack.len() - 1]].name;
                    let message = format!("</{name}> closes unclosed <{open}>");
                    self.warn(line, message);
                }
                self.stack.truncate(pos);
            }
            None => self.warn(line, format!("</{name}> without a matching start tag, ignored")),
        }
    }

    fn finish(&mut self, end_line: u64) {
        if self.cut_attrs > 1 {
            let n = self.cut_attrs;
            self.warn(end_line, format!("{n} attribute values longer than {MAX_ATTR_BYTES} bytes, cut"));
        }
        if !self.stack.is_empty() && !self.doc.truncated {
            let open = &self.doc.elements[self.stack[0]].name;
            let message = format!("XML ends before <{open}> closes (truncated file?)");
            self.warn(end_line, message);
            self.doc.truncated = true;
        }
        if self.doc.elements.is_empty() && !self.doc.truncated {
            self.warn(end_line, "no XML element found".to_owned());
        }
        if self.warnings_dropped > 0 {
            let n = self.warnings_dropped;
            self.doc.warnings.push(InputWarning::file(format!("{n} more XML warnings not shown")));
        }
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Bytes handed to quick-xml per refill.
const CHUNK: usize = 64 * 1024;

/// A `BufRead` adapter between the stream and quick-xml. It counts what quick-xml consumes
/// (bytes, line terminators — `\n`, `\r\n` and a lone `\r`, as the line reader splits — and
/// the size of the current event), caps the size of one event, and replaces invalid UTF-8 bytes
/// with `?` one for one: quick-xml 0.42 decodes every event as UTF-8 and cannot resume after an
/// invalid byte, and a Latin-1 comment in a hand-written file must not lose the whole document.
/// The replacement keeps every byte offset valid.
struct Counting<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    /// An incomplete UTF-8 sequence at the end of the last chunk, completed by the next one.
    carry: Vec<u8>,
    inner_eof: bool,
    bytes: u64,
    terminators: u64,
    last: Option<u8>,
    event_start: u64,
    overlong: bool,
    limit: bool,
    error: Option<io::Error>,
    /// Invalid UTF-8 bytes replaced, and the line of the first.
    replaced: u64,
    first_replaced_line: u64,
}

impl<R: BufRead> Counting<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            pos: 0,
            carry: Vec::new(),
            inner_eof: false,
            bytes: 0,
            terminators: 0,
            last: None,
            event_start: 0,
            overlong: false,
            limit: true,
            error: None,
            replaced: 0,
            first_replaced_line: 0,
        }
    }

    /// 1-based line of the next unconsumed byte.
    fn line(&self) -> u64 {
        self.terminators + 1
    }

    fn lines_total(&self) -> u64 {
        match self.last {
            None => 0,
            Some(b'\n' | b'\r') => self.terminators,
            Some(_) => self.terminators + 1,
        }
    }

    fn mark_event_start(&mut self) {
        self.event_start = self.bytes;
    }

    /// Reads the rest of the stream, counting it.
    fn drain(&mut self) {
        self.limit = false;
        loop {
            let n = match self.fill_buf() {
                Ok([]) => break,
                Ok(b) => b.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            self.consume(n);
        }
    }

    /// Loads the next chunk into `buf` (called when `buf` is used up).
    fn refill(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.pos = 0;
        while self.buf.is_empty() && !(self.inner_eof && self.carry.is_empty()) {
            self.buf.append(&mut self.carry);
            if !self.inner_eof {
                let chunk = match self.inner.fill_buf() {
                    Ok(c) => c,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                    Err(e) => {
                        // Keep the first real error for the caller; quick-xml only learns that
                        // one happened. Whatever was carried is dropped with the stream's end.
                        let message = e.to_string();
                        self.error.get_or_insert(e);
                        self.inner_eof = true;
                        return Err(io::Error::other(message));
                    }
                };
                let n = chunk.len().min(CHUNK);
                self.buf.extend_from_slice(&chunk[..n]);
                self.inner.consume(n);
                self.inner_eof = n == 0;
            }
            self.sanitize();
        }
        Ok(())
    }

    fn sanitize(&mut self) {
        let mut i = 0;
        while let Err(e) = std::str::from_utf8(&self.buf[i..]) {
            let bad = i + e.valid_up_to();
            let len = match e.error_len() {
                Some(len) => len,
                None if !self.inner_eof => {
                    self.carry = self.buf.split_off(bad);
                    return;
                }
                None => self.buf.len() - bad,
            };
            if self.replaced == 0 {
                let newlines = self.buf[..bad].iter().filter(|&&b| b == b'\n').count() as u64;
                self.first_replaced_line = self.line() + newlines;
            }
            self.replaced += len as u64;
            self.buf[bad..bad + len].fill(b'?');
            i = bad + len;
        }
    }
}

// `BufRead` requires `Read`; quick-xml's buffered reader only uses `fill_buf`/`consume`.
impl<R: BufRead> io::Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let mut room = usize::MAX;
        if self.limit {
            let used = self.bytes - self.event_start;
            if used > MAX_MARKUP_BYTES {
                self.overlong = true;
                return Err(io::Error::other("XML markup too long"));
            }
            // Hand out no more than the event may still use, so quick-xml stops asking.
            room = usize::try_from(MAX_MARKUP_BYTES + 1 - used).unwrap_or(usize::MAX);
        }
        if self.pos >= self.buf.len() {
            self.refill()?;
        }
        let avail = &self.buf[self.pos..];
        Ok(&avail[..avail.len().min(room)])
    }

    fn consume(&mut self, amt: usize) {
        let end = (self.pos + amt).min(self.buf.len());
        let mut prev = self.last;
        for &c in &self.buf[self.pos..end] {
            // `\r\n` is one terminator: the `\r` counted it.
            if c == b'\r' || (c == b'\n' && prev != Some(b'\r')) {
                self.terminators += 1;
            }
            prev = Some(c);
        }
        self.last = prev;
        self.bytes += (end - self.pos) as u64;
        self.pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> XmlDoc {
        parse_xml(s.as_bytes())
    }

    #[test]
    fn elements_attributes_and_positions() {
        let xml = "<!-- c\n -->\n<system version=\"1\">\n  <cpu numaid=\"0\" affinity=\"ff\">\n    \
                   <pci busid=\"0000:10:1c.0\"\n         class=\"0x030200\"/>\n  </cpu>\n</system>\n";
        let doc = parse_str(xml);
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
        assert!(!doc.truncated);
        assert_eq!(doc.root_name(), Some("system"));
        let names: Vec<_> = doc.elements.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["system", "cpu", "pci"]);
        let lines: Vec<_> = doc.elements.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        for e in &doc.elements {
            assert_eq!(&xml[e.offset as usize..e.offset as usize + 1], "<", "{e:?}");
        }
        let pci = &doc.elements[2];
        assert_eq!(pci.attr("class"), Some("0x030200"));
        assert_eq!(pci.parent, Some(1));
        assert_eq!(doc.elements[1].children, [2]);
        assert!(pci.text.starts_with("<pci busid=") && pci.text.ends_with("/>"), "{}", pci.text);
        assert_eq!(doc.ancestor(2, "system"), Some(0));
    }

    #[test]
    fn counted_lines_match_the_line_reader() {
        for (text, lines) in [("", 0), ("<a/>", 1), ("<a/>\n", 1), ("<a>\r\n</a>\r\n", 2), ("<a>\r</a>", 2)] {
            let (_, stats) = parse_xml_counted(text.as_bytes());
            assert_eq!((stats.bytes, stats.lines), (text.len() as u64, lines), "{text:?}");
        }
        let doc = parse_str("<a>\r\n<b/>\r<c/></a>");
        assert_eq!(doc.elements.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn truncated_mid_attribute_keeps_what_parsed() {
        let xml = "<system version=\"1\">\n  <cpu numaid=\"0\">\n    <pci busid=\"000";
        let doc = parse_str(xml);
        assert!(doc.truncated);
        assert_eq!(doc.elements.len(), 2);
        let w = &doc.warnings[0];
        assert_eq!(w.line, Some(3), "{w:?}");
    }

    #[test]
    fn unclosed_root_is_truncated() {
        let doc = parse_str("<system version=\"1\">\n<cpu numaid=\"0\"/>\n");
        assert!(doc.truncated);
        assert_eq!(doc.warnings.len(), 1);
        assert!(doc.warnings[0].message.contains("<system>"), "{:?}", doc.warnings);
        assert_eq!(doc.warnings[0].line, Some(2));
    }

    #[test]
    fn escapes_entities_and_doctype() {
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">\
                   <!ENTITY ext SYSTEM \"file:///etc/passwd\">]>\n\
                   <system a=\"x &amp; y &#65;\" b=\"&lol2;\" c=\"&ext;\" d=\"a & b\"><unknown z=\"1\"/></system>";
        let doc = parse_str(xml);
        assert!(!doc.truncated, "{:?}", doc.warnings);
        let s = &doc.elements[0];
        assert_eq!(s.attr("a"), Some("x & y A"));
        assert_eq!(s.attr("b"), Some("&lol2;"));
        assert_eq!(s.attr("c"), Some("&ext;"));
        assert_eq!(s.attr("d"), Some("a & b"));
        assert_eq!(doc.elements[1].name, "unknown");
        assert_eq!(doc.elements[1].attr("z"), Some("1"));
    }

    #[test]
    fn rccl_version_2_is_noted() {
        let doc = parse_str("<system version=\"2\"><cpu/></system>");
        assert!(!doc.truncated);
        assert_eq!(doc.warnings, [InputWarning::at(1, "RCCL topology (version 2)")]);
    }

    #[test]
    fn graphs_root() {
        let doc = parse_str("<graphs version=\"1\"><graph id=\"0\"><channel><net dev=\"0\"/><gpu dev=\"0x1\"/></channel></graph></graphs>");
        assert_eq!(doc.root_name(), Some("graphs"));
        assert_eq!(doc.named("gpu").count(), 1);
        assert!(doc.warnings.is_empty());
    }

    #[test]
    fn mismatched_end_tags_are_repaired() {
        let doc = parse_str("<system>\n<cpu>\n<pci>\n</cpu>\n<cpu/>\n</bogus>\n</system>");
        assert!(!doc.truncated, "{:?}", doc.warnings);
        assert_eq!(doc.elements[4 - 1].parent, Some(0), "second cpu is a child of system");
        assert_eq!(doc.warnings.len(), 2, "{:?}", doc.warnings);
        assert_eq!(doc.warnings[0].line, Some(4));
        assert_eq!(doc.warnings[1].line, Some(6));
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let n = 100_000;
        let xml = format!("{}{}", "<pci>".repeat(n), "</pci>".repeat(n));
        let doc = parse_str(&xml);
        assert_eq!(doc.elements.len(), n);
        assert!(!doc.truncated);
        assert_eq!(doc.elements[n - 1].parent, Some(n - 2));
        // Dropping a deep document must not recurse either (children are indices).
        drop(doc);
    }

    #[test]
    fn caps() {
        let xml = format!("<system>{}</system>", "<a/>".repeat(MAX_ELEMENTS + 10));
        let doc = parse_str(&xml);
        assert_eq!(doc.elements.len(), MAX_ELEMENTS);
        assert!(doc.truncated);
        assert!(doc.warnings[0].message.contains("200000"), "{:?}", doc.warnings);

        let long = "x".repeat(MAX_ATTR_BYTES + 100);
        let doc = parse_str(&format!("<system a=\"{long}\" b=\"{long}\"/>"));
        assert_eq!(doc.elements[0].attr("a").map(str::len), Some(MAX_ATTR_BYTES));
        assert!(doc.elements[0].text.len() < 400);
        assert!(!doc.truncated);
        assert_eq!(doc.warnings.len(), 2, "{:?}", doc.warnings);

        let huge = format!("<system a=\"{}\"/>\n<x/>\n", "y".repeat(MAX_MARKUP_BYTES as usize + 10));
        let (doc, stats) = parse_xml_counted(huge.as_bytes());
        assert!(doc.truncated && doc.elements.is_empty());
        assert!(doc.warnings[0].message.contains("longer than"), "{:?}", doc.warnings);
        assert_eq!((stats.bytes, stats.lines), (huge.len() as u64, 2));
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            "not xml at all",
            "<",
            "<<<>>>",
            "</a>",
            "<a b=>",
            "<a b='1' b='2'/>",
            "<a\u{0}/>",
            "<![CDATA[x",
        ] {
            let _ = parse_str(s);
        }
    }

    #[test]
    fn control_characters_are_cleaned_from_names_values_and_text() {
        // Found by the topo_xml fuzz target: character references and raw control bytes reached
        // `ncclscope topo` verbatim.
        let doc = parse_xml(
            &b"<system>\n<pci busid=\"&#27;]52;c;QQ==&#7;0000:17:00.0\" class=\"\x10\x7f0x0604\"\n     \
               link=\"&#x1b;[2J\x1b[31mx\"/><g\x10pu/></g\x10pu></system>"[..],
        );
        let pci = &doc.elements[1];
        assert_eq!(pci.attr("busid"), Some("0000:17:00.0"));
        assert_eq!(pci.attr("class"), Some("0x0604"));
        assert_eq!(pci.attr("link"), Some("x"));
        assert!(!pci.text.contains(|c: char| c.is_control() && c != '\n'), "{:?}", pci.text);
        assert!(pci.text.contains('\n'), "line breaks of the tag are kept: {:?}", pci.text);
        assert_eq!(doc.elements[2].name, "gpu");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let doc = parse_xml(
            &b"<system>\n<!-- \xa9 Latin-1 -->\n<cpu a=\"\xff\xfe\"/>\n<cpu b=\"\xc3\"/></system>\xe2\x82"[..],
        );
        assert!(!doc.truncated, "{:?}", doc.warnings);
        assert_eq!(doc.elements.len(), 3);
        assert_eq!(doc.elements[1].attr("a"), Some("??"));
        assert_eq!(doc.elements[2].attr("b"), Some("?"));
        assert_eq!(doc.elements[2].line, 4);
        assert_eq!(doc.warnings, [InputWarning::at(2, "6 bytes of invalid UTF-8 read as '?'")]);
        // A multi-byte character split across chunks is kept whole.
        let mut text = format!("<system a=\"{}", "x".repeat(CHUNK - 12));
        text.push_str("\u{e9}\u{e9}\"/>");
        let doc = parse_xml(std::io::BufReader::with_capacity(CHUNK, text.as_bytes()));
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
        assert!(doc.elements[0].attr("a").is_some_and(|v| v.ends_with("\u{e9}\u{e9}")));
    }
}
