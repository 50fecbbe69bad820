//! The email client: outgoing mail through the `send_email` binding (`EMAIL`).

use crate::store::org_changes::Recipient;
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
    let mail = gatehouse_core::account::password_reset::reset_email(&link, &config.public_url);
    Later { ctx, env, config }.send(to, mail, "password reset", None);
}

/// What every mail sent after the response needs: the request's context (for
/// `wait_until`), the bindings and the configuration.
struct Later<'a> {
    ctx: &'a worker::Context,
    env: &'a Env,
    config: &'a Config,
}

impl Later<'_> {
    /// Sends after the response (`wait_until`); `what` names the mail in the log. With
    /// `pace_key`, only within [`NOTICES`]' pace for that key (when rate limits are on):
    /// past it the mail is skipped and logged.
    fn send(
        &self,
        to: &str,
        (subject, text, html): (String, String, String),
        what: &'static str,
        pace_key: Option<String>,
    ) {
        let client = EmailClient::new(self.env, self.config);
        let message = Message {
            to: to.to_owned(),
            subject,
            text,
            html,
        };
        let env = self.env.clone();
        let pace_key = pace_key.filter(|_| self.config.rate_limits);
        self.ctx.wait_until(async move {
            if let Some(key) = pace_key {
                if crate::rate_limit::check(&env, NOTICES, key).await.is_err() {
                    skip_mail(what, "rate");
                    return;
                }
            }
            if let Err(e) = client.send(&message).await {
                // After the answer: one line and one data point tell the operator.
                crate::observe::mail_not_sent(&env, what, &e);
            }
        });
    }

    /// One security notice to `to` (naming `actor` when it is someone else), at
    /// `pace_key`'s pace if any: the one way every notice sender mails.
    fn tell(
        &self,
        to: &str,
        actor: Option<&str>,
        notice: &Notice<'_>,
        at: &str,
        pace_key: Option<String>,
    ) {
        let mail = notice_email(notice, at, &self.config.public_url, actor);
        self.send(to, mail, "security notice", pace_key);
    }

    /// The notice to each of `owners`, naming `address`, at the notices' pace per
    /// recipient; `at`, the change's time, written once by the caller.
    fn tell_owners(&self, owners: &[Recipient], address: &str, notice: &Notice<'_>, at: &str) {
        for owner in owners {
            let pace_key = notice.pace_key(&owner.user_id);
            self.tell(&owner.email, Some(address), notice, at, pace_key);
        }
    }
}

/// Logs a mail not sent on purpose (`reason`: `rate`, a notice past its pace; `inbox`,
/// an alias's mailbox past its links of the hour; `budget`, the deployment's mail to
/// unproven addresses of the hour spent): one line the operator can count.
pub fn skip_mail(what: &str, reason: &str) {
    let line = serde_json::json!({"msg": "mail_skipped", "mail": what, "reason": reason});
    worker::console_warn!("{line}");
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
    let mail = gatehouse_core::account::verification::verification_email(&link, &config.public_url);
    Later { ctx, env, config }.send(to, mail, "verification", None);
}

/// Tells the account that made a change outliving its sign-in (`actor`: user id,
/// address), and the organization's other OWNERs (`owners`, naming the actor), of it
/// (core::account::notices), after the response; a failure is logged, the change
/// stands. How much mail that can be: one per recipient per change, and an
/// organization makes at most 100 changes a day (core::org_changes). A notice that
/// core paces ([`Notice::paced`]) goes out at most at [`NOTICES`]' pace per recipient
/// account, past which it is skipped and logged (the change and its audit row stand).
#[allow(clippy::too_many_arguments)]
pub fn send_notice_later(
    ctx: &worker::Context,
    env: &Env,
    config: &Config,
    (actor_id, actor_email): (&str, &str),
    owners: &[Recipient],
    notice: &Notice<'_>,
    now_ms: i64,
) {
    let at = format_rfc3339_ms(now_ms);
    let later = Later { ctx, env, config };
    later.tell(actor_email, None, notice, &at, notice.pace_key(actor_id));
    later.tell_owners(owners, actor_email, notice, &at);
}

/// Tells a member of a change `actor_email` made to their own membership (a removal:
/// core::account::notices), after the response; never paced (one per change, which
/// the organization's day of changes bounds).
pub fn send_member_notice_later(
    ctx: &worker::Context,
    env: &Env,
    config: &Config,
    to: &str,
    actor_email: &str,
    notice: &Notice<'_>,
    now_ms: i64,
) {
    let at = format_rfc3339_ms(now_ms);
    Later { ctx, env, config }.tell(to, Some(actor_email), notice, &at, None);
}

/// Tells the organization's OWNERs of a change, naming the address that made it (a
/// sign-in's, or a member's who joined by its verified domain: core::account::notices),
/// after the response, at the notices' pace per recipient.
pub fn send_owners_notice_later(
    ctx: &worker::Context,
    env: &Env,
    config: &Config,
    owners: &[Recipient],
    address: &str,
    notice: &Notice<'_>,
    now_ms: i64,
) {
    let at = format_rfc3339_ms(now_ms);
    Later { ctx, env, config }.tell_owners(owners, address, notice, &at);
}

/// Tells the OWNERs of an organization of a change no account of theirs made and that
/// names nobody (another organization's proven upload of a key they held:
/// core::account::notices), after the response; never paced (the change is bounded by
/// the other organization's day of changes).
pub fn send_unattributed_notice_later(
    ctx: &worker::Context,
    env: &Env,
    config: &Config,
    owners: &[Recipient],
    notice: &Notice<'_>,
    now_ms: i64,
) {
    let at = format_rfc3339_ms(now_ms);
    let later = Later { ctx, env, config };
    for owner in owners {
        later.tell(&owner.email, None, notice, &at, None);
    }
}

/// The limiter that paces security notices per account: 10 a minute, as the account
/// routes that send mail are paced per network.
const NOTICES: &str = gatehouse_core::http::rate_limit::AUTH_LIMITER;
