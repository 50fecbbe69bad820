//! D1's wire format as the worker crosses it (src/store/batch.rs): the values bound to
//! a batch's statements, sent as one JSON text, and D1's answer to the batch, received
//! as one (`JSON.stringify` of its result objects). Pure serde, so it is tested here.

pub mod row;

use row::{FromRow, RowError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A value bound to a statement's `?N`: text, an integer (bound as a JS number, as
/// before: D1 stores an integral number as INTEGER) or NULL.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Arg {
    Text(String),
    Int(i64),
    Null,
}

/// What D1 answered for one statement of a batch.
#[derive(Deserialize, Debug, Default)]
pub struct StatementResult {
    #[serde(default)]
    results: Option<Vec<Value>>,
    #[serde(default)]
    meta: Meta,
}

/// The part of D1's `meta` that gatehouse reads: what changed, and what is billed.
/// Read leniently: the batch has committed by the time its answer is read, so a count
/// in an unexpected form reads as 0 rather than failing a request whose writes stand.
#[derive(Deserialize, Debug, Default)]
struct Meta {
    changes: Option<Value>,
    rows_read: Option<Value>,
    rows_written: Option<Value>,
}

/// A count from `meta`: a non-negative integer (an integral float too), else 0.
fn count(value: &Option<Value>) -> u64 {
    let Some(value) = value else { return 0 };
    value.as_u64().unwrap_or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
            .map_or(0, |f| f as u64)
    })
}

impl StatementResult {
    /// The statement's rows, as `T`.
    pub fn rows<T: FromRow>(&self) -> Result<Vec<T>, RowError> {
        self.results.iter().flatten().map(T::from_row).collect()
    }

    /// Rows the statement changed.
    pub fn changes(&self) -> u64 {
        count(&self.meta.changes)
    }

    /// Rows read and written, as Cloudflare bills them.
    pub fn billed_rows(&self) -> (u64, u64) {
        (count(&self.meta.rows_read), count(&self.meta.rows_written))
    }
}

/// D1's answer to a batch, as `JSON.stringify` writes it.
pub fn parse_batch(text: &str) -> Result<Vec<StatementResult>, serde_json::Error> {
    serde_json::from_str(text)
}

/// The bound values of a batch's statements, as the one JSON text sent over.
pub fn values_json(values: &[&[Arg]]) -> String {
    serde_json::to_string(values).expect("strings, integers and nulls always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::d1_row! {
        #[derive(Debug, PartialEq)]
        struct Row {
            id: String,
            at_ms: f64,
            n: Option<i64>,
        }
    }

    #[test]
    fn reads_rows_changes_and_billed_rows_from_d1s_answer() {
        let text = r#"[
            {"success":true,"meta":{"served_by":"miniflare.db","duration":0,"changes":1,
             "last_row_id":7,"changed_db":true,"size_after":8192,"rows_read":3,"rows_written":2},
             "results":[]},
            {"success":true,"meta":{"changes":0,"rows_read":1,"rows_written":0},
             "results":[{"id":"a","at_ms":1764000000000,"n":null},{"id":"b","at_ms":1.5,"n":4}]}
        ]"#;
        let results = parse_batch(text).expect("parses");
        assert_eq!(results[0].changes(), 1);
        assert_eq!(results[0].billed_rows(), (3, 2));
        assert!(results[0].rows::<Row>().unwrap().is_empty());
        assert_eq!(
            results[1].rows::<Row>().unwrap(),
            vec![
                Row {
                    id: "a".into(),
                    at_ms: 1764000000000.0,
                    n: None
                },
                Row {
                    id: "b".into(),
                    at_ms: 1.5,
                    n: Some(4)
                },
            ]
        );
    }

    #[test]
    fn a_result_without_rows_or_meta_reads_as_empty() {
        let results = parse_batch(r#"[{"success":true},{"results":null,"meta":{}}]"#).unwrap();
        assert_eq!(results[0].changes(), 0);
        assert_eq!(results[1].billed_rows(), (0, 0));
        assert!(results[1].rows::<Value>().unwrap().is_empty());
    }

    #[test]
    fn counts_in_an_unexpected_form_read_as_zero_not_as_a_failed_batch() {
        let results = parse_batch(
            r#"[{"meta":{"changes":-1,"rows_read":"3","rows_written":2.5}},
                {"meta":{"changes":2.0,"rows_read":null,"rows_written":1e3}}]"#,
        )
        .expect("a committed batch's answer always parses");
        assert_eq!(results[0].changes(), 0);
        assert_eq!(results[0].billed_rows(), (0, 0));
        assert_eq!(results[1].changes(), 2);
        assert_eq!(results[1].billed_rows(), (0, 1000));
    }

    #[test]
    fn a_row_of_the_wrong_shape_is_an_error_not_a_default() {
        let results = parse_batch(r#"[{"results":[{"id":1}]}]"#).unwrap();
        assert!(results[0].rows::<Row>().is_err());
    }

    #[test]
    fn values_go_over_as_json_text_of_the_same_values() {
        let args = [
            Arg::Text("a\"b\n".into()),
            Arg::Int(1764000000000),
            Arg::Null,
        ];
        let values: Vec<&[Arg]> = vec![&args, &[]];
        assert_eq!(
            values_json(&values),
            r#"[["a\"b\n",1764000000000,null],[]]"#
        );
    }
}
