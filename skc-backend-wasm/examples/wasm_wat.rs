//! Prints the object for an IL file as WebAssembly text.
fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: wasm_wat FILE.ssa"))?;
    let text = std::fs::read_to_string(&path)?;
    let module = skc_ir::reader::read_module(&text, &path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut src = skc_ir::reader::ModuleSource::new(module);
    let t = std::time::Instant::now();
    let obj = skc_backend_wasm::compile_object(&mut src)?;
    eprintln!("compiled in {:?}", t.elapsed());
    println!("{}", wasmprinter::print_bytes(&obj)?);
    Ok(())
}
