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
    /// Line rate of one fabric NIC, Gbps (None: not known yet).
    pub nic_gbps: Option<u32>,
    /// Expected multi-node all_reduce busbw at ≥ 1 GiB, GB/s (None: no reference yet).
    pub expected_busbw: Option<(f64, f64)>,
    /// GPU model names as nccl-tests prints them (`NVIDIA H100 80GB HBM3`, `A100-SXM4-40GB`):
    /// every listed substring must appear (case-insensitive). Empty: never guessed from a GPU.
    #[serde(skip)]
    pub gpu_markers: &'static [&'static str],
    /// GPUs per node.
    pub gpus_per_node: u32,
    pub source: &'static str,
}

impl Platform {
    /// Aggregate fabric line rate in GB/s (what a ring all_reduce's busbw cannot exceed).
    pub fn line_rate_gbs(&self) -> f64 {
        f64::from(self.network_gbps) / 8.0
    }

    fn matches_gpu(&self, model: &str) -> bool {
        let m = model.to_ascii_lowercase();
        !self.gpu_markers.is_empty() && self.gpu_markers.iter().all(|k| m.contains(&k.to_ascii_lowercase()))
    }
}

/// The table of platforms.md. `nic_gbps` is the NIC line rate behind `network_gbps`
/// (aggregate = NICs × rate); the source column says where each row comes from.
pub static PLATFORMS: &[Platform] = &[
    Platform {
        name: "p4d.24xlarge",
        aliases: &["p4d"],
        gpus: "8x A100 40GB",
        fabric: Fabric::Efa,
        nics: Some(4),
        network_gbps: 400,
        nic_gbps: Some(100),
        expected_busbw: Some((50.0, 80.0)),
        gpu_markers: &["A100", "40GB"],
        gpus_per_node: 8,
        source: "seed; awsome-distributed-ai nccl-tests README",
    },
    Platform {
        name: "p4de.24xlarge",
        aliases: &["p4de"],
        gpus: "8x A100 80GB",
        fabric: Fabric::Efa,
        nics: Some(4),
        network_gbps: 400,
        nic_gbps: Some(100),
        expected_busbw: Some((50.0, 80.0)),
        gpu_markers: &["A100", "80GB"],
        gpus_per_node: 8,
        source: "seed",
    },
    Platform {
        name: "p5.48xlarge",
        aliases: &["p5"],
        gpus: "8x H100 80GB",
        fabric: Fabric::Efa,
        nics: Some(32),
        network_gbps: 3200,
        nic_gbps: Some(100),
        expected_busbw: Some((300.0, 400.0)),
        // `NVIDIA H100 80GB HBM3` (SXM); the PCIe card prints `H100 PCIe` and is no p5.
        gpu_markers: &["H100", "HBM3"],
        gpus_per_node: 8,
        source: "seed; awsome-distributed-ai",
    },
    Platform {
        name: "p5e.48xlarge",
        aliases: &["p5e"],
        gpus: "8x H200",
        fabric: Fabric::Efa,
        nics: Some(32),
        network_gbps: 3200,
        nic_gbps: Some(100),
        expected_busbw: Some((300.0, 400.0)),
        gpu_markers: &["H200"],
        gpus_per_node: 8,
        source: "seed",
    },
    Platform {
        name: "p5en.48xlarge",
        aliases: &["p5en"],
        gpus: "8x H200",
        fabric: Fabric::Efa,
        nics: Some(16),
        network_gbps: 3200,
        nic_gbps: Some(200),
        expected_busbw: Some((300.0, 400.0)),
        gpu_markers: &["H200"],
        gpus_per_node: 8,
        source: "NVIDIA/nccl#1597, real logs",
    },
    Platform {
        name: "p6-b200.48xlarge",
        aliases: &["p6-b200", "p6"],
        gpus: "8x B200",
        fabric: Fabric::Efa,
        nics: None,
        network_gbps: 3200,
        nic_gbps: None,
        expected_busbw: None,
        gpu_markers: &["B200"],
        gpus_per_node: 8,
        source: "seed",
    },
    Platform {
        name: "trn1.32xlarge",
        aliases: &["trn1"],
        gpus: "16x Trainium",
        fabric: Fabric::Efa,
        nics: Some(8),
        network_gbps: 800,
        nic_gbps: Some(100),
        expected_busbw: None,
        gpu_markers: &[],
        gpus_per_node: 16,
        source: "seed",
    },
    Platform {
        name: "trn2.48xlarge",
        aliases: &["trn2"],
        gpus: "16x Trainium2",
        fabric: Fabric::Efa,
        nics: Some(16),
        network_gbps: 1600,
        nic_gbps: Some(100),
        expected_busbw: None,
        gpu_markers: &[],
        gpus_per_node: 16,
        source: "seed",
    },
    // Not in platforms.md: the p3dn corpus log (one 100 Gbps EFA, 8x V100 32GB) needs a row so
    // that its low busbw is not compared with a p4d/p5 band. No measured band yet.
    Platform {
        name: "p3dn.24xlarge",
        aliases: &["p3dn"],
        gpus: "8x V100 32GB",
        fabric: Fabric::Efa,
        nics: Some(1),
        network_gbps: 100,
        nic_gbps: Some(100),
        expected_busbw: None,
        gpu_markers: &["V100", "32GB"],
        gpus_per_node: 8,
        source: "AWS EC2 p3dn.24xlarge specification (100 Gbps, 1 EFA)",
    },
    // IB platforms are never guessed from a GPU model (gpu_markers empty): many IB clusters
    // share a GPU model and differ in NIC count and rate. Only `--platform` selects them.
    Platform {
        name: "dgx-a100",
        aliases: &["DGX A100"],
        gpus: "8x A100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 1600,
        nic_gbps: Some(200),
        expected_busbw: Some((180.0, 200.0)),
        gpu_markers: &[],
        gpus_per_node: 8,
        source: "NVIDIA/nccl#812",
    },
    Platform {
        name: "dgx-h100",
        aliases: &["DGX H100"],
        gpus: "8x H100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 3200,
        nic_gbps: Some(400),
        expected_busbw: Some((350.0, 400.0)),
        gpu_markers: &[],
        gpus_per_node: 8,
        source: "NVIDIA/nccl-tests#290",
    },
    // Azure's health-check thresholds are single-node figures, not a multi-node band.
    Platform {
        name: "ND96asr_v4",
        aliases: &["ndv4", "Standard_ND96asr_v4"],
        gpus: "8x A100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 1600,
        nic_gbps: Some(200),
        expected_busbw: None,
        gpu_markers: &[],
        gpus_per_node: 8,
        source: "Azure/azurehpc-health-checks",
    },
    Platform {
        name: "ND96isr_H100_v5",
        aliases: &["ndv5", "Standard_ND96isr_H100_v5"],
        gpus: "8x H100",
        fabric: Fabric::Ib,
        nics: Some(8),
        network_gbps: 3200,
        nic_gbps: Some(400),
        expected_busbw: None,
        gpu_markers: &[],
        gpus_per_node: 8,
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
    /// Where it came from: `--platform`, or the line that printed it (for a guess, the line of
    /// the hardware evidence it rests on).
    pub from: PlatformSource,
    pub confidence: Confidence,
    /// What the detection rests on, in words (`aws-ofi-nccl platform line`, `topology file
    /// p5.48xl-topo.xml`, `8x NVIDIA H100 80GB HBM3 per host with the EFA provider`).
    pub basis: String,
}

#[derive(Debug, Clone)]
pub enum PlatformSource {
    Flag,
    Line(Evidence),
}

/// How sure the detection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Guessed from hardware (GPU model, EFA NIC count): right family, maybe not the exact type.
    Guess,
    /// Named by the logs: aws-ofi-nccl's platform line or a platform topology file.
    Named,
    /// `--platform`.
    Flag,
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

    /// `p5.48xlarge`, or `p5.48xlarge (guessed from …)` for a guess: for finding messages.
    pub fn describe(&self) -> String {
        let name = self.platform.map_or(self.name.as_str(), |p| p.name);
        match self.confidence {
            Confidence::Guess => format!("{name} (guessed from {})", self.basis),
            _ => name.to_string(),
        }
    }
}

