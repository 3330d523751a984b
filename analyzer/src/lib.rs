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

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use ncclscope_parser::input::PathProblem;
use ncclscope_parser::{
    scan_inputs_tuned, HotNccl, HotRun, InputId, InputKind, InputSpec, InputSummary, Position, Record,
    RecordSink, Tuning,
};

pub use catalog::{RuleId, Severity, CATALOG};
pub use finding::{Evidence, Finding};
pub use model::Job;
pub use platform::{DetectedPlatform, Platform, PlatformSource};

/// Options that change the analysis.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--platform NAME`: overrides detection.
    pub platform: Option<&'static Platform>,
    /// Updated while inputs are read, for a progress bar on another thread.
    pub progress: Option<Arc<Progress>>,
    /// How inputs are cut and how many threads read them (tests cut them small).
    pub tuning: Tuning,
}

/// How far [`analyze`] is: bytes read of all inputs (decoded bytes, so a compressed input can
/// take its share past 100 %: [`Progress::fraction`] clamps) and inputs finished. Written with
/// relaxed atomics every few thousand lines; read from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    inputs_done: AtomicUsize,
    inputs_total: AtomicUsize,
    finished: std::sync::atomic::AtomicBool,
}

impl Progress {
    pub fn bytes_done(&self) -> u64 {
        self.bytes_done.load(Ordering::Relaxed)
    }
    /// Sum of the sizes of the file inputs (stdin counts 0).
    pub fn bytes_total(&self) -> u64 {
        self.bytes_total.load(Ordering::Relaxed)
    }
    pub fn inputs_done(&self) -> usize {
        self.inputs_done.load(Ordering::Relaxed)
    }
    pub fn inputs_total(&self) -> usize {
        self.inputs_total.load(Ordering::Relaxed)
    }
    /// Reading is over; the rules are running or done.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Relaxed)
    }
    /// 0.0–1.0 by bytes when the total is known, else by inputs.
    pub fn fraction(&self) -> f64 {
        let total = self.bytes_total();
        if total > 0 {
            return (self.bytes_done() as f64 / total as f64).min(1.0);
        }
        let inputs = self.inputs_total();
        if inputs > 0 {
            (self.inputs_done() as f64 / inputs as f64).min(1.0)
        } else {
            0.0
        }
    }
}

/// Lines between two progress updates: often enough for a smooth bar, rare enough to cost
/// nothing per line.
const PROGRESS_EVERY_LINES: u32 = 4096;

/// Passes records through to the model and publishes the read position now and then.
struct ProgressSink<'a> {
    inner: &'a mut model::JobBuilder,
    progress: &'a Progress,
    base: u64,
    countdown: u32,
}

impl ProgressSink<'_> {
    #[inline]
    fn tick(&mut self, pos: Position) {
        self.countdown -= 1;
        if self.countdown == 0 {
            self.countdown = PROGRESS_EVERY_LINES;
            self.progress.bytes_done.store(self.base + pos.offset, Ordering::Relaxed);
        }
    }
}

impl RecordSink for ProgressSink<'_> {
    fn record(&mut self, input: InputId, pos: Position, text: &str, record: &Record<'_>) {
        self.tick(pos);
        self.inner.record(input, pos, text, record);
    }
    fn hot_nccl(&mut self, input: InputId, pos: Position, text: &str, hot: &HotNccl<'_>) {
        self.tick(pos);
        self.inner.hot_nccl(input, pos, text, hot);
    }
    fn takes_hot_runs(&self) -> bool {
        self.inner.takes_hot_runs()
    }
    fn hot_run(&mut self, input: InputId, run: &HotRun<'_>) {
        self.tick(run.last);
        self.inner.hot_run(input, run);
    }
    fn input_done(&mut self, _input: InputId, summary: &InputSummary) {
        self.base += summary.bytes;
        self.progress.bytes_done.store(self.base, Ordering::Relaxed);
        self.progress.inputs_done.fetch_add(1, Ordering::Relaxed);
    }
    fn xml(&mut self, input: InputId, doc: &ncclscope_parser::topo::XmlDoc) {
        self.inner.xml(input, doc);
    }
    fn smi(&mut self, input: InputId, matrix: &ncclscope_parser::topo::SmiMatrix) {
        self.inner.smi(input, matrix);
    }
}

/// Everything a report shows.
#[derive(Debug)]
pub struct Analysis {
    pub inputs: Vec<InputSummary>,
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
    let progress = options.progress.clone().unwrap_or_default();
    let total = specs.iter().map(InputSpec::stored_size).sum();
    progress.bytes_total.store(total, Ordering::Relaxed);
    progress.inputs_total.store(specs.len(), Ordering::Relaxed);
    let mut sink =
        ProgressSink { inner: &mut builder, progress: &progress, base: 0, countdown: PROGRESS_EVERY_LINES };
    // Reading and parsing run on worker threads, the model on this one (see the parser's
    // `pipeline` module): the same effect as scanning the inputs one by one.
    inputs.extend(scan_inputs_tuned(specs, &mut sink, options.tuning));
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
    progress.finished.store(true, Ordering::Relaxed);
    let job = builder.finish_reading_back(specs);
    let platform = detect_platform(&job, options);
    let findings = {
        let ctx = rules::Ctx { job: &job, inputs: &inputs, platform: platform.as_ref() };
        rules::run_all(&ctx)
    };
    Analysis { inputs, job, platform, findings }
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
