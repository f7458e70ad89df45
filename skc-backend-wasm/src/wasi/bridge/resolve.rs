//! Deciding where IL and the other inputs disagree about a function's
//! signature, and which adapters and renames reconcile them.
//!
//! Symbols resolve as wasm-ld resolves them: the first strong definition
//! among the objects, a weak one if there is no strong one, then the
//! first archive that defines a name still undefined. Two cases are
//! bridged:
//! - IL references a function defined elsewhere with another signature:
//!   the reference is renamed to a hidden adapter
//!   `__skc_bridge.NAME.SIG` taking the IL's signature and calling the
//!   definition.
//! - Non-IL objects reference a function the IL defines, with another
//!   signature: the IL definition (and IL references to it) becomes
//!   `__skc_il.NAME`, and an adapter named `NAME` with the other side's
//!   signature calls it.
//!
//! References from archive members are not seen (their callees are the C
//! library's own); non-IL objects disagreeing among themselves are left
//! to wasm-ld, which is told to make that fatal.

use std::collections::HashMap;

use anyhow::{bail, Result};

use super::adapters::{Adapter, Around};
use super::objects::ObjectFunctions;
use super::signature::{Signature, Val};
use crate::ir_passes::setjmp::c_frames;
use crate::wasi::lp64::errno;

/// One input of the link, in link order.
pub struct Unit {
    /// How messages name it (a file name).
    pub label: String,
    /// Whether it is an archive, whose members are linked only when they
    /// define something still undefined.
    pub archive: bool,
    /// Its functions (for an archive, those of all its members).
    pub functions: ObjectFunctions,
}

impl Unit {
    /// How messages name the inputs that use the symbol `name`: the IL
    /// files of an object compiled from several, else the unit's label.
    pub fn users(&self, name: &str) -> Vec<String> {
        match self.functions.used_by.get(name) {
            Some(users) if !users.is_empty() => users.clone(),
            _ => vec![self.label.clone()],
        }
    }
}

/// What the bridge writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decisions {
    /// For each unit, the function symbols renamed in it (empty for all
    /// but IL objects).
    pub renames: Vec<HashMap<String, String>>,
    /// The adapters, in a stable order.
    pub adapters: Vec<Adapter>,
}

/// The prefix of an IL definition that non-IL code reaches through an
/// adapter.
pub const IL_DEFINITION_PREFIX: &str = "__skc_il.";
/// The prefix of the adapters that IL references go through.
pub const BRIDGE_PREFIX: &str = "__skc_bridge.";

struct Definition<'a> {
    unit: usize,
    signature: &'a Signature,
    weak: bool,
}

