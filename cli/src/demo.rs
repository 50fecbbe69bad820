//! `gatehouse-cli demo --url URL`: the whole onboarding, step by step, in plain words,
//! against a local `wrangler dev` (it reads the verification email from the dev
//! server's local email explorer, which only exists locally).
//!
//! sign up → read the verification email → open the link → make a key pair on the
//! "node" → upload the public half → register the node with a signed request → list
//! the organization's nodes.

use crate::args::{NodeFields, SignedExtras};
use crate::http::Client;
use crate::node::{private_key, register_body, write_key_pair};
use crate::org::json_of;
use crate::out::outln;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::crypto::{hex, random_bytes};
use gatehouse_core::org_keys::possession_message;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn expect(step: &str, (status, text): (u16, String), want: u16) -> Result<String, String> {
    if status == want {
        Ok(text)
    } else {
        Err(format!("{step}: expected {want}, got {status}: {text}"))
    }
}

pub fn run(client: &Client, url: &str) -> Result<(), String> {
    let base = url.trim_end_matches('/');
    let tag = hex(&random_bytes::<4>().map_err(|e| e.to_string())?);
    let domain = format!("demo-{tag}.example");
    // A fresh node address per run (documentation prefix), so repeated demos against
    // one persisted dev database do not collide: a node belongs to one organization.
    let node_ip = format!("2001:db8::{}:{}", &tag[..4], &tag[4..]);
    let email = format!("ada@{domain}");

    outln!("gatehouse onboarding demo against {base}\n");
    outln!("1. Ada signs up for a business account at {domain}.");
    let signup = json!({"email": email, "password": "Demo-passw0rd", "firstName": "Ada", "lastName": "Lovelace",
        "companyName": "Demo Co", "companyWebsite": format!("https://www.{domain}"), "isBusiness": true});
    let body = json_of(&expect(
        "sign up",
        client.post_json(&format!("{base}/user/register"), None, &signup)?,
        201,
    )?)?;
    let token = body["accessToken"].as_str().unwrap_or_default().to_owned();
    let org = body["user"]["orgId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    outln!(
        "   201: user {} created; she owns the new organization {org} with a 14-day free trial,",
        body["user"]["id"]
    );
    outln!("   and holds an access token. Her email is not verified yet, so she cannot change anything.\n");

    outln!("2. The worker sent a verification email. Reading it from the local email explorer:");
    let link = mailed_link(
        client,
        base,
        &email,
        "An account was created with this address",
        "/user/verify-email",
    )?;
    outln!("   link: {link}\n");

    outln!("3. Ada opens the link, enters her password and presses the page's button (opening");
    outln!("   alone verifies nothing, so mail scanners that fetch links cannot verify or burn");
    outln!("   it; the password proves she is the one who signed up, not just the mailbox).");
    let (status, page) = client.get(&link, None)?;
    let link_token = page
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .filter(|_| status == 200)
        .ok_or_else(|| format!("no confirmation form ({status}): {page}"))?;
    let (status, page) = client.post_form(
        &format!("{base}/user/verify-email"),
        &format!(
            "token={link_token}&password={}",
            signup["password"].as_str().unwrap_or_default()
        ),
    )?;
    if status != 200 || !page.contains("Email verified") {
        return Err(format!("verification failed ({status}): {page}"));
    }
    outln!("   200: \"Email verified\"; her organization now claims {domain}.\n");

    let dir = std::env::temp_dir().join(format!("gatehouse-demo-{tag}"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let stem = dir.join("node");
    outln!("4. On the bridge node, the operator makes a key pair (gatehouse-cli keygen):");
    let (private_path, public_path) = write_key_pair(&stem.to_string_lossy(), 2048)?;
    outln!("   {private_path} stays on the node; {public_path} goes to the organization.\n");

    outln!("5. Ada uploads the public key to her organization, with a proof that the node holds");
    outln!(
        "   its private half (its signature over \"gatehouse-key-possession-v1\\n<org>\"), so the key"
    );
    outln!("   may verify the node's first registration in the installer's form too.");
    let pem = std::fs::read_to_string(&public_path).map_err(|e| e.to_string())?;
    let key = private_key(Path::new(&private_path))?;
    let proof = STANDARD.encode(key.sign(possession_message(&org).as_bytes()));
    let created = json_of(&expect(
        "upload key",
        client.post_json(
            &format!("{base}/organization/{org}/key"),
            Some(&token),
            &json!({"publicKey": pem, "proof": proof}),
        )?,
        201,
    )?)?;
    outln!("   201: key {} is active.\n", created["data"]["id"]);

    outln!("6. The node registers itself, signing the request with its private key (gatehouse-cli register):");
    let fields = NodeFields {
        provider: "S3".into(),
        ip: node_ip.clone(),
        status: "active".into(),
        region: "eu-west-1".into(),
        version: "1.0.0".into(),
        signed: SignedExtras {
            id_org: Some(org.clone()),
            timestamp: None,
        },
        node_services: None,
    };
    let text = expect(
        "register",
        client.post_json(
            &format!("{base}/register"),
            None,
            &register_body(&key, &fields)?,
        )?,
        200,
    )?;
    outln!("   200: {text}\n");

    outln!("7. Ada sets the environments of her nodes' three services (S3, GCS and Azure Blob");
    outln!("   APIs): PUT /organization/{{org}}/node-env/{{service}}. Stored sealed; never shown again.");
    for service in ["s3", "gcs", "blob"] {
        let file = format!("{}_ACCESS_KEY=demo-{tag}\n", service.to_uppercase());
        expect(
            "set environment",
            client.put_json(
                &format!("{base}/organization/{org}/node-env/{service}"),
                &token,
                &json!({ "env": file }),
            )?,
            200,
        )?;
        outln!("   200: {service} set ({} bytes)", file.len());
    }
    outln!();
    installer(client, base, &org, &key, &tag)?;

    outln!("9. Ada lists her organization's nodes:");
    let nodes = json_of(&expect(
        "list nodes",
        client.get(&format!("{base}/organization/{org}/nodes"), Some(&token))?,
        200,
    )?)?;
    for node in nodes["data"].as_array().into_iter().flatten() {
        outln!(
            "   {}  {}  {}  {}  v{}  last updated {}",
            node["ip"].as_str().unwrap_or(""),
            node["provider"].as_str().unwrap_or(""),
            node["status"].as_str().unwrap_or(""),
            node["region"].as_str().unwrap_or(""),
            node["version"].as_str().unwrap_or(""),
            node["lastUpdated"].as_str().unwrap_or("")
        );
    }
    outln!("\n10. Ada forgets her password and asks for a reset link:");
    let (status, text) = client.post_json(
        &format!("{base}/user/request-reset-password"),
        None,
        &json!({"email": email}),
    )?;
    outln!("   {status}: {text}");
    let link = mailed_link(
        client,
        base,
        &email,
        "Reset your password",
        "/user/reset-password",
    )?;
    outln!("   link: {link}");
    let reset_token = link.rsplit('=').next().unwrap_or_default();
    let new_password = "Demo-passw0rd-2";
    let text = expect(
        "reset password",
        client.post_json(
            &format!("{base}/user/reset-password"),
            None,
            &json!({"token": reset_token, "newPassword": new_password}),
        )?,
        200,
    )?;
    outln!("   200: {text}; every earlier sign-in has ended.");
    expect(
        "login with the new password",
        client.post_json(
            &format!("{base}/user/login"),
            None,
            &json!({"email": email, "password": new_password}),
        )?,
        200,
    )?;
    outln!("   She signs in with the new password: 200.");
    outln!(
        "\nDone: a person signed up, verified her email, gave her organization a key and its nodes'"
    );
    outln!(
        "service environments, two bridge nodes registered with it (one through the installer's"
    );
    outln!(
        "two requests), and she reset her password. Keys for this demo are in {}.",
        dir.display()
    );
    Ok(())
}

/// Step 8: a second node, installed by Flashback's node installer, makes its two
/// requests as it does: `POST /secrets`, then `POST /register` without a provider,
/// both signed over "ip|region|timestamp" (Unix seconds).
fn installer(
    client: &Client,
    base: &str,
    org: &str,
    key: &PrivateKey,
    tag: &str,
) -> Result<(), String> {
    outln!("8. A second node, installed by Flashback's node installer, makes its two requests,");
    outln!(
        "   each signed over \"ip|region|timestamp\" (Unix seconds) with the organization's key."
    );
    let ip = format!("2001:db8:1::{}:{}", &tag[..4], &tag[4..]);
    let signed = |seconds: u64| {
        let message = format!("{ip}|eu-central-1|{seconds}");
        STANDARD.encode(key.sign(message.as_bytes()))
    };
    let seconds = unix_seconds()?;
    let request = json!({"ip": ip, "region": "eu-central-1", "timestamp": seconds,
        "signature": signed(seconds), "id_org": org});
    let answer = json_of(&expect(
        "POST /secrets",
        client.post_json(&format!("{base}/secrets"), None, &request)?,
        200,
    )?)?;
    outln!("   POST /secrets, 200: every file encrypted to the key that signed (RSA-OAEP, AES-256-CTR,");
    outln!("   HMAC-SHA256); only the node can read them:");
    for service in ["s3", "gcs", "blob"] {
        let file = crate::installer::open(&answer, service, &key.to_pkcs8_pem())?;
        outln!(
            "     .env.{service}: {}",
            String::from_utf8_lossy(&file).trim_end()
        );
    }
    let seconds = unix_seconds()? + 1;
    let register = json!({"region": "eu-central-1", "ip": ip, "status": "running", "version": "0.0.28",
        "timestamp": seconds, "signature": signed(seconds), "id_org": org});
    let text = expect(
        "installer register",
        client.post_json(&format!("{base}/register"), None, &register)?,
        200,
    )?;
    outln!("   POST /register without a provider (run without -p), 200: {text}; it serves all three APIs.\n");
    Ok(())
}

fn unix_seconds() -> Result<u64, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|e| e.to_string())
}

/// Polls the local email explorer (mail is sent after the response) for the message to
/// `email` with `subject` and returns its link to `path`.
fn mailed_link(
    client: &Client,
    base: &str,
    email: &str,
    subject: &str,
    path: &str,
) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, listing) = client.get(
            &format!("{base}/cdn-cgi/local/explorer/api/local/email/sending"),
            None,
        )?;
        let listing = json_of(&listing)?;
        let message = listing["result"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| {
                m["to"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|t| t == email))
                    && m["subject"] == subject
            });
        if let Some(message) = message {
            let id: String = message["messageId"]
                .as_str()
                .unwrap_or_default()
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let (_, full) = client.get(
                &format!("{base}/cdn-cgi/local/explorer/api/local/email/sending?email_id={id}"),
                None,
            )?;
            let full = json_of(&full)?;
            outln!(
                "   subject: {}",
                full["result"]["subject"].as_str().unwrap_or("")
            );
            let text = full["result"]["text"].as_str().unwrap_or("");
            return text
                .split_whitespace()
                .find(|w| w.starts_with(base) && w.contains(path))
                .map(str::to_owned)
                .ok_or_else(|| format!("no link in the email: {text}"));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no email to {email} arrived (is this a local `wrangler dev`?)"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
