//! ncclscope-parser: turns the bytes of job logs into typed records with their source position.
//!
//! Push-style, like ripgrep's searcher: [`scan::scan_input`] streams an input line by line and
//! calls a caller-supplied [`RecordSink`] for every record; no layer holds a whole file.
//! No analysis happens here.
#![forbid(unsafe_code)]

pub mod input;
pub mod lines;
pub mod nccl;
pub mod nccltests;
pub mod record;
pub mod sanitize;
pub mod scan;
pub mod sniff;
pub mod topo;
pub mod ucx;

pub use input::{expand_paths, InputSpec};
pub use lines::{LineReader, MAX_LINE_BYTES};
pub use record::{InputId, InputWarning, Position, Record, RecordSink};
pub use scan::{scan_input, InputSummary};
pub use sniff::InputKind;
