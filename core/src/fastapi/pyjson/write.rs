//! Serialization as Starlette's `JSONResponse` writes it:
//! `json.dumps(v, ensure_ascii=False, separators=(",", ":"))`.

use super::{PyStr, PyValue};

impl PyValue {
    /// Writes the value as Starlette's `JSONResponse` would.
    ///
    /// Two documented deviations, for values FastAPI itself cannot render (it answers
    /// those with a bare 500): non-finite floats are written as `null`, and lone
    /// surrogates as `\udXXX` escapes.
    pub fn write_json(&self, out: &mut String) {
        match self {
            PyValue::Null => out.push_str("null"),
            PyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            PyValue::Int(digits) => out.push_str(digits),
            PyValue::Float(f) => out.push_str(&float_repr(*f).unwrap_or_else(|| "null".to_owned())),
            PyValue::Str(s) => write_str(s, out),
            PyValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            PyValue::Dict(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

pub fn write_str(s: &PyStr, out: &mut String) {
    out.push('"');
    for &c in &s.0 {
        match char::from_u32(c) {
            Some('"') => out.push_str("\\\""),
            Some('\\') => out.push_str("\\\\"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some('\t') => out.push_str("\\t"),
            Some('\u{8}') => out.push_str("\\b"),
            Some('\u{c}') => out.push_str("\\f"),
            Some(ch) if (ch as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", ch as u32)),
            Some(ch) => out.push(ch),
            None => out.push_str(&format!("\\u{c:04x}")),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation for decimal
/// exponents -4 ..= 15 (with ".0" for integral values), else `d.ddde±XX`.
/// `None` for NaN and infinities.
pub fn float_repr(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Python's repr.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let decpt = exp + 1; // position of the decimal point relative to the digits
    let body = if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(decpt as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    };
    Some(format!("{sign}{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastapi::pyjson::loads;

    #[test]
    fn python_value_semantics() {
        let v = loads(br#"{"b":1,"a":2,"b":3}"#).unwrap();
        let mut out = String::new();
        v.write_json(&mut out);
        assert_eq!(out, r#"{"b":3,"a":2}"#);
        let v = loads("[\"\\ud83d\\ude00\", -0, 1e5, 1e16, 1.5e-7, 0.0001, 1e-5, 123456789012345678901234567890]".as_bytes()).unwrap();
        let mut out = String::new();
        v.write_json(&mut out);
        assert_eq!(
            out,
            "[\"😀\",0,100000.0,1e+16,1.5e-07,0.0001,1e-05,123456789012345678901234567890]"
        );
    }

    #[test]
    fn float_repr_matches_python() {
        for (f, want) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123.456, "123.456"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (2.5e300, "2.5e+300"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(float_repr(f).unwrap(), want);
        }
        assert_eq!(float_repr(f64::NAN), None);
    }
}
