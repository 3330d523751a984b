//! Logs view figures on a generated 200 MB+ log: index build, per-frame rendering while
//! paging and jumping, whole-log regex search and filters.
//!
//! `cargo bench -p ncclscope-tui --bench logs` (plain `main`, timings with `Instant`).
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ncclscope_analyzer::{analyze, Options};
use ncclscope_parser::{InputId, InputSpec};
use ncclscope_tui::logs::LogsView;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

const TARGET_BYTES: u64 = 220 * 1024 * 1024;
const NEEDLE: &str = "NEEDLE-7f3a only once";

fn key(v: &mut LogsView, code: KeyCode) {
    v.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn wait(v: &mut LogsView) -> Duration {
    let start = Instant::now();
    while v.is_busy() {
        v.tick();
        std::thread::sleep(Duration::from_millis(1));
    }
    v.tick();
    start.elapsed()
}

/// Sample lines with the `host:pid:tid [rank]` prefix cut off, to be re-prefixed per rank.
fn bodies() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../samples");
    let mut out = Vec::new();
    for name in ["p5-efa-healthy.log", "p5-socket-fallback.log", "stuck-init/nccl.gpu-node-b.5804.log"] {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap_or_default();
        for line in text.lines() {
            let body = match line.find("] ") {
                Some(i) if line[..i].contains(':') => &line[i + 2..],
                _ => line,
            };
            out.push(body.to_owned());
        }
    }
    if out.is_empty() {
        out.push("NCCL INFO Channel 00/0 : 0[0] -> 1[1] via P2P/CUMEM/read".to_owned());
        out.push("NCCL WARN NET/Socket : peer closed connection".to_owned());
    }
    out
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.log");
    let t = Instant::now();
    let bodies = bodies();
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).expect("create"));
    let (mut written, mut lines, mut k) = (0u64, 0u64, 0usize);
    while written < TARGET_BYTES {
        let rank = k % 64;
        let line = format!(
            "gpu-node-{:02}:{}:{} [{}] {}\n",
            rank / 8,
            5000 + rank,
            5000 + rank,
            rank % 8,
            bodies[k % bodies.len()]
        );
        w.write_all(line.as_bytes()).expect("write");
        written += line.len() as u64;
        lines += 1;
        k += 1;
    }
    // One line near the end that only the search regex matches.
    let needle_line = lines + 1;
    writeln!(w, "gpu-node-07:5063:5063 [7] NCCL WARN {NEEDLE}").expect("write");
    for body in bodies.iter().take(100) {
        writeln!(w, "gpu-node-00:5000:5000 [0] {body}").expect("write");
    }
    w.flush().expect("flush");
    drop(w);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("generated {:.1} MB, {} lines in {:.2?}", size as f64 / 1e6, needle_line + 100, t.elapsed());

    let spec = InputSpec {
        display: path.to_string_lossy().into_owned(),
        source: ncclscope_parser::input::InputSource::File(path.clone()),
    };
    let analysis = Arc::new(analyze(&[], &[], &Options::default()));

    // 1. Index build.
    let t = Instant::now();
    let mut v = LogsView::new(analysis, vec![spec]);
    let area = Rect::new(0, 0, 200, 50);
    v.set_viewport(area);
    let mut first_screen = None;
    while v.is_busy() {
        v.tick();
        if first_screen.is_none() && v.row_count() > 0 {
            first_screen = Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    v.tick();
    let index_time = t.elapsed();
    let rows = v.row_count();
    println!(
        "index: {rows} lines in {index_time:.2?} ({:.0} MB/s), first lines shown after {:.2?}",
        size as f64 / 1e6 / index_time.as_secs_f64(),
        first_screen.unwrap_or_default()
    );

    let mut term = Terminal::new(TestBackend::new(area.width, area.height)).expect("terminal");
    let mut frame = |v: &LogsView| {
        term.draw(|f| v.draw(f, f.area())).expect("draw");
    };

    // 2. Paging: PgDn + draw per frame (sequential blocks, mostly cache hits).
    let frames = 2000;
    let t = Instant::now();
    for _ in 0..frames {
        key(&mut v, KeyCode::PageDown);
        v.tick();
        frame(&v);
    }
    let page = t.elapsed() / frames;
    // Line scrolling.
    let t = Instant::now();
    for _ in 0..frames {
        key(&mut v, KeyCode::Down);
        frame(&v);
    }
    let down = t.elapsed() / frames;
    // Random jumps: every frame reads cold blocks from disk.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let jumps = 500;
    let t = Instant::now();
    for _ in 0..jumps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.goto(InputId(0), 1 + x % rows);
        frame(&v);
    }
    let jump = t.elapsed() / jumps;
    println!("render per frame (200x50): PgDn {page:.2?}, ↓ {down:.2?}, random goto {jump:.2?}");

    // 3. Whole-log regex search from the top to the needle near the end.
    key(&mut v, KeyCode::Char('g'));
    key(&mut v, KeyCode::Char('/'));
    for c in r"NEEDLE-\w+ only".chars() {
        key(&mut v, KeyCode::Char(c));
    }
    key(&mut v, KeyCode::Enter);
    let search = wait(&mut v);
    let found = v.selected_line().map(|(_, l)| l);
    println!(
        "search /NEEDLE-\\w+ only/ over the whole log: {search:.2?} ({:.0} MB/s), found line {found:?} (expected {needle_line}){}",
        size as f64 / 1e6 / search.as_secs_f64(),
        if found == Some(needle_line) { "" } else { "  MISMATCH" }
    );

    // 4. Filters: level (no text read) and regex (whole log read on the filter thread).
    key(&mut v, KeyCode::Char('w'));
    let level = wait(&mut v);
    println!("level filter (w): {level:.2?}, {} rows", v.row_count());
    key(&mut v, KeyCode::Char('a'));
    wait(&mut v);
    key(&mut v, KeyCode::Char('&'));
    for c in r"NET/\w+".chars() {
        key(&mut v, KeyCode::Char(c));
    }
    key(&mut v, KeyCode::Enter);
    let filter = wait(&mut v);
    println!(
        "regex filter &NET/\\w+: {filter:.2?} ({:.0} MB/s), {} rows",
        size as f64 / 1e6 / filter.as_secs_f64(),
        v.row_count()
    );

    drop(v);

    // 5. Sixteen timestamped rank files merged by time.
    let t = Instant::now();
    let mut specs = Vec::new();
    let per_file = 60_000u64;
    for rank in 0..16u64 {
        let p = dir.path().join(format!("rank{rank}.log"));
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&p).expect("create"));
        for k in 0..per_file {
            // Ranks drift apart by a few ms so lines interleave finely.
            let ms = k * 7 + rank * 3;
            writeln!(
                w,
                "2025-01-01T{:02}:{:02}:{:02}.{:03} gpu-node-{:02}:{}:{} [{}] {}",
                ms / 3_600_000,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000,
                rank / 8,
                5000 + rank,
                5000 + rank,
                rank % 8,
                bodies[(k as usize + rank as usize) % bodies.len()]
            )
            .expect("write");
        }
        w.flush().expect("flush");
        specs.push(InputSpec {
            display: p.to_string_lossy().into_owned(),
            source: ncclscope_parser::input::InputSource::File(p),
        });
    }
    let merged_bytes: u64 = specs
        .iter()
        .filter_map(|s| match &s.source {
            ncclscope_parser::input::InputSource::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        })
        .sum();
    println!("generated 16 timestamped files, {:.1} MB, in {:.2?}", merged_bytes as f64 / 1e6, t.elapsed());
    let t = Instant::now();
    let mut v = LogsView::new(Arc::new(analyze(&[], &[], &Options::default())), specs);
    v.set_viewport(area);
    wait(&mut v);
    println!("merged index (16 inputs, {} lines): {:.2?}", v.row_count(), t.elapsed());
    let t = Instant::now();
    for _ in 0..frames {
        key(&mut v, KeyCode::PageDown);
        frame(&v);
    }
    println!("merged render per frame (200x50): PgDn {:.2?}", t.elapsed() / frames);
    let t = Instant::now();
    for _ in 0..jumps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.goto(InputId((x % 16) as u32), 1 + x % per_file);
        frame(&v);
    }
    println!("merged random goto per frame: {:.2?}", t.elapsed() / jumps);
}
