//! A bar chart written as a PNG, without dependencies: RGB pixels,
//! filter type 0, zlib "stored" (uncompressed) blocks, CRC-32 and Adler-32.

/// An RGB canvas.
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, background: [u8; 3]) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![background; width * height],
        }
    }

    /// Fills the rectangle [x0, x1) × [y0, y1), clipped to the canvas.
    pub fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, color: [u8; 3]) {
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                self.pixels[y * self.width + x] = color;
            }
        }
    }

    /// The image as PNG bytes.
    pub fn to_png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.height * (1 + 3 * self.width));
        for row in self.pixels.chunks(self.width) {
            raw.push(0); // filter: none
            for p in row {
                raw.extend_from_slice(p);
            }
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut header = Vec::new();
        header.extend_from_slice(&(self.width as u32).to_be_bytes());
        header.extend_from_slice(&(self.height as u32).to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
        chunk(&mut png, b"IHDR", &header);
        chunk(&mut png, b"IDAT", &zlib_stored(&raw));
        chunk(&mut png, b"IEND", &[]);
        png
    }
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of uncompressed blocks (at most 65 535 bytes each).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len())); // BFINAL, BTYPE=00
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// Colours of the two series and the reference lines.
pub const NATIVE: [u8; 3] = [0x2b, 0x6c, 0xb0];
pub const WASM: [u8; 3] = [0xe0, 0x7b, 0x20];
pub const MISSING: [u8; 3] = [0xc0, 0x20, 0x20];
const AXIS: [u8; 3] = [0x30, 0x30, 0x30];
const GRID: [u8; 3] = [0xd0, 0xd0, 0xd0];

/// Grouped bars: one group per program, one bar per series (`None`: no
/// figure, drawn as a short red stub). Horizontal lines mark every 0.5×,
/// darker at 1×; `y_max` is the top of the scale.
pub fn bar_chart(groups: &[Vec<Option<f64>>], colors: &[[u8; 3]], y_max: f64) -> Canvas {
    let (width, height) = (80 + groups.len() * 70, 320);
    let (left, bottom, top) = (40usize, height - 30, 20usize);
    let mut c = Canvas::new(width, height, [255, 255, 255]);
    let y_of = |v: f64| {
        let frac = (v / y_max).clamp(0.0, 1.0);
        bottom - (frac * (bottom - top) as f64) as usize
    };
    let mut line = 0.5;
    while line <= y_max + 1e-9 {
        let y = y_of(line);
        let color = if (line - 1.0).abs() < 1e-9 {
            AXIS
        } else {
            GRID
        };
        c.fill(left, y, width - 10, y + 1, color);
        line += 0.5;
    }
    for (g, bars) in groups.iter().enumerate() {
        let x0 = left + 15 + g * 70;
        for (i, bar) in bars.iter().enumerate() {
            let x = x0 + i * 24;
            match bar {
                Some(v) => c.fill(x, y_of(*v), x + 20, bottom, colors[i % colors.len()]),
                None => c.fill(x, bottom - 6, x + 20, bottom, MISSING),
            }
        }
    }
    c.fill(left, top, left + 1, bottom + 1, AXIS);
    c.fill(left, bottom, width - 10, bottom + 1, AXIS);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_adler_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn png_has_signature_header_and_end() {
        let png = Canvas::new(3, 2, [1, 2, 3]).to_png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[16..20], &3u32.to_be_bytes());
        assert_eq!(&png[png.len() - 12..], b"\0\0\0\0IEND\xaeB`\x82");
    }

    #[test]
    fn stored_blocks_split_large_data() {
        let data = vec![7u8; 70_000];
        let z = zlib_stored(&data);
        // header, two block headers of 5 bytes, data, adler.
        assert_eq!(z.len(), 2 + 5 + 5 + 70_000 + 4);
        assert_eq!(z[2], 0); // first block not final
        assert_eq!(z[2 + 5 + 65_535], 1); // second block final
    }
}
