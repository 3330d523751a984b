use super::*;

/// Test lines live for the whole test run.
fn info(m: &str) -> &'static str {
    Box::leak(format!("h:1:1 [0] NCCL INFO {m}").into_boxed_str())
}

fn p(line: &str) -> NcclLine<'_> {
    parse_line(line).unwrap_or_else(|| panic!("no NCCL line: {line}"))
}

#[test]
fn header_and_launcher_prefixes() {
    let l =
        p("[1,0]<stdout>:test-nccl-efa-worker-0:21:21 [0] NCCL INFO Bootstrap : Using eth0:10.11.13.106<0>");
    assert_eq!(l.launcher.rank, Some(0));
    assert_eq!(l.header.host, Some("test-nccl-efa-worker-0"));
    assert_eq!(l.header.pid, Some(21));
    assert_eq!(l.header.cuda_dev, Some(0));
    assert_eq!(
        l.event,
        Event::Bootstrap { ifaces: vec![NetIface { index: None, name: "eth0", addr: "10.11.13.106" }] }
    );
    let l = p("1: p5-dy-gpu-3:47930:47930 [0] NCCL INFO NCCL version 2.26.2+cuda12.2");
    assert_eq!(l.launcher.rank, Some(1));
    assert_eq!(l.event, Event::Version { version: "2.26.2+cuda12.2" });
    let l = p("[default3]:node1:1:2 [3] NCCL INFO cudaDriverVersion 12040");
    assert_eq!(l.launcher.local_rank, Some(3));
    assert_eq!(l.event, Event::CudaDriver { version: 12040 });
    let l = p("worker-7: worker-7:100:200 [1] NCCL INFO Using network Socket");
    assert_eq!(l.launcher.host, Some("worker-7"));
    assert_eq!(l.event, Event::UsingNetwork { name: "Socket" });
    let l = p("(pid=21065) node:21065:21065 [0] NCCL INFO Bootstrap : Using [0]eth0:10.148.18.24<0>");
    assert_eq!(l.launcher.pid, Some(21065));
    let l = p("[2025-06-01 12:34:56] node1:5:6 [2] misc/socket.cc:50 NCCL WARN Net : Connection closed by remote peer");
    assert_eq!(l.level, Level::Warn);
    assert_eq!(l.launcher.timestamp, Some("2025-06-01 12:34:56"));
    assert_eq!(l.header.host, Some("node1"));
    assert_eq!(l.header.file, Some("misc/socket.cc"));
    assert_eq!(l.header.src_line, Some(50));
    let l = p("[rank12]:host:1:1 [4] NCCL INFO Using network IB");
    assert_eq!(l.launcher.rank, Some(12));
}

#[test]
fn warn_sites() {
    let l = p("algo-1:1:2 [0] int nccl_net_ofi_create(nccl_ofi_t **, int (*)(int)):459 NCCL WARN NET/OFI Couldn't open AV. RC: -22");
    assert_eq!(l.header.file, Some("int nccl_net_ofi_create(nccl_ofi_t **, int (*)(int))"));
    assert_eq!(l.header.src_line, Some(459));
    let l = p("[4] transport/net.cc:123 (ncclTransportP2pSetup) NCCL WARN something");
    assert_eq!(l.header.cuda_dev, Some(4));
    assert_eq!(l.header.file, Some("transport/net.cc"));
    assert_eq!(l.header.func, Some("ncclTransportP2pSetup"));
    let l = p("node:1:2 [0] 1234.5 ncclProxyProgress:99 NCCL TRACE progress");
    assert_eq!(l.level, Level::Trace);
    assert_eq!(l.header.func, Some("ncclProxyProgress"));
}

#[test]
fn bare_banner_and_ofi_test_program() {
    let l = p("[1,0]<stdout>:NCCL version 2.12.7+cuda11.4");
    assert_eq!(l.level, Level::Banner);
    assert_eq!(l.event, Event::Version { version: "2.12.7+cuda11.4" });
    let l = p("WARN: Function: find_ofi_provider Line: 543: NET/OFI Couldn't find any optimal provider");
    assert_eq!(l.level, Level::Warn);
    assert!(matches!(l.event, Event::Ofi(OfiEvent::NoProvider { .. })));
    assert!(parse_line("plain application output").is_none());
    assert!(parse_line("export NCCL_DEBUG=INFO").is_none());
}

