//! The C boundary derived from the objects' own types.
//!
//! IL is LP64 (`l` pointers, `long`, `size_t`) while wasm32's C is ILP32,
//! so a function crossing between IL and C code often has two wasm
//! signatures that differ only in i32/i64 widths, or in trailing
//! arguments. Before wasm-ld runs, a plan step (`skc --backend-step wasm32
//! lp64-bridge …`, [`run_step`]) reads the function signatures every input
//! defines and imports ([`objects`], archives through [`archive`] and a
//! cache), decides where the two sides disagree ([`resolve`]), and writes:
//! - an object of adapter functions converting between the signatures
//!   ([`adapters`]),
//! - copies of the IL objects whose symbols are routed through them
//!   ([`rename`]).
//!
//! Mismatches no adapter can bridge (a float where the other side has an
//! integer) are errors before the link, naming both sides.

pub mod adapters;
pub mod archive;
pub mod objects;
pub mod rename;
pub mod resolve;
pub mod signature;
pub mod undefined;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use objects::ObjectFunctions;
use resolve::Unit;

/// The step's name on skc's command line.
pub const STEP_NAME: &str = "lp64-bridge";

/// One input of the link as the plan hands it to the step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepInput {
    /// An object written by skc's IL code generator, copied with its
    /// renames to `output`.
    Il {
        /// The object.
        input: PathBuf,
        /// Where the rewritten copy goes (it is what wasm-ld links).
        output: PathBuf,
        /// The IL source, for messages.
        label: String,
    },
    /// Any other object or archive.
    File(PathBuf),
    /// An object compiled from a C input during this link, named in
    /// messages after its source.
    Compiled {
        /// The object.
        path: PathBuf,
        /// The C source.
        label: String,
    },
    /// `-LDIR`.
    Dir(PathBuf),
    /// `-lNAME`.
    Lib(OsString),
    /// The archive of stand-ins for functions WASI lacks
    /// ([`crate::wasi::lp64::stubs`]), linked last.
    Stubs(PathBuf),
    /// `--no-stubs`: a call to a function only a stand-in defines is an
    /// error.
    NoStubs,
    /// The link has `-Wl,` arguments, which may change what an undefined
    /// symbol means (`--allow-undefined`): wasm-ld judges them alone.
    LinkerArgs,
}

/// The step's arguments: `ADAPTERS CACHE_DIR ITEM…` (an empty CACHE_DIR: no
/// cache) with ITEM one of
/// `il IN OUT LABEL`, `file PATH`, `compiled PATH LABEL`, `dir DIR`,
/// `lib NAME`, `stubs PATH`,
/// `no-stubs`, `linker-args`.
pub fn step_args(adapters: &Path, cache_dir: &Path, inputs: &[StepInput]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![STEP_NAME.into(), adapters.into(), cache_dir.into()];
    for input in inputs {
        match input {
            StepInput::Il {
                input,
                output,
                label,
            } => args.extend(["il".into(), input.into(), output.into(), label.into()]),
            StepInput::File(p) => args.extend(["file".into(), p.into()]),
            StepInput::Compiled { path, label } => {
                args.extend(["compiled".into(), path.into(), label.into()])
            }
            StepInput::Dir(d) => args.extend(["dir".into(), d.into()]),
            StepInput::Lib(n) => args.extend(["lib".into(), n.clone()]),
            StepInput::Stubs(p) => args.extend(["stubs".into(), p.into()]),
            StepInput::NoStubs => args.push("no-stubs".into()),
            StepInput::LinkerArgs => args.push("linker-args".into()),
        }
    }
    args
}

