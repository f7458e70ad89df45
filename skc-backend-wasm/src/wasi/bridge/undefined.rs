//! Symbols the IL uses and nothing in the link defines, named with the IL
//! input that uses each: wasm-ld would name the temporary object skc
//! compiled them into.
//!
//! The bridge calls this only when it has seen every input wasm-ld will
//! (every `-l` found, no shared library, no `-Wl,` argument that could
//! allow undefined symbols), so an error here is one wasm-ld would give.

use std::collections::{BTreeMap, HashSet};

use super::resolve::Unit;

/// Names wasm-ld defines itself when a program uses them.
const LINKER_DEFINED: &[&str] = &[
    "__data_end",
    "__dso_handle",
    "__global_base",
    "__heap_base",
    "__heap_end",
    "__memory_base",
    "__stack_high",
    "__stack_low",
    "__table_base",
    "__tls_align",
    "__tls_base",
    "__tls_size",
];

fn linker_defined(name: &str) -> bool {
    name.starts_with("__wasm_") || LINKER_DEFINED.contains(&name)
}

/// The error for the IL objects' undefined symbols, if any.
pub fn message(units: &[Unit]) -> Option<String> {
    let mut defined: HashSet<&str> = HashSet::new();
    for u in units {
        defined.extend(u.functions.defined.iter().map(|d| d.name.as_str()));
        defined.extend(u.functions.data_defined.iter().map(String::as_str));
    }
    let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for unit in units.iter().filter(|u| u.functions.is_il && !u.archive) {
        let names = unit
            .functions
            .undefined
            .iter()
            .map(|f| f.name.as_str())
            .chain(unit.functions.data_undefined.iter().map(String::as_str));
        for name in names {
            if defined.contains(name) || linker_defined(name) {
                continue;
            }
            let users = missing.entry(name).or_default();
            for user in unit.users(name) {
                if !users.contains(&user) {
                    users.push(user);
                }
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let list: Vec<String> = missing
        .iter()
        .map(|(name, users)| format!("`{name}` (used by {})", users.join(", ")))
        .collect();
    let (what, verb) = if list.len() == 1 {
        ("undefined symbol", "defines it")
    } else {
        ("undefined symbols", "defines them")
    };
    Some(format!(
        "{what} {}: no input, the C library, its emulation libraries or skc's \
         stand-ins {verb} (docs/wasm32-libc.md)",
        list.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::bridge::objects::{FunctionSymbol, ObjectFunctions};
    use crate::wasi::bridge::signature::Signature;

    fn function(name: &str) -> FunctionSymbol {
        FunctionSymbol {
            name: name.into(),
            signature: Signature::from_code("_").unwrap(),
            weak: false,
            address_only: false,
        }
    }

    fn unit(label: &str, il: bool, defined: &[&str], undefined: &[&str]) -> Unit {
        Unit {
            label: label.into(),
            archive: !il,
            functions: ObjectFunctions {
                is_il: il,
                defined: defined.iter().map(|n| function(n)).collect(),
                undefined: undefined.iter().map(|n| function(n)).collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn names_each_missing_symbol_with_the_il_files_using_it() {
        let mut il = unit(
            "a.ssa",
            true,
            &["main"],
            &["puts", "frob", "__wasm_call_ctors"],
        );
        il.functions.data_undefined = vec!["table".into(), "__heap_base".into()];
        il.functions.used_by = [
            (
                "frob".to_string(),
                vec!["b.ssa".to_string(), "c.ssa".to_string()],
            ),
            ("table".to_string(), vec!["c.ssa".to_string()]),
        ]
        .into();
        let libc = unit("libc.a", false, &["puts"], &[]);
        let m = message(&[il, libc]).expect("an error");
        assert!(
            m.starts_with(
                "undefined symbols `frob` (used by b.ssa, c.ssa), `table` (used by c.ssa):"
            ),
            "{m}"
        );
        assert!(!m.contains("puts") && !m.contains("__heap_base"), "{m}");
    }

    #[test]
    fn a_definition_anywhere_or_a_c_objects_own_references_are_no_error() {
        let il = unit("a.ssa", true, &[], &["helper"]);
        let mut c = unit("helper.c", false, &["helper"], &["nowhere"]);
        c.archive = false;
        assert_eq!(message(&[il, c]), None);
    }
}
