//! The expectations written inside a corpus program.
//!
//! A corpus program is an IL file whose comments say what running it must
//! produce:
//!
//! ```text
//! # targets: native -- reason the program cannot run elsewhere
//! # exit: 3
//! # opt: O0 O1 O2 O3
//! # >>> output
//! # first line of stdout
//! # <<<
//! # >>> driver
//! # int main(void) { ... }
//! # <<<
//! ```
//!
//! - `output` is the expected stdout, one comment line per output line
//!   (`#` alone is an empty line). Without it the program must print nothing.
//! - `driver` is C source compiled and linked with the program.
//! - `exit` is the expected exit status (default 0), or `trap` when the
//!   program must stop abnormally (a signal natively, a trap on wasm32).
//! - `targets` restricts the program to some targets; a reason is required,
//!   after `--` or `—`, because only a real target difference justifies it.
//! - `opt` lists the optimisation levels to build at, instead of the
//!   default `O0 O2` (for regressions that appeared at one level only).

use std::fmt;

/// How a program must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedExit {
    /// Exits normally with this status.
    Code(i32),
    /// Stops abnormally: killed by a signal natively, a trap on wasm32.
    Trap,
}

impl fmt::Display for ExpectedExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedExit::Code(code) => write!(f, "exit status {code}"),
            ExpectedExit::Trap => f.write_str("a trap (signal)"),
        }
    }
}

/// A restriction to some targets, with the reason for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRestriction {
    /// The targets the program runs on.
    pub targets: Vec<String>,
    /// Why the other targets are excluded.
    pub reason: String,
}

/// What a corpus program expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// Expected stdout, each line ending in `\n`.
    pub output: String,
    /// How the program must end.
    pub exit: ExpectedExit,
    /// C source to compile and link with the program.
    pub driver: Option<String>,
    /// `None` when the program runs on every target.
    pub targets: Option<TargetRestriction>,
    /// Optimisation levels (`O0`, `O1`, ...) to build at; `None`: the
    /// harness's default.
    pub opt_levels: Option<Vec<String>>,
    /// Arguments for the link, after the inputs (`# link: -lm`).
    pub link: Vec<String>,
}

impl Expectations {
    /// Whether the program is meant to run on `target`.
    pub fn runs_on(&self, target: &str) -> bool {
        match &self.targets {
            None => true,
            Some(restriction) => restriction.targets.iter().any(|t| t == target),
        }
    }
}

/// A malformed expectation, with its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// The line of the problem.
    pub line: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

impl std::error::Error for FormatError {}

/// Which block a line belongs to.
enum Block {
    Output,
    Driver,
}

/// Reads the expectations from a corpus program's text.
pub fn parse(text: &str) -> Result<Expectations, FormatError> {
    let mut output = None::<String>;
    let mut driver = None::<String>;
    let mut exit = None;
    let mut targets = None;
    let mut opt_levels = None;
    let mut link = None;
    let mut open: Option<(Block, usize, String)> = None;

    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let error = |message: String| FormatError {
            line: line_no,
            message,
        };
        if let Some((block, start, mut body)) = open.take() {
            let Some(comment) = line.strip_prefix('#') else {
                return Err(error(format!(
                    "the block opened on line {start} must end with `# <<<` before the first non-comment line"
                )));
            };
            if comment.trim_end() == " <<<" {
                let slot = match block {
                    Block::Output => &mut output,
                    Block::Driver => &mut driver,
                };
                *slot = Some(body);
                continue;
            }
            // `# text` holds `text`; a bare `#` is an empty line.
            let content = comment.strip_prefix(' ').unwrap_or(comment);
            body.push_str(content);
            body.push('\n');
            open = Some((block, start, body));
            continue;
        }
        let Some(comment) = line.strip_prefix('#') else {
            continue;
        };
        let comment = comment.trim();
        if let Some(name) = comment.strip_prefix(">>>") {
            let block = match name.trim() {
                "output" if output.is_none() => Block::Output,
                "driver" if driver.is_none() => Block::Driver,
                "output" | "driver" => {
                    return Err(error(format!("a second `{}` block", name.trim())))
                }
                other => {
                    return Err(error(format!(
                        "unknown block `{other}`, expected `output` or `driver`"
                    )))
                }
            };
            open = Some((block, line_no, String::new()));
        } else if let Some(value) = comment.strip_prefix("exit:") {
            if exit.is_some() {
                return Err(error("a second `exit:` line".into()));
            }
            exit = Some(parse_exit(value.trim()).map_err(error)?);
        } else if let Some(value) = comment.strip_prefix("targets:") {
            if targets.is_some() {
                return Err(error("a second `targets:` line".into()));
            }
            targets = Some(parse_targets(value).map_err(error)?);
        } else if let Some(value) = comment.strip_prefix("link:") {
            if link.is_some() {
                return Err(error("a second `link:` line".into()));
            }
            let args: Vec<String> = value.split_whitespace().map(str::to_string).collect();
            if args.is_empty() {
                return Err(error("`link:` names no argument".into()));
            }
            link = Some(args);
        } else if let Some(value) = comment.strip_prefix("opt:") {
            if opt_levels.is_some() {
                return Err(error("a second `opt:` line".into()));
            }
            opt_levels = Some(parse_opt_levels(value).map_err(error)?);
        }
    }
    if let Some((_, start, _)) = open {
        return Err(FormatError {
            line: start,
            message: "block is never closed with `# <<<`".into(),
        });
    }
    Ok(Expectations {
        output: output.unwrap_or_default(),
        exit: exit.unwrap_or(ExpectedExit::Code(0)),
        driver,
        targets,
        opt_levels,
        link: link.unwrap_or_default(),
    })
}

