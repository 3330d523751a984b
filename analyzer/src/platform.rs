//! What a healthy node of each platform looks like (../shared/spec/platforms.md), as data.
use serde::Serialize;

use crate::finding::Evidence;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fabric {
    Efa,
    Ib,
}

#[derive(Debug, Clone, Serialize)]
pub struct Platform {
    /// Canonical name (`p5.48xlarge`).
    pub name: &'static str,
    /// Other names it goes by (`p5`, `ND96isr_H100_v5`).
    #[serde(skip)]
    pub aliases: &'static [&'static str],
    pub gpus: &'static str,
    pub fabric: Fabric,
    /// NICs of the fast fabric per node (None: not known yet).
    pub nics: Option<u32>,
    pub network_gbps: u32,
    /// Expected multi-node all_reduce busbw at ≥ 1 GiB, GB/s (None: no reference yet).
    pub expected_busbw: Option<(f64, f64)>,
    pub source: &'static str,
}

pub static PLATFORMS: &[Platform] = &[
    Platform {
        name: "p4d.24xlarge",
        aliases: &["p4d"],
        gpus: "8x A100 40GB",
        fabric: Fabric::Efa,
        nics: Some(4),
        network_gbps: 400,
        expected_busbw: Some((50.0, 80.0)),
        source: "seed; awsome-distributed-ai nccl-tests README",
    },
    Platform {
        name: "p4de.24xlarge",
        aliases: &["p4de"],
        gpus: "8x A100 80GB",
        fabric: Fabric::Efa,
        nics: Some(4),
        network_gbps: 400,
        expected_busbw: Some((50.0, 80.0)),
        source: "seed",
    },
    Platform {
        name: "p5.48xlarge",
        aliases: &["p5"],
        gpus: "8x H100 80GB",
        fabric: Fabric::Efa,
        nics: Some(32),
        network_gbps: 3200,
        expected_busbw: Some((300.0, 400.0)),
        source: "seed; awsome-distributed-ai",
    },
    Platform {
        name: "p5e.48xlarge",
        aliases: &["p5e"],
        gpus: "8x H200",
        fabric: Fabric::Efa,
        nics: Some(32),
        network_gbps: 3200,
        expected_busbw: Some((300.0, 400.0)),
        source: "seed",
    },
    Platform {
        name: "p5en.48xlarge",
        aliases: &["p5en"],
        gpus: "8x H200",
        fabric: Fabric::Efa,
        nics: Some(16),
        network_gbps: 3200,
        expected_busbw: Some((300.0, 400.0)),
        source: "NVIDIA/nccl#1597, real logs",
    },
    Platform {
        name: "p6-b200.48xlarge",
        aliases: &["p6-b200", "p6"],
        gpus: "8x B200",
        fabric: Fabric::Efa,
        nics: None,
        network_gbps: 3200,
        expected_busbw: None,
        source: "seed",
    },
    Platform {
        name: "trn1.32xlarge",
        aliases: &["trn1"],
        gpus: "16x Trainium",
        fabric: Fabric::Efa,
        nics: Some(8),
        network_gbps: 800,
        expected_busbw: None,
        source: "seed",
    },
    Platform {
        name: "trn2.48xlarge",
        aliases: &["trn2"],
        gpus: "16x Trainium2",
        fabric: Fabric::Efa,
        nics: Some(16),
        network_gbps: 1600,
        expected_busbw: None,
        source: "seed",
    },
    Platform {
        name: "dgx-a100",
        aliases: &["DGX A100"],
        gpus: "8x A100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 1600,
        expected_busbw: Some((180.0, 200.0)),
        source: "NVIDIA/nccl#812",
    },
    Platform {
        name: "dgx-h100",
        aliases: &["DGX H100"],
        gpus: "8x H100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 3200,
        expected_busbw: Some((350.0, 400.0)),
        source: "NVIDIA/nccl-tests#290",
    },
    Platform {
        name: "ND96asr_v4",
        aliases: &["ndv4", "Standard_ND96asr_v4"],
        gpus: "8x A100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 1600,
        expected_busbw: None,
        source: "Azure/azurehpc-health-checks",
    },
    Platform {
        name: "ND96isr_H100_v5",
        aliases: &["ndv5", "Standard_ND96isr_H100_v5"],
        gpus: "8x H100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 3200,
        expected_busbw: None,
        source: "Azure/azurehpc-health-checks",
    },
];

/// Looks a platform up by name or alias, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static Platform> {
    let n = name.trim();
    PLATFORMS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(n) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(n)))
}

/// The platform in force and how it was known.
#[derive(Debug, Clone)]
pub struct DetectedPlatform {
    pub platform: Option<&'static Platform>,
    /// The instance/platform name as seen (may be unknown to the table).
    pub name: String,
    /// Where it came from: `--platform`, or the line that printed it.
    pub from: PlatformSource,
}

#[derive(Debug, Clone)]
pub enum PlatformSource {
    Flag,
    Line(Evidence),
}

impl DetectedPlatform {
    /// Whether the platform is an AWS EFA instance (aws-ofi-nccl's platform line or the table).
    pub fn is_efa(&self) -> bool {
        match self.platform {
            Some(p) => p.fabric == Fabric::Efa,
            // aws-ofi-nccl prints EC2 instance names (`p4d.24xlarge`, `g5.48xlarge`).
            None => self.name.contains("xlarge") || self.name.eq_ignore_ascii_case("aws"),
        }
    }
}
