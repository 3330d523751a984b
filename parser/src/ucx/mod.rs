//! UCX, ucx_info, ucx_perftest, NIXL / vLLM / UCX-Py lines (spec: ucx-log-format.md).
//!
//! Every line the scanner hands here becomes a [`UcxLine`]: the UCX log header when there is
//! one (`[sec.usec] [host:pid:thread] file.c:N UCX LEVEL msg`, both generations, or NIXL's
//! glog prefix), and a typed [`UcxEvent`] for the message shapes the rules read. Unknown
//! shapes are [`UcxEvent::Other`], never an error. Launcher and paste damage is tolerated:
//! the header is searched anywhere in the line (mpirun `--tag-output`, timestamps), markdown
//! escapes (`\[`, `\_`) are accepted around it, and a second record glued to the end of the
//! line is cut off (and flagged with `glued`).
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

#[cfg(test)]
mod tests;

/// UCX log levels (`ucs_log_level_names`), plus the NIXL glog letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UcxLevel {
    Fatal,
    Error,
    Warn,
    Diag,
    Info,
    Debug,
    Trace,
    /// REQ, DATA, ASYNC, FUNC, POLL, PRINT: trace sub-levels.
    TraceMore,
}

impl UcxLevel {
    fn from_word(w: &str) -> Option<Self> {
        Some(match w {
            "FATAL" => Self::Fatal,
            "ERROR" => Self::Error,
            "WARN" => Self::Warn,
            "DIAG" => Self::Diag,
            "INFO" => Self::Info,
            "DEBUG" => Self::Debug,
            "TRACE" => Self::Trace,
            "REQ" | "DATA" | "ASYNC" | "FUNC" | "POLL" | "PRINT" => Self::TraceMore,
            _ => return None,
        })
    }
    fn from_glog(c: &str) -> Option<Self> {
        Some(match c {
            "F" => Self::Fatal,
            "E" => Self::Error,
            "W" => Self::Warn,
            "I" => Self::Info,
            _ => return None,
        })
    }
}

/// Who printed the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// UCX's own logger (`UCX  LEVEL`).
    Ucx,
    /// UCX-Py's Python logger (`UCXPY  DEBUG`).
    UcxPy,
    /// NIXL's C++ core (glog `E0721 08:06:26.781179  4330 nixl_agent.cpp:866]`).
    NixlGlog,
    /// Anything else (tables, ucx_info dumps, Python loggers, command lines).
    Other,
}

/// The UCX header: `[sec.usec] [host:pid:thread] file.c:N`. Every part is optional because
/// pastes cut prefixes (`ucp_worker.c:1784 UCX  INFO …` without timestamp and host).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UcxHeader<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// One recognised UCX/NIXL line.
#[derive(Debug, Clone, Serialize)]
pub struct UcxLine<'a> {
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<UcxLevel>,
    pub header: UcxHeader<'a>,
    /// The message after the level (the whole line when there is no header), with a glued
    /// second record cut off.
    pub message: &'a str,
    /// Another record followed on the same line (a paste joined two lines).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub glued: bool,
    pub event: UcxEvent<'a>,
}

/// Endpoint configuration scope (v1.15+ prints it; older `ep_cfg[N]` lines do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    SelfEp,
    IntraNode,
    InterNode,
    Unknown,
}

impl Scope {
    fn from_word(w: &str) -> Self {
        match w {
            "self" => Self::SelfEp,
            "intra-node" => Self::IntraNode,
            "inter-node" => Self::InterNode,
            _ => Self::Unknown,
        }
    }
}

/// A `transport/device` lane (`rc_mlx5/mlx5_0:1`, `tcp/ib0`, `cuda_ipc/cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Lane<'a> {
    pub transport: &'a str,
    pub device: &'a str,
}

/// One feature of an endpoint config: `rma(rc_mlx5/mlx5_0:1)`, `am(tcp/eth1 cuda_ipc/cuda)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feature<'a> {
    /// tag, rma, rma_am, amo, amo_am, am, stream, ka, device… (`_am`: emulated over AM).
    pub name: &'a str,
    pub lanes: Vec<Lane<'a>>,
}

/// An `ep_cfg[N]: …` / `<ctx> inter-node cfg#N …` transport-selection line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpConfig<'a> {
    /// Context name (`ucp_context_2`, `perftest`, `0x2d96740`) when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<&'a str>,
    pub scope: Scope,
    pub index: u32,
    pub features: Vec<Feature<'a>>,
}

