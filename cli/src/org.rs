//! `upload-key`: what an organization's owner or administrator does once per node,
//! give the organization the node's public key (POST /organization/{id}/key,
//! `{"publicKey": PEM}`), signed in with email and password (POST /user/login) or with
//! an access token they already hold.
//!
//! The password is never a flag (flags show up in `ps` and shell history): it comes
//! from GATEHOUSE_PASSWORD or the first line of stdin.

use crate::args::UploadKeyArgs;
use crate::http::{report, Client};
use crate::node::public_key_pem;
use serde_json::{json, Value};

pub fn upload_key(client: &Client, args: &UploadKeyArgs) -> Result<(), String> {
    let base = args.url.url.trim_end_matches('/');
    let pem = public_key_pem(&args.public_key)?;
    let (token, own_org) = match (&args.token, &args.email) {
        (Some(token), _) => (token.clone(), None),
        (None, Some(email)) => {
            let (token, org) = login(client, base, email, &password()?)?;
            (token, Some(org))
        }
        (None, None) => return Err("say who signs in: --email EMAIL or --token TOKEN".into()),
    };
    let org = match (&args.org, own_org) {
        (Some(org), _) => org.clone(),
        (None, Some(org)) => org,
        (None, None) => profile_org(client, base, &token)?,
    };
    let answer = client.post_json(
        &format!("{base}/organization/{org}/key"),
        Some(&token),
        &json!({ "publicKey": pem }),
    )?;
    report("the key upload", answer, 201)
}

fn password() -> Result<String, String> {
    if let Ok(password) = std::env::var("GATEHOUSE_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err("no password: set GATEHOUSE_PASSWORD or give it on stdin".into());
    }
    Ok(password.to_owned())
}

/// Signs in; the access token and the user's own organization.
fn login(
    client: &Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<(String, String), String> {
    let (status, text) = client.post_json(
        &format!("{base}/user/login"),
        None,
        &json!({"email": email, "password": password}),
    )?;
    if status != 200 {
        return Err(format!(
            "signing in as {email} refused (HTTP {status}): {text}"
        ));
    }
    let body = json_of(&text)?;
    match (body["accessToken"].as_str(), body["user"]["orgId"].as_str()) {
        (Some(token), Some(org)) => Ok((token.to_owned(), org.to_owned())),
        _ => Err(format!("unexpected sign-in answer: {text}")),
    }
}

/// The organization of the token's user (GET /user/profile).
fn profile_org(client: &Client, base: &str, token: &str) -> Result<String, String> {
    let (status, text) = client.get(&format!("{base}/user/profile"), Some(token))?;
    if status != 200 {
        return Err(format!(
            "reading the token's profile refused (HTTP {status}): {text}"
        ));
    }
    json_of(&text)?["data"]["orgId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no organization in the profile: {text}; pass --org"))
}

pub fn json_of(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("unexpected answer ({e}): {text}"))
}
