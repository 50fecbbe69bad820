//! Rows of D1's answer as Rust types, read by column name: [`d1_row!`](crate::d1_row)
//! declares a row struct and its [`FromRow`], one call of a small non-generic reader
//! per column. A derived `Deserialize` did the same job with a visitor per row type,
//! ~0.5 KiB gzip of the bundle each (docs/performance.md, "Bundle size"); the checks
//! are serde's: a column that is missing or of another JSON type is an error, not a
//! default, unless the field is an `Option` (absent or null reads as `None`).

/// The JSON value of a row (re-exported for [`d1_row!`](crate::d1_row)'s expansion).
pub use serde_json::Value;

/// A row type of D1's answer (declared with [`d1_row!`](crate::d1_row)).
pub trait FromRow: Sized {
    fn from_row(row: &Value) -> Result<Self, RowError>;
}

/// A whole row as D1 answered it, for rows picked apart where they are used.
impl FromRow for Value {
    fn from_row(row: &Value) -> Result<Self, RowError> {
        Ok(row.clone())
    }
}

/// A column missing from a row, or of another type than its field's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowError {
    pub column: &'static str,
    pub expected: &'static str,
    /// What the row had instead: `missing`, `null`, `text`, `an integer`, …
    pub found: &'static str,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let RowError {
            column,
            expected,
            found,
        } = self;
        write!(f, "column {column}: expected {expected}, found {found}")
    }
}

/// What a column holds, in [`RowError`]'s words.
fn kind(value: Option<&Value>) -> &'static str {
    match value {
        None => "missing",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(n)) if n.is_f64() => "a float",
        Some(Value::Number(_)) => "an integer",
        Some(Value::String(_)) => "text",
        Some(Value::Array(_)) => "an array",
        Some(Value::Object(_)) => "an object",
    }
}

/// A field type a column reads as.
pub trait Column: Sized {
    fn column(row: &Value, name: &'static str) -> Result<Self, RowError>;
}

/// The column's value, or the error for a field of type `expected`.
fn read<T>(
    row: &Value,
    name: &'static str,
    expected: &'static str,
    as_type: impl FnOnce(&Value) -> Option<T>,
) -> Result<T, RowError> {
    let value = row.get(name);
    value.and_then(as_type).ok_or_else(|| RowError {
        column: name,
        expected,
        found: kind(value),
    })
}

impl Column for String {
    fn column(row: &Value, name: &'static str) -> Result<Self, RowError> {
        read(row, name, "text", |v| v.as_str().map(str::to_owned))
    }
}

/// An integer: D1 answers INTEGER columns as JSON integers (a float is refused, as
/// serde refused it).
impl Column for i64 {
    fn column(row: &Value, name: &'static str) -> Result<Self, RowError> {
        read(row, name, "an integer", Value::as_i64)
    }
}

impl Column for f64 {
    fn column(row: &Value, name: &'static str) -> Result<Self, RowError> {
        read(row, name, "a number", Value::as_f64)
    }
}

impl Column for bool {
    fn column(row: &Value, name: &'static str) -> Result<Self, RowError> {
        read(row, name, "a boolean", Value::as_bool)
    }
}

/// Absent or NULL reads as `None`.
impl<T: Column> Column for Option<T> {
    fn column(row: &Value, name: &'static str) -> Result<Self, RowError> {
        match row.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => T::column(row, name).map(Some),
        }
    }
}

/// Declares a row struct whose fields are read from the columns of the same names
/// ([`FromRow`]). Attributes and doc comments on the struct and its fields are kept.
#[macro_export]
macro_rules! d1_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty),*
        }

        impl $crate::d1_wire::row::FromRow for $name {
            fn from_row(
                row: &$crate::d1_wire::row::Value,
            ) -> ::core::result::Result<Self, $crate::d1_wire::row::RowError> {
                ::core::result::Result::Ok($name {
                    $($field: <$ty as $crate::d1_wire::row::Column>::column(
                        row,
                        ::core::stringify!($field),
                    )?),*
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    crate::d1_row! {
        #[derive(Debug, PartialEq)]
        struct Sample {
            /// A doc comment is kept.
            id: String,
            count: i64,
            at_ms: f64,
            banned: bool,
            note: Option<String>,
            seen: Option<i64>,
        }
    }

    #[test]
    fn reads_each_field_from_its_column_and_options_from_null_or_absence() {
        let row = json!({"id": "a", "count": 3, "at_ms": 1.5, "banned": true,
                         "note": null, "extra": "ignored"});
        assert_eq!(
            Sample::from_row(&row).unwrap(),
            Sample {
                id: "a".into(),
                count: 3,
                at_ms: 1.5,
                banned: true,
                note: None,
                seen: None,
            }
        );
        let row = json!({"id": "b", "count": -2, "at_ms": 7, "banned": false,
                         "note": "n", "seen": 9});
        let sample = Sample::from_row(&row).unwrap();
        assert_eq!(
            (sample.at_ms, sample.note, sample.seen),
            (7.0, Some("n".into()), Some(9))
        );
    }

    #[test]
    fn a_missing_or_mistyped_column_is_an_error_not_a_default() {
        let whole = json!({"id": "a", "count": 3, "at_ms": 1, "banned": true});
        assert!(Sample::from_row(&whole).is_ok());
        for (column, bad, expected, found) in [
            ("id", json!(1), "text", "an integer"),
            ("count", json!(1.5), "an integer", "a float"),
            ("count", json!("3"), "an integer", "text"),
            ("at_ms", json!(null), "a number", "null"),
            ("banned", json!(1), "a boolean", "an integer"),
            ("seen", json!("x"), "an integer", "text"),
            ("note", json!([]), "text", "an array"),
        ] {
            let mut row = whole.clone();
            row[column] = bad;
            let error = RowError {
                column,
                expected,
                found,
            };
            assert_eq!(Sample::from_row(&row), Err(error), "{column}");
            let mut row = whole.clone();
            if row.as_object_mut().unwrap().remove(column).is_some() {
                let missing = RowError {
                    found: "missing",
                    ..error
                };
                assert_eq!(Sample::from_row(&row), Err(missing));
            }
        }
        let error = Sample::from_row(&json!({"id": "a"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "column count: expected an integer, found missing"
        );
    }
}
