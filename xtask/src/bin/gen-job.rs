//! `gen-job`: writes a synthetic NCCL_DEBUG=INFO job log (see `ncclscope_xtask`).
//!
//!     cargo run --release -p ncclscope-xtask --bin gen-job -- \
//!         --ranks 1024 --hosts 128 --size 128MiB --layout single --net efa --out /tmp/job.log

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use ncclscope_xtask::{generate, parse_size, Config, Layout, Net};

/// Write a realistic synthetic NCCL job log (benchmarks, ground-truth tests).
#[derive(Parser, Debug)]
#[command(name = "gen-job")]
struct Args {
    /// Number of ranks (processes).
    #[arg(long, default_value_t = 1024)]
    ranks: u32,
    /// Number of hosts (ranks are spread evenly, ranks/hosts per host).
    #[arg(long, default_value_t = 128)]
    hosts: u32,
    /// Target total size: 128MiB, 1GiB, 4096 …
    #[arg(long, default_value = "128MiB")]
    size: String,
    /// `single` (one interleaved file) or `per-rank` (a directory of one file per rank).
    #[arg(long, default_value = "single")]
    layout: String,
    /// Inter-node transport: efa, ib or socket.
    #[arg(long, default_value = "efa")]
    net: String,
    /// Output file (single) or directory (per-rank).
    #[arg(long)]
    out: PathBuf,
    /// PRNG seed: the output is a function of all arguments and the seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let cfg = Config {
        ranks: a.ranks,
        hosts: a.hosts,
        size: parse_size(&a.size).ok_or_else(|| anyhow!("bad --size {:?} (e.g. 128MiB, 1GiB)", a.size))?,
        layout: Layout::parse(&a.layout).ok_or_else(|| anyhow!("--layout is single or per-rank"))?,
        net: Net::parse(&a.net).ok_or_else(|| anyhow!("--net is efa, ib or socket"))?,
        out: a.out,
        seed: a.seed,
    };
    let t = Instant::now();
    let s = generate(&cfg).with_context(|| format!("writing {}", cfg.out.display()))?;
    eprintln!(
        "gen-job: {} file(s), {} bytes, {} lines, {} WARN(s) in {:.2}s -> {}",
        s.files,
        s.bytes,
        s.lines,
        s.warns,
        t.elapsed().as_secs_f64(),
        cfg.out.display()
    );
    Ok(())
}