#[test]
fn net_plugin_versions() {
    let cases = [
        ("NET/Plugin : No plugin found (libnccl-net.so).", PluginEvent::NotFound),
        ("NET/Plugin : No plugin found (libnccl-net.so), using internal implementation", PluginEvent::NotFound),
        ("NET/Plugin : Plugin load (libnccl-net.so) returned 2 : libnccl-net.so: cannot open shared object file: No such file or directory", PluginEvent::NotFound),
        ("NET/Plugin : Plugin load returned 11 : libnccl-net.so: undefined symbol: fi_x.", PluginEvent::LoadError),
        ("NET/Plugin : dlerror=libnccl-net.so: cannot open shared object file: No such file or directory No plugin found (libnccl-net.so), using internal implementation", PluginEvent::NotFound),
        ("NET/Plugin: Could not find: libnccl-net.so. Using internal network plugin.", PluginEvent::NotFound),
        ("NET/Plugin: Using internal network plugin.", PluginEvent::UsingInternal),
        ("NET/Plugin: Loaded net plugin Libfabric (v9)", PluginEvent::Loaded),
        ("NET/Plugin: Failed to find ncclCollNetPlugin_v5 symbol.", PluginEvent::Other),
        ("Successfully loaded external plugin /opt/aws-ofi-nccl/lib/libnccl-net.so", PluginEvent::Loaded),
        ("Initialized NET plugin Libfabric", PluginEvent::Initialized),
        ("Failed to initialize any NET plugin", PluginEvent::InitFailed),
    ];
    for (msg, want) in cases {
        let line = format!("h:1:1 [0] NCCL INFO {msg}");
        match p(&line).event {
            Event::Plugin { what, .. } => assert_eq!(what, want, "{msg}"),
            e => panic!("{msg}: {e:?}"),
        }
    }
    let l = p(
        "h:1:1 [0] NCCL INFO TUNER/Plugin: Failed to find ncclTunerPlugin_v2, using internal tuner instead.",
    );
    assert!(matches!(l.event, Event::Plugin { family: "TUNER", .. }));
}

#[test]
fn ib_and_socket_lists() {
    let l =
        p("h:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/RoCE [RO]; OOB eth0:10.0.0.1<0>");
    let Event::IbDevices { transport, devices, oob, relaxed_ordering } = l.event else { panic!() };
    assert_eq!(transport, "IB");
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[1].link_layer, "RoCE");
    assert!(relaxed_ordering);
    assert_eq!(oob.map(|o| o.name), Some("eth0"));
    let l = p("h:1:1 [0] NCCL INFO NET/IBext_v8 : Using [0]mlx5_0:1/IB/SHARP [1]mlx5_2:1/RoCE ; OOB ib0:10.0.0.1<0>");
    let Event::IbDevices { transport, devices, .. } = l.event else { panic!() };
    assert_eq!(transport, "IBext_v8");
    assert_eq!(devices[0].flags, Some("SHARP"));
    let l = p("h:1:1 [0] NCCL INFO NET/IB : Using [0]={[0] mlx5_0:1/IB, [1] mlx5_1:1/IB} [1]={[2] mlx5_2:1/IB} ; OOB eth0:1.2.3.4<0>");
    let Event::IbDevices { devices, .. } = l.event else { panic!() };
    assert_eq!(devices.len(), 3);
    assert_eq!(p("h:1:1 [0] NCCL INFO NET/IB : No device found.").event, Event::IbNoDevice);
    let l = p("h:1:1 [0] NCCL INFO NET/Socket : Using [0]ens3:172.31.1.2<0> [1]veth0:2a02:1::5<0>");
    let Event::SocketDevices { ifaces } = l.event else { panic!() };
    assert_eq!(ifaces.len(), 2);
    assert_eq!(ifaces[1].name, "veth0");
    assert_eq!(ifaces[1].addr, "2a02:1::5");
    let l = p("h:1:1 [0] NCCL INFO NET/Socket : Using [0]enp41s0f1:<0> [1]virbr0:<0>");
    let Event::SocketDevices { ifaces } = l.event else { panic!() };
    assert_eq!(ifaces[1].name, "virbr0");
}

