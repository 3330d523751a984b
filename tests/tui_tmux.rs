//! End to end: the real binary on a real (tmux) terminal. Opens the TUI on a sample, walks
//! every view with its number key, the help overlay, and quits; the shell behind it must see
//! exit status 0 on the normal screen. Skipped (with a message) when tmux is not installed.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Kills the tmux session however the test ends.
struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).output();
    }
}

impl Session {
    fn capture(&self) -> String {
        Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn send(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.0])
            .args(keys)
            .status()
            .expect("tmux send-keys runs");
        assert!(status.success(), "tmux send-keys {keys:?}");
    }

    /// Polls the pane until `pred` holds; panics with the last screen after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; the pane shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn tmux_available() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}

#[test]
fn tui_walks_every_view_and_quits_cleanly() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not on PATH (install tmux to run the end-to-end TUI test)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_ncclscope");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sample = root.join("samples/p5-socket-fallback.log");
    let name = format!("ncclscope-e2e-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos());
    // The shell prints the exit status after the TUI left the alternate screen.
    let script = format!("'{bin}' '{}'; echo EXITED:$?; sleep 30", sample.display());
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-x", "200", "-y", "50", "-s", &name, "sh", "-c", &script])
        .env_remove("TMUX")
        .status()
        .expect("tmux new-session runs");
    assert!(status.success(), "tmux new-session failed");
    let session = Session(name);
    let long = Duration::from_secs(10);

    let overview = session.wait_for("the Overview with NET_SOCKET_FALLBACK", long, |s| {
        s.contains("Overview —") && s.contains("NET_SOCKET_FALLBACK")
    });
    assert!(overview.contains("socket"), "{overview}");

    for (key, title) in [
        ("2", "Findings ("),
        ("3", "Topology —"),
        ("4", "Ranks ("),
        ("5", "Logs ·"),
        ("6", "Bandwidth —"),
        ("1", "Overview —"),
    ] {
        session.send(&[key]);
        session.wait_for(&format!("view {key} ({title})"), long, |s| s.contains(title));
    }
    session.send(&["?"]);
    session.wait_for("the help overlay", long, |s| s.contains("Help — keys"));
    session.send(&["Escape"]);
    session.wait_for("the help overlay to close", long, |s| {
        !s.contains("Help — keys") && s.contains("Overview —")
    });

    // A smaller window: the TUI redraws for the new size.
    let resized = Command::new("tmux")
        .args(["resize-window", "-t", &session.0, "-x", "100", "-y", "30"])
        .status()
        .expect("tmux resize-window runs");
    assert!(resized.success(), "tmux resize-window");
    session.send(&["2"]);
    let small = session.wait_for("Findings after the resize", long, |s| s.contains("Findings ("));
    let widest = small.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 100, "drawn wider than the window ({widest}):\n{small}");
    session.send(&["1"]);
    session.wait_for("the Overview again", long, |s| s.contains("Overview —"));

    session.send(&["q"]);
    let after = session.wait_for("the TUI to exit", long, |s| s.contains("EXITED:"));
    assert!(after.contains("EXITED:0"), "exit status not 0:\n{after}");
    // Back on the normal screen: none of the TUI's frame is left.
    assert!(!after.contains("Overview —"), "the alternate screen was not left:\n{after}");
}