/// The platform a topology file is made for, from its file name: aws-ofi-nccl ships
/// `p4d-24xl-topo.xml`, `p4de-24xl-topo.xml`, `p5.48xl-topo.xml`, `g5.48xl-topo.xml`
/// (topology/ in aws/aws-ofi-nccl); azhpc images ship `ndv4-topo.xml`, `ndv5-topo.xml`.
/// `/proc/self/fd/N` (aws-ofi-nccl ≥ 1.16 writes the file to a memfd) names nothing.
pub fn from_topo_file(path: &str) -> Option<&'static Platform> {
    let base = path.trim().rsplit('/').next()?.to_ascii_lowercase();
    let stem = base.strip_suffix(".xml")?;
    let stem = stem.strip_suffix("-topo").or_else(|| stem.strip_suffix("_topo")).unwrap_or(stem);
    if let Some(p) = lookup(stem) {
        return Some(p);
    }
    // `p4d-24xl` / `p5.48xl` → `p4d.24xlarge` / `p5.48xlarge`.
    let (family, size) = stem.split_once(['-', '.'])?;
    let size = size.strip_suffix("xl").map_or(size.to_string(), |s| format!("{s}xlarge"));
    lookup(&format!("{family}.{size}"))
}

/// Hardware seen in the logs that hints at the platform.
#[derive(Debug, Clone, Default)]
pub struct HardwareHints<'a> {
    /// GPU model as nccl-tests prints it in its device list.
    pub gpu_model: Option<&'a str>,
    /// GPUs per host the job used (a lower bound of what the host has).
    pub gpus_per_host: Option<u32>,
    /// EFA NICs aws-ofi-nccl found (`Selected provider is efa … (found N nics)`).
    pub efa_nics: Option<u32>,
    /// aws-ofi-nccl selected the efa provider.
    pub efa: bool,
}

