//! Calls that omit the `...` marker when calling a variadic function.
//!
//! C front ends emit `call $f(w 0)` for `f(0)` where `f(int, ...)` is
//! defined in the same module: with no variadic arguments there is nothing
//! after the marker, so they leave it out. On x86-64 the two calls are the
//! same; on wasm32 a variadic function takes one extra parameter (the
//! address of its argument buffer), so the call must know. A call to a
//! variadic function defined earlier in the module is given the marker
//! after the callee's fixed parameters.

use std::collections::HashMap;

use skc_ir::ir::{Const, Function, InstKind, Operand};

/// The variadic functions defined so far, by name, with their number of
/// fixed parameters.
#[derive(Default)]
pub struct VariadicDefinitions {
    fixed_params: HashMap<String, usize>,
}

impl VariadicDefinitions {
    /// Records `f` if it is variadic.
    pub fn note(&mut self, f: &Function) {
        if f.variadic {
            self.fixed_params.insert(f.name.clone(), f.params.len());
        }
    }

    /// Adds the missing `...` marker to direct calls in `f` that target a
    /// recorded variadic function.
    pub fn mark_calls(&self, f: &mut Function) {
        if self.fixed_params.is_empty() {
            return;
        }
        for inst in f.blocks.iter_mut().flat_map(|b| b.insts.iter_mut()) {
            if let InstKind::Call {
                callee: Operand::Const(Const::Addr { sym, offset: 0 }),
                args,
                variadic_from: variadic_from @ None,
                ..
            } = &mut inst.kind
            {
                if let Some(&fixed) = self.fixed_params.get(sym.as_str()) {
                    if args.len() >= fixed {
                        *variadic_from = Some(fixed);
                    }
                }
            }
        }
    }
}
