//! The topology parsers against the shared corpus (skipped, with a message, when it is absent).
use std::path::{Path, PathBuf};

use super::printout::parse_printout;
use super::smi::{render, SmiBuilder};
use super::xml::parse_xml;
use super::{SmiMatrix, XmlDoc};
use crate::record::{InputId, Position, Record, RecordSink};

fn corpus_files(sub: &str, keep: impl Fn(&str) -> bool) -> Option<Vec<PathBuf>> {
    let dir = crate::test_corpus(sub)?.join(sub);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIP: corpus directory {} not found", dir.display());
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n != "MANIFEST.tsv" && keep(n)))
        .collect();
    files.sort();
    Some(files)
}

fn name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn parse_file(p: &Path) -> XmlDoc {
    parse_xml(std::io::BufReader::new(std::fs::File::open(p).unwrap()))
}

#[test]
fn every_topo_xml_parses() {
    let Some(files) = corpus_files("topo", |n| n.ends_with(".xml")) else { return };
    assert!(files.len() >= 40, "only {} XML files", files.len());
    for p in &files {
        let n = name(p);
        let doc = parse_file(p);
        let want_truncated = n.contains("TRUNCATED");
        assert_eq!(doc.truncated, want_truncated, "{n}: {:?}", doc.warnings);
        if want_truncated {
            let last = doc.warnings.last().unwrap_or_else(|| panic!("{n}: no warning"));
            // Where parsing stopped: 042 is cut mid-attribute on its last line (26); 043 and
            // 045 end after complete tags, before the root closes.
            let want = match &n[..3] {
                "042" => 26,
                "043" => 52,
                _ => 17,
            };
            assert_eq!(last.line, Some(want), "{n}: {last:?}");
            eprintln!("{n}: {} elements, {:?}", doc.elements.len(), doc.warnings);
        } else {
            assert!(doc.warnings.is_empty(), "{n}: {:?}", doc.warnings);
        }
        let want_root = if n.contains("graph") { "graphs" } else { "system" };
        assert_eq!(doc.root_name(), Some(want_root), "{n}");
        assert!(doc.elements.len() > 2, "{n}");
        // Positions point at the element's `<` on the line given.
        let data = std::fs::read(p).unwrap();
        for e in &doc.elements {
            assert_eq!(data.get(e.offset as usize), Some(&b'<'), "{n}: {e:?}");
            let line = 1 + data[..e.offset as usize].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(e.line, line, "{n}: {}", e.text);
            assert!(e.text.starts_with(&format!("<{}", e.name)), "{n}: {}", e.text);
        }
    }
}

#[test]
fn p4d_2020_tree() {
    let Some(corpus) = crate::test_corpus("p4d_2020_tree") else { return };
    let p = corpus.join("topo/001-aws-p4d-24xl-topofile-2020.xml");
    if !p.is_file() {
        eprintln!("SKIP: {} not found", p.display());
        return;
    }
    let doc = parse_file(&p);
    assert_eq!(doc.named("cpu").count(), 2);
    let pci: Vec<_> = doc.named("pci").collect();
    let class =
        |c: &str| pci.iter().filter(|(_, e)| e.attr("class").is_some_and(|v| v.starts_with(c))).count();
    assert_eq!((class("0x0604"), class("0x03"), class("0x02"), pci.len()), (4, 8, 4, 16));
    for (i, e) in &pci {
        let cpu = doc.ancestor(*i, "cpu").expect("every pci under a cpu");
        let switch = e.attr("class") == Some("0x060400");
        assert_eq!(e.parent == Some(cpu), switch, "{}", e.text);
    }
    let first_cpu = doc.named("cpu").next().unwrap().1;
    assert_eq!(first_cpu.line, 16);
    assert_eq!(first_cpu.attr("affinity"), Some("000000ff,ffff0000,00ffffff"));
    assert_eq!(doc.elements[doc.root.unwrap()].line, 15);
}

#[test]
fn truncating_xml_anywhere_never_panics() {
    let Some(files) = corpus_files("topo", |n| n.ends_with(".xml")) else { return };
    for p in &files {
        let data = std::fs::read(p).unwrap();
        let full = parse_xml(&data[..]).elements.len();
        for cut in (0..data.len()).step_by(97) {
            let doc = parse_xml(&data[..cut]);
            assert!(doc.elements.len() <= full, "{}@{cut}", name(p));
            if !doc.elements.is_empty() {
                assert!(doc.truncated, "{}@{cut}: root cannot have closed", name(p));
            }
        }
    }
}

