//! The bytes of a request body as the code points Python decodes them to:
//! `json.detect_encoding` (UTF-8 with or without BOM, UTF-16, UTF-32) and the
//! `surrogatepass` error handler, so a lone surrogate survives as one.

/// `bytes.decode(json.detect_encoding(b), 'surrogatepass')` as code points.
pub(super) fn decode_text(b: &[u8]) -> Option<Vec<u32>> {
    let starts = |p: &[u8]| b.starts_with(p);
    if starts(&[0, 0, 0xFE, 0xFF]) {
        return decode_utf32(&b[4..], true);
    }
    if starts(&[0xFF, 0xFE, 0, 0]) {
        return decode_utf32(&b[4..], false);
    }
    if starts(&[0xFE, 0xFF]) {
        return decode_utf16(&b[2..], true);
    }
    if starts(&[0xFF, 0xFE]) {
        return decode_utf16(&b[2..], false);
    }
    if starts(&[0xEF, 0xBB, 0xBF]) {
        return decode_utf8_surrogatepass(&b[3..]);
    }
    if b.len() >= 4 {
        if b[0] == 0 {
            return if b[1] != 0 {
                decode_utf16(b, true)
            } else {
                decode_utf32(b, true)
            };
        }
        if b[1] == 0 {
            return if b[2] != 0 || b[3] != 0 {
                decode_utf16(b, false)
            } else {
                decode_utf32(b, false)
            };
        }
    } else if b.len() == 2 {
        if b[0] == 0 {
            return decode_utf16(b, true);
        }
        if b[1] == 0 {
            return decode_utf16(b, false);
        }
    }
    decode_utf8_surrogatepass(b)
}

fn decode_utf8_surrogatepass(mut b: &[u8]) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(b.len());
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.extend(s.chars().map(u32::from));
                return Some(out);
            }
            Err(e) => {
                let (good, rest) = b.split_at(e.valid_up_to());
                // SAFETY-free: `good` was just validated.
                out.extend(std::str::from_utf8(good).ok()?.chars().map(u32::from));
                // 'surrogatepass': an encoded surrogate (ED A0..BF 80..BF) is kept.
                match rest {
                    [0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF, ..] => {
                        out.push(0xD000 | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F));
                        b = &rest[3..];
                    }
                    _ => return None,
                }
            }
        }
    }
}

fn decode_utf16(b: &[u8], big_endian: bool) -> Option<Vec<u32>> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            if big_endian {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        })
        .collect();
    // 'surrogatepass' keeps unpaired surrogates as they are.
    Some(
        char::decode_utf16(units.iter().copied())
            .zip(units.iter())
            .fold(Vec::new(), |mut out, (r, _)| {
                out.push(match r {
                    Ok(c) => u32::from(c),
                    Err(e) => u32::from(e.unpaired_surrogate()),
                });
                out
            }),
    )
}

fn decode_utf32(b: &[u8], big_endian: bool) -> Option<Vec<u32>> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    b.chunks_exact(4)
        .map(|c| {
            let v = if big_endian {
                u32::from_be_bytes([c[0], c[1], c[2], c[3]])
            } else {
                u32::from_le_bytes([c[0], c[1], c[2], c[3]])
            };
            (v <= 0x10FFFF).then_some(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{loads, PyStr, PyValue};

    #[test]
    fn encodings_python_detects() {
        let utf16: Vec<u8> = "{\"a\":5}"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(
            loads(&utf16).unwrap(),
            PyValue::Dict(vec![(PyStr::of("a"), PyValue::Int("5".into()))])
        );
        assert!(loads(b"\xef\xbb\xbf{}").is_ok());
        // surrogatepass: an encoded lone surrogate survives as one.
        let v = loads(b"\"\xed\xa0\xbd\"").unwrap();
        assert_eq!(v, PyValue::Str(PyStr(vec![0xD83D])));
    }
}
