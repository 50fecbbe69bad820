//! D1 rows as an operator reads them: the store keeps instants as epoch milliseconds
//! in columns named `…_ms`; shown, each becomes RFC 3339 text under the name without
//! `_ms` (`created_at_ms: 1705314600000` → `created_at: "2024-01-15T10:30:00.000Z"`).
//! Other columns pass unchanged.

use gatehouse_core::time::format_rfc3339_ms;
use serde_json::{Map, Value};

pub fn readable(rows: Vec<Value>) -> Vec<Value> {
    rows.into_iter().map(readable_row).collect()
}

pub fn readable_row(row: Value) -> Value {
    let Value::Object(columns) = row else {
        return row;
    };
    let shown: Map<String, Value> = columns
        .into_iter()
        .map(|(name, value)| match name.strip_suffix("_ms") {
            Some(base) if value.is_null() => (base.to_owned(), Value::Null),
            Some(base) => match value.as_i64() {
                Some(ms) => (base.to_owned(), Value::String(format_rfc3339_ms(ms))),
                None => (name, value),
            },
            None => (name, value),
        })
        .collect();
    Value::Object(shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn milliseconds_become_rfc3339_and_the_rest_passes() {
        let row = json!({"id": "k1", "bits": 2048, "created_at_ms": 1_705_314_600_000i64,
                         "revoked_at_ms": null, "at_ms": 0, "odd_ms": "x"});
        assert_eq!(
            readable_row(row),
            json!({"id": "k1", "bits": 2048, "created_at": "2024-01-15T10:30:00.000Z",
                   "revoked_at": null, "at": "1970-01-01T00:00:00.000Z", "odd_ms": "x"})
        );
        assert_eq!(readable(vec![json!(1)]), vec![json!(1)]);
    }
}
