//! Which inputs to read, and opening them with transparent decompression.
//!
//! Job logs arrive as a mix of files, directories (one file per rank, `NCCL_DEBUG_FILE=%h.%p`),
//! compressed archives pulled from S3 and stdin. This module turns the user's arguments into an
//! ordered list of inputs and opens each as a plain byte stream.
use std::collections::HashSet;
use std::fs;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    Stdin,
    File(PathBuf),
    /// Bytes already in memory (tests, fuzzing, embedding): the same pipeline as a file.
    Bytes(std::sync::Arc<[u8]>),
}

/// One input to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// The path as the user gave it, or as found under a directory they gave; `-` for stdin.
    pub display: String,
    pub source: InputSource,
}

impl InputSpec {
    /// Bytes this input holds as stored (a compressed file's compressed size; 0 for stdin and
    /// for a file that cannot be read): the denominator of progress bars.
    pub fn stored_size(&self) -> u64 {
        match &self.source {
            InputSource::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            InputSource::Bytes(b) => b.len() as u64,
            InputSource::Stdin => 0,
        }
    }
}

/// A path that could not be (fully) expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathProblem {
    pub path: String,
    pub message: String,
    /// A path the user named that does not exist or cannot be inspected: the CLI exits 2.
    /// Problems found while walking a directory are not fatal: the rest is still read.
    pub fatal: bool,
}

/// Expands the user's paths into inputs, in order.
///
/// Files are taken as given (any kind, so `<(zcat x.gz)` works); directories are walked
/// recursively with entries sorted by name, skipping hidden entries (`.git`, editor swap files)
/// and anything that is not a regular file or directory; `-` is stdin.
pub fn expand_paths(paths: &[PathBuf]) -> (Vec<InputSpec>, Vec<PathProblem>) {
    let mut specs = Vec::new();
    let mut problems = Vec::new();
    let mut visited = HashSet::new();
    for path in paths {
        let display = path.to_string_lossy().into_owned();
        if path.as_os_str() == "-" {
            specs.push(InputSpec { display, source: InputSource::Stdin });
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                walk_dir(path, &mut visited, &mut specs, &mut problems);
            }
            Ok(_) => specs.push(InputSpec { display, source: InputSource::File(path.clone()) }),
            Err(e) => {
                let message = if e.kind() == io::ErrorKind::NotFound {
                    "no such file or directory".to_owned()
                } else {
                    e.to_string()
                };
                problems.push(PathProblem { path: display, message, fatal: true });
            }
        }
    }
    (specs, problems)
}

fn walk_dir(
    dir: &Path,
    visited: &mut HashSet<PathBuf>,
    specs: &mut Vec<InputSpec>,
    problems: &mut Vec<PathProblem>,
) {
    let display = || dir.to_string_lossy().into_owned();
    let problem = |message: String| PathProblem { path: display(), message, fatal: false };
    // Symlinked directories can form loops (`logs/latest -> ..`) or reach the same directory
    // twice; canonical paths catch both, so nothing is read twice and the walk ends.
    match fs::canonicalize(dir) {
        Ok(canonical) => {
            if !visited.insert(canonical) {
                problems.push(problem(
                    "directory already visited (symlink loop or duplicate), skipped".to_owned(),
                ));
                return;
            }
        }
        Err(e) => {
            problems.push(problem(format!("cannot resolve directory: {e}")));
            return;
        }
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(problem(format!("cannot read directory: {e}")));
            return;
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => names.push(entry.file_name()),
            Err(e) => problems.push(problem(format!("cannot read directory entry: {e}"))),
        }
    }
    names.sort();
    for name in names {
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = dir.join(&name);
        let path_display = path.to_string_lossy().into_owned();
        // `metadata` follows symlinks: a link to a log is read, a dangling one is reported.
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk_dir(&path, visited, specs, problems),
            Ok(meta) if meta.is_file() => {
                specs.push(InputSpec { display: path_display, source: InputSource::File(path) })
            }
            // FIFOs, sockets, devices inside a log directory would block or never end.
            Ok(_) => problems.push(PathProblem {
                path: path_display,
                message: "not a regular file, skipped".to_owned(),
                fatal: false,
            }),
            Err(e) => problems.push(PathProblem {
                path: path_display,
                message: format!("cannot read: {e}"),
                fatal: false,
            }),
        }
    }
}

/// A byte stream that can also seek: a regular file or bytes in memory.
pub(crate) trait ReadSeek: Read + io::Seek + Send {}
impl<T: Read + io::Seek + Send> ReadSeek for T {}

