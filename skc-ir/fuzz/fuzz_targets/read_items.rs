//! Feeds arbitrary bytes to the streaming reader. Any panic, hang or
//! unbounded allocation is a bug. When the whole input reads cleanly, its
//! printed form must read back and print identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skc_ir::backend::ItemSource;
use skc_ir::printer::print_item;
use skc_ir::reader::{read_module, ItemReader};

fuzz_target!(|data: &[u8]| {
    let mut reader = ItemReader::new(Box::new(data), "fuzz.ssa", Box::new(std::io::sink()), false);
    let mut printed = String::new();
    let clean = loop {
        match reader.next_item() {
            Ok(Some(item)) => {
                let _ = print_item(&mut printed, &item, reader.types());
            }
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    if clean {
        let module = match read_module(&printed, "printed.ssa") {
            Ok(m) => m,
            Err(e) => panic!("printed text does not read back:\n{printed}\n{e}"),
        };
        let again = skc_ir::printer::print_module(&module);
        assert_eq!(again, printed, "printing is not stable");
    }
});
