//! The link plan: plain data built before anything runs.
//!
//! A backend returns a [`LinkPlan`]; the driver prints it (`-###`,
//! `--print-link-plan=json`) or executes it. The plan owns its temporary
//! files (removed when it is dropped, unless kept) and names its result
//! files (staged under a temporary name beside the destination and renamed
//! into place only when every step succeeded).
//!
//! Two printed forms exist. [`LinkPlan::to_shell`] writes one command per
//! line, every word quoted for a POSIX shell (dash included), so pasting the
//! text into `sh` performs the build. [`PlanDescription`] is a serde mirror
//! of the plan for `--print-link-plan=json`; see [`OsText`] for how names
//! that are not UTF-8 are written.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One external command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// A short name for messages (`clang`, `wasm-ld`, `wasm-opt`).
    pub name: String,
    /// The program to run (an absolute path found by the toolchain).
    pub program: PathBuf,
    /// Arguments, without the program name.
    pub args: Vec<OsString>,
    /// Environment variables set for this step (added to the inherited
    /// environment).
    pub env: Vec<(OsString, OsString)>,
    /// Files the step reads.
    pub inputs: Vec<PathBuf>,
    /// Files the step writes.
    pub outputs: Vec<PathBuf>,
}

/// What is left to do after compilation.
#[derive(Debug)]
pub enum PlanAction {
    /// Replace the driver process with this command (native: clang).
    Exec(Step),
    /// Run these commands one after another, each to completion.
    Steps(Vec<Step>),
    /// Nothing: the backend already wrote the output.
    Nothing,
}

/// A file a step produces under a staging name; renamed to `dest` when all
/// steps succeeded, removed otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    /// Where steps write it.
    pub staged: PathBuf,
    /// Where it must appear.
    pub dest: PathBuf,
}

/// The plan: an action plus the files it owns.
#[derive(Debug)]
pub struct LinkPlan {
    /// What to run.
    pub action: PlanAction,
    /// Temporary files, removed when the plan is dropped (or kept when the
    /// options asked for it: then they are plain paths, not listed here).
    pub temps: Vec<tempfile::TempPath>,
    /// Results to rename into place after success.
    pub results: Vec<ResultFile>,
    /// Open files whose descriptors the steps use as `/dev/fd/N`; the
    /// executor must let the child (or the exec'd image) inherit them.
    pub inherited_files: Vec<File>,
    /// Notes for the user (e.g. "wasm-opt not found; skipping").
    pub notes: Vec<String>,
}

impl LinkPlan {
    /// A plan with nothing left to do.
    pub fn nothing() -> Self {
        Self::new(PlanAction::Nothing)
    }

    /// A plan running `action`, owning nothing yet.
    pub fn new(action: PlanAction) -> Self {
        LinkPlan {
            action,
            temps: Vec::new(),
            results: Vec::new(),
            inherited_files: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The steps in run order.
    pub fn steps(&self) -> &[Step] {
        match &self.action {
            PlanAction::Exec(s) => std::slice::from_ref(s),
            PlanAction::Steps(v) => v,
            PlanAction::Nothing => &[],
        }
    }
}

/// Bytes that never need quoting in a shell word (and that no shell treats
/// specially when a word is made of them only).
fn is_shell_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&byte)
}

/// Appends `word` to `out` so that a POSIX shell reads it back as exactly
/// those bytes: as-is when every byte is safe, otherwise in single quotes
/// with each `'` written as `'\''`. Single quotes take every byte but NUL
/// literally, so non-UTF-8 names survive; no `$'…'` form is used because
/// dash (Debian's `sh`) does not have it. Words never contain NUL (they come
/// from `OsStr`, and the kernel cannot pass a NUL in an argument either).
pub fn shell_quote_into(out: &mut Vec<u8>, word: &OsStr) {
    quote_word(out, word, false);
}

