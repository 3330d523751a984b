//! Helpers for rule unit tests: run the whole pipeline on a few log lines.
use std::io::Write;
use std::path::PathBuf;

use ncclscope_parser::expand_paths;

use crate::catalog::{RuleId, Severity};
use crate::finding::Finding;
use crate::{analyze, platform, Analysis, Options};

/// Analyzes `text` as one input file (optionally with `--platform`).
pub fn analyze_text_on(text: &str, platform_name: Option<&str>) -> Analysis {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    let (specs, problems) = expand_paths(&[PathBuf::from(f.path())]);
    assert!(problems.is_empty());
    let platform = platform_name.map(|n| platform::lookup(n).expect("known platform"));
    analyze(&specs, &[], &Options { platform, ..Options::default() })
}

pub fn analyze_text(text: &str) -> Analysis {
    analyze_text_on(text, None)
}

/// The finding of rule `id`, if reported.
pub fn finding(a: &Analysis, id: RuleId) -> Option<&Finding> {
    a.findings.iter().find(|f| f.rule == id)
}

/// Asserts `id` is reported with `severity`, and returns it.
pub fn expect(a: &Analysis, id: RuleId, severity: Severity) -> &Finding {
    let f = finding(a, id).unwrap_or_else(|| {
        panic!("{id} not reported; got {:?}", a.findings.iter().map(|f| f.rule).collect::<Vec<_>>())
    });
    assert_eq!(f.severity, severity, "{id}: {}", f.message);
    assert!(!f.evidence.is_empty(), "{id} without evidence");
    f
}

/// Asserts `id` is not reported.
pub fn absent(a: &Analysis, id: RuleId) {
    if let Some(f) = finding(a, id) {
        panic!("{id} reported unexpectedly: {}", f.message);
    }
}