#[test]
fn ofi_shapes() {
    let ofi = |m: &str| match p(info(&format!("NET/OFI {m}"))).event {
        Event::Ofi(o) => o,
        e => panic!("{e:?}"),
    };
    assert_eq!(
        ofi("Selected Provider is efa"),
        OfiEvent::Provider { provider: "efa", fabric: None, nics: None }
    );
    assert_eq!(
        ofi("Selected Provider is efa (found 4 nics)"),
        OfiEvent::Provider { provider: "efa", fabric: None, nics: Some(4) }
    );
    assert_eq!(
        ofi("Selected provider is efa, fabric is efa-direct (found 32 nics)"),
        OfiEvent::Provider { provider: "efa", fabric: Some("efa-direct"), nics: Some(32) }
    );
    assert_eq!(
        ofi("Selected Provider is verbs;ofi_rxm (found 2 nics)"),
        OfiEvent::Provider { provider: "verbs;ofi_rxm", fabric: None, nics: Some(2) }
    );
    assert_eq!(ofi("Using aws-ofi-nccl 1.5.0aws"), OfiEvent::PluginVersion { version: "1.5.0aws" });
    assert_eq!(
        ofi("Initializing aws-ofi-nccl 1.13.2-aws"),
        OfiEvent::PluginVersion { version: "1.13.2-aws" }
    );
    assert_eq!(ofi("Using Libfabric version 1.22"), OfiEvent::LibfabricVersion { version: "1.22" });
    assert_eq!(
        ofi("Running on p5.48xlarge platform, topology file /opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p5.48xl-topo.xml"),
        OfiEvent::Platform { instance: "p5.48xlarge", topo_file: Some("/opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p5.48xl-topo.xml") }
    );
    assert_eq!(
        ofi("Running on p4d.24xlarge platform, Setting NCCL_TOPO_FILE environment variable to /x/p4d.xml"),
        OfiEvent::Platform { instance: "p4d.24xlarge", topo_file: Some("/x/p4d.xml") }
    );
    assert!(matches!(ofi("Couldn't find any optimal provider"), OfiEvent::NoProvider { .. }));
    assert!(matches!(ofi("OFI fi_getinfo() call failed: No data available"), OfiEvent::NoProvider { .. }));
    assert_eq!(ofi("No NIC info for dev 0"), OfiEvent::NoNicInfo { dev: Some(0) });
    assert_eq!(
        ofi("NIC group 0 device #1 0000:10:1c.0"),
        OfiEvent::NicGroup { group: 0, device: 1, bus_id: "0000:10:1c.0" }
    );
    assert_eq!(
        ofi("Setting FI_EFA_FORK_SAFE environment variable to 1"),
        OfiEvent::EnvSet { name: "FI_EFA_FORK_SAFE", value: "1" }
    );
    assert_eq!(
        ofi("Setting NCCL_PROTO to \"simple\""),
        OfiEvent::EnvSet { name: "NCCL_PROTO", value: "simple" }
    );
    assert_eq!(
        ofi("Adding FI_EFA_FORK_SAFE=1 to environment"),
        OfiEvent::EnvSet { name: "FI_EFA_FORK_SAFE", value: "1" }
    );
}

