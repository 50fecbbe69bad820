//! Serves `/openapi.json` without the pretty-printing the source file keeps for its
//! readers: whitespace outside strings is dropped at build time (key order and every
//! value unchanged), which takes ~2.5 KiB gzip off the worker's upload
//! (docs/performance.md, "Bundle size").

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=openapi.json");
    let source = std::fs::read_to_string("openapi.json").expect("core/openapi.json is readable");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("openapi.min.json"), minified(&source)).expect("OUT_DIR is writable");
}

/// `json` without the whitespace between its tokens (JSON's own: space, tab, CR, LF).
fn minified(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !matches!(c, ' ' | '\t' | '\r' | '\n') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}
