//! Synthetic NCCL job logs for benchmarks and ground-truth tests (issue 6).
//!
//! [`generate`] writes what an `NCCL_DEBUG=INFO` (+ `SUBSYS=COLL`) job of N ranks on H hosts
//! leaves behind: per rank bootstrap, net plugin / transport lines for the chosen network, the
//! version banner, `Init START`/`COMPLETE`, rings, trees and per-channel connections; a topology
//! printout and the nccl-tests device list and result table on rank 0; a few WARNs; and a COLL
//! tail (`AllReduce: opCount …`) repeated until the target size. Output is streamed through a
//! `BufWriter`: memory is bounded by ranks × init lines (a few MB at 1024 ranks), never by the
//! target size. Everything is a function of the seed.

#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The inter-node transport the synthetic job uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// AWS EFA through aws-ofi-nccl on p5.48xlarge.
    Efa,
    /// InfiniBand through NCCL's internal NET/IB.
    Ib,
    /// NCCL's internal TCP socket transport (the fallback a multi-node job should never use).
    Socket,
}

impl Net {
    pub fn parse(s: &str) -> Option<Net> {
        match s {
            "efa" => Some(Net::Efa),
            "ib" => Some(Net::Ib),
            "socket" => Some(Net::Socket),
            _ => None,
        }
    }
}

/// One interleaved file, or one file per rank in a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Single,
    PerRank,
}

impl Layout {
    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "single" => Some(Layout::Single),
            "per-rank" => Some(Layout::PerRank),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub ranks: u32,
    pub hosts: u32,
    /// Target total size in bytes (all files together). The init section alone may exceed it.
    pub size: u64,
    pub layout: Layout,
    pub net: Net,
    pub out: PathBuf,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub files: u64,
    pub bytes: u64,
    pub lines: u64,
    pub warns: u64,
}

/// Parses `128MiB`, `1GiB`, `512KiB`, `1G`, `64M`, `4096` (bytes). Binary units throughout.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// splitmix64: tiny, deterministic, good enough for synthetic logs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A writer that counts bytes and lines.
struct Counting<W: Write> {
    inner: W,
    bytes: u64,
    lines: u64,
}

impl<W: Write> Counting<W> {
    fn new(inner: W) -> Self {
        Counting { inner, bytes: 0, lines: 0 }
    }
    fn line(&mut self, s: &str) -> io::Result<()> {
        self.inner.write_all(s.as_bytes())?;
        self.inner.write_all(b"\n")?;
        self.bytes += s.len() as u64 + 1;
        self.lines += 1;
        Ok(())
    }
}

/// PCI bus ids of the 8 GPUs of a p5-like host, by local index.
const GPU_BUS: [&str; 8] = ["53000", "64000", "75000", "86000", "97000", "a8000", "b9000", "ca000"];
/// Channels per rank shown in the connection setup (a real p5 job has 32; 4 keeps it readable).
const CHANNELS: u32 = 4;

/// The derived shape of the job.
struct Job {
    cfg: Config,
    per_host: u32,
    comm_id: u64,
    stream_base: u64,
    buf_base: u64,
    warn_ranks: Vec<u32>,
}

impl Job {
    fn new(cfg: &Config) -> Job {
        let mut rng = Rng::new(cfg.seed);
        let per_host = cfg.ranks.div_ceil(cfg.hosts.max(1)).max(1);
        let comm_id = rng.next_u64() | 1;
        let stream_base = 0x5600_0000_0000 | (rng.next_u64() & 0xffff_f000);
        let buf_base = 0x7f00_0000_0000 | (rng.next_u64() & 0xff_ffff_0000);
        let nwarn = 3.min(cfg.ranks);
        let mut warn_ranks: Vec<u32> = (0..nwarn).map(|_| rng.below(u64::from(cfg.ranks)) as u32).collect();
        warn_ranks.sort_unstable();
        warn_ranks.dedup();
        Job { cfg: cfg.clone(), per_host, comm_id, stream_base, buf_base, warn_ranks }
    }

