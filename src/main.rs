//! ncclscope: the binary only wires the crates together (parse flags → config → analyze →
//! render). Exit codes: 0 fine, 1 a finding at or above `--fail-on`, 2 usage or input error.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use ncclscope_analyzer::catalog::{RuleId, Severity, CATALOG};
use ncclscope_analyzer::report::{json, markdown, text, topo};
use ncclscope_analyzer::{analyze, platform, rules, Analysis, Options, Progress};
use ncclscope_parser::expand_paths;
use ncclscope_parser::sanitize::sanitize_line;

#[derive(Parser, Debug)]
#[command(
    name = "ncclscope",
    version,
    about = "Triage NCCL / UCX / topology logs of multi-node GPU jobs: what is wrong, the lines that prove it, the fix."
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log files or directories (`-` for stdin); opens the TUI on a terminal, else prints the
    /// text report.
    paths: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyze logs and write a report.
    Report(ReportArgs),
    /// Show the machine topology: per host a tree and the GPU×GPU / GPU×NIC matrix, and which
    /// NIC each GPU used vs its nearest one.
    Topo(TopoArgs),
    /// List the rule catalog, or show one rule.
    Rules {
        /// A rule ID such as NET_SOCKET_FALLBACK.
        id: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
    /// The platform (instance type), overriding detection: p4d.24xlarge, p5.48xlarge, dgx-h100, …
    #[arg(long, value_name = "NAME")]
    platform: Option<String>,
    /// Log files or directories; `-` reads stdin. `.gz` / `.zst` are decompressed.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct TopoArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = TopoFormat::Text)]
    format: TopoFormat,
    /// Topology dumps (NCCL_TOPO_DUMP_FILE / NCCL_GRAPH_DUMP_FILE XML), `nvidia-smi topo -m`
    /// outputs and NCCL logs, files or directories; `-` reads stdin.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TopoFormat {
    Text,
    Dot,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FailOn {
    Critical,
    Warning,
    Info,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Critical => Severity::Critical,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

/// A usage or input error: exit code 2.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                // --help / --version: our own text.
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap quotes the offending argument verbatim; it may hold escape sequences (a
            // pasted file name), so the message goes out plain and sanitized (issue 7).
            eprint!("{}", inert(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("ncclscope: {}", inert(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

/// `s` with control sequences stripped line by line (the line breaks are kept): error messages
/// quote paths and arguments, which must not drive the terminal.
fn inert(s: &str) -> String {
    let mut out: Vec<_> = s.lines().map(sanitize_line).collect();
    if s.ends_with('\n') {
        out.push("".into());
    }
    out.join("\n")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Some(Command::Rules { id }) => rules_cmd(id.as_deref()),
        Some(Command::Report(args)) => report_cmd(args),
        Some(Command::Topo(args)) => topo_cmd(args),
        None => {
            if cli.paths.is_empty() {
                bail!(UsageError("no input: give log files or directories (see --help)".into()));
            }
            if interactive_terminal() {
                ncclscope_tui::run(cli.paths, Options::default())?;
                return Ok(0);
            }
            // Piped or redirected: the text report, as `ncclscope report`.
            report_cmd(ReportArgs {
                format: Format::Text,
                output: None,
                fail_on: None,
                platform: None,
                paths: cli.paths,
            })
        }
    }
}

/// The TUI needs a terminal to draw on (stdout) and one to read keys from: stdin, or
/// /dev/tty when stdin carries a log (`cat job.log | ncclscope -`).
fn interactive_terminal() -> bool {
    std::io::stdout().is_terminal()
        && (std::io::stdin().is_terminal()
            || std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").is_ok())
}

fn analysis_for(paths: &[PathBuf], platform_name: Option<&str>) -> Result<Analysis> {
    let platform = match platform_name {
        None => None,
        Some(name) => match platform::lookup(name) {
            Some(p) => Some(p),
            None => {
                let known: Vec<&str> = platform::PLATFORMS.iter().map(|p| p.name).collect();
                bail!(UsageError(format!("unknown platform '{name}'; known: {}", known.join(", "))));
            }
        },
    };
    let (specs, problems) = expand_paths(paths);
    let fatal: Vec<String> =
        problems.iter().filter(|p| p.fatal).map(|p| format!("{}: {}", p.path, p.message)).collect();
    if !fatal.is_empty() {
        bail!(UsageError(fatal.join("\n")));
    }
    let non_fatal: Vec<_> = problems.into_iter().filter(|p| !p.fatal).collect();
    let progress = Arc::new(Progress::default());
    let options = Options { platform, progress: Some(progress.clone()), ..Options::default() };
    let bar = std::io::stderr().is_terminal().then(|| std::thread::spawn(move || progress_bar(&progress)));
    let analysis = analyze(&specs, &non_fatal, &options);
    if let Some(bar) = bar {
        let _ = bar.join();
    }
    Ok(analysis)
}

/// Inputs smaller than this finish before a bar would be worth drawing.
const PROGRESS_BAR_MIN_BYTES: u64 = 100 * 1024 * 1024;

/// Draws a progress bar on stderr (a terminal) while `analyze` reads more than
/// [`PROGRESS_BAR_MIN_BYTES`]; returns when reading is over.
fn progress_bar(progress: &Progress) {
    let tick = std::time::Duration::from_millis(100);
    // `analyze` publishes the total first thing; small jobs never see a bar.
    while progress.bytes_total() == 0 && !progress.is_finished() {
        std::thread::sleep(tick / 10);
    }
    if progress.bytes_total() < PROGRESS_BAR_MIN_BYTES {
        return;
    }
    let bar = ProgressBar::new(progress.bytes_total()).with_style(
        ProgressStyle::with_template(
            "{spinner} reading {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {wide_bar}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    while !progress.is_finished() {
        bar.set_position(progress.bytes_done());
        std::thread::sleep(tick);
    }
    bar.finish_and_clear();
}

fn report_cmd(args: ReportArgs) -> Result<u8> {
    let analysis = analysis_for(&args.paths, args.platform.as_deref())?;
    let body = match args.format {
        Format::Json => {
            let mut s = json::render(&analysis);
            s.push('\n');
            s
        }
        Format::Markdown => markdown::render(&analysis),
        Format::Text => {
            let to_tty = args.output.is_none() && std::io::stdout().is_terminal();
            let color = to_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            text::render(&analysis, text::Style { color })
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, body).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(body.as_bytes())?;
            out.flush()?;
        }
    }
    let fail = args.fail_on.map(Severity::from).is_some_and(|min| analysis.worst().is_some_and(|w| w >= min));
    Ok(u8::from(fail))
}

fn topo_cmd(args: TopoArgs) -> Result<u8> {
    let analysis = analysis_for(&args.paths, None)?;
    let mut body = match args.format {
        TopoFormat::Text => topo::render_text(&analysis),
        TopoFormat::Dot => topo::render_dot(&analysis),
        TopoFormat::Json => topo::render_json(&analysis),
    };
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let mut out = std::io::stdout().lock();
    out.write_all(body.as_bytes())?;
    out.flush()?;
    Ok(0)
}

fn rules_cmd(id: Option<&str>) -> Result<u8> {
    let mut out = String::new();
    match id {
        Some(id) => {
            let rule: RuleId = id.trim().to_ascii_uppercase().parse().map_err(|e: String| UsageError(e))?;
            let r = rule.info();
            out.push_str(&format!(
                "{}\n  severity: {}\n  family:   {}\n  title:    {}\n  reveals:  {}\n  remedy:   {}\n  source:   {}\n  checked:  {}\n",
                r.id,
                r.severity.as_str(),
                r.family,
                r.title,
                r.reveals,
                r.remedy,
                r.source,
                if rules::is_checked(r.id) { "yes" } else { "not yet (catalog entry only)" }
            ));
        }
        None => {
            out.push_str(&format!("{:<24} {:<9} {:<8} TITLE\n", "ID", "SEVERITY", "CHECKED"));
            for r in CATALOG {
                out.push_str(&format!(
                    "{:<24} {:<9} {:<8} {}\n",
                    r.id.as_str(),
                    r.severity.as_str(),
                    if rules::is_checked(r.id) { "yes" } else { "-" },
                    r.title
                ));
            }
            out.push_str("\n`ncclscope rules ID` shows what reveals a rule, its remedy and its source.\n");
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(0)
}