fn parse_step_args(args: &[OsString]) -> Result<(PathBuf, PathBuf, Vec<StepInput>)> {
    let usage = "usage: lp64-bridge ADAPTERS CACHE_DIR \
                 [il IN OUT LABEL | file PATH | compiled PATH LABEL | dir DIR | lib NAME \
                 | stubs PATH | no-stubs | linker-args]...";
    let [adapters, cache, rest @ ..] = args else {
        bail!("{usage}");
    };
    let mut inputs = Vec::new();
    let mut rest = rest;
    while let [kind, tail @ ..] = rest {
        let path = |a: &OsString| PathBuf::from(a);
        rest = match (kind.to_str(), tail) {
            (Some("il"), [i, o, label, tail @ ..]) => {
                inputs.push(StepInput::Il {
                    input: path(i),
                    output: path(o),
                    label: label.to_string_lossy().into_owned(),
                });
                tail
            }
            (Some("file"), [p, tail @ ..]) => {
                inputs.push(StepInput::File(path(p)));
                tail
            }
            (Some("compiled"), [p, label, tail @ ..]) => {
                inputs.push(StepInput::Compiled {
                    path: path(p),
                    label: label.to_string_lossy().into_owned(),
                });
                tail
            }
            (Some("dir"), [d, tail @ ..]) => {
                inputs.push(StepInput::Dir(path(d)));
                tail
            }
            (Some("lib"), [n, tail @ ..]) => {
                inputs.push(StepInput::Lib(n.clone()));
                tail
            }
            (Some("stubs"), [p, tail @ ..]) => {
                inputs.push(StepInput::Stubs(path(p)));
                tail
            }
            (Some("no-stubs"), tail) => {
                inputs.push(StepInput::NoStubs);
                tail
            }
            (Some("linker-args"), tail) => {
                inputs.push(StepInput::LinkerArgs);
                tail
            }
            _ => bail!("{usage}"),
        };
    }
    Ok((adapters.into(), cache.into(), inputs))
}

/// Runs the step: reads every input's functions, decides, writes the
/// adapter object and the renamed IL objects.
pub fn run_step(args: &[OsString]) -> Result<()> {
    let (adapters_out, cache_dir, inputs) = parse_step_args(args)?;
    let dirs: Vec<&PathBuf> = inputs
        .iter()
        .filter_map(|i| match i {
            StepInput::Dir(d) => Some(d),
            _ => None,
        })
        .collect();
    let mut units: Vec<Unit> = Vec::new();
    let mut il_objects: Vec<(usize, Vec<u8>, &Path)> = Vec::new();
    let mut stubs_unit = None;
    let mut refuse_stubs = false;
    // Whether the step sees every definition wasm-ld will: then it names
    // undefined symbols itself, with the IL input that uses each.
    let mut sees_everything = true;
    for input in &inputs {
        match input {
            StepInput::Il {
                input,
                output,
                label,
            } => {
                let bytes = std::fs::read(input)
                    .with_context(|| format!("cannot read `{}`", input.display()))?;
                let mut functions = objects::read(&bytes).with_context(|| {
                    format!("cannot read the wasm object `{}`", input.display())
                })?;
                functions.is_il = true;
                il_objects.push((units.len(), bytes, output));
                units.push(Unit {
                    label: label.clone(),
                    archive: false,
                    functions,
                });
            }
            StepInput::File(path) => match read_file(path, &cache_dir)? {
                Some(unit) => units.push(unit),
                None => sees_everything = false,
            },
            StepInput::Compiled { path, label } => match read_file(path, &cache_dir)? {
                Some(unit) => units.push(Unit {
                    label: label.clone(),
                    ..unit
                }),
                None => sees_everything = false,
            },
            StepInput::Lib(name) => {
                let mut file = OsString::from("lib");
                file.push(name);
                file.push(".a");
                match dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) {
                    Some(path) => units.extend(read_file(&path, &cache_dir)?),
                    None => sees_everything = false,
                }
            }
            StepInput::Stubs(path) => {
                stubs_unit = Some(units.len());
                units.extend(read_file(path, &cache_dir)?);
            }
            StepInput::NoStubs => refuse_stubs = true,
            StepInput::LinkerArgs => sees_everything = false,
            StepInput::Dir(_) => {}
        }
    }
    let uses = stub_uses(&units, stubs_unit);
    if let Some(message) = crate::wasi::lp64::stubs::note(&uses, refuse_stubs) {
        if refuse_stubs {
            bail!("{message}");
        }
        eprintln!("skc: note: {message}");
    }
    if sees_everything {
        if let Some(message) = undefined::message(&units) {
            bail!("{message}");
        }
    }
    let decisions = resolve::resolve(&units)?;
    for (unit, bytes, output) in il_objects {
        let renamed = rename::rename_functions(&bytes, &decisions.renames[unit])
            .with_context(|| format!("cannot rewrite the object of `{}`", units[unit].label))?;
        write_file(output, &renamed)?;
    }
    write_file(&adapters_out, &adapters::write_object(&decisions.adapters)?)
}

