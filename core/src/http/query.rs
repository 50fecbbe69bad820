//! Query-string parameters, without a URL crate: the `url` crate drags IDNA and
//! Unicode normalization tables (~140 KB gzip) into the worker for one lookup.

/// A parameter as found: `Ok(None)` absent, `Ok(Some(value))` decoded, `Err` sent but
/// not percent-encoded UTF-8.
pub type Param = Result<Option<String>, Undecodable>;

/// A parameter was sent whose value does not decode (`%ZZ`, a lone `%C3`). Each caller
/// refuses it as it refuses a wrong value (a 400 naming the parameter, an invalid
/// link), never as if it were absent: read as absent, a bad `after` answered the first
/// page and a bad `nodeServices` the whole directory, and a form's field was reported
/// missing when it was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undecodable;

/// The first value of `name` in the query of `url` (`+` and `%XX` decoded).
pub fn query_param(url: &str, name: &str) -> Param {
    match url.split_once('?') {
        Some((_, query)) => form_param(query.split('#').next().unwrap_or(""), name),
        None => Ok(None),
    }
}

/// The first value of `name` as sent, undecoded: for values whose alphabet needs no
/// escaping (a number, a cursor), so that an escape or a `+` is refused by the value's
/// own check rather than decoded, or dropped as undecodable, into something else.
pub fn raw_query_param<'u>(url: &'u str, name: &str) -> Option<&'u str> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or("");
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// A page's `limit` as sent (undecoded, [`raw_query_param`]): absent is `default`,
/// else a whole number from 1 to `max` in digits. Err: what is wrong, for a 400.
pub fn page_limit(raw: Option<&str>, default: u32, max: u32) -> Result<u32, String> {
    match raw {
        None => Ok(default),
        Some(raw) => Some(raw)
            .filter(|raw| !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|raw| raw.parse::<u32>().ok())
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("limit must be a whole number from 1 to {max}")),
    }
}

/// The first value of `name` in an `application/x-www-form-urlencoded` text (a
/// query string, or a form's body), decoded. The first pair named `name` decides: a
/// later one never stands in for a first that does not decode.
pub fn form_param(form: &str, name: &str) -> Param {
    for pair in form.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(key).as_deref() == Some(name) {
            return decode(value).map(Some).ok_or(Undecodable);
        }
    }
    Ok(None)
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_are_as_sent() {
        let url = "https://x/a?limit=%35&before=12_ab-c&x=1#frag";
        assert_eq!(raw_query_param(url, "limit"), Some("%35"));
        assert_eq!(raw_query_param(url, "before"), Some("12_ab-c"));
        assert_eq!(raw_query_param(url, "x"), Some("1"));
        assert_eq!(raw_query_param(url, "none"), None);
        assert_eq!(raw_query_param("https://x/a", "limit"), None);
    }

    #[test]
    fn finds_and_decodes_parameters() {
        let url = "https://x.example/user/verify-email?a=1&token=ab%2Bc+d&token=second#frag";
        let found = query_param;
        assert_eq!(found(url, "token"), Ok(Some("ab+c d".to_owned())));
        assert_eq!(found(url, "a"), Ok(Some("1".to_owned())));
        assert_eq!(found(url, "missing"), Ok(None));
        assert_eq!(found("https://x.example/p", "token"), Ok(None));
        assert_eq!(found("https://x/p?token", "token"), Ok(Some(String::new())));
        assert_eq!(
            found("https://x/p?t%6Fken=1", "token"),
            Ok(Some("1".to_owned()))
        );
    }

    #[test]
    fn a_value_that_does_not_decode_is_no_absence() {
        for url in [
            "https://x/p?token=%zz",
            "https://x/p?token=%ff",
            "https://x/p?token=%C3",
            "https://x/p?token=%4",
            "https://x/p?token=%zz&token=second",
        ] {
            assert_eq!(query_param(url, "token"), Err(Undecodable), "{url}");
        }
        // A key that does not decode is no `token`: the one that does is read.
        assert_eq!(
            form_param("%zz=1&token=2", "token"),
            Ok(Some("2".to_owned()))
        );
    }
}