    fn host_of(&self, rank: u32) -> u32 {
        rank / self.per_host
    }
    fn local(&self, rank: u32) -> u32 {
        rank % self.per_host
    }
    fn hostname(&self, host: u32) -> String {
        match self.cfg.net {
            Net::Ib => format!("gpu-node-{host:03}"),
            Net::Efa | Net::Socket => format!("ip-10-1-{}-{}", host / 200, 10 + host % 200),
        }
    }
    fn ip(&self, host: u32) -> String {
        format!("10.1.{}.{}", host / 200, 10 + host % 200)
    }
    fn pid(&self, rank: u32) -> u32 {
        40_000 + self.host_of(rank) % 50 * 100 + self.local(rank)
    }
    fn dev(&self, rank: u32) -> u32 {
        self.local(rank) % 8
    }
    fn prefix(&self, rank: u32) -> String {
        let pid = self.pid(rank);
        format!("{}:{pid}:{pid} [{}]", self.hostname(self.host_of(rank)), self.dev(rank))
    }
    fn comm_ptr(&self, rank: u32) -> u64 {
        0x55d4_a000 + u64::from(rank) * 0x10
    }
    fn nnodes(&self) -> u32 {
        self.cfg.ranks.div_ceil(self.per_host)
    }
    /// The NIC a GPU uses (p5: 4 EFA per GPU; IB: one HCA per GPU).
    fn net_dev(&self, rank: u32, channel: u32) -> u32 {
        match self.cfg.net {
            Net::Efa => self.dev(rank) * 4 + channel % 4,
            Net::Ib => self.dev(rank),
            Net::Socket => 0,
        }
    }
    fn file_name(&self, rank: u32) -> String {
        format!("nccl.{}.{}.log", self.hostname(self.host_of(rank)), self.pid(rank))
    }

    /// The NCCL_DEBUG=INFO lines one rank prints up to `Init COMPLETE` (rank 0 adds the
    /// version banner, the topology printout and the ring lines).
    fn init_lines(&self, rank: u32) -> Vec<String> {
        let p = self.prefix(rank);
        let n = self.cfg.ranks;
        let host = self.host_of(rank);
        let ip = self.ip(host);
        let dev = self.dev(rank);
        let bus = GPU_BUS[dev as usize];
        let comm = self.comm_ptr(rank);
        let comm_id = self.comm_id;
        let mut v = Vec::with_capacity(48);
        let mut info = |m: &str| v.push(format!("{p} NCCL INFO {m}"));
        info(&format!("Bootstrap : Using enp71s0:{ip}<0>"));
        match self.cfg.net {
            Net::Efa => info("NET/Plugin: Loaded net plugin Libfabric (v7)"),
            Net::Ib => info("NET/Plugin: Using internal network plugin."),
            Net::Socket => info("NET/Plugin: Could not find: libnccl-net.so. Using internal network plugin."),
        }
        info("cudaDriverVersion 12040");
        if rank == 0 {
            v.push("NCCL version 2.21.5+cuda12.4".to_string());
        }
        let mut info = |m: &str| v.push(format!("{p} NCCL INFO {m}"));
        match self.cfg.net {
            Net::Efa => {
                let topo = "/opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p5.48xl-topo.xml";
                info("NET/OFI Initializing aws-ofi-nccl 1.9.1-aws");
                info("NET/OFI Using Libfabric version 1.21");
                info("NET/OFI Using CUDA driver version 12040 with runtime 12040");
                info("NET/OFI Configuring AWS-specific options");
                info(&format!(
                    "NET/OFI Running on p5.48xlarge platform, Setting NCCL_TOPO_FILE environment variable to {topo}"
                ));
                info("NET/OFI Using transport protocol RDMA");
                info("NET/OFI Selected Provider is efa, fabric is efa-direct (found 32 nics)");
                info("Using network Libfabric");
                info(&format!("NCCL_TOPO_FILE set by environment to {topo}"));
            }
            Net::Ib => {
                info("NCCL_IB_HCA set by environment to =mlx5_0,mlx5_1,mlx5_2,mlx5_3,mlx5_4,mlx5_5,mlx5_6,mlx5_7");
                let devs: Vec<String> = (0..8).map(|i| format!("[{i}]mlx5_{i}:1/IB")).collect();
                info(&format!("NET/IB : Using {} ; OOB enp71s0:{ip}<0>", devs.join(" ")));
                for i in 0..8 {
                    info(&format!("NET/IB : GPU Direct RDMA Enabled for HCA {i} 'mlx5_{i}'"));
                }
                info("Using network IB");
            }
            Net::Socket => {
                info("NET/IB : No device found.");
                info(&format!("NET/Socket : Using [0]enp71s0:{ip}<0>"));
                info("Using network Socket");
            }
        }
        info(&format!(
            "ncclCommInitRank comm 0x{comm:x} rank {rank} nranks {n} cudaDev {dev} nvmlDev {dev} busId {bus} commId 0x{comm_id:016x} - Init START"
        ));
        info(&format!(
            "comm 0x{comm:x} rank {rank} nRanks {n} nNodes {} localRanks {} localRank {} MNNVL 0",
            self.nnodes(),
            self.per_host.min(n),
            self.local(rank)
        ));
        if rank == 0 {
            for line in self.topology_printout() {
                info(&line);
            }
            let ring: Vec<String> = (0..n).map(|r| r.to_string()).collect();
            let ring = ring.join(" ");
            for c in 0..CHANNELS {
                info(&format!("Channel {c:02}/{CHANNELS:02} : {ring}"));
            }
        }
        let next = (rank + 1) % n;
        let prev = (rank + n - 1) % n;
        info(&format!("Trees [0] {next}/-1/-1->{rank}->{prev} [1] {next}/-1/-1->{rank}->{prev}"));
        let net_name = match self.cfg.net {
            Net::Efa => "Libfabric",
            Net::Ib => "IB",
            Net::Socket => "Socket",
        };
        let gdr = if self.cfg.net == Net::Socket { "" } else { "/GDRDMA" };
        for c in 0..CHANNELS {
            if n > 1 {
                if self.host_of(next) == host {
                    info(&format!(
                        "Channel {c:02}/0 : {rank}[{dev}] -> {next}[{}] via P2P/CUMEM/read",
                        self.dev(next)
                    ));
                } else {
                    info(&format!(
                        "Channel {c:02}/0 : {rank}[{dev}] -> {next}[{}] [send] via NET/{net_name}/{}{gdr}",
                        self.dev(next),
                        self.net_dev(rank, c)
                    ));
                }
                if self.host_of(prev) != host {
                    info(&format!(
                        "Channel {c:02}/0 : {prev}[{}] -> {rank}[{dev}] [receive] via NET/{net_name}/{}{gdr}",
                        self.dev(prev),
                        self.net_dev(rank, c)
                    ));
                }
            }
        }
        info("Connected all rings");
        info("Connected all trees");
        info(&format!(
            "{CHANNELS} coll channels, {CHANNELS} collnet channels, 0 nvls channels, {CHANNELS} p2p channels, {CHANNELS} p2p channels per peer"
        ));
        info(&format!(
            "ncclCommInitRank comm 0x{comm:x} rank {rank} nranks {n} cudaDev {dev} nvmlDev {dev} busId {bus} commId 0x{comm_id:016x} - Init COMPLETE"
        ));
        v
    }

