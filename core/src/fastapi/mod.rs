//! FastAPI/pydantic-v2 compatibility: reading a JSON body and validating a model of
//! constrained `str` fields, failing with byte-for-byte the bodies FastAPI returns.
//! Checked against the real FastAPI by tests/fastapi_golden (fixtures.json).

pub mod pyjson;

use pyjson::{write_str, DecodeError, PyStr, PyValue};

/// A `str` field, plain or declared as `Field(min_length=…, max_length=…)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrField {
    pub name: &'static str,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
}

/// Why FastAPI would refuse the request, with the exact body it would send.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// 422 `{"detail":[…]}`, one entry per problem in pydantic's order.
    Unprocessable(Vec<ValidationError>),
    /// 400 `{"detail":"There was an error parsing the body"}`.
    UnparseableBody,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    pub kind: &'static str,
    pub loc: Vec<Loc>,
    pub msg: String,
    pub input: PyValue,
    pub ctx: Option<(&'static str, PyValue)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Loc {
    Key(&'static str),
    Index(usize),
}

impl Rejection {
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Unprocessable(_) => 422,
            Rejection::UnparseableBody => 400,
        }
    }

    pub fn body(&self) -> String {
        match self {
            Rejection::UnparseableBody => detail("There was an error parsing the body"),
            Rejection::Unprocessable(errors) => {
                let mut out = String::from("{\"detail\":[");
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    e.write_json(&mut out);
                }
                out.push_str("]}");
                out
            }
        }
    }
}

impl ValidationError {
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"type\":");
        write_str(&PyStr::of(self.kind), out);
        out.push_str(",\"loc\":[");
        for (i, part) in self.loc.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match part {
                Loc::Key(k) => write_str(&PyStr::of(k), out),
                Loc::Index(n) => out.push_str(&n.to_string()),
            }
        }
        out.push_str("],\"msg\":");
        write_str(&PyStr::of(&self.msg), out);
        out.push_str(",\"input\":");
        self.input.write_json(out);
        if let Some((name, value)) = &self.ctx {
            out.push_str(",\"ctx\":{");
            write_str(&PyStr::of(name), out);
            out.push(':');
            value.write_json(out);
            out.push('}');
        }
        out.push('}');
    }
}

/// `{"detail":"<text>"}`, FastAPI's `HTTPException` body.
pub fn detail(text: &str) -> String {
    let mut out = String::from("{\"detail\":");
    write_str(&PyStr::of(text), &mut out);
    out.push('}');
    out
}

/// The body as FastAPI hands it to the model.
enum Body {
    /// Empty body: "Field required" at `["body"]`.
    Missing,
    Json(PyValue),
    /// Not declared as JSON: FastAPI passes the raw bytes, which no model accepts.
    Raw(String),
}

/// FastAPI (strict_content_type, its default) parses the body as JSON only when the
/// content type is `application/json` or `application/*+json`, judged the way
/// `email.message.Message.get_content_type()` reads the header.
pub fn is_json_content_type(content_type: Option<&str>) -> bool {
    let Some(value) = content_type.filter(|v| !v.is_empty()) else {
        return false;
    };
    let ctype = value.split(';').next().unwrap_or("").trim().to_lowercase();
    if ctype.matches('/').count() != 1 {
        return false; // Python falls back to text/plain
    }
    let (main, sub) = ctype.split_once('/').unwrap_or(("", ""));
    main == "application" && (sub == "json" || sub.ends_with("+json"))
}

fn read_body(content_type: Option<&str>, body: &[u8]) -> Result<Body, Rejection> {
    if body.is_empty() {
        return Ok(Body::Missing);
    }
    if !is_json_content_type(content_type) {
        return Ok(Body::Raw(String::from_utf8_lossy(body).into_owned()));
    }
    match pyjson::loads(body) {
        Ok(value) => Ok(Body::Json(value)),
        Err(DecodeError::Unparseable) => Err(Rejection::UnparseableBody),
        Err(DecodeError::Invalid { msg, pos }) => {
            Err(Rejection::Unprocessable(vec![ValidationError {
                kind: "json_invalid",
                loc: vec![Loc::Key("body"), Loc::Index(pos)],
                msg: "JSON decode error".to_owned(),
                input: PyValue::Dict(vec![]),
                ctx: Some(("error", PyValue::Str(PyStr::of(msg)))),
            }]))
        }
    }
}

