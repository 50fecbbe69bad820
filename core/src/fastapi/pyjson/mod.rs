//! A JSON decoder that fails exactly like CPython 3.11's `json.loads(bytes)` (the C
//! scanner FastAPI uses), and a serializer that writes like Starlette's `JSONResponse`.
//!
//! FastAPI reports a decode error as `{"type":"json_invalid","loc":["body",<pos>],
//! "ctx":{"error":<msg>}}`, where `<pos>` is a *character* index into the decoded text
//! and `<msg>` is CPython's message; clients match on both. So this works on code
//! points (not bytes), decodes like `json.detect_encoding` + `surrogatepass`, and keeps
//! what Python keeps: big integers exactly, floats as `repr()` prints them, object
//! members in first-seen order with the last duplicate winning, lone surrogates.

mod parser;
mod text;
mod write;

pub use write::{float_repr, write_str};

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
    let text = text::decode_text(body).ok_or(DecodeError::Unparseable)?;
    let mut parser = parser::Parser::new(&text);
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
}
