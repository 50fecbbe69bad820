//! CPython 3.11's C scanner (`_json.c`), on code points: the same messages at the
//! same character positions, the same limits (integer digits, nesting depth).

use super::{DecodeError, PyStr, PyValue, MAX_DEPTH, MAX_INT_DIGITS};
use std::collections::BTreeMap;

/// A scan over decoded text; `depth` counts open arrays and objects.
pub(super) struct Parser<'s> {
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

impl<'s> Parser<'s> {
    pub(super) fn new(s: &'s [u32]) -> Parser<'s> {
        Parser { s, depth: 0 }
    }

    fn at(&self, idx: usize) -> Option<u32> {
        self.s.get(idx).copied()
    }

    pub(super) fn skip_ws(&self, mut idx: usize) -> usize {
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
    pub(super) fn scan_once(&mut self, idx: usize) -> Result<(PyValue, usize), DecodeError> {
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
