//! nccl-tests runs: the parsed lines of one input assembled into one [`TestsRun`] per test
//! (`all_reduce_perf`, then `all_gather_perf`, … when a script runs several into one log).
//!
//! nccl-tests prints its sections in a fixed order: version, `Collective test starting`,
//! parameters, device list, table header and units, rows, footers, `Collective test
//! concluded`. A line whose section comes before the one the current run has reached (or a
//! second version/parameters/header line) starts the next run. Failure lines belong to
//! whichever run is open. Each run keeps at most [`MAX_ROWS`] rows and [`MAX_FAILURES`]
//! failure messages, so memory stays bounded whatever the input.
use std::collections::HashSet;

use ncclscope_parser::nccltests::{Measure, TestsLine};
use ncclscope_parser::{InputId, Position};
use serde::Serialize;

/// Rows kept per run. A factor-2 sweep from 8 B to 16 GiB prints 32; a byte-step sweep or
/// `-N` repetitions print more, but never close to this.
pub const MAX_ROWS: usize = 4096;
/// Failure messages kept per run (every rank prints its own, at every stack level).
pub const MAX_FAILURES: usize = 64;
/// Texts of rows with `#wrong` > 0 kept per run, for evidence.
pub const MAX_WRONG_TEXTS: usize = 8;
/// Distinct hosts and GPU models kept per run.
pub const MAX_HOSTS: usize = 4096;
/// Distinct ranks counted per run.
pub const MAX_RANKS: usize = 1 << 20;

/// One result row, both halves folded into the figures the rules compare.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TestsRow {
    pub size_bytes: u64,
    /// The better of out-of-place and in-place.
    pub busbw_gbps: f64,
    /// The better of out-of-place and in-place.
    pub algbw_gbps: f64,
    /// `#wrong` of both halves (v2.13+); 0 for `N/A` and the old format.
    pub wrong: u64,
    /// The old format's `error` (max deviation), the worse of both halves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_error: Option<f64>,
    pub pos: Position,
}

/// One nccl-tests run (one test binary's output) in one input.
#[derive(Serialize, Clone, Debug)]
pub struct TestsRun {
    pub input: InputId,
    /// `all_reduce` from `# Collective test starting: all_reduce_perf` (v2.x); `None` when the
    /// header was not captured.
    pub op: Option<String>,
    /// nccl-tests version (`# nccl-tests version 2.13.9 …`, v2.18+).
    pub version: Option<String>,
    /// `nccl-library=` version code of the NCCL the test ran with.
    pub nccl_library: Option<u32>,
    /// Distinct ranks listed under `# Using devices`; 0 when the list was not captured.
    pub nranks: usize,
    /// Distinct hosts of the device list, in first-seen order.
    pub hosts: Vec<String>,
    /// Distinct GPU models of the device list, in first-seen order.
    pub gpu_models: Vec<String>,
    /// `maxBytes` of the parameters line: a run whose largest row is smaller stopped early.
    pub max_bytes: Option<u64>,
    /// The first [`MAX_ROWS`] rows, in file order.
    pub rows: Vec<TestsRow>,
    /// All rows seen, including those past [`MAX_ROWS`].
    pub rows_total: usize,
    /// `# Avg bus bandwidth` (an average over all sizes, small ones included).
    pub avg_busbw_gbps: Option<f64>,
    /// `# Out of bounds values : N …`.
    pub out_of_bounds: Option<u64>,
    /// Evidence: the `Out of bounds values` line and its text.
    pub out_of_bounds_pos: Option<Position>,
    pub out_of_bounds_text: Option<String>,
    /// Rows with `#wrong` > 0 (among the kept rows).
    pub wrong_rows: Vec<Position>,
    /// Evidence: the text of the first [`MAX_WRONG_TEXTS`] rows of `wrong_rows`.
    pub wrong_row_texts: Vec<String>,
    /// nccl-tests failure lines (`Test NCCL failure common.cu:961 'internal error'`), first
    /// [`MAX_FAILURES`].
    pub failures: Vec<(Position, String)>,
    pub failures_total: usize,
    /// The last row cut before its out-of-place half was complete (`128  32  float  sum`):
    /// where a hung run stopped, or where the file was truncated. Cleared by a later full row.
    pub cut_row: Option<(Position, u64)>,
    /// A footer (`Out of bounds`, `Avg bus bandwidth`) or `Collective test concluded` was seen.
    pub completed: bool,
    /// First line of the run.
    pub first_pos: Position,
    /// Evidence: the row with the largest size (first of equal sizes), and its text.
    pub largest_row_pos: Option<Position>,
    pub largest_row_text: Option<String>,
    /// Evidence: the `Avg bus bandwidth` line.
    pub avg_pos: Option<Position>,
    pub avg_text: Option<String>,
}

