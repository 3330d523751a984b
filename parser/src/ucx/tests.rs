//! One test per line shape and generation (real lines from ../shared/corpus/ucx and the spec).
use super::*;

fn ev(text: &str) -> UcxEvent<'_> {
    parse_line(text).event
}

fn lanes(l: &[Lane<'_>]) -> Vec<String> {
    l.iter().map(|l| format!("{}/{}", l.transport, l.device)).collect()
}

#[test]
fn standard_line_v1_11_with_indent() {
    let l = parse_line(
        "[1716920651.160128] [gpu1:2592419:0]      ucp_worker.c:1783 UCX  INFO    ep_cfg[4]: tag(tcp/ib0 tcp/docker0)",
    );
    assert_eq!(l.source, Source::Ucx);
    assert_eq!(l.level, Some(UcxLevel::Info));
    assert_eq!(l.header.host, Some("gpu1"));
    assert_eq!(l.header.pid, Some(2592419));
    assert_eq!(l.header.thread, Some("0"));
    assert_eq!(l.header.file, Some("ucp_worker.c"));
    assert_eq!(l.header.line, Some(1783));
    assert_eq!(l.message, "ep_cfg[4]: tag(tcp/ib0 tcp/docker0)");
    let UcxEvent::EpConfig(c) = l.event else { panic!("{:?}", l.event) };
    assert_eq!((c.scope, c.index, c.context), (Scope::Unknown, 4, None));
    assert_eq!(c.features[0].name, "tag");
    assert_eq!(lanes(&c.features[0].lanes), ["tcp/ib0", "tcp/docker0"]);
}

#[test]
fn padded_pid_and_async_thread() {
    let l = parse_line("[1754062805.042276] [soul01:1049 :0]     ucp_context.c:2339 UCX  INFO  Version 1.19.0 (loaded from /lib/libucp.so.0)");
    assert_eq!((l.header.host, l.header.pid), (Some("soul01"), Some(1049)));
    assert!(matches!(l.event, UcxEvent::Version { version: "1.19.0" }));
    let l = parse_line("[1744331142.029752] [ccw-gpu-51:2802612:a]      ucp_worker.c:1903 UCX  DEBUG x");
    assert_eq!((l.header.thread, l.level), (Some("a"), Some(UcxLevel::Debug)));
}

#[test]
fn all_levels() {
    for (w, lv) in [
        ("FATAL", UcxLevel::Fatal),
        ("ERROR", UcxLevel::Error),
        ("WARN", UcxLevel::Warn),
        ("DIAG", UcxLevel::Diag),
        ("INFO", UcxLevel::Info),
        ("DEBUG", UcxLevel::Debug),
        ("TRACE", UcxLevel::Trace),
        ("POLL", UcxLevel::TraceMore),
    ] {
        let text = format!("[1700000000.123456] [h:1:0] a.c:1 UCX  {w:<5} m");
        let l = parse_line(&text);
        assert_eq!(l.level, Some(lv), "{w}");
        assert_eq!(l.message, "m");
    }
}

#[test]
fn old_generation_and_bare_prefix() {
    let l = parse_line("[1556608533.301227] [jazz30:121829:0]         wireup.c:825  UCX  INFO  ep_cfg[1]: tag(self/self knem/knem);");
    let UcxEvent::EpConfig(c) = l.event else { panic!() };
    assert_eq!(lanes(&c.features[0].lanes), ["self/self", "knem/knem"]);
    let l = parse_line("ucp_worker.c:1784 UCX  INFO    0x2d96740 self cfg#1tag(sysv/memory cma/memory cuda_copy/cuda) rma(sysv/memory)");
    assert_eq!(l.level, Some(UcxLevel::Info));
    let UcxEvent::EpConfig(c) = l.event else { panic!() };
    assert_eq!((c.context, c.scope, c.index), (Some("0x2d96740"), Scope::SelfEp, 1));
    assert_eq!(c.features.len(), 2);
    assert_eq!(lanes(&c.features[0].lanes), ["sysv/memory", "cma/memory", "cuda_copy/cuda"]);
}

#[test]
fn v1_15_cfg_line_and_prefix_stripped() {
    let l = parse_line("[1765333153.178129] [g340:1586361:2]      ucp_worker.c:1912 UCX  INFO    ucp_context_0 intra-node cfg#2 rma_am(tcp/eth1)  amo_am(tcp/eth1)  am(tcp/eth1 tcp/eth5 cuda_ipc/cuda)  ka(tcp/eth1)");
    let UcxEvent::EpConfig(c) = l.event else { panic!() };
    assert_eq!((c.context, c.scope, c.index), (Some("ucp_context_0"), Scope::IntraNode, 2));
    let names: Vec<&str> = c.features.iter().map(|f| f.name).collect();
    assert_eq!(names, ["rma_am", "amo_am", "am", "ka"]);
    assert_eq!(lanes(&c.features[2].lanes), ["tcp/eth1", "tcp/eth5", "cuda_ipc/cuda"]);
    let UcxEvent::EpConfig(c) =
        ev("ucp_context_0 inter-node cfg#2 rma_am(tcp/eth1) amo_am(tcp/eth1) am(tcp/eth1) ka(tcp/eth1)")
    else {
        panic!()
    };
    assert_eq!(c.scope, Scope::InterNode);
    let UcxEvent::EpConfig(c) = ev("ep_cfg[0]:") else { panic!() };
    assert!(c.features.is_empty());
    let UcxEvent::EpConfig(c) = ev("ep_cfg[1]: rma(rc_mlx5/mlx5_0:1); amo(rc_mlx5/mlx5_0:1);") else {
        panic!()
    };
    assert_eq!(c.features.len(), 2);
}

#[test]
fn env_and_unused_env() {
    let UcxEvent::EnvVars { vars } =
        ev("parser.c:2368 UCX  INFO  UCX_* env variables: UCX_PROTO_INFO=y UCX_LOG_LEVEL=debug UCX_TLS=cuda_ipc,cuda_copy,tcp")
    else {
        panic!()
    };
    assert_eq!(vars[2], ("UCX_TLS", "cuda_ipc,cuda_copy,tcp"));
    let UcxEvent::UnusedEnv { names } = ev("[1568398956.373516] [hsw210:25069:0]         parser.c:1568 UCX  WARN  unused env variable: UCX_PATH (set UCX_WARN_UNUSED_ENV_VARS=n to suppress this warning)") else {
        panic!()
    };
    assert_eq!(names, ["UCX_PATH"]);
}

#[test]
fn not_available() {
    let UcxEvent::TransportUnavailable { names, available } = ev("[1746690477.974497] [llm206:611  :0]     ucp_context.c:1268 UCX  WARN  transports 'cuda_ipc','cuda_copy' are not available, please use one or more of: mm, posix, self, shm, sm, sysv, tcp") else {
        panic!()
    };
    assert_eq!(names, ["cuda_ipc", "cuda_copy"]);
    assert_eq!(available.len(), 7);
    let UcxEvent::TransportUnavailable { names, .. } = ev("ucp_context.c:1323 UCX  WARN  transport 'efa' is not available, please use one or more of: cma, srd, tcp") else {
        panic!()
    };
    assert_eq!(names, ["efa"]);
    let UcxEvent::DeviceUnavailable { dev_type, name, available } = ev("> ucp_context.c:1321 UCX  WARN  network device 'mlx5_bond_0:1' is not available, please use one or more of: 'bond0'(tcp), 'lo'(tcp)") else {
        panic!()
    };
    assert_eq!((dev_type, name), (Some("network"), "mlx5_bond_0:1"));
    assert_eq!(available, ["bond0'(tcp)", "lo'(tcp)"]);
}

#[test]
fn no_am_transport() {
    let UcxEvent::NoTransport { what, peer, reasons } = ev("[1750835683.514002] [TENCENT64:1392 :0]          select.c:649  UCX  ERROR   no active messages transport to <no debug data>: rc_verbs/mlx5_bond_1:1 - Destination is unreachable, rc_mlx5/mlx5_bond_1:1 - Destination is unreachable") else {
        panic!()
    };
    assert_eq!((what, peer), ("active messages", "<no debug data>"));
    assert_eq!(
        reasons,
        [
            "rc_verbs/mlx5_bond_1:1 - Destination is unreachable",
            "rc_mlx5/mlx5_bond_1:1 - Destination is unreachable"
        ]
    );
    let UcxEvent::NoTransport { what, .. } = ev("[1554831347.602987] [abc:48104:1]      wireup_ep.c:467  UCX  ERROR no supported sockaddr auxiliary transports found for mlx5_4:1") else {
        panic!()
    };
    assert_eq!(what, "sockaddr auxiliary");
}

#[test]
fn versions() {
    assert!(matches!(ev("[1645557799.919658] [partita:15077:0]     ucp_context.c:1779 UCX  INFO  UCP version is 1.12 (release 0)"), UcxEvent::Version { version: "1.12" }));
    assert!(matches!(
        ev("[1745243850.701871] [w-1:838783:0]     ucp_context.c:1774 UCX  WARN  UCP version is incompatible, required: 1.18, actual: 1.12 (release 1)"),
        UcxEvent::VersionIncompatible { required: "1.18", actual: "1.12" }
    ));
    assert!(matches!(ev("# UCT version=1.12.0 revision d367332"), UcxEvent::Version { version: "1.12.0" }));
    assert!(matches!(ev("# Library version: 1.15.0"), UcxEvent::Version { version: "1.15.0" }));
    assert!(matches!(ev("Library version: 1.20.0"), UcxEvent::Version { version: "1.20.0" }));
    assert!(matches!(ev("# Version 1.13.0"), UcxEvent::Version { version: "1.13.0" }));
}

#[test]
fn proto_tables_both_forms() {
    let t = "[1769083945.891317] [local-cluster-10:1768445:0]   | ucp_context_0 intra-node cfg#1 | remote memory write by ucp_put* from host memory to cuda/dev[1]    |";
    let UcxEvent::ProtoHeader { context, scope, operation } = ev(t) else { panic!() };
    assert_eq!((context, scope), (Some("ucp_context_0"), Scope::IntraNode));
    assert_eq!(operation, "remote memory write by ucp_put* from host memory to cuda/dev[1]");
    let t = "[1769083945.891318] [local-cluster-10:1768445:0]   |                3371787875..inf | zero-copy    | 72% on rc_mlx5/mlx5_2:1 and 28% on dc_mlx5/mlx5_3:1 |";
    let UcxEvent::ProtoRow { range, protocol, lanes: l, emulated } = ev(t) else { panic!() };
    assert_eq!((range, protocol, emulated), ("3371787875..inf", "zero-copy", false));
    assert_eq!(lanes(&l), ["rc_mlx5/mlx5_2:1", "dc_mlx5/mlx5_3:1"]);
    let t = "[1767930429.284906] [mngc-001:13245:0]   |                          0..2K | short                              | rc_mlx5/mlx5_0:1/path0                         |";
    let UcxEvent::ProtoRow { lanes: l, .. } = ev(t) else { panic!() };
    assert_eq!(lanes(&l), ["rc_mlx5/mlx5_0:1"]);
    let t = "[1645019897.519920] [vulcan04:13202:0]     proto_debug.c:406  UCX  INFO  | mpi ep_cfg[3] | tagged message by ucp_tag_send*() from host memory           |";
    assert!(matches!(ev(t), UcxEvent::ProtoHeader { scope: Scope::Unknown, context: Some("mpi"), .. }));
    let t = "[1700000000.123456] [h:1:0]   |    0..inf | software emulation | srd/rdmap0:1 |";
    assert!(matches!(ev(t), UcxEvent::ProtoRow { emulated: true, .. }));
    assert!(matches!(ev("[1733467238.117396] [node223:4164284:0]   +-------+-----+"), UcxEvent::Other));
}

#[test]
fn ucx_info_with_and_without_hash() {
    assert!(matches!(ev("#      Transport: ud_verbs"), UcxEvent::InfoTransport { name: "ud_verbs" }));
    assert!(matches!(ev("#         Device: rdmap0s6:1"), UcxEvent::InfoDevice { name: "rdmap0s6:1" }));
    assert!(matches!(ev("      Transport: tcp"), UcxEvent::InfoTransport { name: "tcp" }));
    assert!(matches!(ev("#   Device: virbr0"), UcxEvent::InfoDevice { name: "virbr0" }));
    assert!(matches!(ev("# Memory domain: ib/mlx5_0"), UcxEvent::InfoMemoryDomain { name: "ib/mlx5_0" }));
    assert!(matches!(ev("#   < failed to open interface >"), UcxEvent::InfoFailedInterface));
    assert!(matches!(ev("#  System device: rdmap0s6 (1)"), UcxEvent::Other));
    assert!(is_info_line("#      Transport: rc_mlx5"));
    assert!(!is_info_line("      Transport: rc_mlx5"));
    assert!(!is_info_line("Transport: x"));
}

#[test]
fn perftest_rows() {
    let UcxEvent::PerfRow { is_final, values } =
        ev("Final:                  1000      0.240  1675.942  1671.351    46615.58   46743.62         597         598")
    else {
        panic!()
    };
    assert!(is_final);
    assert_eq!(values.len(), 8);
    assert_eq!(values[5], 46743.62);
    assert!(matches!(
        ev("[thread 0]               622      0.240  1668.561"),
        UcxEvent::PerfRow { is_final: false, .. }
    ));
    assert!(matches!(
        ev("|              |              |       overhead (usec)        |   bandwidth (MB/s)  |"),
        UcxEvent::PerfHeader { bandwidth: true }
    ));
}

#[test]
fn nixl_vllm_ucxpy_errors() {
    assert!(matches!(
        ev("2025-04-25T06:44:25.860Z ERROR client._set_errored: nixlBackendError('NIXL_ERR_BACKEND')"),
        UcxEvent::Nixl { error: NixlError::Backend, .. }
    ));
    let l = parse_line("E0721 08:06:26.781179    4330 nixl_agent.cpp:866] createXferReq: metadata for remote agent 'def7' not found");
    assert_eq!(
        (l.source, l.level, l.header.pid, l.header.file),
        (Source::NixlGlog, Some(UcxLevel::Error), Some(4330), Some("nixl_agent.cpp"))
    );
    assert!(matches!(l.event, UcxEvent::Nixl { error: NixlError::MetadataNotFound, detail: "def7" }));
    assert!(matches!(ev("(Worker_TP0_EP0 pid=865) ERROR 05-01 15:00:23 [nixl_connector.py:1263] NIXL transfer failure: handshake_setup_failed | Context: {}"), UcxEvent::Nixl { error: NixlError::Handshake, .. }));
    assert!(matches!(ev("W0308 12:44:08.813375  183991 ucx_utils.cpp:71] Unexpected UCX error: Destination is unreachable"), UcxEvent::Nixl { error: NixlError::UnexpectedUcxError, detail: "Destination is unreachable" }));
    assert!(matches!(
        ev("E ucx_utils.cpp:592  VRAM memory is detected as host by UCX."),
        UcxEvent::Nixl { error: NixlError::VramAsHost, .. }
    ));
    let l = parse_line("[1662343841.790321] [gpu12.cluster:3241] UCXPY  DEBUG Error callback for endpoint 0x2b492843d3c8 called with status -6: Destination is unreachable");
    assert_eq!((l.source, l.header.host, l.header.pid), (Source::UcxPy, Some("gpu12.cluster"), Some(3241)));
    assert!(matches!(l.event, UcxEvent::EndpointError { status: "Destination is unreachable" }));
    assert!(matches!(ev("I0214 02:57:25.928838      25 nixl_plugin_manager.cpp:461] Discovered and loaded backend plugin: LIBFABRIC"), UcxEvent::NixlBackend { name: "LIBFABRIC" }));
    assert!(matches!(ev("Backend UCX was instantiated"), UcxEvent::NixlBackend { name: "UCX" }));
    assert!(matches!(
        ev("[t-1:838783:0:838783] Caught signal 11 (Segmentation fault: x)"),
        UcxEvent::CaughtSignal { signal: 11 }
    ));
}

#[test]
fn launcher_and_markdown_damage() {
    let t = "Wed Jun 26 22:35:41 2019[1,273]<stdout>:[1561577741.153557] [clx-orion-058:21759:0]         select.c:401  UCX  ERROR no active messages transport to <no debug data>: tcp/ens1f0 - Destination is unreachableWed Jun 26 22:35:41 2019[1,299]<stderr>:[clx-orio";
    let l = parse_line(t);
    assert_eq!((l.header.host, l.level, l.glued), (Some("clx-orion-058"), Some(UcxLevel::Error), true));
    let UcxEvent::NoTransport { reasons, .. } = l.event else { panic!() };
    assert_eq!(reasons, ["tcp/ens1f0 - Destination is unreachable"]);
    let t = r"*1765457011.052824\] \[nvl72119-T17:1222683:0\]      ucp_device.c:415  UCX  ERROR failed to select lane for local device GPU0**<br>**\[1765457011.052846\] \[nvl72119-T17:1222683:0\]      ucp_device.c:593  UCX  ERROR failed to create handle:";
    let l = parse_line(t);
    assert_eq!(
        (l.header.host, l.header.pid, l.level),
        (Some("nvl72119-T17"), Some(1222683), Some(UcxLevel::Error))
    );
    assert_eq!(l.message, "failed to select lane for local device GPU0");
    assert!(l.glued);
    let UcxEvent::EpConfig(c) = ev(r"ep\_cfg[0]: tag(rc\_mlx5/mlx5\_0:1)").clone() else {
        // markdown-escaped `ep\_cfg` is not recognised as a config line; that is acceptable
        return;
    };
    assert_eq!(unescape(c.features[0].lanes[0].transport), "rc_mlx5");
}

#[test]
fn serializes() {
    let l = parse_line(
        "[1716920651.160128] [gpu1:2592419:0]      ucp_worker.c:1783 UCX  INFO    ep_cfg[4]: tag(tcp/ib0)",
    );
    let j = serde_json::to_value(&l).unwrap();
    assert_eq!(j["event"]["kind"], "ep_config");
    assert_eq!(j["event"]["features"][0]["lanes"][0]["device"], "ib0");
    assert_eq!(j["level"], "INFO");
}

/// Every file of the shared UCX corpus parses line by line without a panic.
#[test]
fn corpus_files_do_not_panic() {
    let Some(corpus) = crate::test_corpus("corpus_files_do_not_panic") else { return };
    let Ok(entries) = std::fs::read_dir(corpus.join("ucx")) else { return };
    let mut n = 0;
    for e in entries.flatten() {
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            let _ = parse_line(line);
            let _ = is_info_line(line);
        }
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn markdown_escaped_ep_cfg_and_cfg_name() {
    let UcxEvent::EpConfig(c) = ev(
        r"\[1716920651.160128\] \[gpu1:2592419:0\]      ucp\_worker.c:1783 UCX  INFO    ep\_cfg\[4\]: tag(tcp/ib0 tcp/docker0)",
    ) else {
        panic!()
    };
    assert_eq!((c.scope, c.index), (Scope::Unknown, 4));
    assert_eq!(lanes(&c.features[0].lanes), ["tcp/ib0", "tcp/docker0"]);
    let UcxEvent::EpConfig(c) =
        ev(r"ucp\_context\_0 inter-node cfg\#2 rma\_am(tcp/eth1)  am(rc\_mlx5/mlx5\_0:1)")
    else {
        panic!()
    };
    assert_eq!((c.scope, c.index), (Scope::InterNode, 2));
    assert_eq!(unescape(c.features[0].name), "rma_am");
    assert_eq!(unescape(c.features[1].lanes[0].transport), "rc_mlx5");
}

#[test]
fn debug_lane_lines_and_ucx_info_e() {
    let l = parse_line("[1716920651.160140] [gpu1:2592419:0]          wireup.c:1215 UCX  DEBUG   ep 0x145dc3c3f180: lane[0]:  3:tcp/ib0.0 md[0]               -> addr[1].md[0]/tcp/sysdev[255] rma_bw#0 am am_bw#0");
    let UcxEvent::LaneConfig(c) = l.event else { panic!("{:?}", l.event) };
    assert_eq!(c.ep, Some("0x145dc3c3f180"));
    assert_eq!((c.index, c.lane.transport, c.lane.device), (0, "tcp", "ib0"));
    assert_eq!(c.remote_component, Some("tcp"));
    assert_eq!(c.flags, ["rma_bw#0", "am", "am_bw#0"]);
    // The spec's rc_mlx5 shape (port in the device name, path index after the dot).
    let UcxEvent::LaneConfig(c) =
        ev("lane[1]:  3:rc_mlx5/mlx5_0:1.0 md[2]          -> md[2]/ib/sysdev[255] rma_bw#0 am am_bw#0")
    else {
        panic!()
    };
    assert_eq!((c.lane.transport, c.lane.device, c.remote_component), ("rc_mlx5", "mlx5_0:1", Some("ib")));
    // ucx_info -e, '#' stripped; a segment size before the flags.
    let UcxEvent::LaneConfig(c) = ev("                 lane[1]:  3:xpmem/memory.0 md[3]          -> md[3]/xpmem/sysdev[255] [seg 8192] rkey_ptr") else {
        panic!()
    };
    assert_eq!((c.lane.transport, c.lane.device), ("xpmem", "memory"));
    assert_eq!(c.flags, ["rkey_ptr"]);
    // The am_lane summary line is not a lane.
    assert!(matches!(ev("ep 0x145dc3c3f180: am_lane 0 wireup_msg_lane 1 cm_lane <none> keepalive_lane <none> reachable_mds 0x1"), UcxEvent::Other));
}

#[test]
fn tcp_connection_address_pairs() {
    let UcxEvent::TcpConnection { local, remote } = ev("[1716920651.160138] [gpu2:2554579:a]            sock.c:399  UCX  DEBUG [192.168.1.121:49463]<->[192.168.1.111:53562] is a connected pair") else {
        panic!()
    };
    assert_eq!((local, remote), ("192.168.1.121:49463", "192.168.1.111:53562"));
    let UcxEvent::TcpConnection { local, remote } = ev("[1716920651.160121] [gpu1:2592420:0]          tcp_cm.c:96   UCX  DEBUG   tcp_ep 0x55d17b64e2b0: CONNECTING -> CONNECTING for the [172.17.0.1:44609]<->[172.17.0.1:39289]:0 connection [-:-]") else {
        panic!()
    };
    assert_eq!((local, remote), ("172.17.0.1:44609", "172.17.0.1:39289"));
    assert!(matches!(ev("tcp_ep 0x55b1aeee77f0: created on iface 0x55b1aea3ed30, fd 86"), UcxEvent::Other));
}

#[test]
fn fatal_prefix_caught_signal_and_backtrace() {
    let l = parse_line("[t-20250416212336-4p8fn-worker-1:838783:0:838783] Caught signal 11 (Segmentation fault: invalid permissions for mapped object at address 0x7ff7ff400000)");
    assert_eq!(
        (l.header.host, l.header.pid, l.source),
        (Some("t-20250416212336-4p8fn-worker-1"), Some(838783), Source::Ucx)
    );
    assert!(matches!(l.event, UcxEvent::CaughtSignal { signal: 11 }));
    assert!(matches!(ev("==== backtrace (tid: 838783) ===="), UcxEvent::Backtrace));
    assert!(matches!(ev("==== backtrace ===="), UcxEvent::Backtrace));
    let UcxEvent::BacktraceFrame { index, frame } =
        ev(" 0  /usr/lib/x86_64-linux-gnu/libucs.so.0(ucs_handle_error+0x2e4) [0x7ffa734d4fc4]")
    else {
        panic!()
    };
    assert_eq!(index, 0);
    assert!(frame.starts_with("/usr/lib/x86_64-linux-gnu/libucs.so.0(ucs_handle_error"));
    // UCX ≤ 1.8 frames: address, function, source.
    assert!(matches!(
        ev("1 0x000000000003ea00 uct_ib_mlx5_poll_cq()  /home/abuild/ucx-1.5/src/uct/ib/mlx5/ib_mlx5.inl:38"),
        UcxEvent::BacktraceFrame { index: 1, .. }
    ));
    // A perftest row is no frame.
    assert!(!matches!(ev("                 1000     0.240  1675.942"), UcxEvent::BacktraceFrame { .. }));
}

#[test]
fn rdma_completion_errors_every_generation() {
    // 1.9+: ucs_log_fatal_error prefix, no level word.
    let l = parse_line("[master:19546:0:19546] ib_mlx5_log.c:139  Transport retry count exceeded on mlx5_0:1/IB (synd 0x15 vend 0x81 hw_synd 0/0)");
    assert_eq!(
        (l.header.host, l.header.file, l.header.line),
        (Some("master"), Some("ib_mlx5_log.c"), Some(139))
    );
    assert!(matches!(
        l.event,
        UcxEvent::CompletionError { error: "transport retry count exceeded", device: Some("mlx5_0:1") }
    ));
    // 1.5: `FATAL: Error on <dev> QP … : <error>`.
    assert!(matches!(
        ev("[ast1815:6807 :0:6807] ib_mlx5_log.c:115  FATAL: Error on mlx5_3:1 QP 0xe6d7 wqe[7821]: Transport retry count exceeded (synd 0x15 vend 0x81) opcode SEND"),
        UcxEvent::CompletionError { error: "transport retry count exceeded", device: Some("mlx5_3:1") }
    ));
    // Verbs transports: ibv_wc_status_str.
    assert!(matches!(
        ev("[hpc-test-node4:29626:0:29626] rc_verbs_impl.h:122  Fatal: receive completion[0] with error on mlx5_2/0x4489390: Work Request Flushed Error, vendor_err 0xf9 wr_id 0x7fffd1c3ec6d"),
        UcxEvent::CompletionError { error: "work request flushed", device: Some("mlx5_2") }
    ));
    assert!(matches!(
        ev("[hpc-test-node:17090:0:17090] rc_verbs_iface.c:63   FATAL: send completion with error: local protection error"),
        UcxEvent::CompletionError { error: "local protection", device: None }
    ));
    assert!(matches!(
        ev("[1700000000.000001] [h:1:0]    ib_mlx5_log.c:177  UCX  ERROR Remote access on mlx5_1:1/RoCE (synd 0x13 vend 0x88 hw_synd 0/0)"),
        UcxEvent::CompletionError { error: "remote access", device: Some("mlx5_1:1") }
    ));
    // An async event that a QP was flushed is QP teardown, and other errors are not completions.
    assert!(!matches!(
        ev("[1461192583.894385] [pod9:16629:1]      ib_device.c:132  UCX  WARN  IB Async event on mlx4_0: SRQ-attached QP 0x199c6 was flushed"),
        UcxEvent::CompletionError { .. }
    ));
    assert!(!matches!(
        ev("[1784273406.684686] [h:994396:0]      ib_mlx5_dv.c:452  UCX  ERROR   mlx5dv_devx_obj_create(CQ) failed on mlx5_1, syndrome 0x2aac7c: Remote I/O error"),
        UcxEvent::CompletionError { .. }
    ));
}

#[test]
fn closing_md_no_zero_copy_and_sglang_prefix() {
    let l = parse_line("[1699999999.123456] [gpu1:1234:0]     ucp_context.c:1069 UCX  DEBUG closing md mlx5_0 because it has no selected transport resources");
    assert!(matches!(l.event, UcxEvent::MdClosed { md: "mlx5_0" }));
    let l = parse_line("[1699999999.123456] [gpu1:1234:0] proto_reconfig.c:100 UCX  WARN  No zero-copy protocol found for cuda memory; set UCX_PROTO_EMULATION_ENABLE=y");
    assert!(matches!(l.event, UcxEvent::NoZeroCopy));
    let l = parse_line("[2026-07-21 08:06:26 TP0 EP0] NIXL transfer failure: handshake_setup_failed");
    assert_eq!(l.header.timestamp, Some("2026-07-21 08:06:26"));
    assert_eq!(l.header.thread, Some("TP0 EP0"));
    assert!(l.message.starts_with("NIXL transfer failure"));
    let l = parse_line("[2026-07-21 08:06:26] plain text");
    assert_eq!(l.header.timestamp, None);
}
