//! Snapshots of the UCX report section (issue 5) on corpus files read in place from
//! ../shared/corpus/ucx: a TCP fallback on an old `ep_cfg` line, a healthy RC multi-rail
//! v1.15+ config, and a protocol table of an intra-node transfer over the NIC.
use std::path::{Path, PathBuf};

use ncclscope_analyzer::report::ucx::{render_text, ucx_section};
use ncclscope_analyzer::{analyze, Analysis, Options};
use ncclscope_parser::expand_paths;

fn corpus_file(prefix: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/ucx");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIP: {} is absent; UCX report snapshots not run", dir.display());
        return None;
    };
    let found = entries.flatten().map(|e| e.path()).find(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".log"))
    });
    if found.is_none() {
        eprintln!("SKIP: no {prefix}* file in {}", dir.display());
    }
    found
}

fn analyze_file(path: &Path) -> Analysis {
    let (specs, problems) = expand_paths(&[path.to_path_buf()]);
    assert!(problems.is_empty(), "{}", path.display());
    analyze(&specs, &[], &Options::default())
}

fn section(prefix: &str) -> Option<(String, serde_json::Value)> {
    let a = analyze_file(&corpus_file(prefix)?);
    let u = ucx_section(&a).expect("UCX lines give a UCX section");
    Some((render_text(&u), serde_json::to_value(&u).expect("serialises")))
}

#[test]
fn tcp_fallback_ep_cfg() {
    let Some((text, json)) = section("001-") else { return };
    assert_eq!(json["processes"][0]["tcp_inter_node"], true);
    insta::assert_snapshot!("ucx_001_tcp_fallback", text);
}

#[test]
fn healthy_rc_multirail() {
    let Some((text, json)) = section("004-") else { return };
    let procs = json["processes"].as_array().expect("processes");
    assert!(procs.iter().all(|p| p["tcp_inter_node"] == false && p["emulated"] == false));
    insta::assert_snapshot!("ucx_004_rc_multirail", text);
    insta::assert_json_snapshot!("ucx_004_rc_multirail_json", json["processes"][0]);
}

#[test]
fn protocol_table_intra_node_over_nic() {
    let Some((text, json)) = section("031-") else { return };
    assert!(json["processes"][0]["protocols"]
        .as_array()
        .expect("protocols")
        .iter()
        .any(|t| t["intra_node_over_network"] == true));
    insta::assert_snapshot!("ucx_031_proto_table", text);
}

#[test]
fn emulated_am_features_are_called_out() {
    let Some((text, json)) = section("011-") else { return };
    assert_eq!(json["processes"][0]["emulated"], true);
    assert!(text.contains("emulated over AM: rma_am, amo_am"), "{text}");
}

#[test]
fn no_section_without_ucx_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("nccl.log");
    std::fs::write(&p, "host:1:1 [0] NCCL INFO NCCL version 2.21.5+cuda12.4\n").expect("write");
    let a = analyze_file(&p);
    assert!(ucx_section(&a).is_none());
    assert!(!ncclscope_analyzer::report::json::render(&a).contains("\"ucx\""));
}
