//! Delta reduction of an IL program: remove what can be removed while a
//! property (a pipeline still disagrees with the interpreter) holds.
//!
//! Two passes, repeated until neither removes anything: whole top-level
//! items (functions, data, types) one at a time, then lines inside
//! functions in chunks that halve down to single lines (ddmin). A
//! candidate that is no longer valid IL or that reaches undefined
//! behaviour fails the property, since the property runs the reader and
//! the interpreter first; so what is left is a valid program.

/// A top-level item: its lines `start..end` in the program.
struct Item {
    start: usize,
    end: usize,
    /// `main` and whatever defines the entry stay.
    keep: bool,
}

fn items(lines: &[&str]) -> Vec<Item> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        let is_function = line.starts_with("function") || line.starts_with("export function");
        if is_function {
            let start = i;
            while i < lines.len() && lines[i].trim_end() != "}" {
                i += 1;
            }
            found.push(Item {
                start,
                end: (i + 1).min(lines.len()),
                keep: line.contains("$main("),
            });
        } else if line.starts_with("data") || line.starts_with("type") {
            found.push(Item {
                start: i,
                end: i + 1,
                keep: false,
            });
        }
        i += 1;
    }
    found
}

/// Lines of function bodies (not the header or the closing brace).
fn body_lines(lines: &[&str]) -> Vec<usize> {
    let mut inside = false;
    let mut body = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with("function") || t.starts_with("export function") {
            inside = true;
        } else if t == "}" {
            inside = false;
        } else if inside && t != "@start" {
            body.push(i);
        }
    }
    body
}

fn join(lines: &[&str], removed: &[bool]) -> String {
    // Only whole items are removed this way.
    let mut text = String::new();
    for (line, gone) in lines.iter().zip(removed) {
        if !gone {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// The smallest program found from `text` for which `holds` is true
/// (`holds(text)` must be). `holds` is called once per candidate.
pub fn reduce(text: &str, mut holds: impl FnMut(&str) -> bool) -> String {
    let mut current = text.to_string();
    loop {
        let before = current.clone();
        current = remove_items(&current, &mut holds);
        current = in_chunks(&current, &mut holds, neutralise);
        current = propagate_constants(&current, &mut holds);
        current = in_chunks(&current, &mut holds, |_| Some(None));
        if current == before {
            return current;
        }
    }
}

fn remove_items(text: &str, holds: &mut impl FnMut(&str) -> bool) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut removed = vec![false; lines.len()];
    for item in items(&lines).iter().rev().filter(|i| !i.keep) {
        removed[item.start..item.end].fill(true);
        if !holds(&join(&lines, &removed)) {
            removed[item.start..item.end].fill(false);
        }
    }
    join(&lines, &removed)
}

/// A definition of a base-type value by anything but a constant copy
/// becomes a copy of zero: the program stays valid SSA, and what fed
/// the instruction may become dead.
fn neutralise(line: &str) -> Option<Option<String>> {
    let (lhs, rhs) = line.split_once('=')?;
    let name = lhs.trim();
    if !name.starts_with('%') {
        return None;
    }
    let mut words = rhs.split_whitespace();
    let ty = words.next()?;
    let zero = match ty {
        "w" | "l" => "0",
        "s" => "s_0",
        "d" => "d_0",
        _ => return None,
    };
    if rhs.trim() == format!("{ty} copy {zero}") {
        return None;
    }
    Some(Some(format!("\t{name} ={ty} copy {zero}")))
}

/// Every `%v =T copy CONSTANT` is removed and its uses take the constant.
fn propagate_constants(text: &str, holds: &mut impl FnMut(&str) -> bool) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut constants = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        let words: Vec<&str> = rhs.split_whitespace().collect();
        let name = lhs.trim();
        if name.starts_with('%') && words.len() == 3 && words[1] == "copy" {
            let c = words[2];
            if !c.starts_with(['%', '$']) {
                constants.push((i, name.to_string(), c.to_string()));
            }
        }
    }
    if constants.is_empty() {
        return text.to_string();
    }
    for (i, _, _) in &constants {
        lines[*i].clear();
    }
    for line in lines.iter_mut() {
        if line.is_empty() {
            continue;
        }
        let mut out = String::with_capacity(line.len());
        for (k, piece) in split_keeping_names(line).into_iter().enumerate() {
            let replaced = (k > 0 || !line.trim_start().starts_with('%'))
                .then(|| constants.iter().find(|(_, n, _)| *n == piece))
                .flatten();
            match replaced {
                Some((_, _, c)) => out.push_str(c),
                None => out.push_str(&piece),
            }
        }
        *line = out;
    }
    let candidate: String = lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    if holds(&candidate) {
        candidate
    } else {
        text.to_string()
    }
}

