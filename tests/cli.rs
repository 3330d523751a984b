//! End-to-end tests of the binary: exit codes, formats, stdin, compressed inputs, directories,
//! hostile text.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ncclscope"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", stdout(o)))
}

fn rules_of(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

const SOCKET: &str = "samples/p5-socket-fallback.log";
const HEALTHY: &str = "samples/p5-efa-healthy.log";

#[test]
fn healthy_sample_has_no_findings_and_exits_0() {
    let o = run(&["report", "--fail-on", "info", "--format", "json", HEALTHY]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["schema"], "ncclscope.report/v1");
    assert_eq!(v["job"]["instance_type"], "p5.48xlarge");
    assert_eq!(v["job"]["net"], "efa");
    assert_eq!(v["job"]["ranks"], 16);
    assert_eq!(v["job"]["communicators"][0]["ranks_complete"], 16);
    assert_eq!(v["bandwidth"][0]["size_bytes"], 8589934592u64);
    assert_eq!(v["inputs"][0]["kind"], "nccl-log");
    assert!(rules_of(&v).is_empty(), "{:?}", rules_of(&v));
}

#[test]
fn socket_fallback_fails_the_pipeline() {
    let o =
        run(&["report", "--fail-on", "critical", "--platform", "p5.48xlarge", "--format", "json", SOCKET]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let rules = rules_of(&v);
    for r in ["NET_SOCKET_FALLBACK", "IB_NO_DEVICE", "NET_PLUGIN_LOAD_FAILED", "BUSBW_TCP_LEVEL"] {
        assert!(rules.contains(&r.to_string()), "{r} missing from {rules:?}");
    }
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "critical");
    assert!(f["evidence"][0]["line"].as_u64().unwrap_or(0) > 0);
    assert!(f["evidence"][0]["text"].as_str().unwrap_or("").contains("NCCL INFO"));
    assert_eq!(f["evidence"][0]["path"], SOCKET);
    // Without --fail-on the report never fails.
    assert_eq!(run(&["report", SOCKET]).status.code(), Some(0));
}

#[test]
fn stdin_dash_reads_standard_input() {
    let mut child = bin()
        .args(["report", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let data = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SOCKET)).expect("sample");
    child.stdin.take().expect("stdin").write_all(&data).expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert_eq!(v["inputs"][0]["path"], "-");
    assert!(rules_of(&v).contains(&"NET_SOCKET_FALLBACK".to_string()));
}

fn compressed_copies() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SOCKET)).expect("sample");
    let gz = dir.path().join("rank0.log.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::fast(),
    );
    e.write_all(&data).expect("gz");
    e.finish().expect("gz finish");
    // Named without .zst on purpose: the kind and the compression come from the content.
    let zst = dir.path().join("rank1.log");
    std::fs::write(&zst, zstd::encode_all(&data[..], 3).expect("zstd")).expect("write");
    (dir, gz, zst)
}

#[test]
fn gz_and_zst_are_decompressed_transparently() {
    let (_dir, gz, zst) = compressed_copies();
    for p in [gz, zst] {
        let o = run(&["report", "--format", "json", p.to_str().expect("utf8 path")]);
        assert_eq!(o.status.code(), Some(0));
        let v = json(&o);
        assert_eq!(v["inputs"][0]["kind"], "nccl-log", "{}", p.display());
        assert_eq!(v["inputs"][0]["lines"], 305);
        assert!(rules_of(&v).contains(&"NET_SOCKET_FALLBACK".to_string()));
    }
}

#[test]
fn directory_of_per_rank_files_finds_the_stuck_rank() {
    let o = run(&["report", "--fail-on", "critical", "--format", "json", "samples/stuck-init"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["inputs"].as_array().map(Vec::len), Some(16));
    let init = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "INIT_INCOMPLETE")
        .expect("INIT_INCOMPLETE");
    assert_eq!(init["severity"], "critical");
    let msg = init["message"].as_str().unwrap_or("");
    assert!(msg.contains("gpu-node-b:5804") && msg.contains("rank 12"), "{msg}");
    assert!(init["evidence"][0]["text"].as_str().unwrap_or("").contains("socketStartConnect"));
}