/// One lane of an endpoint as the DEBUG lane lines (and `ucx_info -e`) print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaneConfig<'a> {
    /// The endpoint (`ep 0x145dc3c3f180:`) when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ep: Option<&'a str>,
    pub index: u32,
    pub lane: Lane<'a>,
    /// The remote memory domain's component (`ib`, `tcp`, `sysv`, `cuda_ipc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_component: Option<&'a str>,
    /// What the lane is used for: `am`, `rma_bw#0`, `amo#0`, `am_bw#0`, `rkey_ptr`, `keepalive`…
    pub flags: Vec<&'a str>,
}

/// A NIXL / vLLM / SGLang failure shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NixlError {
    /// `NIXL_ERR_BACKEND` (a backend call failed).
    Backend,
    /// vLLM `NIXL transfer failure: handshake_setup_failed`, `handshake … failed`.
    Handshake,
    /// `createXferReq: metadata for remote agent '…' not found`.
    MetadataNotFound,
    /// `VRAM memory is detected as host by UCX` (UCX without CUDA support).
    VramAsHost,
    /// `registerMem: registration failed …`.
    Registration,
    /// NIXL's `Unexpected UCX error: <status>` (glog W line from ucx_utils.cpp).
    UnexpectedUcxError,
}

/// What one line says.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UcxEvent<'a> {
    EpConfig(EpConfig<'a>),
    /// `UCX_* env variables: UCX_TLS=… UCX_NET_DEVICES=…` (parser.c, INFO).
    EnvVars {
        vars: Vec<(&'a str, &'a str)>,
    },
    /// `unused env variable: UCX_PATH …`.
    UnusedEnv {
        names: Vec<&'a str>,
    },
    /// `transport 'x' is not available, please use one or more of: …` (ucp_context.c).
    TransportUnavailable {
        names: Vec<&'a str>,
        available: Vec<&'a str>,
    },
    /// `<type> device 'x' is not available, please use one or more of: 'eth0'(tcp), …`.
    DeviceUnavailable {
        #[serde(skip_serializing_if = "Option::is_none")]
        dev_type: Option<&'a str>,
        name: &'a str,
        available: Vec<&'a str>,
    },
    /// `no active messages transport to <peer>: tl/dev - reason, …` (select.c), and the older
    /// `no supported sockaddr auxiliary transports found for dev` (wireup_ep.c, 1.5).
    NoTransport {
        what: &'a str,
        peer: &'a str,
        reasons: Vec<&'a str>,
    },
    /// `Version 1.19.0 (loaded from …)`, `UCP version is 1.12 (release 0)`, ucx_info -v
    /// (`UCT version=1.12.0`, `Library version: 1.15.0`, `# Version 1.13`).
    Version {
        version: &'a str,
    },
    /// `UCP version is incompatible, required: 1.18, actual: 1.12 (release 1)`.
    VersionIncompatible {
        required: &'a str,
        actual: &'a str,
    },
    /// UCX_PROTO_INFO table title: `| <ctx> intra-node cfg#1 | remote memory write … |`.
    ProtoHeader {
        #[serde(skip_serializing_if = "Option::is_none")]
        context: Option<&'a str>,
        scope: Scope,
        operation: &'a str,
    },
    /// UCX_PROTO_INFO table row: `| 2039..inf | zero-copy | 50% on rc_mlx5/mlx5_0:1 and … |`.
    ProtoRow {
        range: &'a str,
        protocol: &'a str,
        lanes: Vec<Lane<'a>>,
        emulated: bool,
    },
    /// ucx_info -d keys.
    InfoMemoryDomain {
        name: &'a str,
    },
    InfoTransport {
        name: &'a str,
    },
    InfoDevice {
        name: &'a str,
    },
    /// `< failed to open interface >` (the transport/device above it did not open).
    InfoFailedInterface,
    /// `Configured with: …` of ucx_info -v / -b.
    Configured {
        flags: &'a str,
    },
    /// ucx_perftest table header: bandwidth test (`overhead (usec)`) or latency test.
    PerfHeader {
        bandwidth: bool,
    },
    /// ucx_perftest `Final:` (or `[thread N]`) row: iterations then the numbers as printed.
    PerfRow {
        is_final: bool,
        values: Vec<f64>,
    },
    /// UCX-Py `Error callback for endpoint 0x… called with status -6: Destination is unreachable`.
    EndpointError {
        status: &'a str,
    },
    /// Open MPI pml_ucx `Error: …` lines (`ucp_ep_create(proc=272) failed: Destination is unreachable`).
    PmlUcxError {
        message: &'a str,
    },
    Nixl {
        error: NixlError,
        detail: &'a str,
    },
    /// A NIXL backend plugin loaded or instantiated (`UCX`, `LIBFABRIC`, `GDS`).
    NixlBackend {
        name: &'a str,
    },
    /// `Caught signal 11 (Segmentation fault: …)`.
    CaughtSignal {
        signal: u32,
    },
    /// `==== backtrace (tid: 838783) ====` after a fatal error or a caught signal.
    Backtrace,
    /// A backtrace frame: ` 0  /usr/lib/libucs.so.0(ucs_handle_error+0x2e4) [0x7ffa734d4fc4]`,
    /// ` 2 0x0000000000003538 mca_pml_ucx_progress()  …/pml_ucx.c:515`.
    BacktraceFrame {
        index: u32,
        frame: &'a str,
    },
    /// A DEBUG lane line (`ucp_wireup_print_config`, `ucx_info -e`):
    /// `lane[0]:  3:rc_mlx5/mlx5_0:1.0 md[2] -> addr[1].md[2]/ib/sysdev[255] rma_bw#0 am am_bw#0`.
    LaneConfig(LaneConfig<'a>),
    /// A tcp_ep / sock connection with its address pair:
    /// `[192.168.1.121:49463]<->[192.168.1.111:53562] is a connected pair`,
    /// `tcp_ep 0x…: CLOSED -> CONNECTING for the [172.17.0.1:59765]<->[172.17.0.1:47133]:0 connection`.
    TcpConnection {
        local: &'a str,
        remote: &'a str,
    },
    /// An RDMA work completion with error (UCX ib_mlx5_log.c / rc_verbs / ud_verbs, NIXL):
    /// `Transport retry count exceeded on mlx5_0:1/IB (synd 0x15 vend 0x81 hw_synd 0/0)`,
    /// `send completion with error: local protection error`,
    /// `receive completion[0] with error on mlx5_2/0x4489390: Work Request Flushed Error`.
    CompletionError {
        /// The error as a stable name (`transport retry count exceeded`, `local protection`).
        error: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        device: Option<&'a str>,
    },
    /// `closing md X because it has no selected transport resources` (ucp_context.c): the memory
    /// domain (an RDMA device, `cuda_cpy`) offered nothing UCX_TLS allows.
    MdClosed {
        md: &'a str,
    },
    /// `No zero-copy protocol found … set UCX_PROTO_EMULATION_ENABLE=y` (proto_reconfig.c).
    NoZeroCopy,
    Other,
}

fn re(s: &str) -> Regex {
    match Regex::new(s) {
        Ok(r) => r,
        // Constant patterns: a typo is a programming error every test catches.
        Err(e) => panic!("bad ucx pattern {s:?}: {e}"),
    }
}

/// `[1699999999.123456] [host:pid:thread]` with optional markdown escapes, or UCX-Py's
/// `[ts] [host:pid]`; then optionally ` file.c:123` and ` UCX LEVEL` / ` UCXPY LEVEL`.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\\?\[?(\d{9,}\.\d+)\\?\]\s*\\?\[([^\s:\]\\]+):\s*(\d+)\s*(?::([^\]\\\s]*))?\s*\\?\]",
        r"(?:\s*(\S+\.(?:c|cc|cpp|h|py)):(\d+))?",
        r"(?:\s+(UCX|UCXPY)\s+([A-Z]+)\b ?)?",
    ))
});