    /// NCCL's topology printout (`NCCL_DEBUG_SUBSYS=GRAPH` style) for rank 0's host.
    fn topology_printout(&self) -> Vec<String> {
        let mut v = vec!["=== System : maxBw 24.0 totalBw 240.0 ===".to_string()];
        let gpus = self.per_host.min(self.cfg.ranks).min(8);
        for cpu in 0..2u32 {
            v.push(format!("CPU/0-{cpu} (1/2/-1)"));
            for g in (0..gpus).filter(|g| g / 4 == cpu) {
                let bus = GPU_BUS[g as usize];
                let sw = format!("{:x}", u32::from_str_radix(bus, 16).unwrap_or(0) - 0x2000);
                v.push(format!("+ PCI[24.0] - PCI/0-{sw} (1000c01010000000)"));
                v.push(format!("              + PCI[24.0] - GPU/0-{bus} ({g})"));
                v.push("                            + NVL[240.0] - NVS/0-0".to_string());
                if self.cfg.net != Net::Socket {
                    let nic = format!("{:x}", u32::from_str_radix(bus, 16).unwrap_or(0) - 0x1000);
                    v.push(format!("              + PCI[24.0] - NIC/0-{nic}"));
                    let net = self.net_dev(g, 0);
                    let bw = if self.cfg.net == Net::Efa { "12.5" } else { "50.0" };
                    v.push(format!(
                        "                            + NET[{bw}] - NET/0-{net} ({net}/0/{bw}00000)"
                    ));
                }
            }
        }
        v.push("==========================================".to_string());
        v
    }

    fn warn_line(&self, rank: u32, k: usize) -> String {
        let p = self.prefix(rank);
        match k % 2 {
            0 => format!(
                "{p} graph/search.cc:1120 NCCL WARN Could not find a path for pattern 4, falling back to simple order"
            ),
            _ => format!("{p} misc/param.cc:70 NCCL WARN Invalid value -1 for NCCL_BUFFSIZE, using default 4194304"),
        }
    }