impl TestsRun {
    fn new(input: InputId, first_pos: Position) -> Self {
        Self {
            input,
            op: None,
            version: None,
            nccl_library: None,
            nranks: 0,
            hosts: Vec::new(),
            gpu_models: Vec::new(),
            max_bytes: None,
            rows: Vec::new(),
            rows_total: 0,
            avg_busbw_gbps: None,
            out_of_bounds: None,
            out_of_bounds_pos: None,
            out_of_bounds_text: None,
            wrong_rows: Vec::new(),
            wrong_row_texts: Vec::new(),
            failures: Vec::new(),
            failures_total: 0,
            cut_row: None,
            completed: false,
            first_pos,
            largest_row_pos: None,
            largest_row_text: None,
            avg_pos: None,
            avg_text: None,
        }
    }

    /// The row with the largest message size (the first of equal sizes): the figure compared
    /// with a platform's expected bandwidth.
    pub fn largest(&self) -> Option<&TestsRow> {
        self.rows.iter().fold(None, |best: Option<&TestsRow>, row| match best {
            Some(b) if row.size_bytes <= b.size_bytes => Some(b),
            _ => Some(row),
        })
    }

    /// The highest bus bandwidth of any row.
    pub fn peak_busbw(&self) -> Option<f64> {
        self.rows.iter().map(|r| r.busbw_gbps).reduce(f64::max)
    }

    /// Whether the ranks span several hosts; `None` when no device list was captured.
    pub fn is_multi_node(&self) -> Option<bool> {
        (self.nranks > 0).then_some(self.hosts.len() > 1)
    }
}

/// Sections of nccl-tests output, in the order it prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    None,
    Version,
    Starting,
    Params,
    Devices,
    TableHeader,
    TableUnits,
    Rows,
    OutOfBounds,
    AvgBusBw,
    Concluded,
}

impl Section {
    /// Sections printed once per run; the others (devices, rows) repeat.
    fn once(self) -> bool {
        !matches!(self, Section::Devices | Section::Rows)
    }
}

/// Assembles the runs of one input from its nccl-tests records, in file order.
#[derive(Debug)]
pub struct TestsRunBuilder {
    input: InputId,
    current: Option<Open>,
    done: Vec<TestsRun>,
}

/// The run being assembled and what is only needed while assembling it.
#[derive(Debug)]
struct Open {
    run: TestsRun,
    section: Section,
    ranks: HashSet<u32>,
    /// Size of the largest kept row (what [`TestsRun::largest`] would return).
    largest_size: Option<u64>,
}

impl TestsRunBuilder {
    pub fn new(input: InputId) -> Self {
        Self { input, current: None, done: Vec::new() }
    }

