//! Machine topology sources: NCCL's topology/graph XML dumps (`NCCL_TOPO_DUMP_FILE`,
//! `NCCL_TOPO_FILE`, `NCCL_GRAPH_DUMP_FILE`), the topology printout inside NCCL logs (GRAPH
//! subsystem), and `nvidia-smi topo -m` matrices. Shapes: ../shared/spec/topology-xml.md.
//!
//! The parser keeps these close to their source (an element tree with positions, matrix cells,
//! printout lines); the analyzer turns them into a graph.
use serde::Serialize;

use crate::record::InputWarning;

pub mod printout;
pub mod smi;
pub mod xml;

/// One XML element, with its attributes in file order and where it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XmlElement {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// 1-based line and byte offset of the element's `<`.
    pub line: u64,
    pub offset: u64,
    /// The element's start tag as written (for evidence), cut to a few hundred bytes.
    pub text: String,
}

impl XmlElement {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A parsed XML document: every element that parsed, even when the file is truncated or
/// malformed (then `warnings` says where parsing stopped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct XmlDoc {
    /// Elements in document order; `parent`/`children` index into this list.
    pub elements: Vec<XmlElement>,
    /// Index of the root element (`system` or `graphs`), if any.
    pub root: Option<usize>,
    /// Problems with positions: truncation, malformed markup, caps reached.
    pub warnings: Vec<InputWarning>,
    /// True when the document ended before its root element closed (or markup broke).
    pub truncated: bool,
}

impl XmlDoc {
    pub fn root_name(&self) -> Option<&str> {
        self.root.map(|r| self.elements[r].name.as_str())
    }
    /// Elements named `name`, in document order.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (usize, &'a XmlElement)> + 'a {
        self.elements.iter().enumerate().filter(move |(_, e)| e.name == name)
    }
    /// The nearest ancestor of `idx` named `name`.
    pub fn ancestor(&self, idx: usize, name: &str) -> Option<usize> {
        let mut cur = self.elements.get(idx)?.parent;
        while let Some(p) = cur {
            if self.elements[p].name == name {
                return Some(p);
            }
            cur = self.elements[p].parent;
        }
        None
    }
}

/// An `nvidia-smi topo -m` matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SmiMatrix {
    /// Column headers of the device part (`GPU0` … `NIC9`), in order.
    pub columns: Vec<String>,
    pub rows: Vec<SmiRow>,
    /// `NIC Legend`: `NIC0` → `mlx5_0`.
    pub nic_legend: Vec<(String, String)>,
    /// Line of the header.
    pub line: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SmiRow {
    /// `GPU0`, `NIC3`.
    pub name: String,
    /// One cell per column: `X`, `NV18`, `PIX`, `PXB`, `PHB`, `NODE`, `SYS`, …
    pub cells: Vec<String>,
    pub cpu_affinity: Option<String>,
    pub numa_affinity: Option<String>,
    pub gpu_numa_id: Option<String>,
    pub line: u64,
}

#[cfg(test)]
mod corpus_tests;
