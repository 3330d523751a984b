//! The rules: one small unit per rule ID, one file per family, registered in [`REGISTRY`].
//! Adding a rule touches its family's file and this list.
use ncclscope_parser::InputSummary;

use crate::catalog::RuleId;
use crate::finding::Finding;
use crate::model::Job;
use crate::platform::DetectedPlatform;

mod env;
mod failures;
mod gdr;
mod meta;
mod performance;
#[cfg(test)]
pub(crate) mod testing;
mod topology;
mod transport;
pub(crate) mod ucx;
mod versions;

/// What a rule sees.
pub struct Ctx<'a> {
    pub job: &'a Job,
    pub inputs: &'a [InputSummary],
    pub platform: Option<&'a DetectedPlatform>,
}

impl Ctx<'_> {
    pub fn is_efa_platform(&self) -> bool {
        self.platform.is_some_and(|p| p.is_efa())
    }
}

/// Processes and the lines that show them, gathered for one finding.
#[derive(Default)]
pub struct Seen<'a> {
    pub procs: std::collections::BTreeSet<crate::model::ProcId>,
    pub evidence: Vec<&'a crate::finding::Evidence>,
    pub count: usize,
}

impl<'a> Seen<'a> {
    pub fn add(&mut self, proc: crate::model::ProcId, ev: &'a crate::finding::Evidence) {
        self.procs.insert(proc);
        self.evidence.push(ev);
        self.count += 1;
    }
}

pub trait Rule: Sync {
    fn id(&self) -> RuleId;
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>);
    /// NCCL INFO subsystems the rule reads: when the logs lack one, INSUFFICIENT_LOGGING names
    /// the rule as not checked. Defaults to [`default_needs`]; a rule may declare its own.
    fn needs(&self) -> &'static [Subsystem] {
        default_needs(self.id())
    }
}

/// What an NCCL log must hold for a rule to see its evidence: INFO lines at all, or those of one
/// `NCCL_DEBUG_SUBSYS` subsystem (WARN lines and nccl-tests output are always printed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subsystem {
    /// Any INFO line (`NCCL_DEBUG=INFO`): error unwinds, HINTs.
    Info,
    /// Bootstrap, communicator init, channel connections (default subsystem in every version).
    Init,
    /// NET/IB, NET/Socket, NET/OFI, `Using network`.
    Net,
    /// Topology printout, rings/trees, per-GPU paths (`GRAPH`, never a default).
    Graph,
    /// `X set by environment to Y` (default from 2.17; printed only for variables that are set).
    Env,
}

impl Subsystem {
    /// The `NCCL_DEBUG_SUBSYS` name (None: only `NCCL_DEBUG=INFO` is needed).
    pub fn debug_subsys(self) -> Option<&'static str> {
        match self {
            Subsystem::Info => None,
            Subsystem::Init => Some("INIT"),
            Subsystem::Net => Some("NET"),
            Subsystem::Graph => Some("GRAPH"),
            Subsystem::Env => Some("ENV"),
        }
    }
}

/// What each rule reads, by ID, until a rule declares `needs` itself. Rules that read only WARN
/// lines, foreign lines (PyTorch, lspci), nccl-tests tables, UCX or topology files need nothing.
pub fn default_needs(id: RuleId) -> &'static [Subsystem] {
    use Subsystem::*;
    match id {
        RuleId::NET_SOCKET_FALLBACK
        | RuleId::NET_PLUGIN_LOAD_FAILED
        | RuleId::NET_PLUGIN_INIT_FAILED
        | RuleId::NET_NIC_INFO_MISSING
        | RuleId::IB_HCA_UNFILTERED
        | RuleId::IB_NO_DEVICE
        | RuleId::OFI_PROVIDER_NOT_EFA
        | RuleId::EFA_NOT_FOUND
        | RuleId::EFA_PARTIAL_ALLOCATION
        | RuleId::NIC_SET_MISMATCH
        | RuleId::IB_HCA_FILTER_SUSPECT
        | RuleId::PLUGIN_VERSION_OLD => &[Net],
        RuleId::NIC_UNDERUSED | RuleId::GDR_DISABLED => &[Net, Graph],
        RuleId::GPU_NIC_CROSS_NUMA
        | RuleId::PCI_LINK_DEGRADED
        | RuleId::TOPOLOGY_HIDDEN
        | RuleId::NVLINK_TOPO_ANOMALY
        | RuleId::TOPO_AFFINITY_SUSPECT => &[Graph],
        RuleId::BOOTSTRAP_IFACE_SUSPECT | RuleId::INIT_INCOMPLETE | RuleId::P2P_NOT_USED => &[Init],
        RuleId::ENV_DEBUG_OVERRIDE | RuleId::ENV_LEGACY_EFA | RuleId::ENV_REMOVED => &[Env],
        RuleId::NCCL_ERROR_UNWIND | RuleId::ACS_ENABLED | RuleId::ROCE_GID_SUSPECT => &[Info],
        _ => &[],
    }
}

