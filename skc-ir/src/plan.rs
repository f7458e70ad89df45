//! The link plan: plain data built before anything runs.
//!
//! A backend returns a [`LinkPlan`]; the driver prints it (`-###`,
//! `--print-link-plan=json`) or executes it. The plan owns its temporary
//! files (removed when it is dropped, unless kept) and names its result
//! files (staged under a temporary name beside the destination and renamed
//! into place only when every step succeeded).

use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;

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
