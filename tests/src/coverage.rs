//! Which instructions a program uses, read from its text: the measure of
//! how much of the language the generator exercises.

use std::collections::BTreeSet;

pub use skc_ir::instruction_names;

/// The instruction names used in `text` (comparisons spelled out with
/// their type, as the reader takes them).
pub fn instructions_used(text: &str) -> BTreeSet<String> {
    let known: BTreeSet<String> = skc_ir::instruction_names().into_iter().collect();
    let mut used = BTreeSet::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if !line.starts_with(|c: char| c == '%' || c.is_ascii_lowercase()) {
            continue;
        }
        // `%x =T name …` or `name …`.
        let word = match line.split_once('=') {
            Some((lhs, rhs)) if lhs.trim_start().starts_with('%') => {
                rhs.split_whitespace().nth(1).unwrap_or("")
            }
            _ => line.split_whitespace().next().unwrap_or(""),
        };
        let word = word.trim_end_matches(',');
        if known.contains(word) {
            used.insert(word.to_string());
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_defining_and_plain_instructions() {
        let used = instructions_used(
            "function w $f(l %p) {\n@start\n\t%x =w loadsb %p\n\t%c =w csltw %x, 3\n\
             \tstoreb %x, %p\n\tjnz %c, @a, @b\n@a\n\tret %x\n@b\n\thlt\n}\n\
             data $d = { b \"add\" } # call\n",
        );
        let names: Vec<&str> = used.iter().map(String::as_str).collect();
        assert_eq!(names, ["csltw", "hlt", "jnz", "loadsb", "ret", "storeb"]);
    }
}