pub static REGISTRY: &[&dyn Rule] = &[
    &transport::NetSocketFallback,
    &transport::NetPluginLoadFailed,
    &transport::IbNoDevice,
    &transport::OfiProviderNotEfa,
    &transport::EfaNotFound,
    &transport::NetPluginInitFailed,
    &transport::OfiInitFailed,
    &transport::NetNicInfoMissing,
    &transport::IbHcaUnfiltered,
    &transport::EfaPartialAllocation,
    &transport::NicSetMismatch,
    &transport::NicUnderused,
    &transport::IbHcaFilterSuspect,
    &transport::BootstrapIfaceSuspect,
    &gdr::GdrDisabled,
    &gdr::P2pNotUsed,
    &gdr::TopologyHidden,
    &topology::GpuNicCrossNuma,
    &topology::PciLinkDegraded,
    &topology::NvlinkTopoAnomaly,
    &topology::TopoAffinitySuspect,
    &env::EnvDebugOverride,
    &env::EnvLegacyEfa,
    &env::EnvRemoved,
    &env::EnvLegacyTorch,
    &versions::NcclVersionMismatch,
    &versions::PluginVersionOld,
    &versions::TopoXmlIncompatible,
    &gdr::AcsEnabled,
    &failures::InitIncomplete,
    &failures::RemotePeerFailed,
    &failures::ShmExhausted,
    &failures::MemlockLimit,
    &failures::RoceGidSuspect,
    &failures::IbCompletionError,
    &failures::FabricManager,
    &failures::EfaHugepageFork,
    &failures::CollectiveMismatch,
    &failures::CudaKernelLoadFailed,
    &failures::NcclErrorUnwind,
    &failures::NcclWarn,
    &performance::BusbwTcpLevel,
    &performance::BusbwBelowExpected,
    &performance::BusbwTwoNodeTree,
    &performance::NcclTestsWrong,
    &ucx::UcxTcpFallback,
    &ucx::UcxBadIface,
    &ucx::UcxNoAmTransport,
    &ucx::UcxTlsRestricted,
    &ucx::UcxDeviceUnavailable,
    &ucx::UcxNoGpuTransport,
    &ucx::UcxIntranodeSlowPath,
    &ucx::UcxPeerUnreachable,
    &ucx::NixlPeerFailed,
    &ucx::UcxVersionMismatch,
    &ucx::UcxEfaNoSrd,
    &ucx::UcxGpuRdmaEmulated,
    &ucx::UcxBwTcpLevel,
    &ucx::UcxError,
    &ucx::UcxTlsEfaName,
    &ucx::UcxRdmaCompletionError,
    // Last of the checks: it names the rules above that could not see their evidence.
    &meta::InsufficientLogging,
    &meta::ParseError,
];

/// Whether a rule of this ID is checked by this build (the catalog lists more).
pub fn is_checked(id: RuleId) -> bool {
    REGISTRY.iter().any(|r| r.id() == id)
}

/// Runs every rule; findings come out sorted critical first, then by rule ID.
pub fn run_all(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in REGISTRY {
        rule.check(ctx, &mut out);
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
    out
}