    /// Takes one nccl-tests record; `text` is its sanitized line.
    pub fn push(&mut self, pos: Position, text: &str, line: &TestsLine<'_>) {
        let section = section_of(line);
        if section != Section::None {
            let starts_next = self
                .current
                .as_ref()
                .is_some_and(|open| section < open.section || (section == open.section && section.once()));
            if starts_next {
                if let Some(open) = self.current.take() {
                    self.done.push(open.run);
                }
            }
        }
        let input = self.input;
        let open = self.current.get_or_insert_with(|| Open {
            run: TestsRun::new(input, pos),
            section: Section::None,
            ranks: HashSet::new(),
            largest_size: None,
        });
        open.section = open.section.max(section);
        let run = &mut open.run;
        match line {
            TestsLine::Version { version, library, .. } => {
                run.version = Some((*version).to_string());
                run.nccl_library = *library;
            }
            TestsLine::Starting { test } | TestsLine::Concluded { test } => {
                if run.op.is_none() {
                    run.op = op_name(test);
                }
                if matches!(line, TestsLine::Concluded { .. }) {
                    run.completed = true;
                }
            }
            TestsLine::Params { max_bytes, .. } => run.max_bytes = Some(*max_bytes),
            TestsLine::Device { rank, host, gpu_model, .. } => {
                if open.ranks.len() < MAX_RANKS {
                    open.ranks.insert(*rank);
                }
                run.nranks = open.ranks.len();
                push_distinct(&mut run.hosts, host);
                push_distinct(&mut run.gpu_models, gpu_model);
            }
            TestsLine::Row { size_bytes, out_of_place, in_place, .. } => {
                let row = TestsRow::new(pos, *size_bytes, out_of_place, in_place.as_ref());
                push_row(run, &mut open.largest_size, text, row);
            }
            TestsLine::PartialRow { size_bytes, .. } => run.cut_row = Some((pos, *size_bytes)),
            TestsLine::OutOfBounds { count, .. } => {
                run.out_of_bounds = Some(*count);
                run.out_of_bounds_pos = Some(pos);
                run.out_of_bounds_text = Some(text.trim().to_string());
                run.completed = true;
            }
            TestsLine::AvgBusBw { gbps, .. } => {
                run.avg_busbw_gbps = Some(*gbps);
                run.avg_pos = Some(pos);
                run.avg_text = Some(text.trim().to_string());
                run.completed = true;
            }
            TestsLine::Failure { message, .. } => {
                run.failures_total += 1;
                if run.failures.len() < MAX_FAILURES {
                    run.failures.push((pos, (*message).to_string()));
                }
            }
            TestsLine::TableHeader { .. } | TestsLine::TableUnits { .. } => {}
        }
    }

    /// The runs, in file order.
    pub fn finish(mut self) -> Vec<TestsRun> {
        if let Some(open) = self.current.take() {
            self.done.push(open.run);
        }
        self.done
    }
}

fn section_of(line: &TestsLine<'_>) -> Section {
    match line {
        TestsLine::Version { .. } => Section::Version,
        TestsLine::Starting { .. } => Section::Starting,
        TestsLine::Params { .. } => Section::Params,
        TestsLine::Device { .. } => Section::Devices,
        TestsLine::TableHeader { .. } => Section::TableHeader,
        TestsLine::TableUnits { .. } => Section::TableUnits,
        TestsLine::Row { .. } | TestsLine::PartialRow { .. } => Section::Rows,
        TestsLine::OutOfBounds { .. } => Section::OutOfBounds,
        TestsLine::AvgBusBw { .. } => Section::AvgBusBw,
        TestsLine::Concluded { .. } => Section::Concluded,
        TestsLine::Failure { .. } => Section::None,
    }
}

/// `all_reduce_perf` (or `./build/all_reduce_perf_mpi`) → `all_reduce`.
fn op_name(test: &str) -> Option<String> {
    let base = test.rsplit('/').next().unwrap_or(test);
    let op = base.find("_perf").map_or(base, |i| &base[..i]);
    (!op.is_empty()).then(|| op.to_string())
}

