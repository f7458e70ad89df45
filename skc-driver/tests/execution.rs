//! What happens to processes and files when skc runs a link plan, checked
//! with fake tools (shell scripts named `fake-*`) that record what they saw.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{entries, skc, write_script, RETURN_ZERO};

/// A fresh directory holding the program, with its own TMPDIR inside.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("prog.ssa"), RETURN_ZERO).expect("write program");
        std::fs::create_dir(dir.path().join("tmp")).expect("mkdir tmp");
        std::fs::create_dir(dir.path().join("out")).expect("mkdir out");
        Workspace { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn tmp(&self) -> PathBuf {
        self.path().join("tmp")
    }

    fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    /// `skc ARGS` in the workspace with TMPDIR set to its `tmp`.
    fn skc(&self, args: &[&str]) -> Command {
        let mut command = skc();
        command
            .current_dir(self.path())
            .env("TMPDIR", self.tmp())
            .args(args);
        command
    }

    fn fake(&self, name: &str, body: &str) -> String {
        write_script(self.path(), name, body)
            .to_str()
            .expect("utf-8 path")
            .to_owned()
    }
}

/// A fake wasm tool: logs `NAME START END PPID` to `log`, sleeping in
/// between so overlapping steps would show, then writes the file after
/// `-o` (or fails with `status`).
fn fake_wasm_tool(ws: &Workspace, name: &str, status: i32) -> String {
    let log = ws.path().join("steps.log");
    ws.fake(
        &format!("fake-{name}"),
        &format!(
            r#"if [ "$1" = --version ]; then echo "clang version 19.1.0 (fake)"; exit 0; fi
start=$(date +%s%N)
sleep 0.2
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then out="$a"; fi
  prev="$a"
done
if [ {status} -ne 0 ]; then
  echo "fake-{name}: deliberate failure" >&2
  echo partial > "$out"
  exit {status}
fi
printf '\0asm\1\0\0\0' > "$out"
echo "{name} $start $(date +%s%N) $PPID" >> "{log}"
"#,
            log = log.display()
        ),
    )
}

struct LoggedStep {
    name: String,
    start: u128,
    end: u128,
    parent: u32,
}

fn read_log(ws: &Workspace) -> Vec<LoggedStep> {
    let text = std::fs::read_to_string(ws.path().join("steps.log")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            LoggedStep {
                name: f[0].to_owned(),
                start: f[1].parse().expect("start"),
                end: f[2].parse().expect("end"),
                parent: f[3].parse().expect("ppid"),
            }
        })
        .collect()
}

/// A fake clang recording `PID PPID` and a copy of the `-x ir` input
/// (which skc passes as `/dev/fd/N`), then exiting with `status`.
fn fake_recording_clang(ws: &Workspace, record: &Path, status: i32) -> String {
    ws.fake(
        "fake-clang",
        &format!(
            r#"echo "$$ $PPID" > "{record}"
want=0
for a in "$@"; do
  if [ "$want" = 2 ]; then cat "$a" > "{record}.ll"; want=0; fi
  if [ "$want" = 1 ]; then if [ "$a" = "ir" ]; then want=2; else want=0; fi; fi
  if [ "$a" = "-x" ]; then want=1; fi
done
exit {status}
"#,
            record = record.display()
        ),
    )
}

/// Runs skc with the fake clang; returns skc's PID, its exit code, the
/// PID and PPID the fake saw, and the LLVM IR it read.
fn run_with_fake_clang(ws: &Workspace, extra: &[&str]) -> (u32, Option<i32>, Vec<u32>, String) {
    let record = ws.path().join("clang-saw");
    let fake_clang = fake_recording_clang(ws, &record, 7);
    let mut child = ws
        .skc(&["prog.ssa", "-o", "out/prog", "--clang", &fake_clang])
        .args(extra)
        .spawn()
        .expect("skc starts");
    let skc_pid = child.id();
    let status = child.wait().expect("skc ends");
    let seen = std::fs::read_to_string(&record).expect("fake clang ran");
    let ids = seen
        .split_whitespace()
        .map(|n| n.parse().expect("pid"))
        .collect();
    let llvm = std::fs::read_to_string(format!("{}.ll", record.display())).unwrap_or_default();
    (skc_pid, status.code(), ids, llvm)
}

#[test]
fn native_link_replaces_the_skc_process() {
    let ws = Workspace::new();
    let (skc_pid, code, ids, llvm) = run_with_fake_clang(&ws, &[]);
    assert_eq!(ids[0], skc_pid, "clang ran in the skc process itself");
    assert_eq!(ids[1], std::process::id(), "skc forked no child for clang");
    assert_eq!(code, Some(7), "skc's exit status is clang's");
    assert!(
        llvm.contains("@main"),
        "clang read the LLVM IR through /dev/fd: {llvm}"
    );
    assert!(entries(&ws.tmp()).is_empty(), "nothing left behind");
}