/// [`shell_quote_into`], also quoting a word that contains `=` (a command
/// word like `a=b` would otherwise be read as an assignment).
fn quote_word(out: &mut Vec<u8>, word: &OsStr, quote_equals: bool) {
    let bytes = word.as_bytes();
    let plain = !bytes.is_empty()
        && bytes.iter().all(|&b| is_shell_safe(b))
        && !(quote_equals && bytes.contains(&b'='));
    if plain {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'\'');
    for &b in bytes {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
}

/// `word` quoted for a POSIX shell (see [`shell_quote_into`]).
pub fn shell_quote(word: &OsStr) -> Vec<u8> {
    let mut out = Vec::new();
    shell_quote_into(&mut out, word);
    out
}

/// Whether `name` can be used as `NAME=value` before a command.
fn is_shell_variable_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Step {
    /// The command as one shell line (without the newline): environment
    /// assignments, the program, then the arguments, each word quoted.
    pub fn to_shell(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let all_names_plain = self.env.iter().all(|(k, _)| is_shell_variable_name(k));
        if !self.env.is_empty() && !all_names_plain {
            // Names a shell cannot assign go through env(1).
            out.extend_from_slice(b"env ");
        }
        for (name, value) in &self.env {
            if all_names_plain {
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                shell_quote_into(&mut out, value);
            } else {
                let mut assignment = name.clone();
                assignment.push("=");
                assignment.push(value);
                quote_word(&mut out, &assignment, true);
            }
            out.push(b' ');
        }
        quote_word(&mut out, self.program.as_os_str(), true);
        for arg in &self.args {
            out.push(b' ');
            shell_quote_into(&mut out, arg);
        }
        out
    }
}

impl std::fmt::Display for Step {
    /// The shell line; bytes that are not UTF-8 are shown as U+FFFD (use
    /// [`Step::to_shell`] for the exact bytes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_shell()))
    }
}

impl LinkPlan {
    /// The plan as shell text (see [`PlanDescription::to_shell`]).
    pub fn to_shell(&self) -> Vec<u8> {
        self.describe().to_shell()
    }

    /// A serialisable copy of the plan (paths and descriptor numbers; the
    /// plan keeps ownership of its files).
    pub fn describe(&self) -> PlanDescription {
        use std::os::fd::AsRawFd;
        PlanDescription {
            action: match self.action {
                PlanAction::Exec(_) => ActionKind::Exec,
                PlanAction::Steps(_) => ActionKind::Steps,
                PlanAction::Nothing => ActionKind::Nothing,
            },
            steps: self.steps().iter().map(StepDescription::from).collect(),
            temps: self
                .temps
                .iter()
                .map(|t| OsText::from(t.as_os_str()))
                .collect(),
            results: self
                .results
                .iter()
                .map(|r| ResultDescription {
                    staged: OsText::from(r.staged.as_os_str()),
                    dest: OsText::from(r.dest.as_os_str()),
                })
                .collect(),
            inherited_fds: self.inherited_files.iter().map(|f| f.as_raw_fd()).collect(),
            notes: self.notes.clone(),
        }
    }
}

/// A byte string in JSON: a plain JSON string when the bytes are UTF-8,
/// otherwise an object `{"bytes": [n, …]}` listing every byte. Both forms
/// read back to exactly the original bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OsText {
    /// UTF-8 text.
    Utf8(String),
    /// Any other bytes.
    Bytes {
        /// The bytes, in order.
        bytes: Vec<u8>,
    },
}

impl From<&OsStr> for OsText {
    fn from(s: &OsStr) -> Self {
        match s.to_str() {
            Some(text) => OsText::Utf8(text.to_owned()),
            None => OsText::Bytes {
                bytes: s.as_bytes().to_vec(),
            },
        }
    }
}

impl From<&Path> for OsText {
    fn from(p: &Path) -> Self {
        OsText::from(p.as_os_str())
    }
}

