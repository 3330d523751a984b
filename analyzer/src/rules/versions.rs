//! Versions: across ranks, of the net plugin, of topology files.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use super::env::major_minor;
use super::{Ctx, Rule, Seen};
use crate::catalog::{RuleId, Severity};
use crate::finding::{Evidence, Finding};
use crate::model::ProcId;

pub struct NcclVersionMismatch;

impl Rule for NcclVersionMismatch {
    fn id(&self) -> RuleId {
        RuleId::NCCL_VERSION_MISMATCH
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut by_version: BTreeMap<&str, (BTreeSet<ProcId>, Vec<&Evidence>)> = BTreeMap::new();
        for f in job.versions.iter() {
            let g = by_version.entry(f.data.as_str()).or_default();
            g.0.insert(f.proc);
            g.1.push(&f.ev);
        }
        // NCCL itself detects a mismatch at bootstrap (2.x: `Mismatched NCCL version`).
        let detected: Vec<&Evidence> = job
            .warns
            .iter()
            .filter(|f| f.data.message.contains("ismatched NCCL version"))
            .map(|f| &f.ev)
            .collect();
        let bases: BTreeSet<&str> = by_version.keys().map(|v| v.split('+').next().unwrap_or(v)).collect();
        // A version without its `+cudaX.Y` part (PyTorch's `NCCL error …, NCCL version 2.7.8`)
        // is the same build as the banner's `2.7.8+cuda11.1`, not a second one.
        let builds: BTreeSet<&str> = by_version.keys().copied().filter(|v| v.contains('+')).collect();
        if bases.len() < 2 && builds.len() < 2 && detected.is_empty() {
            return;
        }
        let (severity, what) = if bases.len() > 1 || !detected.is_empty() {
            (Severity::Critical, "different NCCL versions: ranks of one communicator must run the same NCCL")
        } else {
            (
                Severity::Warning,
                "the same NCCL version built against different CUDA toolkits (a warning: the protocol is the same, but the builds may differ in kernels and fixes)",
            )
        };
        let listing: Vec<String> =
            by_version.iter().map(|(v, g)| format!("{v} on {} process(es)", g.0.len())).collect();
        let mut f = Finding::new(self.id(), format!("The job mixes {what}: {}.", listing.join(", ")))
            .severity(severity);
        let procs: BTreeSet<ProcId> = by_version.values().flat_map(|g| g.0.iter().copied()).collect();
        f = f.hosts(job.hosts_of(procs.iter().copied())).ranks(job.ranks_of(procs.iter().copied()));
        // One line per version first, so each side of the mismatch is shown.
        for g in by_version.values() {
            if let Some(e) = g.1.first() {
                f.push_evidence(e);
            }
        }
        out.push(f.evidence(detected));
    }
}

pub struct PluginVersionOld;

impl Rule for PluginVersionOld {
    fn id(&self) -> RuleId {
        RuleId::PLUGIN_VERSION_OLD
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        // aws-ofi-nccl 1.7 and libfabric 1.18 are where the EFA stack started to configure
        // itself (device RDMA, fork safety, protocol): older ones need the legacy variables.
        let mut seen = Seen::default();
        let mut old: BTreeSet<String> = BTreeSet::new();
        for f in job.ofi_plugin_version.iter() {
            if major_minor(&f.data).is_some_and(|v| v < (1, 7)) {
                seen.add(f.proc, &f.ev);
                old.insert(format!("aws-ofi-nccl {}", f.data));
            }
        }
        for f in job.libfabric_version.iter() {
            if major_minor(&f.data).is_some_and(|v| v < (1, 18)) {
                seen.add(f.proc, &f.ev);
                old.insert(format!("libfabric {}", f.data));
            }
        }
        if seen.count == 0 {
            return;
        }
        out.push(
            Finding::new(
                self.id(),
                format!(
                    "{} on {} process(es): older than aws-ofi-nccl 1.7 / libfabric 1.18, so EFA needs the legacy settings (FI_EFA_USE_DEVICE_RDMA=1, FI_PROVIDER=efa, NCCL_PROTO=simple) and misses later fixes and NCCL plugin API versions.",
                    old.into_iter().collect::<Vec<_>>().join(", "),
                    seen.procs.len()
                ),
            )
            .affecting(job, seen.procs.iter().copied())
            .evidence(seen.evidence),
        );
    }
}