/// A level marker without the bracketed prefix (`ucp_worker.c:1784 UCX  INFO …`, the
/// pre-initialisation `[ts] [thread] file:line UCX LEVEL`).
static BARE_LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:(\S+\.(?:c|cc|cpp)):(\d+)\s+)?\bUCX\s+(FATAL|ERROR|WARN|DIAG|INFO|DEBUG|TRACE|REQ|DATA|ASYNC|FUNC|POLL|PRINT)\b ?",
    )
});

/// NIXL glog: `E0721 08:06:26.781179    4330 nixl_agent.cpp:866] msg` and the short
/// `E ucx_utils.cpp:592  msg` some builds print.
static GLOG: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*([IWEF])(?:(\d{4} \d\d:\d\d:\d\d\.\d+)\s+(\d+))? (\S+\.cpp):(\d+)\]?\s+"));

/// Where a second record glued to this one starts.
static MD_CLOSED: LazyLock<Regex> =
    LazyLock::new(|| re(r"closing md (\S+) because it has no selected transport"));
/// SGLang's logger: `[2026-07-21 08:06:26 TP0 EP0] …` (tensor/expert parallel rank tags).
static SGLANG: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)((?: (?:TP|EP|DP|PP)\d+)+)\] "));
static GLUED: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"<br>|\\?\[\d{9,}\.\d+\\?\]",
        // mpirun --tag-output with --timestamp-output: `Wed Jun 26 22:35:41 2019[1,299]<stderr>:`.
        r"|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\[\d+,\d+\]",
    ))
});