#[test]
fn spawn_link_mode_runs_clang_as_a_child() {
    let ws = Workspace::new();
    let (skc_pid, code, ids, llvm) = run_with_fake_clang(&ws, &["--link-mode=spawn"]);
    assert_ne!(ids[0], skc_pid);
    assert_eq!(ids[1], skc_pid, "clang is a child of skc");
    assert_eq!(code, Some(7), "skc passes clang's status on");
    assert!(
        llvm.contains("@main"),
        "the child read the LLVM IR through /dev/fd: {llvm}"
    );
    assert!(entries(&ws.tmp()).is_empty(), "nothing left behind");
}

#[test]
fn wasm_steps_are_sequential_children_of_skc() {
    let ws = Workspace::new();
    let wasm_ld = fake_wasm_tool(&ws, "wasm-ld", 0);
    let wasm_opt = fake_wasm_tool(&ws, "wasm-opt", 0);
    let mut child = ws
        .skc(&[
            "--target=wasm32",
            "prog.ssa",
            "-o",
            "out/prog.wasm",
            "--wasm-ld",
            &wasm_ld,
            "--wasm-opt",
            &wasm_opt,
        ])
        .spawn()
        .expect("skc starts");
    let skc_pid = child.id();
    assert!(child.wait().expect("skc ends").success());

    let steps = read_log(&ws);
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["wasm-ld", "wasm-opt"]);
    assert!(
        steps.iter().all(|s| s.parent == skc_pid),
        "each step is a child of skc"
    );
    assert!(steps[0].end <= steps[1].start, "steps never overlap");
    let output = std::fs::read(ws.out().join("prog.wasm")).expect("output in place");
    assert!(output.starts_with(b"\0asm"));
    assert_eq!(
        entries(&ws.out()),
        [ws.out().join("prog.wasm")],
        "no staged file left"
    );
    assert!(entries(&ws.tmp()).is_empty(), "temporary files removed");
}

#[test]
fn a_failing_middle_step_stops_the_chain_and_leaves_nothing() {
    let ws = Workspace::new();
    std::fs::write(ws.path().join("extra.c"), "int extra(void) { return 1; }\n").expect("write C");
    let clang = fake_wasm_tool(&ws, "clang", 0);
    let wasm_ld = fake_wasm_tool(&ws, "wasm-ld", 4);
    let wasm_opt = fake_wasm_tool(&ws, "wasm-opt", 0);
    let output = ws
        .skc(&[
            "--target=wasm32",
            "prog.ssa",
            "extra.c",
            "-o",
            "out/prog.wasm",
            "--clang",
            &clang,
            "--wasm-ld",
            &wasm_ld,
            "--wasm-opt",
            &wasm_opt,
        ])
        .output()
        .expect("skc runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("fake-wasm-ld: deliberate failure"),
        "step's stderr passed through: {stderr}"
    );
    assert!(
        stderr.contains("step 3 of 4 (wasm-ld) failed with exit status 4"),
        "{stderr}"
    );
    let names: Vec<String> = read_log(&ws).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["clang"], "wasm-opt never ran");
    assert!(entries(&ws.out()).is_empty(), "no output, no staged file");
    assert!(entries(&ws.tmp()).is_empty(), "no temporary file");
}