/// graph/xml.h `xmlGetAttrStr`: `WARN("Attribute %s of node %s not found", …)` then
/// ncclInternalError. The same text at INFO level is NCCL probing an optional attribute
/// (`Attribute coll of node net not found`, 2.7–2.12): benign, so only WARN lines count.
static XML_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Attribute (\S+) of node (\S+) not found").expect("static regex"));

/// Whether a WARN message is NCCL failing to find a required topology-file attribute.
pub(crate) fn is_xml_attr_missing(msg: &str) -> bool {
    XML_ATTR.is_match(msg.trim())
}

pub struct TopoXmlIncompatible;

impl Rule for TopoXmlIncompatible {
    fn id(&self) -> RuleId {
        RuleId::TOPO_XML_INCOMPATIBLE
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let job = ctx.job;
        let mut seen = Seen::default();
        let mut attrs: BTreeSet<String> = BTreeSet::new();
        for f in job.warns.iter() {
            if let Some(c) = XML_ATTR.captures(f.data.message.trim()) {
                let (Some(a), Some(n)) = (c.get(1), c.get(2)) else { continue };
                seen.add(f.proc, &f.ev);
                attrs.insert(format!("'{}' of <{}>", a.as_str(), n.as_str()));
            }
        }
        // The topology file itself, when given: attributes NCCL requires are missing.
        let xml = super::topology::xml_incompatible(ctx);
        if seen.count == 0 {
            if !xml.is_empty() {
                out.push(
                    Finding::new(
                        self.id(),
                        format!(
                            "A topology file lacks what NCCL requires to load it: {}. Given as NCCL_TOPO_FILE, NCCL fails init with `Attribute … of node cpu not found` (older aws-ofi-nccl files lack attributes newer NCCL requires); regenerate it with NCCL_TOPO_DUMP_FILE or add the attributes.",
                            xml.iter().map(|f| f.what.as_str()).collect::<Vec<_>>().join("; ")
                        ),
                    )
                    .evidence(xml.iter().flat_map(|f| f.evidence.iter())),
                );
            }
            return;
        }
        // The file NCCL was told to load, when the logs say (NCCL's echo or a command line).
        let topo = job.env.iter().chain(job.cmdline_env.iter()).find(|f| f.data.0 == "NCCL_TOPO_FILE");
        let file = match topo {
            Some(f) => format!("the topology file {} (NCCL_TOPO_FILE)", f.data.1),
            None => {
                "the topology file (NCCL_TOPO_FILE, or the one aws-ofi-nccl installs for the platform)".into()
            }
        };
        let mut f = Finding::new(
            self.id(),
            format!(
                "NCCL could not load {file}: attribute {} not found. The file was written for another NCCL version (older aws-ofi-nccl topology files lack attributes newer NCCL requires), and NCCL init fails with an internal error on {} process(es).",
                attrs.into_iter().collect::<Vec<_>>().join(", "),
                seen.procs.len()
            ),
        )
        .affecting(job, seen.procs.iter().copied())
        .evidence(seen.evidence);
        if let Some(t) = topo {
            f.push_evidence(&t.ev);
        }
        for x in &xml {
            f.message.push_str(&format!(" The topology file given shows it: {}.", x.what));
            for e in &x.evidence {
                f.push_evidence(e);
            }
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{absent, analyze_text, expect};
    use crate::catalog::{RuleId, Severity};

    #[test]
    fn version_mismatch_two_versions() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL version 2.21.5+cuda12.4\n\
             b:2:2 [0] NCCL INFO NCCL version 2.18.3+cuda12.2\n",
        );
        let f = expect(&a, RuleId::NCCL_VERSION_MISMATCH, Severity::Critical);
        assert_eq!(f.hosts, ["a", "b"]);
        assert_eq!(f.evidence.len(), 2);
    }

