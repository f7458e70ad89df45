//! The value of a float literal's text, read as C's `strtod` and
//! `strtof` read it (decimal and hexadecimal forms, `inf`, `nan`).

/// Parses float text as C's `strtod` reads it: decimal or hexadecimal
/// (`0x1.8p3`), `inf`, `infinity`, `nan`, `nan(…)`, with an optional sign.
pub fn parse_float(text: &str) -> Option<f64> {
    let (neg, body) = split_sign(text);
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex_float(hex)?
    } else if let Some(v) = special_float(body) {
        v
    } else {
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Like [`parse_float`] but rounds decimal text directly to single
/// precision (no double rounding).
pub fn parse_float32(text: &str) -> Option<f32> {
    let (neg, body) = split_sign(text);
    let v = if body.starts_with("0x") || body.starts_with("0X") || special_float(body).is_some() {
        return parse_float(text).map(|d| d as f32);
    } else {
        body.parse::<f32>().ok()?
    };
    Some(if neg { -v } else { v })
}

pub(super) fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else {
        (false, text.strip_prefix('+').unwrap_or(text))
    }
}

pub(super) fn special_float(body: &str) -> Option<f64> {
    // Compared without building a lower-case copy: most literals are
    // plain numbers and must not pay for an allocation.
    let is = |word: &str| body.eq_ignore_ascii_case(word);
    let b = body.as_bytes();
    if is("inf") || is("infinity") {
        Some(f64::INFINITY)
    } else if is("nan") {
        Some(f64::NAN)
    } else if b.len() >= 5 && b[..4].eq_ignore_ascii_case(b"nan(") && b[b.len() - 1] == b')' {
        let inner = &b[4..b.len() - 1];
        if inner
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            Some(f64::NAN)
        } else {
            None
        }
    } else {
        None
    }
}

/// Parses the part after `0x` of a hexadecimal float, rounding to nearest
/// even like `strtod`.
pub(super) fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mant, exp) = match hex.find(['p', 'P']) {
        Some(i) => (&hex[..i], hex[i + 1..].parse::<i64>().ok()?),
        None => (hex, 0),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    // Collect up to 64 significant bits, remembering whether anything
    // non-zero was dropped (a sticky bit for rounding).
    let mut bits: u64 = 0;
    let mut shift: i64 = 0; // binary exponent adjustment
    let mut sticky = false;
    let mut started = false;
    for (i, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = u64::from(c.to_digit(16)?);
        let is_frac = i >= int_part.len();
        if !started && d == 0 {
            if is_frac {
                shift -= 4;
            }
            continue;
        }
        started = true;
        if bits >> 60 == 0 {
            bits = bits << 4 | d;
            if is_frac {
                shift -= 4;
            }
        } else {
            sticky |= d != 0;
            if !is_frac {
                shift += 4;
            }
        }
    }
    if bits == 0 {
        return Some(0.0);
    }
    let exp = exp.clamp(-100_000, 100_000) + shift;
    // value = bits * 2^exp; normalise bits to have its top bit at 63.
    let lz = bits.leading_zeros();
    let bits = bits << lz;
    let e = exp - i64::from(lz) + 63; // value = 1.xxx * 2^e
    let (mantissa_bits, min_exp) = (52u32, -1022i64);
    if e > 1023 {
        return Some(f64::INFINITY);
    }
    // Number of significant bits kept.
    let keep = if e >= min_exp {
        mantissa_bits as i64 + 1
    } else {
        mantissa_bits as i64 + 1 - (min_exp - e)
    };
    if keep <= 0 {
        // Below half the smallest subnormal, or exactly around it.
        if keep == 0 {
            let half = bits == 1 << 63 && !sticky;
            return Some(if half { 0.0 } else { f64::from_bits(1) });
        }
        return Some(0.0);
    }
    let drop = 64 - keep as u32;
    let mut m = bits >> drop;
    let rem = bits & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rem > half || (rem == half && (sticky || m & 1 == 1)) {
        m += 1;
    }
    // Rebuild: m has `keep` bits (maybe keep+1 after rounding).
    let value_exp = e - (keep - 1);
    let v = (m as f64) * pow2(value_exp);
    Some(v)
}

pub(super) fn pow2(e: i64) -> f64 {
    // Multiply in steps that stay exact to reach subnormal exponents.
    let mut v = 1.0f64;
    let mut e = e;
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
    }
    v * 2f64.powi(e as i32)
}
