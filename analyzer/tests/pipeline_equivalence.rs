//! `analyze` reads through the parallel pipeline, where inputs are read in pieces on worker
//! threads and plain COLL lines take the model's fast paths (`JobBuilder::hot_nccl`, and
//! `hot_run` for lines added up per process). The job it builds must be exactly the one the
//! plain, one-thread scan builds with every line fully parsed, however the inputs are cut.
use std::path::Path;
use std::sync::Arc;

use ncclscope_analyzer::model::{Job, JobBuilder};
use ncclscope_analyzer::{analyze, Options};
use ncclscope_parser::input::InputSource;
use ncclscope_parser::{expand_paths, scan_input, InputId, InputSpec, Tuning};

fn sequential_job(specs: &[InputSpec]) -> Job {
    let mut builder = JobBuilder::new();
    for (i, spec) in specs.iter().enumerate() {
        scan_input(InputId(i as u32), spec, &mut builder);
    }
    builder.finish()
}

/// What the fast path touches (processes, coverage) and what depends on process identity
/// (communicators, connections, warnings), compared part by part so a failure names the part.
/// (The whole `Job` holds hash maps whose debug order differs run to run.)
fn assert_same_job(specs: &[InputSpec]) {
    let plain = sequential_job(specs);
    let tunings = [
        Tuning::default(),
        Tuning { workers: 2, piece_bytes: 4096 },
        Tuning { workers: 3, piece_bytes: 1000 },
    ];
    for tuning in tunings {
        let piped = analyze(specs, &[], &Options { tuning, ..Options::default() }).job;
        assert_same(&piped, &plain, tuning);
    }
}

fn assert_same(piped: &Job, plain: &Job, tuning: Tuning) {
    eprintln!("checking {tuning:?}");
    assert_eq!(piped.procs.len(), plain.procs.len());
    for (i, (a, b)) in piped.procs.iter().zip(&plain.procs).enumerate() {
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "process {i}");
    }
    assert_eq!(format!("{:?}", piped.coverage), format!("{:?}", plain.coverage));
    assert_eq!(format!("{:?}", piped.comms), format!("{:?}", plain.comms));
    assert_eq!(format!("{:?}", piped.connections), format!("{:?}", plain.connections));
    assert_eq!(format!("{:?}", piped.net_use), format!("{:?}", plain.net_use));
    assert_eq!(format!("{:?}", piped.warns), format!("{:?}", plain.warns));
    assert_eq!(format!("{:?}", piped.topo_printout), format!("{:?}", plain.topo_printout));
    assert_eq!(format!("{:?}", piped.notable_info), format!("{:?}", plain.notable_info));
}

/// A sample with a COLL tail appended: hot lines from known processes, from a process first
/// seen in the tail, with and without `[dev]`, interleaved with lines that are not hot.
fn with_coll_tail(sample: &str) -> String {
    let mut text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(sample))
        .expect("bundled sample");
    let hosts: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(" NCCL INFO").next().filter(|h| h.len() < l.len()))
        .map(|h| h.split(' ').next().unwrap_or("").to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for i in 0..5000 {
        let who = &hosts[i % hosts.len()];
        text.push_str(&format!(
            "{who} [{}] NCCL INFO AllReduce: opCount {i:x} sendbuff 0x7f00 recvbuff 0x7f80 count 1048576 datatype 7 op 0 root 0 comm 0x55d4 [nranks=16] stream 0x5600\n",
            i % 8
        ));
        if i % 997 == 0 {
            text.push_str("new-host:77:77 NCCL INFO Broadcast: opCount 0 sendbuff 0x1 recvbuff 0x2\n");
            text.push_str(&format!("{who} [0] NCCL WARN Call to ibv_reg_mr failed\n"));
            text.push_str("[1,3]<stdout>:new-host:77:77 [1] NCCL INFO AllGather: opCount 2 sendbuff 0x1\n");
        }
    }
    text
}

#[test]
fn pipelined_job_equals_the_one_thread_job_on_samples_with_coll_tails() {
    for sample in ["samples/p5-efa-healthy.log", "samples/p5-socket-fallback.log"] {
        let text = with_coll_tail(sample);
        let spec =
            InputSpec { display: sample.into(), source: InputSource::Bytes(Arc::from(text.as_bytes())) };
        // Compressed, the same lines cannot be read again by offset: runs carry their text.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let gz = InputSpec {
            display: format!("{sample}.gz"),
            source: InputSource::Bytes(Arc::from(gz.finish().unwrap())),
        };
        assert_same_job(&[spec.clone(), spec, gz]);
    }
}

#[test]
fn pipelined_job_equals_the_one_thread_job_on_the_corpus() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is absent (the shared corpus sits beside the repo)", corpus.display());
        return;
    }
    let (specs, _) = expand_paths(&[corpus]);
    assert!(specs.len() > 100);
    assert_same_job(&specs);
}
