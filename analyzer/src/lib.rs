//! ncclscope-analyzer: the job model, the rule catalog and the reports.
//!
//! [`analyze`] streams every input through the parser into the [`model::JobBuilder`], detects
//! the platform, runs the rules and returns an [`Analysis`] that the reports render.
//! No terminal code here.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod finding;
pub mod model;
pub mod nccltests;
pub mod platform;
pub mod report;
pub mod rules;
pub mod topology;

use ncclscope_parser::input::PathProblem;
use ncclscope_parser::{scan_input, InputId, InputKind, InputSpec, InputSummary};

pub use catalog::{RuleId, Severity, CATALOG};
pub use finding::{Evidence, Finding};
pub use model::Job;
pub use platform::{DetectedPlatform, Platform, PlatformSource};

/// Options that change the analysis.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--platform NAME`: overrides detection.
    pub platform: Option<&'static Platform>,
}

/// Everything a report shows.
#[derive(Debug)]
pub struct Analysis {
    pub inputs: Vec<InputSummary>,
    /// Notes per input that are not problems (a kind this version does not analyse yet).
    pub notes: Vec<(InputId, String)>,
    pub job: Job,
    pub platform: Option<DetectedPlatform>,
    pub findings: Vec<Finding>,
}

impl Analysis {
    /// The path of an input, for evidence.
    pub fn path(&self, input: InputId) -> &str {
        self.inputs.get(input.0 as usize).map_or("?", |i| i.path.as_str())
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Reads every input (a bad one never stops the others), builds the job model and runs
/// the rules. `problems` are path-level problems found while expanding directories; they are
/// listed as unreadable inputs.
pub fn analyze(specs: &[InputSpec], problems: &[PathProblem], options: &Options) -> Analysis {
    let mut builder = model::JobBuilder::new();
    let mut inputs: Vec<InputSummary> = Vec::with_capacity(specs.len() + problems.len());
    let mut notes = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let id = InputId(u32::try_from(i).unwrap_or(u32::MAX));
        let summary = scan_input(id, spec, &mut builder);
        if summary.kind.is_xml() || summary.kind == InputKind::NvidiaSmiTopo {
            notes.push((
                id,
                format!(
                    "{} detected: its own analysis is not part of this version yet (any NCCL lines in it were analysed)",
                    summary.kind.as_str()
                ),
            ));
        }
        inputs.push(summary);
    }
    for p in problems {
        inputs.push(InputSummary {
            path: p.path.clone(),
            kind: InputKind::Unknown,
            bytes: 0,
            lines: 0,
            warnings: Vec::new(),
            error: Some(p.message.clone()),
            skipped: false,
        });
    }
    let job = builder.finish();
    let platform = detect_platform(&job, options);
    let findings = {
        let ctx = rules::Ctx { job: &job, inputs: &inputs, platform: platform.as_ref() };
        rules::run_all(&ctx)
    };
    Analysis { inputs, notes, job, platform, findings }
}

/// `--platform` wins; else aws-ofi-nccl's `Running on <instance> platform` when the table knows
/// the instance; else a platform topology file (`NCCL_TOPO_FILE … p5.48xl-topo.xml`); else a
/// guess from hardware (GPU model in the nccl-tests device list, EFA NIC count); else whatever
/// name aws-ofi-nccl printed (`Plugin selected platform: AWS`).
fn detect_platform(job: &Job, options: &Options) -> Option<DetectedPlatform> {
    use platform::{Confidence, HardwareHints};
    if let Some(p) = options.platform {
        return Some(DetectedPlatform {
            platform: Some(p),
            name: p.name.to_string(),
            from: PlatformSource::Flag,
            confidence: Confidence::Flag,
            basis: "--platform".into(),
        });
    }
    if let Some((f, p)) = job.ofi_platform.iter().find_map(|f| platform::lookup(&f.data).map(|p| (f, p))) {
        return Some(DetectedPlatform {
            platform: Some(p),
            name: f.data.clone(),
            from: PlatformSource::Line(f.ev.clone()),
            confidence: Confidence::Named,
            basis: "aws-ofi-nccl's platform line".into(),
        });
    }
    let topo = job
        .env
        .iter()
        .chain(job.cmdline_env.iter())
        .filter(|f| f.data.0 == "NCCL_TOPO_FILE")
        .find_map(|f| platform::from_topo_file(&f.data.1).map(|p| (f, p)));
    if let Some((f, p)) = topo {
        let file = f.data.1.rsplit('/').next().unwrap_or(&f.data.1);
        return Some(DetectedPlatform {
            platform: Some(p),
            name: p.name.to_string(),
            from: PlatformSource::Line(f.ev.clone()),
            confidence: Confidence::Named,
            basis: format!("topology file {file}"),
        });
    }
    // EFA evidence: the provider line (its NIC count is the largest any process found).
    let efa_line = job
        .ofi_provider
        .iter()
        .filter(|f| f.data.0.to_ascii_lowercase().contains("efa"))
        .max_by_key(|f| f.data.1.unwrap_or(0));
    if let Some(efa_line) = efa_line {
        let run = job.tests.iter().find(|r| !r.gpu_models.is_empty());
        let per_host = run.and_then(|r| {
            let hosts = u32::try_from(r.hosts.len()).ok().filter(|h| *h > 0)?;
            let ranks = u32::try_from(r.nranks).ok()?;
            ranks.is_multiple_of(hosts).then_some(ranks / hosts)
        });
        let local = job.local_ranks.iter().map(|f| f.data).max();
        let hints = HardwareHints {
            gpu_model: run.and_then(|r| r.gpu_models.first()).map(String::as_str),
            gpus_per_host: per_host.max(local),
            efa_nics: efa_line.data.1,
            efa: true,
        };
        if let Some((p, basis)) = platform::guess(&hints) {
            return Some(DetectedPlatform {
                platform: Some(p),
                name: p.name.to_string(),
                from: PlatformSource::Line(efa_line.ev.clone()),
                confidence: Confidence::Guess,
                basis,
            });
        }
    }
    let f = job.ofi_platform.iter().next()?;
    Some(DetectedPlatform {
        platform: None,
        name: f.data.clone(),
        from: PlatformSource::Line(f.ev.clone()),
        confidence: Confidence::Named,
        basis: "aws-ofi-nccl's platform line".into(),
    })
}
