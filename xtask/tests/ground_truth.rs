//! The generator's ground truth: a small synthetic job per transport, run through the analyzer
//! library, fires the rules it should and no others of critical severity.

use std::collections::BTreeSet;
use std::path::Path;

use ncclscope_analyzer::{analyze, Analysis, Options, Severity};
use ncclscope_parser::expand_paths;
use ncclscope_xtask::{generate, Config, Layout, Net};

fn run(dir: &Path, net: Net, layout: Layout) -> Analysis {
    let out = match layout {
        Layout::Single => dir.join("job.log"),
        Layout::PerRank => dir.join("job"),
    };
    let cfg = Config { ranks: 16, hosts: 2, size: 1 << 20, layout, net, out: out.clone(), seed: 42 };
    let stats = generate(&cfg).expect("generate");
    assert!(stats.bytes >= (1 << 20) - 8192 && stats.bytes <= (1 << 20) + 64 * 1024, "{stats:?}");
    let (specs, problems) = expand_paths(&[out]);
    assert!(problems.is_empty());
    analyze(&specs, &problems, &Options::default())
}

fn rules(a: &Analysis, sev: Severity) -> BTreeSet<&'static str> {
    a.findings.iter().filter(|f| f.severity == sev).map(|f| f.rule.as_str()).collect()
}

fn check_job(a: &Analysis, layout: Layout) {
    let files = if layout == Layout::Single { 1 } else { 16 };
    assert_eq!(a.inputs.len(), files);
    assert!(a.inputs.iter().all(|i| i.error.is_none() && i.warnings.is_empty()), "{:?}", a.inputs);
    assert_eq!(a.job.comms.len(), 1, "one communicator");
    let comm = a.job.comms.values().next().unwrap();
    assert_eq!(comm.nranks, 16);
    assert_eq!(comm.ranks.len(), 16);
    assert_eq!(comm.ranks_complete(), 16);
    let hosts: BTreeSet<&str> = a.job.procs.iter().filter_map(|p| p.host.as_deref()).collect();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    // (the bare `NCCL version` banner is a process of its own, without a host)
    assert_eq!(a.job.procs.iter().filter(|p| p.host.is_some()).count(), 16);
    // The WARNs the generator sprinkles are reported (as warnings, never critical).
    assert!(rules(a, Severity::Warning).contains("NCCL_WARN"), "{:?}", rules(a, Severity::Warning));
}

#[test]
fn socket_job_is_a_socket_fallback() {
    for layout in [Layout::Single, Layout::PerRank] {
        let dir = tempfile::tempdir().unwrap();
        let a = run(dir.path(), Net::Socket, layout);
        check_job(&a, layout);
        let crit = rules(&a, Severity::Critical);
        assert!(crit.contains("NET_SOCKET_FALLBACK"), "{crit:?}");
        let f = a.findings.iter().find(|f| f.rule.as_str() == "NET_SOCKET_FALLBACK").unwrap();
        assert_eq!(f.ranks.len(), 16, "{:?}", f.ranks);
        assert_eq!(f.hosts.len(), 2);
        assert!(crit.iter().all(|r| ["NET_SOCKET_FALLBACK", "IB_NO_DEVICE"].contains(r)), "{crit:?}");
    }
}

#[test]
fn efa_and_ib_jobs_are_healthy() {
    for net in [Net::Efa, Net::Ib] {
        for layout in [Layout::Single, Layout::PerRank] {
            let dir = tempfile::tempdir().unwrap();
            let a = run(dir.path(), net, layout);
            check_job(&a, layout);
            let crit = rules(&a, Severity::Critical);
            assert!(crit.is_empty(), "{net:?} {layout:?}: {crit:?}");
            if net == Net::Efa {
                let p = a.platform.as_ref().expect("platform detected");
                assert_eq!(p.name, "p5.48xlarge");
            }
        }
    }
}
