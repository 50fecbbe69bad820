//! The mail the worker sent, read back from `wrangler dev`'s local email explorer
//! (the `send_email` binding's simulation): summaries, then each message in full.

use crate::TestApp;
use serde_json::Value;
use std::time::{Duration, Instant};

impl TestApp {
    /// Messages the worker sent through the `EMAIL` binding (summaries: from, to,
    /// subject, messageId, sentAt), as listed by the dev server's local email explorer:
    /// every page of it (it answers 25 a page unless asked for up to 100, with a
    /// cursor while there are more; a shared worker sends far more than one page).
    pub fn sent_emails(&self) -> Vec<Value> {
        const LISTING: &str = "/cdn-cgi/local/explorer/api/local/email/sending?per_page=100";
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("{LISTING}&cursor={}", percent_encode(c)),
                None => LISTING.to_owned(),
            };
            let listing = self.get(&path);
            assert_eq!(listing.status, 200, "email explorer: {}", listing.body);
            let page = listing.json();
            match page["result"].clone() {
                Value::Array(items) => all.extend(items),
                other => panic!("unexpected email explorer answer: {other}"),
            }
            let info = &page["result_info"];
            match (info["has_more"].as_bool(), info["cursor"].as_str()) {
                (Some(true), Some(next)) => cursor = Some(next.to_owned()),
                _ => return all,
            }
        }
    }

    /// Every message sent to `to` so far, oldest first, in full.
    pub fn emails_to(&self, to: &str) -> Vec<SentEmail> {
        let mut summaries: Vec<Value> = self
            .sent_emails()
            .into_iter()
            .filter(|m| {
                m["to"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|t| t == to))
            })
            .collect();
        summaries.sort_by(|a, b| a["sentAt"].as_str().cmp(&b["sentAt"].as_str()));
        summaries
            .iter()
            .map(|m| {
                let id = m["messageId"].as_str().expect("messageId");
                let res = self.get(&format!(
                    "/cdn-cgi/local/explorer/api/local/email/sending?email_id={}",
                    percent_encode(id)
                ));
                assert_eq!(res.status, 200, "email explorer: {}", res.body);
                let full = &res.json()["result"];
                SentEmail {
                    to: full["to"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|t| t.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    from: full["from"].as_str().unwrap_or_default().to_owned(),
                    subject: full["subject"].as_str().unwrap_or_default().to_owned(),
                    text: full["text"].as_str().unwrap_or_default().to_owned(),
                    html: full["html"].as_str().unwrap_or_default().to_owned(),
                }
            })
            .collect()
    }

    /// Waits (up to [`crate::ARRIVAL`]) until `count` messages were sent to `to`, and
    /// returns them. The worker sends after it has answered, so mail can trail the
    /// response.
    pub fn wait_for_emails(&self, to: &str, count: usize) -> Vec<SentEmail> {
        let deadline = Instant::now() + crate::ARRIVAL;
        loop {
            let emails = self.emails_to(to);
            if emails.len() >= count || Instant::now() > deadline {
                assert!(
                    emails.len() >= count,
                    "expected {count} email(s) to {to}, got {}",
                    emails.len()
                );
                return emails;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One sent message, in full.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SentEmail {
    /// The first `http(s)://…` link in the text part.
    pub fn first_link(&self) -> Option<String> {
        let start = self
            .text
            .find("http://")
            .or_else(|| self.text.find("https://"))?;
        Some(self.text[start..].split_whitespace().next()?.to_owned())
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