/// The decisions for `units`.
pub fn resolve(units: &[Unit]) -> Result<Decisions> {
    let mut definitions: HashMap<&str, Definition<'_>> = HashMap::new();
    for (i, unit) in units.iter().enumerate().filter(|(_, u)| !u.archive) {
        for d in &unit.functions.defined {
            let replace = match definitions.get(d.name.as_str()) {
                None => true,
                Some(old) => old.weak && !d.weak,
            };
            if replace {
                let def = Definition {
                    unit: i,
                    signature: &d.signature,
                    weak: d.weak,
                };
                definitions.insert(&d.name, def);
            }
        }
    }
    for (i, unit) in units.iter().enumerate().filter(|(_, u)| u.archive) {
        for d in &unit.functions.defined {
            definitions.entry(&d.name).or_insert(Definition {
                unit: i,
                signature: &d.signature,
                weak: d.weak,
            });
        }
    }

    let mut decisions = Decisions {
        renames: vec![HashMap::new(); units.len()],
        adapters: Vec::new(),
    };
    let is_il = |i: usize| units[i].functions.is_il && !units[i].archive;

    // Non-IL objects calling an IL definition with another signature.
    let mut il_definition_names: HashMap<&str, String> = HashMap::new();
    let mut names: Vec<&&str> = definitions.keys().collect();
    names.sort();
    for &name in names {
        let def = &definitions[name];
        if !is_il(def.unit) {
            continue;
        }
        let mut seen: Vec<(&Signature, usize)> = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            if unit.archive || is_il(i) {
                continue;
            }
            // A C object's reference has its declared type even when
            // only its address is taken: a call through that address
            // uses it.
            for u in unit.functions.undefined.iter().filter(|u| u.name == name) {
                if !seen.iter().any(|(s, _)| *s == &u.signature) {
                    seen.push((&u.signature, i));
                }
            }
        }
        let others: Vec<_> = seen.iter().filter(|(s, _)| *s != def.signature).collect();
        let Some(&&(theirs, at)) = others.first() else {
            continue;
        };
        if seen.len() > 1 {
            let (a, b) = (seen[0], seen[1]);
            bail!(
                "function `{name}`: `{}` calls it as {} and `{}` as {}; \
                 one definition cannot serve both",
                units[a.1].label,
                a.0,
                units[b.1].label,
                b.0
            );
        }
        check_convertible(
            name,
            theirs,
            &units[at].label,
            def.signature,
            &units[def.unit].label,
        )?;
        let internal = format!("{IL_DEFINITION_PREFIX}{name}");
        decisions.renames[def.unit].insert(name.to_string(), internal.clone());
        decisions.adapters.push(Adapter {
            name: name.to_string(),
            hidden: false,
            signature: theirs.clone(),
            target: internal.clone(),
            target_signature: def.signature.clone(),
            around: Vec::new(),
        });
        il_definition_names.insert(name, internal);
    }

    // IL calling a definition with another signature, or a C function
    // that may set `errno` in a program whose IL reads it, or one that may
    // call IL back in a program whose IL may `longjmp`.
    let errno_sync = uses_runtime_pair(units, &definitions, errno::LOCATION, errno::SYNC);
    let count_c_frames = uses_runtime_pair(units, &definitions, c_frames::CHECK, c_frames::ENTER);
    let mut bridges: HashMap<String, ()> = HashMap::new();
    for (i, unit) in units.iter().enumerate() {
        if !is_il(i) {
            continue;
        }
        for u in &unit.functions.undefined {
            // skc gives a function whose address alone the IL takes a
            // placeholder type; its table entry is the definition itself.
            if u.address_only {
                if let Some(target) = il_definition_names.get(u.name.as_str()) {
                    decisions.renames[i].insert(u.name.clone(), target.clone());
                }
                continue;
            }
            let Some(def) = definitions.get(u.name.as_str()) else {
                continue;
            };
            let target = il_definition_names
                .get(u.name.as_str())
                .cloned()
                .unwrap_or_else(|| u.name.clone());
            let mut around = Vec::new();
            let in_c = !units[def.unit].functions.is_il;
            if count_c_frames
                && in_c
                && (!units[def.unit].archive || c_frames::CALLING_BACK.contains(&u.name.as_str()))
            {
                around.push(Around::C_FRAME);
            }
            if errno_sync && in_c && errno::may_set_errno(&u.name) {
                around.push(Around::ERRNO);
            }
            if &u.signature == def.signature && around.is_empty() {
                if target != u.name {
                    decisions.renames[i].insert(u.name.clone(), target);
                }
                continue;
            }
            check_convertible(
                &u.name,
                &u.signature,
                &unit.label,
                def.signature,
                &units[def.unit].label,
            )?;
            let adapter = format!("{BRIDGE_PREFIX}{}.{}", u.name, u.signature.code());
            if bridges.insert(adapter.clone(), ()).is_none() {
                decisions.adapters.push(Adapter {
                    name: adapter.clone(),
                    hidden: true,
                    signature: u.signature.clone(),
                    target,
                    target_signature: def.signature.clone(),
                    around,
                });
            }
            decisions.renames[i].insert(u.name.clone(), adapter);
        }
    }
    Ok(decisions)
}

