//! The Logs view and its background line index: a virtualised viewer over every input that
//! never holds a whole file (see [`index`] for the index, [`view`] for the component).
pub mod index;
pub mod view;

pub use view::LogsView;
