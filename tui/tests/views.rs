//! The views through `App::handle_event` / `App::draw` on a `TestBackend`: snapshots of every
//! view but Logs (its own tests live with it), key sequences, export, and inert escapes.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use ncclscope_analyzer::{analyze, Options};
use ncclscope_parser::expand_paths;
use ncclscope_tui::action::ViewId;
use ncclscope_tui::app::App;
use ncclscope_tui::views::help;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tui/ has a parent").to_path_buf()
}

/// The app on `paths` (relative to the workspace root, shown as such in the views: the
/// snapshots do not depend on where the checkout is).
fn app_for(paths: &[&str]) -> App {
    let root = workspace();
    std::env::set_current_dir(&root).expect("cd to the workspace");
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    app_for_paths(&paths)
}

fn app_for_paths(paths: &[PathBuf]) -> App {
    let (specs, problems) = expand_paths(paths);
    assert!(problems.iter().all(|p| !p.fatal), "{problems:?}");
    let analysis = Arc::new(analyze(&specs, &problems, &Options::default()));
    App::new(analysis, specs)
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        assert!(!app.handle_event(key(KeyCode::Char(c))), "key {c:?} quit the app");
    }
}

/// The screen as text, one line per row, trailing blanks cut.
fn render(app: &mut App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend");
    app.prepare(ratatui::layout::Rect::new(0, 0, WIDTH, HEIGHT));
    terminal.draw(|f| app.draw(f)).expect("draw");
    buffer_text(terminal.backend().buffer())
}

fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The cwd is process-wide and tests run on threads: one at a time.
static CWD: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    CWD.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn snapshots_socket_fallback() {
    let _g = lock();
    let mut app = app_for(&["samples/p5-socket-fallback.log"]);
    insta::assert_snapshot!("socket_overview", render(&mut app));
    press(&mut app, "2");
    insta::assert_snapshot!("socket_findings", render(&mut app));
    press(&mut app, "3");
    insta::assert_snapshot!("socket_topology", render(&mut app));
    press(&mut app, "4");
    insta::assert_snapshot!("socket_ranks", render(&mut app));
    press(&mut app, "6");
    insta::assert_snapshot!("socket_bandwidth", render(&mut app));
}

#[test]
fn snapshots_efa_healthy_bandwidth() {
    let _g = lock();
    let mut app = app_for(&["samples/p5-efa-healthy.log"]);
    insta::assert_snapshot!("efa_overview", render(&mut app));
    press(&mut app, "6");
    assert!(app.bandwidth.has_data(), "p5-efa-healthy.log has nccl-tests output");
    insta::assert_snapshot!("efa_bandwidth", render(&mut app));
}

#[test]
fn snapshots_stuck_init() {
    let _g = lock();
    let mut app = app_for(&["samples/stuck-init"]);
    let overview = render(&mut app);
    assert!(overview.contains("STUCK"), "{overview}");
    insta::assert_snapshot!("stuck_overview", overview);
    press(&mut app, "2");
    insta::assert_snapshot!("stuck_findings", render(&mut app));
    press(&mut app, "4");
    insta::assert_snapshot!("stuck_ranks", render(&mut app));
}

/// A GPU that used the NIC of the other NUMA node: its row in the used-vs-nearest table is
/// marked `!` and drawn in red (a bundled sample: the corpus has no such mismatch).
#[test]
fn topology_mismatch_is_marked_and_red() {
    let _g = lock();
    let mut app = app_for(&["samples/cross-numa"]);
    press(&mut app, "3");
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend");
    app.prepare(ratatui::layout::Rect::new(0, 0, WIDTH, HEIGHT));
    terminal.draw(|f| app.draw(f)).expect("draw");
    let buf = terminal.backend().buffer().clone();
    let screen = buffer_text(&buf);
    insta::assert_snapshot!("cross_numa_topology", screen);
    let row_of = |needle: &str| {
        (0..buf.area.height).find(|&y| {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
            line.contains(needle)
        })
    };
    // rank 0 (GPU0 on NUMA 0) used mlx5_1 (NUMA 1); rank 1 used its own mlx5_1.
    let mismatch = row_of("! node-a").expect("rank 0's row is marked");
    let line: String = (0..buf.area.width).map(|x| buf[(x, mismatch)].symbol().to_string()).collect();
    assert!(line.contains("mlx5_1") && line.contains("mlx5_0") && line.contains("SYS"), "{line}");
    let matched = row_of("  node-a                   1").expect("rank 1's row");
    assert!((0..buf.area.width).all(|x| buf[(x, matched)].fg != ratatui::style::Color::Red));
    assert!(
        (0..buf.area.width).any(|x| buf[(x, mismatch)].fg == ratatui::style::Color::Red),
        "mismatch row not red: {line}"
    );
}

