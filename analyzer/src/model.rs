//! The job model: records → processes (host, pid) → ranks → hosts, communicators, and the
//! facts the rules look at, each with the lines that prove it.
//!
//! The model is the parser's sink: it copies only what a rule may need (small facts and a
//! bounded number of evidence lines), never the whole log.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use ncclscope_parser::nccl::{
    CommPhase, Connection, Direction, Event, Level, NcclLine, OfiEvent, PluginEvent, Transport,
};
use ncclscope_parser::{HotNccl, HotRun, InputId, Position, Record, RecordSink};

use crate::finding::Evidence;
use crate::nccltests::{TestsRun, TestsRunBuilder};

pub type ProcId = usize;

/// Facts kept per kind are capped: past this many, only a count grows (memory stays bounded
/// on a 1000-rank job that prints the same WARN on every rank every step).
pub const FACT_CAP: usize = 20_000;

/// A fact seen on one line of one process.
#[derive(Debug, Clone)]
pub struct Fact<T> {
    pub proc: ProcId,
    pub ev: Evidence,
    pub data: T,
}

/// A bounded list of facts with the total seen.
#[derive(Debug, Clone)]
pub struct Facts<T> {
    pub items: Vec<Fact<T>>,
    pub total: usize,
}

impl<T> Default for Facts<T> {
    fn default() -> Self {
        Self { items: Vec::new(), total: 0 }
    }
}

impl<T> Facts<T> {
    fn push(&mut self, proc: ProcId, ev: &Evidence, data: T) {
        self.total += 1;
        if self.items.len() < FACT_CAP {
            self.items.push(Fact { proc, ev: ev.clone(), data });
        }
    }
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Fact<T>> {
        self.items.iter()
    }
}

/// One emitting process, identified by NCCL's `host:pid` (or, when NCCL's header is absent, by
/// the input and the launcher's rank).
#[derive(Debug, Clone, Default)]
pub struct Process {
    pub input: InputId,
    pub host: Option<String>,
    pub pid: Option<u32>,
    pub launcher_rank: Option<u32>,
    /// Ranks this process holds, per communicator size (largest communicator first is the
    /// "world" rank).
    pub comm_ranks: BTreeMap<u32, BTreeSet<u32>>,
    pub cuda_devs: BTreeSet<i32>,
    pub first_line: Option<Evidence>,
    pub last_line: Option<Evidence>,
    /// First WARN / error-unwind line of this process.
    pub first_error: Option<Evidence>,
    pub first_timestamp: Option<String>,
    pub lines: u64,
}

