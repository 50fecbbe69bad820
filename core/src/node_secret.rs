//! `POST /register_node_secret`: the request model, as the FastAPI service declares it:
//!
//! ```python
//! class NodeSecret(BaseModel):
//!     node_id: str = Field(min_length=1, max_length=128)
//!     secret: str = Field(min_length=16, max_length=512)
//! ```

use crate::fastapi::{self, parse_str_model, pyjson, Rejection, StrField};

const FIELDS: [StrField; 2] = [
    StrField {
        name: "node_id",
        min_length: 1,
        max_length: 128,
    },
    StrField {
        name: "secret",
        min_length: 16,
        max_length: 512,
    },
];

#[derive(Debug, PartialEq, Eq)]
pub struct NodeSecretRequest {
    pub node_id: String,
    pub secret: String,
}

impl NodeSecretRequest {
    /// Parses the request exactly as FastAPI would, or says what FastAPI would answer.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<NodeSecretRequest, Rejection> {
        let mut values = parse_str_model(content_type, body, &FIELDS)?.into_iter();
        match (values.next(), values.next()) {
            (Some(node_id), Some(secret)) => Ok(NodeSecretRequest { node_id, secret }),
            // parse_str_model returns one value per field or an error.
            _ => Err(Rejection::UnparseableBody),
        }
    }
}

/// 200 body: `{"node_id":"…","registered":true}`, serialized as FastAPI does.
pub fn registered_body(node_id: &str) -> String {
    let mut out = String::from("{\"node_id\":");
    pyjson::write_str(&pyjson::PyStr::of(node_id), &mut out);
    out.push_str(",\"registered\":true}");
    out
}

/// 409 body when the node id is taken by a different secret.
pub fn conflict_body() -> String {
    fastapi::detail("Node already registered")
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn valid_request_parses_and_ignores_extras() {
        let req = NodeSecretRequest::parse(
            JSON,
            br#"{"node_id":"n1","secret":"0123456789abcdef","x":1}"#,
        )
        .unwrap();
        assert_eq!(
            req,
            NodeSecretRequest {
                node_id: "n1".into(),
                secret: "0123456789abcdef".into()
            }
        );
    }

    #[test]
    fn bodies_match_fastapi() {
        assert_eq!(
            registered_body("n\"1é"),
            r#"{"node_id":"n\"1é","registered":true}"#
        );
        assert_eq!(conflict_body(), r#"{"detail":"Node already registered"}"#);
        let rejection =
            NodeSecretRequest::parse(JSON, br#"{"node_id":"","secret":"abc"}"#).unwrap_err();
        assert_eq!(rejection.status(), 422);
        assert_eq!(
            rejection.body(),
            r#"{"detail":[{"type":"string_too_short","loc":["body","node_id"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}},{"type":"string_too_short","loc":["body","secret"],"msg":"String should have at least 16 characters","input":"abc","ctx":{"min_length":16}}]}"#
        );
    }
}