#[test]
fn snapshot_corpus_topology() {
    let _g = lock();
    let file = "../shared/corpus/topo/030-a100pcie-2gpu-cx6dx-roce-hostA-topo.xml";
    if !workspace().join(file).exists() {
        eprintln!("skipped: {file} is absent (the corpus is not checked out next to the workspace)");
        return;
    }
    let mut app = app_for(&[file]);
    press(&mut app, "3");
    let screen = render(&mut app);
    assert!(screen.contains("GPU0"), "{screen}");
    insta::assert_snapshot!("corpus_topology", screen);
}

#[test]
fn enter_on_evidence_opens_logs_at_that_line() {
    let _g = lock();
    let mut app = app_for(&["samples/stuck-init"]);
    press(&mut app, "2");
    assert_eq!(app.current, ViewId::Findings);
    // The second finding, its second evidence line.
    app.handle_event(key(KeyCode::Down));
    let finding = app.findings.selected().expect("a finding is selected");
    let expected = app.analysis.findings[finding].evidence[1].clone();
    app.handle_event(key(KeyCode::Enter));
    app.handle_event(key(KeyCode::Down));
    app.handle_event(key(KeyCode::Enter));
    assert_eq!(app.current, ViewId::Logs);
    assert_eq!(app.last_log_request, Some((expected.input, expected.pos.line)));
    // Esc in Logs goes back to Findings.
    app.handle_event(key(KeyCode::Esc));
    assert_eq!(app.current, ViewId::Findings);
}

#[test]
fn overview_enter_jumps_to_the_explaining_view() {
    let _g = lock();
    let mut app = app_for(&["samples/stuck-init"]);
    // Line 3 is `ranks`.
    app.handle_event(key(KeyCode::Down));
    app.handle_event(key(KeyCode::Down));
    app.handle_event(key(KeyCode::Enter));
    assert_eq!(app.current, ViewId::Ranks);
    app.handle_event(key(KeyCode::Esc));
    assert_eq!(app.current, ViewId::Overview);
    app.handle_event(key(KeyCode::End));
    app.handle_event(key(KeyCode::Enter));
    assert_eq!(app.current, ViewId::Findings, "the last lines of stuck-init's overview are findings");
    let selected = app.findings.selected().expect("selected");
    assert_eq!(
        app.analysis.findings[selected].rule.as_str(),
        "INSUFFICIENT_LOGGING",
        "Enter on a finding's line selects it"
    );
}

fn rank_column(app: &App, col: usize) -> Vec<String> {
    app.ranks.visible_rows().map(|r| r.cells[col].clone()).collect()
}

#[test]
fn ranks_sort_and_filter() {
    let _g = lock();
    let mut app = app_for(&["samples/stuck-init"]);
    press(&mut app, "4");
    let ranks: Vec<String> = rank_column(&app, 0);
    assert_eq!(ranks.len(), 16);
    assert_eq!(ranks[..3], ["0", "1", "2"], "sorted by rank, numerically");
    press(&mut app, "S");
    let reversed = rank_column(&app, 0);
    assert_eq!(reversed[..2], ["15", "14"]);
    // Sort by pid (column 2), descending still.
    press(&mut app, "ss");
    assert_eq!(app.ranks.sort_column, 2);
    let pids = rank_column(&app, 2);
    assert_eq!(pids.first().map(String::as_str), Some("5807"));
    // Filter: only gpu-node-b; `q` typed in the field is text, not quit.
    press(&mut app, "/node-b");
    assert_eq!(rank_column(&app, 1).len(), 8);
    assert!(rank_column(&app, 1).iter().all(|h| h == "gpu-node-b"));
    press(&mut app, "q");
    assert_eq!(app.ranks.visible_rows().count(), 0, "filter `node-bq` matches nothing");
    app.handle_event(key(KeyCode::Backspace));
    app.handle_event(key(KeyCode::Enter));
    assert_eq!(app.ranks.visible_rows().count(), 8);
    let screen = render(&mut app);
    assert!(screen.contains("Ranks (8 of 16)"), "{screen}");
    // Enter on a row asks Logs for that process's lines.
    app.handle_event(key(KeyCode::Enter));
    assert_eq!(app.current, ViewId::Logs);
    let proc = app.last_rank_request.expect("a process was requested");
    assert_eq!(app.analysis.job.procs[proc].host.as_deref(), Some("gpu-node-b"));
}

