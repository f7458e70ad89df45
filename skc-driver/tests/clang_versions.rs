//! Which clang skc picks: the newest usable one, and never one too old
//! for the LLVM IR it writes. The old clangs here are fakes that only
//! answer `--version`, as clang 14 does; the driver's choice is what is
//! tested.

mod common;

use std::path::{Path, PathBuf};

/// A directory holding an executable `name` that prints `banner` for
/// `--version` and fails otherwise.
fn fake_clang(dir: &Path, name: &str, banner: &str) -> PathBuf {
    let path = dir.join(name);
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then printf '%s\\n' '{banner}'; exit 0; fi\n\
         echo 'fake clang: not a real compiler' >&2; exit 9\n"
    );
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn workspace(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(
        dir.join("p.ssa"),
        "export function w $main() {\n@s\n ret 0\n}\n",
    )
    .unwrap();
    dir
}

#[test]
fn only_clang_14_on_path_fails_before_compiling_and_says_why() {
    let dir = workspace("clang-only-14");
    let clang = fake_clang(&dir.join("bin"), "clang", "Debian clang version 14.0.6");
    let out = common::skc()
        .current_dir(&dir)
        .env("PATH", dir.join("bin"))
        .args(["p.ssa", "-o", "p"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "clang 14 at {} is too old: skc needs clang 15 or newer (opaque pointers); install clang-19",
        clang.display()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(
        !err.contains("fake clang"),
        "it never compiled with it: {err}"
    );
    assert!(!dir.join("p").exists());
}

#[test]
fn an_explicit_old_clang_is_refused_too() {
    let dir = workspace("clang-explicit-14");
    let clang = fake_clang(&dir.join("bin"), "clang-old", "clang version 14.0.0");
    let out = common::skc()
        .current_dir(&dir)
        .args(["p.ssa", "-o", "p", "--clang"])
        .arg(&clang)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clang 14 at"));
}

#[test]
fn a_newer_versioned_clang_wins_over_an_old_plain_one() {
    let dir = workspace("clang-newest");
    fake_clang(&dir.join("bin"), "clang", "Debian clang version 14.0.6");
    let newer = fake_clang(&dir.join("bin"), "clang-16", "Debian clang version 16.0.6");
    let out = common::skc()
        .current_dir(&dir)
        .env("PATH", dir.join("bin"))
        .args(["p.ssa", "-o", "p", "-###"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains(&*newer.to_string_lossy()), "{plan}");
}

#[test]
fn version_and_v_alone_name_the_tools_a_build_would_use() {
    let dir = workspace("clang-version-listing");
    let newer = fake_clang(&dir.join("bin"), "clang-16", "Debian clang version 16.0.6");
    for flag in ["--version", "-v"] {
        let out = common::skc()
            .env("PATH", dir.join("bin"))
            .arg(flag)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("skc "), "{text}");
        let clang_line = format!("clang: {} (Debian clang version 16.0.6)", newer.display());
        assert!(text.contains(&clang_line), "{text}");
        assert!(text.contains("wasm-ld: none (wasm-ld not found"), "{text}");
    }
}

#[test]
fn an_old_wasm_ld_is_passed_over_and_the_last_one_left_is_named() {
    let dir = workspace("wasm-ld-old");
    let old = fake_clang(&dir.join("bin"), "wasm-ld", "LLD 13.0.1");
    let out = common::skc()
        .current_dir(&dir)
        .env("PATH", dir.join("bin"))
        .args(["--target", "wasm32", "p.ssa", "-o", "p.wasm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "wasm-ld 13 at {} is too old: skc needs wasm-ld 14 or newer",
        old.display()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(!dir.join("p.wasm").exists());

    // A newer versioned one beside it is used instead.
    let newer = fake_clang(&dir.join("bin"), "wasm-ld-16", "Debian LLD 16.0.6");
    let version = common::skc()
        .env("PATH", dir.join("bin"))
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&version.stdout);
    let line = format!("wasm-ld: {} (Debian LLD 16.0.6)", newer.display());
    assert!(text.contains(&line), "{text}");
}

#[test]
fn a_sysroot_without_what_the_link_uses_is_refused_naming_the_missing_file() {
    let dir = workspace("sysroot-incomplete");
    let sysroot = dir.join("sysroot");
    std::fs::create_dir_all(sysroot.join("lib/wasm32-wasi")).unwrap();
    std::fs::write(sysroot.join("lib/wasm32-wasi/libc.a"), "!<arch>\n").unwrap();
    let out = common::skc()
        .current_dir(&dir)
        .args(["--target", "wasm32", "p.ssa", "-o", "p.wasm", "--sysroot"])
        .arg(&sysroot)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "is not a usable wasi-libc sysroot: lib/wasm32-wasi/crt1-command.o is missing"
        ),
        "{err}"
    );
    assert!(!dir.join("p.wasm").exists());
}