#[test]
fn gdr_variants() {
    let ev = |m: &str| p(info(m)).event;
    assert_eq!(
        ev("NET/IB : GPU Direct RDMA Disabled for HCA 0 'mlx5_0' (no module)"),
        Event::GdrHca { enabled: false, hca: 0, name: "mlx5_0", reason: Some("no module") }
    );
    assert_eq!(
        ev("NET/IB : GPU Direct RDMA Enabled for HCA 1 'mlx5_1'"),
        Event::GdrHca { enabled: true, hca: 1, name: "mlx5_1", reason: None }
    );
    for (m, en, d, t) in [
        ("NET/IB : GPU Direct RDMA Enabled for GPU 0[0] / HCA 0 (distance 2 < 3), read 0", true, 2, 3),
        ("GPU Direct RDMA Disabled for GPU 18000 / HCA 0 (distance 5 > 4), read 0", false, 5, 4),
        ("GPU Direct RDMA Enabled for HCA 1b000 / HCA 0 (distance 4 <= 4), read 1", true, 4, 4),
        ("GPU Direct RDMA Enabled for GPU 3 / HCA 3 (distance 3 <= 4), read 1 mode Default", true, 3, 4),
        (
            "GPU Direct RDMA Enabled for GPU 0 (rank 0) - NET/IB/0 (distance 3 <= 4, read 1, mode Default)",
            true,
            3,
            4,
        ),
    ] {
        match ev(m) {
            Event::GdrGpu { enabled, distance, threshold, .. } => {
                assert_eq!((enabled, distance, threshold), (en, Some(d), Some(t)), "{m}")
            }
            e => panic!("{m}: {e:?}"),
        }
    }
}

#[test]
fn env_echo() {
    let ev = |m: &str| p(info(m)).event;
    assert_eq!(
        ev("NCCL_IB_TIMEOUT set by environment to 22."),
        Event::Env { name: "NCCL_IB_TIMEOUT", value: "22" }
    );
    assert_eq!(
        ev("NCCL_SOCKET_IFNAME set by environment to eth0"),
        Event::Env { name: "NCCL_SOCKET_IFNAME", value: "eth0" }
    );
    assert_eq!(
        ev("NCCL_NET_GDR_LEVEL set from environment to PHB"),
        Event::Env { name: "NCCL_NET_GDR_LEVEL", value: "PHB" }
    );
    assert_eq!(
        ev("NCCL_IB_HCA set to mlx5_0,mlx5_1"),
        Event::Env { name: "NCCL_IB_HCA", value: "mlx5_0,mlx5_1" }
    );
    assert!(matches!(ev("ENV NCCL_X is deprecated"), Event::EnvProblem { name: "NCCL_X", .. }));
}

#[test]
fn comm_lifecycle_versions() {
    let comm = |m: &str| match p(info(m)).event {
        Event::Comm(c) => c,
        e => panic!("{m}: {e:?}"),
    };
    let c = comm("comm 0x55d rank 3 nranks 8 cudaDev 3 nvmlDev 3 - Init COMPLETE");
    assert_eq!((c.rank, c.nranks, c.phase), (Some(3), Some(8), CommPhase::InitComplete));
    let c = comm("comm 0x7f rank 1 nranks 2 cudaDev 1 busId 1b000 - Init COMPLETE");
    assert_eq!(c.bus_id, Some("1b000"));
    let c = comm("comm 0x7f rank 1 nranks 2 cudaDev 1 busId 1b000 commId 0xabc - Init COMPLETE");
    assert_eq!(c.comm_id, Some("0xabc"));
    let c = comm("comm 0x7f rank 1 nranks 2 cudaDev 1 nvmlDev 1 busId 1b000 commId 0xabc - Init START");
    assert_eq!(c.phase, CommPhase::InitStart);
    let c = comm("ncclCommInitRank comm 0x7f rank 1 nranks 2 cudaDev 1 nvmlDev 1 busId 1b000 commId 0xabc - Init START");
    assert_eq!(c.api, Some("ncclCommInitRank"));
    let c = comm("ncclCommSplit comm 0x7f rank 0 nranks 4 cudaDev 0 nvmlDev 0 busId 18000 parent 0x1 splitCount 1 color 2 key 0- Init START");
    assert_eq!((c.api, c.parent, c.phase), (Some("ncclCommSplit"), Some("0x1"), CommPhase::InitStart));
    let c = comm("[Rank 5] ncclCommInitRankConfig comm 0x7f rank 5 nranks 16 cudaDev 5 nvmlDev 5 busId 9a000 commId 0x1 - Init START");
    assert_eq!((c.api, c.rank), (Some("ncclCommInitRankConfig"), Some(5)));
    let c = comm("comm 0x7f rank 0 nranks 8 cudaDev 0 busId 18000 - Destroy COMPLETE");
    assert_eq!(c.phase, CommPhase::DestroyComplete);
    assert_eq!(
        p("h:1:1 [0] NCCL INFO comm 0x7f rank 0 nRanks 16 nNodes 2 localRanks 8 localRank 0 MNNVL 0").event,
        Event::CommNodes { comm: "0x7f", rank: 0, nranks: 16, nnodes: 2, local_ranks: 8 }
    );
}

