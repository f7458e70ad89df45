//! Function signatures as the bridge compares them.

use std::fmt;

/// A wasm value type as far as the bridge is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Val {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// Anything else (vectors, references): never bridged.
    Other,
}

impl Val {
    /// The value type of a wasm signature element.
    pub fn from_wasm(v: wasmparser::ValType) -> Val {
        match v {
            wasmparser::ValType::I32 => Val::I32,
            wasmparser::ValType::I64 => Val::I64,
            wasmparser::ValType::F32 => Val::F32,
            wasmparser::ValType::F64 => Val::F64,
            _ => Val::Other,
        }
    }

    /// One letter, as in the adapters' names and the signature cache.
    pub fn letter(self) -> char {
        match self {
            Val::I32 => 'i',
            Val::I64 => 'j',
            Val::F32 => 'f',
            Val::F64 => 'd',
            Val::Other => 'x',
        }
    }

    /// The value type of [`Val::letter`].
    pub fn from_letter(c: char) -> Option<Val> {
        Some(match c {
            'i' => Val::I32,
            'j' => Val::I64,
            'f' => Val::F32,
            'd' => Val::F64,
            'x' => Val::Other,
            _ => return None,
        })
    }
}

/// A function's wasm signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Signature {
    /// Parameter types.
    pub params: Vec<Val>,
    /// Result types (at most one in the C ABI).
    pub results: Vec<Val>,
}

impl Signature {
    /// The signature of a wasm function type.
    pub fn from_wasm(f: &wasmparser::FuncType) -> Signature {
        Signature {
            params: f.params().iter().map(|&v| Val::from_wasm(v)).collect(),
            results: f.results().iter().map(|&v| Val::from_wasm(v)).collect(),
        }
    }

    /// The signature of the encoder's value types.
    pub fn from_encoder(
        params: &[wasm_encoder::ValType],
        results: &[wasm_encoder::ValType],
    ) -> Signature {
        let val = |v: &wasm_encoder::ValType| match v {
            wasm_encoder::ValType::I32 => Val::I32,
            wasm_encoder::ValType::I64 => Val::I64,
            wasm_encoder::ValType::F32 => Val::F32,
            wasm_encoder::ValType::F64 => Val::F64,
            _ => Val::Other,
        };
        Signature {
            params: params.iter().map(val).collect(),
            results: results.iter().map(val).collect(),
        }
    }

    /// A compact code, `PARAMS_RESULTS` in letters (`jj_j` for
    /// `(i64, i64) -> i64`), used in adapter names and the cache.
    pub fn code(&self) -> String {
        let mut s: String = self.params.iter().map(|v| v.letter()).collect();
        s.push('_');
        s.extend(self.results.iter().map(|v| v.letter()));
        s
    }

    /// Reads [`Signature::code`].
    pub fn from_code(code: &str) -> Option<Signature> {
        let (p, r) = code.split_once('_')?;
        let vals = |s: &str| s.chars().map(Val::from_letter).collect::<Option<Vec<_>>>();
        Some(Signature {
            params: vals(p)?,
            results: vals(r)?,
        })
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |v: &Val| match v {
            Val::I32 => "i32",
            Val::I64 => "i64",
            Val::F32 => "f32",
            Val::F64 => "f64",
            Val::Other => "other",
        };
        let list = |vs: &[Val]| vs.iter().map(name).collect::<Vec<_>>().join(", ");
        write!(f, "({})", list(&self.params))?;
        if !self.results.is_empty() {
            write!(f, " -> {}", list(&self.results))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_round_trips_and_displays() {
        let s = Signature {
            params: vec![Val::I64, Val::I32, Val::F64],
            results: vec![Val::I64],
        };
        assert_eq!(s.code(), "jid_j");
        assert_eq!(Signature::from_code("jid_j"), Some(s.clone()));
        assert_eq!(s.to_string(), "(i64, i32, f64) -> i64");
        assert_eq!(Signature::from_code("_").unwrap(), Signature::default());
        assert_eq!(Signature::from_code("q_"), None);
    }
}
