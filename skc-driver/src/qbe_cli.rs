//! qbe's command line, for front ends that run `qbe` as their code
//! generator (cproc runs `qbe -t amd64_sysv [-o FILE] -`):
//! `qbe [-h] [-d FLAGS] [-t TARGET] [-o FILE] [FILE...]`. IL comes from
//! the files, or standard input when there are none or a file is `-`;
//! assembly goes to standard output unless `-o` names a file.
//!
//! It is used when skc runs under the name `qbe` (a link), or when the
//! command line has `-t`, which skc's own command line does not use. The
//! request is translated into skc's own arguments, so everything else
//! (streaming, temporary files, error messages) is the same.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use anyhow::{anyhow, bail, Result};

/// The target qbe builds when `-t` is absent, and what `-t ?` prints.
pub const DEFAULT_TARGET: &str = "amd64_sysv";

/// qbe's target names skc does not build.
const OTHER_QBE_TARGETS: &[&str] = &["amd64_apple", "amd64_win", "arm64", "arm64_apple", "rv64"];

/// What a qbe command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum QbeRequest {
    /// skc's own arguments (program name included) doing the same, and
    /// notes for the user.
    Build {
        /// The arguments for [`crate::cli::parse`].
        args: Vec<OsString>,
        /// Messages to print before building.
        notes: Vec<String>,
    },
    /// `-t ?`: print the default target.
    PrintDefaultTarget,
    /// `-h`: print the usage.
    Help,
}

/// The usage text of `-h`.
pub const USAGE: &str = "usage: qbe [-h] [-d FLAGS] [-t TARGET] [-o FILE] [FILE...]\n\
    \t-h          prints this help\n\
    \t-o FILE     writes the output to FILE (default: standard output)\n\
    \t-t TARGET   amd64_sysv (default, this machine) or wasm32 (a wasm object)\n\
    \t            -t ? prints the default target\n\
    \t-d FLAGS    accepted and ignored (qbe's debug dumps)\n";

/// Whether `args` (program name first) are a qbe command line.
pub fn is_qbe_invocation(args: &[OsString]) -> bool {
    let called_qbe = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "qbe");
    called_qbe || args.iter().skip(1).any(|a| is_short_option(a, 't'))
}

/// `-X` or `-XVALUE`.
fn is_short_option(arg: &OsStr, letter: char) -> bool {
    let s = arg.to_string_lossy();
    let mut chars = s.chars();
    chars.next() == Some('-') && chars.next() == Some(letter)
}

