//! The email client: outgoing mail through the `send_email` binding (`EMAIL`).

use gatehouse_core::account::notices::{notice_email, Notice};
use gatehouse_core::config::Config;
use gatehouse_core::time::format_rfc3339_ms;
use worker::{Env, SendEmailBuilder};

pub const EMAIL_BINDING: &str = "EMAIL";

pub struct EmailClient {
    env: Env,
    sender: String,
}

pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl EmailClient {
    pub fn new(env: &Env, config: &Config) -> EmailClient {
        EmailClient {
            env: env.clone(),
            sender: config.mail_from.clone(),
        }
    }

    /// Sends one message. Failures are returned (and logged by the caller), never
    /// retried here: the account exists either way and the user can ask for a resend.
    pub async fn send(&self, message: &Message) -> Result<(), String> {
        let binding = self
            .env
            .send_email(EMAIL_BINDING)
            .map_err(|e| format!("binding: {e}"))?;
        let builder = SendEmailBuilder::builder(&self.sender, &message.to, &message.subject)
            .text(&message.text)
            .html(&message.html)
            .build();
        binding
            .send_with_builder(&builder)
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }
}

/// Emails a password-reset link for `token` after the response has been sent; a
/// failure is logged (the person can ask again). No mail carries what a sign-up typed
/// (names): the address may not be verified (core::account::verification).
pub fn send_reset_later(ctx: &worker::Context, env: &Env, config: &Config, to: &str, token: &str) {
    let link = format!("{}/user/reset-password?token={token}", config.public_url);
    let (subject, text, html) =
        gatehouse_core::account::password_reset::reset_email(&link, &config.public_url);
    send_later(ctx, env, config, to, subject, text, html, "password reset");
}

/// Sends after the response (`wait_until`); `what` names the mail in the log.
#[allow(clippy::too_many_arguments)]
fn send_later(
    ctx: &worker::Context,
    env: &Env,
    config: &Config,
    to: &str,
    subject: String,
    text: String,
    html: String,
    what: &'static str,
) {
    let client = EmailClient::new(env, config);
    let message = Message {
        to: to.to_owned(),
        subject,
        text,
        html,
    };
    let env = env.clone();
    ctx.wait_until(async move {
        if let Err(e) = client.send(&message).await {
            // After the answer: one line and one data point tell the operator.
            crate::observe::mail_not_sent(&env, what, &e);
        }
    });
}

/// Emails a verification link for `token` after the response has been sent
/// (`wait_until`), so mail latency never holds the request. A failure is logged; the
/// account stays and `POST /user/resend-verification` sends a fresh link.
pub fn send_verification_later(
    ctx: &worker::Context,
    env: &Env,
    config: &Config,
    to: &str,
    token: &str,
) {
    let link = format!("{}/user/verify-email?token={token}", config.public_url);
    let (subject, text, html) =
        gatehouse_core::account::verification::verification_email(&link, &config.public_url);
    send_later(ctx, env, config, to, subject, text, html, "verification");
}

/// Tells the account at `to` of a change its sign-in made that outlives the sign-in
/// (core::account::notices), after the response; a failure is logged, the change
/// stands.
pub fn send_notice_later(
    ctx: &worker::Context,
    env: &Env,
    config: &Config,
    to: &str,
    notice: &Notice<'_>,
    now_ms: i64,
) {
    let (subject, text, html) =
        notice_email(notice, &format_rfc3339_ms(now_ms), &config.public_url);
    send_later(ctx, env, config, to, subject, text, html, "security notice");
}
