//! Arithmetic, comparisons and conversions on raw bits, as docs/ir.md
//! defines them. A `w` or `s` is held in the low 32 bits of a `u64`; the
//! bits above are ignored on input and zero on output.

use crate::ir::{BaseType, BinOp, CmpOp, UnOp};

use super::stop::Stop;

fn f32_of(bits: u64) -> f32 {
    f32::from_bits(bits as u32)
}

fn f64_of(bits: u64) -> f64 {
    f64::from_bits(bits)
}

fn of_f32(x: f32) -> u64 {
    u64::from(x.to_bits())
}

fn of_f64(x: f64) -> u64 {
    x.to_bits()
}

/// `ty` `op` of two operands.
pub fn binary(op: BinOp, ty: BaseType, a: u64, b: u64) -> Result<u64, Stop> {
    Ok(match ty {
        BaseType::W => u64::from(int32(op, a as u32, b as u32)?),
        BaseType::L => int64(op, a, b)?,
        BaseType::S => of_f32(float(op, f64::from(f32_of(a)), f64::from(f32_of(b)), true) as f32),
        BaseType::D => of_f64(float(op, f64_of(a), f64_of(b), false)),
    })
}

fn int32(op: BinOp, a: u32, b: u32) -> Result<u32, Stop> {
    let (sa, sb) = (a as i32, b as i32);
    check_division(op, b == 0, sa == i32::MIN && sb == -1)?;
    Ok(match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div => sa.wrapping_div(sb) as u32,
        BinOp::Rem => sa.wrapping_rem(sb) as u32,
        BinOp::Udiv => a / b,
        BinOp::Urem => a % b,
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Sar => (sa >> (b & 31)) as u32,
        BinOp::Shr => a >> (b & 31),
        BinOp::Shl => a << (b & 31),
    })
}

fn int64(op: BinOp, a: u64, b: u64) -> Result<u64, Stop> {
    let (sa, sb) = (a as i64, b as i64);
    // The shift amount is a `w`: its low 32 bits, modulo 64.
    check_division(op, b == 0, sa == i64::MIN && sb == -1)?;
    Ok(match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div => sa.wrapping_div(sb) as u64,
        BinOp::Rem => sa.wrapping_rem(sb) as u64,
        BinOp::Udiv => a / b,
        BinOp::Urem => a % b,
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Sar => (sa >> (b & 63)) as u64,
        BinOp::Shr => a >> (b & 63),
        BinOp::Shl => a << (b & 63),
    })
}

fn check_division(op: BinOp, by_zero: bool, overflows: bool) -> Result<(), Stop> {
    let divides = matches!(op, BinOp::Div | BinOp::Rem | BinOp::Udiv | BinOp::Urem);
    if divides && by_zero {
        return Err(Stop::Undefined("integer division by zero".into()));
    }
    if matches!(op, BinOp::Div | BinOp::Rem) && overflows {
        return Err(Stop::Undefined("the minimum integer divided by -1".into()));
    }
    Ok(())
}

/// Float arithmetic; with `single`, in `f32` (the operands were widened
/// from it exactly).
fn float(op: BinOp, a: f64, b: f64, single: bool) -> f64 {
    if single {
        let (x, y) = (a as f32, b as f32);
        return f64::from(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            _ => x / y,
        });
    }
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        _ => a / b,
    }
}

/// `c<op><ty> a, b`: 1 or 0.
pub fn compare(op: CmpOp, ty: BaseType, a: u64, b: u64) -> u64 {
    let result = match ty {
        BaseType::W => int_compare(
            op,
            i64::from(a as i32),
            i64::from(b as i32),
            u64::from(a as u32),
            u64::from(b as u32),
        ),
        BaseType::L => int_compare(op, a as i64, b as i64, a, b),
        BaseType::S => float_compare(op, f64::from(f32_of(a)), f64::from(f32_of(b))),
        BaseType::D => float_compare(op, f64_of(a), f64_of(b)),
    };
    u64::from(result)
}