#[test]
fn usage_and_input_errors_exit_2() {
    assert_eq!(run(&["report", "does/not/exist.log"]).status.code(), Some(2));
    assert_eq!(run(&["report", "--format", "yaml", SOCKET]).status.code(), Some(2));
    assert_eq!(run(&["report", "--platform", "p99.huge", SOCKET]).status.code(), Some(2));
    assert_eq!(run(&["report"]).status.code(), Some(2));
    assert_eq!(run(&["rules", "NOT_A_RULE"]).status.code(), Some(2));
    let o = run(&["does/not/exist.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does/not/exist.log"));
}

#[test]
fn bare_paths_give_the_text_report_when_not_a_terminal() {
    let o = run(&[SOCKET]);
    assert_eq!(o.status.code(), Some(0));
    let s = stdout(&o);
    assert!(s.starts_with("ncclscope report"), "{s}");
    assert!(s.contains("NET_SOCKET_FALLBACK"));
    assert!(!s.contains('\x1b'), "no colour when stdout is not a terminal");
}

#[test]
fn output_file_and_markdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("findings.md");
    let o = run(&["report", "--format", "markdown", "-o", out.to_str().expect("utf8"), SOCKET]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let md = std::fs::read_to_string(&out).expect("written");
    assert!(md.contains("| Severity | Rule |"));
    assert!(md.contains("`NET_SOCKET_FALLBACK`"));
}

#[test]
fn rules_lists_the_catalog() {
    let o = run(&["rules"]);
    assert_eq!(o.status.code(), Some(0));
    let s = stdout(&o);
    for id in ["NET_SOCKET_FALLBACK", "GDR_DISABLED", "UCX_TCP_FALLBACK", "PARSE_ERROR"] {
        assert!(s.contains(id), "{id}");
    }
    let o = run(&["rules", "net_socket_fallback"]);
    let s = stdout(&o);
    assert!(s.contains("remedy:") && s.contains("NVIDIA/nccl#229"), "{s}");
}

#[test]
fn log_text_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("evil.log");
    let evil = "h1:1:1 [0] NCCL INFO Using network Socket\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x08\x08\n\
                h2:2:2 [0] NCCL INFO Using network Socket \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ <script>|`\n\
                \nh1:1:1 [0] misc/socket.cc:1 NCCL WARN boom \x1b[31mred\x1b[0m\x07 | <b>`x`</b>\n";
    std::fs::write(&p, evil).expect("write");
    let path = p.to_str().expect("utf8");
    for fmt in ["text", "markdown", "json"] {
        let o = run(&["report", "--format", fmt, path]);
        assert_eq!(o.status.code(), Some(0));
        assert!(
            !o.stdout.iter().any(|&b| b == 0x1b || b == 0x07 || b == 0x08),
            "{fmt}: control byte in output"
        );
    }
    // Outside code fences (where text is literal), no raw HTML from the log survives.
    let md = stdout(&run(&["report", "--format", "markdown", path]));
    let mut in_fence = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            assert!(!line.contains("<script>") && !line.contains("<b>"), "{line}");
        }
    }
    json(&run(&["report", "--format", "json", path]));
}

/// A topology dump is analysed (the map, GPU_NIC_CROSS_NUMA), and the report says nothing that
/// claims otherwise about the input.
#[test]
fn topology_dump_input_is_analysed_not_set_aside() {
    let o = run(&["report", "samples/cross-numa/node-a-topo.xml", "samples/cross-numa/nccl-job.log"]);
    let text = stdout(&o);
    assert!(text.contains("nccl-topo-xml"), "{text}");
    assert!(!text.contains("not part of this version"), "{text}");
    assert!(text.contains("GPU_NIC_CROSS_NUMA"), "{text}");
}