    #[test]
    fn version_mismatch_cuda_only_is_warning() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL version 2.25.1+cuda12.1\n\
             b:2:2 [0] NCCL INFO NCCL version 2.25.1+cuda12.4\n",
        );
        let f = expect(&a, RuleId::NCCL_VERSION_MISMATCH, Severity::Warning);
        assert!(f.message.contains("CUDA"), "{}", f.message);
    }

    #[test]
    fn version_mismatch_absent_for_one_version() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NCCL version 2.21.5+cuda12.4\n\
             b:2:2 [0] NCCL INFO NCCL version 2.21.5+cuda12.4\n",
        );
        absent(&a, RuleId::NCCL_VERSION_MISMATCH);
        // PyTorch's error message names the version without the CUDA part: the same build.
        let a = analyze_text(
            "RuntimeError: NCCL error in: ProcessGroupNCCL.cpp:825, unhandled system error, NCCL version 2.7.8\n\
             NCCL version 2.7.8+cuda11.1\n",
        );
        absent(&a, RuleId::NCCL_VERSION_MISMATCH);
    }

    #[test]
    fn plugin_version_old() {
        let a = analyze_text(
            "[1,0]<stdout>:w-0:21:21 [0] NCCL INFO NET/OFI Using aws-ofi-nccl 1.5.0aws\n\
             [1,1]<stdout>:w-1:21:21 [0] NCCL INFO NET/OFI Using aws-ofi-nccl 1.5.0aws\n",
        );
        let f = expect(&a, RuleId::PLUGIN_VERSION_OLD, Severity::Info);
        assert!(f.message.contains("aws-ofi-nccl 1.5.0aws"), "{}", f.message);
        assert_eq!(f.hosts, ["w-0", "w-1"]);
        let a = analyze_text("a:1:1 [0] NCCL INFO NET/OFI Using Libfabric version 1.15\n");
        expect(&a, RuleId::PLUGIN_VERSION_OLD, Severity::Info);
    }

    #[test]
    fn plugin_version_current_is_fine() {
        let a = analyze_text(
            "a:1:1 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.13.2-aws\n\
             a:1:1 [0] NCCL INFO NET/OFI Using Libfabric version 1.22\n",
        );
        absent(&a, RuleId::PLUGIN_VERSION_OLD);
    }

    #[test]
    fn topo_xml_attribute_missing_warn() {
        let a = analyze_text(
            "w-0:75:95 [2] NCCL INFO NCCL_TOPO_FILE set by environment to /opt/aws-ofi-nccl/xml/p5.48xl-topo.xml\n\
             \n\
             [1,2]<stdout>:w-0:75:95 [2] graph/xml.h:101 NCCL WARN Attribute arch of node cpu not found\n\
             [1,2]<stdout>:w-0:75:95 [2] NCCL INFO graph/topo.cc:493 -> 3\n",
        );
        let f = expect(&a, RuleId::TOPO_XML_INCOMPATIBLE, Severity::Critical);
        assert!(
            f.message.contains("'arch' of <cpu>") && f.message.contains("p5.48xl-topo.xml"),
            "{}",
            f.message
        );
        assert_eq!(f.hosts, ["w-0"]);
    }

    #[test]
    fn topo_xml_attribute_info_is_benign() {
        let a = analyze_text("node2:1208:1249 [0] NCCL INFO Attribute coll of node net not found\n");
        absent(&a, RuleId::TOPO_XML_INCOMPATIBLE);
    }
}
