//! `nvidia-smi topo -m` matrices, found anywhere in a text input (users paste them into job
//! logs; nccl-tests wrappers print them before a run).
//!
//! nvidia-smi writes the matrix tab-separated, but most copies people share were re-spaced by a
//! terminal or a web page, so cells are split on any whitespace. The trailing columns (`CPU
//! Affinity`, `NUMA Affinity`, `GPU NUMA ID`) hold multi-word headers, which is why they are
//! found by name in the header; drivers before ~R470 print no `NUMA Affinity`/`GPU NUMA ID`,
//! before ~R450 there are no `NIC#` columns (NICs appear as `mlx5_0` or not at all).
use std::fmt::Write as _;

use super::{SmiMatrix, SmiRow};

/// The affinity columns, in the order nvidia-smi prints them.
const TRAILERS: [(&str, Trailer); 3] =
    [("CPU Affinity", Trailer::Cpu), ("NUMA Affinity", Trailer::Numa), ("GPU NUMA ID", Trailer::GpuNuma)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trailer {
    Cpu,
    Numa,
    GpuNuma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Inside the rows.
    Rows,
    /// After a blank line that ended the rows, before a legend.
    Gap,
    /// `Legend:` and its `X = Self` lines.
    Legend,
    /// `NIC Legend:` and its `NIC0: mlx5_0` lines.
    NicLegend,
}

struct Pending {
    matrix: SmiMatrix,
    trailers: Vec<Trailer>,
    phase: Phase,
}

/// Finds `nvidia-smi topo -m` matrices in a stream of lines. Feed every line with [`push`];
/// [`finish`] returns the matrices (those with at least one row) in input order.
///
/// [`push`]: SmiBuilder::push
/// [`finish`]: SmiBuilder::finish
#[derive(Default)]
pub struct SmiBuilder {
    pending: Option<Pending>,
    done: Vec<SmiMatrix>,
}

impl SmiBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A matrix has begun and the next line may continue it.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    pub fn push(&mut self, line_no: u64, text: &str) {
        if let Some(p) = &mut self.pending {
            if continue_matrix(p, line_no, text) {
                return;
            }
            self.flush();
        }
        // Cheap prefilter: this runs on every line of every log.
        static GPU0: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new("GPU0"));
        if GPU0.find(text.as_bytes()).is_none() {
            return;
        }
        if let Some((columns, trailers)) = parse_header(text) {
            let matrix = SmiMatrix { columns, line: line_no, ..SmiMatrix::default() };
            self.pending = Some(Pending { matrix, trailers, phase: Phase::Rows });
        }
    }

    pub fn finish(mut self) -> Vec<SmiMatrix> {
        self.flush();
        self.done
    }

    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            if !p.matrix.rows.is_empty() {
                self.done.push(p.matrix);
            }
        }
    }
}

/// Whether `text` still belongs to the pending matrix (and takes it in).
fn continue_matrix(p: &mut Pending, line_no: u64, text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() {
        if p.phase == Phase::Rows {
            p.phase = Phase::Gap;
        }
        return true;
    }
    if t == "Legend:" {
        p.phase = Phase::Legend;
        return true;
    }
    if t == "NIC Legend:" {
        p.phase = Phase::NicLegend;
        return true;
    }
    match p.phase {
        Phase::Rows => match parse_row(&p.matrix.columns, &p.trailers, line_no, t) {
            Some(row) => {
                p.matrix.rows.push(row);
                true
            }
            None => false,
        },
        Phase::Gap => false,
        // `  X    = Self`, `  NV#  = Connection traversing a bonded set of # NVLinks`.
        Phase::Legend => t.split_once(" = ").is_some_and(|(k, _)| !k.trim().contains(' ')),
        Phase::NicLegend => match t.split_once(':') {
            Some((k, v)) if is_device_name(k.trim()) && is_device_name(v.trim()) => {
                p.matrix.nic_legend.push((k.trim().to_owned(), v.trim().to_owned()));
                true
            }
            _ => false,
        },
    }
}

