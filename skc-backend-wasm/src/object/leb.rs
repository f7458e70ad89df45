//! LEB128 encoding, including the fixed-width 5-byte forms that relocated
//! sites need so the linker can rewrite them in place.

/// Appends `v` as an unsigned LEB128.
pub fn write_u32(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends `v` as a signed LEB128.
pub fn write_i32(out: &mut Vec<u8>, mut v: i32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends `v` as a signed LEB128.
pub fn write_i64(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The 5-byte unsigned LEB128 of `v`.
pub fn padded_u32(v: u32) -> [u8; 5] {
    let mut out = [0u8; 5];
    for (i, byte) in out.iter_mut().enumerate() {
        let bits = ((v >> (7 * i)) & 0x7f) as u8;
        *byte = if i < 4 { bits | 0x80 } else { bits };
    }
    out
}

/// The 5-byte signed LEB128 of `v`.
pub fn padded_i32(v: i32) -> [u8; 5] {
    let mut out = [0u8; 5];
    for (i, byte) in out.iter_mut().enumerate() {
        let bits = ((v >> (7 * i)) & 0x7f) as u8;
        *byte = if i < 4 { bits | 0x80 } else { bits };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_forms_decode_to_the_value() {
        assert_eq!(padded_u32(1), [0x81, 0x80, 0x80, 0x80, 0x00]);
        assert_eq!(padded_i32(-1), [0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(padded_i32(16), [0x90, 0x80, 0x80, 0x80, 0x00]);
        let mut v = Vec::new();
        write_i32(&mut v, -64);
        assert_eq!(v, [0x40]);
        v.clear();
        write_i32(&mut v, 64);
        assert_eq!(v, [0xc0, 0x00]);
        v.clear();
        write_u32(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        v.clear();
        write_i64(&mut v, i64::MIN);
        assert_eq!(
            v,
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]
        );
    }
}
