//! Snapshots of the three report formats on the bundled samples (insta). A change in wording or
//! layout shows up as a reviewable diff: `INSTA_UPDATE=always cargo test --test snapshots`.
use std::path::PathBuf;

use ncclscope_analyzer::report::{json, markdown, text};
use ncclscope_analyzer::{analyze, platform, Analysis, Options};
use ncclscope_parser::expand_paths;

fn analysis(path: &str, platform_name: Option<&str>) -> Analysis {
    // Relative paths keep the evidence paths in the snapshots machine-independent.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("cd");
    let (specs, problems) = expand_paths(&[PathBuf::from(path)]);
    assert!(problems.is_empty());
    let platform = platform_name.map(|n| platform::lookup(n).expect("known platform"));
    analyze(&specs, &[], &Options { platform, ..Options::default() })
}

#[test]
fn socket_fallback_reports() {
    let a = analysis("samples/p5-socket-fallback.log", Some("p5.48xlarge"));
    insta::assert_snapshot!("socket_text", text::render(&a, text::Style { color: false }));
    insta::assert_snapshot!("socket_markdown", markdown::render(&a));
    insta::assert_snapshot!("socket_json", json::render(&a));
}

#[test]
fn stuck_init_reports() {
    let a = analysis("samples/stuck-init", None);
    insta::assert_snapshot!("stuck_text", text::render(&a, text::Style { color: false }));
    insta::assert_snapshot!("stuck_markdown", markdown::render(&a));
}

#[test]
fn healthy_reports() {
    let a = analysis("samples/p5-efa-healthy.log", None);
    insta::assert_snapshot!("healthy_text", text::render(&a, text::Style { color: false }));
    insta::assert_snapshot!("healthy_json", json::render(&a));
}
