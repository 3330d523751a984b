//! Properties: no line, however mangled, panics a line parser; and a valid NCCL line keeps its
//! meaning whatever launcher prefix is put before it.
use ncclscope_parser::{nccl, nccltests};
use proptest::prelude::*;

/// Pieces real lines are made of, so that random lines reach deep into the parsers.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("NCCL INFO ".to_string()),
        Just("NCCL WARN ".to_string()),
        Just("host:12:34 [0] ".to_string()),
        Just("NET/IB : Using [0]mlx5_0:1/IB ; OOB eth0:1.2.3.4<0>".to_string()),
        Just("Channel 00/0 : 1[1] -> 2[2] [send] via NET/IB/0/GDRDMA".to_string()),
        Just("comm 0x1 rank 1 nranks 2 cudaDev 0 busId 1000 - Init COMPLETE".to_string()),
        Just("NET/OFI Selected provider is efa, fabric is efa (found 4 nics)".to_string()),
        Just("GPU Direct RDMA Disabled for GPU 1 / HCA 0 (distance 5 > 4), read 0".to_string()),
        Just("misc/socket.cc:1 -> 2 [Async thread]".to_string()),
        Just("# Out of bounds values : 0 OK".to_string()),
        Just("  8589934592  2147483648  float  sum  -1  1.0  2.0  3.0  0  1.0  2.0  3.0  0".to_string()),
        Just("#  Rank  0 Group  0 Pid 1 on h device 0 [0000:18:00] NVIDIA H100".to_string()),
        "[0-9]{1,25}",
        "[ -~]{0,40}",
        "\\PC{0,12}",
        Just("[".to_string()),
        Just("(".to_string()),
        Just(":".to_string()),
        Just("/".to_string()),
        Just(" -> ".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn parsers_never_panic(parts in proptest::collection::vec(fragment(), 0..8)) {
        let line: String = parts.concat();
        let _ = nccl::parse_line(&line);
        let _ = nccltests::parse_line(&line);
    }

    #[test]
    fn launcher_prefix_does_not_change_the_event(prefix in prop_oneof![
        Just(""), Just("[1,3]<stdout>:"), Just("3: "), Just("[default3]:"), Just("node7: "),
        Just("(pid=42) "), Just("2024-12-04T07:19:43.480Z "), Just("[rank3]:"),
    ]) {
        let body = "node7:42:43 [3] NCCL INFO Channel 02/0 : 3[3] -> 11[3] [send] via NET/IB/2(1)/GDRDMA/Shared";
        let bare = nccl::parse_line(body).map(|l| l.event);
        let line = format!("{prefix}{body}");
        let prefixed = nccl::parse_line(&line).map(|l| l.event);
        prop_assert!(bare.is_some());
        prop_assert_eq!(bare, prefixed);
    }
}
