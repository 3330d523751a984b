//! Properties of the whole pipeline (issue 7), checked with proptest.
//!
//! mpirun, srun and torchrun merge the output of every process into one stream in whatever order
//! the lines arrive; ncclscope must reach the same conclusion for any such order. So: split a
//! job log into per-process line sequences, interleave them at random (each process keeps its
//! own order) and check the job model summary and the findings are those of the original.
use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;

use ncclscope_analyzer::report::json;
use ncclscope_analyzer::{analyze, Options};
use ncclscope_parser::input::InputSource;
use ncclscope_parser::InputSpec;

/// Lines grouped by the process that printed them (`host:pid` of the NCCL header); a line
/// without a header (the `NCCL version` banner, a test table row) stays with the process before
/// it, and lines before any header form their own group, which stays first.
fn per_process(text: &str) -> (Vec<&str>, Vec<Vec<&str>>) {
    let mut lead = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        let key = line.split_once(' ').and_then(|(head, _)| {
            let mut parts = head.split(':');
            let (host, pid) = (parts.next()?, parts.next()?);
            (pid.chars().all(|c| c.is_ascii_digit()) && !pid.is_empty()).then(|| format!("{host}:{pid}"))
        });
        match key {
            Some(k) => {
                let i = keys.iter().position(|x| *x == k).unwrap_or_else(|| {
                    keys.push(k);
                    groups.push(Vec::new());
                    keys.len() - 1
                });
                groups[i].push(line);
                current = Some(i);
            }
            None => match current {
                Some(i) => groups[i].push(line),
                None => lead.push(line),
            },
        }
    }
    (lead, groups)
}

/// Interleaves `groups` keeping each group's order; `choices` picks the next group.
fn interleave(lead: &[&str], groups: &[Vec<&str>], choices: &[usize]) -> String {
    let mut pos = vec![0; groups.len()];
    let mut out: Vec<&str> = lead.to_vec();
    let mut c = choices.iter().cycle();
    loop {
        let open: Vec<usize> = (0..groups.len()).filter(|&g| pos[g] < groups[g].len()).collect();
        if open.is_empty() {
            break;
        }
        let g = open[c.next().copied().unwrap_or(0) % open.len()];
        out.push(groups[g][pos[g]]);
        pos[g] += 1;
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// A finding as far as the order of lines cannot change it: rule, hosts, ranks.
type FindingKey = (String, Vec<String>, Vec<u64>);

/// What must not depend on the order: the job summary (but positions) and, per finding, its
/// rule, hosts and ranks.
fn conclusion(text: &str) -> (serde_json::Value, BTreeSet<FindingKey>) {
    let spec =
        InputSpec { display: "job.log".into(), source: InputSource::Bytes(Arc::from(text.as_bytes())) };
    let a = analyze(&[spec], &[], &Options::default());
    let v: serde_json::Value = serde_json::from_str(&json::render(&a)).expect("valid JSON");
    let findings = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut hosts: Vec<String> = f["hosts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| h.as_str().map(String::from))
                .collect();
            hosts.sort();
            let mut ranks: Vec<u64> =
                f["ranks"].as_array().into_iter().flatten().filter_map(|r| r.as_u64()).collect();
            ranks.sort();
            (f["rule"].as_str().unwrap_or("").to_owned(), hosts, ranks)
        })
        .collect();
    let mut job = v["job"].clone();
    // Where the platform was read (`job.log:29`) is a position, which moves with the order.
    if let Some(j) = job.as_object_mut() {
        j.remove("instance_type_source");
    }
    (job, findings)
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name))
        .expect("sample")
}

/// The stuck-init job as one merged stream: one file per process, concatenated.
fn stuck_init() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/stuck-init");
    let mut files: Vec<_> =
        std::fs::read_dir(dir).expect("dir").filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    files.iter().map(|f| std::fs::read_to_string(f).expect("read")).collect()
}

fn check_any_interleaving(text: &str, choices: &[usize]) -> Result<(), TestCaseError> {
    let (lead, groups) = per_process(text);
    prop_assume!(groups.len() > 1);
    let expected = conclusion(text);
    let shuffled = interleave(&lead, &groups, choices);
    let got = conclusion(&shuffled);
    prop_assert_eq!(&got.0, &expected.0, "job summary differs");
    prop_assert_eq!(&got.1, &expected.1, "findings differ");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_processes_gives_the_same_conclusion_healthy(
        choices in proptest::collection::vec(0usize..64, 1..400)
    ) {
        check_any_interleaving(&sample("p5-efa-healthy.log"), &choices)?;
    }

    #[test]
    fn any_interleaving_of_processes_gives_the_same_conclusion_socket(
        choices in proptest::collection::vec(0usize..64, 1..400)
    ) {
        check_any_interleaving(&sample("p5-socket-fallback.log"), &choices)?;
    }

    #[test]
    fn any_interleaving_of_processes_gives_the_same_conclusion_stuck_init(
        choices in proptest::collection::vec(0usize..64, 1..400)
    ) {
        check_any_interleaving(&stuck_init(), &choices)?;
    }
}