/// `line` cut so that each `%name` is a piece of its own.
fn split_keeping_names(line: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut in_name = false;
    for c in line.chars() {
        let name_char = c.is_ascii_alphanumeric() || c == '_' || c == '.';
        if c == '%' || (in_name && !name_char) {
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            in_name = c == '%';
        }
        current.push(c);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Applies `change` (`None`: not applicable; `Some(None)`: remove the
/// line; `Some(Some(l))`: replace it) to function-body lines, in chunks
/// that halve down to single lines, keeping each chunk's change when the
/// property still holds.
fn in_chunks(
    text: &str,
    holds: &mut impl FnMut(&str) -> bool,
    change: impl Fn(&str) -> Option<Option<String>>,
) -> String {
    let mut lines: Vec<Option<String>> = text.lines().map(|l| Some(l.to_string())).collect();
    let originals: Vec<&str> = text.lines().collect();
    let targets: Vec<usize> = body_lines(&originals)
        .into_iter()
        .filter(|&i| change(originals[i]).is_some())
        .collect();
    let render = |lines: &[Option<String>]| -> String {
        lines.iter().flatten().map(|l| format!("{l}\n")).collect()
    };
    let mut chunk = targets.len().div_ceil(2).max(1);
    let mut done = vec![false; lines.len()];
    loop {
        let open: Vec<usize> = targets.iter().copied().filter(|&i| !done[i]).collect();
        // From the end, so that uses go before the definitions they need.
        for piece in open.rchunks(chunk) {
            let saved: Vec<Option<String>> = piece.iter().map(|&i| lines[i].clone()).collect();
            for &i in piece {
                lines[i] = change(originals[i]).expect("a target");
            }
            if holds(&render(&lines)) {
                for &i in piece {
                    done[i] = true;
                }
            } else {
                for (&i, old) in piece.iter().zip(saved) {
                    lines[i] = old;
                }
            }
        }
        if chunk == 1 || targets.is_empty() {
            return render(&lines);
        }
        chunk = chunk.div_ceil(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = "\
data $unused = { w 1 }
function w $helper() {
@start
\tret 1
}
export function w $main() {
@start
\t%a =w copy 1
\t%b =w add %a, 2
\t%c =w mul %b, 3
\t%d =w sub %c, 4
\tret 0
}
";

    #[test]
    fn keeps_only_what_the_property_needs() {
        // The property: `%b` is still computed and main still returns.
        let mut calls = 0;
        let reduced = reduce(PROGRAM, |t| {
            calls += 1;
            t.contains("%b =w add") && t.contains("ret 0") && t.contains("$main")
        });
        assert_eq!(
            reduced,
            "export function w $main() {\n@start\n\t%b =w add 0, 2\n\tret 0\n}\n"
        );
        assert!(calls < 60, "{calls} candidates");
    }

    #[test]
    fn definitions_become_constants_that_replace_their_uses() {
        // The property: the function still returns through a `mul`.
        let reduced = reduce(PROGRAM, |t| {
            t.contains("mul") && t.contains("ret 0") && t.contains("$main")
        });
        assert_eq!(
            reduced,
            "export function w $main() {\n@start\n\t%c =w mul 0, 3\n\tret 0\n}\n"
        );
    }

    #[test]
    fn names_are_replaced_whole() {
        let pieces = split_keeping_names("\t%v1 =w add %v10, %v1");
        assert_eq!(pieces, ["\t", "%v1", " =w add ", "%v10", ", ", "%v1"]);
    }

    #[test]
    fn keeps_a_program_that_cannot_shrink() {
        let reduced = reduce(PROGRAM, |t| t == PROGRAM);
        assert_eq!(reduced, PROGRAM);
    }
}
