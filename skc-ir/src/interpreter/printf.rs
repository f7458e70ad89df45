//! C's `printf` formatting, as glibc prints it, for the conversions the
//! interpreter supports (`d i u x X o c s p %` with flags, width,
//! precision and length; `f F e E g G`).

use super::stop::Stop;

/// Where a conversion takes its next argument from.
pub trait Arguments {
    /// The next argument's 64 bits (integers, pointers; `double` bits):
    /// a floating-point one when `float`, which is where a System V
    /// caller puts it apart from integers.
    fn next(&mut self, float: bool) -> Result<u64, Stop>;
    /// The string at an address.
    fn string(&mut self, address: u64) -> Result<Vec<u8>, Stop>;
    /// Whether `v` is an address: printing it as a number shows where
    /// things are placed, which the interpreter does not model.
    fn is_address(&self, v: u64) -> bool;
}

/// The next integer argument, refused when it is an address.
fn number_argument(args: &mut dyn Arguments) -> Result<u64, Stop> {
    let v = args.next(false)?;
    if args.is_address(v) {
        return Err(Stop::Unsupported(
            "printf prints an address as a number: its value depends on where things are placed"
                .into(),
        ));
    }
    Ok(v)
}

struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

/// Formats `format` with `args`.
pub fn format(format: &[u8], args: &mut dyn Arguments) -> Result<Vec<u8>, Stop> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < format.len() {
        let c = format[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec {
            left: false,
            plus: false,
            space: false,
            alt: false,
            zero: false,
            width: 0,
            precision: None,
        };
        while let Some(&f) = format.get(i) {
            match f {
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alt = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if format.get(i) == Some(&b'*') {
            let w = args.next(false)? as i32;
            if w < 0 {
                spec.left = true;
            }
            spec.width = w.unsigned_abs() as usize;
            i += 1;
        } else {
            spec.width = number(format, &mut i);
        }
        if format.get(i) == Some(&b'.') {
            i += 1;
            if format.get(i) == Some(&b'*') {
                let p = args.next(false)? as i32;
                spec.precision = (p >= 0).then_some(p as usize);
                i += 1;
            } else {
                spec.precision = Some(number(format, &mut i));
            }
        }
        // Length: how many bits of the argument count.
        let mut bits = 32;
        while let Some(&l) = format.get(i) {
            match l {
                b'h' => bits = if bits == 16 { 8 } else { 16 },
                b'l' | b'z' | b'j' | b't' | b'q' | b'L' => bits = 64,
                _ => break,
            }
            i += 1;
        }
        let Some(&conversion) = format.get(i) else {
            break;
        };
        i += 1;
        let text = match conversion {
            b'%' => b"%".to_vec(),
            b'd' | b'i' => {
                let v = sign_extend(number_argument(args)?, bits);
                let digits = limit_digits(v.unsigned_abs().to_string().into_bytes(), &spec);
                let sign: &[u8] = if v < 0 {
                    b"-"
                } else if spec.plus {
                    b"+"
                } else if spec.space {
                    b" "
                } else {
                    b""
                };
                pad_number(sign, digits, &spec)
            }
            b'u' | b'x' | b'X' | b'o' => {
                let v = truncate(number_argument(args)?, bits);
                let digits = match conversion {
                    b'u' => v.to_string(),
                    b'x' => format!("{v:x}"),
                    b'X' => format!("{v:X}"),
                    _ => format!("{v:o}"),
                };
                let mut digits = limit_digits(digits.into_bytes(), &spec);
                let prefix: &[u8] = match conversion {
                    b'x' if spec.alt && v != 0 => b"0x",
                    b'X' if spec.alt && v != 0 => b"0X",
                    b'o' if spec.alt && digits.first() != Some(&b'0') => {
                        digits.insert(0, b'0');
                        b""
                    }
                    _ => b"",
                };
                pad_number(prefix, digits, &spec)
            }
            b'c' => pad(vec![args.next(false)? as u8], &spec),
            b's' => {
                let address = args.next(false)?;
                let mut s = if address == 0 {
                    b"(null)".to_vec()
                } else {
                    args.string(address)?
                };
                if let Some(p) = spec.precision {
                    s.truncate(p);
                }
                pad(s, &spec)
            }
            b'p' => {
                let v = number_argument(args)?;
                let s = if v == 0 {
                    "(nil)".to_string()
                } else {
                    format!("{v:#x}")
                };
                pad(s.into_bytes(), &spec)
            }
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' | b'a' | b'A' => {
                let x = f64::from_bits(args.next(true)?);
                // glibc prints the sign of a NaN too.
                let sign: &[u8] = if x.is_sign_negative() {
                    b"-"
                } else if spec.plus {
                    b"+"
                } else if spec.space {
                    b" "
                } else {
                    b""
                };
                let (sign, body) = match conversion {
                    b'a' | b'A' if x.is_finite() => {
                        let mut prefix = sign.to_vec();
                        prefix.extend(if conversion == b'A' { b"0X" } else { b"0x" });
                        let body = hex_float(x, spec.precision, spec.alt);
                        let body = if conversion == b'A' {
                            body.to_ascii_uppercase()
                        } else {
                            body
                        };
                        (prefix, body)
                    }
                    _ => (sign.to_vec(), float(x, conversion, &spec)),
                };
                let sign = &sign[..];
                if x.is_finite() {
                    pad_number(
                        sign,
                        body,
                        &Spec {
                            precision: None,
                            ..spec
                        },
                    )
                } else {
                    let mut s = sign.to_vec();
                    s.extend(body);
                    pad(
                        s,
                        &Spec {
                            zero: false,
                            ..spec
                        },
                    )
                }
            }
            other => {
                return Err(Stop::Unsupported(format!(
                    "printf conversion `%{}` is not supported by the interpreter",
                    other as char
                )))
            }
        };
        out.extend(text);
    }
    Ok(out)
}

fn number(format: &[u8], i: &mut usize) -> usize {
    let mut n = 0usize;
    while let Some(d) = format.get(*i).filter(|d| d.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        *i += 1;
    }
    n
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    match bits {
        8 => i64::from(v as i8),
        16 => i64::from(v as i16),
        32 => i64::from(v as i32),
        _ => v as i64,
    }
}

fn truncate(v: u64, bits: u32) -> u64 {
    match bits {
        8 => u64::from(v as u8),
        16 => u64::from(v as u16),
        32 => u64::from(v as u32),
        _ => v,
    }
}

/// An integer's digits with the precision's minimum count (`%.0d` of 0
/// prints nothing).
fn limit_digits(digits: Vec<u8>, spec: &Spec) -> Vec<u8> {
    match spec.precision {
        Some(0) if digits == b"0" => Vec::new(),
        Some(p) if digits.len() < p => {
            let mut padded = vec![b'0'; p - digits.len()];
            padded.extend(digits);
            padded
        }
        _ => digits,
    }
}

/// A number: zeros go between the sign or prefix and the digits.
fn pad_number(prefix: &[u8], digits: Vec<u8>, spec: &Spec) -> Vec<u8> {
    let len = prefix.len() + digits.len();
    let mut s = prefix.to_vec();
    if spec.zero && !spec.left && spec.precision.is_none() && len < spec.width {
        s.extend(std::iter::repeat_n(b'0', spec.width - len));
        s.extend(digits);
        return s;
    }
    s.extend(digits);
    pad(s, spec)
}

fn pad(s: Vec<u8>, spec: &Spec) -> Vec<u8> {
    if s.len() >= spec.width {
        return s;
    }
    let fill = spec.width - s.len();
    if spec.left {
        let mut s = s;
        s.extend(std::iter::repeat_n(b' ', fill));
        s
    } else {
        let mut padded = vec![b' '; fill];
        padded.extend(s);
        padded
    }
}

/// The digits of `|x|` for `%f %e %g` (no sign).
/// `%a` after the `0x`: `1.8p+1`. Without a precision, as many hex
/// digits as the value needs; with one, rounded to nearest, ties to even,
/// a carry reaching the leading digit (`0x2.0p+0`, as glibc prints).
/// Subnormals are written `0x0.…p-1022`.
fn hex_float(x: f64, precision: Option<usize>, alt: bool) -> Vec<u8> {
    let bits = x.abs().to_bits();
    let biased = (bits >> 52) as i64;
    let mut mantissa = bits & ((1 << 52) - 1);
    let (mut lead, exponent) = match (biased, mantissa) {
        (0, 0) => (0u64, 0),
        (0, _) => (0, -1022),
        _ => (1, biased - 1023),
    };
    let digits = match precision {
        None => {
            let all = format!("{mantissa:013x}");
            all.trim_end_matches('0').to_string()
        }
        Some(p) if p >= 13 => format!("{mantissa:013x}{}", "0".repeat(p - 13)),
        Some(p) => {
            let dropped = 4 * (13 - p) as u32;
            let kept = mantissa >> dropped;
            let rest = mantissa & ((1u64 << dropped) - 1);
            let half = 1u64 << (dropped - 1);
            let odd = if p == 0 { lead & 1 } else { kept & 1 };
            let up = rest > half || (rest == half && odd == 1);
            mantissa = kept + u64::from(up);
            if p == 0 {
                lead += u64::from(up);
                String::new()
            } else {
                if mantissa >> (4 * p) != 0 {
                    lead += 1;
                    mantissa &= (1u64 << (4 * p)) - 1;
                }
                format!("{mantissa:0width$x}", width = p)
            }
        }
    };
    let point = if digits.is_empty() && !alt { "" } else { "." };
    format!("{lead}{point}{digits}p{exponent:+}").into_bytes()
}

fn float(x: f64, conversion: u8, spec: &Spec) -> Vec<u8> {
    let upper = conversion.is_ascii_uppercase();
    let x = x.abs();
    if !x.is_finite() {
        let s = if x.is_nan() { "nan" } else { "inf" };
        return if upper { s.to_uppercase() } else { s.into() }.into_bytes();
    }
    let precision = spec.precision.unwrap_or(6);
    let s = match conversion.to_ascii_lowercase() {
        b'f' => fixed(x, precision, spec.alt),
        b'e' => exponential(x, precision, spec.alt),
        _ => general(x, precision, spec.alt),
    };
    if upper { s.to_uppercase() } else { s }.into_bytes()
}

fn fixed(x: f64, precision: usize, alt: bool) -> String {
    let mut s = format!("{x:.precision$}");
    if alt && precision == 0 {
        s.push('.');
    }
    s
}

/// `d.ddde±XX`, as C writes it (at least two exponent digits).
fn exponential(x: f64, precision: usize, alt: bool) -> String {
    let s = format!("{x:.precision$e}");
    let (mantissa, exponent) = s.split_once('e').expect("Rust writes an exponent");
    let exponent: i32 = exponent.parse().expect("a number");
    let mut m = mantissa.to_string();
    if alt && precision == 0 {
        m.push('.');
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{m}e{sign}{:02}", exponent.unsigned_abs())
}

/// `%g`: `%e` or `%f` by the exponent, trailing zeros removed.
fn general(x: f64, precision: usize, alt: bool) -> String {
    let p = precision.max(1);
    // The exponent after rounding to `p` significant digits.
    let e = if x == 0.0 {
        0
    } else {
        let s = format!("{x:.prec$e}", prec = p - 1);
        s.split_once('e')
            .expect("exponent")
            .1
            .parse::<i32>()
            .expect("number")
    };
    let s = if (e as i64) < p as i64 && e >= -4 {
        fixed(x, (p as i64 - 1 - e as i64) as usize, alt)
    } else {
        exponential(x, p - 1, alt)
    };
    if alt {
        return s;
    }
    // Trailing zeros of the fraction, and a bare point, go.
    match s.split_once('e') {
        Some((m, e)) => format!("{}e{e}", strip_zeros(m)),
        None => strip_zeros(&s).to_string(),
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct List(Vec<u64>);

    impl Arguments for List {
        fn next(&mut self, _: bool) -> Result<u64, Stop> {
            Ok(self.0.remove(0))
        }
        fn string(&mut self, _: u64) -> Result<Vec<u8>, Stop> {
            Ok(b"str".to_vec())
        }
        fn is_address(&self, _: u64) -> bool {
            false
        }
    }

    fn f(format: &str, args: &[u64]) -> String {
        String::from_utf8(super::format(format.as_bytes(), &mut List(args.to_vec())).unwrap())
            .unwrap()
    }

    /// Expected strings are what glibc's printf writes.
    #[test]
    fn hexadecimal_floats_print_as_glibc_does() {
        let d = |x: f64| x.to_bits();
        assert_eq!(
            f(
                "%a %a %a %a %a %A",
                &[d(1.0), d(3.0), d(0.1), d(0.0), d(-0.5), d(255.5)]
            ),
            "0x1p+0 0x1.8p+1 0x1.999999999999ap-4 0x0p+0 -0x1p-1 0X1.FFP+7"
        );
        assert_eq!(
            f("%a %a", &[d(f64::from_bits(1)), d(f64::MAX)]),
            "0x0.0000000000001p-1022 0x1.fffffffffffffp+1023"
        );
        assert_eq!(
            f(
                "%.1a %.0a %.0a %.2a %.3a %#a",
                &[d(1.96875), d(1.5), d(2.5), d(1.0), d(0.1), d(1.0)]
            ),
            "0x2.0p+0 0x2p+0 0x1p+1 0x1.00p+0 0x1.99ap-4 0x1.p+0"
        );
        assert_eq!(
            f("%12a|%-12a|%012a|%+a", &[d(1.5), d(1.5), d(-1.5), d(2.0)]),
            "    0x1.8p+0|0x1.8p+0    |-0x0001.8p+0|+0x1p+1"
        );
        assert_eq!(
            f("%a %f %e", &[d(-f64::NAN), d(-f64::NAN), d(f64::NAN)]),
            "-nan -nan nan"
        );
    }

    #[test]
    fn conversions_print_as_glibc_does() {
        assert_eq!(
            f("%d|%5d|%-5d|%05d|%+d", &[7, 42, 42, 42, 3]),
            "7|   42|42   |00042|+3"
        );
        assert_eq!(
            f("%d %u", &[u64::from(u32::MAX), u64::from(u32::MAX)]),
            "-1 4294967295"
        );
        assert_eq!(
            f("%ld %lu", &[u64::MAX, u64::MAX]),
            "-1 18446744073709551615"
        );
        assert_eq!(
            f("%x %X %#x %o %#o", &[255, 255, 255, 8, 8]),
            "ff FF 0xff 10 010"
        );
        assert_eq!(
            f("%016lx|%.3d|%hhd", &[0xabc, 5, 0x1ff]),
            "0000000000000abc|005|-1"
        );
        assert_eq!(f("%c%s%5.2s|", &[b'A'.into(), 1, 1]), "Astr   st|");
        assert_eq!(f("%*d|%-*d|", &[4, 1, 3, 2]), "   1|2  |");
        let d = |x: f64| x.to_bits();
        assert_eq!(
            f("%f %.2f %.0f", &[d(1.5), d(2.675), d(2.5)]),
            "1.500000 2.67 2"
        );
        assert_eq!(
            f("%e %.3E", &[d(12345.678), d(0.000123)]),
            "1.234568e+04 1.230E-04"
        );
        assert_eq!(
            f("%g %g %g %g", &[d(100000.0), d(1e6), d(0.0001), d(0.00001)]),
            "100000 1e+06 0.0001 1e-05"
        );
        assert_eq!(
            f("%g %.3g %g %#g", &[d(1.23456), d(1.23456), d(0.0), d(1.0)]),
            "1.23456 1.23 0 1.00000"
        );
        assert_eq!(
            f(
                "%f %g %5.1f|%08.3f",
                &[d(-0.0), d(f64::INFINITY), d(-1.25), d(-3.5)]
            ),
            "-0.000000 inf  -1.2|-003.500"
        );
        assert_eq!(f("%g %G", &[d(f64::NAN), d(1e-10)]), "nan 1E-10");
    }
}