static EP_CFG: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|\s)(?:(\S+)\s+)?(?:(self|intra-node|inter-node) cfg\\?#(\d+)|ep\\?_cfg\\?\[(\d+)\\?\]:?)")
});
static FEATURE: LazyLock<Regex> = LazyLock::new(|| re(r"([a-z][a-z_\\]*)\(([^)]*)\)"));
static UNAVAILABLE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\btransports? ((?:'[^']*',?\s*)+)(?:is|are) not available(?:, please use one or more of: (.*))?")
});
static DEV_UNAVAILABLE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:(\w+) )?device '([^']*)' is not available(?:, please use one or more of: (.*))?")
});
static NO_TRANSPORT: LazyLock<Regex> = LazyLock::new(|| re(r"\bno ([a-z ]+?) transports? to (.*?): (.*)"));
static NO_AUX: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bno supported (sockaddr auxiliary) transports found for (\S+)"));
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?:^|\s)(?:Version ([0-9][\w.]*) \(loaded from|UCP version is ([0-9][\w.]*) \(release",
        r"|UCT version=([0-9][\w.]*)|Library version: ([0-9][\w.]*)|^#?\s*Version ([0-9][\w.]*)\s*$)",
    ))
});
static INCOMPATIBLE: LazyLock<Regex> =
    LazyLock::new(|| re(r"UCP version is incompatible, required: ([\w.]+), actual: ([\w.]+)"));
static INFO_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[\s#]*(Memory domain|Transport|Device|[Cc]onfigured with):\s*(\S.*?)\s*$"));
static PROTO_TITLE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:(\S+)\s+)?(?:(self|intra-node|inter-node) cfg#\d+|ep_cfg\[\d+\])$"));
static RANGE: LazyLock<Regex> = LazyLock::new(|| re(r"^\d+[KMGT]?\.\.(?:\d+[KMGT]?|inf)$"));
static CALLBACK: LazyLock<Regex> =
    LazyLock::new(|| re(r"Error callback for endpoint \S+ called with status -?\d+: (.*)"));
static METADATA: LazyLock<Regex> = LazyLock::new(|| re(r"metadata for remote agent '([^']*)' not found"));
static BACKEND: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:Backend (\w+) was instantiated|Discovered and loaded (?:backend )?plugin: (\w+))")
});
static SIGNAL: LazyLock<Regex> = LazyLock::new(|| re(r"Caught signal (\d+) \("));
/// UCX's fatal-error prefix (no timestamp, thread id appended): `[host:pid:thread:tid]`, then
/// the source location for errors raised in a file (`ib_mlx5_log.c:139  Transport retry …`).
static FATAL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*\\?\[([^\s:\]\\]+):\s*(\d+)\s*:(\w+)(?::(\d+))?\\?\]\s+(?:(\S+\.(?:c|h|cc|inl)):(\d+)\s+)?")
});
static LANE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?:\bep (0x[0-9a-f]+): )?lane\\?\[(\d+)\\?\]:\s*\d+:([a-z][\w\\]*)/(\S+?)(?:\.\d+)?\s+md\\?\[\d+\\?\]",
        r"\s*->\s*(?:addr\\?\[\d+\\?\]\.)?(?:md\\?\[\d+\\?\]/([\w\\]+))?(?:/sysdev\\?\[\d+\\?\])?(.*)$",
    ))
});
static TCP_PAIR: LazyLock<Regex> =
    LazyLock::new(|| re(r"\\?\[([0-9A-Fa-f.:]+:\d+)\\?\]<->\\?\[([0-9A-Fa-f.:]+:\d+)\\?\]"));