/// The input as stored, when it is a regular file or bytes in memory (not stdin, a FIFO or a
/// device), with its size: what can be read in pieces from any offset.
pub(crate) fn open_stored(spec: &InputSpec) -> Option<io::Result<(Box<dyn ReadSeek>, u64)>> {
    match &spec.source {
        InputSource::Stdin => None,
        InputSource::File(path) => {
            let file = match fs::File::open(path) {
                Ok(file) => file,
                Err(e) => return Some(Err(e)),
            };
            match file.metadata() {
                Ok(meta) if meta.is_file() => Some(Ok((Box::new(file), meta.len()))),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        }
        InputSource::Bytes(bytes) => Some(Ok((Box::new(Cursor::new(bytes.clone())), bytes.len() as u64))),
    }
}

/// Whether an input starting with `head` is read as it is stored: not compressed, not UTF-16
/// with a byte-order mark (so byte offsets in it are offsets in the text).
pub(crate) fn is_stored_as_text(head: &[u8]) -> bool {
    !(head.starts_with(GZIP_MAGIC)
        || head.starts_with(ZSTD_MAGIC)
        || head.starts_with(&[0xff, 0xfe])
        || head.starts_with(&[0xfe, 0xff]))
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Opens an input as a stream of its (decompressed) bytes.
///
/// gzip (also multi-member, as `cat a.gz b.gz` and `pigz` produce) and zstd are recognised by
/// their magic bytes, not by the file name: logs are often renamed or piped. UTF-16 text with a
/// byte-order mark (what Windows PowerShell's `>` writes) is transcoded to UTF-8, so that line
/// numbers and the text shown are those of the file.
pub fn open(spec: &InputSpec) -> io::Result<Box<dyn Read + Send>> {
    open_as_stored(spec).map(|(reader, _)| reader)
}

/// [`open`], and whether the stream is the input's bytes as stored in a regular file or in
/// memory (not a pipe, not decompressed, not transcoded from UTF-16 with a byte-order mark):
/// then an offset in the stream can be read again later ([`crate::read_lines_at`]).
pub(crate) fn open_as_stored(spec: &InputSpec) -> io::Result<(Box<dyn Read + Send>, bool)> {
    let (raw, regular): (Box<dyn Read + Send>, bool) = match &spec.source {
        InputSource::Stdin => (Box::new(io::stdin()), false),
        InputSource::File(path) => {
            let file = fs::File::open(path)?;
            let regular = file.metadata().is_ok_and(|m| m.is_file());
            (Box::new(file), regular)
        }
        InputSource::Bytes(bytes) => (Box::new(Cursor::new(bytes.clone())), true),
    };
    let (magic, reader) = peek(raw, 4)?;
    let as_stored = regular && is_stored_as_text(&magic);
    Ok((decode_utf16_bom(decompress_peeked(&magic, reader)?)?, as_stored))
}

/// Wraps `raw` in the decompressor its first bytes call for.
pub fn decompress(raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let (magic, reader) = peek(raw, 4)?;
    decompress_peeked(&magic, reader)
}

/// [`decompress`] of a stream whose first bytes, `magic`, have been peeked (and are still in it).
fn decompress_peeked(magic: &[u8], reader: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    Ok(if magic.starts_with(GZIP_MAGIC) {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else if magic.starts_with(ZSTD_MAGIC) {
        Box::new(zstd::stream::read::Decoder::new(reader)?)
    } else {
        reader
    })
}

/// Transcodes UTF-16 with a BOM to UTF-8 (dropping the BOM); anything else passes through.
fn decode_utf16_bom(raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let (bom, reader) = peek(raw, 2)?;
    Ok(match bom.as_slice() {
        [0xff, 0xfe] => Box::new(Utf16Decoder::new(reader, false)),
        [0xfe, 0xff] => Box::new(Utf16Decoder::new(reader, true)),
        _ => reader,
    })
}

/// Returns up to `n` first bytes of `raw` (fewer only at EOF) and a reader that still yields
/// them: the decision what to wrap the stream in needs them, the wrapper too.
fn peek(raw: Box<dyn Read + Send>, n: usize) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut reader = BufReader::with_capacity(64 * 1024, raw);
    let first = loop {
        match reader.fill_buf() {
            Ok(buf) => break buf[..buf.len().min(n)].to_owned(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    if first.len() == n || first.is_empty() {
        return Ok((first, Box::new(reader)));
    }
    // A pipe can deliver fewer bytes than asked in one read: take them off the buffer, top up
    // to `n` or EOF, and put them back in front of the rest.
    let mut taken = Vec::with_capacity(n);
    while taken.len() < n {
        let mut chunk = [0u8; 8];
        let want = (n - taken.len()).min(chunk.len());
        match reader.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(k) => taken.extend_from_slice(&chunk[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((taken.clone(), Box::new(Cursor::new(taken).chain(reader))))
}

/// Streaming UTF-16 (LE or BE) to UTF-8. A BOM as first unit is dropped; unpaired surrogates
/// and a trailing odd byte become U+FFFD, as `String::from_utf16_lossy` would.
pub(crate) struct Utf16Decoder<R> {
    inner: R,
    big_endian: bool,
    input: Vec<u8>,
    /// Undecoded bytes of `input` (an odd trailing byte waits for its partner).
    in_len: usize,
    output: Vec<u8>,
    out_pos: usize,
    high_surrogate: Option<u16>,
    bom_pending: bool,
    eof: bool,
}

impl<R: Read> Utf16Decoder<R> {
    pub(crate) fn new(inner: R, big_endian: bool) -> Self {
        Self {
            inner,
            big_endian,
            input: vec![0; 32 * 1024],
            in_len: 0,
            output: Vec::with_capacity(48 * 1024),
            out_pos: 0,
            high_surrogate: None,
            bom_pending: true,
            eof: false,
        }
    }

    fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.output.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    fn unit(&mut self, u: u16) {
        if std::mem::take(&mut self.bom_pending) && u == 0xfeff {
            return;
        }
        match (self.high_surrogate.take(), u) {
            (Some(hi), 0xdc00..=0xdfff) => {
                let c = 0x10000 + ((u32::from(hi) - 0xd800) << 10) + (u32::from(u) - 0xdc00);
                self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (hi, _) => {
                if hi.is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                match u {
                    0xd800..=0xdbff => self.high_surrogate = Some(u),
                    0xdc00..=0xdfff => self.push(char::REPLACEMENT_CHARACTER),
                    _ => self.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER)),
                }
            }
        }
    }

    /// Reads and decodes until some output exists or the input ends.
    fn refill(&mut self) -> io::Result<()> {
        self.output.clear();
        self.out_pos = 0;
        while self.output.is_empty() && !self.eof {
            let n = match self.inner.read(&mut self.input[self.in_len..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                if self.high_surrogate.take().is_some() || self.in_len % 2 == 1 {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                break;
            }
            self.in_len += n;
            let whole = self.in_len & !1;
            for i in (0..whole).step_by(2) {
                let pair = [self.input[i], self.input[i + 1]];
                let u = if self.big_endian { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) };
                self.unit(u);
            }
            self.input.copy_within(whole..self.in_len, 0);
            self.in_len -= whole;
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.output.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.output.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.output[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_spec(path: &Path) -> InputSpec {
        InputSpec { display: path.to_string_lossy().into_owned(), source: InputSource::File(path.to_owned()) }
    }

    fn read_all(spec: &InputSpec) -> Vec<u8> {
        let mut out = Vec::new();
        open(spec).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_gzip_multigzip_and_zstd_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"host:1:1 [0] NCCL INFO hello\n";

        let plain = dir.path().join("plain.gz"); // misleading name on purpose
        fs::write(&plain, text).unwrap();
        assert_eq!(read_all(&file_spec(&plain)), text);

        let gz = dir.path().join("log.txt");
        let mut two = gzip(b"first\n");
        two.extend_from_slice(&gzip(b"second\n"));
        fs::write(&gz, &two).unwrap();
        assert_eq!(read_all(&file_spec(&gz)), b"first\nsecond\n");

        let zst = dir.path().join("log");
        fs::write(&zst, zstd::encode_all(&text[..], 3).unwrap()).unwrap();
        assert_eq!(read_all(&file_spec(&zst)), text);

        for tiny in [&b""[..], b"a", b"ab", b"\x1f", b"\x1f\x8b"] {
            let p = dir.path().join("tiny");
            fs::write(&p, tiny).unwrap();
            let spec = file_spec(&p);
            let mut out = Vec::new();
            // A truncated gzip header is an error on read, never a panic.
            if let Ok(mut r) = open(&spec) {
                let _ = r.read_to_end(&mut out);
            }
            if !tiny.starts_with(b"\x1f") {
                assert_eq!(out, tiny);
            }
        }
    }

    #[test]
    fn magic_split_across_short_reads() {
        /// Delivers one byte per read, like a slow pipe.
        struct Trickle(Vec<u8>, usize);
        impl Read for Trickle {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.1 >= self.0.len() || out.is_empty() {
                    return Ok(0);
                }
                out[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            }
        }
        let data = gzip(b"through a pipe\n");
        let mut out = Vec::new();
        decompress(Box::new(Trickle(data, 0))).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, b"through a pipe\n");
        // A UTF-16 BOM split the same way.
        let mut bom = vec![0xff, 0xfe];
        bom.extend("hi\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        let mut out = Vec::new();
        decode_utf16_bom(Box::new(Trickle(bom, 0))).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hi\r\n");
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian { vec![0xfe, 0xff] } else { vec![0xff, 0xfe] };
        for u in text.encode_utf16() {
            out.extend_from_slice(&if big_endian { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    #[test]
    fn utf16_with_bom_is_transcoded() {
        let text = "host:1:2 [0] NCCL INFO caf\u{e9} \u{1f680} \u{4e2d}\r\nsecond\r\n";
        for be in [false, true] {
            let mut out = String::new();
            decode_utf16_bom(Box::new(Cursor::new(utf16(text, be))))
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
        // Unpaired surrogates and an odd trailing byte.
        let bad = vec![0xff, 0xfe, b'a', 0, 0x00, 0xd8, b'b', 0, 0x00, 0xdc, b'c'];
        let mut out = String::new();
        decode_utf16_bom(Box::new(Cursor::new(bad))).unwrap().read_to_string(&mut out).unwrap();
        assert_eq!(out, "a\u{fffd}b\u{fffd}\u{fffd}");
        // Gzipped UTF-16 through `open`.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ps.log");
        fs::write(&p, gzip(&utf16("x\r\n", false))).unwrap();
        assert_eq!(read_all(&file_spec(&p)), b"x\r\n");
    }

    #[test]
    fn missing_file_is_an_open_error() {
        let spec = file_spec(Path::new("/nonexistent/ncclscope/x.log"));
        assert!(open(&spec).is_err());
    }

    #[test]
    fn expand_sorted_recursive_hidden_skipped_and_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/sub")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("b/sub/z.log"), "z").unwrap();
        fs::write(root.join("b/a.log"), "a").unwrap();
        fs::write(root.join("a.log"), "a").unwrap();
        fs::write(root.join(".hidden.log"), "h").unwrap();
        fs::write(root.join(".git/config"), "g").unwrap();
        let single = root.join("b/a.log");

        let (specs, problems) = expand_paths(&[root.to_owned(), PathBuf::from("-"), single.clone()]);
        assert!(problems.is_empty(), "{problems:?}");
        let shown: Vec<_> = specs.iter().map(|s| s.display.clone()).collect();
        let r = root.to_string_lossy();
        assert_eq!(
            shown,
            [
                format!("{r}/a.log"),
                format!("{r}/b/a.log"),
                format!("{r}/b/sub/z.log"),
                "-".to_owned(),
                single.to_string_lossy().into_owned(),
            ]
        );
        assert_eq!(specs[3].source, InputSource::Stdin);
    }

    #[test]
    fn missing_top_level_path_is_fatal() {
        let (specs, problems) = expand_paths(&[PathBuf::from("/nonexistent/ncclscope/dir")]);
        assert!(specs.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].fatal);
        assert_eq!(problems[0].message, "no such file or directory");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_and_dangling_links_are_not_fatal() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("logs")).unwrap();
        fs::write(root.join("logs/rank0.log"), "x").unwrap();
        symlink("..", root.join("logs/up")).unwrap();
        symlink(root.join("logs"), root.join("logs/self")).unwrap();
        symlink(root.join("missing"), root.join("logs/dangling.log")).unwrap();

        let (specs, problems) = expand_paths(&[root.join("logs")]);
        let shown: Vec<_> = specs.iter().map(|s| s.display.clone()).collect();
        assert_eq!(shown, [format!("{}/logs/rank0.log", root.to_string_lossy())]);
        assert!(problems.iter().all(|p| !p.fatal), "{problems:?}");
        // dangling.log, self (loop) and up/logs (loop) are reported.
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_directory_is_not_fatal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::write(dir.path().join("ok.log"), "x").unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let (specs, problems) = expand_paths(&[dir.path().to_owned()]);
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(specs.len(), 1);
        // Root can read anything; then there is no problem to report.
        assert!(problems.iter().all(|p| !p.fatal));
    }
}