fn int_compare(op: CmpOp, sa: i64, sb: i64, ua: u64, ub: u64) -> bool {
    match op {
        CmpOp::Eq => ua == ub,
        CmpOp::Ne => ua != ub,
        CmpOp::Sle => sa <= sb,
        CmpOp::Slt => sa < sb,
        CmpOp::Sge => sa >= sb,
        CmpOp::Sgt => sa > sb,
        CmpOp::Ule => ua <= ub,
        CmpOp::Ult => ua < ub,
        CmpOp::Uge => ua >= ub,
        CmpOp::Ugt => ua > ub,
        // Float-only forms never reach an integer comparison.
        _ => false,
    }
}

fn float_compare(op: CmpOp, a: f64, b: f64) -> bool {
    let unordered = a.is_nan() || b.is_nan();
    match op {
        CmpOp::Eq => a == b,
        // True when unordered or unequal.
        CmpOp::Ne => a != b,
        CmpOp::Le => a <= b,
        CmpOp::Lt => a < b,
        CmpOp::Ge => a >= b,
        CmpOp::Gt => a > b,
        CmpOp::O => !unordered,
        CmpOp::Uo => unordered,
        _ => false,
    }
}

/// A unary operation from operand type `from` to result type `to`.
pub fn unary(op: UnOp, from: BaseType, to: BaseType, a: u64) -> u64 {
    let int_result = |v: i64| match to {
        BaseType::W => u64::from(v as u32),
        _ => v as u64,
    };
    match op {
        UnOp::Neg => match to {
            BaseType::W => u64::from((a as u32).wrapping_neg()),
            BaseType::L => a.wrapping_neg(),
            BaseType::S => of_f32(-f32_of(a)),
            BaseType::D => of_f64(-f64_of(a)),
        },
        UnOp::Extsb => int_result(i64::from(a as u8 as i8)),
        UnOp::Extub => int_result(i64::from(a as u8)),
        UnOp::Extsh => int_result(i64::from(a as u16 as i16)),
        UnOp::Extuh => int_result(i64::from(a as u16)),
        UnOp::Extsw => int_result(i64::from(a as u32 as i32)),
        UnOp::Extuw => int_result(i64::from(a as u32)),
        UnOp::Exts => of_f64(f64::from(f32_of(a))),
        UnOp::Truncd => of_f32(f64_of(a) as f32),
        // Rust's float-to-integer `as` saturates and maps NaN to 0, which
        // is the IL's definition.
        UnOp::Stosi => to_signed(f64::from(f32_of(a)), to),
        UnOp::Dtosi => to_signed(f64_of(a), to),
        UnOp::Stoui => to_unsigned(f64::from(f32_of(a)), to),
        UnOp::Dtoui => to_unsigned(f64_of(a), to),
        UnOp::Swtof => from_int(f64::from(a as u32 as i32), a as u32 as i32 as f32, to),
        UnOp::Uwtof => from_int(f64::from(a as u32), a as u32 as f32, to),
        UnOp::Sltof => from_int(a as i64 as f64, a as i64 as f32, to),
        UnOp::Ultof => from_int(a as f64, a as f32, to),
        UnOp::Cast => match (from, to) {
            (BaseType::S, _) | (BaseType::W, _) => a & 0xffff_ffff,
            _ => a,
        },
        UnOp::Copy => match to {
            BaseType::W | BaseType::S => a & 0xffff_ffff,
            _ => a,
        },
    }
}

fn to_signed(x: f64, to: BaseType) -> u64 {
    match to {
        BaseType::W => u64::from(x as i32 as u32),
        _ => x as i64 as u64,
    }
}

fn to_unsigned(x: f64, to: BaseType) -> u64 {
    match to {
        BaseType::W => u64::from(x as u32),
        _ => x as u64,
    }
}

/// An integer converted straight to each float width (one rounding).
fn from_int(as_double: f64, as_single: f32, to: BaseType) -> u64 {
    match to {
        BaseType::S => of_f32(as_single),
        _ => of_f64(as_double),
    }
}