    fn coll_line(&self, rank: u32, op: u64, count: u64) -> String {
        let p = self.prefix(rank);
        let buf = self.buf_base + u64::from(self.dev(rank)) * 0x10_0000_0000;
        let stream = self.stream_base + u64::from(rank) * 0x40;
        format!(
            "{p} NCCL INFO AllReduce: opCount {op:x} sendbuff 0x{buf:x} recvbuff 0x{:x} count {count} datatype 7 op 0 root 0 comm 0x{:x} [nranks={}] stream 0x{stream:x}",
            buf + 0x8000_0000,
            self.comm_ptr(rank),
            self.cfg.ranks
        )
    }

    /// nccl-tests' preamble and device list (rank 0's stdout).
    fn tests_header(&self, out: &mut Counting<impl Write>) -> io::Result<()> {
        out.line("# nccl-tests version 2.13.9 nccl-headers=22105 nccl-library=22105")?;
        out.line("# Collective test starting: all_reduce_perf")?;
        out.line("# nThread 1 nGpus 1 minBytes 1048576 maxBytes 8589934592 step: 4(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0")?;
        out.line("#")?;
        out.line("# Using devices")?;
        for r in 0..self.cfg.ranks {
            let dev = self.dev(r);
            let bus = &GPU_BUS[dev as usize][..2];
            out.line(&format!(
                "#  Rank {r:2} Group  0 Pid {:6} on {:>12} device {dev:2} [0000:{bus}:00] NVIDIA H100 80GB HBM3",
                self.pid(r),
                self.hostname(self.host_of(r))
            ))?;
        }
        Ok(())
    }

    /// The nccl-tests all_reduce_perf result table, bus bandwidth shaped by the transport.
    fn tests_table(&self, out: &mut Counting<impl Write>, rng: &mut Rng) -> io::Result<()> {
        let n = f64::from(self.cfg.ranks.max(2));
        let peak = match self.cfg.net {
            Net::Efa => 360.0,
            Net::Ib => 380.0,
            Net::Socket => 11.6,
        };
        out.line("#")?;
        out.line("#                                                              out-of-place                       in-place          ")?;
        out.line("#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong")?;
        out.line("#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       ")?;
        let mut sum = 0.0;
        let mut rows = 0.0;
        for i in 0..14u32 {
            let size: u64 = 1 << (20 + i);
            // Bandwidth rises with size and saturates at `peak` for the largest messages.
            let frac = 1.0 - 0.9f64.powi(i as i32 * 3 + 3);
            let jitter = 1.0 + (rng.below(200) as f64 - 100.0) / 10_000.0;
            let busbw = peak * frac * jitter;
            let algbw = busbw * n / (2.0 * (n - 1.0));
            let time_us = size as f64 / (algbw * 1e3);
            let busbw2 = busbw * 0.99;
            let algbw2 = algbw * 0.99;
            let time2 = time_us / 0.99;
            sum += busbw + busbw2;
            rows += 2.0;
            out.line(&format!(
                "{size:>12}  {:>12}     float     sum      -1  {time_us:>7.1}  {algbw:>6.2}  {busbw:>6.2}      0  {time2:>7.1}  {algbw2:>6.2}  {busbw2:>6.2}      0",
                size / 4
            ))?;
        }
        out.line("# Out of bounds values : 0 OK")?;
        out.line(&format!("# Avg bus bandwidth    : {:.2} ", sum / rows))?;
        out.line("#")?;
        Ok(())
    }
}

/// The interleaved COLL tail: `count` elements per AllReduce (4 MiB of floats).
const COLL_COUNT: u64 = 1 << 20;

/// Writes the job. For [`Layout::PerRank`], `cfg.out` is a directory (created if missing).
pub fn generate(cfg: &Config) -> io::Result<Stats> {
    if cfg.ranks == 0 || cfg.hosts == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "--ranks and --hosts must be > 0"));
    }
    let job = Job::new(cfg);
    match cfg.layout {
        Layout::Single => single(&job),
        Layout::PerRank => per_rank(&job),
    }
}

fn create(path: &Path) -> io::Result<Counting<BufWriter<File>>> {
    Ok(Counting::new(BufWriter::with_capacity(1 << 20, File::create(path)?)))
}