#[test]
fn rings_and_connections() {
    let ev = |m: &str| p(info(m)).event;
    assert_eq!(
        ev("Channel 00/02 :    0   1   2   3"),
        Event::RingDump { channel: 0, nchannels: Some(2), ranks: vec![0, 1, 2, 3] }
    );
    assert_eq!(
        ev("Channel 00/24 : 0 1 2 3 ..."),
        Event::RingDump { channel: 0, nchannels: Some(24), ranks: vec![0, 1, 2, 3] }
    );
    assert_eq!(
        ev("Ring 00 : 0 1 2 3"),
        Event::RingDump { channel: 0, nchannels: None, ranks: vec![0, 1, 2, 3] }
    );
    assert_eq!(ev("Ring 01 : 3 -> 0 -> 1"), Event::RingLink { channel: 1, prev: 3, rank: 0, next: 1 });
    let conn = |m: &str| match ev(m) {
        Event::Connection(c) => c,
        e => panic!("{m}: {e:?}"),
    };
    let c = conn("Channel 00/0 : 7[7] -> 8[0] [send] via NET/IB/0/GDRDMA");
    assert_eq!((c.from_rank, c.to_rank, c.direction), (7, 8, Some(Direction::Send)));
    assert_eq!(c.transport, Transport::Net { name: "IB", dev: 0, proxy: None, gdr: true, shared: false });
    let c = conn("Channel 01/0 : 1[0] -> 0[0] [receive] via NET/AWS Libfabric/0/GDRDMA");
    assert_eq!(
        c.transport,
        Transport::Net { name: "AWS Libfabric", dev: 0, proxy: None, gdr: true, shared: false }
    );
    let c = conn("Channel 02/1 : 3[3] -> 11[3] [send] via NET/IB/2(1)/GDRDMA/Shared");
    assert_eq!(c.transport, Transport::Net { name: "IB", dev: 2, proxy: Some(1), gdr: true, shared: true });
    let c = conn("Channel 00/0 : 0[0] -> 1[1] via P2P/IPC/read");
    assert_eq!(c.transport, Transport::P2p { mode: "IPC/read" });
    let c = conn("Ring 00 : 35 -> 34 [send] via NET/Socket/0");
    assert_eq!(
        c.transport,
        Transport::Net { name: "Socket", dev: 0, proxy: None, gdr: false, shared: false }
    );
    let c = conn("Ring 00 : 0[18000] -> 1[1b000] via direct shared memory");
    assert!(matches!(c.transport, Transport::Shm { .. }));
    let c = conn("Channel 00 : 3[84000] -> 4[2000] [receive] via NET/Socket/0");
    assert_eq!(c.conn_index, None);
    let c = conn("Channel 03/0 : 0[0] -> 1[0] [send] via NET/IB/0/GDRDMA(PCI)");
    assert!(matches!(c.transport, Transport::Net { gdr: true, .. }));
    let c = conn("CollNet 00/0 : 0 [send] via COLLNET/SHARP/0/GDRDMA");
    let _ = c;
}

