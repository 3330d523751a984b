//! ncclscope-tui: the interactive terminal UI (ratatui + crossterm), built in its own issue.
//!
//! Nothing is here yet on purpose: until it lands, `ncclscope <PATH>…` on a terminal prints
//! the text report (see `src/main.rs`).
#![forbid(unsafe_code)]
