//! Micro-benchmarks of the line parser, one per line shape, and of whole-input scanning
//! (issue 6). `cargo bench -p ncclscope-parser --bench lines`.
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ncclscope_parser::input::InputSource;
use ncclscope_parser::scan::classify;
use ncclscope_parser::{
    scan_input, scan_inputs, InputId, InputKind, InputSpec, Position, Record, RecordSink,
};

/// One line of each shape a big job log is made of, as NCCL / nccl-tests / UCX print them.
const SHAPES: &[(&str, &str)] = &[
    ("coll", "ip-10-1-0-113:40302:40302 [2] NCCL INFO AllReduce: opCount 4d sendbuff 0x7f8ccba90000 recvbuff 0x7f8d4ba90000 count 1048576 datatype 7 op 0 root 0 comm 0x55d4d3a0 [nranks=1024] stream 0x5600b2734e80"),
    ("coll_with_launcher", "[1,113]<stdout>:ip-10-1-0-113:40302:40302 [2] NCCL INFO AllReduce: opCount 4d sendbuff 0x7f8ccba90000 recvbuff 0x7f8d4ba90000 count 1048576 datatype 7 op 0 root 0 comm 0x55d4d3a0 [nranks=1024] stream 0x5600b2734e80"),
    ("connection", "ip-10-1-0-10:40000:40213 [0] NCCL INFO Channel 00/0 : 7[7] -> 8[0] [send] via NET/Libfabric/0/GDRDMA"),
    ("comm_init", "ip-10-1-0-10:40000:40000 [0] NCCL INFO comm 0x55d4d3a0 rank 0 nranks 1024 cudaDev 0 nvmlDev 0 busId 53000 commId 0xe99ff867dbf682c9 - Init COMPLETE"),
    ("ofi_provider", "ip-10-1-0-10:40000:40000 [0] NCCL INFO NET/OFI Selected Provider is efa, fabric is efa-direct (found 32 nics)"),
    ("env_echo", "ip-10-1-0-10:40000:40000 [0] NCCL INFO NCCL_TOPO_FILE set by environment to /opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p5.48xl-topo.xml"),
    ("warn", "ip-10-1-0-10:40000:40213 [0] NCCL WARN NET/OFI Request 0x7f2b2c0 completed with error. RC: 5. Error: 5 (Input/output error). Completed length: 0"),
    ("topology_path", "ip-10-1-0-10:40000:40000 [0] NCCL INFO GPU/0-53000 :GPU/0-53000 (0/5000.0/LOC) GPU/1-64000 (18/720.0/NVL) NET/0-56000 (3/24.0/PIX)"),
    ("tests_row", "   268435456      67108864     float     sum      -1   1570.5  170.92  341.51      0   1586.4  169.21  338.09      0"),
    ("ucx", "[1716920651.160140] [gpu1:2592419:0]     ucp_worker.c:1855 UCX  INFO    ep_cfg[4]: tag(tcp/ib0 tcp/docker0)"),
    ("other", "Epoch 3 step 1200 loss 2.3315 lr 0.000120 grad_norm 1.02 tokens/s 183211"),
];

fn per_shape(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_line");
    for (name, line) in SHAPES {
        group.throughput(Throughput::Bytes(line.len() as u64));
        group.bench_function(*name, |b| b.iter(|| black_box(classify(InputKind::NcclLog, black_box(line)))));
    }
    group.finish();
}

/// Counts records: the cheapest sink, so the benchmark measures the parser side.
#[derive(Default)]
struct Count(u64);
impl RecordSink for Count {
    fn record(&mut self, _: InputId, _: Position, _: &str, _: &Record<'_>) {
        self.0 += 1;
    }
}

fn whole_input(c: &mut Criterion) {
    // 98 % COLL lines, the rest every other shape: the mix of a hang-chasing log.
    let mut text = String::new();
    for i in 0..40_000 {
        let (_, line) = if i % 50 == 0 { SHAPES[1 + (i / 50) % (SHAPES.len() - 1)] } else { SHAPES[0] };
        text.push_str(line);
        text.push('\n');
    }
    let bytes: Arc<[u8]> = Arc::from(text.into_bytes());
    let spec = InputSpec { display: "bench".into(), source: InputSource::Bytes(bytes.clone()) };
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(20);
    group.bench_function("scan_input", |b| {
        b.iter(|| {
            let mut sink = Count::default();
            scan_input(InputId(0), &spec, &mut sink);
            black_box(sink.0)
        })
    });
    group.bench_function("scan_inputs_pipelined", |b| {
        b.iter(|| {
            let mut sink = Count::default();
            scan_inputs(std::slice::from_ref(&spec), &mut sink);
            black_box(sink.0)
        })
    });
    group.finish();
}

criterion_group!(benches, per_shape, whole_input);
criterion_main!(benches);
