//! Replays every seed (corpus/, from seed.sh), every crash libFuzzer saved (artifacts/) and
//! every committed regression input (regressions/) through the harnesses, on stable:
//! `cargo test --release` in this directory. Runs without libFuzzer, so it also works where no
//! nightly toolchain is installed.
use std::path::Path;

type Harness = fn(&[u8]);

const TARGETS: [(&str, Harness); 7] = [
    ("nccl_line", ncclscope_fuzz::nccl_line),
    ("nccltests_line", ncclscope_fuzz::nccltests_line),
    ("ucx_line", ncclscope_fuzz::ucx_line),
    ("ucx_info", ncclscope_fuzz::ucx_info),
    ("topo_xml", ncclscope_fuzz::topo_xml),
    ("smi", ncclscope_fuzz::smi),
    ("pipeline", ncclscope_fuzz::pipeline),
];

#[test]
fn replay_seeds_crashes_and_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut total = 0;
    for (name, harness) in TARGETS {
        for sub in ["corpus", "artifacts", "regressions"] {
            let dir = root.join(sub).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).expect("readable");
                eprintln!("{name}: {}", f.display());
                harness(&data);
                total += 1;
            }
        }
    }
    if total == 0 {
        eprintln!("SKIP: no seeds (run ./seed.sh) and no saved crashes");
    }
    // The harnesses themselves on edge inputs.
    for (_, harness) in TARGETS {
        for data in [&b""[..], b"\n", b"\r", b"\0", b"\xff\xfe", b"<", b"\x1f\x8b", b"\x28\xb5\x2f\xfd"] {
            harness(data);
        }
    }
}