/// A header: device columns starting with `GPU0`, then the affinity columns by name.
fn parse_header(text: &str) -> Option<(Vec<String>, Vec<Trailer>)> {
    let mut found: Vec<(usize, Trailer)> =
        TRAILERS.iter().filter_map(|&(name, t)| text.find(name).map(|i| (i, t))).collect();
    found.sort_by_key(|&(i, _)| i);
    let devices_end = found.first().map_or(text.len(), |&(i, _)| i);
    let columns: Vec<String> = text[..devices_end].split_whitespace().map(str::to_owned).collect();
    if columns.first().map(String::as_str) != Some("GPU0") || !columns.iter().all(|c| is_device_name(c)) {
        return None;
    }
    // Without the affinity columns (a cut copy), demand the `GPU#`/`NIC#` shape so that prose
    // mentioning GPU0 does not open a matrix.
    if found.is_empty()
        && (columns.len() < 2 || !columns.iter().all(|c| is_numbered(c, "GPU") || is_numbered(c, "NIC")))
    {
        return None;
    }
    Some((columns, found.into_iter().map(|(_, t)| t).collect()))
}

fn parse_row(columns: &[String], trailers: &[Trailer], line_no: u64, text: &str) -> Option<SmiRow> {
    let mut tokens = text.split_whitespace();
    let name = tokens.next()?;
    if !columns.iter().any(|c| c == name) {
        return None;
    }
    let cells: Vec<String> = tokens.by_ref().take(columns.len()).map(str::to_owned).collect();
    if cells.len() != columns.len() {
        return None;
    }
    let mut row = SmiRow { name: name.to_owned(), cells, line: line_no, ..SmiRow::default() };
    for (t, value) in trailers.iter().zip(tokens) {
        let value = Some(value.to_owned());
        match t {
            Trailer::Cpu => row.cpu_affinity = value,
            Trailer::Numa => row.numa_affinity = value,
            Trailer::GpuNuma => row.gpu_numa_id = value,
        }
    }
    Some(row)
}

/// `GPU0`, `NIC3`, `mlx5_0`, `mlx5_bond_0`: what names a device column or a NIC.
fn is_device_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
}

fn is_numbered(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// nvidia-smi's legend (R535 wording); the parser does not keep the legend, so it is written
/// back as nvidia-smi prints it.
const LEGEND: &str = "Legend:

  X    = Self
  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)
  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host Bridges within a NUMA node
  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)
  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host Bridge)
  PIX  = Connection traversing at most a single PCIe bridge
  NV#  = Connection traversing a bonded set of # NVLinks
";