fn parse_opt_levels(value: &str) -> Result<Vec<String>, String> {
    let levels: Vec<String> = value.split_whitespace().map(str::to_string).collect();
    if levels.is_empty() {
        return Err("`opt:` names no level".into());
    }
    if let Some(bad) = levels
        .iter()
        .find(|l| !matches!(l.as_str(), "O0" | "O1" | "O2" | "O3"))
    {
        return Err(format!("`opt:` takes O0, O1, O2 or O3, found `{bad}`"));
    }
    Ok(levels)
}

fn parse_exit(value: &str) -> Result<ExpectedExit, String> {
    if value == "trap" {
        return Ok(ExpectedExit::Trap);
    }
    match value.parse::<i32>() {
        Ok(code) if (0..=255).contains(&code) => Ok(ExpectedExit::Code(code)),
        _ => Err(format!(
            "`exit:` takes a status 0..=255 or `trap`, found `{value}`"
        )),
    }
}

fn parse_targets(value: &str) -> Result<TargetRestriction, String> {
    let split = value
        .split_once('—')
        .or_else(|| value.split_once("--"))
        .ok_or_else(|| {
            "`targets:` needs a reason after `--`: only a real target difference may restrict a program"
                .to_string()
        })?;
    let targets: Vec<String> = split
        .0
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let reason = split.1.trim().to_string();
    if targets.is_empty() {
        return Err("`targets:` names no target".into());
    }
    if reason.is_empty() {
        return Err("`targets:` has an empty reason".into());
    }
    Ok(TargetRestriction { targets, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_and_headers() {
        let text = "# targets: native -- uses x86 only\n# exit: 7\n\
                    # >>> output\n# one\n#\n#  two\n# <<<\n# >>> driver\n# int x;\n# <<<\n\
                    export function w $main() {\n@s\n\tret 7\n}\n";
        let e = parse(text).expect("valid");
        assert_eq!(e.output, "one\n\n two\n");
        assert_eq!(e.driver.as_deref(), Some("int x;\n"));
        assert_eq!(e.exit, ExpectedExit::Code(7));
        assert!(e.runs_on("native"));
        assert!(!e.runs_on("wasm32"));
        assert_eq!(e.targets.expect("restricted").reason, "uses x86 only");
    }

    #[test]
    fn defaults_to_silent_success_everywhere() {
        let e = parse("function $f() {\n@s\n\tret\n}\n").expect("valid");
        assert_eq!(e.output, "");
        assert_eq!(e.exit, ExpectedExit::Code(0));
        assert!(e.driver.is_none() && e.targets.is_none());
        assert!(e.runs_on("wasm32"));
    }

    #[test]
    fn trap_exit() {
        assert_eq!(
            parse("# exit: trap\n").expect("valid").exit,
            ExpectedExit::Trap
        );
    }

    #[test]
    fn rejects_unclosed_block() {
        let err = parse("# >>> output\n# x\n").expect_err("unclosed");
        assert_eq!(err.line, 1);
    }

    #[test]
    fn rejects_code_inside_block() {
        let err = parse("# >>> output\n# x\nfunction $f() {\n").expect_err("code in block");
        assert_eq!(err.line, 3);
    }

    #[test]
    fn rejects_restriction_without_reason() {
        assert!(parse("# targets: native\n").is_err());
        assert!(parse("# targets: native --   \n").is_err());
    }

    #[test]
    fn reads_opt_levels() {
        assert_eq!(
            parse("# link: -lm -lc\n").expect("valid").link,
            ["-lm", "-lc"]
        );
        assert!(parse("# link:\n").is_err());
        assert!(parse("# link: -lm\n# link: -lm\n").is_err());
        let e = parse("# opt: O0 O1 O2 O3\n").expect("valid");
        assert_eq!(e.opt_levels.expect("given"), ["O0", "O1", "O2", "O3"]);
        assert!(parse("# opt:\n").is_err());
        assert!(parse("# opt: O4\n").is_err());
        assert!(parse("# opt: O1\n# opt: O2\n").is_err());
    }

    #[test]
    fn rejects_bad_exit() {
        assert!(parse("# exit: 300\n").is_err());
        assert!(parse("# exit: maybe\n").is_err());
    }
}
