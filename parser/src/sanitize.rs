//! Strips terminal control sequences from a line before anything parses or prints it.
//!
//! Logs captured from a TTY (`script`, `kubectl logs` of a colourised launcher, tmux scrollback)
//! carry ANSI colour codes, cursor movement and OSC strings. They break anchored matches
//! (`NCCL WARN` split by a colour code) and, worse, would be replayed to the user's terminal when
//! we print evidence (OSC 52 writes the clipboard, OSC 8 hides a link target). So every line is
//! cleaned here, once, and the rest of the tool only ever sees inert text.
use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// 8-bit String Terminator (C1 form of `ESC \`).
const ST_C1: char = '\u{9c}';

/// True when every byte is printable ASCII (space to `~`): such a line is valid UTF-8 and has
/// nothing to sanitize. This runs on every line of every input before anything else.
#[inline]
pub fn is_printable_ascii(bytes: &[u8]) -> bool {
    all_bytes::<32>(bytes, |b| (0x20..=0x7e).contains(&b))
}

/// True when every byte is printable ASCII, TAB or `\n`: a block of whole lines that the line
/// reader can hand out as they are (valid UTF-8, nothing to sanitize, no `\r` terminator).
/// Run once per read rather than once per line.
#[inline]
pub fn is_clean_text(bytes: &[u8]) -> bool {
    all_bytes::<64>(bytes, |b| (0x20..=0x7e).contains(&b) || b == b'\n' || b == b'\t')
}

/// Whether `ok` holds for every byte: a fold over fixed-size chunks, with no early exit inside
/// a chunk, so that the compiler vectorises it.
#[inline(always)]
fn all_bytes<const CHUNK: usize>(bytes: &[u8], ok: impl Fn(u8) -> bool) -> bool {
    let mut chunks = bytes.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        if !chunk.iter().fold(true, |acc, &b| acc & ok(b)) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| ok(b))
}

/// True when `bytes` contains anything [`sanitize_line`] would remove: a C0 control other than
/// TAB, DEL, or a C1 control in its UTF-8 form (`C2 80` – `C2 9F`).
///
/// This is the hot-path check: most log lines are plain ASCII and leave here with `false`.
#[inline]
pub fn needs_sanitizing(bytes: &[u8]) -> bool {
    let mut prev_c2 = false;
    for &b in bytes {
        if (b < 0x20 && b != b'\t') || b == 0x7f || (prev_c2 && (0x80..=0x9f).contains(&b)) {
            return true;
        }
        prev_c2 = b == 0xc2;
    }
    false
}

/// Removes ANSI/VT control sequences and control characters (except TAB) from one line.
///
/// Borrows when there is nothing to strip. Removed: CSI (`ESC [` … final byte, and the 8-bit
/// `U+009B`), OSC (`ESC ]` … BEL or ST), DCS/SOS/PM/APC strings (… ST), two-byte and
/// intermediate `ESC` sequences (`ESC 7`, `ESC ( B`), other C1 controls, and every C0 control
/// but TAB (BEL, backspace, CR, NUL, …). An unterminated sequence runs to the end of the line,
/// as a terminal would swallow it.
pub fn sanitize_line(line: &str) -> Cow<'_, str> {
    if !needs_sanitizing(line.as_bytes()) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.peek().copied() {
                None => {}
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']') => {
                    chars.next();
                    skip_string(&mut chars, true);
                }
                Some('P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars, false);
                }
                Some('\u{20}'..='\u{2f}') => {
                    // nF escape (`ESC ( B` charset selection): intermediates, then one final.
                    while matches!(chars.peek(), Some('\u{20}'..='\u{2f}')) {
                        chars.next();
                    }
                    if matches!(chars.peek(), Some('\u{30}'..='\u{7e}')) {
                        chars.next();
                    }
                }
                Some('\u{30}'..='\u{7e}') => {
                    // Two-byte sequence: `ESC 7`, `ESC =`, `ESC M`, `ESC c`, `ESC \` (stray ST).
                    chars.next();
                }
                // ESC followed by a control or non-ASCII char: drop the ESC alone.
                Some(_) => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_string(&mut chars, true),
            '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars, false),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Consumes a CSI body: parameter bytes (0x30–0x3F), intermediates (0x20–0x2F), one final byte
/// (0x40–0x7E). A byte outside those ranges ends the (malformed) sequence and is kept for the
/// caller to judge, so a broken sequence cannot eat real text beyond it.
fn skip_csi(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\u{20}'..='\u{3f}' => {
                chars.next();
            }
            '\u{40}'..='\u{7e}' => {
                chars.next();
                return;
            }
            _ => return,
        }
    }
}

