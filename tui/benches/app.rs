//! The TUI on a big job log, as a user meets it (issue 8's performance figures):
//! `NCCLSCOPE_BENCH_LOG=/path/to/1GiB.log cargo bench -p ncclscope-tui --bench app`
//! (`gen-job --ranks 1024 --hosts 128 --size 1GiB` writes such a log). Prints the time to the
//! first frame (analysis + Overview), per-frame times of view switches and of scrolling the
//! Logs view, and a whole-log regex search. Skips with a message when the variable is unset.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

use ncclscope_analyzer::{analyze, Options};
use ncclscope_parser::expand_paths;
use ncclscope_tui::app::App;

const W: u16 = 200;
const H: u16 = 50;

fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// One frame as the event loop makes it: prepare, then draw.
fn frame(app: &mut App, term: &mut Terminal<TestBackend>) -> Duration {
    let t = Instant::now();
    app.prepare(Rect::new(0, 0, W, H));
    term.draw(|f| app.draw(f)).expect("draw");
    t.elapsed()
}

/// Ticks until background work (indexing, search) settles or `limit` passes; returns when the
/// last change came (the quiet ticks that prove it settled are not counted).
fn settle(app: &mut App, limit: Duration) -> Duration {
    let t = Instant::now();
    let (mut quiet, mut last_change) = (0, Duration::ZERO);
    while t.elapsed() < limit && quiet < 40 {
        if app.tick() {
            quiet = 0;
            last_change = t.elapsed();
        } else {
            quiet += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    last_change
}

fn main() {
    let Some(path) = std::env::var_os("NCCLSCOPE_BENCH_LOG").map(PathBuf::from) else {
        println!("skipped: set NCCLSCOPE_BENCH_LOG to a big log (see the file's header)");
        return;
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("input: {} ({:.1} MiB)", path.display(), size as f64 / 1048576.0);
    let mut term = Terminal::new(TestBackend::new(W, H)).expect("backend");

    let t = Instant::now();
    let (specs, problems) = expand_paths(std::slice::from_ref(&path));
    let analysis = Arc::new(analyze(&specs, &problems, &Options::default()));
    let mut app = App::new(analysis.clone(), specs);
    let first = frame(&mut app, &mut term);
    println!(
        "first frame (analysis + Overview): {:.2?} (of which the frame {:.2?}); {} findings",
        t.elapsed(),
        first,
        analysis.findings.len()
    );

    let mut worst = Duration::ZERO;
    for c in ['2', '3', '4', '6', '1', '2', '4'] {
        app.handle_event(key(KeyCode::Char(c)));
        worst = worst.max(frame(&mut app, &mut term));
    }
    println!("view switch, worst frame over 7 switches: {worst:.2?}");

    app.handle_event(key(KeyCode::Char('5')));
    let first_logs = frame(&mut app, &mut term);
    let indexed = settle(&mut app, Duration::from_secs(60));
    println!("Logs: first frame {first_logs:.2?}; indexing done after {indexed:.2?}");

    let (mut worst, mut total, mut n) = (Duration::ZERO, Duration::ZERO, 0u32);
    for code in
        [KeyCode::PageDown; 40].into_iter().chain([KeyCode::End, KeyCode::Home]).chain([KeyCode::Down; 40])
    {
        app.handle_event(key(code));
        app.tick();
        let d = frame(&mut app, &mut term);
        worst = worst.max(d);
        total += d;
        n += 1;
    }
    println!("Logs scrolling: {n} frames, mean {:.2?}, worst {worst:.2?}", total / n);

    // A regex only the nccl-tests footer at the very end matches: the whole log is searched.
    app.handle_event(key(KeyCode::Home));
    app.handle_event(key(KeyCode::Char('/')));
    for c in r"Avg bus bandwidth\s+:".chars() {
        app.handle_event(key(KeyCode::Char(c)));
    }
    app.handle_event(key(KeyCode::Enter));
    let searched = settle(&mut app, Duration::from_secs(120));
    frame(&mut app, &mut term);
    let screen: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    println!(
        "whole-log regex search: {searched:.2?} (found on screen: {})",
        screen.contains("Avg bus bandwidth")
    );
}