/// A family guess from hardware, with the reason in words. Only EFA platforms are guessed
/// (an EFA provider line is required): AWS instance types pair one GPU model with one NIC
/// layout, IB clusters do not.
pub fn guess(h: &HardwareHints<'_>) -> Option<(&'static Platform, String)> {
    if !h.efa {
        return None;
    }
    let efa = || PLATFORMS.iter().filter(|p| p.fabric == Fabric::Efa);
    if let Some(model) = h.gpu_model {
        let by_gpu: Vec<&Platform> = efa().filter(|p| p.matches_gpu(model)).collect();
        let by_nics: Vec<&Platform> =
            by_gpu.iter().copied().filter(|p| h.efa_nics.is_some() && p.nics == h.efa_nics).collect();
        if let [p] = by_nics[..] {
            let n = h.efa_nics.unwrap_or(0);
            return Some((p, format!("{model} GPUs with {n} EFA NICs")));
        }
        // A job may use fewer GPUs per host than the instance has (one GPU per pod), and a
        // small instance of the family (p5.4xlarge: one H100) has fewer NICs: the GPU model
        // alone decides only when the job fills a whole node.
        if let [p] = by_gpu[..] {
            if h.gpus_per_host == Some(p.gpus_per_node) {
                return Some((p, format!("{}x {model} per host with the EFA provider", p.gpus_per_node)));
            }
        }
        return None;
    }
    // NIC count alone: only large counts are distinctive (4 EFA NICs are p4d but also g6e),
    // and only when every candidate has the same NIC layout and band (p5 and p5e).
    let n = h.efa_nics.filter(|n| *n >= 16)?;
    let cands: Vec<&Platform> = efa().filter(|p| p.nics == Some(n)).collect();
    let first = *cands.first()?;
    let same = cands.iter().all(|p| {
        p.network_gbps == first.network_gbps
            && p.nic_gbps == first.nic_gbps
            && p.expected_busbw == first.expected_busbw
    });
    if !same {
        return None;
    }
    let names: Vec<&str> = cands.iter().map(|p| p.name).collect();
    Some((first, format!("{n} EFA NICs ({})", names.join(" or "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_file_names() {
        let name = |p: &str| from_topo_file(p).map(|p| p.name);
        assert_eq!(
            name("/opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p4d-24xl-topo.xml"),
            Some("p4d.24xlarge")
        );
        assert_eq!(name("/opt/aws-ofi-nccl/xml/p5.48xl-topo.xml"), Some("p5.48xlarge"));
        assert_eq!(name("p4de-24xl-topo.xml"), Some("p4de.24xlarge"));
        assert_eq!(name("/opt/microsoft/ndv5-topo.xml"), Some("ND96isr_H100_v5"));
        assert_eq!(name("/proc/self/fd/150"), None);
        assert_eq!(name("/x/g5.48xl-topo.xml"), None);
    }

    #[test]
    fn hardware_guesses() {
        let h100 = HardwareHints {
            gpu_model: Some("NVIDIA H100 80GB HBM3"),
            gpus_per_host: Some(8),
            efa_nics: None,
            efa: true,
        };
        assert_eq!(guess(&h100).map(|g| g.0.name), Some("p5.48xlarge"));
        // Not EFA: a GCP/IB H100 cluster is not guessed.
        assert!(guess(&HardwareHints { efa: false, ..h100.clone() }).is_none());
        // One GPU per host and no NIC count: p5.48xlarge or p5.4xlarge, no guess.
        assert!(guess(&HardwareHints { gpus_per_host: Some(1), ..h100.clone() }).is_none());
        let a100 = HardwareHints {
            gpu_model: Some("A100-SXM4-40GB"),
            gpus_per_host: Some(1),
            efa_nics: Some(4),
            efa: true,
        };
        assert_eq!(guess(&a100).map(|g| g.0.name), Some("p4d.24xlarge"));
        let h200 = HardwareHints {
            gpu_model: Some("NVIDIA H200"),
            gpus_per_host: Some(8),
            efa_nics: Some(16),
            efa: true,
        };
        assert_eq!(guess(&h200).map(|g| g.0.name), Some("p5en.48xlarge"));
        // H200 without a NIC count: p5e or p5en.
        assert!(guess(&HardwareHints { efa_nics: None, ..h200 }).is_none());
        let nics = |n| {
            guess(&HardwareHints { efa_nics: Some(n), efa: true, ..Default::default() }).map(|g| g.0.name)
        };
        assert_eq!(nics(32), Some("p5.48xlarge"));
        assert_eq!(nics(16), None); // p5en or trn2
        assert_eq!(nics(4), None); // p4d, but also g6e
    }
}