#[test]
fn scan_gives_the_doc_and_counts_lines() {
    #[derive(Default)]
    struct Docs(Vec<XmlDoc>, usize);
    impl RecordSink for Docs {
        fn record(&mut self, _: InputId, _: Position, _: &str, _: &Record<'_>) {
            self.1 += 1;
        }
        fn xml(&mut self, _: InputId, doc: &XmlDoc) {
            self.0.push(doc.clone());
        }
    }
    let Some(files) = corpus_files("topo", |n| n.ends_with(".xml")) else { return };
    for p in &files {
        let spec = crate::InputSpec {
            display: p.to_string_lossy().into_owned(),
            source: crate::input::InputSource::File(p.clone()),
        };
        let mut sink = Docs::default();
        let s = crate::scan_input(InputId(0), &spec, &mut sink);
        let data = std::fs::read(p).unwrap();
        let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(!data.ends_with(b"\n"));
        assert_eq!((s.bytes, s.lines), (data.len() as u64, lines), "{}", name(p));
        assert_eq!(sink.1, 0, "{}: no line records for XML", name(p));
        assert_eq!(sink.0.len(), 1, "{}", name(p));
        assert_eq!(s.warnings, sink.0[0].warnings, "{}", name(p));
    }
}

fn matrices(text: &str) -> Vec<SmiMatrix> {
    let mut b = SmiBuilder::new();
    for (i, l) in text.lines().enumerate() {
        b.push(i as u64 + 1, l);
    }
    b.finish()
}

type Grid = Vec<(String, Vec<String>, [Option<String>; 3])>;

fn grid(m: &SmiMatrix) -> Grid {
    m.rows
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.cells.clone(),
                [r.cpu_affinity.clone(), r.numa_affinity.clone(), r.gpu_numa_id.clone()],
            )
        })
        .collect()
}

#[test]
fn every_smi_matrix_parses_and_renders_back() {
    let Some(files) = corpus_files("topo", |n| n.contains("nvidia-smi")) else { return };
    assert!(files.len() >= 3);
    for p in &files {
        let n = name(p);
        let text = std::fs::read_to_string(p).unwrap();
        let ms = matrices(&text);
        assert_eq!(ms.len(), 1, "{n}");
        let m = &ms[0];
        assert_eq!(m.rows.len(), m.columns.len(), "{n}: square matrix");
        for (i, r) in m.rows.iter().enumerate() {
            assert_eq!(r.name, m.columns[i], "{n}");
            assert_eq!(r.cells[i], "X", "{n}: diagonal");
            if r.name.starts_with("GPU") {
                assert!(r.cpu_affinity.is_some() && r.numa_affinity.is_some(), "{n}: {r:?}");
            } else {
                assert_eq!((&r.cpu_affinity, &r.numa_affinity), (&None, &None), "{n}: {r:?}");
            }
        }
        let nics = m.columns.iter().filter(|c| c.starts_with("NIC")).count();
        assert_eq!(m.nic_legend.len(), nics, "{n}");
        let rendered = render(m);
        let again = matrices(&rendered);
        assert_eq!(again.len(), 1, "{n}:\n{rendered}");
        assert_eq!(again[0].columns, m.columns, "{n}");
        assert_eq!(grid(&again[0]), grid(m), "{n}:\n{rendered}");
        assert_eq!(again[0].nic_legend, m.nic_legend, "{n}");
    }
    // 047 has `GPU NUMA ID` but no NIC; 033 no `GPU NUMA ID`.
    let h100 = matrices(
        &std::fs::read_to_string(
            crate::test_corpus("032")
                .expect("found above")
                .join("topo/032-hgx-h100-8gpu-8cx7-nvidia-smi-topo.txt"),
        )
        .unwrap(),
    );
    let g0 = &h100[0].rows[0];
    assert_eq!(g0.cells[1..9], ["NV18"; 7].iter().copied().chain(["PIX"]).collect::<Vec<_>>()[..]);
    assert_eq!(
        (g0.cpu_affinity.as_deref(), g0.numa_affinity.as_deref(), g0.gpu_numa_id.as_deref()),
        (Some("0-47,96-143"), Some("0"), Some("N/A"))
    );
}