fn push_distinct(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && list.len() < MAX_HOSTS && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

impl TestsRow {
    fn new(pos: Position, size_bytes: u64, oop: &Measure, ip: Option<&Measure>) -> Self {
        let halves = || std::iter::once(oop).chain(ip);
        Self {
            size_bytes,
            busbw_gbps: halves().map(|m| m.busbw_gbps).fold(oop.busbw_gbps, f64::max),
            algbw_gbps: halves().map(|m| m.algbw_gbps).fold(oop.algbw_gbps, f64::max),
            wrong: halves().filter_map(|m| m.wrong).fold(0, u64::saturating_add),
            max_error: halves().filter_map(|m| m.error).reduce(f64::max),
            pos,
        }
    }
}

fn push_row(run: &mut TestsRun, largest_size: &mut Option<u64>, text: &str, row: TestsRow) {
    run.rows_total += 1;
    // A later full row means the run went on past a cut one (a pasted excerpt, not a hang).
    run.cut_row = None;
    if run.rows.len() >= MAX_ROWS {
        return;
    }
    // Strictly larger: the first of equal sizes stays, as in `TestsRun::largest`.
    let is_largest = match *largest_size {
        Some(size) => row.size_bytes > size,
        None => true,
    };
    if is_largest {
        *largest_size = Some(row.size_bytes);
        run.largest_row_pos = Some(row.pos);
        run.largest_row_text = Some(text.trim().to_string());
    }
    if row.wrong > 0 {
        run.wrong_rows.push(row.pos);
        if run.wrong_row_texts.len() < MAX_WRONG_TEXTS {
            run.wrong_row_texts.push(text.trim().to_string());
        }
    }
    run.rows.push(row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ncclscope_parser::nccltests::parse_line;

    /// Feeds `text` line by line as the scanner would (1-based lines, byte offsets).
    fn assemble(text: &str) -> Vec<TestsRun> {
        let mut b = TestsRunBuilder::new(InputId(3));
        let mut offset = 0u64;
        for (i, line) in text.lines().enumerate() {
            if let Some(parsed) = parse_line(line) {
                b.push(Position { line: i as u64 + 1, offset }, line, &parsed);
            }
            offset += line.len() as u64 + 1;
        }
        b.finish()
    }

    const NEW_FORMAT: &str = "\
# nccl-tests version 2.13.9 nccl-headers=22005 nccl-library=21903
# Collective test starting: all_reduce_perf
# nThread 1 nGpus 1 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0
#
# Using devices
#  Rank  0 Group  0 Pid   6899 on ztan-mig-235z device  0 [0000:04:00] NVIDIA H100 80GB HBM3
#  Rank  1 Group  0 Pid   6900 on ztan-mig-235z device  1 [0000:05:00] NVIDIA H100 80GB HBM3
#  Rank  2 Group  0 Pid   6733 on ztan-mig-gq73 device  0 [0000:04:00] NVIDIA H100 80GB HBM3
#  Rank  3 Group  0 Pid   6734 on ztan-mig-gq73 device  1 [0000:05:00] NVIDIA H100 80GB HBM3
node01:1:1 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>
#
#                                                              out-of-place                       in-place
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
  4294967296    1073741824     float     sum      -1    24361  176.31  330.58      0    24365  176.27  330.51      0
  8589934592    2147483648     float     sum      -1    47535  180.71  338.82      0    47743  179.92  339.35      3
        1024           256     float     sum      -1    147.1    0.01    0.01      0    123.1    0.01    0.02      0
# Out of bounds values : 3 FAILED
# Avg bus bandwidth    : 70.742 
#
# Collective test concluded: all_reduce_perf
";

    #[test]
    fn new_format_run() {
        let runs = assemble(NEW_FORMAT);
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.input, InputId(3));
        assert_eq!(run.op.as_deref(), Some("all_reduce"));
        assert_eq!(run.version.as_deref(), Some("2.13.9"));
        assert_eq!(run.nccl_library, Some(21903));
        assert_eq!(run.nranks, 4);
        assert_eq!(run.hosts, ["ztan-mig-235z", "ztan-mig-gq73"]);
        assert_eq!(run.gpu_models, ["NVIDIA H100 80GB HBM3"]);
        assert_eq!(run.is_multi_node(), Some(true));
        assert_eq!(run.max_bytes, Some(8589934592));
        assert_eq!((run.rows.len(), run.rows_total), (3, 3));
        assert_eq!(run.first_pos, Position { line: 1, offset: 0 });

        let largest = run.largest().cloned();
        let largest = largest.as_ref();
        assert_eq!(largest.map(|r| (r.size_bytes, r.busbw_gbps, r.wrong)), Some((8589934592, 339.35, 3)));
        assert_eq!(largest.map(|r| r.pos.line), Some(16));
        assert_eq!(run.largest_row_pos.map(|p| p.line), Some(16));
        assert!(run.largest_row_text.as_deref().is_some_and(|t| t.starts_with("8589934592")));
        assert_eq!(run.peak_busbw(), Some(339.35));
        assert_eq!(run.wrong_rows.iter().map(|p| p.line).collect::<Vec<_>>(), [16]);
        assert_eq!(run.out_of_bounds, Some(3));
        assert_eq!(run.avg_busbw_gbps, Some(70.742));
        assert_eq!(run.avg_pos.map(|p| p.line), Some(19));
        assert_eq!(run.avg_text.as_deref(), Some("# Avg bus bandwidth    : 70.742"));
        assert!(run.completed);
        assert!(run.failures.is_empty());
        assert_eq!(run.cut_row, None);
    }

    #[test]
    fn old_format_table_only() {
        // nccl-tests ≤ 2.11, v1.x footers without `#`, all_gather without redop, single host.
        let text = "\
all_gather_perf -g 8 -b 4294967296 -e 4294967296 -n 100
#   Rank  0 Pid 112372 on localhost device  0 [0x00] A100-SXM4-40GB
#   Rank  1 Pid 112372 on localhost device  1 [0x00] A100-SXM4-40GB
                                             out-of-place                       in-place
       size         count    type     time   algbw   busbw  error     time   algbw   busbw  error
        (B)    (elements)             (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
  2147483648      67108864   float    14560  129.05  129.05  0e+00    14580  128.84  128.84  0e+00
  4294967296     134217728   float    29122  129.05  129.05  1e+00    29169  128.84  128.84  1e+00
 Out of bounds values : 2 FAILED
 Avg bus bandwidth    : 128.942
";
        let runs = assemble(text);
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.op, None);
        assert_eq!(run.version, None);
        assert_eq!((run.nranks, run.is_multi_node()), (2, Some(false)));
        let largest = run.largest();
        assert_eq!(largest.map(|r| (r.size_bytes, r.wrong, r.max_error)), Some((4294967296, 0, Some(1.0))));
        assert!(run.wrong_rows.is_empty());
        assert_eq!(run.out_of_bounds, Some(2));
        assert_eq!(run.avg_busbw_gbps, Some(128.942));
        assert_eq!(run.first_pos.line, 2);
    }

    #[test]
    fn several_tests_in_one_file() {
        let all_gather = NEW_FORMAT
            .replace("all_reduce_perf", "all_gather_perf")
            .replace("     sum      -1", "    none      -1");
        let text = format!("{NEW_FORMAT}{all_gather}");
        let runs = assemble(&text);
        let ops: Vec<_> = runs.iter().map(|r| r.op.as_deref()).collect();
        assert_eq!(ops, [Some("all_reduce"), Some("all_gather")]);
        assert_eq!(runs[1].first_pos.line, 22);
        assert_eq!(runs[1].rows.len(), 3);
        assert_eq!(runs[1].nranks, 4);

        // Table-only excerpts (no header lines): a second table starts a second run.
        let table = "\
0: #       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
0:   1073741824     268435456     float     sum      -1    26217   40.96   76.79      0    26194   40.99   76.86      0
0:   2147483648     536870912     float     sum      -1    51406   41.78   78.33      0    51406   41.77   78.33      0
";
        let runs = assemble(&format!("{table}{table}"));
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].is_multi_node(), None);
        assert_eq!(runs[1].largest().map(|r| (r.size_bytes, r.pos.line)), Some((2147483648, 6)));

        // Rows after a footer, without any header: the next run.
        let rows_after_footer = "\
  8  2  float  sum  -1  1.0  0.00  0.00  0  1.0  0.00  0.00  0
# Avg bus bandwidth    : 0.1
  16  4  float  sum  -1  1.0  0.00  0.00  0  1.0  0.00  0.00  0
";
        assert_eq!(assemble(rows_after_footer).len(), 2);
    }

    #[test]
    fn failure_and_hang() {
        let text = "\
[1,0]<stdout>:# Collective test starting: all_reduce_perf
[1,0]<stdout>:# nThread 1 nGpus 1 minBytes 8 maxBytes 134217728 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0
[1,2]<stdout>:test-nccl-p5-2-worker-0: Test NCCL failure common.cu:961 'internal error - please report this issue to the NCCL developers / '
[1,2]<stdout>: .. test-nccl-p5-2-worker-0 pid 75: Test failure common.cu:844
";
        let runs = assemble(text);
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.op.as_deref(), Some("all_reduce"));
        assert_eq!(run.failures_total, 2);
        assert_eq!(run.failures[0].0.line, 3);
        assert!(run.failures[0].1.starts_with("Test NCCL failure common.cu:961 'internal error"));
        assert_eq!(run.failures[1].1, "Test failure common.cu:844");
        assert!(!run.completed);
        assert_eq!((run.largest(), run.peak_busbw()), (None, None));

        // A run that hangs after printing the preamble of its first row.
        let hang = "\
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
node01:1:2 [0] NCCL INFO Connected all rings
         128            32     float     sum
