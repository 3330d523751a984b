//! ncclscope-tui: the interactive terminal UI (ratatui + crossterm).
//!
//! Shape (gitui/bottom style): every view owns its state, handles its own key events and draws
//! itself with a pure `draw(&self, …)`; one event loop in [`app`] maps crossterm events to
//! [`action::Action`]s. Analysis results come from `ncclscope-analyzer` unchanged: the TUI never
//! parses logs. The Logs view ([`logs`]) indexes the inputs on a background thread so a
//! multi-GB log scrolls without being loaded.
#![forbid(unsafe_code)]

pub mod action;
pub mod app;
pub mod logs;
pub mod term;
pub mod views;

pub use app::run;
