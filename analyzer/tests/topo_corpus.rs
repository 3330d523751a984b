//! The topology corpus (../shared/corpus/topo, read in place): every file loads, the LABELS.tsv
//! `must` rules are reported, no critical finding on a healthy file; hand-checked GPU↔NIC
//! expectations and snapshots of the tree/matrix renderings.
use std::path::{Path, PathBuf};

use ncclscope_analyzer::catalog::Severity;
use ncclscope_analyzer::{analyze, Analysis, Options};
use ncclscope_parser::expand_paths;

fn topo_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if dir.join("LABELS.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIP: {} is absent; topology corpus tests not run", dir.display());
        None
    }
}

fn analyze_file(path: &Path) -> Analysis {
    let (specs, problems) = expand_paths(&[path.to_path_buf()]);
    assert!(problems.is_empty(), "{}", path.display());
    analyze(&specs, &[], &Options::default())
}

fn load(name: &str) -> Option<Analysis> {
    let dir = topo_dir()?;
    Some(analyze_file(&dir.join("topo").join(name)))
}

#[test]
fn topo_labels_are_met() {
    let Some(dir) = topo_dir() else { return };
    let labels = std::fs::read_to_string(dir.join("LABELS.tsv")).expect("LABELS.tsv");
    let mut failures = Vec::new();
    let mut n = 0;
    for l in labels.lines().skip(1) {
        let cols: Vec<&str> = l.split('\t').collect();
        if cols.len() < 5 || cols[0] != "topo" {
            continue;
        }
        n += 1;
        let a = analyze_file(&dir.join("topo").join(cols[1]));
        let got: Vec<String> = a.findings.iter().map(|f| format!("{}:{:?}", f.rule, f.severity)).collect();
        eprintln!("{}  must={} may={}  got={}", cols[1], cols[2], cols[3], got.join(","));
        for m in cols[2].split(',').map(str::trim).filter(|m| !m.is_empty() && *m != "-") {
            if !a.findings.iter().any(|f| f.rule.as_str() == m) {
                failures.push(format!("{}: must {m} not reported", cols[1]));
            }
        }
        if cols[4] == "yes" {
            for f in a.findings.iter().filter(|f| f.severity == Severity::Critical) {
                failures.push(format!("{}: critical {} on a healthy file: {}", cols[1], f.rule, f.message));
            }
        }
        for f in &a.findings {
            assert!(!f.evidence.is_empty(), "{}: {} without evidence", cols[1], f.rule);
        }
    }
    eprintln!("topo labels: {n} files, {} failure(s)", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (gpu dev, nearest NICs, path) of the map entries from the topology.
fn nearest(a: &Analysis) -> Vec<(Option<u32>, Vec<String>, String)> {
    a.job
        .topology
        .map
        .entries
        .iter()
        .map(|e| (e.gpu, e.nic_nearest.clone(), e.nearest_class.map(|c| c.as_string()).unwrap_or_default()))
        .collect()
}

#[test]
fn p4d_each_efa_nic_serves_two_gpus_at_pix() {
    for f in ["001-aws-p4d-24xl-topofile-2020.xml", "002-aws-p4d-24xl-topofile-2021.xml"] {
        let Some(a) = load(f) else { return };
        let m = nearest(&a);
        assert_eq!(m.len(), 8, "{f}: {m:?}");
        assert!(m.iter().all(|(_, nics, p)| nics.len() == 1 && p == "PIX"), "{f}: {m:?}");
        let mut per_nic: std::collections::BTreeMap<&str, usize> = Default::default();
        for (_, nics, _) in &m {
            *per_nic.entry(nics[0].as_str()).or_default() += 1;
        }
        assert_eq!(per_nic.len(), 4, "{f}: {per_nic:?}");
        assert!(per_nic.values().all(|c| *c == 2), "{f}: {per_nic:?}");
    }
}

#[test]
fn p5_each_gpu_has_four_efa_nics_under_its_switch() {
    let Some(a) = load("008-aws-p5-48xl-topofile-2026.xml") else { return };
    let m = nearest(&a);
    assert_eq!(m.len(), 8, "{m:?}");
    for (g, nics, p) in &m {
        assert_eq!(p, "PIX", "GPU{g:?}");
        assert_eq!(nics.len(), 4, "GPU{g:?}: {nics:?}");
        assert!(nics.iter().all(|n| n.starts_with("rdmap")), "{nics:?}");
    }
}

#[test]
fn ndv4_two_gpus_and_two_hcas_per_switch_at_pix() {
    let Some(a) = load("012-azure-ndv4-topofile-2025.xml") else { return };
    let m = nearest(&a);
    assert_eq!(m.len(), 8, "{m:?}");
    assert!(m.iter().all(|(_, nics, p)| nics.len() == 2 && p == "PIX"), "{m:?}");
}

/// `ncclscope topo` text for a corpus file, with the corpus location masked.
fn topo_text(name: &str) -> Option<String> {
    let dir = topo_dir()?;
    let a = analyze_file(&dir.join("topo").join(name));
    let prefix = dir.join("topo").display().to_string();
    Some(ncclscope_analyzer::report::topo::render_text(&a).replace(&prefix, "<corpus>/topo"))
}

#[test]
fn snapshot_p4d_tree_and_matrix() {
    let Some(t) = topo_text("002-aws-p4d-24xl-topofile-2021.xml") else { return };
    insta::assert_snapshot!("topo_p4d_002", t);
}

#[test]
fn snapshot_p5_tree_and_matrix() {
    let Some(t) = topo_text("008-aws-p5-48xl-topofile-2026.xml") else { return };
    insta::assert_snapshot!("topo_p5_008", t);
}

#[test]
fn snapshot_ndv4_tree_and_matrix() {
    let Some(t) = topo_text("012-azure-ndv4-topofile-2025.xml") else { return };
    insta::assert_snapshot!("topo_ndv4_012", t);
}