impl OsText {
    /// The original bytes as an `OsString`.
    pub fn to_os_string(&self) -> OsString {
        match self {
            OsText::Utf8(text) => OsString::from(text),
            OsText::Bytes { bytes } => OsString::from_vec(bytes.clone()),
        }
    }

    /// The original bytes as a path.
    pub fn to_path_buf(&self) -> PathBuf {
        PathBuf::from(self.to_os_string())
    }
}

/// How the plan runs its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// The single step replaces the driver process.
    Exec,
    /// The steps run one after another.
    Steps,
    /// Nothing to run.
    Nothing,
}

/// A [`Step`] in serialisable form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDescription {
    /// Short name for messages.
    pub name: String,
    /// The program.
    pub program: OsText,
    /// Arguments, without the program name.
    pub args: Vec<OsText>,
    /// Environment additions, as `[name, value]` pairs.
    pub env: Vec<(OsText, OsText)>,
    /// Files the step reads.
    pub inputs: Vec<OsText>,
    /// Files the step writes.
    pub outputs: Vec<OsText>,
}

impl From<&Step> for StepDescription {
    fn from(step: &Step) -> Self {
        let os = |s: &OsString| OsText::from(s.as_os_str());
        let path = |p: &PathBuf| OsText::from(p.as_path());
        StepDescription {
            name: step.name.clone(),
            program: path(&step.program),
            args: step.args.iter().map(os).collect(),
            env: step.env.iter().map(|(k, v)| (os(k), os(v))).collect(),
            inputs: step.inputs.iter().map(path).collect(),
            outputs: step.outputs.iter().map(path).collect(),
        }
    }
}

impl StepDescription {
    /// The step this describes.
    pub fn to_step(&self) -> Step {
        Step {
            name: self.name.clone(),
            program: self.program.to_path_buf(),
            args: self.args.iter().map(OsText::to_os_string).collect(),
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.to_os_string(), v.to_os_string()))
                .collect(),
            inputs: self.inputs.iter().map(OsText::to_path_buf).collect(),
            outputs: self.outputs.iter().map(OsText::to_path_buf).collect(),
        }
    }
}

/// A [`ResultFile`] in serialisable form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultDescription {
    /// Where the steps write it.
    pub staged: OsText,
    /// Where it must end up.
    pub dest: OsText,
}

/// A serialisable mirror of a [`LinkPlan`], for `--print-link-plan=json`:
/// a build system can read it back with [`PlanDescription::from_json`] and
/// run the steps itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDescription {
    /// How the steps run.
    pub action: ActionKind,
    /// The steps in run order.
    pub steps: Vec<StepDescription>,
    /// Temporary files to remove once the steps are done.
    pub temps: Vec<OsText>,
    /// Staged results to rename into place after every step succeeded.
    pub results: Vec<ResultDescription>,
    /// Descriptor numbers the steps refer to as `/dev/fd/N` (only
    /// meaningful inside the process that made the plan).
    pub inherited_fds: Vec<i32>,
    /// Notes for the user.
    pub notes: Vec<String>,
}