fn single(job: &Job) -> io::Result<Stats> {
    let n = job.cfg.ranks;
    let mut rng = Rng::new(job.cfg.seed.wrapping_add(1));
    let mut out = create(&job.cfg.out)?;
    job.tests_header(&mut out)?;
    // Init: every rank's lines, interleaved in bursts of 1–4 lines (processes race on stderr).
    let mut pending: Vec<std::vec::IntoIter<String>> =
        (0..n).map(|r| job.init_lines(r).into_iter()).collect();
    let mut live: Vec<usize> = (0..n as usize).collect();
    while !live.is_empty() {
        let i = rng.below(live.len() as u64) as usize;
        let r = live[i];
        let burst = 1 + rng.below(4);
        let mut done = false;
        for _ in 0..burst {
            match pending[r].next() {
                Some(l) => out.line(&l)?,
                None => {
                    done = true;
                    break;
                }
            }
        }
        if done || pending[r].len() == 0 {
            live.swap_remove(i);
        }
    }
    drop(pending);
    // COLL tail until the target size, with the WARNs spread through it.
    let mut warns = 0u64;
    let tail_start = out.bytes;
    let tail = job.cfg.size.saturating_sub(out.bytes + 4096);
    let mut op = 0u64;
    while out.bytes < tail_start + tail {
        let rot = rng.below(u64::from(n)) as u32;
        for k in 0..n {
            out.line(&job.coll_line((k + rot) % n, op, COLL_COUNT))?;
        }
        let done = (out.bytes - tail_start) as f64 / tail.max(1) as f64;
        if (warns as usize) < job.warn_ranks.len() && done >= (warns + 1) as f64 / 4.0 {
            out.line(&job.warn_line(job.warn_ranks[warns as usize], warns as usize))?;
            warns += 1;
        }
        op += 1;
    }
    while (warns as usize) < job.warn_ranks.len() {
        out.line(&job.warn_line(job.warn_ranks[warns as usize], warns as usize))?;
        warns += 1;
    }
    job.tests_table(&mut out, &mut rng)?;
    out.inner.flush()?;
    Ok(Stats { files: 1, bytes: out.bytes, lines: out.lines, warns })
}

fn per_rank(job: &Job) -> io::Result<Stats> {
    let n = job.cfg.ranks;
    fs::create_dir_all(&job.cfg.out)?;
    let mut rng = Rng::new(job.cfg.seed.wrapping_add(2));
    let per_file = job.cfg.size / u64::from(n);
    let mut stats = Stats::default();
    for r in 0..n {
        let mut out = create(&job.cfg.out.join(job.file_name(r)))?;
        if r == 0 {
            job.tests_header(&mut out)?;
        }
        for l in job.init_lines(r) {
            out.line(&l)?;
        }
        let warn_at: Vec<usize> =
            job.warn_ranks.iter().enumerate().filter(|(_, &w)| w == r).map(|(k, _)| k).collect();
        let mut op = 0u64;
        let mut warned = false;
        let reserve = if r == 0 { 4096 } else { 0 };
        let limit = per_file.saturating_sub(reserve);
        while out.bytes < limit {
            out.line(&job.coll_line(r, op, COLL_COUNT))?;
            if !warned && out.bytes >= limit / 2 {
                for &k in &warn_at {
                    out.line(&job.warn_line(r, k))?;
                }
                warned = true;
            }
            op += 1;
        }
        if !warned {
            for &k in &warn_at {
                out.line(&job.warn_line(r, k))?;
            }
        }
        stats.warns += warn_at.len() as u64;
        if r == 0 {
            job.tests_table(&mut out, &mut rng)?;
        }
        out.inner.flush()?;
        stats.files += 1;
        stats.bytes += out.bytes;
        stats.lines += out.lines;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128MiB"), Some(128 << 20));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1 KiB"), Some(1024));
        assert_eq!(parse_size("12XB"), None);
        assert_eq!(parse_size("MiB"), None);
    }

    #[test]
    fn deterministic_per_seed() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = |out: PathBuf, seed| Config {
            ranks: 16,
            hosts: 2,
            size: 64 << 10,
            layout: Layout::Single,
            net: Net::Efa,
            out,
            seed,
        };
        let a = dir.path().join("a.log");
        let b = dir.path().join("b.log");
        let c = dir.path().join("c.log");
        generate(&cfg(a.clone(), 7)).unwrap();
        generate(&cfg(b.clone(), 7)).unwrap();
        generate(&cfg(c.clone(), 8)).unwrap();
        let (a, b, c) = (fs::read(a).unwrap(), fs::read(b).unwrap(), fs::read(c).unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