/// Translates a qbe command line (program name first).
pub fn translate(args: &[OsString]) -> Result<QbeRequest> {
    let mut target: Option<String> = None;
    let mut output: Option<OsString> = None;
    let mut inputs: Vec<OsString> = Vec::new();
    let mut notes = Vec::new();
    let mut rest = args.iter().skip(1);
    let mut only_files = false;
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        if only_files || text == "-" || !text.starts_with('-') {
            inputs.push(arg.clone());
            continue;
        }
        if text == "--" {
            only_files = true;
            continue;
        }
        let letter = text.chars().nth(1).unwrap_or('-');
        // `-tNAME` or `-t NAME`, as getopt reads them.
        let mut value = || -> Result<OsString> {
            if text.len() > 2 {
                Ok(OsString::from(&text[2..]))
            } else {
                rest.next()
                    .cloned()
                    .ok_or_else(|| anyhow!("option -{letter} needs a value\n{USAGE}"))
            }
        };
        match letter {
            'h' => return Ok(QbeRequest::Help),
            't' => target = Some(value()?.to_string_lossy().into_owned()),
            'o' => output = Some(value()?),
            'd' => {
                value()?;
                notes.push("-d (qbe's debug output) is ignored".to_string());
            }
            _ => bail!("unknown option `{text}`\n{USAGE}"),
        }
    }
    let target = target.unwrap_or_else(|| DEFAULT_TARGET.to_string());
    let (skc_target, emit) = match target.as_str() {
        "?" => return Ok(QbeRequest::PrintDefaultTarget),
        DEFAULT_TARGET => ("native", "-S"),
        "wasm32" => ("wasm32", "-c"),
        other if OTHER_QBE_TARGETS.contains(&other) => bail!(
            "qbe target `{other}` is not available: skc builds amd64_sysv (this machine) \
             and wasm32"
        ),
        other => bail!("unknown target `{other}`; skc builds amd64_sysv and wasm32"),
    };
    if inputs.is_empty() {
        inputs.push("-".into());
    }
    let mut out: Vec<OsString> = vec![
        "skc".into(),
        "--target".into(),
        skc_target.into(),
        emit.into(),
        "-o".into(),
        output.unwrap_or_else(|| "-".into()),
        // Every input is IL, whatever its name.
        "-x".into(),
        "ir".into(),
    ];
    // A file named like a flag keeps its name as a path.
    out.extend(inputs.into_iter().map(|i| {
        if i != "-" && i.to_string_lossy().starts_with('-') {
            Path::new(".").join(i).into_os_string()
        } else {
            i
        }
    }));
    Ok(QbeRequest::Build { args: out, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn build(list: &[&str]) -> Vec<String> {
        match translate(&args(list)).unwrap() {
            QbeRequest::Build { args, .. } => args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            other => panic!("not a build: {other:?}"),
        }
    }

    #[test]
    fn qbe_is_recognised_by_name_or_by_t() {
        assert!(is_qbe_invocation(&args(&["/usr/local/bin/qbe", "x.ssa"])));
        assert!(is_qbe_invocation(&args(&["skc", "-t", "amd64_sysv"])));
        assert!(is_qbe_invocation(&args(&["skc", "-tamd64_sysv", "-"])));
        assert!(!is_qbe_invocation(&args(&[
            "skc", "--target", "wasm32", "x.ssa"
        ])));
        assert!(!is_qbe_invocation(&args(&["qbe-like", "x.ssa"])));
    }

    #[test]
    fn cprocs_command_lines_become_assembly_requests() {
        assert_eq!(
            build(&["qbe", "-t", "amd64_sysv", "-"]),
            ["skc", "--target", "native", "-S", "-o", "-", "-x", "ir", "-"]
        );
        assert_eq!(
            build(&["qbe", "-t", "amd64_sysv", "-o", "a.s", "-"]),
            ["skc", "--target", "native", "-S", "-o", "a.s", "-x", "ir", "-"]
        );
        assert_eq!(
            build(&["qbe", "-oa.s", "x.il", "y"]),
            ["skc", "--target", "native", "-S", "-o", "a.s", "-x", "ir", "x.il", "y"]
        );
        assert_eq!(
            build(&["skc", "-t", "wasm32"]),
            ["skc", "--target", "wasm32", "-c", "-o", "-", "-x", "ir", "-"]
        );
    }

    #[test]
    fn the_other_flags() {
        assert_eq!(
            translate(&args(&["qbe", "-t", "?"])).unwrap(),
            QbeRequest::PrintDefaultTarget
        );
        assert_eq!(translate(&args(&["qbe", "-h"])).unwrap(), QbeRequest::Help);
        let QbeRequest::Build { notes, .. } = translate(&args(&["qbe", "-d", "PMN", "x"])).unwrap()
        else {
            panic!("a build");
        };
        assert_eq!(notes.len(), 1);
        let e = translate(&args(&["qbe", "-t", "arm64"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("arm64") && e.contains("amd64_sysv"), "{e}");
        assert!(translate(&args(&["qbe", "-t", "vax"])).is_err());
        assert!(translate(&args(&["qbe", "-o"])).is_err());
        assert!(translate(&args(&["qbe", "-q"])).is_err());
        assert_eq!(build(&["qbe", "--", "-weird"])[8], "./-weird");
    }
}
