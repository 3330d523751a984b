//! The rule catalog (../shared/spec/rules.md): stable IDs, default severity, title, what
//! reveals each rule, the remedy and where maintainers gave that diagnosis.
//! IDs are a public contract: never rename one.
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    // Ordered so that sorting descending puts critical first.
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!("unknown severity '{s}' (critical|warning|info)")),
        }
    }
}

pub struct RuleInfo {
    pub id: RuleId,
    pub severity: Severity,
    pub family: &'static str,
    pub title: &'static str,
    pub reveals: &'static str,
    pub remedy: &'static str,
    pub source: &'static str,
}

macro_rules! catalog {
    ($( $id:ident, $sev:ident, $fam:literal, $title:literal, $reveals:literal, $remedy:literal, $source:literal; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(non_camel_case_types)]
        pub enum RuleId { $($id,)* }

        pub static CATALOG: &[RuleInfo] = &[
            $(RuleInfo { id: RuleId::$id, severity: Severity::$sev, family: $fam, title: $title,
                reveals: $reveals, remedy: $remedy, source: $source },)*
        ];

        impl RuleId {
            pub fn as_str(self) -> &'static str {
                match self { $(RuleId::$id => stringify!($id),)* }
            }
        }

        impl FromStr for RuleId {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $(stringify!($id) => Ok(RuleId::$id),)* _ => Err(format!("unknown rule ID '{s}'")) }
            }
        }
    };
}