impl Process {
    /// The rank in the largest communicator, else the launcher's rank.
    pub fn world_ranks(&self) -> Vec<u32> {
        match self.comm_ranks.iter().next_back() {
            Some((_, ranks)) => ranks.iter().copied().collect(),
            None => self.launcher_rank.into_iter().collect(),
        }
    }
    pub fn label(&self) -> String {
        match (&self.host, self.pid) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.clone(),
            _ => match self.launcher_rank {
                Some(r) => format!("launcher rank {r}"),
                None => "unknown process".into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum ProcKey {
    HostPid(String, u32),
    /// No NCCL header (bare banner, aws-ofi-nccl test output): the input and launcher rank.
    Anonymous(InputId, Option<u32>),
}

/// Per rank of a communicator: its process, and the lines of its init.
#[derive(Debug, Clone)]
pub struct CommRank {
    pub proc: ProcId,
    pub start: Option<Evidence>,
    pub complete: Option<Evidence>,
    pub cuda_dev: Option<i32>,
    pub bus_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Communicator {
    /// `commId` (2.17+) or, before it existed, `n<nranks>`.
    pub key: String,
    pub comm_id: Option<String>,
    pub nranks: u32,
    pub ranks: BTreeMap<u32, CommRank>,
    pub api: Option<String>,
}

impl Communicator {
    pub fn ranks_complete(&self) -> usize {
        self.ranks.values().filter(|r| r.complete.is_some()).count()
    }
}

/// How one process connected to its peers over one transport.
#[derive(Debug, Clone)]
pub struct ConnSummary {
    pub count: usize,
    pub first: Evidence,
    pub devs: BTreeSet<u32>,
    /// The other end's ranks (capped at [`PEERS_CAP`]).
    pub peers: BTreeSet<i64>,
    /// Channel numbers seen (capped at [`PEERS_CAP`]).
    pub channels: BTreeSet<u32>,
}

/// Net devices one GPU (process + cudaDev) connected through, for one net transport.
#[derive(Debug, Clone)]
pub struct NetUse {
    pub devs: BTreeSet<u32>,
    pub count: usize,
    pub first: Evidence,
}

/// Topology printout lines kept per process (a 72-GPU MNNVL printout is a few hundred lines).
pub const PRINTOUT_CAP: usize = 4000;

/// Peers and channels kept per connection summary: enough to tell intra- from inter-node.
pub const PEERS_CAP: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnKind {
    /// Net plugin/transport name and whether GPUDirect RDMA was used.
    Net {
        name: String,
        gdr: bool,
    },
    P2p,
    Shm,
    CollNet,
    Other,
}

#[derive(Debug, Clone)]
pub struct IbDev {
    /// The device index NCCL gives it (`[3]mlx5_3:1/IB`): the `<dev>` of `via NET/IB/<dev>`.
    pub index: u32,
    pub name: String,
    pub port: u32,
    pub link_layer: String,
}

#[derive(Debug, Clone)]
pub struct Warn {
    pub file: Option<String>,
    pub message: String,
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Unwind {
    pub file: String,
    pub line: u32,
    pub code: u32,
    pub thread: Option<String>,
}

/// Which NCCL subsystems the logs show, for INSUFFICIENT_LOGGING.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub info_lines: u64,
    pub warn_lines: u64,
    pub init: bool,
    pub net: bool,
    pub graph: bool,
    pub env: bool,
    pub connections: bool,
}

/// Everything the rules look at.
#[derive(Debug, Default)]
pub struct Job {
    pub procs: Vec<Process>,
    proc_index: HashMap<ProcKey, ProcId>,
    /// `host` → `pid` → process: the same index as `proc_index` for NCCL/UCX headers, looked up
    /// by `&str` so the per-line lookup allocates nothing.
    host_pid_index: rustc_hash::FxHashMap<String, rustc_hash::FxHashMap<u32, ProcId>>,
    /// launcher rank (per input) → process that printed NCCL headers under it.
    launcher_procs: HashMap<(InputId, u32), ProcId>,
    pub comms: BTreeMap<String, Communicator>,
    pub versions: Facts<String>,
    pub cuda_drivers: Facts<u32>,
    pub bootstrap: Facts<Vec<(String, String)>>,
    pub plugin: Facts<(String, PluginEvent)>,
    pub using_network: Facts<String>,
    pub ib_devices: Facts<Vec<IbDev>>,
    pub ib_no_device: Facts<()>,
    pub socket_devices: Facts<Vec<(String, String)>>,
    pub ofi_provider: Facts<(String, Option<u32>)>,
    pub ofi_plugin_version: Facts<String>,
    pub libfabric_version: Facts<String>,
    pub ofi_platform: Facts<String>,
    pub ofi_no_provider: Facts<String>,
    pub ofi_no_nic_info: Facts<()>,
    /// Variables the net plugin set itself (not user overrides), by name.
    pub plugin_env: BTreeMap<String, String>,
    pub gdr_hca: Facts<(bool, String)>,
    pub gdr_gpu: Facts<(bool, String)>,
    pub env: Facts<(String, String)>,
    pub nnodes: Facts<u32>,
    /// `localRanks` of 2.20+ `comm … nNodes N localRanks L` lines.
    pub local_ranks: Facts<u32>,
    /// `ENV X is deprecated`, `Invalid value X for Y` (name, message).
    pub env_problems: Facts<(String, String)>,
    /// Variables assigned on a command line or in a script echoed into the log
    /// (`export X=Y`, `mpirun -x X=Y`, `X=Y torchrun …`): (name, value).
    pub cmdline_env: Facts<(String, String)>,
    /// INFO messages that NCCL prints without a dedicated shape but that some rules read
    /// (`NIC distance`, `HINT`, `could not read`, failures); see [`NOTABLE_INFO`].
    pub notable_info: Facts<String>,
    /// Lines from outside NCCL that some rules read (lspci `ACSCtl:`, PyTorch's NCCL variable
    /// deprecation warnings, CUDA/driver errors); see [`NOTABLE_OTHER`].
    pub notable_other: Facts<String>,
    /// First line showing NVLink/NVSwitch (topology `NVL[`/`NVS/`) or a P2P connection.
    pub nvlink: Option<Evidence>,
    pub connections: BTreeMap<(ProcId, ConnKind), ConnSummary>,
    /// NET connections per (process, cudaDev of the printing thread, net name): which net
    /// devices each GPU really used (the GPU↔NIC map).
    pub net_use: BTreeMap<(ProcId, Option<i32>, String), NetUse>,
    /// aws-ofi-nccl `NIC group G device #D <busId>` lines: (group = the NET dev index, device,
    /// PCI bus id).
    pub ofi_nic_groups: Facts<(u32, u32, String)>,
    /// Topology sources kept whole (they are small): XML dumps and `nvidia-smi topo -m`
    /// matrices per input, the GRAPH topology printout lines per process (capped).
    pub topo_xml: Vec<(InputId, ncclscope_parser::topo::XmlDoc)>,
    pub topo_smi: Vec<(InputId, ncclscope_parser::topo::SmiMatrix)>,
    /// Each printout line with its message as printed (indentation kept, never cut: path
    /// lines run past the evidence text limit).
    pub topo_printout: BTreeMap<ProcId, Vec<(Evidence, Box<str>)>>,
    /// The machine graphs built from the sources above (see [`crate::topology`]).
    pub topology: crate::topology::Topology,
    /// A NET connection between two ranks: NCCL uses the network inside a node only when P2P
    /// and SHM are both unavailable, so this is evidence that the job spans nodes.
    pub net_connection: Option<Evidence>,
    pub warns: Facts<Warn>,
    pub unwinds: Facts<Unwind>,
    pub coverage: Coverage,
    pub tests: Vec<TestsRun>,
    /// UCX / ucx_info / ucx_perftest / NIXL facts (see the UCX section at the end of this file).
    pub ucx: UcxModel,
    tests_builders: BTreeMap<InputId, TestsRunBuilder>,
}

impl Job {
    pub fn proc(&self, id: ProcId) -> &Process {
        &self.procs[id]
    }

    /// Distinct host names NCCL printed (or launchers named), sorted.
    pub fn hosts(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.procs.iter().filter_map(|p| p.host.as_ref()).collect();
        set.into_iter().cloned().collect()
    }

    /// Whether the job demonstrably spans more than one node, with the line that shows it.
    pub fn multi_node_evidence(&self) -> Option<String> {
        let hosts = self.hosts();
        if hosts.len() > 1 {
            return Some(format!("{} hosts ({})", hosts.len(), short_list(&hosts, 4)));
        }
        if let Some(f) = self.nnodes.iter().find(|f| f.data > 1) {
            return Some(format!("nNodes {} at line {}", f.data, f.ev.pos.line));
        }
        if let Some(run) = self.tests.iter().find(|r| r.hosts.len() > 1) {
            return Some(format!("nccl-tests ranks on {} hosts", run.hosts.len()));
        }
        if let Some(ev) = &self.net_connection {
            return Some(format!("ranks connected through the network (line {})", ev.pos.line));
        }
        None
    }

    /// Ranks (world numbering when known) of a set of processes.
    pub fn ranks_of(&self, procs: impl IntoIterator<Item = ProcId>) -> Vec<u32> {
        let mut r: Vec<u32> = procs.into_iter().flat_map(|p| self.procs[p].world_ranks()).collect();
        r.sort_unstable();
        r.dedup();
        r
    }

    pub fn hosts_of(&self, procs: impl IntoIterator<Item = ProcId>) -> Vec<String> {
        let set: BTreeSet<String> = procs.into_iter().filter_map(|p| self.procs[p].host.clone()).collect();
        set.into_iter().collect()
    }

    /// The largest communicator size seen (the job's world size), if any.
    pub fn world_size(&self) -> Option<u32> {
        self.comms.values().map(|c| c.nranks).max()
    }

    /// Distinct NCCL versions (e.g. `2.21.5+cuda12.4`), sorted.
    pub fn nccl_versions(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.versions.iter().map(|f| &f.data).collect();
        set.into_iter().cloned().collect()
    }
}

pub fn short_list(items: &[String], n: usize) -> String {
    if items.len() <= n {
        items.join(", ")
    } else {
        format!("{}, … ({} more)", items[..n].join(", "), items.len() - n)
    }
}

/// Builds the [`Job`] from records: the parser's sink.
#[derive(Default)]
pub struct JobBuilder {
    job: Job,
    /// A UCX endpoint-config line whose feature list was hard-wrapped by a terminal or a paste
    /// (`tag(rc_mlx5/mlx5_0:1` with the `)` on the next line): held until the next line says
    /// whether it continues it.
    wrapped_ucx: Option<(InputId, Position, String)>,
    /// Per process, its latest line so far: kept in a reused buffer (every line of a big log
    /// passes here) and turned into `Process::last_line` by `finish`.
    last_lines: Vec<Option<LastLine>>,
}

/// A process's latest line: its text, or only where it is when it came in a [`HotRun`] whose
/// text the reader did not copy (`reread`: read back at the end, see
/// [`JobBuilder::finish_reading_back`]).
struct LastLine {
    input: InputId,
    pos: Position,
    text: String,
    reread: bool,
}

impl JobBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The job, with the latest lines that were kept as positions read back from `specs`
    /// (the inputs, in the order they were scanned).
    pub fn finish_reading_back(mut self, specs: &[ncclscope_parser::InputSpec]) -> Job {
        let mut wanted: BTreeMap<InputId, Vec<(u64, usize)>> = BTreeMap::new();
        for (p, last) in self.last_lines.iter().enumerate() {
            if let Some(last) = last.as_ref().filter(|l| l.reread) {
                wanted.entry(last.input).or_default().push((last.pos.offset, p));
            }
        }
        for (input, mut at) in wanted {
            at.sort_unstable();
            let offsets: Vec<u64> = at.iter().map(|&(offset, _)| offset).collect();
            let texts = match specs.get(input.0 as usize) {
                Some(spec) => ncclscope_parser::read_lines_at(spec, &offsets),
                None => vec![None; offsets.len()],
            };
            for ((_, p), text) in at.into_iter().zip(texts) {
                if let Some(last) = self.last_lines[p].as_mut() {
                    last.text = text
                        .unwrap_or_else(|| "(this line could not be read again: the input changed)".into());
                    last.reread = false;
                }
            }
        }
        self.finish()
    }

    pub fn finish(mut self) -> Job {
        self.flush_wrapped_ucx();
        for (p, last) in std::mem::take(&mut self.last_lines).into_iter().enumerate() {
            if let (Some(last), Some(proc)) = (last, self.job.procs.get_mut(p)) {
                proc.last_line = Some(Evidence::new(last.input, last.pos, &last.text));
            }
        }
        let builders = std::mem::take(&mut self.job.tests_builders);
        for (_, b) in builders {
            self.job.tests.extend(b.finish());
        }
        self.job.topology = crate::topology::Topology::build(&self.job);
        self.job
    }

    fn by_host_pid(&self, host: &str, pid: u32) -> Option<ProcId> {
        self.job.host_pid_index.get(host).and_then(|m| m.get(&pid)).copied()
    }

    fn index_proc(&mut self, key: ProcKey, id: ProcId) {
        if let ProcKey::HostPid(h, pid) = &key {
            self.job.host_pid_index.entry(h.clone()).or_default().insert(*pid, id);
        }
        self.job.proc_index.insert(key, id);
    }

    /// Counts a line of process `p` and keeps it as the process's first / latest line.
    fn note_line(&mut self, p: ProcId, input: InputId, pos: Position, text: &str) {
        let proc = &mut self.job.procs[p];
        proc.lines += 1;
        if proc.first_line.is_none() {
            proc.first_line = Some(Evidence::new(input, pos, text));
        }
        if self.last_lines.len() <= p {
            self.last_lines.resize_with(p + 1, || None);
        }
        match &mut self.last_lines[p] {
            Some(last) => {
                (last.input, last.pos, last.reread) = (input, pos, false);
                last.text.clear();
                last.text.push_str(text);
            }
            slot @ None => *slot = Some(LastLine { input, pos, text: text.to_string(), reread: false }),
        }
    }

    /// [`Self::note_line`] for an NCCL line, with the device of the printing thread.
    fn note_nccl_line(
        &mut self,
        p: ProcId,
        input: InputId,
        pos: Position,
        text: &str,
        cuda_dev: Option<i32>,
    ) {
        self.note_line(p, input, pos, text);
        if let Some(d) = cuda_dev {
            self.job.procs[p].cuda_devs.insert(d);
        }
    }

    fn proc_for(&mut self, input: InputId, line: &NcclLine<'_>) -> ProcId {
        let host = line.header.host.or(line.launcher.host);
        let pid = line.header.pid.or(line.launcher.pid);
        if let (Some(h), Some(p)) = (host, pid) {
            if let Some(id) = self.by_host_pid(h, p) {
                return id;
            }
        }
        let key = match (host, pid) {
            (Some(h), Some(p)) => ProcKey::HostPid(h.to_string(), p),
            _ => {
                // A bare line under a launcher rank belongs to the process already seen there.
                if let Some(r) = line.launcher.rank {
                    if let Some(&id) = self.job.launcher_procs.get(&(input, r)) {
                        return id;
                    }
                }
                ProcKey::Anonymous(input, line.launcher.rank)
            }
        };
        if let Some(&id) = self.job.proc_index.get(&key) {
            return id;
        }
        let id = self.job.procs.len();
        self.job.procs.push(Process {
            input,
            host: host.map(str::to_string),
            pid,
            launcher_rank: line.launcher.rank,
            ..Process::default()
        });
        self.index_proc(key, id);
        if let (Some(r), Some(_)) = (line.launcher.rank, pid) {
            self.job.launcher_procs.entry((input, r)).or_insert(id);
        }
        id
    }

    fn nccl(&mut self, input: InputId, pos: Position, text: &str, line: &NcclLine<'_>) {
        let p = self.proc_for(input, line);
        self.note_nccl_line(p, input, pos, text, line.header.cuda_dev);
        let proc = &mut self.job.procs[p];
        if let (None, Some(ts)) = (&proc.first_timestamp, line.launcher.timestamp) {
            proc.first_timestamp = Some(ts.to_string());
        }
        // The bulk of a big log (COLL traces, INFO lines no rule reads) stops here, before any
        // evidence is built.
        if line.level == Level::Info
            && (matches!(line.event, Event::Coll { .. })
                || (matches!(line.event, Event::Other)
                    && !NOTABLE_INFO.iter().any(|k| line.message.contains(k))))
        {
            self.job.coverage.info_lines += 1;
            return;
        }
        let ev = Evidence::new(input, pos, text);
        let job = &mut self.job;
        match line.level {
            Level::Info => job.coverage.info_lines += 1,
            Level::Warn => {
                job.coverage.warn_lines += 1;
                let proc = &mut job.procs[p];
                if proc.first_error.is_none() {
                    proc.first_error = Some(ev.clone());
                }
                job.warns.push(
                    p,
                    &ev,
                    Warn {
                        file: line.header.file.map(str::to_string),
                        message: line.message.to_string(),
                        timestamp: line.launcher.timestamp.map(str::to_string),
                    },
                );
            }
            _ => {}
        }
        // A framework error ending in `…, NCCL version 2.19.3` (PyTorch's DistBackendError)
        // parses as a banner; its text is a failure message the rules read as foreign.
        if line.level == Level::Banner && NOTABLE_OTHER.iter().any(|k| text.contains(k)) {
            job.notable_other.push(p, &ev, text.to_string());
        }
        match &line.event {
            Event::Version { version } => job.versions.push(p, &ev, version.to_string()),
            Event::CudaDriver { version } => job.cuda_drivers.push(p, &ev, *version),
            Event::Bootstrap { ifaces } => {
                job.coverage.init = true;
                let v = ifaces.iter().map(|i| (i.name.to_string(), i.addr.to_string())).collect();
                job.bootstrap.push(p, &ev, v);
            }
            Event::Plugin { family, what, .. } => {
                job.coverage.net |= *family == "NET";
                job.plugin.push(p, &ev, (family.to_string(), *what));
            }
            Event::UsingNetwork { name } => {
                job.coverage.net = true;
                job.using_network.push(p, &ev, name.to_string());
            }
            Event::IbDevices { devices, .. } => {
                job.coverage.net = true;
                let v = devices
                    .iter()
                    .map(|d| IbDev {
                        index: d.index,
                        name: d.name.to_string(),
                        port: d.port,
                        link_layer: d.link_layer.to_string(),
                    })
                    .collect();
                job.ib_devices.push(p, &ev, v);
            }
            Event::IbNoDevice => {
                job.coverage.net = true;
                job.ib_no_device.push(p, &ev, ());
            }
            Event::SocketDevices { ifaces } => {
                job.coverage.net = true;
                let v = ifaces.iter().map(|i| (i.name.to_string(), i.addr.to_string())).collect();
                job.socket_devices.push(p, &ev, v);
            }
            Event::Ofi(o) => {
                job.coverage.net = true;
                match o {
                    OfiEvent::Provider { provider, nics, .. } => {
                        job.ofi_provider.push(p, &ev, (provider.to_string(), *nics))
                    }
                    OfiEvent::PluginVersion { version } => {
                        job.ofi_plugin_version.push(p, &ev, version.to_string())
                    }
                    OfiEvent::LibfabricVersion { version } => {
                        job.libfabric_version.push(p, &ev, version.to_string())
                    }
                    OfiEvent::Platform { instance, .. } => {
                        job.ofi_platform.push(p, &ev, instance.to_string())
                    }
                    OfiEvent::NoProvider { detail } => job.ofi_no_provider.push(p, &ev, detail.to_string()),
                    OfiEvent::NoNicInfo { .. } => job.ofi_no_nic_info.push(p, &ev, ()),
                    OfiEvent::EnvSet { name, value } => {
                        job.plugin_env.insert(name.to_string(), value.to_string());
                    }
                    OfiEvent::NicGroup { group, device, bus_id } => {
                        job.ofi_nic_groups.push(p, &ev, (*group, *device, bus_id.to_string()))
                    }
                    OfiEvent::Other => {}
                }
            }
            Event::GdrHca { enabled, name, .. } => job.gdr_hca.push(p, &ev, (*enabled, name.to_string())),
            Event::GdrGpu { enabled, target, .. } => job.gdr_gpu.push(p, &ev, (*enabled, target.to_string())),
            Event::Env { name, value } => {
                job.coverage.env = true;
                job.env.push(p, &ev, (name.to_string(), value.to_string()));
            }
            Event::Comm(c) => {
                job.coverage.init = true;
                let nranks = c.nranks.unwrap_or(0);
                let key = match c.comm_id {
                    Some(id) => id.to_string(),
                    None => format!("n{nranks}"),
                };
                let comm = job.comms.entry(key.clone()).or_insert_with(|| Communicator {
                    key,
                    comm_id: c.comm_id.map(str::to_string),
                    nranks,
                    ..Communicator::default()
                });
                comm.nranks = comm.nranks.max(nranks);
                if comm.api.is_none() {
                    comm.api = c.api.map(str::to_string);
                }
                if let Some(rank) = c.rank {
                    job.procs[p].comm_ranks.entry(nranks).or_default().insert(rank);
                    let r = comm.ranks.entry(rank).or_insert_with(|| CommRank {
                        proc: p,
                        start: None,
                        complete: None,
                        cuda_dev: c.cuda_dev,
                        bus_id: c.bus_id.map(str::to_string),
                    });
                    match c.phase {
                        CommPhase::InitStart => r.start = r.start.take().or(Some(ev.clone())),
                        CommPhase::InitComplete => r.complete = r.complete.take().or(Some(ev.clone())),
                        CommPhase::DestroyComplete | CommPhase::AbortComplete => {}
                    }
                }
            }
            Event::CommNodes { nnodes, local_ranks, .. } => {
                job.coverage.init = true;
                job.nnodes.push(p, &ev, *nnodes);
                job.local_ranks.push(p, &ev, *local_ranks);
            }
            Event::EnvProblem { name, .. } => {
                job.coverage.env = true;
                job.env_problems.push(p, &ev, (name.to_string(), line.message.to_string()));
            }
            Event::Topology { text } => {
                job.coverage.graph = true;
                let lines = job.topo_printout.entry(p).or_default();
                if lines.len() < PRINTOUT_CAP {
                    lines.push((ev.clone(), (*text).into()));
                }
                if job.nvlink.is_none() && (text.contains("NVL[") || text.contains("NVS/")) {
                    job.nvlink = Some(ev.clone());
                }
            }
            Event::Other
                if line.level != Level::Warn && NOTABLE_INFO.iter().any(|k| line.message.contains(k)) =>
            {
                job.notable_info.push(p, &ev, line.message.to_string());
            }
            Event::Connection(c) => {
                job.coverage.connections = true;
                job.coverage.net |= matches!(c.transport, Transport::Net { .. });
                job.coverage.graph |= matches!(c.kind, "Channel" | "Ring");
                self.connection(p, line.header.cuda_dev, &ev, c);
            }
            Event::RingDump { .. } | Event::RingLink { .. } | Event::Trees { .. } | Event::Pattern { .. } => {
                job.coverage.graph = true
            }
            Event::ErrorUnwind { file, line: l, code, thread, .. } => {
                let proc = &mut job.procs[p];
                if proc.first_error.is_none() {
                    proc.first_error = Some(ev.clone());
                }
                job.unwinds.push(
                    p,
                    &ev,
                    Unwind {
                        file: file.to_string(),
                        line: *l,
                        code: *code,
                        thread: thread.map(str::to_string),
                    },
                );
            }
            _ => {}
        }
    }

    fn connection(&mut self, p: ProcId, cuda_dev: Option<i32>, ev: &Evidence, c: &Connection<'_>) {
        let (kind, dev) = match &c.transport {
            Transport::Net { name, dev, gdr, .. } => {
                if c.from_rank != c.to_rank && self.job.net_connection.is_none() {
                    self.job.net_connection = Some(ev.clone());
                }
                let u = self.job.net_use.entry((p, cuda_dev, name.to_string())).or_insert_with(|| NetUse {
                    devs: BTreeSet::new(),
                    count: 0,
                    first: ev.clone(),
                });
                u.count += 1;
                u.devs.insert(*dev);
                (ConnKind::Net { name: name.to_string(), gdr: *gdr }, Some(*dev))
            }
            Transport::P2p { .. } => {
                if self.job.nvlink.is_none() {
                    self.job.nvlink = Some(ev.clone());
                }
                (ConnKind::P2p, None)
            }
            Transport::Shm { .. } => (ConnKind::Shm, None),
            Transport::CollNet { .. } => (ConnKind::CollNet, None),
            Transport::Other { .. } => (ConnKind::Other, None),
        };
        let s = self.job.connections.entry((p, kind)).or_insert_with(|| ConnSummary {
            count: 0,
            first: ev.clone(),
            devs: BTreeSet::new(),
            peers: BTreeSet::new(),
            channels: BTreeSet::new(),
        });
        s.count += 1;
        s.devs.extend(dev);
        // `[send]` prints me → peer, `[receive]` peer → me.
        let peer = if c.direction == Some(Direction::Receive) { c.from_rank } else { c.to_rank };
        if s.peers.len() < PEERS_CAP {
            s.peers.insert(peer);
        }
        if s.channels.len() < PEERS_CAP {
            s.channels.insert(c.channel);
        }
    }
}

/// INFO messages kept for rules (a message holding one of these).
pub const NOTABLE_INFO: &[&str] = &[
    "NIC distance",
    "HINT",
    "ACS",
    "could not read",
    "Could not read",
    "No NIC info",
    "failed",
    "Failed",
    "error",
    "Error",
    "Cannot allocate memory",
    "not yet initialized",
    "fork",
    // misc/socket.cc `Call to connect returned Connection refused|timed out, retrying` (INFO,
    // every NCCL 2.x): the peer's bootstrap/socket address is unreachable.
    "Call to connect",
    // transport/p2p.cc `Could not enable P2P between dev %d(=%lx) and dev %d(=%lx)` /
    // `peer query failed between dev …` (cudaDeviceCanAccessPeer said no), graph/paths.cc
    // `P2P is disabled between connected GPUs` (NVML): P2P_NOT_USED.
    "Could not enable P2P",
    "peer query failed",
    "P2P is disabled between",
];

/// Non-NCCL lines kept for rules (a line holding one of these).
pub const NOTABLE_OTHER: &[&str] = &[
    "ACSCtl:",
    "NCCL_ASYNC_ERROR_HANDLING",
    "NCCL_BLOCKING_WAIT",
    "NCCL_DESYNC_DEBUG",
    "NCCL_ABORT_ON_ERROR",
    "NCCL failure",
    "Cuda failure",
    "CUDA failure",
    "system not yet initialized",
    "Cannot allocate memory",
    "Mismatched NCCL version",
    // `self.pid = os.fork()` before `OSError: [Errno 12] Cannot allocate memory`, libfabric's
    // `Using libibverbs fork support and huge pages is not supported`: EFA_HUGEPAGE_FORK.
    "fork",
    // Frameworks quoting ncclRemoteError (`DistBackendError: NCCL error in: …, remote process
    // exited or there was a network error`): REMOTE_PEER_FAILED without NCCL_DEBUG.
    "remote process exited",
];

// A value may be quoted (`-x FI_PROVIDER="efa"`, `export NCCL_ALGO='Ring'`).
static CMDLINE_ENV: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?:^|[\s'\x22(;])((?:NCCL|FI|RDMAV|TORCH_NCCL|UCX|CUDA_DEVICE_MAX|OFI_NCCL)_?[A-Z0-9_]*)=['\x22]?([^\s'\x22;)]*)",
    )
    .expect("static regex")
});

/// An endpoint-config line cut inside a feature's parentheses.
fn is_wrapped_cfg(line: &ncclscope_parser::ucx::UcxLine<'_>) -> bool {
    matches!(line.event, UcxEvent::EpConfig(_))
        && line.message.matches('(').count() > line.message.matches(')').count()
}

/// The continuation of a wrapped config line: no UCX header of its own, and it starts with a
/// lane (`rc_mlx5/mlx5_1:1)`) or a feature (`rma(…)`).
fn continues_wrapped_cfg(text: &str, record: &Record<'_>) -> bool {
    let headerless = match record {
        Record::Other => true,
        Record::Ucx(l) => l.header.file.is_none() && l.header.pid.is_none(),
        _ => false,
    };
    let first = text.split_whitespace().next().unwrap_or("");
    let lane = first.contains('/') && first.starts_with(|c: char| c.is_ascii_lowercase());
    let feature = first.starts_with(|c: char| c.is_ascii_lowercase()) && first.contains('(');
    headerless && (lane || feature)
}

impl JobBuilder {
    /// Processes a held wrapped config line as it stands (nothing continued it).
    fn flush_wrapped_ucx(&mut self) {
        if let Some((input, pos, text)) = self.wrapped_ucx.take() {
            let line = ncclscope_parser::ucx::parse_line(&text);
            self.ucx(input, pos, &text, &line);
        }
    }

    /// Lines outside NCCL's own output: command lines and scripts (env assignments), and the
    /// few foreign messages some rules read. Cheap prefilter first: this runs on every line of
    /// application output.
    fn other(&mut self, input: InputId, pos: Position, text: &str) {
        let bytes = text.as_bytes();
        let has_assign = memchr::memchr(b'=', bytes).is_some()
            && (memchr::memmem::find(bytes, b"NCCL_").is_some()
                || memchr::memmem::find(bytes, b"FI_").is_some()
                || memchr::memmem::find(bytes, b"RDMAV_").is_some()
                || memchr::memmem::find(bytes, b"UCX_").is_some());
        let notable = NOTABLE_OTHER.iter().any(|k| text.contains(k));
        if !has_assign && !notable {
            return;
        }
        let p = self.anonymous_proc(input);
        let ev = Evidence::new(input, pos, text);
        if has_assign {
            for c in CMDLINE_ENV.captures_iter(text) {
                let (Some(name), Some(value)) = (c.get(1), c.get(2)) else { continue };
                // `NCCL_DEBUG=INFO` is how the log came to be; not a tuning choice.
                if name.as_str() == "NCCL_DEBUG"
                    || name.as_str() == "NCCL_DEBUG_SUBSYS"
                    || value.as_str().is_empty()
                {
                    continue;
                }
                self.job.cmdline_env.push(p, &ev, (name.as_str().to_string(), value.as_str().to_string()));
            }
        }
        if notable {
            self.job.notable_other.push(p, &ev, text.to_string());
        }
    }

    fn anonymous_proc(&mut self, input: InputId) -> ProcId {
        let key = ProcKey::Anonymous(input, None);
        if let Some(&id) = self.job.proc_index.get(&key) {
            return id;
        }
        let id = self.job.procs.len();
        self.job.procs.push(Process { input, ..Process::default() });
        self.index_proc(key, id);
        id
    }
}

impl RecordSink for JobBuilder {
    /// The fast path for the bulk of a big log: the same effect as `record` on the parsed line
    /// (see the early return in `nccl`), without parsing it again.
    fn hot_nccl(&mut self, input: InputId, pos: Position, text: &str, hot: &HotNccl<'_>) {
        let known = self.by_host_pid(hot.host, hot.pid);
        let (Some(p), None) = (known, &self.wrapped_ucx) else {
            // First line of a process, or a held UCX line to settle: the general path.
            let record = ncclscope_parser::nccl::parse_line(text).map_or(Record::Other, Record::Nccl);
            return self.record(input, pos, text, &record);
        };
        self.note_nccl_line(p, input, pos, text, hot.cuda_dev);
        self.job.coverage.info_lines += 1;
    }

    fn takes_hot_runs(&self) -> bool {
        true
    }

    /// Lines `hot_nccl` would have counted one by one. The run's first line came through
    /// `hot_nccl` (so the process exists and has the device); the latest line is the run's
    /// unless a later line of the same input has been seen.
    fn hot_run(&mut self, input: InputId, run: &HotRun<'_>) {
        let Some(p) = self.by_host_pid(run.host, run.pid) else {
            debug_assert!(false, "a run of a process never seen: {}:{}", run.host, run.pid);
            return;
        };
        let proc = &mut self.job.procs[p];
        // The device is the one of the run's first line, which came through `hot_nccl`.
        proc.lines += run.lines;
        self.job.coverage.info_lines += run.lines;
        if self.last_lines.len() <= p {
            self.last_lines.resize_with(p + 1, || None);
        }
        let text = run.last_text.unwrap_or_default();
        match &mut self.last_lines[p] {
            Some(last) if last.input == input && last.pos.offset > run.last.offset => {}
            Some(last) => {
                (last.input, last.pos, last.reread) = (input, run.last, run.last_text.is_none());
                last.text.clear();
                last.text.push_str(text);
            }
            slot @ None => {
                let reread = run.last_text.is_none();
                *slot = Some(LastLine { input, pos: run.last, text: text.to_string(), reread });
            }
        }
    }

    fn record(&mut self, input: InputId, pos: Position, text: &str, record: &Record<'_>) {
        if let Some((held_input, held_pos, held)) = self.wrapped_ucx.take() {
            if held_input == input && continues_wrapped_cfg(text, record) {
                let joined = format!("{held} {}", text.trim());
                let line = ncclscope_parser::ucx::parse_line(&joined);
                self.ucx(input, held_pos, &joined, &line);
                return;
            }
            self.wrapped_ucx = Some((held_input, held_pos, held));
            self.flush_wrapped_ucx();
        }
        if let Record::Ucx(line) = record {
            if is_wrapped_cfg(line) {
                self.wrapped_ucx = Some((input, pos, text.to_string()));
                self.other(input, pos, text);
                return;
            }
        }
        match record {
            Record::Nccl(line) => self.nccl(input, pos, text, line),
            Record::Tests(t) => self
                .job
                .tests_builders
                .entry(input)
                .or_insert_with(|| TestsRunBuilder::new(input))
                .push(pos, text, t),
            Record::Other => {
                // Backtrace frames of a UCX fatal block that do not look like UCX themselves
                // (`libc.so.6(+0x42520)`): cheap, the map is empty unless a block is open.
                if !self.job.ucx.open_fatal.is_empty() {
                    self.ucx_fatal_continuation(input, pos, text);
                }
                self.other(input, pos, text)
            }
            Record::Ucx(line) => {
                self.ucx(input, pos, text, line);
                // Command lines and failure keywords in UCX/NIXL lines are read like any line's.
                self.other(input, pos, text);
            }
        }
    }

    fn xml(&mut self, input: InputId, doc: &ncclscope_parser::topo::XmlDoc) {
        self.job.topo_xml.push((input, doc.clone()));
    }

    fn smi(&mut self, input: InputId, matrix: &ncclscope_parser::topo::SmiMatrix) {
        self.job.topo_smi.push((input, matrix.clone()));
    }
}

// ===================================================================================== UCX / NIXL
//
// Facts from UCX's own log (`UCX_LOG_LEVEL=info|debug`), UCX_PROTO_INFO tables, `ucx_info`,
// `ucx_perftest`, UCX-Py, Open MPI pml_ucx and NIXL / vLLM / SGLang lines. Processes are the
// UCX header's `host:pid` (the same key as NCCL's, so one process printing both is one process).

pub use ncclscope_parser::ucx::{NixlError, Scope as UcxScope};
use ncclscope_parser::ucx::{UcxEvent, UcxLevel, UcxLine};

/// One endpoint configuration: scope and, per feature, the `(transport, device)` lanes.
#[derive(Debug, Clone)]
pub struct UcxEpConfig {
    pub scope: UcxScope,
    /// `cfg#N` / `ep_cfg[N]`.
    pub index: u32,
    /// The context name printed before `cfg#N` (v1.15+: `ucp_context_2`).
    pub context: Option<String>,
    pub features: Vec<(String, Vec<(String, String)>)>,
}

/// One DEBUG lane line (`ucp_wireup_print_config`) or `ucx_info -e` lane.
#[derive(Debug, Clone)]
pub struct UcxLane {
    pub ep: Option<String>,
    pub index: u32,
    pub transport: String,
    pub device: String,
    /// `am`, `rma_bw#0`, `amo#0`, `am_bw#0`, `rkey_ptr`, `keepalive`…
    pub flags: Vec<String>,
}

/// A fatal block: `Caught signal …` (or a fatal error's `==== backtrace ====`) with the
/// backtrace frames that follow it, kept together even where the frames themselves do not
/// look like UCX output (`libc.so.6(+0x42520)`).
#[derive(Debug, Clone)]
pub struct UcxFatalBlock {
    pub proc: ProcId,
    /// The signal number when the block starts with `Caught signal N`.
    pub signal: Option<u32>,
    pub head: Evidence,
    /// The `==== backtrace` header and the frames (capped at [`FATAL_FRAMES`]).
    pub lines: Vec<Evidence>,
}

/// Frames kept per fatal block.
pub const FATAL_FRAMES: usize = 64;

/// A UCX_PROTO_INFO row with its table's title.
#[derive(Debug, Clone)]
pub struct UcxProtoRow {
    pub scope: UcxScope,
    /// The table title's operation (`remote memory write by ucp_put* from host memory to cuda/dev[1]`).
    pub operation: String,
    pub protocol: String,
    pub lanes: Vec<(String, String)>,
    pub emulated: bool,
}

/// `ucx_perftest` summary row.
#[derive(Debug, Clone)]
pub struct UcxPerf {
    /// Overall bandwidth in MB/s (bandwidth tests only).
    pub bandwidth_mbs: Option<f64>,
}

#[derive(Debug, Default)]
pub struct UcxModel {
    pub lines: u64,
    pub ep_configs: Facts<UcxEpConfig>,
    /// UCX's own echo `UCX_* env variables: NAME=VALUE …` (name, value).
    pub env: Facts<(String, String)>,
    /// `transport(s) '…' not available` (names, available list).
    pub tls_unavailable: Facts<(Vec<String>, Vec<String>)>,
    /// `<type> device '…' is not available` (name, available list).
    pub dev_unavailable: Facts<(String, Vec<String>)>,
    /// `no active messages transport to <peer>: …` (what, peer, reasons).
    pub no_transport: Facts<(String, String, Vec<String>)>,
    /// UCX ERROR / FATAL lines: (source file, message).
    pub errors: Facts<(Option<String>, String)>,
    /// UCX versions printed (log and ucx_info -v).
    pub versions: Facts<String>,
    /// `UCP version is incompatible, required: X, actual: Y`.
    pub incompatible: Facts<(String, String)>,
    pub proto_rows: Facts<UcxProtoRow>,
    /// ucx_info -d transport/device pairs listed.
    pub info_devices: Facts<(String, String)>,
    /// ucx_info -d `< failed to open interface >` with the transport/device above it.
    pub info_failed: Facts<(String, String)>,
    pub perf: Facts<UcxPerf>,
    /// Endpoint failures outside UCX ERROR lines: UCX-Py error callbacks, NIXL's
    /// `Unexpected UCX error: <status>`, Open MPI pml_ucx `Error: …` (status/message).
    pub peer_errors: Facts<String>,
    pub nixl_errors: Facts<(NixlError, String)>,
    pub nixl_backends: Facts<String>,
    /// DEBUG lane lines and `ucx_info -e` lanes.
    pub lanes: Facts<UcxLane>,
    /// tcp_ep / sock connection address pairs (`ip:port`, local then remote).
    pub tcp_pairs: Facts<(String, String)>,
    /// RDMA completions with error: (error name, device when printed).
    pub completion_errors: Facts<(String, Option<String>)>,
    /// `Caught signal` / fatal backtrace blocks, in input order.
    pub fatal_blocks: Vec<UcxFatalBlock>,
    /// `closing md X because it has no selected transport resources`: memory domains
    /// (RDMA devices, cuda) UCX dropped because UCX_TLS/UCX_NET_DEVICES allow nothing on them.
    pub md_closed: Facts<String>,
    /// `No zero-copy protocol found …` warnings (the message).
    pub no_zero_copy: Facts<String>,
    /// Per input: the fatal block whose backtrace is being read.
    open_fatal: HashMap<InputId, usize>,
    /// Per input: the current proto table title (scope, operation).
    proto_title: HashMap<InputId, (UcxScope, String)>,
    /// Per input: the ucx_info transport and device being listed.
    info_ctx: HashMap<InputId, (String, String)>,
    /// Per input: whether the last ucx_perftest header was a bandwidth test.
    perf_bw: HashMap<InputId, bool>,
}

fn lane_pairs(lanes: &[ncclscope_parser::ucx::Lane<'_>]) -> Vec<(String, String)> {
    use ncclscope_parser::ucx::unescape;
    lanes.iter().map(|l| (unescape(l.transport).into_owned(), unescape(l.device).into_owned())).collect()
}

impl JobBuilder {
    /// A non-UCX line while a fatal block is open on this input: a frame joins the block, any
    /// other line closes it.
    fn ucx_fatal_continuation(&mut self, input: InputId, pos: Position, text: &str) {
        let u = &mut self.job.ucx;
        let Some(&i) = u.open_fatal.get(&input) else { return };
        let parsed = ncclscope_parser::ucx::parse_line(text);
        if !matches!(parsed.event, UcxEvent::BacktraceFrame { .. } | UcxEvent::Backtrace) {
            u.open_fatal.remove(&input);
            return;
        }
        if let Some(b) = u.fatal_blocks.get_mut(i) {
            if b.lines.len() < FATAL_FRAMES {
                b.lines.push(Evidence::new(input, pos, text));
            }
        }
    }

    fn ucx_proc(&mut self, input: InputId, host: Option<&str>, pid: Option<u32>) -> ProcId {
        let (Some(h), Some(pid)) = (host, pid) else { return self.anonymous_proc(input) };
        if let Some(id) = self.by_host_pid(h, pid) {
            return id;
        }
        let key = ProcKey::HostPid(h.to_string(), pid);
        let id = self.job.procs.len();
        self.job.procs.push(Process {
            input,
            host: Some(h.to_string()),
            pid: Some(pid),
            ..Process::default()
        });
        self.index_proc(key, id);
        id
    }

    fn ucx(&mut self, input: InputId, pos: Position, text: &str, line: &UcxLine<'_>) {
        let p = self.ucx_proc(input, line.header.host, line.header.pid);
        self.note_line(p, input, pos, text);
        let ev = Evidence::new(input, pos, text);
        let u = &mut self.job.ucx;
        u.lines += 1;
        if matches!(line.level, Some(UcxLevel::Error | UcxLevel::Fatal))
            && line.source == ncclscope_parser::ucx::Source::Ucx
        {
            let proc = &mut self.job.procs[p];
            if proc.first_error.is_none() {
                proc.first_error = Some(ev.clone());
            }
            u.errors.push(p, &ev, (line.header.file.map(str::to_string), line.message.to_string()));
        }
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        use ncclscope_parser::ucx::unescape;
        // A fatal block stays open over its backtrace header and frames only.
        if !matches!(line.event, UcxEvent::Backtrace | UcxEvent::BacktraceFrame { .. }) {
            u.open_fatal.remove(&input);
        }
        match &line.event {
            UcxEvent::EpConfig(c) => {
                let features = c
                    .features
                    .iter()
                    .map(|f| (unescape(f.name).into_owned(), lane_pairs(&f.lanes)))
                    .collect();
                let cfg = UcxEpConfig {
                    scope: c.scope,
                    index: c.index,
                    context: c.context.map(|s| unescape(s).into_owned()),
                    features,
                };
                u.ep_configs.push(p, &ev, cfg);
            }
            UcxEvent::LaneConfig(l) => {
                let lane = UcxLane {
                    ep: l.ep.map(str::to_string),
                    index: l.index,
                    transport: unescape(l.lane.transport).into_owned(),
                    device: unescape(l.lane.device).into_owned(),
                    flags: l.flags.iter().map(|f| unescape(f).into_owned()).collect(),
                };
                u.lanes.push(p, &ev, lane);
            }
            UcxEvent::TcpConnection { local, remote } => {
                u.tcp_pairs.push(p, &ev, (local.to_string(), remote.to_string()))
            }
            UcxEvent::MdClosed { md } => u.md_closed.push(p, &ev, md.to_string()),
            UcxEvent::NoZeroCopy => u.no_zero_copy.push(p, &ev, line.message.to_string()),
            UcxEvent::CompletionError { error, device } => {
                u.completion_errors.push(p, &ev, (error.to_string(), device.map(str::to_string)))
            }
            UcxEvent::CaughtSignal { signal } => {
                u.fatal_blocks.push(UcxFatalBlock {
                    proc: p,
                    signal: Some(*signal),
                    head: ev.clone(),
                    lines: Vec::new(),
                });
                u.open_fatal.insert(input, u.fatal_blocks.len() - 1);
            }
            UcxEvent::Backtrace | UcxEvent::BacktraceFrame { .. } => {
                let open = u.open_fatal.get(&input).copied();
                match open.and_then(|i| u.fatal_blocks.get_mut(i)) {
                    Some(b) if b.lines.len() < FATAL_FRAMES => b.lines.push(ev.clone()),
                    Some(_) => {}
                    // A fatal error's backtrace without a caught signal (ucs_fatal_error).
                    None if matches!(line.event, UcxEvent::Backtrace) => {
                        u.fatal_blocks.push(UcxFatalBlock {
                            proc: p,
                            signal: None,
                            head: ev.clone(),
                            lines: Vec::new(),
                        });
                        u.open_fatal.insert(input, u.fatal_blocks.len() - 1);
                    }
                    None => {}
                }
            }
            UcxEvent::EnvVars { vars } => {
                for (k, v) in vars {
                    u.env.push(p, &ev, (k.to_string(), v.to_string()));
                }
            }
            UcxEvent::TransportUnavailable { names, available } => {
                u.tls_unavailable.push(p, &ev, (owned(names), owned(available)))
            }
            UcxEvent::DeviceUnavailable { name, available, .. } => {
                u.dev_unavailable.push(p, &ev, (name.to_string(), owned(available)))
            }
            UcxEvent::NoTransport { what, peer, reasons } => {
                u.no_transport.push(p, &ev, (what.to_string(), peer.to_string(), owned(reasons)))
            }
            UcxEvent::Version { version } => u.versions.push(p, &ev, version.to_string()),
            UcxEvent::VersionIncompatible { required, actual } => {
                u.incompatible.push(p, &ev, (required.to_string(), actual.to_string()))
            }
            UcxEvent::ProtoHeader { scope, operation, .. } => {
                u.proto_title.insert(input, (*scope, operation.to_string()));
            }
            UcxEvent::ProtoRow { protocol, lanes, emulated, .. } => {
                let (scope, operation) =
                    u.proto_title.get(&input).cloned().unwrap_or((UcxScope::Unknown, String::new()));
                let row = UcxProtoRow {
                    scope,
                    operation,
                    protocol: protocol.to_string(),
                    lanes: lane_pairs(lanes),
                    emulated: *emulated,
                };
                u.proto_rows.push(p, &ev, row);
            }
            UcxEvent::InfoTransport { name } => {
                u.info_ctx.insert(input, (name.to_string(), String::new()));
            }
            UcxEvent::InfoDevice { name } => {
                let e = u.info_ctx.entry(input).or_default();
                e.1 = name.to_string();
                let pair = e.clone();
                u.info_devices.push(p, &ev, pair);
            }
            UcxEvent::InfoFailedInterface => {
                let pair = u.info_ctx.get(&input).cloned().unwrap_or_default();
                u.info_failed.push(p, &ev, pair);
            }
            UcxEvent::PerfHeader { bandwidth } => {
                u.perf_bw.insert(input, *bandwidth);
            }
            UcxEvent::PerfRow { is_final: true, values } => {
                // Columns: iterations, 3 × overhead/latency, 2 × bandwidth (MB/s), 2 × msg rate.
                let bw = u.perf_bw.get(&input).copied().unwrap_or(true);
                let bandwidth_mbs = if bw { values.get(5).copied() } else { None };
                u.perf.push(p, &ev, UcxPerf { bandwidth_mbs });
            }
            UcxEvent::EndpointError { status } => u.peer_errors.push(p, &ev, status.to_string()),
            UcxEvent::PmlUcxError { message } => u.peer_errors.push(p, &ev, message.to_string()),
            UcxEvent::Nixl { error: NixlError::UnexpectedUcxError, detail } => {
                u.peer_errors.push(p, &ev, detail.to_string());
                u.nixl_errors.push(p, &ev, (NixlError::UnexpectedUcxError, detail.to_string()));
            }
            UcxEvent::Nixl { error, detail } => u.nixl_errors.push(p, &ev, (*error, detail.to_string())),
            UcxEvent::NixlBackend { name } => u.nixl_backends.push(p, &ev, name.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod wrapped_ucx_tests {
    use crate::rules::testing::analyze_text;

    #[test]
    fn hard_wrapped_endpoint_config_is_joined() {
        let a = analyze_text(
            "[1699999999.123456] [gpu1:1234:0]          wireup.c:1000 UCX  DEBUG ep_cfg[4]: tag(rc_mlx5/mlx5_0:1\n\
             rc_mlx5/mlx5_1:1) rma(rc_mlx5/mlx5_0:1)\n\
             [1699999999.123457] [gpu1:1234:0]          wireup.c:1000 UCX  DEBUG ep_cfg[5]: tag(tcp/eth0)\n",
        );
        let cfgs: Vec<_> = a.job.ucx.ep_configs.iter().map(|f| &f.data).collect();
        assert_eq!(cfgs.len(), 2, "{cfgs:?}");
        let tag = &cfgs[0].features[0];
        assert_eq!(tag.0, "tag");
        assert_eq!(tag.1.len(), 2, "{tag:?}");
        assert_eq!(cfgs[0].features.len(), 2);
    }

    #[test]
    fn a_cut_config_not_continued_is_kept_as_is() {
        let a = analyze_text(
            "[1699999999.123456] [gpu1:1234:0]          wireup.c:1000 UCX  DEBUG ep_cfg[4]: tag(rc_mlx5/mlx5_0:1\n\
             some unrelated application line\n",
        );
        assert_eq!(a.job.ucx.ep_configs.iter().count(), 1);
    }
}
