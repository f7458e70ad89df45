#!/usr/bin/env python3
"""Fill in a corpus program's expected output from the reference compiler.

For each IL file given, compiles it with QBE ($QBE, default `qbe`) and the
system C compiler ($CC, default `cc`) together with its `driver` block, runs
the result with the arguments `a b c`, and rewrites the file's
`# >>> output` block and `# exit:` line with what actually happened.

Only for programs whose semantics the reference shares: where docs/ir.md
defines a result the reference does not produce (float-to-int saturation,
for instance), write the expectation by hand and do not run this on it.

    QBE=/path/to/qbe tests/tools/expect-from-reference.py tests/corpus/NAME.ssa...
"""
import os
import re
import subprocess
import sys
import tempfile

QBE = os.environ.get("QBE", "qbe")
CC = os.environ.get("CC", "cc")


def blocks(text):
    """Returns (driver source or None, text with the output block removed
    and the exit line dropped)."""
    driver = None
    m = re.search(r"^# >>> driver\n(.*?)^# <<<\n", text, re.S | re.M)
    if m:
        driver = "".join(
            l[2:] if l.startswith("# ") else l[1:]
            for l in m.group(1).splitlines(keepends=True)
        )
    return driver


def render(stdout, code):
    lines = ["# >>> output\n"]
    for line in stdout.splitlines():
        lines.append("# " + line + "\n" if line else "#\n")
    lines.append("# <<<\n")
    out = "".join(lines)
    if code != 0:
        out = f"# exit: {code}\n" + out
    return out


def main():
    for path in sys.argv[1:]:
        text = open(path).read()
        if re.search(r"^# exit: trap", text, re.M):
            print(f"{path}: expects a trap, left as is", file=sys.stderr)
            continue
        driver = blocks(text)
        with tempfile.TemporaryDirectory() as work:
            asm = os.path.join(work, "prog.s")
            with open(asm, "w") as f:
                subprocess.run([QBE, path], stdout=f, check=True)
            inputs = [asm]
            if driver is not None:
                c = os.path.join(work, "driver.c")
                open(c, "w").write(driver)
                inputs.append(c)
            exe = os.path.join(work, "prog")
            m = re.search(r"^# link:(.*)$", text, re.M)
            link = m.group(1).split() if m else []
            subprocess.run([CC, "-w", *inputs, *link, "-o", exe], check=True)
            ran = subprocess.run([exe, "a", "b", "c"], capture_output=True,
                                 cwd=work, timeout=60)
        if ran.returncode < 0:
            sys.exit(f"{path}: killed by signal {-ran.returncode}; write `# exit: trap` by hand")
        stdout = ran.stdout.decode()
        if stdout and not stdout.endswith("\n"):
            sys.exit(f"{path}: output does not end with a newline")
        text = re.sub(r"^# exit: -?\d+\n", "", text, flags=re.M)
        new = render(stdout, ran.returncode)
        if re.search(r"^# >>> output\n", text, re.M):
            text = re.sub(r"^# >>> output\n.*?^# <<<\n", lambda _: new, text,
                          count=1, flags=re.S | re.M)
        else:
            text = new + text
        open(path, "w").write(text)


if __name__ == "__main__":
    main()
