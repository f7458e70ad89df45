//! Mutants of programs front ends really wrote: the corpus programs with
//! an operand swapped, a constant changed or an operation replaced by
//! one of the same shape. Most mutants stay valid IL without undefined
//! behaviour; those that do not are told apart by the reader and the
//! reference interpreter, not here.

use crate::rng::Rng;

/// Operations that can stand for one another: same operands, same
/// result type.
const FAMILIES: &[&[&str]] = &[
    &["add", "sub", "mul", "and", "or", "xor"],
    &["div", "udiv", "rem", "urem"],
    &["shl", "shr", "sar"],
    &["extsb", "extub", "extsh", "extuh"],
    &["extsw", "extuw"],
    &["loadsb", "loadub", "loadsh", "loaduh", "loadsw", "loaduw"],
    &["storeb", "storeh", "storew"],
    &["dtosi", "dtoui"],
    &["stosi", "stoui"],
    &["swtof", "uwtof"],
    &["sltof", "ultof"],
    &[
        "ceqw", "cnew", "cslew", "csltw", "csgew", "csgtw", "culew", "cultw", "cugew", "cugtw",
    ],
    &[
        "ceql", "cnel", "cslel", "csltl", "csgel", "csgtl", "culel", "cultl", "cugel", "cugtl",
    ],
    &[
        "ceqd", "cned", "cled", "cltd", "cged", "cgtd", "cod", "cuod",
    ],
    &[
        "ceqs", "cnes", "cles", "clts", "cges", "cgts", "cos", "cuos",
    ],
];

/// Two-operand operations whose operands can be swapped.
const BINARY: &[&str] = &[
    "add", "sub", "mul", "div", "udiv", "rem", "urem", "and", "or", "xor", "shl", "shr", "sar",
];

/// Values at the edges of what integer operations do.
const EDGES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "7",
    "31",
    "32",
    "63",
    "64",
    "255",
    "65535",
    "2147483647",
    "-2147483648",
    "4294967295",
    "9223372036854775807",
    "-9223372036854775808",
];

/// Where an instruction's name and operands are in a line:
/// `%x =T name a, b` or `name a, b`.
fn instruction(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    let start = line.len() - trimmed.len();
    if trimmed.starts_with('%') {
        let eq = line.find('=')?;
        let after = &line[eq + 1..];
        let ty_end = after.find(char::is_whitespace)?;
        let rest = &after[ty_end..];
        let name_start = eq + 1 + ty_end + (rest.len() - rest.trim_start().len());
        let name = line[name_start..].split_whitespace().next()?;
        Some((name_start, name))
    } else {
        let name = trimmed.split_whitespace().next()?;
        Some((start, name))
    }
}

/// One mutation of one line, if the line allows the kind picked.
fn mutate_line(line: &str, rng: &mut Rng) -> Option<String> {
    let (at, name) = instruction(line)?;
    let operands = line[at + name.len()..].trim();
    match rng.below(3) {
        0 => {
            let family = FAMILIES.iter().find(|f| f.contains(&name))?;
            let other = family[rng.below(family.len())];
            (other != name).then(|| format!("{}{other} {operands}", &line[..at]))
        }
        1 => {
            if !BINARY.contains(&name) {
                return None;
            }
            let (a, b) = operands.split_once(',')?;
            Some(format!("{}{name} {}, {}", &line[..at], b.trim(), a.trim()))
        }
        _ => {
            let pieces: Vec<&str> = operands.split(',').map(str::trim).collect();
            let numeric: Vec<usize> = (0..pieces.len())
                .filter(|&i| pieces[i].parse::<i64>().is_ok())
                .collect();
            if numeric.is_empty() || name == "call" || name.starts_with("alloc") {
                return None;
            }
            let i = numeric[rng.below(numeric.len())];
            let old: i64 = pieces[i].parse().ok()?;
            let new = match rng.below(3) {
                0 => old.wrapping_add(1).to_string(),
                1 => old.wrapping_sub(1).to_string(),
                _ => EDGES[rng.below(EDGES.len())].to_string(),
            };
            let mut pieces: Vec<String> = pieces.iter().map(|p| p.to_string()).collect();
            pieces[i] = new;
            Some(format!("{}{name} {}", &line[..at], pieces.join(", ")))
        }
    }
}

/// `text` with one to three lines inside functions mutated, chosen by
/// `seed`; `None` when nothing changed (a program with too little to
/// change, or mutations that cancelled out).
pub fn mutant(text: &str, seed: u64) -> Option<String> {
    let mut rng = Rng::new(seed, 0x6d75_7461_6e74_0001);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut inside = false;
    let body: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let t = lines[i].trim();
            if t.starts_with("function") || t.starts_with("export function") {
                inside = true;
                return false;
            }
            if t == "}" {
                inside = false;
            }
            inside && !t.starts_with('#') && !t.starts_with('@')
        })
        .collect();
    if body.is_empty() {
        return None;
    }
    let wanted = 1 + rng.below(3);
    let mut done = 0;
    for _ in 0..50 {
        if done == wanted {
            break;
        }
        let i = body[rng.below(body.len())];
        if let Some(changed) = mutate_line(&lines[i], &mut rng) {
            lines[i] = changed;
            done += 1;
        }
    }
    let changed: String = lines.iter().map(|l| format!("{l}\n")).collect();
    // Two mutations of one line can cancel out.
    (done > 0 && changed != text).then_some(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = "export function w $main() {\n@start\n\t%a =w sub 10, 3\n\
                           \t%b =w csltw %a, 5\n\tstorew %a, $x\n\tret %b\n}\n";

    #[test]
    fn mutants_differ_and_keep_their_shape() {
        let mut distinct = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let Some(m) = mutant(PROGRAM, seed) else {
                continue;
            };
            assert_ne!(m, PROGRAM, "seed {seed}");
            assert_eq!(m.lines().count(), PROGRAM.lines().count());
            assert!(m.contains("\tret %b\n"), "{m}");
            distinct.insert(m);
        }
        assert!(distinct.len() > 50, "{} distinct mutants", distinct.len());
    }

    #[test]
    fn each_kind_of_mutation() {
        let line = "\t%a =w sub 10, 3";
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = Rng::new(1, 0);
        for _ in 0..200 {
            if let Some(m) = mutate_line(line, &mut rng) {
                seen.insert(m);
            }
        }
        assert!(seen.contains("\t%a =w sub 3, 10"), "{seen:?}");
        assert!(seen.contains("\t%a =w xor 10, 3"), "{seen:?}");
        assert!(seen.contains("\t%a =w sub 11, 3"), "{seen:?}");
        assert!(seen.iter().all(|m| m.starts_with("\t%a =w ")));
    }

    #[test]
    fn the_same_seed_gives_the_same_mutant() {
        assert_eq!(mutant(PROGRAM, 9), mutant(PROGRAM, 9));
    }
}
