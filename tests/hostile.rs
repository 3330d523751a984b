//! Hostile and broken inputs (issue 7): truncation at every byte, huge and line-less inputs,
//! NULs, bad encodings, odd line endings, empty and unreadable files, symlink loops, stdin that
//! closes late, hostile XML, out-of-range numbers and escape-sequence injection. Each case runs
//! end to end through the binary unless only the library can observe the property (truncation
//! loops, record-level comparisons), and every output it produces is checked: no panic, JSON
//! that parses, no control byte a terminal would act on.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ncclscope_analyzer::report::{json, markdown, text};
use ncclscope_analyzer::{analyze, Analysis, Options};
use ncclscope_parser::input::InputSource;
use ncclscope_parser::{expand_paths, scan_input, InputId, InputSpec, Position, Record, RecordSink};

// ---------------------------------------------------------------------------------------------
// Helpers

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ncclscope"));
    c.current_dir(root());
    c.env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn run_paths(args: &[&str], paths: &[&Path]) -> Output {
    bin().args(args).args(paths).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The run ended normally (0 or 1), not by a panic (101) or a signal.
fn assert_ok(o: &Output, what: &str) {
    assert!(matches!(o.status.code(), Some(0 | 1)), "{what}: status {:?}\nstderr: {}", o.status, stderr(o));
}

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", stdout(o)))
}

/// No byte a terminal would act on: C0 controls other than TAB/LF, DEL, and C1 controls in
/// their UTF-8 form (`C2 80`–`C2 9F`: 8-bit CSI/OSC for terminals that honour them).
fn assert_inert(bytes: &[u8], what: &str) {
    for (i, w) in bytes.windows(2).enumerate() {
        if w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]) {
            panic!("{what}: C1 control at byte {i}: {}", String::from_utf8_lossy(bytes));
        }
    }
    if let Some(i) = bytes.iter().position(|&b| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f) {
        panic!("{what}: control byte {:#04x} at {i}: {}", bytes[i], String::from_utf8_lossy(bytes));
    }
}

/// Runs `report` in all three formats on `paths`; checks each ends normally, is inert and (JSON)
/// parses. Returns the JSON report.
fn report_all_formats(paths: &[&Path]) -> serde_json::Value {
    for fmt in ["text", "markdown"] {
        let o = run_paths(&["report", "--format", fmt], paths);
        assert_ok(&o, fmt);
        assert_inert(&o.stdout, fmt);
        assert_inert(&o.stderr, fmt);
    }
    let o = run_paths(&["report", "--format", "json"], paths);
    assert_ok(&o, "json");
    assert_inert(&o.stdout, "json");
    json_of(&o)
}