/// Consumes a control string up to and including its terminator: ST (`ESC \` or U+009C), and
/// for OSC also BEL (xterm's terminator, the common one in the wild).
fn skip_string(chars: &mut Chars<'_>, bel_ends: bool) {
    while let Some(c) = chars.next() {
        match c {
            BEL if bel_ends => return,
            ST_C1 => return,
            ESC if chars.peek() == Some(&'\\') => {
                chars.next();
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_ascii_check_agrees_with_the_byte_rule_at_every_position() {
        for len in [0, 1, 31, 32, 33, 64, 100] {
            let line = vec![b'a'; len];
            assert!(super::is_printable_ascii(&line));
            for i in 0..len {
                for bad in [0u8, b'\t', 0x1b, 0x7f, 0x80, 0xc2, 0xff] {
                    let mut l = line.clone();
                    l[i] = bad;
                    assert!(!super::is_printable_ascii(&l), "len {len} at {i} byte {bad:#x}");
                }
            }
        }
    }

    use super::*;

    fn s(line: &str) -> String {
        sanitize_line(line).into_owned()
    }

    #[test]
    fn plain_line_is_borrowed() {
        let line = "host:1:2 [0] NCCL INFO Using network IB\twith tab, ünïcødé";
        assert!(matches!(sanitize_line(line), Cow::Borrowed(_)));
        assert!(!needs_sanitizing("é ü ÿ € 中".as_bytes()));
    }

    #[test]
    fn colour_codes() {
        assert_eq!(s("\x1b[1;31mNCCL WARN\x1b[0m boom"), "NCCL WARN boom");
        assert_eq!(s("\x1b[38;5;196mred\x1b[m"), "red");
        assert_eq!(s("\x1b[38:2::255:0:0mrgb"), "rgb");
    }

    #[test]
    fn osc52_clipboard_write() {
        assert_eq!(s("before\x1b]52;c;ZXZpbCBwYXlsb2Fk\x07after"), "beforeafter");
        assert_eq!(s("before\x1b]52;c;ZXZpbA==\x1b\\after"), "beforeafter");
    }

    #[test]
    fn osc8_hyperlink() {
        let line = "see \x1b]8;;https://evil.example/\x1b\\the docs\x1b]8;;\x1b\\ now";
        assert_eq!(s(line), "see the docs now");
        // 8-bit OSC with 8-bit ST.
        assert_eq!(s("a\u{9d}8;;http://x\u{9c}b"), "ab");
    }

    #[test]
    fn cursor_movement_and_erase() {
        assert_eq!(s("\x1b[2K\x1b[1G\x1b[10;20Hprogress 50%\x1b[?25l"), "progress 50%");
        assert_eq!(s("\x1b7saved\x1b8\x1bM\x1b(B"), "saved");
        assert_eq!(s("x\u{9b}2Jy"), "xy");
    }

    #[test]
    fn dcs_apc_pm_sos() {
        assert_eq!(s("a\x1bPq#0;2;0;0;0\x1b\\b"), "ab");
        assert_eq!(s("a\x1b_Gf=100;AAAA\x1b\\b"), "ab");
        assert_eq!(s("a\x1b^private\x1b\\b"), "ab");
        assert_eq!(s("a\x1bXsos\u{9c}b"), "ab");
    }

    #[test]
    fn bel_backspace_and_other_c0() {
        assert_eq!(s("ding\x07 dong"), "ding dong");
        assert_eq!(s("typo\x08\x08ed"), "typoed");
        assert_eq!(s("nul\0 cr\r del\x7f vt\x0b"), "nul cr del vt");
        assert_eq!(s("\ttab\tkept"), "\ttab\tkept");
        assert_eq!(s("c1 \u{85} next line"), "c1  next line");
    }

    #[test]
    fn unterminated_sequences_at_end_of_line() {
        assert_eq!(s("text\x1b"), "text");
        assert_eq!(s("text\x1b["), "text");
        assert_eq!(s("text\x1b[1;3"), "text");
        assert_eq!(s("text\x1b]0;title without end"), "text");
        assert_eq!(s("text\x1bP"), "text");
    }

    #[test]
    fn malformed_csi_does_not_eat_text() {
        // A control char inside the parameters ends the sequence; the text after survives.
        assert_eq!(s("\x1b[12\x07keep"), "keep");
        assert_eq!(s("\x1b[1é"), "é");
        // ESC followed by non-ASCII: only ESC goes.
        assert_eq!(s("\x1bé"), "é");
    }
}