static BACKTRACE_FRAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(\d{1,3})\s+(\S+\.so[.\d]*\(.*|0x[0-9a-f]+ .*)$"));
/// Which RDMA completion error a line reports (mlx5 CQE syndromes as UCX names them, and
/// `ibv_wc_status_str` as the verbs transports and NIXL print them).
const COMPLETION_ERRORS: &[(&str, &str)] = &[
    ("work request flushed", "work request flushed"),
    ("wr flushed", "work request flushed"),
    ("local protection", "local protection"),
    ("remote access", "remote access"),
    ("transport retry count", "transport retry count exceeded"),
    ("transport retry counter", "transport retry count exceeded"),
    ("receive-no-ready retry", "RNR retry count exceeded"),
    ("rnr retry counter", "RNR retry count exceeded"),
    ("local length", "local length"),
    ("local qp operation", "local QP operation"),
    ("remote invalid request", "remote invalid request"),
    ("remote operation error", "remote operation"),
    ("bad response", "bad response"),
];
static COMPLETION_DEVICE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bon ((?:mlx\d|rdmap|efa|bnxt_re|irdma|qedr|hfi1|rxe)[\w.]*(?::\d+)?)"));

/// Parses one line the scanner recognised as UCX/NIXL output. Never fails.
pub fn parse_line(text: &str) -> UcxLine<'_> {
    let mut header = UcxHeader::default();
    let mut level = None;
    let mut source = Source::Other;
    let mut message = text;
    if let Some(c) = HEADER.captures(text) {
        header.timestamp = c.get(1).map(|m| m.as_str());
        header.host = c.get(2).map(|m| m.as_str());
        header.pid = c.get(3).and_then(|m| m.as_str().parse().ok());
        header.thread = c.get(4).map(|m| m.as_str());
        header.file = c.get(5).map(|m| m.as_str());
        header.line = c.get(6).and_then(|m| m.as_str().parse().ok());
        if let (Some(who), Some(lv)) = (c.get(7), c.get(8)) {
            source = if who.as_str() == "UCXPY" { Source::UcxPy } else { Source::Ucx };
            level = UcxLevel::from_word(lv.as_str());
        }
        if let Some(m) = c.get(0) {
            message = &text[m.end()..];
        }
    } else if let Some(c) = FATAL_HEADER.captures(text) {
        // ucs_log_fatal_error / ucs_handle_error: `[host:pid:thread:tid] file.c:N  msg` and
        // `[host:pid:thread:tid] Caught signal …`. No level word is printed (1.9+) or it is part
        // of the message (`FATAL: Error on mlx5_3:1 …`, 1.5): left unset, the events say what.
        header.host = c.get(1).map(|m| m.as_str());
        header.pid = c.get(2).and_then(|m| m.as_str().parse().ok());
        header.thread = c.get(3).map(|m| m.as_str());
        header.file = c.get(5).map(|m| m.as_str());
        header.line = c.get(6).and_then(|m| m.as_str().parse().ok());
        source = Source::Ucx;
        if let Some(m) = c.get(0) {
            message = &text[m.end()..];
        }
    } else if let Some(c) = BARE_LEVEL.captures(text) {
        header.file = c.get(1).map(|m| m.as_str());
        header.line = c.get(2).and_then(|m| m.as_str().parse().ok());
        level = c.get(3).and_then(|m| UcxLevel::from_word(m.as_str()));
        source = Source::Ucx;
        if let Some(m) = c.get(0) {
            message = &text[m.end()..];
        }
    } else if let Some(c) = GLOG.captures(text) {
        level = c.get(1).and_then(|m| UcxLevel::from_glog(m.as_str()));
        header.timestamp = c.get(2).map(|m| m.as_str());
        header.pid = c.get(3).and_then(|m| m.as_str().parse().ok());
        header.file = c.get(4).map(|m| m.as_str());
        header.line = c.get(5).and_then(|m| m.as_str().parse().ok());
        source = Source::NixlGlog;
        if let Some(m) = c.get(0) {
            message = &text[m.end()..];
        }
    } else if let Some(c) = SGLANG.captures(text) {
        header.timestamp = c.get(1).map(|m| m.as_str());
        header.thread = c.get(2).map(|m| m.as_str().trim());
        if let Some(m) = c.get(0) {
            message = &text[m.end()..];
        }
    }
    let mut glued = false;
    if let Some(m) = GLUED.find(message) {
        // A glued record starts after some text of this one.
        if m.start() > 0 {
            message = &message[..m.start()];
            glued = true;
        }
    }
    let message = message.trim_end_matches(['*', ' ']).trim_start();
    let event = parse_event(message, text);
    UcxLine { source, level, header, message, glued, event }
}

