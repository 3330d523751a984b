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
        if matches!(summary.kind, InputKind::UcxLog | InputKind::UcxInfo | InputKind::NixlLog)
            || summary.kind.is_xml()
            || summary.kind == InputKind::NvidiaSmiTopo
        {
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

/// `--platform` wins; else aws-ofi-nccl's `Running on <instance> platform`.
fn detect_platform(job: &Job, options: &Options) -> Option<DetectedPlatform> {
    if let Some(p) = options.platform {
        return Some(DetectedPlatform {
            platform: Some(p),
            name: p.name.to_string(),
            from: PlatformSource::Flag,
        });
    }
    let f = job
        .ofi_platform
        .iter()
        .find(|f| platform::lookup(&f.data).is_some())
        .or(job.ofi_platform.iter().next())?;
    Some(DetectedPlatform {
        platform: platform::lookup(&f.data),
        name: f.data.clone(),
        from: PlatformSource::Line(f.ev.clone()),
    })
}