";
        let runs = assemble(hang);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].cut_row.map(|(p, s)| (p.line, s)), Some((3, 128)));
        assert!(runs[0].rows.is_empty());
    }

    #[test]
    fn rows_are_bounded() {
        let mut b = TestsRunBuilder::new(InputId(0));
        let line = "  8  2  float  sum  -1  1.0  0.00  0.00  1  1.0  0.00  0.00  0";
        let parsed = parse_line(line);
        let Some(parsed) = parsed else { panic!("row not parsed") };
        for i in 0..(MAX_ROWS as u64 + 10) {
            b.push(Position { line: i + 1, offset: i * 64 }, line, &parsed);
        }
        let failure = "NCCL failure common.cu:921 'unhandled system error'";
        let Some(fail) = parse_line(failure) else { panic!("failure not parsed") };
        for i in 0..(MAX_FAILURES as u64 + 5) {
            b.push(Position { line: 10_000 + i, offset: 0 }, failure, &fail);
        }
        let runs = b.finish();
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].rows.len(), runs[0].rows_total), (MAX_ROWS, MAX_ROWS + 10));
        assert_eq!(runs[0].wrong_rows.len(), MAX_ROWS);
        assert_eq!((runs[0].failures.len(), runs[0].failures_total), (MAX_FAILURES, MAX_FAILURES + 5));
        // Equal sizes: the first row is the largest.
        assert_eq!(runs[0].largest().map(|r| r.pos.line), Some(1));
        assert_eq!(runs[0].largest_row_pos.map(|p| p.line), Some(1));
    }

    #[test]
    fn op_names() {
        assert_eq!(op_name("all_reduce_perf").as_deref(), Some("all_reduce"));
        assert_eq!(op_name("./build/alltoall_perf_mpi").as_deref(), Some("alltoall"));
        assert_eq!(op_name("sendrecv").as_deref(), Some("sendrecv"));
        assert_eq!(op_name("_perf"), None);
    }

    #[test]
    fn serializes() {
        let runs = assemble(NEW_FORMAT);
        let json = serde_json::to_value(&runs).unwrap_or_default();
        assert_eq!(json[0]["op"], "all_reduce");
        assert_eq!(json[0]["rows"][1]["busbw_gbps"], 339.35);
    }
}