fn warnings_of(v: &serde_json::Value, input: usize) -> Vec<String> {
    v["inputs"][input]["warnings"]
        .as_array()
        .map(|ws| ws.iter().map(|w| w["message"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

fn rules_of(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn file_spec(path: &Path) -> InputSpec {
    InputSpec { display: path.to_string_lossy().into_owned(), source: InputSource::File(path.to_owned()) }
}

fn analyze_paths(paths: &[PathBuf]) -> Analysis {
    let (specs, problems) = expand_paths(paths);
    analyze(&specs, &problems, &Options::default())
}

/// Every report a user can ask for, rendered: a panic anywhere fails the test.
fn render_everything(a: &Analysis) {
    let j = json::render(a);
    serde_json::from_str::<serde_json::Value>(&j).unwrap_or_else(|e| panic!("invalid JSON ({e}): {j}"));
    let t = text::render(a, text::Style { color: false });
    assert_inert(t.as_bytes(), "text");
    let _ = markdown::render(a);
    let _ = ncclscope_analyzer::report::topo::render_text(a);
    let _ = ncclscope_analyzer::report::topo::render_json(a);
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(root().join("samples").join(name)).expect("sample")
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    if dir.join("LABELS.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIP: {} is absent; the corpus part of this test is not run", dir.display());
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation at every byte offset

/// What the parser delivered for one input: (position, sanitized text, record type).
#[derive(Default)]
struct Lines(Vec<(Position, String, &'static str)>, Vec<ncclscope_parser::topo::XmlDoc>);

impl RecordSink for Lines {
    fn record(&mut self, _input: InputId, pos: Position, text: &str, record: &Record<'_>) {
        let kind = match record {
            Record::Nccl(_) => "nccl",
            Record::Tests(_) => "tests",
            Record::Ucx(_) => "ucx",
            Record::Other => "other",
        };
        self.0.push((pos, text.to_owned(), kind));
    }
    fn xml(&mut self, _input: InputId, doc: &ncclscope_parser::topo::XmlDoc) {
        self.1.push(doc.clone());
    }
}

/// Lines the line reader must deliver for `data`: `\n`, `\r\n` and lone `\r` end a line; a
/// last line without terminator counts.
fn expected_lines(data: &[u8]) -> u64 {
    let mut n = 0;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' => {
                n += 1;
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => n += 1,
            _ => {}
        }
        i += 1;
    }
    if data.last().is_some_and(|&b| b != b'\n' && b != b'\r') {
        n += 1;
    }
    n
}

/// Cuts `data` at every `step`-th offset (and at every offset of the first and last 64 bytes) and
/// checks, for each prefix: no panic in the parser, the analyzer or any report; the line count is
/// the prefix's; every line that was complete before the cut is delivered exactly as in the
/// whole file (same position, text and — when the prefix sniffs as the same kind — record type);
/// for XML, every element that parsed is the whole file's element.
fn truncation_loop(name: &str, data: &[u8], step: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cut.log");
    std::fs::write(&path, data).expect("write");
    let mut full = Lines::default();
    let full_summary = scan_input(InputId(0), &file_spec(&path), &mut full);
    let len = data.len();
    let offsets = (0..=len).filter(|&k| k % step == 0 || k < 64 || k + 64 > len);
    for k in offsets {
        let prefix = &data[..k];
        std::fs::write(&path, prefix).expect("write");
        let mut got = Lines::default();
        let summary = scan_input(InputId(0), &file_spec(&path), &mut got);
        let at = format!("{name} cut at {k}");
        assert!(summary.error.is_none(), "{at}: {summary:?}");
        assert_eq!(summary.bytes, k as u64, "{at}");
        assert_eq!(summary.lines, expected_lines(prefix), "{at}");
        if summary.kind.is_xml() {
            if let (Some(doc), Some(whole)) = (got.1.first(), full.1.first()) {
                for (i, e) in doc.elements.iter().enumerate() {
                    let w = &whole.elements[i];
                    assert_eq!(
                        (&e.name, &e.attrs, e.line, e.offset, e.parent),
                        (&w.name, &w.attrs, w.line, w.offset, w.parent),
                        "{at}: element {i}"
                    );
                }
                assert!(doc.truncated || k == len || doc.elements.len() == whole.elements.len(), "{at}");
            }
        } else {
            assert_eq!(got.0.len() as u64, summary.lines, "{at}");
            let complete = got.0.len().saturating_sub(1);
            for (i, line) in got.0.iter().enumerate() {
                let Some(whole) = full.0.get(i) else {
                    // The whole file was parsed as XML: no per-line records to compare with.
                    break;
                };
                assert_eq!(line.0, whole.0, "{at}: position of line {}", i + 1);
                if i < complete {
                    assert_eq!(line.1, whole.1, "{at}: text of line {}", i + 1);
                    if summary.kind == full_summary.kind {
                        assert_eq!(line.2, whole.2, "{at}: record type of line {}", i + 1);
                    }
                }
            }
        }
        // The whole pipeline on the prefix: analyzer, rules and every report.
        let a = analyze_paths(std::slice::from_ref(&path));
        assert_eq!(a.inputs[0].lines, summary.lines, "{at}");
        render_everything(&a);
    }
}

/// A small input that touches every line parser: NCCL INFO/WARN with launcher prefixes, an
/// nccl-tests header and table, UCX lines, an nvidia-smi matrix, CRLF and a lone CR, a multi-byte
/// character and an escape sequence (so cuts land inside both).
const KITCHEN: &str = "[1,0]<stdout>:node1:100:100 [0] NCCL INFO NCCL version 2.21.5+cuda12.4\n\
node1:100:100 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>\r\n\
node1:100:100 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa (found 32 nics)\r\
node1:100:100 [0] NCCL INFO comm 0x5a1b rank 0 nRanks 2 nNodes 2 localRanks 1 localRank 0 MNNVL 0\n\
node1:100:100 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[0] [send] via NET/Socket/0\n\
node2:200:200 [0] NCCL INFO comm 0x5a1b rank 1 nranks 2 cudaDev 0 nvmlDev 0 busId 53000 commId 0x77 - Init COMPLETE\n\
\x1b[31mnode2:200:200 [0] misc/socket.cc:50 NCCL WARN caf\u{e9} \u{1f680} Net : Connection closed\x1b[0m\n\
# nThread 1 nGpus 1 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5 iters: 20\n\
#  Rank  0 Group  0 Pid    100 on      node1 device  0 [0x53] NVIDIA H100 80GB HBM3\n\
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n\
  8589934592    2147483648     float     sum      -1   740531   11.60   11.60      0   740123   11.61   11.61      0\n\
# Avg bus bandwidth    : 11.6045\n\
[1716920651.160128] [gpu1:259:0]     ucp_worker.c:1783 UCX  INFO ep_cfg[4]: tag(tcp/ib0 rc_mlx5/mlx5_0:1)\n\
[1716920651.2] [gpu1:259:0]    ucp_ep.c:1500 UCX  ERROR Transport retry count exceeded on mlx5_0:1/IB\n\
\tGPU0\tGPU1\tNIC0\tCPU Affinity\n\
GPU0\t X \tNV18\tPIX\t0-47\n\
GPU1\tNV18\t X \tSYS\t48-95\n\
NIC0\tPIX\tSYS\t X \n";

const TOPO_XML: &str = "<system version=\"1\">\n  <cpu numaid=\"0\" affinity=\"0000ffff\" arch=\"x86_64\" vendor=\"GenuineIntel\" familyid=\"6\" modelid=\"143\">\n    <pci busid=\"0000:17:00.0\" class=\"0x060400\" vendor=\"0x1000\" device=\"0xc030\" link_speed=\"32.0 GT/s PCIe\" link_width=\"16\">\n      <pci busid=\"0000:19:00.0\" class=\"0x030200\" vendor=\"0x10de\" device=\"0x2330\" link_speed=\"32.0 GT/s PCIe\" link_width=\"16\">\n        <gpu dev=\"0\" sm=\"90\" rank=\"0\" gdr=\"1\">\n          <nvlink target=\"0000:05:00.0\" count=\"18\" tclass=\"0x068000\"/>\n        </gpu>\n      </pci>\n      <pci busid=\"0000:1a:00.0\" class=\"0x020700\" link_speed=\"32.0 GT/s PCIe\" link_width=\"16\">\n        <nic>\n          <net name=\"rdmap26s0\" dev=\"0\" speed=\"100000\" port=\"1\" latency=\"0\" guid=\"0x0\" maxconn=\"65536\" gdr=\"1\"/>\n        </nic>\n      </pci>\n    </pci>\n  </cpu>\n</system>\n";

#[test]
fn truncated_at_every_offset_of_small_inputs() {
    let t = Instant::now();
    truncation_loop("kitchen", KITCHEN.as_bytes(), 1);
    truncation_loop("topo.xml", TOPO_XML.as_bytes(), 1);
    truncation_loop("stuck rank", &sample("stuck-init/nccl.gpu-node-b.5804.log"), 1);
    // A few small real files, one per format, cut at every byte.
    if let Some(dir) = corpus_dir() {
        for file in [
            "nccl/058-2018-nccltests-warn-connection-closed-unhandled-system-error.log",
            "nccl/071-pdsh-prefix-ib-collective-mismatch-2.14.3.log",
            "topo/041-rccl-issue1406-graphdump-1gpu-1nic.xml",
            "ucx/049-ucx3511-wireup-ep-cfg-semicolon-1.6dev.log",
        ] {
            match std::fs::read(dir.join(file)) {
                Ok(data) => truncation_loop(file, &data, 1),
                Err(e) => eprintln!("SKIP {file}: {e}"),
            }
        }
    }
    eprintln!("every-offset truncation: {:?}", t.elapsed());
}

#[test]
fn truncated_at_sampled_offsets_of_samples_and_corpus() {
    let t = Instant::now();
    // Prime steps so cuts land at every position within a line across the file.
    truncation_loop("socket sample", &sample("p5-socket-fallback.log"), 211);
    if let Some(dir) = corpus_dir() {
        for (file, step) in [
            ("nccl/001-eks-g4dn-efa-nccltests-mpirun.log", 97),
            ("nccl/076-roce-cluster-stale-aws-ofi-plugin-verbs-rxm-fallback-ib-2.27.5.log", 193),
            ("ucx/001-ucx9908-tcp-ib0-docker0-ep-cfg.log", 37),
            ("topo/008-aws-p5-48xl-topofile-2026.xml", 89),
            ("topo/028-gb300-nvl72-2tray-mnnvl-graph.xml", 89),
            ("topo/032-hgx-h100-8gpu-8cx7-nvidia-smi-topo.txt", 13),
        ] {
            let path = dir.join(file);
            match std::fs::read(&path) {
                Ok(data) => truncation_loop(file, &data, step),
                Err(e) => eprintln!("SKIP {file}: {e}"),
            }
        }
    }
    eprintln!("sampled truncation: {:?}", t.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Size: long lines, line-less inputs, many files

const NCCL_LINE: &str = "node1:100:100 [0] NCCL INFO Using network Socket";

#[test]
fn ten_megabyte_single_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("long.log");
    let mut data = format!("{NCCL_LINE}\n{NCCL_LINE} ").into_bytes();
    data.resize(data.len() + 10 * 1024 * 1024, b'y');
    data.extend_from_slice(b"\nnode2:200:200 [0] NCCL INFO Using network Socket\n");
    std::fs::write(&p, &data).expect("write");
    let v = report_all_formats(&[&p]);
    assert_eq!(v["inputs"][0]["lines"], 3);
    assert_eq!(v["inputs"][0]["bytes"], data.len() as u64);
    assert_eq!(warnings_of(&v, 0), ["line longer than 1 MiB, cut"]);
    assert_eq!(v["inputs"][0]["warnings"][0]["line"], 2);
    // The cut line is still a record (its first MiB), the line after it too.
    assert_eq!(v["job"]["hosts"].as_array().map(Vec::len), Some(2), "{}", v["job"]);
}

/// VmHWM (peak resident set) of a live process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Streams `total` bytes of `byte` with no newline into `report --format json -`, and reads the
/// child's peak RSS once everything but the pipe buffer has been consumed, before closing stdin.
fn stream_lineless(total: usize) -> (Option<u64>, serde_json::Value) {
    let mut child = bin()
        .args(["report", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let chunk = vec![b'x'; 1 << 20];
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len());
        stdin.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    stdin.flush().expect("flush");
    // The last write returned, so at most a pipe buffer (64 KiB) is still unread.
    std::thread::sleep(Duration::from_millis(200));
    let hwm = vm_hwm_kib(child.id());
    drop(stdin);
    let o = child.wait_with_output().expect("wait");
    assert_ok(&o, "line-less stdin");
    (hwm, json_of(&o))
}

#[test]
fn line_less_input_far_beyond_the_line_cap_has_bounded_memory() {
    let (small_hwm, _) = stream_lineless(1024);
    let total = 64 << 20;
    let t = Instant::now();
    let (big_hwm, v) = stream_lineless(total);
    eprintln!(
        "64 MiB line-less input: {:?}, VmHWM {big_hwm:?} KiB (1 KiB input: {small_hwm:?} KiB)",
        t.elapsed()
    );
    assert_eq!(v["inputs"][0]["bytes"], total as u64);
    assert_eq!(v["inputs"][0]["lines"], 1);
    assert_eq!(warnings_of(&v, 0), ["line longer than 1 MiB, cut"]);
    match (small_hwm, big_hwm) {
        // The head (1 MiB), the line buffer (1 MiB) and a cut line's copies: a few MiB over the
        // baseline, never the input's 64 MiB.
        (Some(small), Some(big)) => {
            assert!(big < small + 16 * 1024, "peak RSS {big} KiB vs {small} KiB for a tiny input")
        }
        _ => eprintln!("SKIP memory bound: /proc/<pid>/status VmHWM not available here"),
    }

    // The same from a file.
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("blob.log");
    std::fs::write(&p, vec![b'x'; total]).expect("write");
    let o = run_paths(&["report", "--format", "json"], &[&p]);
    assert_ok(&o, "line-less file");
    let v = json_of(&o);
    assert_eq!(warnings_of(&v, 0), ["line longer than 1 MiB, cut"]);
}

#[test]
fn directory_of_ten_thousand_empty_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..10_000 {
        std::fs::write(dir.path().join(format!("rank{i:05}.log")), b"").expect("write");
    }
    std::fs::write(dir.path().join("rank99999.log"), format!("{NCCL_LINE}\n")).expect("write");
    let t = Instant::now();
    let o = run_paths(&["report", "--format", "json"], &[dir.path()]);
    eprintln!("10 000 empty files: {:?}", t.elapsed());
    assert_ok(&o, "10k files");
    let v = json_of(&o);
    assert_eq!(v["inputs"].as_array().map(Vec::len), Some(10_001));
    assert_eq!(v["inputs"][10_000]["lines"], 1);
    let o = run_paths(&["report"], &[dir.path()]);
    assert_ok(&o, "10k files text");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("empty.log");
    std::fs::write(&p, b"").expect("write");
    let v = report_all_formats(&[&p]);
    assert_eq!(v["inputs"][0]["lines"], 0);
    assert_eq!(v["inputs"][0]["kind"], "unknown");
    let o = run_paths(&["topo"], &[&p]);
    assert_ok(&o, "topo of an empty file");
}

// ---------------------------------------------------------------------------------------------
// Encodings and line endings

/// Two ranks on two hosts on TCP: enough for NET_SOCKET_FALLBACK.
fn socket_log() -> String {
    let mut s = String::new();
    for (host, pid) in [("node1", 100), ("node2", 200)] {
        s.push_str(&format!("{host}:{pid}:{pid} [0] NCCL INFO NCCL version 2.21.5+cuda12.4\n"));
        s.push_str(&format!("{host}:{pid}:{pid} [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0>\n"));
        s.push_str(&format!("{host}:{pid}:{pid} [0] NCCL INFO Using network Socket\n"));
    }
    s.push_str("node1:100:100 [0] NCCL INFO comm 0x5a1b rank 0 nranks 2 cudaDev 0 nvmlDev 0 busId 53000 commId 0x77 - Init COMPLETE\n");
    s.push_str("node2:200:200 [0] NCCL INFO comm 0x5a1b rank 1 nranks 2 cudaDev 0 nvmlDev 0 busId 53000 commId 0x77 - Init COMPLETE\n");
    s
}

fn job_and_rules(v: &serde_json::Value) -> (serde_json::Value, Vec<String>) {
    let mut rules = rules_of(v);
    rules.sort();
    (v["job"].clone(), rules)
}

#[test]
fn line_endings_and_encodings_give_the_same_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = socket_log();
    let write = |name: &str, data: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).expect("write");
        p
    };
    let lf = write("lf.log", log.clone().into_bytes());
    let base = report_all_formats(&[&lf]);
    let (job, rules) = job_and_rules(&base);
    assert!(rules.contains(&"NET_SOCKET_FALLBACK".to_owned()), "{rules:?}");

    let utf16 = |be: bool, bom: bool| -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if be { &[0xfe, 0xff] } else { &[0xff, 0xfe] });
        }
        for u in log.replace('\n', "\r\n").encode_utf16() {
            out.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    };
    let mut nul = log.clone().into_bytes();
    // A crashed writer leaves a run of NULs mid-file (preallocated blocks never written).
    let mid = log.find("node2").expect("node2");
    nul.splice(mid..mid, [0u8; 3].iter().copied().chain(b"garbage\n".iter().copied()));
    let mut nul_in_line = log.clone().into_bytes();
    nul_in_line.splice(5..5, [0u8; 2]);
    let mut latin1 = b"caf\xe9 \xff\xfe application output\n".to_vec();
    latin1.extend_from_slice(log.as_bytes());
    let cases: Vec<(&str, PathBuf, &[&str])> = vec![
        ("crlf", write("crlf.log", log.replace('\n', "\r\n").into_bytes()), &[]),
        ("cr", write("cr.log", log.replace('\n', "\r").into_bytes()), &[]),
        ("utf16le-bom", write("le.log", utf16(false, true)), &[]),
        ("utf16be-bom", write("be.log", utf16(true, true)), &[]),
        (
            "utf16le-nobom",
            write("le-nobom.log", utf16(false, false)),
            &["UTF-16 text without byte-order mark, transcoded"],
        ),
        ("nul-mid-file", write("nul.log", nul), &["NUL bytes removed from line 4"]),
        ("nul-in-line", write("nul2.log", nul_in_line), &["NUL bytes removed from line 1"]),
        ("invalid-utf8", write("latin1.log", latin1), &["invalid UTF-8 from line 1, decoded lossily"]),
    ];
    for (name, p, expected_warnings) in &cases {
        let v = report_all_formats(&[p]);
        assert_eq!(warnings_of(&v, 0), *expected_warnings, "{name}");
        assert_eq!(v["inputs"][0]["kind"], "nccl-log", "{name}");
        let (j, mut r) = job_and_rules(&v);
        // An input warning is a PARSE_ERROR finding by design; everything else is unchanged.
        if !expected_warnings.is_empty() {
            let at = r.iter().position(|x| x == "PARSE_ERROR");
            assert!(at.is_some(), "{name}: {r:?}");
            r.remove(at.unwrap_or(0));
        }
        assert_eq!(r, rules, "{name}");
        assert_eq!(j["hosts"], job["hosts"], "{name}");
        assert_eq!(j["ranks"], job["ranks"], "{name}");
        assert_eq!(j["communicators"], job["communicators"], "{name}");
        assert_eq!(j["net"], job["net"], "{name}");
    }

    // Mixed encodings across the files of one directory (one rank per file).
    let mixed = tempfile::tempdir().expect("tempdir");
    let (first, second) = log.split_at(log.find("node2").expect("node2"));
    let (second, complete) = second.split_at(second.find("node1:100:100 [0] NCCL INFO comm").expect("comm"));
    std::fs::write(mixed.path().join("a.log"), format!("{first}{complete}").replace('\n', "\r\n"))
        .expect("write");
    let mut le = vec![0xff, 0xfe];
    le.extend(second.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(mixed.path().join("b.log"), le).expect("write");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"\xe9t\xe9 latin-1 line\n").expect("gz");
    std::fs::write(mixed.path().join("c.log.gz"), gz.finish().expect("gz")).expect("write");
    let v = report_all_formats(&[mixed.path()]);
    let (j, r) = job_and_rules(&v);
    let without_parse_error: Vec<_> = r.iter().filter(|x| *x != "PARSE_ERROR").cloned().collect();
    assert_eq!(without_parse_error, rules);
    assert_eq!(j["hosts"], job["hosts"]);
    assert_eq!(j["ranks"], job["ranks"]);
    assert_eq!(warnings_of(&v, 2), ["invalid UTF-8 from line 1, decoded lossily"]);
}

// ---------------------------------------------------------------------------------------------
// Streams and the file system

#[test]
fn stdin_that_closes_late_is_reported_when_it_closes() {
    let mut child = bin()
        .args(["report", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let data = sample("p5-socket-fallback.log");
    let mut stdin = child.stdin.take().expect("stdin");
    let (a, b) = data.split_at(data.len() / 2);
    // A slow writer: half, a pause, a byte at a time for a while, a pause, the rest.
    stdin.write_all(a).expect("write");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    let (trickle, rest) = b.split_at(200);
    for byte in trickle {
        stdin.write_all(std::slice::from_ref(byte)).expect("write");
        stdin.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().expect("try_wait").is_none(), "the report must wait for the end of stdin");
    stdin.write_all(rest).expect("write");
    drop(stdin);
    let o = child.wait_with_output().expect("wait");
    assert_ok(&o, "slow stdin");
    let v = json_of(&o);
    assert_eq!(v["inputs"][0]["lines"], 305);
    assert!(rules_of(&v).contains(&"NET_SOCKET_FALLBACK".to_owned()));
}

/// A FIFO named on the command line is read like stdin (until its writer closes); one inside a
/// directory is skipped, as it may never end.
#[cfg(unix)]
#[test]
fn fifo_named_is_read_and_fifo_in_a_directory_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.log");
    match Command::new("mkfifo").arg(&fifo).status() {
        Ok(s) if s.success() => {}
        _ => {
            eprintln!("SKIP: mkfifo is not available here");
            return;
        }
    }
    std::fs::write(dir.path().join("rank0.log"), socket_log()).expect("write");
    let o = run_paths(&["report", "--format", "json"], &[dir.path()]);
    assert_ok(&o, "dir with a FIFO");
    let v = json_of(&o);
    let msgs: Vec<String> =
        v["inputs"].as_array().expect("inputs").iter().map(|i| i["error"].to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("not a regular file")), "{msgs:?}");

    let child =
        bin().args(["report", "--format", "json"]).arg(&fifo).stdout(Stdio::piped()).spawn().expect("spawn");
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).expect("open FIFO for writing");
    w.write_all(socket_log().as_bytes()).expect("write");
    std::thread::sleep(Duration::from_millis(100));
    drop(w);
    let o = child.wait_with_output().expect("wait");
    assert_ok(&o, "FIFO");
    assert_eq!(json_of(&o)["inputs"][0]["lines"], 8);
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_a_warning_and_the_others_go_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let locked = dir.path().join("a-locked.log");
    std::fs::write(&locked, socket_log()).expect("write");
    std::fs::write(dir.path().join("b-ok.log"), socket_log()).expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::read(&locked).is_ok() {
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        eprintln!("SKIP: running as root (mode 000 is still readable); permission-denied case not run");
        return;
    }
    let v = report_all_formats(&[dir.path()]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = v["inputs"][0]["error"].as_str().unwrap_or("");
    assert!(err.contains("ermission denied"), "{}", v["inputs"]);
    assert_eq!(v["inputs"][1]["lines"], 8);
    assert!(rules_of(&v).contains(&"NET_SOCKET_FALLBACK".to_owned()));
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_directories_end() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("a/b")).expect("mkdir");
    std::fs::write(logs.join("a/b/rank0.log"), socket_log()).expect("write");
    symlink("../..", logs.join("a/b/up")).expect("symlink");
    symlink(&logs, logs.join("a/self")).expect("symlink");
    symlink("loop2", logs.join("loop1")).expect("symlink");
    symlink("loop1", logs.join("loop2")).expect("symlink");
    let t = Instant::now();
    let v = report_all_formats(&[&logs]);
    assert!(t.elapsed() < Duration::from_secs(30));
    let inputs = v["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.iter().filter(|i| i["lines"] == 8).count(), 1, "{inputs:?}");
    assert!(inputs.len() >= 4, "the loops are reported: {inputs:?}");
    assert!(rules_of(&v).contains(&"NET_SOCKET_FALLBACK".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// XML

fn write_tmp(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p
}

/// `report` in every format and `topo` in every format.
fn all_commands(p: &Path) -> serde_json::Value {
    topo_formats(p, &["text", "dot", "json"]);
    report_all_formats(&[p])
}

/// For the large documents (each run parses up to the 200 000-element cap in a debug build):
/// the tree, the JSON report and the text report.
fn big_commands(p: &Path) -> serde_json::Value {
    topo_formats(p, &["text"]);
    let o = run_paths(&["report"], &[p]);
    assert_ok(&o, "report text");
    assert_inert(&o.stdout, "report text");
    let o = run_paths(&["report", "--format", "json"], &[p]);
    assert_ok(&o, "report json");
    json_of(&o)
}

fn topo_formats(p: &Path, formats: &[&str]) {
    for &fmt in formats {
        let o = run_paths(&["topo", "--format", fmt], &[p]);
        assert_ok(&o, fmt);
        assert_inert(&o.stdout, fmt);
        if fmt == "json" {
            json_of(&o);
        }
    }
}

#[test]
fn xml_truncated_and_deeply_nested() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = &TOPO_XML[..TOPO_XML.find("link_width=\"1").expect("attr") + 12];
    let v = all_commands(&write_tmp(dir.path(), "cut.xml", cut.as_bytes()));
    assert_eq!(v["inputs"][0]["kind"], "nccl-topo-xml");
    assert!(!warnings_of(&v, 0).is_empty());

    // 100 000 nested elements of a kind the topology code walks (PCI switches under a CPU).
    let n = 100_000;
    let deep = format!(
        "<system version=\"1\"><cpu numaid=\"0\">{}<gpu dev=\"0\" rank=\"0\"/>{}</cpu></system>\n",
        "<pci busid=\"0000:17:00.0\" class=\"0x060400\">".repeat(n),
        "</pci>".repeat(n)
    );
    let t = Instant::now();
    let p = write_tmp(dir.path(), "deep.xml", deep.as_bytes());
    big_commands(&p);
    topo_formats(&p, &["json", "dot"]);
    // The tree is drawn to a fixed depth (indentation would grow quadratically).
    let tree = stdout(&run_paths(&["topo"], &[&p]));
    assert!(tree.contains("more node(s) deeper than"), "{}", &tree[..tree.len().min(2000)]);
    assert!(tree.len() < 64 * 1024, "{} bytes of tree", tree.len());
    // And unbalanced: never closed.
    let open = format!("<system version=\"1\"><cpu>{}", "<pci>".repeat(n));
    big_commands(&write_tmp(dir.path(), "open.xml", open.as_bytes()));
    eprintln!("100 000-deep XML: {:?}", t.elapsed());
}

#[test]
fn xml_entities_are_never_expanded_nor_fetched() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = write_tmp(dir.path(), "secret.txt", b"TOP-SECRET-CONTENT");
    let mut laughs = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE system [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 { "lol".to_owned() } else { format!("lol{}", i - 1) };
        laughs.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
    }
    laughs.push_str(&format!(
        "<!ENTITY ext SYSTEM \"file://{}\">\n<!ENTITY net SYSTEM \"http://127.0.0.1:{port}/x.dtd\">\n\
         <!ENTITY % pe SYSTEM \"http://127.0.0.1:{port}/pe.dtd\"> %pe;\n]>\n",
        secret.display()
    ));
    laughs.push_str(
        "<system version=\"1\" a=\"&lol9;\" b=\"&ext;\" c=\"&net;\">\n<cpu numaid=\"0\" affinity=\"&lol9;\" arch=\"&ext;\"/>\n&lol9;&ext;&net;\n</system>\n",
    );
    let p = write_tmp(dir.path(), "laughs.xml", laughs.as_bytes());
    let t = Instant::now();
    let v = all_commands(&p);
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(v["inputs"][0]["kind"], "nccl-topo-xml");
    for args in [&["report", "--format", "json"][..], &["topo", "--format", "json"], &["topo"]] {
        let o = run_paths(args, &[&p]);
        let out = stdout(&o);
        assert!(!out.contains("lollollol"), "{args:?}: an entity was expanded");
        assert!(!out.contains("TOP-SECRET"), "{args:?}: an external entity was read");
        assert!(o.stdout.len() < 1 << 20, "{args:?}: output of {} bytes", o.stdout.len());
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something connected to the external entity's URL: {other:?}"),
    }
}

#[test]
fn xml_huge_attributes_and_a_million_siblings() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One attribute over the markup cap (parsing stops), one under it (cut to 64 KiB).
    let huge =
        format!("<system version=\"1\"><cpu numaid=\"0\" affinity=\"{}\"/></system>\n", "f".repeat(10 << 20));
    let v = big_commands(&write_tmp(dir.path(), "huge.xml", huge.as_bytes()));
    assert!(warnings_of(&v, 0).iter().any(|w| w.contains("longer than")), "{:?}", warnings_of(&v, 0));
    let big = format!(
        "<system version=\"1\"><cpu numaid=\"0\" affinity=\"{}\"/></system>\n",
        "f".repeat(512 << 10)
    );
    let v = all_commands(&write_tmp(dir.path(), "big.xml", big.as_bytes()));
    assert!(warnings_of(&v, 0).iter().any(|w| w.contains("cut")), "{:?}", warnings_of(&v, 0));

    let mut many = String::from("<system version=\"1\"><cpu numaid=\"0\">");
    for i in 0..1_000_000u32 {
        many.push_str(&format!("<pci busid=\"0000:{:02x}:{:02x}.0\"/>", (i >> 8) & 0xff, i & 0xff));
    }
    many.push_str("</cpu></system>\n");
    let p = write_tmp(dir.path(), "many.xml", many.as_bytes());
    let t = Instant::now();
    let v = big_commands(&p);
    eprintln!("1 M siblings: {:?}", t.elapsed());
    assert!(
        warnings_of(&v, 0).iter().any(|w| w.contains("XML elements; parsing stopped")),
        "{:?}",
        warnings_of(&v, 0)
    );
}

// ---------------------------------------------------------------------------------------------
// Numbers out of range

const HUGE_NUMBERS: [&str; 6] = [
    "99999999999999999999999999",
    "18446744073709551616",
    "18446744073709551615",
    "4294967296",
    "9223372036854775808",
    "2147483648",
];

/// Replaces every run of ASCII digits with `n`.
fn with_numbers(data: &[u8], n: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 2);
    let mut i = 0;
    while i < data.len() {
        if data[i].is_ascii_digit() {
            while i < data.len() && data[i].is_ascii_digit() {
                i += 1;
            }
            out.extend_from_slice(n.as_bytes());
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn numbers_out_of_range_never_panic_nor_wrap() {
    // Hand-written lines with every number NCCL, nccl-tests and UCX print pushed out of range.
    let lines = "\
host:99999999999999999999:1 [99999999999] NCCL INFO NCCL version 2.99999999999999999999.5+cuda99999999999.4
host:1:1 [0] NCCL INFO cudaDriverVersion 99999999999999999999
host:1:1 [-99999999999999999999] NCCL INFO comm 0x1 rank 99999999999999999999 nRanks 18446744073709551616 nNodes 4294967296 localRanks -1 localRank -9223372036854775809 MNNVL 0
host:1:1 [0] NCCL INFO comm 0x1 rank 4294967295 nranks 4294967296 cudaDev 99999999999 nvmlDev -1 busId fffffffffffffffffffffff commId 0xffffffffffffffffffffffff - Init COMPLETE
host:1:1 [0] NCCL INFO comm 0x1 rank 4294967294 nranks 4294967295 cudaDev 0 busId 0 commId 0x2 - Init COMPLETE
host:1:1 [0] NCCL INFO Channel 99999999999/18446744073709551616 : 0 1 4294967296 99999999999999999999
host:1:1 [0] NCCL INFO Channel 00/0 : 99999999999999999999[99999999999] -> 4294967296[0] [send] via NET/IB/99999999999/GDRDMA
host:1:1 [0] NCCL INFO Trees [0] 99999999999/-99999999999/-1->4294967296->-1 [1] -1/-1/-1->0->18446744073709551616
host:1:1 [0] NCCL INFO Ring 99999999999 : 0 -> 4294967296 -> 1
host:1:1 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa (found 99999999999999999999 nics)
host:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:99999999999999/IB [99999999999]mlx5_1:1/RoCE ; OOB eth0:10.0.0.1<0>
host:1:1 [0] NCCL INFO 99999999999999999999 coll channels, 4294967296 collnet channels, 0 nvls channels, 18446744073709551616 p2p channels, 2 p2p channels per peer
host:1:1 [0] NCCL INFO GPU Direct RDMA Enabled for HCA 99999999999 'mlx5_0'
host:1:1 [0] NCCL INFO NCCL_IB_GID_INDEX set by environment to 99999999999999999999999.
# nThread 99999999999 nGpus 18446744073709551616 minBytes 99999999999999999999999 maxBytes -1 step: 99999999999(factor) warmup iters: 4294967296 iters: 99999999999999
#  Rank 99999999999 Group 4294967296 Pid 99999999999999999999 on host device 99999999999 [0x99999999999999999] NVIDIA H100
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
  99999999999999999999999999    18446744073709551616     float     sum      -1   1e400   inf   nan      99999999999999999999   -0   1e-400   -1e400      -1
  18446744073709551615    4294967296     float     sum      -1   99999999999999999999.9   1e308   1.7976931348623157e308      0   1   2   3      0
# Out of bounds values : 99999999999999999999 FAILED
# Avg bus bandwidth    : 1e999
[99999999999999999999.160128] [gpu1:99999999999999999999:99999999999] ucp_worker.c:99999999999999999999 UCX  INFO ep_cfg[99999999999999999999]: tag(tcp/ib0) am(rc_mlx5/mlx5_0:99999999999999)
[1.2] [gpu1:1:0] ucp_worker.c:1 UCX  INFO   lane[99999999999999999999]: 99999999999:rc_mlx5/mlx5_0:1.0 md[99999999999] -> md[4294967296]/ib/sysdev[255] rma_bw#0 am am_bw#0
# UCT version=1.99999999999999999.0 revision 1
#   max_short: <= 99999999999999999999999
GPU99999999999999999999\t X \tNV99999999999999999999\t0-99999999999999999999
";
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_tmp(dir.path(), "numbers.log", lines.as_bytes());
    report_all_formats(&[&p]);
    let o = run_paths(&["topo", "--format", "json"], &[&p]);
    assert_ok(&o, "topo");
    json_of(&o);

    let xml = "<system version=\"99999999999999999999\"><cpu numaid=\"99999999999999999999\" affinity=\"ffffffffffffffffffffffffffffffffffffff\" familyid=\"-1\" modelid=\"4294967296\">\
<pci busid=\"ffffffffffffffff:ff:ff.f\" class=\"0xfffffffffffffffffff\" link_speed=\"1e400 GT/s\" link_width=\"99999999999999999999\">\
<gpu dev=\"99999999999999999999\" sm=\"-99999999999\" rank=\"18446744073709551616\" gdr=\"99999999999\">\
<nvlink target=\"0000:zz:00.0\" count=\"99999999999999999999\" tclass=\"0x99999999999999999999\"/></gpu></pci>\
<pci busid=\"0000:1a:00.0\" class=\"0x020700\" link_speed=\"NaN GT/s\" link_width=\"-16\"><nic><net name=\"x\" dev=\"99999999999\" speed=\"1e999\" port=\"99999999999999999999\" gdr=\"1\" maxconn=\"-1\"/></nic></pci>\
</cpu></system>\n";
    all_commands(&write_tmp(dir.path(), "numbers.xml", xml.as_bytes()));
    let graph = "<graphs version=\"1\"><graph id=\"99999999999999999999\" pattern=\"4294967296\" crossnic=\"-1\" nchannels=\"99999999999\" speedintra=\"1e400\" speedinter=\"nan\" latencyinter=\"inf\" typeintra=\"NVL\" typeinter=\"PIX\" samechannels=\"1\"><channel><net dev=\"99999999999999999999\"/><gpu dev=\"-99999999999999999999\"/><gpu dev=\"4294967296\"/><net dev=\"18446744073709551616\"/></channel></graph></graphs>\n";
    all_commands(&write_tmp(dir.path(), "graph.xml", graph.as_bytes()));

    // Every number of every sample and corpus file pushed out of range, through the library
    // (fast) with every report rendered. Debug builds panic on arithmetic overflow, so a wrap
    // shows up here as a panic.
    let mut inputs: Vec<(String, Vec<u8>)> =
        ["p5-socket-fallback.log", "p5-efa-healthy.log"].iter().map(|n| (n.to_string(), sample(n))).collect();
    if let Some(corpus) = corpus_dir() {
        for sub in ["nccl", "ucx", "topo"] {
            let mut entries: Vec<_> = std::fs::read_dir(corpus.join(sub))
                .expect("corpus dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect();
            entries.sort();
            for path in entries {
                let data = std::fs::read(&path).expect("corpus file");
                inputs.push((path.display().to_string(), data));
            }
        }
    }
    let t = Instant::now();
    let p = dir.path().join("n.log");
    for (name, data) in &inputs {
        for n in HUGE_NUMBERS {
            std::fs::write(&p, with_numbers(data, n)).expect("write");
            let a = analyze_paths(std::slice::from_ref(&p));
            assert!(a.inputs[0].error.is_none(), "{name} with {n}");
            render_everything(&a);
        }
    }
    eprintln!("{} inputs × {} numbers: {:?}", inputs.len(), HUGE_NUMBERS.len(), t.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Escape-sequence injection

const EVIL: &str = "\x1b]52;c;cm0gLXJmIH4K\x07\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\\x1b[2J\x1b[1;1H\x1b[?1049h\x07\x08\x08\u{9b}31m\u{9d}0;title\u{9c}\x1bc";

#[test]
fn escape_sequences_in_log_text_are_inert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = String::new();
    for (host, pid) in [("node1", 100), ("node2", 200)] {
        log.push_str(&format!("{host}:{pid}:{pid} [0] NCCL INFO Using network Socket {EVIL}\n"));
        log.push_str(&format!(
            "{host}:{pid}:{pid} [0] misc/socket.cc:1 NCCL WARN boom {EVIL} | `x` <script>alert(1)</script>\n"
        ));
    }
    log.push_str(&format!("[1.2] [gpu1:259:0] ucp_ep.c:1 UCX  ERROR failed {EVIL} | <script>\n"));
    log.push_str(&format!("#  Rank  0 Group  0 Pid    100 on {EVIL} device  0 [0x53] NVIDIA {EVIL}\n"));
    let p = write_tmp(dir.path(), "evil.log", log.as_bytes());
    let v = report_all_formats(&[&p]);
    assert!(!rules_of(&v).is_empty());
    let o = run_paths(&["topo"], &[&p]);
    assert_inert(&o.stdout, "topo");
    // Markdown: outside code fences nothing opens HTML, and table rows keep their columns.
    let md = stdout(&run_paths(&["report", "--format", "markdown"], &[&p]));
    let mut in_fence = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            assert!(!line.contains("<script"), "{line}");
            if line.starts_with('|') {
                let cells = line.replace("\\|", "").matches('|').count();
                assert!(cells <= 8, "a `|` from the log split a table row: {line}");
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn escape_sequences_in_file_names_are_inert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("rank0{}|`<script>.log", EVIL.replace('/', "_"));
    let p = write_tmp(dir.path(), &name, socket_log().as_bytes());
    let v = report_all_formats(&[&p]);
    assert!(v["inputs"][0]["path"].as_str().unwrap_or("").contains("\x1b]52"), "JSON keeps the real path");
    for fmt in ["text", "dot", "json"] {
        let o = run_paths(&["topo", "--format", fmt], &[&p]);
        assert_inert(&o.stdout, fmt);
    }
    // The name inside a directory, and as a missing path in an error message.
    let o = run_paths(&["report"], &[dir.path()]);
    assert_inert(&o.stdout, "dir");
    let missing = dir.path().join(format!("missing{}.log", EVIL.replace('/', "_")));
    for args in [&["report"][..], &["topo"], &[]] {
        let o = run_paths(args, &[&missing]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_inert(&o.stderr, "error message");
        assert!(stderr(&o).contains("missing"), "{}", stderr(&o));
    }
    // `-o` into a directory that does not exist.
    let out = dir.path().join(format!("nodir{}/out.md", EVIL.replace('/', "_")));
    let o = bin().args(["report", "-o"]).arg(&out).arg(&p).output().expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert_inert(&o.stderr, "-o error");
}

/// Found by the topo_xml fuzz target: XML attribute values (raw control bytes, or character
/// references such as `&#27;`) reached `ncclscope topo` verbatim.
#[test]
fn escape_sequences_in_xml_are_inert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = "<system version=\"1\"><cpu numaid=\"0\" affinity=\"&#27;]52;c;cm0gLXJmIH4K&#7;ff\" arch=\"x86_64\">\n\
               <pci busid=\"&#x1b;[2J&#x1b;]8;;http://evil.example/&#x1b;\\0000:17:00.0\" class=\"0x060400\x10\x7f\">\n\
               <pci busid=\"0000:19:00.0\x1b[31m\" class=\"0x030200\"><gpu dev=\"0\" rank=\"0&#155;2J\" gdr=\"1\"/></pci>\n\
               <pci busid=\"0000:1a:00.0\" class=\"0x020700\"><nic><net name=\"rdma&#8;&#8;\x1b]0;t\x07\" dev=\"0\" speed=\"100000\" gdr=\"1\"/></nic></pci>\n\
               </pci></cpu></system>\n";
    let p = write_tmp(dir.path(), "evil-topo.xml", xml.as_bytes());
    all_commands(&p);
    let tree = stdout(&run_paths(&["topo"], &[&p]));
    assert!(tree.contains("0000:17:00.0"), "{tree}");
}

#[test]
fn escape_sequences_in_arguments_are_inert_in_error_messages() {
    for args in [
        vec!["rules", EVIL],
        vec!["report", "--format", EVIL, "x.log"],
        vec!["report", "--platform", EVIL, "samples/p5-efa-healthy.log"],
        vec!["report", "--fail-on", EVIL, "x.log"],
        vec![EVIL],
        vec!["topo", "--format", EVIL, "x.log"],
        vec!["--bogus-flag", EVIL],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?}");
        assert_inert(&o.stderr, &format!("stderr of {args:?}"));
        assert_inert(&o.stdout, &format!("stdout of {args:?}"));
    }
    let o = run(&["rules"]);
    assert_inert(&o.stdout, "rules");
}
