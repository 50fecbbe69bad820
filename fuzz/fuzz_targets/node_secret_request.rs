//! `POST /register_node_secret` bodies through the FastAPI-compatible decoder and
//! validator: never a panic, and every rejection renders as JSON.
#![no_main]
use gatehouse_core::node_secret::NodeSecretRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    // The first byte picks the Content-Type header, the rest is the body.
    let (content_type, body) = match body.split_first() {
        Some((0, rest)) => (None, rest),
        Some((1, rest)) => (Some("text/plain"), rest),
        Some((_, rest)) => (Some("application/json"), rest),
        None => (Some("application/json"), body),
    };
    // Infera's model (the default) and a constrained one, alternately.
    let policy = if body.len() % 2 == 0 {
        gatehouse_core::node_secret::NodeSecretPolicy::default()
    } else {
        gatehouse_core::node_secret::NodeSecretPolicy {
            node_id_min_length: Some(1),
            node_id_max_length: Some(128),
            secret_min_length: Some(16),
            secret_max_length: Some(512),
        }
    };
    match NodeSecretRequest::parse(content_type, body, &policy) {
        Ok(request) => {
            assert!(!request.node_id.is_empty() && request.secret.len() >= 16);
        }
        Err(rejection) => {
            let rendered = rejection.body();
            serde_json::from_str::<serde_json::Value>(&rendered)
                .unwrap_or_else(|e| panic!("rejection is not JSON ({e}): {rendered}"));
        }
    }
});
