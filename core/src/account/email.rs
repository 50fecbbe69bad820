//! `Email`: an address parsed once, stored normalized (lowercase).

use super::AccountError;

/// A syntactically sane address (a practical subset of RFC 5321/5322): `local@domain`,
/// at most 254 characters, dot-atom local part, a domain of at least two labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";

impl Email {
    pub fn parse(raw: &str) -> Result<Email, AccountError> {
        let bad = |why: &str| AccountError::invalid_input(format!("Invalid email: {why}"));
        if raw.is_empty() || raw.len() > 254 {
            return Err(bad("1 to 254 characters"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("spaces and control characters are not allowed"));
        }
        let (local, domain) = raw
            .rsplit_once('@')
            .ok_or_else(|| bad("expected local@domain"))?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c));
        if !local_ok {
            return Err(bad("the part before @ is not a valid mailbox name"));
        }
        if !is_domain(domain) {
            return Err(bad("the domain must be like example.com"));
        }
        Ok(Email(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The (lowercase) domain after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The names under which an operator may have blocked this address's domain
    /// (`admin block-domain`): [`blockable_names`] of it.
    pub fn blockable_domains(&self) -> Vec<&str> {
        blockable_names(self.domain())
    }

    /// The mailbox this address delivers to, when it is an alias of another address:
    /// `ada+anything@x` delivers to `ada@x` (subaddressing, which nearly every provider
    /// offers), and at Gmail dots are ignored (`a.d.a@gmail.com` and
    /// `ada@googlemail.com` are `ada@gmail.com`). `None` for an address that is its own
    /// mailbox. Why: one mailbox behind endless aliases is one target of mail, and
    /// links to aliases are counted per mailbox (crate::account::INBOX_LINKS_PER_WINDOW).
    pub fn inbox(&self) -> Option<String> {
        let (local, domain) = self.0.rsplit_once('@')?;
        let mut mailbox = match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => base.to_owned(),
            _ => local.to_owned(),
        };
        let mut domain = domain;
        if domain == "gmail.com" || domain == "googlemail.com" {
            mailbox.retain(|c| c != '.');
            domain = "gmail.com";
        }
        let inbox = format!("{mailbox}@{domain}");
        (inbox != self.0 && !mailbox.is_empty()).then_some(inbox)
    }
}

/// `domain` and each parent of it of two labels or more (`x.mail.acme.io`,
/// `mail.acme.io`, `acme.io`): the names whose block (`admin block-domain`) holds for
/// an address at `domain`, so that a block holds for subdomains too.
pub fn blockable_names(domain: &str) -> Vec<&str> {
    let mut names = vec![domain];
    let mut rest = domain;
    while let Some((_, parent)) = rest.split_once('.') {
        if !parent.contains('.') {
            break;
        }
        names.push(parent);
        rest = parent;
    }
    names
}

/// A DNS name with at least two labels and a non-numeric top-level label.
pub fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && !labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_of_a_domain_is_looked_up_for_it_and_its_parents_of_two_labels() {
        let names = |a: &str| Email::parse(a).unwrap().blockable_domains().join(" ");
        assert_eq!(names("ada@acme.io"), "acme.io");
        assert_eq!(
            names("ada@x.Mail.acme.io"),
            "x.mail.acme.io mail.acme.io acme.io"
        );
        assert_eq!(names("ada@example.co.uk"), "example.co.uk co.uk");
    }

    #[test]
    fn valid_addresses_are_normalized() {
        let e = Email::parse("Ada.Lovelace+tag@Example.CO.uk").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace+tag@example.co.uk");
        assert_eq!(e.domain(), "example.co.uk");
    }

    #[test]
    fn aliases_name_the_mailbox_they_deliver_to() {
        let inbox = |raw: &str| Email::parse(raw).unwrap().inbox();
        assert_eq!(inbox("Ada+News@Acme.io").as_deref(), Some("ada@acme.io"));
        assert_eq!(inbox("ada+a+b@acme.io").as_deref(), Some("ada@acme.io"));
        assert_eq!(inbox("a.d.a+x@Gmail.com").as_deref(), Some("ada@gmail.com"));
        assert_eq!(
            inbox("ada@googlemail.com").as_deref(),
            Some("ada@gmail.com")
        );
        // Their own mailboxes: no alias; dots count outside Gmail.
        for own in [
            "ada@acme.io",
            "a.da@acme.io",
            "ada@gmail.com",
            "+ada@acme.io",
        ] {
            assert_eq!(inbox(own), None, "{own}");
        }
    }

    #[test]
    fn invalid_addresses_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        for raw in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@exa mple.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example.123",
            "a@example..com",
            "a\n@example.com",
            "ü@example.com",
            long.as_str(),
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?}");
        }
    }
}