/// The functions with a stand-in ([`crate::wasi::lp64::stubs`]) that objects
/// reference and no other input defines, with the objects referencing
/// each. `stubs_unit` is the stand-ins' own archive, if linked.
fn stub_uses(
    units: &[Unit],
    stubs_unit: Option<usize>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let defined_elsewhere = |name: &str| {
        units
            .iter()
            .enumerate()
            .filter(|&(i, _)| Some(i) != stubs_unit)
            .any(|(_, u)| u.functions.defined.iter().any(|d| d.name == name))
    };
    let mut uses: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for unit in units.iter().filter(|u| !u.archive) {
        for u in &unit.functions.undefined {
            if crate::wasi::lp64::stubs::is_stubbed(&u.name) && !defined_elsewhere(&u.name) {
                let inputs = uses.entry(u.name.clone()).or_default();
                for user in unit.users(&u.name) {
                    if !inputs.contains(&user) {
                        inputs.push(user);
                    }
                }
            }
        }
    }
    uses
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write `{}`", path.display()))
}

/// The unit of an object or archive; `None` for files that are neither
/// (left for wasm-ld to judge).
fn read_file(path: &Path, cache_dir: &Path) -> Result<Option<Unit>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let label = path.display().to_string();
    if archive::is_archive(&bytes) {
        let functions = archive_functions(&bytes, cache_dir)
            .with_context(|| format!("cannot read the archive `{label}`"))?;
        return Ok(Some(Unit {
            label,
            archive: true,
            functions,
        }));
    }
    if !bytes.starts_with(b"\0asm") {
        return Ok(None);
    }
    let functions =
        objects::read(&bytes).with_context(|| format!("cannot read the wasm object `{label}`"))?;
    Ok(Some(Unit {
        label,
        archive: false,
        functions,
    }))
}

/// The functions an archive's members define (the first member defining
/// a name gives its signature), cached by content in `cache_dir` (none
/// when it is empty).
fn archive_functions(bytes: &[u8], cache_dir: &Path) -> Result<ObjectFunctions> {
    let cache = (!cache_dir.as_os_str().is_empty()).then(|| {
        cache_dir.join(format!(
            "bridge2-{:016x}-{}.sigs",
            fnv1a(bytes),
            bytes.len()
        ))
    });
    if let Some(f) = cache
        .as_ref()
        .and_then(|c| std::fs::read_to_string(c).ok())
        .and_then(|t| objects::from_lines(&t))
    {
        return Ok(f);
    }
    let mut functions = ObjectFunctions::default();
    let mut seen = std::collections::HashSet::new();
    for member in archive::members(bytes)? {
        if !member.data.starts_with(b"\0asm") {
            continue;
        }
        let Ok(f) = objects::read(member.data) else {
            continue;
        };
        for d in f.defined {
            if seen.insert(d.name.clone()) {
                functions.defined.push(d);
            }
        }
        functions.data_defined.extend(f.data_defined);
    }
    // A cache that cannot be written only costs time on the next link.
    if let Some(cache) = cache {
        let _ = write_atomically(&cache, objects::to_lines(&functions).as_bytes());
    }
    Ok(functions)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// FNV-1a, 64 bits: a content key, not a security measure.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_arguments_round_trip() {
        let inputs = vec![
            StepInput::Il {
                input: "a.o".into(),
                output: "b.o".into(),
                label: "p.ssa".into(),
            },
            StepInput::File("c.o".into()),
            StepInput::Compiled {
                path: "d.o".into(),
                label: "d.c".into(),
            },
            StepInput::LinkerArgs,
            StepInput::Dir("/lib".into()),
            StepInput::Lib("m".into()),
            StepInput::Stubs("s.a".into()),
            StepInput::NoStubs,
        ];
        let args = step_args(Path::new("ad.o"), Path::new("/cache"), &inputs);
        assert_eq!(args[0], STEP_NAME);
        let (ad, cache, back) = parse_step_args(&args[1..]).unwrap();
        assert_eq!((ad, cache), ("ad.o".into(), "/cache".into()));
        assert_eq!(back, inputs);
        assert!(parse_step_args(&["x".into()]).is_err());
        assert!(parse_step_args(&["x".into(), "y".into(), "il".into(), "a".into()]).is_err());
    }
}
