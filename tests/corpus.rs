//! The real-log corpus in ../shared/corpus (read from there, never copied): every file parses
//! without a panic or an input error, and the analyzer reaches the labelled conclusion for the
//! rules this build checks (LABELS.tsv: `must` rule IDs reported; `healthy` = no critical).
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ncclscope_analyzer::catalog::{RuleId, Severity};
use ncclscope_analyzer::{analyze, rules, Options};
use ncclscope_parser::expand_paths;

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("LABELS.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {} is absent (the shared corpus sits beside the project checkout); corpus tests not run",
            dir.display()
        );
        None
    }
}

struct Label {
    corpus: String,
    file: String,
    must: Vec<String>,
    healthy: bool,
}

fn labels(dir: &Path) -> Vec<Label> {
    let text = std::fs::read_to_string(dir.join("LABELS.tsv")).expect("LABELS.tsv readable");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            if cols.len() < 5 {
                return None;
            }
            let ids = |s: &str| -> Vec<String> {
                s.split(',').map(str::trim).filter(|x| !x.is_empty() && *x != "-").map(String::from).collect()
            };
            Some(Label {
                corpus: cols[0].into(),
                file: cols[1].into(),
                must: ids(cols[2]),
                healthy: cols[4] == "yes",
            })
        })
        .collect()
}

fn analyze_file(path: &Path) -> ncclscope_analyzer::Analysis {
    let (specs, problems) = expand_paths(&[path.to_path_buf()]);
    assert!(
        problems.is_empty(),
        "{}: {:?}",
        path.display(),
        problems.iter().map(|p| &p.message).collect::<Vec<_>>()
    );
    analyze(&specs, &[], &Options::default())
}

#[test]
fn every_corpus_file_parses_without_panic_or_input_error() {
    let Some(dir) = corpus_dir() else { return };
    let mut n = 0;
    let mut failures = Vec::new();
    for sub in ["nccl", "ucx", "topo"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            n += 1;
            match std::panic::catch_unwind(|| analyze_file(&f)) {
                Ok(a) => {
                    for i in &a.inputs {
                        if let Some(e) = &i.error {
                            failures.push(format!("{}: input error {e}", f.display()));
                        }
                        if i.skipped {
                            failures.push(format!("{}: skipped as binary", f.display()));
                        }
                    }
                }
                Err(_) => failures.push(format!("{}: PANIC", f.display())),
            }
        }
    }
    println!("corpus: {n} files analysed, {} failures", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Labels this build knowingly does not meet, with the reason (a wrong label is listed here,
/// never special-cased in the analyzer).
const KNOWN_EXCEPTIONS: &[(&str, &str, &str)] = &[];

#[test]
fn labels_hold_for_checked_rules() {
    let Some(dir) = corpus_dir() else { return };
    let (mut checked, mut passed, mut healthy_checked, mut pending) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut table = vec![format!("{:<72} {:<40} {}", "file", "expected (must)", "got")];
    for label in labels(&dir).iter() {
        let path = dir.join(&label.corpus).join(&label.file);
        if !path.is_file() {
            failures.push(format!("{}: listed in LABELS.tsv but missing", label.file));
            continue;
        }
        let a = analyze_file(&path);
        let reported: BTreeSet<RuleId> = a.findings.iter().map(|f| f.rule).collect();
        let mut row_ok = true;
        for must in &label.must {
            let Ok(id) = must.parse::<RuleId>() else {
                failures.push(format!("{}: unknown rule ID {must} in LABELS.tsv", label.file));
                continue;
            };
            // Rules not checked by this build yet are counted apart.
            if !rules::is_checked(id) {
                pending += 1;
                continue;
            }
            checked += 1;
            if reported.contains(&id) {
                passed += 1;
            } else if let Some((_, _, why)) =
                KNOWN_EXCEPTIONS.iter().find(|(f, r, _)| *f == label.file && *r == must)
            {
                println!("known exception: {} {must}: {why}", label.file);
            } else {
                row_ok = false;
                failures.push(format!("{}: must report {must}; reported {:?}", label.file, reported));
            }
        }
        if label.healthy {
            healthy_checked += 1;
            let critical: Vec<&str> = a
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Critical)
                .map(|f| f.rule.as_str())
                .collect();
            if !critical.is_empty() {
                row_ok = false;
                failures.push(format!("{}: labelled healthy but critical {:?}", label.file, critical));
            }
        }
        let got: Vec<String> = a
            .findings
            .iter()
            .map(|f| format!("{}:{}", f.rule.as_str(), &f.severity.as_str()[..1]))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let expected = if label.must.is_empty() { "-".to_string() } else { label.must.join(",") };
        table.push(format!(
            "{} {:<70} {:<40} {}",
            if row_ok { " " } else { "✗" },
            format!("{}/{}", label.corpus, label.file),
            expected,
            got.join(",")
        ));
    }
    println!("{}", table.join("\n"));
    println!(
        "labels: {passed}/{checked} must-labels of checked rules reported ({pending} more belong to rules not checked yet); \
         {healthy_checked} healthy files checked; {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