impl PlanDescription {
    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, vectors and enums cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads back what [`PlanDescription::to_json`] wrote.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Shell text performing the plan: one line per step, then one
    /// `mv -f -- STAGED DEST` line per result and one `rm -f -- …` line for
    /// the temporary files, every word quoted (see [`shell_quote_into`]).
    pub fn to_shell(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for step in &self.steps {
            out.extend_from_slice(&step.to_step().to_shell());
            out.push(b'\n');
        }
        for result in &self.results {
            out.extend_from_slice(b"mv -f -- ");
            shell_quote_into(&mut out, &result.staged.to_os_string());
            out.push(b' ');
            shell_quote_into(&mut out, &result.dest.to_os_string());
            out.push(b'\n');
        }
        if !self.temps.is_empty() {
            out.extend_from_slice(b"rm -f --");
            for temp in &self.temps {
                out.push(b' ');
                shell_quote_into(&mut out, &temp.to_os_string());
            }
            out.push(b'\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(bytes: &[u8]) -> OsString {
        OsString::from_vec(bytes.to_vec())
    }

    #[test]
    fn plain_words_stay_unquoted() {
        assert_eq!(shell_quote(OsStr::new("-O2")), b"-O2");
        assert_eq!(
            shell_quote(OsStr::new("/usr/bin/clang-19")),
            b"/usr/bin/clang-19"
        );
    }

    #[test]
    fn special_words_are_single_quoted() {
        assert_eq!(shell_quote(OsStr::new("")), b"''");
        assert_eq!(shell_quote(OsStr::new("a b")), b"'a b'");
        assert_eq!(shell_quote(OsStr::new("it's")), b"'it'\\''s'");
        assert_eq!(shell_quote(OsStr::new("$HOME")), b"'$HOME'");
        assert_eq!(shell_quote(OsStr::new("x=1")), b"x=1");
        assert_eq!(shell_quote(OsStr::new("~user")), b"'~user'");
        assert_eq!(shell_quote(&os(b"a\xffb")), b"'a\xffb'");
    }

    fn sample_step() -> Step {
        Step {
            name: "wasm-ld".into(),
            program: PathBuf::from("/usr/bin/wasm-ld-19"),
            args: vec![os(b"-o"), os(b"out put\xfe.wasm"), os(b"--"), os(b"-x'.o")],
            env: vec![(os(b"LC_ALL"), os(b"C"))],
            inputs: vec![PathBuf::from("-x'.o")],
            outputs: vec![PathBuf::from(os(b"out put\xfe.wasm"))],
        }
    }

    #[test]
    fn step_prints_environment_then_command() {
        assert_eq!(
            sample_step().to_shell(),
            b"LC_ALL=C /usr/bin/wasm-ld-19 -o 'out put\xfe.wasm' -- '-x'\\''.o'".to_vec()
        );
    }

    #[test]
    fn a_program_name_with_equals_is_quoted() {
        let mut step = sample_step();
        step.program = PathBuf::from("./a=b");
        step.env.clear();
        step.args.clear();
        assert_eq!(step.to_shell(), b"'./a=b'".to_vec());
    }

    #[test]
    fn unusual_environment_names_go_through_env() {
        let mut step = sample_step();
        step.env = vec![(os(b"A-B"), os(b"1 2"))];
        step.args.clear();
        assert_eq!(
            step.to_shell(),
            b"env 'A-B=1 2' /usr/bin/wasm-ld-19".to_vec()
        );
    }

    #[test]
    fn json_round_trips_exactly() {
        let mut plan = LinkPlan::new(PlanAction::Steps(vec![sample_step(), sample_step()]));
        plan.results.push(ResultFile {
            staged: PathBuf::from(os(b".out\x80.tmp")),
            dest: PathBuf::from("out"),
        });
        plan.notes.push("wasm-opt not found".into());
        let description = plan.describe();
        let json = description.to_json();
        assert!(json.contains("\"bytes\""), "{json}");
        let back = PlanDescription::from_json(&json).expect("reads back");
        assert_eq!(back, description);
        let steps: Vec<Step> = back.steps.iter().map(StepDescription::to_step).collect();
        assert_eq!(steps, plan.steps());
        assert_eq!(back.results[0].staged.to_path_buf(), plan.results[0].staged);
    }

    #[test]
    fn shell_text_has_steps_then_renames() {
        let mut plan = LinkPlan::new(PlanAction::Exec(Step {
            name: "clang".into(),
            program: PathBuf::from("clang"),
            args: vec![os(b"a b.ll")],
            env: vec![],
            inputs: vec![],
            outputs: vec![],
        }));
        plan.results.push(ResultFile {
            staged: PathBuf::from("x.tmp"),
            dest: PathBuf::from("-x"),
        });
        assert_eq!(
            String::from_utf8(plan.to_shell()).expect("utf-8"),
            "clang 'a b.ll'\nmv -f -- x.tmp -x\n"
        );
    }
}