fn lanes_in(s: &str) -> Vec<Lane<'_>> {
    s.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '|' | '(' | ')'))
        .filter_map(parse_lane)
        .collect()
}

/// `rc_mlx5/mlx5_0:1`, `rc_mlx5/mlx5_0:1/path0` (proto tables), `rc\_mlx5/mlx5\_0:1` (markdown).
fn parse_lane(tok: &str) -> Option<Lane<'_>> {
    let (transport, dev) = tok.split_once('/')?;
    let device = match dev.rsplit_once('/') {
        Some((d, path)) if path.starts_with("path") => d,
        Some(_) => return None,
        None => dev,
    };
    let tl_ok = transport.starts_with(|c: char| c.is_ascii_lowercase())
        && transport.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '\\');
    let dev_ok = !device.is_empty()
        && device.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-' | '\\'));
    (tl_ok && dev_ok).then_some(Lane { transport, device })
}

fn quoted_list(s: &str) -> Vec<&str> {
    s.split(',').map(|t| t.trim().trim_matches('\'')).filter(|t| !t.is_empty()).collect()
}

fn plain_list(s: &str) -> Vec<&str> {
    s.split(',').map(|t| t.trim().trim_matches('\'')).filter(|t| !t.is_empty()).collect()
}

fn parse_event<'a>(msg: &'a str, whole: &'a str) -> UcxEvent<'a> {
    let t = msg.trim();
    if t.contains("overhead (usec)") {
        return UcxEvent::PerfHeader { bandwidth: true };
    }
    if t.contains("latency (usec)") {
        return UcxEvent::PerfHeader { bandwidth: false };
    }
    if t.starts_with('|') || t.starts_with('+') {
        return proto_line(t);
    }
    if let Some(c) = MD_CLOSED.captures(t) {
        return UcxEvent::MdClosed { md: c.get(1).map_or("", |m| m.as_str()) };
    }
    if t.contains("No zero-copy protocol found") {
        return UcxEvent::NoZeroCopy;
    }
    if t.starts_with("==== backtrace") {
        return UcxEvent::Backtrace;
    }
    if let Some(c) = BACKTRACE_FRAME.captures(t) {
        if let (Some(i), Some(f)) = (c.get(1).and_then(|m| m.as_str().parse().ok()), c.get(2)) {
            return UcxEvent::BacktraceFrame { index: i, frame: f.as_str().trim_end() };
        }
    }
    if t.contains("lane[") || t.contains("lane\\[") {
        if let Some(c) = LANE.captures(t) {
            if let (Some(tl), Some(dev)) = (c.get(3), c.get(4)) {
                return UcxEvent::LaneConfig(LaneConfig {
                    ep: c.get(1).map(|m| m.as_str()),
                    index: c.get(2).and_then(|m| m.as_str().parse().ok()).unwrap_or(0),
                    lane: Lane { transport: tl.as_str(), device: dev.as_str() },
                    remote_component: c.get(5).map(|m| m.as_str()),
                    flags: c.get(6).map_or(Vec::new(), |m| lane_flags(m.as_str())),
                });
            }
        }
    }
    if t.contains("]<->[") || t.contains("]<->\\[") {
        if let Some(c) = TCP_PAIR.captures(t) {
            if let (Some(l), Some(r)) = (c.get(1), c.get(2)) {
                return UcxEvent::TcpConnection { local: l.as_str(), remote: r.as_str() };
            }
        }
    }
    if t.contains("cfg#") || t.contains("ep_cfg[") || t.contains("cfg\\#") || t.contains("ep\\_cfg") {
        if let Some(c) = EP_CFG.captures(t) {
            let scope = c.get(2).map_or(Scope::Unknown, |m| Scope::from_word(m.as_str()));
            let index = c.get(3).or(c.get(4)).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
            let rest = c.get(0).map_or("", |m| &t[m.end()..]);
            let features = FEATURE
                .captures_iter(rest)
                .filter_map(|f| {
                    Some(Feature { name: f.get(1)?.as_str(), lanes: lanes_in(f.get(2)?.as_str()) })
                })
                .collect();
            // `ep_cfg[N]` has no context; before `cfg#` the token is the context name.
            let context = if c.get(2).is_some() { c.get(1).map(|m| m.as_str()) } else { None };
            return UcxEvent::EpConfig(EpConfig { context, scope, index, features });
        }
    }
    if let Some(rest) = t.split_once("env variables:").map(|(_, r)| r) {
        let vars = rest.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
        return UcxEvent::EnvVars { vars };
    }
    if let Some((_, rest)) = t.split_once("unused env variable") {
        let rest = rest.trim_start_matches('s').trim_start_matches(':');
        let names = rest
            .split([',', ' '])
            .map(|s| s.trim())
            .take_while(|s| !s.starts_with('('))
            .filter(|s| s.starts_with("UCX_"))
            .collect();
        return UcxEvent::UnusedEnv { names };
    }
    if t.contains("not available") {
        if let Some(c) = UNAVAILABLE.captures(t) {
            return UcxEvent::TransportUnavailable {
                names: c.get(1).map(|m| quoted_list(m.as_str())).unwrap_or_default(),
                available: c.get(2).map(|m| plain_list(m.as_str())).unwrap_or_default(),
            };
        }
        if let Some(c) = DEV_UNAVAILABLE.captures(t) {
            return UcxEvent::DeviceUnavailable {
                dev_type: c.get(1).map(|m| m.as_str()),
                name: c.get(2).map_or("", |m| m.as_str()),
                available: c.get(3).map(|m| plain_list(m.as_str())).unwrap_or_default(),
            };
        }
    }
    if let Some(c) = NO_TRANSPORT.captures(t) {
        let reasons = c.get(3).map_or(Vec::new(), |m| m.as_str().split(", ").map(str::trim).collect());
        return UcxEvent::NoTransport {
            what: c.get(1).map_or("", |m| m.as_str()),
            peer: c.get(2).map_or("", |m| m.as_str()),
            reasons,
        };
    }
    if let Some(c) = NO_AUX.captures(t) {
        return UcxEvent::NoTransport {
            what: c.get(1).map_or("", |m| m.as_str()),
            peer: c.get(2).map_or("", |m| m.as_str()),
            reasons: Vec::new(),
        };
    }
    if let Some(c) = INCOMPATIBLE.captures(t) {
        return UcxEvent::VersionIncompatible {
            required: c.get(1).map_or("", |m| m.as_str()),
            actual: c.get(2).map_or("", |m| m.as_str()),
        };
    }
    if let Some(c) = VERSION.captures(t) {
        if let Some(v) = (1..=5).find_map(|i| c.get(i)) {
            return UcxEvent::Version { version: v.as_str() };
        }
    }
    if let Some(c) = INFO_KEY.captures(t) {
        let value = c.get(2).map_or("", |m| m.as_str());
        return match c.get(1).map_or("", |m| m.as_str()) {
            "Memory domain" => UcxEvent::InfoMemoryDomain { name: value },
            "Transport" => UcxEvent::InfoTransport { name: value },
            "Device" => UcxEvent::InfoDevice { name: value },
            _ => UcxEvent::Configured { flags: value },
        };
    }
    if t.contains("< failed to open interface >") {
        return UcxEvent::InfoFailedInterface;
    }
    if let Some(row) = perf_row(t) {
        return row;
    }
    if let Some(ev) = completion_error(t) {
        return ev;
    }
    if let Some(c) = CALLBACK.captures(t) {
        return UcxEvent::EndpointError { status: c.get(1).map_or("", |m| m.as_str().trim()) };
    }
    if let Some(i) = whole.find("pml_ucx.c:") {
        if let Some((_, m)) = whole[i..].split_once("Error: ") {
            return UcxEvent::PmlUcxError { message: m.trim() };
        }
    }
    if let Some(ev) = nixl_event(t) {
        return ev;
    }
    if let Some(c) = SIGNAL.captures(whole) {
        return UcxEvent::CaughtSignal {
            signal: c.get(1).and_then(|m| m.as_str().parse().ok()).unwrap_or(0),
        };
    }
    UcxEvent::Other
}

