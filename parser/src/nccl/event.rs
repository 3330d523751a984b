//! The typed meaning of an NCCL message (the text after `NCCL INFO ` / `NCCL WARN `).
//!
//! Shapes and the versions that print them: ../shared/spec/nccl-log-format.md. Anything not
//! recognised is kept as [`Event::Other`], never dropped.

use serde::Serialize;

use super::Level;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// `NCCL version 2.18.5+cuda12.2` (the CUDA part is the build toolkit).
    Version { version: &'a str },
    /// `cudaDriverVersion 12040` (2.13+).
    CudaDriver { version: u32 },
    /// `Bootstrap : Using eth0:10.0.0.1<0>` (all generations).
    Bootstrap { ifaces: Vec<NetIface<'a>> },
    /// `NET/Plugin …`, `TUNER/Plugin …`, `Successfully loaded external plugin …` and kin.
    Plugin { family: &'a str, what: PluginEvent, detail: &'a str },
    /// `Using network IB|Socket|<plugin name>`; 2.3 `Using internal|external Network X`.
    UsingNetwork { name: &'a str },
    /// `NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/RoCE [RO]; OOB eth0:10.0.0.1<0>`
    /// (also `NET/IBext…`).
    IbDevices {
        transport: &'a str,
        devices: Vec<IbDevice<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        oob: Option<NetIface<'a>>,
        relaxed_ordering: bool,
    },
    /// `NET/IB : No device found.`
    IbNoDevice,
    /// `NET/Socket : Using [0]eth0:10.0.0.1<0> [1]eth1:…`
    SocketDevices { ifaces: Vec<NetIface<'a>> },
    /// aws-ofi-nccl (`NET/OFI …`).
    Ofi(OfiEvent<'a>),
    /// `NET/IB : GPU Direct RDMA Enabled|Disabled for HCA 0 'mlx5_0'` (2.13+; before only Disabled).
    GdrHca {
        enabled: bool,
        hca: u32,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
    },
    /// `GPU Direct RDMA Enabled|Disabled for GPU X / HCA Y (distance D <= T), read R` and variants.
    GdrGpu { enabled: bool, target: &'a str, distance: Option<i32>, threshold: Option<i32> },
    /// `X set by environment to Y` (`set from environment` in 2.6), `NCCL_IB_HCA set to X`.
    Env { name: &'a str, value: &'a str },
    /// `ENV X is deprecated` / `Invalid value X for Y, using default Z`.
    EnvProblem { name: &'a str, detail: &'a str },
    /// Communicator lifecycle: Init START/COMPLETE, Destroy/Abort COMPLETE.
    Comm(CommEvent<'a>),
    /// 2.20+ `comm %p rank %d nRanks %d nNodes %d localRanks %d localRank %d MNNVL %d`.
    CommNodes { comm: &'a str, rank: u32, nranks: u32, nnodes: u32, local_ranks: u32 },
    /// Rank 0's ring dump: `Channel 00/02 :    0   1   2   3`, 2.3 `Ring 00 : 0 1 2 3`.
    RingDump {
        channel: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        nchannels: Option<u32>,
        ranks: Vec<i64>,
    },
    /// Per-rank GRAPH ring line `Ring 00 : 3 -> 0 -> 1`.
    RingLink { channel: u32, prev: i64, rank: i64, next: i64 },
    /// `Trees [0] 1/-1/-1->0->-1 …`, `Tree 0 : …`.
    Trees { spec: &'a str },
    /// A per-channel connection line.
    Connection(Connection<'a>),
    /// `Connected all rings`, `Connected all trees`, `Connected NVLS tree`, …
    Connected { what: &'a str },
    /// `NVLS multicast support is [not ]available on dev N`.
    Nvls { available: bool, dev: Option<u32> },
    /// `%d coll channels, %d collnet channels, %d nvls channels, %d p2p channels, …`
    ChannelCounts { coll: u32, collnet: Option<u32>, nvls: Option<u32>, p2p: Option<u32> },
    /// `Pattern 4, crossNic 0, nChannels 2, bw 24.0/24.0, type NVL/PIX, sameChannels 1`
    Pattern { pattern: u32, nchannels: Option<u32>, kind: Option<&'a str> },
    /// Topology printout (GRAPH): `=== System : …`, `CPU/0-0 (…)`, `+ PCI[24.0] - GPU/…`,
    /// path lines. Parsed into a graph by the topology stage.
    Topology { text: &'a str },
    /// `Init timings …`.
    InitTimings { text: &'a str },
    /// Error propagation: `transport/net.cc:683 -> 6`, `… -> 2 (No such file) [Async thread]`.
    ErrorUnwind {
        file: &'a str,
        line: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        func: Option<&'a str>,
        code: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        thread: Option<&'a str>,
    },
    /// A collective call traced by `NCCL_DEBUG_SUBSYS=COLL`
    /// (`AllReduce: opCount 4d sendbuff … comm 0x… [nranks=N] stream 0x…`, enqueue.cc): the
    /// bulk of a hang-chasing log, recognised before any other check.
    Coll { op: &'a str },
    /// Anything else; a WARN line of this kind is a generic warning.
    Other,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PluginEvent {
    /// No library found (`No plugin found`, `Could not find: libnccl-net.so`).
    NotFound,
    /// dlopen found it but failed (`Plugin load (…) returned 2 : …`, `dlerror=…`).
    LoadError,
    /// `Using internal (network|net) plugin` / `using internal implementation`.
    UsingInternal,
    /// `Loaded net plugin X (v9)`, `Successfully loaded external plugin …`.
    Loaded,
    /// `Initialized NET plugin X`, `Assigned NET plugin X to comm`.
    Initialized,
    /// WARN `Failed to initialize any NET plugin` / `Failed to initialize NET plugin`.
    InitFailed,
    /// `Failed to find ncclCollNetPlugin_v5 symbol` and other benign notes.
    Other,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetIface<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    pub name: &'a str,
    pub addr: &'a str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IbDevice<'a> {
    pub index: u32,
    pub name: &'a str,
    pub port: u32,
    /// `IB`, `RoCE`, `UNSPECIFIED`.
    pub link_layer: &'a str,
    /// Extra flags after the link layer (`SHARP`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "ofi", rename_all = "snake_case")]
pub enum OfiEvent<'a> {
    /// `Selected Provider is efa (found 4 nics)` / `Selected provider is efa, fabric is efa (found 32 nics)`.
    Provider {
        provider: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        fabric: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        nics: Option<u32>,
    },
    /// `Using aws-ofi-nccl 1.5.0aws`, `Initializing aws-ofi-nccl 1.14.0`.
    PluginVersion { version: &'a str },
    /// `Using Libfabric version 1.22`.
    LibfabricVersion { version: &'a str },
    /// `Running on p5.48xlarge platform, …topology file …` / `Plugin selected platform: AWS`.
    Platform {
        instance: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        topo_file: Option<&'a str>,
    },
    /// No usable provider: `Couldn't find any optimal provider`, `No eligible providers were
    /// found`, `OFI fi_getinfo() call failed`, `Only EFA provider is supported`, `No EFA devices`.
    NoProvider { detail: &'a str },
    /// `No NIC info for dev N`.
    NoNicInfo { dev: Option<u32> },
    /// `NIC group N device #M 0000:10:1c.0`.
    NicGroup { group: u32, device: u32, bus_id: &'a str },
    /// Environment the plugin sets itself: `Setting X environment variable to 1`,
    /// `Adding X=1 to environment`, `Setting NCCL_PROTO to "simple"`.
    EnvSet { name: &'a str, value: &'a str },
    /// Anything else from the plugin.
    Other,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CommPhase {
    InitStart,
    InitComplete,
    DestroyComplete,
    AbortComplete,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CommEvent<'a> {
    pub phase: CommPhase,
    /// 2.21+ API name: ncclCommInitRank, ncclCommSplit, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<&'a str>,
    pub comm: &'a str,
    pub rank: Option<u32>,
    pub nranks: Option<u32>,
    pub cuda_dev: Option<i32>,
    pub nvml_dev: Option<i32>,
    pub bus_id: Option<&'a str>,
    pub comm_id: Option<&'a str>,
    pub parent: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Send,
    Receive,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Connection<'a> {
    /// `Channel`, `Ring` (≤ 2.6) or `CollNet`.
    pub kind: &'a str,
    pub channel: u32,
    /// `/N` after the channel: the connIndex (not nChannels) in connection lines.
    pub conn_index: Option<u32>,
    pub from_rank: i64,
    /// GPU id in brackets: hex busId (2.5–2.18.1), nvmlDev (2.18.3+), cudaDev (≤ 2.4).
    pub from_gpu: Option<&'a str>,
    pub to_rank: i64,
    pub to_gpu: Option<&'a str>,
    pub direction: Option<Direction>,
    pub transport: Transport<'a>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transport<'a> {
    /// `NET/<name>/<dev>[(proxy)][/GDRDMA][/Shared]`; the name may hold spaces.
    Net {
        name: &'a str,
        dev: u32,
        proxy: Option<u32>,
        gdr: bool,
        shared: bool,
    },
    /// `P2P/IPC/read`, `P2P/direct pointer`, `P2P/CUMEM`, `P2P/indirect/…`
    P2p {
        mode: &'a str,
    },
    /// `SHM/direct/direct`, `direct shared memory` (≤ 2.12)
    Shm {
        mode: &'a str,
    },
    /// `COLLNET/SHARP/0/GDRDMA`
    CollNet {
        spec: &'a str,
    },
    Other {
        spec: &'a str,
    },
}

use crate::static_regex as re;

re!(IFACE, r"(?:\[(\d+)\])?([^\s:\[\]<>]+):([^\s<]*)<\d+>");
// 2.29+ may add `:rail` / `::plane` after the port.
re!(IB_DEV, r"\[(\d+)\]\s*([^\s:\[\]{},]+):(\d+)(?::[^/\s]*)?/([A-Za-z]+)((?:/[A-Za-z]+)*)");
re!(GDR_HCA, r"GPU Direct RDMA (Enabled|Disabled) for HCA (\d+) '([^']*)'(?:\s*\((.*)\))?");
re!(GDR_GPU, r"GPU Direct RDMA (Enabled|Disabled) for (.*?)\s*\(distance (-?\d+) ?(?:<=|<|>) ?(-?\d+)");
re!(ENV_ECHO, r"^(\w+) set (?:by|from) environment to ?(.*)$");
re!(ENV_SET_TO, r"^(NCCL_\w+) set to (.*)$");
re!(ENV_INVALID, r"^Invalid value (.*) for (\w+)");
re!(ENV_DEPRECATED, r"^ENV (\w+) is deprecated");
re!(
    CONNECTION,
    r"^(Channel|Ring|CollNet) (\d+)(?:/(\d+))? ?: (-?\d+)(?:\[([0-9a-fA-Fx]+)\])?(?: -> (-?\d+)(?:\[([0-9a-fA-Fx]+)\])?)?(?: \[(send|receive)\])? via (.+)$"
);
re!(RING_LINK, r"^Ring (\d+) : (-?\d+) -> (-?\d+) -> (-?\d+)\s*$");
re!(RING_DUMP, r"^(?:Channel|Ring) (\d+)(?:/(\d+))? ?:((?:\s+-?\d+)*)\s*(?:\.\.\.)?\s*$");
re!(
    UNWIND,
    r"^([\w./+-]+\.(?:cc|cu|h|c|cpp|hpp|cuh)):(\d+)(?: \((\w+)\))? -> (\d+)(?: \(([^)]*)\))?(?: \[([^\]]+)\])?\s*$"
);
re!(
    PROVIDER,
    r"Selected [Pp]rovider is ([^\s,()]+)(?:, fabric is ([^\s,()]+))?(?:\s*\(found (\d+) nics?\))?"
);
re!(
    OFI_PLATFORM,
    r"Running on (\S+) platform(?:,.*?(?:topology file|NCCL_TOPO_FILE environment variable to) (\S+))?"
);
re!(OFI_NIC_GROUP, r"NIC group (\d+) device #(\d+) (\S+)");
re!(OFI_SETTING, r#"^Setting (\w+)(?: environment variable)? to "?([^"\s]*)"?"#);
re!(OFI_ADDING, r"^Adding (\w+)=(\S+) to environment");
re!(
    CHANNEL_COUNTS,
    r"^(\d+) coll channels(?:, (\d+) collnet channels)?(?:, (\d+) nvls channels)?(?:, (\d+) p2p channels)?"
);
re!(PATTERN, r"^Pattern (\d+), crossNic \d+, nChannels (\d+)(?:.*?type ([A-Z0-9]+/[A-Z0-9]+))?");
re!(NVLS, r"^NVLS multicast support is (not )?available on dev (\d+)");

fn num<T: std::str::FromStr>(m: Option<regex::Match<'_>>) -> Option<T> {
    m.and_then(|m| m.as_str().parse().ok())
}

fn s<'a>(m: Option<regex::Match<'a>>) -> &'a str {
    m.map_or("", |m| m.as_str())
}

/// Classifies a message. `level` disambiguates a few shapes.
pub(crate) fn classify(msg: &str, _level: Level) -> Event<'_> {
    // Dispatch on the first byte before any regex: this runs on every NCCL line.
    let first = msg.as_bytes().first().copied().unwrap_or(b' ');
    if first.is_ascii_uppercase() {
        if let Some(op) = coll_op(msg) {
            return Event::Coll { op };
        }
    }
    if let Some(e) = classify_by_first_byte(first, msg) {
        return e;
    }
    classify_by_content(msg)
}

/// `<Op>: opCount <hex> …`: the op name is one word of letters.
pub(crate) fn coll_op(msg: &str) -> Option<&str> {
    // One pass over the op (this runs on every line of a COLL trace).
    let b = msg.as_bytes();
    let end = b.iter().take(32).position(|c| !c.is_ascii_alphanumeric())?;
    b[end..].starts_with(b": opCount ").then(|| &msg[..end])
}

/// The shapes found by a word inside the message; each search is a prebuilt finder because
/// this runs on every NCCL line no first word explained.
fn classify_by_content(msg: &str) -> Event<'_> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static PLUGIN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("/Plugin"));
    static GDR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("GPU Direct RDMA "));
    static SET: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" set "));
    static ARROW: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" -> "));
    static COLL_CHANNELS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" coll channels"));
    static COMM_PTR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("comm 0x"));
    static COMM_WORD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" comm "));
    let b = msg.as_bytes();
    if let Some(i) = PLUGIN.find(b) {
        let family = &msg[..i];
        if !family.is_empty() && family.bytes().all(|b| b.is_ascii_uppercase()) {
            return Event::Plugin { family, what: plugin_event(&msg[i..]), detail: msg };
        }
    }
    if GDR.find(b).is_some() {
        if let Some(e) = gdr(msg) {
            return e;
        }
    }
    if SET.find(b).is_some() {
        if let Some(c) = ENV_ECHO.captures(msg) {
            return Event::Env { name: s(c.get(1)), value: env_value(s(c.get(2))) };
        }
        if let Some(c) = ENV_SET_TO.captures(msg) {
            return Event::Env { name: s(c.get(1)), value: s(c.get(2)).trim() };
        }
    }
    if ARROW.find(b).is_some() {
        if let Some(c) = UNWIND.captures(msg) {
            if let (Some(line), Some(code)) = (num(c.get(2)), num(c.get(4))) {
                return Event::ErrorUnwind {
                    file: s(c.get(1)),
                    line,
                    func: c.get(3).map(|m| m.as_str()),
                    code,
                    thread: c.get(6).map(|m| m.as_str()),
                };
            }
        }
    }
    if COLL_CHANNELS.find(b).is_some() {
        if let Some(c) = CHANNEL_COUNTS.captures(msg) {
            return Event::ChannelCounts {
                coll: num(c.get(1)).unwrap_or(0),
                collnet: num(c.get(2)),
                nvls: num(c.get(3)),
                p2p: num(c.get(4)),
            };
        }
    }
    // 2.29+: START prefixed `[Rank %d] `; 2.21+: api name before `comm`.
    if let Some(i) = COMM_PTR.find(b).or_else(|| COMM_WORD.find(b).map(|i| i + 1)) {
        if i < 48 {
            if let Some(e) = comm_event(&msg[i..]) {
                if let Event::Comm(mut c) = e {
                    c.api = msg[..i].split_whitespace().last().filter(|w| w.starts_with("nccl"));
                    return Event::Comm(c);
                }
                return e;
            }
        }
    }
    printout_or_other(msg)
}

/// The shapes recognisable from their first word.
fn classify_by_first_byte(first: u8, msg: &str) -> Option<Event<'_>> {
    match first {
        b'N' => {
            if let Some(v) = msg.strip_prefix("NCCL version ") {
                let version = v.split_whitespace().next().unwrap_or("");
                return Some(Event::Version { version });
            }
            if let Some(rest) = msg.strip_prefix("NET/") {
                return Some(classify_net(msg, rest));
            }
            let c = NVLS.captures(msg)?;
            Some(Event::Nvls { available: c.get(1).is_none(), dev: num(c.get(2)) })
        }
        b'c' => {
            if let Some(v) = msg.strip_prefix("cudaDriverVersion ") {
                if let Ok(version) = v.trim().parse() {
                    return Some(Event::CudaDriver { version });
                }
            }
            if msg.starts_with("comm ") {
                return comm_event(msg);
            }
            None
        }
        b'B' => {
            let rest =
                msg.strip_prefix("Bootstrap : Using").or_else(|| msg.strip_prefix("Bootstrap: Using"))?;
            Some(Event::Bootstrap { ifaces: ifaces(rest) })
        }
        b'U' => {
            // 2.6+ `Using network X`; 2.3 `Using internal|external Network X`.
            let name = msg
                .strip_prefix("Using network ")
                .or_else(|| msg.strip_prefix("Using internal Network "))
                .or_else(|| msg.strip_prefix("Using external Network "))?;
            Some(Event::UsingNetwork { name: name.trim() })
        }
        b'C' => {
            if let Some(what) = msg.strip_prefix("Connected ") {
                return Some(Event::Connected { what });
            }
            if msg.starts_with("Channel ") || msg.starts_with("CollNet ") {
                return channel_line(msg);
            }
            msg.starts_with("CPU/").then_some(Event::Topology { text: msg })
        }
        b'R' if msg.starts_with("Ring ") => channel_line(msg),
        b'T' if msg.starts_with("Trees ") || msg.starts_with("Tree ") => Some(Event::Trees { spec: msg }),
        b'P' if msg.starts_with("Pattern ") => {
            let c = PATTERN.captures(msg)?;
            Some(Event::Pattern {
                pattern: num(c.get(1)).unwrap_or(0),
                nchannels: num(c.get(2)),
                kind: c.get(3).map(|m| m.as_str()),
            })
        }
        b'I' => {
            if msg.starts_with("Init timings") {
                return Some(Event::InitTimings { text: msg });
            }
            if msg.starts_with("Initialized NET plugin") {
                return Some(Event::Plugin { family: "NET", what: PluginEvent::Initialized, detail: msg });
            }
            let c = ENV_INVALID.captures(msg)?;
            Some(Event::EnvProblem { name: s(c.get(2)), detail: msg })
        }
        b'E' => {
            let c = ENV_DEPRECATED.captures(msg)?;
            Some(Event::EnvProblem { name: s(c.get(1)), detail: msg })
        }
        b'S' if msg.starts_with("Successfully loaded external") => {
            Some(Event::Plugin { family: "NET", what: PluginEvent::Loaded, detail: msg })
        }
        b'A' if msg.starts_with("Assigned NET plugin") => {
            Some(Event::Plugin { family: "NET", what: PluginEvent::Initialized, detail: msg })
        }
        b'F' if msg.starts_with("Failed to initialize any NET plugin")
            || msg.starts_with("Failed to initialize NET plugin") =>
        {
            Some(Event::Plugin { family: "NET", what: PluginEvent::InitFailed, detail: msg })
        }
        b'=' | b'+' => Some(Event::Topology { text: msg }),
        b'G' if msg.starts_with("GPU/") => Some(Event::Topology { text: msg }),
        _ => None,
    }
}

/// Integers are echoed with a trailing dot (`22.`), strings without.
fn env_value(v: &str) -> &str {
    let v = v.trim();
    match v.strip_suffix('.') {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'-') => n,
        _ => v,
    }
}

fn ifaces(text: &str) -> Vec<NetIface<'_>> {
    let v: Vec<NetIface<'_>> = IFACE
        .captures_iter(text)
        .map(|c| NetIface { index: num(c.get(1)), name: s(c.get(2)), addr: s(c.get(3)) })
        .collect();
    if !v.is_empty() {
        return v;
    }
    // 2.24+ bootstrap over an OOB net device: `Bootstrap: Using mlx5_0:1` (device:port).
    text.split_whitespace()
        .filter_map(|t| t.split_once(':'))
        .filter(|(n, _)| !n.is_empty())
        .map(|(name, addr)| NetIface { index: None, name, addr })
        .collect()
}

fn plugin_event(rest: &str) -> PluginEvent {
    if rest.contains("No plugin found") || rest.contains("Could not find") {
        if rest.contains("dlerror=") && !rest.contains("cannot open shared object") {
            return PluginEvent::LoadError;
        }
        PluginEvent::NotFound
    } else if rest.contains("Plugin load") && rest.contains("returned") {
        // `returned 2 : libnccl-net.so: cannot open shared object file` is "not found" too
        // (2 = ENOENT; the dlerror text is often cut in pasted logs).
        if rest.contains("cannot open") || rest.contains("No such file") || rest.contains("returned 2 ") {
            PluginEvent::NotFound
        } else {
            PluginEvent::LoadError
        }
    } else if rest.contains("Using internal") || rest.contains("using internal") {
        PluginEvent::UsingInternal
    } else if rest.contains("Loaded ") || rest.contains("loaded ") {
        PluginEvent::Loaded
    } else if rest.contains("Failed to initialize") {
        PluginEvent::InitFailed
    } else if rest.contains("undefined symbol") || rest.contains("cannot open shared object") {
        if rest.contains("undefined symbol") {
            PluginEvent::LoadError
        } else {
            PluginEvent::NotFound
        }
    } else {
        PluginEvent::Other
    }
}

/// Indented link lines (`              + PCI[24.0] - GPU/…`) and path lines starting with any node
/// kind (`NET/0 :GPU/…`) belong to the topology printout too (GRAPH, spec §10).
fn printout_or_other(msg: &str) -> Event<'_> {
    if crate::topo::printout::parse_printout(msg).is_some() {
        Event::Topology { text: msg }
    } else {
        Event::Other
    }
}

fn classify_net<'a>(msg: &'a str, rest: &'a str) -> Event<'a> {
    if let Some(ofi) = rest.strip_prefix("OFI ") {
        return Event::Ofi(classify_ofi(ofi.trim()));
    }
    if rest.starts_with("Plugin") {
        let what = plugin_event(rest);
        return Event::Plugin { family: "NET", what, detail: msg };
    }
    if let Some(sock) = rest.strip_prefix("Socket") {
        if let Some(list) = sock.trim_start_matches([' ', ':']).strip_prefix("Using ") {
            if list.contains('<') || list.trim().is_empty() {
                return Event::SocketDevices { ifaces: ifaces(list) };
            }
        }
        return Event::Other;
    }
    if rest.starts_with("IB") {
        // `NET/IB`, `NET/IBext`, `NET/IBext_v8`.
        let end = rest.find([' ', ':']).unwrap_or(rest.len());
        let transport = &rest[..end];
        let body = rest[end..].trim_start_matches([' ', ':']);
        if body.starts_with("No device found") {
            return Event::IbNoDevice;
        }
        if body.starts_with("GPU Direct RDMA") {
            if let Some(e) = gdr(body) {
                return e;
            }
        }
        if let Some(list) = body.strip_prefix("Using") {
            let (devs, oob) = match list.find("OOB") {
                Some(i) => (&list[..i], Some(&list[i + 3..])),
                None => (list, None),
            };
            let devices = IB_DEV
                .captures_iter(devs)
                .map(|c| IbDevice {
                    index: num(c.get(1)).unwrap_or(0),
                    name: s(c.get(2)),
                    port: num(c.get(3)).unwrap_or(0),
                    link_layer: s(c.get(4)),
                    flags: c.get(5).map(|m| m.as_str().trim_start_matches('/')).filter(|f| !f.is_empty()),
                })
                .collect();
            let oob = oob.and_then(|o| {
                let o = o.trim();
                ifaces(o).into_iter().next().or_else(|| {
                    // `OOB :` (empty) or `OOB mlx5_0:1` style.
                    let (name, addr) = o.split_once(':').unwrap_or((o, ""));
                    Some(NetIface {
                        index: None,
                        name,
                        addr: addr.trim_end_matches(|c| c == '<' || c == '>' || char::is_numeric(c)),
                    })
                })
            });
            return Event::IbDevices { transport, devices, oob, relaxed_ordering: devs.contains("[RO]") };
        }
    }
    printout_or_other(msg)
}

fn classify_ofi(m: &str) -> OfiEvent<'_> {
    if let Some(c) = PROVIDER.captures(m) {
        return OfiEvent::Provider {
            provider: s(c.get(1)),
            fabric: c.get(2).map(|m| m.as_str()),
            nics: num(c.get(3)),
        };
    }
    for p in ["Using aws-ofi-nccl ", "Initializing aws-ofi-nccl "] {
        if let Some(v) = m.strip_prefix(p) {
            return OfiEvent::PluginVersion { version: v.split_whitespace().next().unwrap_or("") };
        }
    }
    if let Some(v) = m.strip_prefix("Using Libfabric version ") {
        return OfiEvent::LibfabricVersion { version: v.split_whitespace().next().unwrap_or("") };
    }
    if let Some(c) = OFI_PLATFORM.captures(m) {
        return OfiEvent::Platform { instance: s(c.get(1)), topo_file: c.get(2).map(|m| m.as_str()) };
    }
    if let Some(p) = m.strip_prefix("Plugin selected platform: ") {
        return OfiEvent::Platform { instance: p.trim(), topo_file: None };
    }
    let lower_is = |needle: &str| m.contains(needle);
    if lower_is("optimal provider")
        || lower_is("No eligible providers")
        || lower_is("fi_getinfo() call failed")
        || lower_is("Only EFA provider is supported")
        || lower_is("No EFA devices")
        || lower_is("Unexpected group size 0")
    {
        return OfiEvent::NoProvider { detail: m };
    }
    if let Some(rest) = m.strip_prefix("No NIC info for dev") {
        return OfiEvent::NoNicInfo { dev: rest.trim().parse().ok() };
    }
    if let Some(c) = OFI_NIC_GROUP.captures(m) {
        return OfiEvent::NicGroup {
            group: num(c.get(1)).unwrap_or(0),
            device: num(c.get(2)).unwrap_or(0),
            bus_id: s(c.get(3)),
        };
    }
    if let Some(c) = OFI_SETTING.captures(m) {
        return OfiEvent::EnvSet { name: s(c.get(1)), value: s(c.get(2)) };
    }
    if let Some(c) = OFI_ADDING.captures(m) {
        return OfiEvent::EnvSet { name: s(c.get(1)), value: s(c.get(2)) };
    }
    OfiEvent::Other
}

fn gdr(msg: &str) -> Option<Event<'_>> {
    if let Some(c) = GDR_HCA.captures(msg) {
        return Some(Event::GdrHca {
            enabled: s(c.get(1)) == "Enabled",
            hca: num(c.get(2)).unwrap_or(0),
            name: s(c.get(3)),
            reason: c.get(4).map(|m| m.as_str()),
        });
    }
    GDR_GPU.captures(msg).map(|c| Event::GdrGpu {
        enabled: s(c.get(1)) == "Enabled",
        target: s(c.get(2)),
        distance: num(c.get(3)),
        threshold: num(c.get(4)),
    })
}

fn channel_line(msg: &str) -> Option<Event<'_>> {
    if msg.contains(" via ") {
        let c = CONNECTION.captures(msg)?;
        return Some(Event::Connection(Connection {
            kind: s(c.get(1)),
            channel: num(c.get(2))?,
            conn_index: num(c.get(3)),
            from_rank: num(c.get(4))?,
            from_gpu: c.get(5).map(|m| m.as_str()),
            // CollNet lines name only the local rank.
            to_rank: num(c.get(6)).or(num(c.get(4)))?,
            to_gpu: c.get(7).map(|m| m.as_str()),
            direction: c.get(8).map(
                |m| {
                    if m.as_str() == "send" {
                        Direction::Send
                    } else {
                        Direction::Receive
                    }
                },
            ),
            transport: transport(s(c.get(9)).trim()),
        }));
    }
    if let Some(c) = RING_LINK.captures(msg) {
        return Some(Event::RingLink {
            channel: num(c.get(1))?,
            prev: num(c.get(2))?,
            rank: num(c.get(3))?,
            next: num(c.get(4))?,
        });
    }
    let c = RING_DUMP.captures(msg)?;
    let ranks: Vec<i64> = s(c.get(3)).split_whitespace().filter_map(|r| r.parse().ok()).collect();
    if ranks.is_empty() {
        return None;
    }
    Some(Event::RingDump { channel: num(c.get(1))?, nchannels: num(c.get(2)), ranks })
}

/// Parses the part after `via `.
pub fn transport(spec: &str) -> Transport<'_> {
    if let Some(net) = spec.strip_prefix("NET/") {
        // Split from the right on the `/<digits>` segment: plugin names hold spaces
        // (`AWS Libfabric`) and flags follow the device (`/GDRDMA`, `/Shared`, `(PCI)`).
        let parts: Vec<&str> = net.split('/').collect();
        let dev_at = parts.iter().rposition(|p| {
            let d = p.split('(').next().unwrap_or("");
            !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
        });
        if let Some(i) = dev_at.filter(|&i| i > 0) {
            let name_end = parts[..i].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
            let name = &net[..name_end];
            let dev_part = parts[i];
            let (dev, proxy) = match dev_part.split_once('(') {
                Some((d, p)) => (d.parse().ok(), p.trim_end_matches(')').parse().ok()),
                None => (dev_part.parse().ok(), None),
            };
            if let Some(dev) = dev {
                let flags = &parts[i + 1..];
                return Transport::Net {
                    name,
                    dev,
                    proxy,
                    gdr: flags.iter().any(|f| f.starts_with("GDRDMA")),
                    shared: flags.iter().any(|f| f.starts_with("Shared")),
                };
            }
        }
        return Transport::Other { spec };
    }
    if let Some(mode) = spec.strip_prefix("P2P/") {
        return Transport::P2p { mode };
    }
    if let Some(mode) = spec.strip_prefix("SHM/") {
        return Transport::Shm { mode };
    }
    if spec.starts_with("direct shared memory") {
        return Transport::Shm { mode: spec };
    }
    if spec.starts_with("COLLNET") {
        return Transport::CollNet { spec };
    }
    Transport::Other { spec }
}

/// Key/value tokens after `comm`: tolerant to the field sets of every version (§8).
fn comm_event(msg: &str) -> Option<Event<'_>> {
    let (body, tail) = match msg.rfind("- ") {
        Some(i) => (&msg[..i], msg[i + 2..].trim()),
        None => (msg, ""),
    };
    let phase = match tail {
        "Init START" => Some(CommPhase::InitStart),
        "Init COMPLETE" => Some(CommPhase::InitComplete),
        "Destroy COMPLETE" => Some(CommPhase::DestroyComplete),
        "Abort COMPLETE" => Some(CommPhase::AbortComplete),
        _ => None,
    };
    let mut toks = body.split_whitespace();
    let mut ev = CommEvent {
        phase: phase.unwrap_or(CommPhase::InitStart),
        api: None,
        comm: "",
        rank: None,
        nranks: None,
        cuda_dev: None,
        nvml_dev: None,
        bus_id: None,
        comm_id: None,
        parent: None,
    };
    let (mut nnodes, mut local_ranks) = (None, None);
    while let Some(k) = toks.next() {
        let Some(v) = toks.next() else { break };
        match k {
            "comm" => ev.comm = v,
            "rank" => ev.rank = v.parse().ok(),
            "nranks" | "nRanks" => ev.nranks = v.parse().ok(),
            "cudaDev" => ev.cuda_dev = v.parse().ok(),
            "nvmlDev" => ev.nvml_dev = v.parse().ok(),
            "busId" => ev.bus_id = Some(v),
            "commId" => ev.comm_id = Some(v),
            "parent" => ev.parent = Some(v),
            "nNodes" => nnodes = v.parse().ok(),
            "localRanks" => local_ranks = v.parse().ok(),
            _ => {}
        }
    }
    if ev.comm.is_empty() {
        return None;
    }
    match phase {
        Some(_) => Some(Event::Comm(ev)),
        None => match (ev.rank, ev.nranks, nnodes, local_ranks) {
            (Some(rank), Some(nranks), Some(nnodes), Some(local_ranks)) => {
                Some(Event::CommNodes { comm: ev.comm, rank, nranks, nnodes, local_ranks })
            }
            _ => None,
        },
    }
}