#[test]
fn help_overlay_lists_keys_and_closes() {
    let _g = lock();
    let mut app = app_for(&["samples/p5-socket-fallback.log"]);
    press(&mut app, "?");
    assert!(app.show_help);
    let screen = render(&mut app);
    assert!(screen.contains("Help"), "{screen}");
    assert!(screen.contains("5 Logs"), "{screen}");
    // Every key of every view is on screen (descriptions may wrap: their start is checked).
    let logs = ncclscope_tui::logs::LogsView::key_help();
    let all = [
        help::GLOBAL_KEYS,
        help::LIST_KEYS,
        help::OVERVIEW_KEYS,
        help::FINDINGS_KEYS,
        help::TOPOLOGY_KEYS,
        help::RANKS_KEYS,
        logs,
        help::BANDWIDTH_KEYS,
    ];
    for (k, what) in all.iter().flat_map(|keys| keys.iter()) {
        let start: String = what.chars().take(18).collect();
        let shown = screen.lines().any(|l| l.contains(&format!(" {k} ")) && l.contains(&start));
        assert!(shown, "key {k} ({what}) missing from help:\n{screen}");
    }
    insta::assert_snapshot!("help_overlay", screen);
    app.handle_event(key(KeyCode::Esc));
    assert!(!app.show_help);
    assert!(app.handle_event(key(KeyCode::Char('q'))), "q quits");
}

#[test]
fn tab_cycles_views() {
    let _g = lock();
    let mut app = app_for(&["samples/p5-socket-fallback.log"]);
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(app.current);
        app.handle_event(key(KeyCode::Tab));
    }
    assert_eq!(seen, ViewId::ALL);
    assert_eq!(app.current, ViewId::Overview);
    app.handle_event(key(KeyCode::BackTab));
    assert_eq!(app.current, ViewId::Bandwidth);
}

