//! The reader's error contract: good items still come out, bad ones are
//! reported and skipped, and the end of input reports the error count.

use skc_ir::backend::{InputErrors, ItemSource};
use skc_ir::ir::Item;
use skc_ir::reader::ItemReader;

const INPUT: &str = "\
data $ok1 = { w 1 }
function $bad() {
@start
\t%x =w add %y
\tret
}
function w $ok2() {
@start
\tret 2
}
data $bad2 = { q }
";

#[test]
fn good_items_come_out_and_the_count_comes_at_the_end() {
    let mut diags = Vec::new();
    let mut names = Vec::new();
    let end = {
        let mut r = ItemReader::new(
            Box::new(INPUT.as_bytes()),
            "mixed.ssa",
            Box::new(&mut diags),
            false,
        );
        loop {
            match r.next_item() {
                Ok(Some(Item::Data(d))) => names.push(d.name),
                Ok(Some(Item::Function(f))) => names.push(f.name),
                Ok(Some(_)) => {}
                Ok(None) => break Ok(()),
                Err(e) => {
                    assert_eq!(r.error_count(), 2);
                    break Err(e);
                }
            }
        }
    };
    assert_eq!(names, ["ok1", "ok2"]);
    assert_eq!(end, Err(InputErrors { count: 2 }));
    let text = String::from_utf8(diags).expect("utf-8");
    assert!(
        text.contains("error: expected `,` after the first operand, found end of line"),
        "{text}"
    );
    assert!(text.contains("mixed.ssa:4:14"), "{text}");
    assert!(
        text.contains("error: expected a data type (b h w l s d) or `z`, found `q`"),
        "{text}"
    );
    assert!(text.contains("mixed.ssa:11:16"), "{text}");
}

#[test]
fn colour_output_uses_ansi_sequences() {
    let mut diags = Vec::new();
    {
        let mut r = ItemReader::new(
            Box::new(&b"bogus\n"[..]),
            "c.ssa",
            Box::new(&mut diags),
            true,
        );
        assert_eq!(r.next_item(), Err(InputErrors { count: 1 }));
    }
    let text = String::from_utf8(diags).expect("utf-8");
    assert!(text.contains("\u{1b}["), "{text:?}");
    assert!(text.contains("c.ssa:1:1"), "{text:?}");
}

#[test]
fn an_empty_input_is_an_empty_module() {
    let mut r = ItemReader::new(
        Box::new(&b"# only a comment\n\n"[..]),
        "e.ssa",
        Box::new(std::io::sink()),
        false,
    );
    assert_eq!(r.next_item(), Ok(None));
    assert_eq!(r.error_count(), 0);
}