/// Lane flags after the remote md: `rma_bw#0 am am_bw#0`, ` [seg 8192] rkey_ptr`; the
/// trailing `err mode …` of the lane dump is not a flag.
fn lane_flags(s: &str) -> Vec<&str> {
    let s = s.split("err mode").next().unwrap_or(s);
    let mut out = Vec::new();
    let mut in_seg = false;
    for tok in s.split_whitespace() {
        if tok.starts_with("[seg") {
            in_seg = !tok.ends_with(']');
            continue;
        }
        if in_seg {
            in_seg = !tok.ends_with(']');
            continue;
        }
        out.push(tok);
    }
    out
}

/// An RDMA completion with error, named the same across UCX generations and NIXL.
fn completion_error(t: &str) -> Option<UcxEvent<'_>> {
    if !(t.contains("rror") || t.contains("xceeded") || t.contains("synd") || t.contains("lushed")) {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    // `IB Async event on mlx5_0: SRQ-attached QP 0x… was flushed` is the normal teardown of a
    // QP, not a failed completion.
    if lower.contains("async event") {
        return None;
    }
    let (_, error) = COMPLETION_ERRORS.iter().find(|(k, _)| lower.contains(k))?;
    let device = COMPLETION_DEVICE.captures(t).and_then(|c| c.get(1)).map(|m| m.as_str());
    Some(UcxEvent::CompletionError { error, device })
}