#[test]
fn export_writes_marked_findings() {
    let _g = lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = app_for(&["samples/stuck-init"]);
    app.export_dir = dir.path().to_path_buf();
    press(&mut app, "2");
    // Mark the second finding only.
    app.handle_event(key(KeyCode::Down));
    let marked = app.findings.selected().expect("selected");
    press(&mut app, " m");
    let files: Vec<PathBuf> =
        std::fs::read_dir(dir.path()).expect("readdir").map(|e| e.expect("entry").path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    assert!(name.starts_with("ncclscope-report-") && name.ends_with(".md"), "{name}");
    let body = std::fs::read_to_string(&files[0]).expect("read report");
    let rule = app.analysis.findings[marked].rule.as_str();
    assert!(body.contains(rule), "{body}");
    for (i, f) in app.analysis.findings.iter().enumerate() {
        if i != marked && f.rule != app.analysis.findings[marked].rule {
            assert!(
                !body.contains(&format!("`{}`", f.rule.as_str())),
                "unmarked {} in report",
                f.rule.as_str()
            );
        }
    }
    assert!(app.status.contains(&files[0].display().to_string()), "status shows the path: {}", app.status);
    assert!(files[0].is_absolute());
}

#[test]
fn export_without_marks_writes_all() {
    let _g = lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = app_for(&["samples/p5-socket-fallback.log"]);
    app.export_dir = dir.path().to_path_buf();
    press(&mut app, "m");
    let file = std::fs::read_dir(dir.path()).expect("readdir").next().expect("a file").expect("entry").path();
    let body = std::fs::read_to_string(file).expect("read");
    assert!(body.contains("NET_SOCKET_FALLBACK"), "{body}");
}

#[test]
fn escape_sequences_render_inert() {
    let _g = lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("evil.log");
    let hostile = [
        "\x1b]52;c;SGVsbG8=\x07",
        "\x1b[2J",
        "\x1b[10;10H",
        "\x1b[31mred\x1b[0m",
        "\x1bP+q544e\x1b\\",
        "\u{9b}31m",
    ];
    let mut text = String::new();
    for (i, h) in hostile.iter().enumerate() {
        text.push_str(&format!(
            "evil{h}host:{}:{} [0] NCCL INFO NET/Plugin: {h} could not load\n",
            100 + i,
            100 + i
        ));
        text.push_str(&format!("evilhost:100:100 [0] misc/socket.cc:1 NCCL WARN {h} failed {h}\n"));
        text.push_str(&format!("evilhost:100:100 [0] NCCL INFO Using network Socket {h}\n"));
        text.push_str(&format!("plain line {h} with tab\tand bell \x07\n"));
    }
    std::fs::write(&log, text).expect("write log");
    let mut app = app_for_paths(&[log]);
    // Let the Logs index finish (bounded wait: the file is tiny).
    let start = Instant::now();
    while app.logs.is_busy() && start.elapsed() < Duration::from_secs(5) {
        app.tick();
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut findings_seen = false;
    for v in ViewId::ALL {
        app.current = v;
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("backend");
        app.prepare(ratatui::layout::Rect::new(0, 0, WIDTH, HEIGHT));
        terminal.draw(|f| app.draw(f)).expect("draw");
        let buf = terminal.backend().buffer();
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                let sym = buf[(x, y)].symbol();
                assert!(
                    !sym.chars().any(|c| c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)),
                    "{v:?}: control character {sym:?} at {x},{y}:\n{}",
                    buffer_text(buf)
                );
            }
        }
    }
    // Every finding's detail in turn: the hostile WARN shows as evidence, inert.
    app.current = ViewId::Findings;
    for _ in 0..app.analysis.findings.len() {
        let screen = render(&mut app);
        assert!(!screen.chars().any(|c| c.is_control() && c != '\n'), "{screen}");
        findings_seen |= screen.contains("failed");
        app.handle_event(key(KeyCode::Down));
    }
    assert!(findings_seen, "the hostile WARN shows as evidence");
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Event {
    Event::Mouse(MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE })
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    let _g = lock();
    let mut app = app_for(&["samples/stuck-init"]);
    // A click on the tab bar switches view: ` 1 Overview | 2 Findings |…`.
    render(&mut app);
    app.handle_event(mouse(MouseEventKind::Down(MouseButton::Left), 16, 0));
    assert_eq!(app.current, ViewId::Findings);
    // Findings list: rows start below the tab bar and the border (y = 2).
    render(&mut app);
    app.handle_event(mouse(MouseEventKind::Down(MouseButton::Left), 10, 3));
    let second = app.findings.selected().expect("selected");
    assert_eq!(app.analysis.findings[second].rule.as_str(), "BOOTSTRAP_IFACE_SUSPECT");
    // Ranks table: tab bar, border, header, then rows (y = 3 is the first).
    press(&mut app, "4");
    render(&mut app);
    app.handle_event(mouse(MouseEventKind::Down(MouseButton::Left), 3, 6));
    assert_eq!(app.ranks.selected_row().map(|r| r.cells[0].as_str()), Some("3"));
    app.handle_event(mouse(MouseEventKind::ScrollDown, 3, 6));
    assert_eq!(app.ranks.selected_row().map(|r| r.cells[0].as_str()), Some("6"));
    app.handle_event(mouse(MouseEventKind::ScrollUp, 3, 6));
    app.handle_event(mouse(MouseEventKind::ScrollUp, 3, 6));
    assert_eq!(app.ranks.selected_row().map(|r| r.cells[0].as_str()), Some("0"));
    // Outside the table: nothing moves.
    app.handle_event(mouse(MouseEventKind::ScrollDown, 3, HEIGHT - 1));
    assert_eq!(app.ranks.selected_row().map(|r| r.cells[0].as_str()), Some("0"));
}

#[test]
fn space_marks_findings_and_esc_backs_out() {
    let _g = lock();
    let mut app = app_for(&["samples/stuck-init"]);
    press(&mut app, "2 ");
    assert_eq!(app.findings.marked_count(), 1);
    let screen = render(&mut app);
    assert!(screen.contains("[x] ✖ INIT_INCOMPLETE"), "{screen}");
    assert!(screen.contains("1 marked"), "{screen}");
    // Into the evidence pane, Esc returns to the list, a second Esc to the previous view.
    app.handle_event(key(KeyCode::Right));
    assert!(app.findings.evidence_focused());
    app.handle_event(key(KeyCode::Esc));
    assert!(!app.findings.evidence_focused());
    assert_eq!(app.current, ViewId::Findings);
    app.handle_event(key(KeyCode::Esc));
    assert_eq!(app.current, ViewId::Overview);
    // Ctrl-C quits from anywhere.
    assert!(app.handle_event(Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))));
}

