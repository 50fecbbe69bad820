//! A JSON decoder that fails exactly like CPython 3.11's `json.loads(bytes)` (the C
//! scanner FastAPI uses), and a serializer that writes like Starlette's `JSONResponse`.
//!
//! FastAPI reports a decode error as `{"type":"json_invalid","loc":["body",<pos>],
//! "ctx":{"error":<msg>}}`, where `<pos>` is a *character* index into the decoded text
//! and `<msg>` is CPython's message; clients match on both. So this works on code
//! points (not bytes), decodes like `json.detect_encoding` + `surrogatepass`, and keeps
//! what Python keeps: big integers exactly, floats as `repr()` prints them, object
//! members in first-seen order with the last duplicate winning, lone surrogates.

use std::collections::BTreeMap;

/// A decoded JSON value, as Python holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum PyValue {
    Null,
    Bool(bool),
    /// Decimal digits exactly as Python's `int` prints them.
    Int(String),
    Float(f64),
    Str(PyStr),
    List(Vec<PyValue>),
    /// Members in insertion order, keys unique (a `dict` built from the pairs).
    Dict(Vec<(PyStr, PyValue)>),
}

/// A Python `str`: code points, which may include lone surrogates.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PyStr(pub Vec<u32>);

impl PyStr {
    /// `len()` in Python: code points.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has_lone_surrogate(&self) -> bool {
        self.0.iter().any(|&c| (0xD800..=0xDFFF).contains(&c))
    }

    /// The Rust string, if it has no lone surrogate.
    pub fn to_string_checked(&self) -> Option<String> {
        self.0.iter().map(|&c| char::from_u32(c)).collect()
    }

    /// The code points of a Rust string.
    pub fn of(s: &str) -> PyStr {
        PyStr(s.chars().map(u32::from).collect())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// `json.JSONDecodeError`: CPython's message and the character position.
    Invalid { msg: &'static str, pos: usize },
    /// Any other exception `json.loads` raises (undecodable bytes, an integer over
    /// Python's 4300-digit limit, nesting deeper than the recursion limit): FastAPI
    /// answers those with 400 "There was an error parsing the body".
    Unparseable,
}

/// Python's default `sys.int_info.default_max_str_digits`.
const MAX_INT_DIGITS: usize = 4300;

/// Nesting depth at which CPython's scanner hits the recursion limit inside a FastAPI
/// request (measured with the reference app: 963 levels decode, 969 are a 400, FastAPI
/// crashes in between). Approximate by nature: the limit
/// depends on the interpreter's stack depth at the call.
pub const MAX_DEPTH: usize = 963;

/// `json.loads(body)` for a non-empty `body`.
pub fn loads(body: &[u8]) -> Result<PyValue, DecodeError> {
    let text = decode_text(body).ok_or(DecodeError::Unparseable)?;
    let mut parser = Parser { s: &text, depth: 0 };
    let start = parser.skip_ws(0);
    let (value, end) = parser.scan_once(start)?;
    let end = parser.skip_ws(end);
    if end != text.len() {
        return Err(DecodeError::Invalid {
            msg: "Extra data",
            pos: end,
        });
    }
    Ok(value)
}

/// `bytes.decode(json.detect_encoding(b), 'surrogatepass')` as code points.
fn decode_text(b: &[u8]) -> Option<Vec<u32>> {
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

struct Parser<'s> {
    s: &'s [u32],
    depth: usize,
}

fn is_ws(c: u32) -> bool {
    matches!(c, 0x20 | 0x09 | 0x0A | 0x0D)
}

fn is_digit(c: u32) -> bool {
    (0x30..=0x39).contains(&c)
}

fn invalid(msg: &'static str, pos: usize) -> DecodeError {
    DecodeError::Invalid { msg, pos }
}

impl Parser<'_> {
    fn at(&self, idx: usize) -> Option<u32> {
        self.s.get(idx).copied()
    }

    fn skip_ws(&self, mut idx: usize) -> usize {
        while self.at(idx).is_some_and(is_ws) {
            idx += 1;
        }
        idx
    }

    fn literal(&self, idx: usize, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(i, c)| self.at(idx + i) == Some(u32::from(c)))
    }

    /// `scan_once_unicode`: one value at `idx`; "Expecting value" when there is none.
    fn scan_once(&mut self, idx: usize) -> Result<(PyValue, usize), DecodeError> {
        let expecting_value = invalid("Expecting value", idx);
        let Some(c) = self.at(idx) else {
            return Err(expecting_value);
        };
        match char::from_u32(c) {
            Some('"') => {
                let (s, end) = self.scan_string(idx + 1)?;
                return Ok((PyValue::Str(s), end));
            }
            Some('{') => return self.nested(|p| p.parse_object(idx + 1)),
            Some('[') => return self.nested(|p| p.parse_array(idx + 1)),
            Some('n') if self.literal(idx, "null") => return Ok((PyValue::Null, idx + 4)),
            Some('t') if self.literal(idx, "true") => return Ok((PyValue::Bool(true), idx + 4)),
            Some('f') if self.literal(idx, "false") => return Ok((PyValue::Bool(false), idx + 5)),
            Some('N') if self.literal(idx, "NaN") => {
                return Ok((PyValue::Float(f64::NAN), idx + 3))
            }
            Some('I') if self.literal(idx, "Infinity") => {
                return Ok((PyValue::Float(f64::INFINITY), idx + 8))
            }
            Some('-') if self.literal(idx, "-Infinity") => {
                return Ok((PyValue::Float(f64::NEG_INFINITY), idx + 9))
            }
            _ => {}
        }
        self.match_number(idx).ok_or(expecting_value)?
    }

    fn nested(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<(PyValue, usize), DecodeError>,
    ) -> Result<(PyValue, usize), DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(DecodeError::Unparseable); // RecursionError in CPython
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    /// `_match_number_unicode`. `None` means "not a number here".
    fn match_number(&self, start: usize) -> Option<Result<(PyValue, usize), DecodeError>> {
        let end_idx = self.s.len().checked_sub(1)?;
        let mut idx = start;
        if self.at(idx) == Some(u32::from('-')) {
            idx += 1;
            if idx > end_idx {
                return None;
            }
        }
        match self.at(idx)? {
            c if (0x31..=0x39).contains(&c) => {
                idx += 1;
                while idx <= end_idx && is_digit(self.s[idx]) {
                    idx += 1;
                }
            }
            0x30 => idx += 1,
            _ => return None,
        }
        let mut is_float = false;
        if idx < end_idx && self.s[idx] == u32::from('.') && is_digit(self.s[idx + 1]) {
            is_float = true;
            idx += 2;
            while idx <= end_idx && is_digit(self.s[idx]) {
                idx += 1;
            }
        }
        if idx < end_idx && (self.s[idx] == u32::from('e') || self.s[idx] == u32::from('E')) {
            let e_start = idx;
            idx += 1;
            if idx < end_idx && (self.s[idx] == u32::from('-') || self.s[idx] == u32::from('+')) {
                idx += 1;
            }
            while idx <= end_idx && is_digit(self.s[idx]) {
                idx += 1;
            }
            if is_digit(self.s[idx - 1]) {
                is_float = true;
            } else {
                idx = e_start;
            }
        }
        // Only ASCII went into the number, so this is exact.
        let text: String = self.s[start..idx]
            .iter()
            .filter_map(|&c| char::from_u32(c))
            .collect();
        if is_float {
            return Some(Ok((PyValue::Float(text.parse().unwrap_or(f64::NAN)), idx)));
        }
        let digits = text.trim_start_matches('-');
        if digits.len() > MAX_INT_DIGITS {
            return Some(Err(DecodeError::Unparseable)); // ValueError in CPython
        }
        let int = if digits == "0" { "0".to_owned() } else { text };
        Some(Ok((PyValue::Int(int), idx)))
    }

    /// `scanstring_unicode` (strict): `end` is just after the opening quote.
    fn scan_string(&self, mut end: usize) -> Result<(PyStr, usize), DecodeError> {
        let begin = end - 1;
        let len = self.s.len();
        let mut out = Vec::new();
        loop {
            let mut next = end;
            let mut c = 0;
            while next < len {
                c = self.s[next];
                if c == u32::from('"') || c == u32::from('\\') {
                    break;
                }
                if c <= 0x1F {
                    return Err(invalid("Invalid control character at", next));
                }
                next += 1;
            }
            if next >= len {
                return Err(invalid("Unterminated string starting at", begin));
            }
            out.extend_from_slice(&self.s[end..next]);
            if c == u32::from('"') {
                return Ok((PyStr(out), next + 1));
            }
            next += 1; // past the backslash
            if next == len {
                return Err(invalid("Unterminated string starting at", begin));
            }
            let esc = self.s[next];
            if esc != u32::from('u') {
                end = next + 1;
                let decoded = match char::from_u32(esc) {
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('/') => '/',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    _ => return Err(invalid("Invalid \\escape", end - 2)),
                };
                out.push(u32::from(decoded));
                continue;
            }
            next += 1; // first hex digit
            end = next + 4;
            if end >= len {
                return Err(invalid("Invalid \\uXXXX escape", next - 1));
            }
            let mut unit = self
                .hex4(next)
                .ok_or(invalid("Invalid \\uXXXX escape", end - 5))?;
            if (0xD800..=0xDBFF).contains(&unit)
                && end + 6 < len
                && self.s[end] == u32::from('\\')
                && self.s[end + 1] == u32::from('u')
            {
                let low = self
                    .hex4(end + 2)
                    .ok_or(invalid("Invalid \\uXXXX escape", end + 1))?;
                if (0xDC00..=0xDFFF).contains(&low) {
                    unit = 0x10000 + (((unit - 0xD800) << 10) | (low - 0xDC00));
                    end += 6;
                }
            }
            out.push(unit);
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |acc, i| {
            Some(acc * 16 + char::from_u32(self.at(at + i)?)?.to_digit(16)?)
        })
    }

    /// `_parse_object_unicode`: `idx` is just after `{`.
    fn parse_object(&mut self, idx: usize) -> Result<(PyValue, usize), DecodeError> {
        let mut members: Vec<(PyStr, PyValue)> = Vec::new();
        // Key -> its index in `members`: a repeated key is found in O(log n), so a body
        // of thousands of keys costs n log n (a scan of earlier members was quadratic).
        // A B-tree, not a hash map: on wasm std's hasher has fixed keys, so crafted
        // keys could collide.
        let mut positions: BTreeMap<PyStr, usize> = BTreeMap::new();
        let mut idx = self.skip_ws(idx);
        if self.at(idx) != Some(u32::from('}')) {
            loop {
                if self.at(idx) != Some(u32::from('"')) {
                    return Err(invalid(
                        "Expecting property name enclosed in double quotes",
                        idx,
                    ));
                }
                let (key, next) = self.scan_string(idx + 1)?;
                idx = self.skip_ws(next);
                if self.at(idx) != Some(u32::from(':')) {
                    return Err(invalid("Expecting ':' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
                let (value, next) = self.scan_once(idx)?;
                // dict(pairs): a repeated key keeps its first position, takes the last value.
                match positions.get(&key) {
                    Some(&at) => members[at].1 = value,
                    None => {
                        positions.insert(key.clone(), members.len());
                        members.push((key, value));
                    }
                }
                idx = self.skip_ws(next);
                if self.at(idx) == Some(u32::from('}')) {
                    break;
                }
                if self.at(idx) != Some(u32::from(',')) {
                    return Err(invalid("Expecting ',' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
            }
        }
        Ok((PyValue::Dict(members), idx + 1))
    }

    /// `_parse_array_unicode`: `idx` is just after `[`.
    fn parse_array(&mut self, idx: usize) -> Result<(PyValue, usize), DecodeError> {
        let mut items = Vec::new();
        let mut idx = self.skip_ws(idx);
        if self.at(idx) != Some(u32::from(']')) {
            loop {
                let (value, next) = self.scan_once(idx)?;
                items.push(value);
                idx = self.skip_ws(next);
                if self.at(idx) == Some(u32::from(']')) {
                    break;
                }
                if self.at(idx) != Some(u32::from(',')) {
                    return Err(invalid("Expecting ',' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
            }
        }
        Ok((PyValue::List(items), idx + 1))
    }
}

// ---- serialization: json.dumps(v, ensure_ascii=False, separators=(",", ":")) ----

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

    fn err(body: &str) -> DecodeError {
        loads(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn messages_and_positions_match_cpython() {
        let cases = [
            ("{\"node_id\": ", "Expecting value", 12),
            (
                "{\"a\":1,}",
                "Expecting property name enclosed in double quotes",
                7,
            ),
            ("{\"node_id\":\"a\nb\"}", "Invalid control character at", 13),
            ("{\"node_id\":\"a\\qb\"}", "Invalid \\escape", 13),
            ("{\"node_id\":\"a\\u12G4\"}", "Invalid \\uXXXX escape", 14),
            ("{\"node_id\":\"abc", "Unterminated string starting at", 11),
            ("[1,]", "Expecting value", 3),
            ("{} {}", "Extra data", 3),
            ("{\"a\" 1}", "Expecting ':' delimiter", 5),
            ("{\"a\":1 \"b\":2}", "Expecting ',' delimiter", 7),
            (" \t\n", "Expecting value", 3),
            ("-", "Expecting value", 0),
            ("tru", "Expecting value", 0),
            ("1.", "Extra data", 1),
            ("01", "Extra data", 1),
        ];
        for (body, msg, pos) in cases {
            assert_eq!(err(body), DecodeError::Invalid { msg, pos }, "{body:?}");
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(
            err("[\"é\" 1]"),
            DecodeError::Invalid {
                msg: "Expecting ',' delimiter",
                pos: 5
            }
        );
    }

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

    #[test]
    fn what_python_cannot_parse_is_unparseable() {
        assert_eq!(loads(b"{\"a\":\"\xff\"}"), Err(DecodeError::Unparseable));
        assert_eq!(
            loads(format!("[{}]", "9".repeat(4301)).as_bytes()),
            Err(DecodeError::Unparseable)
        );
        assert!(loads(format!("[{}]", "9".repeat(4300)).as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(loads(deep.as_bytes()), Err(DecodeError::Unparseable));
    }

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