#[test]
fn sigint_during_a_step_removes_temporary_files() {
    let ws = Workspace::new();
    let started = ws.path().join("started");
    let slow_ld = ws.fake(
        "fake-wasm-ld",
        &format!(
            "if [ \"$1\" = --version ]; then echo \"LLD 19.1.0 (fake)\"; exit 0; fi\n\
             prev=\"\"\nfor a in \"$@\"; do if [ \"$prev\" = \"-o\" ]; then echo partial > \"$a\"; fi; prev=\"$a\"; done\n\
             echo $$ > \"{}\"\nexec sleep 30\n",
            started.display()
        ),
    );
    let mut child = ws
        .skc(&[
            "--target=wasm32",
            "prog.ssa",
            "-o",
            "out/prog.wasm",
            "--wasm-ld",
            &slow_ld,
        ])
        .arg("-O0")
        .stderr(Stdio::piped())
        .spawn()
        .expect("skc starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists()
        || std::fs::read_to_string(&started)
            .unwrap_or_default()
            .is_empty()
    {
        assert!(Instant::now() < deadline, "the fake wasm-ld never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ld_pid: i32 = std::fs::read_to_string(&started)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let skc_pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(skc_pid, nix::sys::signal::Signal::SIGINT).expect("signal skc");
    let status = child.wait().expect("skc ends");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(2), "skc re-raised SIGINT");
    assert!(entries(&ws.out()).is_empty(), "no output, no staged file");
    assert!(entries(&ws.tmp()).is_empty(), "no temporary file");
    assert!(
        !Path::new(&format!("/proc/{ld_pid}")).exists(),
        "the running step was stopped too"
    );
}

/// `VmHWM` and `VmRSS` (KiB) of skc as a fake step saw them.
fn parent_memory_seen(ws: &Workspace, args: &[&str]) -> (u64, u64) {
    let record = ws.path().join("rss");
    let fake_ld = ws.fake(
        "fake-wasm-ld",
        &format!(
            "if [ \"$1\" = --version ]; then echo \"LLD 19.1.0 (fake)\"; exit 0; fi\n\
             grep -E '^(VmHWM|VmRSS):' /proc/$PPID/status > \"{}\"\n\
             prev=\"\"\nfor a in \"$@\"; do if [ \"$prev\" = \"-o\" ]; then : > \"$a\"; fi; prev=\"$a\"; done\n",
            record.display()
        ),
    );
    let fake_opt = ws.fake(
        "fake-wasm-opt",
        "prev=\"\"\nfor a in \"$@\"; do if [ \"$prev\" = \"-o\" ]; then : > \"$a\"; fi; prev=\"$a\"; done\n",
    );
    let output = ws
        .skc(&[
            "--target=wasm32",
            "-O0",
            "--wasm-ld",
            &fake_ld,
            "--wasm-opt",
            &fake_opt,
        ])
        .args(args)
        .output()
        .expect("skc runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(record).expect("fake wasm-ld ran");
    let field = |name: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with(name)).expect("field");
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .expect("number")
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[test]
fn compile_memory_is_released_before_steps_run() {
    let ws = Workspace::new();
    // 80 MB of zero-initialised data: one data item is laid out whole in
    // memory (function bodies are spooled to disk, a single item is not), so
    // the compile phase's peak is large.
    std::fs::write(
        ws.path().join("big.ssa"),
        format!("data $big = {{ z 80000000 }}\n{RETURN_ZERO}"),
    )
    .expect("write program");
    let (peak_kib, during_step_kib) = parent_memory_seen(&ws, &["big.ssa", "-o", "out/big.wasm"]);
    assert!(
        peak_kib > 64 * 1024,
        "precondition: compiling 80 MB of data should peak above 64 MiB, saw {peak_kib} KiB"
    );
    assert!(
        during_step_kib < 32 * 1024,
        "skc held {during_step_kib} KiB while wasm-ld ran (peak {peak_kib} KiB)"
    );
}

#[test]
fn verbose_echoes_each_step_before_it_runs() {
    let ws = Workspace::new();
    let wasm_ld = fake_wasm_tool(&ws, "wasm-ld", 0);
    let fake_opt = ws.fake(
        "fake-wasm-opt",
        "prev=\"\"\nfor a in \"$@\"; do if [ \"$prev\" = \"-o\" ]; then : > \"$a\"; fi; prev=\"$a\"; done\n",
    );
    let output = ws
        .skc(&[
            "--target=wasm32",
            "-O0",
            "-v",
            "prog.ssa",
            "-o",
            "out/p.wasm",
            "--wasm-ld",
            &wasm_ld,
            "--wasm-opt",
            &fake_opt,
        ])
        .output()
        .expect("skc runs");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let echoed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("fake-wasm-ld") || l.contains("fake-wasm-opt"))
        .collect();
    // wasm-ld, then the -O0 cleanup writing the staged output.
    assert_eq!(echoed.len(), 2, "{stderr}");
    let echoed = &echoed[1..];
    assert!(
        echoed[0].ends_with(".wasm.tmp"),
        "the command with its staged output: {stderr}"
    );
}

#[test]
fn steps_start_with_no_blocked_signals() {
    let ws = Workspace::new();
    let record = ws.path().join("mask");
    let fake_ld = ws.fake(
        "fake-wasm-ld",
        &format!(
            "if [ \"$1\" = --version ]; then echo \"LLD 19.1.0 (fake)\"; exit 0; fi\n\
             prev=\"\"\nfor a in \"$@\"; do if [ \"$prev\" = \"-o\" ]; then : > \"$a\"; fi; prev=\"$a\"; done\n\
             exec grep SigBlk /proc/self/status > \"{}\"\n",
            record.display()
        ),
    );
    let fake_opt = ws.fake(
        "fake-wasm-opt",
        "prev=\"\"\nfor a in \"$@\"; do if [ \"$prev\" = \"-o\" ]; then : > \"$a\"; fi; prev=\"$a\"; done\n",
    );
    let status = ws
        .skc(&[
            "--target=wasm32",
            "-O0",
            "prog.ssa",
            "-o",
            "out/p.wasm",
            "--wasm-ld",
            &fake_ld,
            "--wasm-opt",
            &fake_opt,
        ])
        .status()
        .expect("skc runs");
    assert!(status.success());
    let mask = std::fs::read_to_string(record).expect("fake ran");
    assert_eq!(
        mask.split_whitespace().nth(1),
        Some("0000000000000000"),
        "{mask}"
    );
}