/// Reads and validates a body for a model made of `fields`, returning the values in
/// field order. Extra members are ignored, as pydantic does by default.
pub fn parse_str_model(
    content_type: Option<&str>,
    body: &[u8],
    fields: &[StrField],
) -> Result<Vec<String>, Rejection> {
    let members = match read_body(content_type, body)? {
        Body::Json(PyValue::Dict(members)) => members,
        Body::Missing => {
            return Err(Rejection::Unprocessable(vec![ValidationError {
                kind: "missing",
                loc: vec![Loc::Key("body")],
                msg: "Field required".to_owned(),
                input: PyValue::Null,
                ctx: None,
            }]))
        }
        Body::Json(other) => return Err(not_an_object(other)),
        Body::Raw(text) => return Err(not_an_object(PyValue::Str(PyStr::of(&text)))),
    };
    let whole = PyValue::Dict(members.clone());
    let mut values = Vec::with_capacity(fields.len());
    let mut errors = Vec::new();
    for field in fields {
        let value = members
            .iter()
            .find(|(k, _)| *k == PyStr::of(field.name))
            .map(|(_, v)| v);
        match check_str(field, value, &whole) {
            Ok(s) => values.push(s),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(Rejection::Unprocessable(errors))
    }
}

fn not_an_object(input: PyValue) -> Rejection {
    Rejection::Unprocessable(vec![ValidationError {
        kind: "model_attributes_type",
        loc: vec![Loc::Key("body")],
        msg: "Input should be a valid dictionary or object to extract fields from".to_owned(),
        input,
        ctx: None,
    }])
}

// The error is large (it echoes the input), but it is built only on the refusal path
// and consumed at once; boxing would buy nothing.
#[allow(clippy::result_large_err)]
fn check_str(
    field: &StrField,
    value: Option<&PyValue>,
    whole: &PyValue,
) -> Result<String, ValidationError> {
    let error = |kind, msg: String, input: PyValue, ctx| ValidationError {
        kind,
        loc: vec![Loc::Key("body"), Loc::Key(field.name)],
        msg,
        input,
        ctx,
    };
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let s = match value {
        None => {
            return Err(error(
                "missing",
                "Field required".into(),
                whole.clone(),
                None,
            ))
        }
        Some(PyValue::Str(s)) => s,
        Some(other) => {
            return Err(error(
                "string_type",
                "Input should be a valid string".into(),
                other.clone(),
                None,
            ))
        }
    };
    let Some(text) = s.to_string_checked() else {
        return Err(error(
            "string_unicode",
            "Input should be a valid string, unable to parse raw data as a unicode string".into(),
            PyValue::Str(s.clone()),
            None,
        ));
    };
    if let Some(min) = field.min_length.filter(|&min| s.len() < min) {
        return Err(error(
            "string_too_short",
            format!("String should have at least {min} character{}", plural(min)),
            PyValue::Str(s.clone()),
            Some(("min_length", PyValue::Int(min.to_string()))),
        ));
    }
    if let Some(max) = field.max_length.filter(|&max| s.len() > max) {
        return Err(error(
            "string_too_long",
            format!("String should have at most {max} character{}", plural(max)),
            PyValue::Str(s.clone()),
            Some(("max_length", PyValue::Int(max.to_string()))),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_fastapi_parses_as_json() {
        for ct in [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            "application/problem+json; x=1",
            " application/json ",
        ] {
            assert!(is_json_content_type(Some(ct)), "{ct}");
        }
        for ct in [
            "",
            "text/json",
            "application/ json",
            "json",
            "application/json/x",
            "text/plain",
        ] {
            assert!(!is_json_content_type(Some(ct)), "{ct}");
        }
        assert!(!is_json_content_type(None));
    }
}