#[test]
fn every_view_draws_at_any_size() {
    let _g = lock();
    let corpus = "../shared/corpus/topo/030-a100pcie-2gpu-cx6dx-roce-hostA-topo.xml";
    let mut inputs =
        vec!["samples/p5-socket-fallback.log", "samples/p5-efa-healthy.log", "samples/stuck-init"];
    if workspace().join(corpus).exists() {
        inputs.push(corpus);
    }
    for input in inputs {
        let mut app = app_for(&[input]);
        for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (80, 24), (300, 100)] {
            for v in ViewId::ALL {
                app.current = v;
                for help in [false, true] {
                    app.show_help = help;
                    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("backend");
                    app.prepare(ratatui::layout::Rect::new(0, 0, w, h));
                    terminal.draw(|f| app.draw(f)).expect("draw");
                }
            }
            app.show_help = false;
            // Keys at that size (page moves use the last drawn height).
            for code in [KeyCode::PageDown, KeyCode::End, KeyCode::Enter, KeyCode::Right, KeyCode::Home] {
                app.current = ViewId::Findings;
                app.handle_event(key(code));
            }
        }
    }
}

#[test]
fn topology_host_picker_pages_through_hosts() {
    let _g = lock();
    let a = "../shared/corpus/topo/030-a100pcie-2gpu-cx6dx-roce-hostA-topo.xml";
    let b = "../shared/corpus/topo/007-aws-p5-48xl-topofile-2025.xml";
    if !workspace().join(a).exists() || !workspace().join(b).exists() {
        eprintln!("skipped: corpus topology files are absent");
        return;
    }
    let mut app = app_for(&[a, b]);
    press(&mut app, "3");
    assert_eq!(app.topology.page_count(), 2);
    let first = render(&mut app);
    assert!(first.contains("Host 1/2") && first.contains("030-a100pcie"), "{first}");
    press(&mut app, "]");
    let second = render(&mut app);
    assert!(second.contains("Host 2/2") && second.contains("007-aws-p5"), "{second}");
    app.handle_event(key(KeyCode::Right));
    assert!(render(&mut app).contains("Host 1/2"), "wraps around");
    app.handle_event(key(KeyCode::Left));
    assert!(render(&mut app).contains("Host 2/2"));
    // Scrolling a long tree moves its first line off screen.
    let top = render(&mut app);
    press(&mut app, "jjjjj");
    assert_ne!(top, render(&mut app));
}

/// Every view on a real log from the corpus (an EKS g4dn EFA nccl-tests run under mpirun):
/// findings, ranks, bandwidth, and the Logs view at the first evidence line.
#[test]
fn snapshots_every_view_on_a_corpus_log() {
    let _g = lock();
    let file = "../shared/corpus/nccl/001-eks-g4dn-efa-nccltests-mpirun.log";
    if !workspace().join(file).exists() {
        eprintln!("skipped: {file} is absent (the corpus is not checked out next to the workspace)");
        return;
    }
    let mut app = app_for(&[file]);
    let start = Instant::now();
    while app.logs.is_busy() && start.elapsed() < Duration::from_secs(10) {
        app.tick();
        std::thread::sleep(Duration::from_millis(20));
    }
    let overview = render(&mut app);
    assert!(overview.contains("GDR_DISABLED"), "{overview}");
    insta::assert_snapshot!("corpus_overview", overview);
    for (key, name) in [
        ("2", "corpus_findings"),
        ("3", "corpus_log_topology"),
        ("4", "corpus_ranks"),
        ("6", "corpus_bandwidth"),
    ] {
        press(&mut app, key);
        insta::assert_snapshot!(name, render(&mut app));
    }
    // Findings → first evidence line → Logs at that line.
    press(&mut app, "2");
    app.handle_event(key(KeyCode::Right));
    app.handle_event(key(KeyCode::Enter));
    assert_eq!(app.current, ViewId::Logs);
    while app.logs.is_busy() && start.elapsed() < Duration::from_secs(10) {
        app.tick();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Asserted, not snapshotted: a snapshot would copy a page of the corpus log into the repo.
    let logs = render(&mut app);
    assert!(logs.contains("▶◆36│"), "{logs}");
    assert!(logs.contains("001-eks-g4dn-efa-nccltests-mpirun.log:36  ◆ evidence for GDR_DISABLED"), "{logs}");
}