#[test]
fn smi_matrix_in_an_nccl_tests_log() {
    let Some(files) = corpus_files("nccl", |n| n.starts_with("128-")) else { return };
    let p = &files[0];
    let ms = matrices(&std::fs::read_to_string(p).unwrap());
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].line, 10);
    assert_eq!(ms[0].rows.len(), 8);
    assert_eq!(ms[0].rows[7].cells, ["SYS", "NV2", "SYS", "SYS", "NV2", "NV1", "NV1", "X"]);
    assert_eq!(ms[0].rows[7].cpu_affinity.as_deref(), Some("0-95"));
    // No other corpus log holds a matrix (no false positives on prose mentioning GPU0).
    let Some(all) = corpus_files("nccl", |_| true) else { return };
    for p in &all {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        let found = matrices(&text).len();
        assert_eq!(found, usize::from(name(p).starts_with("128-")), "{}", name(p));
    }
}

/// Whether an NCCL message looks like the topology printout (to find every such line in the
/// corpus independently of the parser under test).
fn looks_like_printout(msg: &str) -> bool {
    let t = msg.trim_start();
    // `XXX/` then an id of hex digits and dashes up to a space or the end.
    let node = |s: &str| {
        let word = s.split(' ').next().unwrap_or("");
        word.len() > 4
            && word.as_bytes()[..3].iter().all(u8::is_ascii_uppercase)
            && word.as_bytes()[3] == b'/'
            && word[4..].bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    };
    t.starts_with("=== System")
        || (t.len() >= 10 && t.bytes().all(|b| b == b'='))
        || (t.starts_with("+ ") && t.contains('['))
        || node(t)
}

#[test]
fn every_printout_line_in_the_nccl_corpus_parses() {
    let Some(files) = corpus_files("nccl", |_| true) else { return };
    let mut parsed = 0;
    let mut failures = Vec::new();
    for p in &files {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        for (i, line) in text.lines().enumerate() {
            let Some(nccl) = crate::nccl::parse_line(line) else { continue };
            let topo_event = matches!(nccl.event, crate::nccl::Event::Topology { .. });
            if !topo_event && !looks_like_printout(nccl.message) {
                continue;
            }
            match parse_printout(nccl.message) {
                Some(_) => parsed += 1,
                None => failures.push(format!("{}:{}: {:?}", name(p), i + 1, nccl.message)),
            }
        }
    }
    eprintln!("{parsed} printout lines parsed");
    for f in &failures {
        eprintln!("not parsed: {f}");
    }
    assert!(parsed >= 30, "{parsed}");
    assert!(failures.is_empty(), "{} printout lines did not parse", failures.len());
}

mod fuzz {
    use proptest::prelude::*;

    use super::super::printout::{parse_printout, PrintoutDepth};
    use super::super::smi::{render, SmiBuilder};
    use super::super::xml::parse_xml;

    proptest! {
        #[test]
        fn xml_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let doc = parse_xml(&data[..]);
            for e in &doc.elements {
                prop_assert!(e.parent.is_none_or(|p| p < doc.elements.len()));
            }
        }

        #[test]
        fn xml_like_never_panics(s in "(<[a-z]{1,3}( [a-z]=\"[^\"]{0,5}\")*/?>|</[a-z]{1,3}>|&[a-z#0-9]{0,4};?|<!--|-->|\n| ){0,60}") {
            let _ = parse_xml(s.as_bytes());
        }

        #[test]
        fn printout_never_panics(s in "[ +=A-Z/0-9a-f\\-\\[\\]().:]{0,80}") {
            let mut depth = PrintoutDepth::new();
            if let Some(line) = parse_printout(&s) {
                let _ = depth.depth(&line);
                let _ = line.gpu_rank();
            }
        }

        #[test]
        fn smi_never_panics(lines in proptest::collection::vec("[ \tGPU0-9NICX:a-z_,/-]{0,40}", 0..20)) {
            let mut b = SmiBuilder::new();
            b.push(1, "\tGPU0\tGPU1\tCPU Affinity");
            for (i, l) in lines.iter().enumerate() {
                b.push(i as u64 + 2, l);
            }
            for m in b.finish() {
                let _ = render(&m);
            }
        }
    }
}