#[test]
fn unwind_and_misc() {
    let ev = |m: &str| p(info(m)).event;
    assert_eq!(
        ev("transport/net.cc:683 -> 6"),
        Event::ErrorUnwind { file: "transport/net.cc", line: 683, func: None, code: 6, thread: None }
    );
    assert_eq!(
        ev("group.cc:64 -> 2 [Async thread]"),
        Event::ErrorUnwind { file: "group.cc", line: 64, func: None, code: 2, thread: Some("Async thread") }
    );
    assert_eq!(
        ev("init.cc:2511 (ncclCommInitRankDev) -> 3"),
        Event::ErrorUnwind {
            file: "init.cc",
            line: 2511,
            func: Some("ncclCommInitRankDev"),
            code: 3,
            thread: None
        }
    );
    assert_eq!(
        ev("misc/socket.cc:564 -> 2 (Connection refused)"),
        Event::ErrorUnwind { file: "misc/socket.cc", line: 564, func: None, code: 2, thread: None }
    );
    assert_eq!(ev("Connected all rings"), Event::Connected { what: "all rings" });
    assert_eq!(
        ev("NVLS multicast support is not available on dev 4"),
        Event::Nvls { available: false, dev: Some(4) }
    );
    assert_eq!(
        ev("16 coll channels, 0 collnet channels, 16 nvls channels, 32 p2p channels, 32 p2p channels per peer"),
        Event::ChannelCounts { coll: 16, collnet: Some(0), nvls: Some(16), p2p: Some(32) }
    );
    assert!(matches!(ev("=== System : maxBw 24.0 totalBw 240.0 ==="), Event::Topology { .. }));
    assert!(matches!(ev("              + PCI[24.0] - GPU/0-1b000 (0)"), Event::Topology { .. }));
    assert!(matches!(
        ev("NET/0 :GPU/B000 (4/1.250000/PHB) CPU/0 (2/1.250000/PHB) NET/0 (0/5000.000000/LOC)"),
        Event::Topology { .. }
    ));
    assert_eq!(ev("Setting affinity for GPU 0 to ffff"), Event::Other);
}

#[test]
fn hostile_never_panics() {
    for l in [
        "NCCL INFO",
        "NCCL WARN ",
        "x:1:2 [99999999999999999999] NCCL INFO comm 0x1 rank 99999999999 nranks -1 - Init COMPLETE",
        "h:1:1 [0] NCCL INFO Channel 99999999999/0 : 1[0] -> 2[0] via NET/",
        "h:1:1 [0] NCCL INFO Channel 00/0 : 1 -> 2 via NET/x/99999999999999",
        "NCCL version ",
        "NCCL version 2",
        "h:1:1 [0] :99999999999 NCCL WARN x",
        "h:1:1 [0] NCCL INFO NET/IB : Using [0]",
        "h:1:1 [0] NCCL INFO comm - Init COMPLETE",
        "é NCCL INFO é",
    ] {
        let _ = parse_line(l);
    }
}

#[test]
fn nccl_2_1_lines_without_marker() {
    let l = p("dgj101:14560:14560 [0] misc/ibvwrap.cu:269 WARN Call to ibv_create_qp failed");
    assert_eq!(l.level, Level::Warn);
    assert_eq!(l.header.file, Some("misc/ibvwrap.cu"));
    assert_eq!(l.header.src_line, Some(269));
    assert_eq!(l.message, "Call to ibv_create_qp failed");
    let l = p("dgj101:14560:14560 [0] INFO include/net.h:28 -> 2 [Net]");
    assert_eq!(l.level, Level::Info);
    assert_eq!(
        l.event,
        Event::ErrorUnwind { file: "include/net.h", line: 28, func: None, code: 2, thread: Some("Net") }
    );
    assert!(parse_line("2024-01-01 INFO starting worker").is_none());
}

