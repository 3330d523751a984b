//! What a view asks the app to do. Views never reach into each other: a key handled by one
//! view that concerns another (open this evidence line in Logs) comes back as an [`Action`]
//! and the app carries it out (gitui's internal event queue, without the queue).
use ncclscope_analyzer::model::ProcId;
use ncclscope_parser::InputId;

/// The six views, in the order of their number keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewId {
    Overview,
    Findings,
    Topology,
    Ranks,
    Logs,
    Bandwidth,
}

impl ViewId {
    pub const ALL: [ViewId; 6] = [
        ViewId::Overview,
        ViewId::Findings,
        ViewId::Topology,
        ViewId::Ranks,
        ViewId::Logs,
        ViewId::Bandwidth,
    ];

    /// The title shown in the tab bar and the view's border.
    pub fn title(self) -> &'static str {
        match self {
            ViewId::Overview => "Overview",
            ViewId::Findings => "Findings",
            ViewId::Topology => "Topology",
            ViewId::Ranks => "Ranks",
            ViewId::Logs => "Logs",
            ViewId::Bandwidth => "Bandwidth",
        }
    }

    /// 0-based position (the number key is this + 1).
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    pub fn next(self) -> Self {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    pub fn prev(self) -> Self {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// The view of number key `c` (`'1'` … `'6'`).
    pub fn from_digit(c: char) -> Option<Self> {
        let i = c.to_digit(10)? as usize;
        i.checked_sub(1).and_then(|i| Self::ALL.get(i).copied())
    }
}

/// A request from a view (or a global key) to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The key was used by the view; nothing else to do but redraw.
    Handled,
    Quit,
    /// Close the overlay or return to the previous view.
    Back,
    SwitchView(ViewId),
    /// Show this line (1-based) of this input in the Logs view.
    OpenLog {
        input: InputId,
        line: u64,
    },
    /// Show the Findings view with this finding (index into `Analysis::findings`) selected.
    ShowFinding(usize),
    /// Show one process's lines in the Logs view.
    OpenRankLogs(ProcId),
    /// Write the Markdown report of the selected findings.
    Export,
    ToggleHelp,
    /// A message for the status line.
    Status(String),
}
