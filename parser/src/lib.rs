//! ncclscope-parser: turns the bytes of job logs into typed records with their source position.
//!
//! Push-style, like ripgrep's searcher: [`scan::scan_input`] streams an input line by line and
//! calls a caller-supplied [`RecordSink`] for every record; no layer holds a whole file.
//! No analysis happens here.
#![forbid(unsafe_code)]

/// A lazily compiled regex static: `static_regex!(NAME, r"pattern")`. The patterns are
/// literals checked by the tests, so compiling them cannot fail at run time.
#[macro_export]
macro_rules! static_regex {
    ($name:ident, $pat:expr) => {
        static $name: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($pat).expect("static regex"));
    };
}

pub mod input;
pub mod lines;
pub mod nccl;
pub mod nccltests;
pub mod pipeline;
pub mod record;
pub mod sanitize;
pub mod scan;
pub mod sniff;
pub mod topo;
pub mod ucx;

/// The shared corpus of real logs (`../shared/corpus` beside the repository), for tests; None,
/// with a SKIP message naming `test`, when it is absent (outside this project).
#[cfg(test)]
pub(crate) fn test_corpus(test: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP {test}: corpus directory {} not found", dir.display());
        None
    }
}

pub use input::{expand_paths, InputSpec};
pub use lines::{read_lines_at, LineReader, MAX_LINE_BYTES};
pub use pipeline::{scan_inputs, scan_inputs_tuned, HotNccl, HotRun, Tuning};
pub use record::{InputId, InputWarning, Position, Record, RecordSink};
pub use scan::{scan_input, InputSummary};
pub use sniff::InputKind;