impl RuleId {
    pub fn info(self) -> &'static RuleInfo {
        // CATALOG is generated in declaration order, so the discriminant indexes it.
        &CATALOG[self as usize]
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

catalog! {
    // Transport selection
    NET_SOCKET_FALLBACK, Critical, "transport", "Inter-node traffic uses TCP sockets, not the RDMA network",
        "inter-node traffic on NCCL's Socket transport: `Using network Socket`, `NET/Socket : Using …`, channel lines `via NET/Socket/N`, on a job that spans hosts",
        "install/load the net plugin (aws-ofi-nccl on EFA), expose /dev/infiniband to the container, request the EFA/IB devices (vpc.amazonaws.com/efa, rdma/…)",
        "NVIDIA/nccl#229, awslabs/awsome-distributed-ai#386";
    NET_PLUGIN_LOAD_FAILED, Critical, "transport", "The NCCL net plugin could not be loaded",
        "`NET/Plugin` could not load `libnccl-net*.so` where a plugin was expected (AWS/EFA platform, NCCL_NET_PLUGIN set, NET/OFI lines, or a load error other than not-found), followed by IB or Socket being used",
        "put the plugin on LD_LIBRARY_PATH / set NCCL_NET_PLUGIN; use an image that ships it (aws-ofi-nccl on EFA)",
        "NVIDIA/nccl#229";
    NET_PLUGIN_INIT_FAILED, Warning, "transport", "The external net plugin loaded but failed to initialize",
        "an external net plugin loads but its init fails (`plugin/net.cc:N -> 2`, `Failed to initialize any NET plugin`) and NCCL falls back to its internal transports",
        "remove the stale plugin or fix its dependencies (libfabric provider)", "real logs";
    OFI_INIT_FAILED, Critical, "transport", "aws-ofi-nccl failed after provider selection",
        "aws-ofi-nccl fails after provider selection (`Couldn't open AV`, `fi_* … RC < 0`, `OFI fi_getinfo() call failed`) so EFA cannot carry traffic",
        "match libfabric and the EFA installer; check device permissions", "real logs";
    NET_NIC_INFO_MISSING, Warning, "transport", "The net plugin gives no NIC PCI path",
        "the net plugin gives no PCI path (`No NIC info for dev N`, NIC distance SYS for every GPU): locality and GDR decisions are blind",
        "upgrade the plugin; provide a topology file", "real logs";
    IB_HCA_UNFILTERED, Warning, "transport", "NET/IB device list is unfiltered",
        "the NET/IB device list mixes link layers (IB and RoCE), includes non-fabric devices (iWARP i40iw*, management ports) or dozens of functions, with no NCCL_IB_HCA set",
        "set NCCL_IB_HCA==<the fabric HCAs>", "NVIDIA/nccl-tests#150";
    IB_NO_DEVICE, Critical, "transport", "NCCL found no InfiniBand/RoCE device",
        "`NET/IB : No device found.`, libibverbs missing, on a job that spans hosts",
        "install rdma-core/libibverbs, pass the devices into the container (/dev/infiniband, rdma device plugin)",
        "NVIDIA/nccl src/transport/net_ib";
    OFI_PROVIDER_NOT_EFA, Critical, "transport", "aws-ofi-nccl selected a provider other than EFA",
        "aws-ofi-nccl `Selected Provider is <p>` with p ≠ efa (tcp, sockets, …) on an EFA platform",
        "attach/request EFA interfaces; do not force FI_PROVIDER to another provider", "seed, aws/aws-ofi-nccl";
    EFA_NOT_FOUND, Critical, "transport", "No EFA device / provider found",
        "`No EFA devices found`, `fi_getinfo … provider efa output empty list`, `Couldn't find any optimal provider`, `No eligible providers were found`, `Unexpected group size 0`",
        "run the EFA device plugin, request vpc.amazonaws.com/efa, match libfabric to the EFA installer",
        "aws/aws-ofi-nccl#1063, #889";
    EFA_PARTIAL_ALLOCATION, Warning, "transport", "Fewer EFA interfaces than the instance type has",
        "fewer EFA NICs seen (`found N nics`, NET/OFI device list, topology) than the instance type has",
        "request all EFA interfaces (vpc.amazonaws.com/efa: 32 on p5)", "seed; NVIDIA/nccl#1597";
    NIC_SET_MISMATCH, Warning, "transport", "Hosts of one job see different NICs",
        "hosts of one job see different NIC counts or names",
        "make every node identical; do not hide it with NCCL_IGNORE_NET_MISMATCH", "NVIDIA/nccl#2428, #1277";
    NIC_UNDERUSED, Warning, "transport", "Network channels use fewer NICs than the host has",
        "all network channels go through fewer NICs than the host has (e.g. every channel via NET/IB/0), or fewer net channels than NICs",
        "check NIC placement, NCCL_IB_HCA, do not cap channels", "NVIDIA/nccl#439";
    IB_HCA_FILTER_SUSPECT, Info, "transport", "NCCL_IB_HCA value may match unintended devices",
        "NCCL_IB_HCA value with a prefix that also matches other devices (mlx5_1 ⊂ mlx5_10), or more than one ^/=",
        "use = for exact names, one ^ for exclusion", "NVIDIA/nccl-tests#150, NVIDIA/nccl#1412";
    BOOTSTRAP_IFACE_SUSPECT, Warning, "transport", "Bootstrap/socket traffic on a suspect interface",
        "`Bootstrap : Using` / `NET/Socket : Using` on lo, docker0, veth*, virbr*, tunl*; connection refused / timed out at bootstrap",
        "unset NCCL_SOCKET_IFNAME or set ^docker,lo or the exact interface", "NVIDIA/nccl#286, #913, #1837";
    // GPUDirect RDMA and locality
    GDR_DISABLED, Warning, "gdr", "GPUDirect RDMA is not used",
        "`GPU Direct RDMA Disabled for …`, net channel lines without /GDRDMA on IB/EFA, XML <net … gdr=\"0\">",
        "load nvidia-peermem (or use DMA-BUF), check NCCL_NET_GDR_LEVEL", "NVIDIA/nccl#897, #1343, #1537";
    GPU_NIC_CROSS_NUMA, Warning, "gdr", "GPU and NIC are far apart",
        "a GPU's used NIC is farther than its nearest NIC, or even the nearest NIC is on another NUMA node (path SYS)",
        "put the NIC on the GPU's PCIe switch; fix the topology file; check NCCL_IB_HCA", "NVIDIA/nccl#412, src/graph/paths.cc";
    PCI_LINK_DEGRADED, Warning, "gdr", "A PCI link runs below its siblings' speed/width",
        "a GPU or NIC PCI link below its siblings' speed/width in the XML, or <net speed=…> below the platform's rate",
        "reseat / replace, check BIOS", "NVIDIA/nccl#302";
    TOPOLOGY_HIDDEN, Warning, "gdr", "The VM hides the PCI topology",
        "VM topology without locality: numaid=\"-1\", empty or zero link speeds, `Could not read …` in topology detection",
        "provide NCCL_TOPO_FILE (aws-ofi-nccl or azhpc topology files)", "NVIDIA/nccl#428, #814";
    NVLINK_TOPO_ANOMALY, Critical, "gdr", "NVLink topology anomaly",
        "a GPU's <nvlink> is missing, has count=\"0\", or targets its own bus id while its peers have NVLink",
        "check the GPU/NVSwitch (fabric manager, nvidia-smi nvlink -s), fix the topology file", "real topology files";
    TOPO_AFFINITY_SUSPECT, Warning, "gdr", "CPU affinity masks in the topology look wrong",
        "<cpu> affinity masks identical across NUMA nodes (a placeholder) or inconsistent with numaid",
        "fix or regenerate the topology file", "real topology files";
    P2P_NOT_USED, Warning, "gdr", "Intra-node peers do not use P2P/NVLink",
        "intra-node peers connected via SHM (or NET) on a node whose GPUs have NVLink/P2P",
        "check ACS, IOMMU, VM passthrough, NCCL_P2P_DISABLE", "NVIDIA/nccl#428";
    ACS_ENABLED, Critical, "gdr", "PCI ACS is enabled",
        "NCCL's own HINT that PCI ACS is enabled, completion errors with ACS",
        "disable ACS (BIOS, setpci)", "NVIDIA/nccl#304, #2079";
    // Environment
    ENV_DEBUG_OVERRIDE, Warning, "environment", "A tuning/debug variable overrides NCCL's choice",
        "NCCL_P2P_DISABLE, NCCL_SHM_DISABLE, NCCL_IB_DISABLE, NCCL_NET_GDR_LEVEL, NCCL_ALGO, NCCL_PROTO, NCCL_MIN_NCHANNELS, NCCL_MAX_NCHANNELS, NCCL_CROSS_NIC … `set by environment to …`",
        "remove from production scripts: NCCL auto-tunes these", "seed; NCCL env docs";
    ENV_LEGACY_EFA, Info, "environment", "Legacy EFA variables set on a modern stack",
        "FI_PROVIDER=efa, FI_EFA_USE_DEVICE_RDMA=1, FI_EFA_FORK_SAFE=1, RDMAV_FORK_SAFE, NCCL_PROTO=simple on aws-ofi-nccl ≥ 1.7 / libfabric ≥ 1.18",
        "remove: auto-detected by the modern stack", "seed; aws-ofi-nccl doc/efa-env-var.md";
    ENV_REMOVED, Warning, "environment", "A variable current NCCL ignores",
        "NCCL_IB_CUDA_SUPPORT, NCCL_LL_THRESHOLD, NCCL_TREE_THRESHOLD, NCCL_IB_GDR_LEVEL, NCCL_SINGLE_RING_THRESHOLD, NCCL_RINGS; NCCL's `ENV … is deprecated`",
        "use the replacement (NCCL_PROTO/NCCL_ALGO, NCCL_NET_GDR_LEVEL)", "NVIDIA/nccl#211";
    ENV_LEGACY_TORCH, Info, "environment", "Deprecated PyTorch NCCL variable",
        "PyTorch's NCCL_ASYNC_ERROR_HANDLING / NCCL_BLOCKING_WAIT / NCCL_DESYNC_DEBUG deprecation warnings",
        "use the TORCH_NCCL_* names", "pytorch/pytorch#114880";
    // Versions
    NCCL_VERSION_MISMATCH, Critical, "versions", "Ranks run different NCCL versions",
        "different `NCCL version` banners across ranks/hosts, or `Mismatched NCCL version detected`; the same version built for different CUDA versions is a warning",
        "one NCCL build on every node (same container image, same LD_LIBRARY_PATH)", "NVIDIA/nccl#286";
    PLUGIN_VERSION_OLD, Info, "versions", "Old aws-ofi-nccl / libfabric",
        "aws-ofi-nccl < 1.7 or libfabric < 1.18 (needs the legacy env vars)",
        "upgrade the EFA installer / plugin", "seed";
    TOPO_XML_INCOMPATIBLE, Critical, "versions", "Topology file incompatible with this NCCL",
        "`Attribute … of node … not found` while loading a topology file",
        "match the plugin's topology files to the NCCL version", "aws/aws-ofi-nccl#476";
    // Failures
    INIT_INCOMPLETE, Critical, "failures", "Communicator init did not complete on every rank",
        "a communicator with fewer Init COMPLETE ranks than nranks, or ranks missing altogether; each stuck rank and its last line",
        "look at the first failing rank's log, the bootstrap interface, the firewall / security group", "NVIDIA/nccl#394";
    REMOTE_PEER_FAILED, Critical, "failures", "A peer process died or the network dropped",
        "`remote process exited or there was a network error`, connection closed by peer; the rank that failed first, by time or order",
        "open that rank's log first", "NVIDIA/nccl issues";
    SHM_EXHAUSTED, Critical, "failures", "Shared memory (/dev/shm) exhausted",
        "`posix_fallocate failed`, `Error while creating shared memory segment`",
        "--shm-size / --ipc=host, a larger /dev/shm (emptyDir medium: Memory)", "NVIDIA/nccl#342, #473";
    MEMLOCK_LIMIT, Critical, "failures", "Locked-memory limit too low for RDMA",
        "`ibv_reg_mr … failed`, `ibv_create_cq … Cannot allocate memory`",
        "ulimit -l unlimited, --ulimit memlock=-1", "NVIDIA/nccl-tests#206";
    ROCE_GID_SUSPECT, Critical, "failures", "RoCE GID index looks wrong",
        "RoCE device in use and status=12 completion errors right after init",
        "set NCCL_IB_GID_INDEX (check show_gids)", "NVIDIA/nccl#426";
    IB_COMPLETION_ERROR, Critical, "failures", "IB/RoCE completion or async errors",
        "`Got completion … status=…` / async port errors mid-run",
        "check the fabric / link flaps; NCCL_IB_TIMEOUT only for slow links", "NVIDIA/nccl#902, #2157";
    FABRIC_MANAGER, Critical, "failures", "NVSwitch fabric not initialized",
        "`system not yet initialized`, NVLS `Cuda failure 'invalid argument'` on NVSwitch systems",
        "run nvidia-fabricmanager matching the driver", "NVIDIA/nccl-tests#264";
    EFA_HUGEPAGE_FORK, Warning, "failures", "EFA huge pages and fork()",
        "`Cannot allocate memory` on fork with EFA",
        "FI_EFA_USE_HUGE_PAGE=0, or request hugepages-2Mi and mount them", "aws/aws-ofi-nccl#292, seed";
    COLLECTIVE_MISMATCH, Critical, "failures", "Ranks issued different collectives",
        "`collective mismatch error, local size X remote size Y`: an application bug, not the network",
        "check the training code for rank-divergent collectives; TORCH_DISTRIBUTED_DEBUG=DETAIL", "real logs";
    CUDA_KERNEL_LOAD_FAILED, Critical, "failures", "NCCL kernels cannot load",
        "`Cuda failure 'named symbol not found'` / `no kernel image is available`: NCCL build, CUDA runtime and driver do not match",
        "use an NCCL built for this GPU architecture and CUDA version", "real logs";
    NCCL_ERROR_UNWIND, Critical, "failures", "NCCL returned an error without a WARN",
        "an error-return chain (`file.cc:N -> code`) reaching init or a collective with no WARN line explaining it",
        "rerun with NCCL_DEBUG=INFO and NCCL_DEBUG_SUBSYS=ALL on the failing rank", "real logs";
    NCCL_WARN, Warning, "failures", "NCCL printed warnings",
        "any other `NCCL WARN` line, grouped by message shape with counts per rank", "—", "—";
    // Performance
    BUSBW_TCP_LEVEL, Critical, "performance", "Bus bandwidth at TCP level on an RDMA-capable platform",
        "multi-node busbw at the largest size ≤ 25 GB/s on an RDMA-capable instance: the fast network is not carrying the traffic",
        "see NET_SOCKET_FALLBACK / OFI_PROVIDER_NOT_EFA", "seed";
    BUSBW_BELOW_EXPECTED, Warning, "performance", "Bus bandwidth below the platform's expected band",
        "busbw at the largest size well below the platform's expected band",
        "check placement group, security group, NIC allocation", "seed; awsome-distributed-ai nccl-tests README";
    BUSBW_TWO_NODE_TREE, Info, "performance", "Two-node tree result can exceed line rate",
        "two-node run with the tree algorithm: busbw can exceed line rate, compare with NCCL_ALGO=Ring",
        "rerun with NCCL_ALGO=Ring or ≥ 3 nodes", "NVIDIA/nccl#812";
    NCCLTESTS_WRONG, Critical, "performance", "nccl-tests found wrong results",
        "non-zero #wrong / out-of-bounds values", "data corruption: check IOMMU, ACS, hardware", "nccl-tests";
    // UCX / NIXL
    UCX_TCP_FALLBACK, Critical, "ucx", "UCX moves inter-node data over TCP",
        "endpoint lanes to remote peers use tcp while an RDMA transport exists or should",
        "UCX_TLS=all (or include the RDMA transport), UCX_NET_DEVICES=all, request EFA/IB devices in the pod", "seed";
    UCX_NO_GPU_TRANSPORT, Warning, "ucx", "UCX has no GPU memory transport",
        "no cuda_copy/cuda_ipc/gdr_copy available, or `transport 'cuda*' is not available`",
        "include cuda in UCX_TLS, install gdrcopy, kv_buffer_device: cuda", "seed";
    UCX_TLS_RESTRICTED, Warning, "ucx", "UCX_TLS / UCX_NET_DEVICES exclude the fast path",
        "UCX_TLS / UCX_NET_DEVICES pin a subset that excludes the fast transport or device",
        "use all unless benchmarking", "seed; openucx/ucx#8808";
    UCX_DEVICE_UNAVAILABLE, Warning, "ucx", "A requested UCX device/transport is not available",
        "`device '…' is not available`, `transport '…' is not available`",
        "fix UCX_NET_DEVICES / UCX_TLS to what ucx_info -d lists", "openucx/ucx#2654, #4742";
    UCX_BAD_IFACE, Warning, "ucx", "UCX bound to a suspect interface",
        "UCX tcp/sockcm bound to docker0, lo, veth*", "set UCX_NET_DEVICES / UCX_TCP_IF", "openucx/ucx#9383";
    UCX_NO_AM_TRANSPORT, Critical, "ucx", "No UCX transport can reach the peer",
        "`no active messages transport to <peer>`, `Destination is unreachable` at endpoint creation",
        "add an AM-capable transport; widen UCX_NET_DEVICES", "real logs";
    UCX_INTRANODE_SLOW_PATH, Warning, "ucx", "Intra-node UCX traffic takes a slow path",
        "intra-node endpoint configs move data over tcp, *_am emulation, or NIC loopback instead of sm/cuda_ipc/NVLink",
        "include sm,cuda_ipc,cuda_copy in UCX_TLS; check NVLink/P2P", "real logs";
    UCX_EFA_NO_SRD, Warning, "ucx", "This UCX has no SRD transport for EFA",
        "rc/ud verbs interfaces fail to open on an EFA device (rdmap*, Operation not supported)",
        "use a UCX with EFA SRD support (1.19+)", "real logs";
    UCX_GPU_RDMA_EMULATED, Warning, "ucx", "GPU memory over the network is emulated",
        "a protocol table shows software emulation for cuda memory over the network",
        "check GPUDirect (peermem/DMA-BUF), UCX_TLS incl. cuda transports", "real logs";
    UCX_VERSION_MISMATCH, Critical, "ucx", "Application and loaded UCX differ",
        "`UCP version is incompatible, required: X, actual: Y`", "fix LD_LIBRARY_PATH / use the bundled UCX", "real logs";
    UCX_PEER_UNREACHABLE, Critical, "ucx", "UCX peer unreachable",
        "endpoint error callbacks `Destination is unreachable` / connection reset outside UCX ERROR lines",
        "check interfaces, firewalls / security group, UCX_NET_DEVICES", "real logs";
    UCX_BW_TCP_LEVEL, Warning, "ucx", "ucx_perftest bandwidth at TCP level",
        "ucx_perftest bandwidth at TCP level (< ~3 GB/s) between hosts with RDMA hardware",
        "name the RDMA device (mlx5_0:1) not the IPoIB netdev in UCX_NET_DEVICES", "real logs";
    NIXL_PEER_FAILED, Critical, "ucx", "NIXL KV-transfer peer unusable",
        "handshake failed (engine ID mismatch, handshake_setup_failed), remote agent metadata not found",
        "set VLLM_NIXL_SIDE_CHANNEL_HOST/port on every instance; check the peer's log for its crash", "real logs";
    UCX_ERROR, Critical, "ucx", "UCX reported errors", "any `UCX ERROR` line, grouped by message shape", "—", "—";
    UCX_TLS_EFA_NAME, Warning, "ucx", "UCX_TLS names `efa`, which is no UCX transport",
        "`UCX_TLS` containing `efa` (env echo, command lines) or `transport 'efa' is not available`: UCX's EFA transport is `srd`",
        "UCX_TLS=srd,… (UCX 1.19+) or UCX_TLS=all; with an older UCX use NIXL's LIBFABRIC backend on EFA", "openucx/ucx#10692";
    UCX_RDMA_COMPLETION_ERROR, Critical, "ucx", "RDMA completions fail under UCX/NIXL",
        "work completions with error in UCX/NIXL lines (`Transport retry count exceeded on mlx5_0:1`, `Work Request Flushed Error`, `Local protection error`, `Remote access error`, ib_mlx5_log.c completion errors), grouped by error with the device",
        "retry exceeded: check links/cables and the peer (ibstat, dmesg, switch counters); protection/access errors: memory registration (GPUDirect peermem/DMA-BUF, memlock) or a peer that freed its buffer; flushed: the QP already failed, find the first error", "openucx/ucx#5199, #5732, #9590";
    // Meta
    INSUFFICIENT_LOGGING, Info, "meta", "Logs too thin for some checks",
        "no NCCL INFO lines, or the subsystems needed for a rule are missing: which rules could not be checked",
        "rerun with NCCL_DEBUG=INFO and the NCCL_DEBUG_SUBSYS the finding names (INIT,NET,GRAPH,ENV), plus NCCL_TOPO_DUMP_FILE=… for topology checks", "—";
    PARSE_ERROR, Warning, "meta", "An input could not be read",
        "an input (or a part of one) that could not be read: truncated XML, binary, unknown format", "—", "—";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_indexes_by_discriminant() {
        for (i, r) in CATALOG.iter().enumerate() {
            assert_eq!(r.id as usize, i);
            assert_eq!(r.id.as_str().parse::<RuleId>(), Ok(r.id));
        }
        assert_eq!(RuleId::PARSE_ERROR.info().severity, Severity::Warning);
    }
}
