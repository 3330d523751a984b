//! The fuzz harnesses, one function per target, so that the same code runs under libFuzzer
//! (`cargo +nightly fuzz run <target>`, `fuzz_targets/*.rs`) and as a plain regression test over
//! the seed corpus and every saved crash (`cargo test` in this directory, `tests/replay.rs`).
//!
//! Each harness feeds its parser the way the real pipeline does (lines split on `\n`/`\r` and
//! sanitized first) and checks the invariants that must hold for any input: no panic (debug
//! assertions and overflow checks on, so a wrap-around is a crash), JSON that parses, text that
//! cannot drive a terminal.
#![forbid(unsafe_code)]

use std::sync::Arc;

use ncclscope_analyzer::report::{json, markdown, text, topo};
use ncclscope_analyzer::{analyze, Options};
use ncclscope_parser::input::InputSource;
use ncclscope_parser::sanitize::sanitize_line;
use ncclscope_parser::InputSpec;

/// The lines of `data` as the line reader delivers them: lossily decoded, split on `\n`, `\r`,
/// sanitized.
fn lines(data: &[u8], mut f: impl FnMut(&str)) {
    let text = String::from_utf8_lossy(data);
    for line in text.split(['\n', '\r']) {
        f(&sanitize_line(&line.replace('\0', "")));
    }
}

/// The NCCL_DEBUG line parser (prefix, header, typed event) and the topology printout parser.
pub fn nccl_line(data: &[u8]) {
    lines(data, |l| {
        if let Some(line) = ncclscope_parser::nccl::parse_line(l) {
            // Serialising walks every field the parser produced.
            let _ = serde_json::to_string(&line);
        }
        let _ = ncclscope_parser::topo::printout::parse_printout(l);
    });
}

/// The nccl-tests line parser (header, device lines, table rows, footer).
pub fn nccltests_line(data: &[u8]) {
    lines(data, |l| {
        if let Some(line) = ncclscope_parser::nccltests::parse_line(l) {
            let _ = serde_json::to_string(&line);
        }
    });
}

/// The UCX / NIXL / ucx_perftest line parser.
pub fn ucx_line(data: &[u8]) {
    lines(data, |l| {
        let _ = ncclscope_parser::ucx::is_info_line(l);
        let line = ncclscope_parser::ucx::parse_line(l);
        let _ = serde_json::to_string(&line);
        let _ = ncclscope_parser::ucx::unescape(l);
    });
}

/// A `ucx_info -d`/`-c` dump: the whole pipeline on an input that sniffs as `ucx-info`.
pub fn ucx_info(data: &[u8]) {
    let mut input = b"# Memory domain: mlx5_0\n#     Component: ib\n#      Transport: rc_mlx5\n".to_vec();
    input.extend_from_slice(data);
    pipeline(&input);
}

/// The topology / graph XML parser, then the whole pipeline on the document (topology graph,
/// GPU↔NIC map, topology rules, `topo` renderings).
pub fn topo_xml(data: &[u8]) {
    let (doc, stats) = ncclscope_parser::topo::xml::parse_xml_counted(data);
    assert_eq!(stats.bytes, data.len() as u64);
    for e in &doc.elements {
        if let Some(p) = e.parent {
            assert!(p < doc.elements.len());
        }
        assert!(e.children.iter().all(|&c| c < doc.elements.len()));
    }
    pipeline(data);
}

/// The `nvidia-smi topo -m` matrix builder and its renderer.
pub fn smi(data: &[u8]) {
    let mut builder = ncclscope_parser::topo::smi::SmiBuilder::new();
    let mut n = 0;
    lines(data, |l| {
        n += 1;
        builder.push(n, l);
    });
    for m in builder.finish() {
        let _ = ncclscope_parser::topo::smi::render(&m);
    }
}

/// The whole pipeline on one input: decompression, sniffing, the line reader, every parser, the
/// job model, every rule and every report.
pub fn pipeline(data: &[u8]) {
    let spec = InputSpec { display: "fuzz.log".into(), source: InputSource::Bytes(Arc::from(data)) };
    let a = analyze(&[spec], &[], &Options::default());
    assert!(a.inputs[0].error.is_none() || a.inputs[0].lines == 0);
    for s in [json::render(&a), topo::render_json(&a)] {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&s) {
            panic!("invalid JSON ({e}): {s}");
        }
    }
    for s in [text::render(&a, text::Style { color: false }), topo::render_text(&a)] {
        let bad = s.chars().find(|&c| c.is_control() && c != '\n' && c != '\t');
        assert!(bad.is_none(), "control character {bad:?} in text output: {s}");
    }
    let _ = markdown::render(&a);
    let _ = topo::render_dot(&a);
}