/// Whether IL calls `used` and the unit that defines it also defines
/// `companion`: skc's runtime (`__errno_location` and its
/// synchronisation point, [`errno`]; the `longjmp` check and the C frame
/// count, [`c_frames`]). A program defining `used` itself has its own.
fn uses_runtime_pair(
    units: &[Unit],
    definitions: &HashMap<&str, Definition<'_>>,
    used: &str,
    companion: &str,
) -> bool {
    let il_uses = units.iter().any(|u| {
        u.functions.is_il && !u.archive && u.functions.undefined.iter().any(|f| f.name == used)
    });
    let unit = |name| definitions.get(name).map(|d| d.unit);
    il_uses && unit(used).is_some() && unit(used) == unit(companion)
}

/// Whether a value of type `from` can be handed on as `to`.
fn convertible(from: Val, to: Val) -> bool {
    from == to && from != Val::Other
        || matches!((from, to), (Val::I32, Val::I64) | (Val::I64, Val::I32))
}

/// Refuses a pair of signatures no adapter converts between: a caller
/// using `caller` and a definition `callee`. Extra or missing trailing
/// arguments, and a result on one side only, are bridged.
fn check_convertible(
    name: &str,
    caller: &Signature,
    caller_label: &str,
    callee: &Signature,
    callee_label: &str,
) -> Result<()> {
    let params = caller
        .params
        .iter()
        .zip(&callee.params)
        .all(|(&a, &b)| convertible(a, b));
    let results = match (caller.results.as_slice(), callee.results.as_slice()) {
        ([a], [b]) => convertible(*b, *a),
        ([], []) | ([_], []) | ([], [_]) => true,
        _ => false,
    };
    let others = |s: &Signature| s.params.iter().chain(&s.results).any(|&v| v == Val::Other);
    if params && results && !others(caller) && !others(callee) {
        return Ok(());
    }
    bail!(
        "function `{name}`: `{caller_label}` uses it as {caller} but `{callee_label}` \
         defines it as {callee}; only integer widths and trailing arguments can be \
         adapted, not floating-point against integer values"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::bridge::objects::FunctionSymbol;

    fn sig(code: &str) -> Signature {
        Signature::from_code(code).unwrap()
    }

    fn sym(name: &str, code: &str) -> FunctionSymbol {
        FunctionSymbol {
            name: name.into(),
            signature: sig(code),
            weak: false,
            address_only: false,
        }
    }

    fn unit(
        label: &str,
        il: bool,
        archive: bool,
        def: &[(&str, &str)],
        undef: &[(&str, &str)],
    ) -> Unit {
        Unit {
            label: label.into(),
            archive,
            functions: ObjectFunctions {
                is_il: il,
                defined: def.iter().map(|(n, c)| sym(n, c)).collect(),
                undefined: undef.iter().map(|(n, c)| sym(n, c)).collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn il_calling_a_narrower_c_function_goes_through_a_hidden_adapter() {
        let units = [
            unit(
                "p.ssa",
                true,
                false,
                &[("main", "ii_i")],
                &[("strspn", "jj_j"), ("puts", "i_i")],
            ),
            unit(
                "libc.a",
                false,
                true,
                &[("strspn", "ii_i"), ("puts", "i_i")],
                &[],
            ),
        ];
        let d = resolve(&units).unwrap();
        assert_eq!(d.adapters.len(), 1);
        let a = &d.adapters[0];
        assert_eq!(a.name, "__skc_bridge.strspn.jj_j");
        assert!(a.hidden);
        assert_eq!(
            (a.signature.code(), a.target.as_str()),
            ("jj_j".into(), "strspn")
        );
        assert_eq!(a.target_signature, sig("ii_i"));
        assert_eq!(
            d.renames[0].get("strspn").map(String::as_str),
            Some("__skc_bridge.strspn.jj_j")
        );
        assert!(!d.renames[0].contains_key("puts"));
        assert!(d.renames[1].is_empty());
    }

    #[test]
    fn c_calling_an_il_definition_reaches_it_through_an_adapter_of_its_name() {
        let units = [
            unit("p.ssa", true, false, &[("f", "j_j")], &[]),
            unit("q.ssa", true, false, &[], &[("f", "j_j")]),
            unit("driver.c", false, false, &[("main", "_i")], &[("f", "i_i")]),
        ];
        let d = resolve(&units).unwrap();
        assert_eq!(d.renames[0]["f"], "__skc_il.f");
        assert_eq!(d.renames[1]["f"], "__skc_il.f");
        assert!(d.renames[2].is_empty());
        assert_eq!(d.adapters.len(), 1);
        let a = &d.adapters[0];
        assert_eq!(
            (a.name.as_str(), a.target.as_str(), a.hidden),
            ("f", "__skc_il.f", false)
        );
        assert_eq!(
            (a.signature.code(), a.target_signature.code()),
            ("i_i".into(), "j_j".into())
        );
    }

    #[test]
    fn a_c_function_pointer_reaches_the_il_through_an_adapter_but_il_placeholders_do_not_count() {
        let mut c = unit("driver.c", false, false, &[], &[("f0", "ij_i")]);
        c.functions.undefined[0].address_only = true;
        let mut il2 = unit("q.ssa", true, false, &[], &[("f0", "_"), ("g", "_")]);
        for u in &mut il2.functions.undefined {
            u.address_only = true;
        }
        let units = [
            unit("p.ssa", true, false, &[("f0", "jj_i"), ("g", "j_")], &[]),
            il2,
            c,
        ];
        let d = resolve(&units).unwrap();
        assert_eq!(d.adapters.len(), 1);
        assert_eq!(d.adapters[0].name, "f0");
        assert_eq!(d.adapters[0].signature, sig("ij_i"));
        assert_eq!(
            d.renames[1]["f0"], "__skc_il.f0",
            "IL addresses reach the IL definition"
        );
        assert!(!d.renames[1].contains_key("g"));
    }

    #[test]
    fn the_first_definition_wins_and_strong_beats_weak() {
        let mut weak = unit("w.o", false, false, &[("g", "i_")], &[]);
        weak.functions.defined[0].weak = true;
        let units = [
            unit("p.ssa", true, false, &[], &[("g", "j_"), ("h", "j_")]),
            weak,
            unit("s.o", false, false, &[("g", "j_")], &[]),
            unit("a.a", false, true, &[("h", "i_"), ("g", "i_")], &[]),
            unit("b.a", false, true, &[("h", "j_")], &[]),
        ];
        let d = resolve(&units).unwrap();
        assert!(!d.renames[0].contains_key("g"));
        assert_eq!(d.renames[0]["h"], "__skc_bridge.h.j_");
        assert_eq!(d.adapters[0].target_signature, sig("i_"));
    }

    #[test]
    fn float_against_integer_is_refused_naming_both_sides() {
        let units = [
            unit("p.ssa", true, false, &[], &[("frexp", "jj_j")]),
            unit("libc.a", false, true, &[("frexp", "di_d")], &[]),
        ];
        let e = resolve(&units).unwrap_err().to_string();
        assert!(
            e.contains("`frexp`") && e.contains("p.ssa") && e.contains("libc.a"),
            "{e}"
        );
        assert!(
            e.contains("(i64, i64) -> i64") && e.contains("(f64, i32) -> f64"),
            "{e}"
        );
    }

    #[test]
    fn c_objects_disagreeing_about_an_il_function_are_refused() {
        let units = [
            unit("p.ssa", true, false, &[("f", "j_j")], &[]),
            unit("a.c", false, false, &[], &[("f", "i_i")]),
            unit("b.c", false, false, &[], &[("f", "j_j")]),
        ];
        let e = resolve(&units).unwrap_err().to_string();
        assert!(e.contains("a.c") && e.contains("b.c"), "{e}");
    }

    #[test]
    fn when_il_reads_errno_its_calls_of_c_that_may_set_it_are_synchronised() {
        let units = [
            unit(
                "p.ssa",
                true,
                false,
                &[("main", "_i"), ("helper", "_")],
                &[
                    ("__errno_location", "_i"),
                    ("strtod", "ii_d"),
                    ("memcpy", "iii_i"),
                    ("strspn", "jj_j"),
                    ("helper", "_"),
                ],
            ),
            unit(
                "libskc_rt.a",
                false,
                true,
                &[("__errno_location", "_i"), ("__skc_errno_sync", "_")],
                &[],
            ),
            unit(
                "libc.a",
                false,
                true,
                &[("strtod", "ii_d"), ("memcpy", "iii_i"), ("strspn", "ii_i")],
                &[],
            ),
        ];
        let d = resolve(&units).unwrap();
        let synced: Vec<_> = d
            .adapters
            .iter()
            .map(|a| (a.name.as_str(), a.around == [Around::ERRNO]))
            .collect();
        assert_eq!(
            synced,
            [
                ("__skc_bridge.strtod.ii_d", true),
                ("__skc_bridge.strspn.jj_j", false)
            ]
        );
        assert_eq!(d.renames[0]["strtod"], "__skc_bridge.strtod.ii_d");
        for quiet in ["memcpy", "__errno_location", "helper"] {
            assert!(!d.renames[0].contains_key(quiet), "{quiet}");
        }
        // Without a reader of errno, or with a runtime of another kind,
        // nothing changes.
        let mut no_reader = units;
        no_reader[0].functions.undefined.remove(0);
        let d = resolve(&no_reader).unwrap();
        assert!(d.adapters.iter().all(|a| a.around.is_empty()));
    }

    #[test]
    fn when_il_may_longjmp_its_calls_of_c_that_may_call_it_back_are_counted() {
        let units = [
            unit(
                "p.ssa",
                true,
                false,
                &[("main", "_i")],
                &[
                    ("__skc_sjlj_check", "i_"),
                    ("__skc_lp64_qsort", "iiii_"),
                    ("c_calls_back", "ji_"),
                    ("puts", "i_i"),
                    ("q", "_"),
                ],
            ),
            unit("q.ssa", true, false, &[("q", "_")], &[]),
            unit("calls.c", false, false, &[("c_calls_back", "ii_")], &[]),
            unit(
                "libskc_rt.a",
                false,
                true,
                &[
                    ("__skc_sjlj_check", "i_"),
                    ("__skc_c_enter", "_"),
                    ("__skc_lp64_qsort", "iiii_"),
                ],
                &[],
            ),
            unit("libc.a", false, true, &[("puts", "i_i")], &[]),
        ];
        let d = resolve(&units).unwrap();
        let counted: Vec<_> = d
            .adapters
            .iter()
            .map(|a| (a.name.as_str(), a.target.as_str(), a.around.clone()))
            .collect();
        assert_eq!(
            counted,
            [
                (
                    "__skc_bridge.__skc_lp64_qsort.iiii_",
                    "__skc_lp64_qsort",
                    vec![Around::C_FRAME]
                ),
                (
                    "__skc_bridge.c_calls_back.ji_",
                    "c_calls_back",
                    vec![Around::C_FRAME]
                ),
            ]
        );
        // `puts` never calls back; `q` is IL.
        assert!(!d.renames[0].contains_key("puts") && !d.renames[0].contains_key("q"));
    }

    #[test]
    fn matching_signatures_need_nothing() {
        let units = [
            unit("p.ssa", true, false, &[("f", "i_i")], &[("g", "i_")]),
            unit("d.c", false, false, &[("g", "i_")], &[("f", "i_i")]),
        ];
        assert_eq!(
            resolve(&units).unwrap(),
            Decisions {
                renames: vec![HashMap::new(), HashMap::new()],
                adapters: Vec::new()
            }
        );
    }
}
