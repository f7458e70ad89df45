//! A readable comparison of expected and actual program output.

use std::fmt::Write;

/// At most this many lines around the first difference are shown.
const CONTEXT_LINES: usize = 3;
/// At most this many differing lines are listed.
const MAX_LISTED: usize = 40;

/// Describes how `actual` differs from `expected`, line by line: the first
/// differing line number, then `-expected` / `+actual` pairs with a little
/// context. Returns `None` when they are equal.
pub fn describe(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let want: Vec<&str> = expected.split_inclusive('\n').collect();
    let got: Vec<&str> = actual.split_inclusive('\n').collect();
    let first = want
        .iter()
        .zip(&got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "stdout differs from line {} (expected {} lines, got {}):",
        first + 1,
        want.len(),
        got.len()
    );
    for (i, line) in want
        .iter()
        .enumerate()
        .take(first)
        .skip(first.saturating_sub(CONTEXT_LINES))
    {
        let _ = writeln!(out, "  {:>4}  {}", i + 1, show(line));
    }
    let mut listed = 0;
    for i in first..want.len().max(got.len()) {
        let (a, b) = (want.get(i), got.get(i));
        if a == b {
            continue;
        }
        if listed == MAX_LISTED {
            let _ = writeln!(out, "  ... more differences");
            break;
        }
        listed += 1;
        if let Some(a) = a {
            let _ = writeln!(out, "- {:>4}  {}", i + 1, show(a));
        }
        if let Some(b) = b {
            let _ = writeln!(out, "+ {:>4}  {}", i + 1, show(b));
        }
    }
    Some(out)
}

/// A line without its newline; a missing final newline is made visible.
fn show(line: &str) -> String {
    let (text, ending) = match line.strip_suffix('\n') {
        Some(text) => (text, ""),
        None => (line, "⏎(no newline at end)"),
    };
    // Trailing blanks would be invisible in the report.
    let trimmed = text.trim_end();
    let blanks = text.len() - trimmed.len();
    format!("{trimmed}{}{ending}", "·".repeat(blanks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_outputs_have_no_description() {
        assert_eq!(describe("a\nb\n", "a\nb\n"), None);
    }

    #[test]
    fn names_the_first_differing_line() {
        let d = describe("a\nb\nc\n", "a\nx\nc\n").expect("differs");
        assert!(d.contains("from line 2"), "{d}");
        assert!(d.contains("-    2  b"), "{d}");
        assert!(d.contains("+    2  x"), "{d}");
        assert!(!d.contains("-    3"), "{d}");
    }

    #[test]
    fn shows_missing_and_extra_lines() {
        let d = describe("a\nb\n", "a\n").expect("differs");
        assert!(d.contains("expected 2 lines, got 1"), "{d}");
        assert!(d.contains("-    2  b"), "{d}");
        let d = describe("a\n", "a").expect("differs");
        assert!(d.contains("no newline"), "{d}");
        let d = describe("a\n", "a \n").expect("differs");
        assert!(d.contains("+    1  a·"), "{d}");
    }
}