fn nixl_event(t: &str) -> Option<UcxEvent<'_>> {
    let ev = |error, detail| Some(UcxEvent::Nixl { error, detail });
    if let Some((_, status)) = t.split_once("Unexpected UCX error:") {
        return ev(NixlError::UnexpectedUcxError, status.trim());
    }
    if let Some(c) = METADATA.captures(t) {
        return ev(NixlError::MetadataNotFound, c.get(1).map_or("", |m| m.as_str()));
    }
    if t.contains("handshake_setup_failed") || (t.contains("andshake") && t.contains("failed")) {
        return ev(NixlError::Handshake, t);
    }
    if t.contains("VRAM memory is detected as host") {
        return ev(NixlError::VramAsHost, t);
    }
    if t.contains("registration failed") {
        return ev(NixlError::Registration, t);
    }
    if t.contains("NIXL_ERR_BACKEND") {
        return ev(NixlError::Backend, t);
    }
    let c = BACKEND.captures(t)?;
    Some(UcxEvent::NixlBackend { name: c.get(1).or(c.get(2))?.as_str() })
}

/// `Final:  1000  0.240  1675.942 …` / `[thread 0]  622  0.240 …`.
fn perf_row(t: &str) -> Option<UcxEvent<'_>> {
    let (is_final, rest) = if let Some(r) = t.strip_prefix("Final:") {
        (true, r)
    } else if let Some(r) = t.strip_prefix("[thread ") {
        (false, r.split_once(']')?.1)
    } else {
        return None;
    };
    let values: Vec<f64> = rest.split_whitespace().map_while(|v| v.parse().ok()).collect();
    (!values.is_empty()).then_some(UcxEvent::PerfRow { is_final, values })
}

/// A UCX_PROTO_INFO table line (title, row or `+---+` rule).
fn proto_line(t: &str) -> UcxEvent<'_> {
    let cells: Vec<&str> = t.trim_matches(['|', ' ']).split('|').map(str::trim).collect();
    let first = cells.first().copied().unwrap_or("");
    if let Some(c) = PROTO_TITLE.captures(first) {
        return UcxEvent::ProtoHeader {
            context: c.get(1).map(|m| m.as_str()),
            scope: c.get(2).map_or(Scope::Unknown, |m| Scope::from_word(m.as_str())),
            operation: cells.get(1).copied().unwrap_or(""),
        };
    }
    if RANGE.is_match(first) {
        let protocol = cells.get(1).copied().unwrap_or("");
        let lanes = cells.get(2).map(|c| lanes_in(c)).unwrap_or_default();
        let emulated = protocol.contains("software emulation");
        return UcxEvent::ProtoRow { range: first, protocol, lanes, emulated };
    }
    UcxEvent::Other
}

/// True for a `ucx_info -d` key line that says what it is even outside a `ucx_info` input
/// (`#      Transport: rc_verbs`, `#   < failed to open interface >`).
pub fn is_info_line(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('#')
        && (t.contains("< failed to open interface >")
            || INFO_KEY
                .captures(t)
                .is_some_and(|c| c.get(1).is_some_and(|m| m.as_str() != "configured with")))
}

/// Removes markdown escapes (`rc\_mlx5` → `rc_mlx5`) from a name taken from a pasted line.
pub fn unescape(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\\') {
        std::borrow::Cow::Owned(s.replace('\\', ""))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}