/// One line per version variant of ../shared/spec/nccl-log-format.md not covered above.
#[test]
fn spec_version_variants() {
    let ev = |m: &str| p(info(m)).event;
    // §4 bootstrap, 2.4–2.7 indexed list and 2.24+ OOB net device.
    assert_eq!(
        ev("Bootstrap : Using [0]eth0:10.0.0.1<0> [1]ib0:10.1.0.1<0>"),
        Event::Bootstrap {
            ifaces: vec![
                NetIface { index: Some(0), name: "eth0", addr: "10.0.0.1" },
                NetIface { index: Some(1), name: "ib0", addr: "10.1.0.1" }
            ]
        }
    );
    assert_eq!(
        ev("Bootstrap: Using mlx5_0:1"),
        Event::Bootstrap { ifaces: vec![NetIface { index: None, name: "mlx5_0", addr: "1" }] }
    );
    // §5 2.3 network names.
    assert_eq!(ev("Using internal Network Socket"), Event::UsingNetwork { name: "Socket" });
    assert_eq!(ev("Using network AWS Libfabric"), Event::UsingNetwork { name: "AWS Libfabric" });
    // §6 2.29+ rail/plane and UNSPECIFIED link layer.
    let Event::IbDevices { devices, .. } =
        ev("NET/IB : Using [0]mlx5_0:1:0/IB [1]mlx5_1:1::1/UNSPECIFIED [RO]; OOB eth0:10.0.0.1<0>")
    else {
        panic!()
    };
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[1].link_layer, "UNSPECIFIED");
    // §9 2.3 ring connections without direction, P2P/SHM generations.
    let Event::Connection(c) = ev("Ring 00 : 0 -> 1 via NET/IB/0") else { panic!() };
    assert_eq!((c.direction, c.to_rank), (None, 1));
    for (m, want) in [
        ("Channel 00/0 : 0[0] -> 1[1] via P2P/direct pointer/read", "direct pointer/read"),
        ("Channel 00/0 : 0[0] -> 1[1] via P2P/CUMEM/read", "CUMEM/read"),
        ("Channel 00/0 : 0[0] -> 1[1] via P2P/MNNVL", "MNNVL"),
    ] {
        let Event::Connection(c) = ev(m) else { panic!("{m}") };
        assert_eq!(c.transport, Transport::P2p { mode: want });
    }
    let Event::Connection(c) = ev("Channel 00/0 : 0[0] -> 1[1] via SHM/direct") else { panic!() };
    assert_eq!(c.transport, Transport::Shm { mode: "direct" });
    // §9 2.5–2.7 trees, §10 topology header generations, Pattern with `speed` (≤ 2.13).
    assert!(matches!(ev("Trees [0] -1->0->1|1->0->-1/-1/-1"), Event::Trees { .. }));
    assert!(matches!(ev("=== System : maxWidth 24 maxSpeed 24 ==="), Event::Topology { .. }));
    assert!(matches!(ev("CPU/0-0 (1/1/1)"), Event::Topology { .. }));
    assert!(matches!(ev("GPU/0-1b000 (0)"), Event::Topology { .. }));
    assert_eq!(
        ev("Pattern 4, crossNic 0, nChannels 1, speed 1.200000/1.200000, type LOC/PHB, sameChannels 1"),
        Event::Pattern { pattern: 4, nchannels: Some(1), kind: Some("LOC/PHB") }
    );
    // §8 2.4 comm line with nvmlDev, Abort.
    let Event::Comm(c) = ev("comm 0x7f rank 2 nranks 4 cudaDev 2 nvmlDev 2 - Init COMPLETE") else {
        panic!()
    };
    assert_eq!((c.nvml_dev, c.bus_id), (Some(2), None));
    let Event::Comm(c) = ev("comm 0x7f rank 2 nranks 4 cudaDev 2 busId 3b000 - Abort COMPLETE") else {
        panic!()
    };
    assert_eq!(c.phase, CommPhase::AbortComplete);
    // §13 aws-ofi-nccl ≥ 1.18 platform line.
    assert_eq!(
        ev("NET/OFI Plugin selected platform: AWS"),
        Event::Ofi(OfiEvent::Platform { instance: "AWS", topo_file: None })
    );
    // CALL lines (2.13+) have no [dev].
    let l = p("node1:100:100 NCCL CALL ncclAllReduce(0x1,0x2,1024,7,0,0x3,0x4)");
    assert_eq!((l.level, l.header.host, l.header.cuda_dev), (Level::Call, Some("node1"), None));
    // 2.29+ VERSION and git version lines, timestamped.
    let l = p("[2025-06-01 12:00:00] node1:1:1 [0] NCCL INFO NCCL version 2.29.1+cuda13.0");
    assert_eq!(l.event, Event::Version { version: "2.29.1+cuda13.0" });
    assert_eq!(l.launcher.timestamp, Some("2025-06-01 12:00:00"));
}