/// Writes `m` back in nvidia-smi's layout (tab-separated, `X` padded as ` X `), with the
/// affinity columns any row has, the legend and the NIC legend.
pub fn render(m: &SmiMatrix) -> String {
    let has_cpu = m.rows.iter().any(|r| r.cpu_affinity.is_some());
    let has_numa = m.rows.iter().any(|r| r.numa_affinity.is_some());
    let has_gpu_numa = m.rows.iter().any(|r| r.gpu_numa_id.is_some());
    let mut out = String::new();
    for c in &m.columns {
        out.push('\t');
        out.push_str(c);
    }
    for (name, has) in [("CPU Affinity", has_cpu), ("NUMA Affinity", has_numa), ("GPU NUMA ID", has_gpu_numa)]
    {
        if has {
            out.push('\t');
            out.push_str(name);
        }
    }
    out.push('\n');
    for r in &m.rows {
        out.push_str(&r.name);
        for c in &r.cells {
            out.push('\t');
            out.push_str(if c == "X" { " X " } else { c });
        }
        for (v, has) in
            [(&r.cpu_affinity, has_cpu), (&r.numa_affinity, has_numa), (&r.gpu_numa_id, has_gpu_numa)]
        {
            if has {
                out.push('\t');
                out.push_str(v.as_deref().unwrap_or(""));
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(LEGEND);
    if !m.nic_legend.is_empty() {
        out.push_str("\nNIC Legend:\n\n");
        for (k, v) in &m.nic_legend {
            let _ = writeln!(out, "  {k}: {v}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<SmiMatrix> {
        let mut b = SmiBuilder::new();
        for (i, l) in text.lines().enumerate() {
            b.push(i as u64 + 1, l);
        }
        b.finish()
    }

    fn grid(m: &SmiMatrix) -> Vec<Vec<String>> {
        m.rows
            .iter()
            .map(|r| std::iter::once(r.name.clone()).chain(r.cells.iter().cloned()).collect())
            .collect()
    }

    const SPACED: &str = "\
        GPU0    GPU1    NIC0    CPU Affinity    NUMA Affinity   GPU NUMA ID
GPU0     X      NV18    PIX     0-47,96-143     0               N/A
GPU1    NV18     X      NODE    0-47,96-143     0               N/A
NIC0    PIX     NODE     X 

Legend:

  X    = Self
  NV#  = Connection traversing a bonded set of # NVLinks

NIC Legend:

  NIC0: mlx5_0
some other log line
";

    #[test]
    fn spaced_matrix_with_nic_legend() {
        let ms = parse(SPACED);
        assert_eq!(ms.len(), 1);
        let m = &ms[0];
        assert_eq!(m.columns, ["GPU0", "GPU1", "NIC0"]);
        assert_eq!(m.line, 1);
        assert_eq!(m.rows.len(), 3);
        let g0 = &m.rows[0];
        assert_eq!(g0.cells, ["X", "NV18", "PIX"]);
        assert_eq!(g0.cpu_affinity.as_deref(), Some("0-47,96-143"));
        assert_eq!(g0.numa_affinity.as_deref(), Some("0"));
        assert_eq!(g0.gpu_numa_id.as_deref(), Some("N/A"));
        assert_eq!(g0.line, 2);
        assert_eq!(m.rows[2].cpu_affinity, None);
        assert_eq!(m.nic_legend, [("NIC0".to_owned(), "mlx5_0".to_owned())]);
        let again = parse(&render(m));
        assert_eq!(again.len(), 1);
        assert_eq!(grid(&again[0]), grid(m));
        assert_eq!(again[0].nic_legend, m.nic_legend);
    }

    #[test]
    fn tab_separated_old_driver_without_nics() {
        let text = "\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV1\t0-95\nGPU1\tNV1\t X \t0-95\n";
        let ms = parse(text);
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].rows[1].cells, ["NV1", "X"]);
        assert_eq!(ms[0].rows[1].cpu_affinity.as_deref(), Some("0-95"));
        assert_eq!(ms[0].rows[1].numa_affinity, None);
        assert_eq!(render(&ms[0]).lines().next(), Some("\tGPU0\tGPU1\tCPU Affinity"));
    }

    #[test]
    fn tab_nic_rows_with_empty_affinity() {
        let text =
            "\tGPU0\tNIC0\tCPU Affinity\tNUMA Affinity\nGPU0\t X \tPXB\t48-63\t3\nNIC0\tPXB\t X \t\t\n";
        let m = &parse(text)[0];
        assert_eq!(m.rows[1].cells, ["PXB", "X"]);
        assert_eq!((m.rows[1].cpu_affinity.as_deref(), m.rows[1].numa_affinity.as_deref()), (None, None));
    }

    #[test]
    fn old_mlx_columns() {
        let text = "\tGPU0\tGPU1\tmlx5_0\tCPU Affinity\nGPU0\t X \tSOC\tPHB\t0-11\nGPU1\tSOC\t X \tSOC\t12-23\nmlx5_0\tPHB\tSOC\t X \t\n";
        let m = &parse(text)[0];
        assert_eq!(m.columns, ["GPU0", "GPU1", "mlx5_0"]);
        assert_eq!(m.rows.len(), 3);
    }

    #[test]
    fn two_matrices_and_noise() {
        let text = format!("GPU0 is busy\nGPU0 X\n{SPACED}\n{SPACED}");
        let ms = parse(&text);
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[1].line, ms[0].line + SPACED.lines().count() as u64 + 1);
    }

    #[test]
    fn header_without_rows_is_dropped() {
        assert!(parse("\tGPU0\tGPU1\tCPU Affinity\nnot a row\n").is_empty());
        assert!(parse("\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X\n").is_empty(), "short row");
    }
}
