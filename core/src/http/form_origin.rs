//! Where a form post to the emailed links' pages may come from.
//!
//! The verify-email and reset-password pages post forms back to the worker. A form
//! on another site could post to the same endpoints from a victim's browser (with a
//! token and password of the attacker's choosing, e.g. to verify an account as the
//! victim); such posts are refused. Browsers say where a request comes from in
//! `Sec-Fetch-Site` and, for POSTs, `Origin`: a form post is accepted only from the
//! worker's own origin (or with neither header, as non-browser clients send it). The
//! pages send no `Referer` at all (`Referrer-Policy: no-referrer`), under which
//! browsers post `Origin: null`; that is accepted only with the browser's own
//! `Sec-Fetch-Site: same-origin` (which a page cannot set: a foreign page's post, and
//! sandboxed or `data:` documents, which also say `null`, are `cross-site`) on a
//! request to the worker's own origin — same-origin then means the page was there too.

/// Whether a page on another site can send a body of this `Content-Type` without the
/// browser asking first (a CORS preflight, which only the allowed origins pass): no
/// type, or one of the three a plain HTML form or `fetch` may send — the form's,
/// `multipart/form-data`, and `text/plain`, which a form with `enctype="text/plain"`
/// fills with JSON-looking text (Fetch standard, CORS-safelisted request headers).
/// Such a post is checked with [`cross_site`] whatever the body holds; a JSON post
/// (`application/json`) was preflighted.
pub fn sendable_cross_site(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim();
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
    ]
    .iter()
    .any(|safe| essence.eq_ignore_ascii_case(safe))
}

/// Whether a form post with these headers, sent to `request_url`, comes from a page
/// other than the worker's own (`public_url`, the worker's public base URL).
pub fn cross_site(
    origin: Option<&str>,
    sec_fetch_site: Option<&str>,
    request_url: &str,
    public_url: &str,
) -> bool {
    let own = origin_of(public_url);
    let foreign_fetch = sec_fetch_site.is_some_and(|s| !matches!(s, "same-origin" | "none"));
    let foreign_origin = origin.is_some_and(|o| match o {
        "null" => {
            sec_fetch_site != Some("same-origin")
                || !origin_of(request_url).eq_ignore_ascii_case(own)
        }
        o => !o.eq_ignore_ascii_case(own),
    });
    foreign_fetch || foreign_origin
}

/// `scheme://host[:port]` of a URL: what browsers send as `Origin`.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://gate.example.com";
    const PAGE: &str = "https://gate.example.com/user/verify-email";

    #[test]
    fn bodies_a_foreign_page_can_send_without_a_preflight_are_checked() {
        for sendable in [
            None,
            Some("application/x-www-form-urlencoded"),
            Some("Text/Plain; charset=utf-8"),
            Some(" multipart/form-data; boundary=x"),
        ] {
            assert!(sendable_cross_site(sendable), "{sendable:?}");
        }
        for preflighted in [
            "application/json",
            "application/json; charset=utf-8",
            "text/plainx",
            "application/x-foo",
        ] {
            assert!(!sendable_cross_site(Some(preflighted)), "{preflighted}");
        }
    }

    #[test]
    fn the_workers_own_pages_and_plain_clients_may_post() {
        assert!(!cross_site(Some(URL), Some("same-origin"), PAGE, URL));
        assert!(!cross_site(Some(URL), None, PAGE, URL));
        assert!(!cross_site(None, None, PAGE, URL));
        assert!(!cross_site(None, Some("none"), PAGE, URL));
        // Its own page under Referrer-Policy: no-referrer.
        assert!(!cross_site(Some("null"), Some("same-origin"), PAGE, URL));
        // …but not the worker's page under another of its hostnames.
        let elsewhere = "https://gate.workers.dev/user/verify-email";
        assert!(cross_site(
            Some("null"),
            Some("same-origin"),
            elsewhere,
            URL
        ));
        assert!(!cross_site(
            Some("https://gate.example.com"),
            None,
            "https://gate.example.com/base/user/verify-email",
            "https://gate.example.com/base"
        ));
    }

    #[test]
    fn other_sites_may_not() {
        assert!(cross_site(Some("https://evil.example"), None, PAGE, URL));
        assert!(cross_site(Some("null"), None, PAGE, URL));
        assert!(cross_site(Some("null"), Some("cross-site"), PAGE, URL));
        assert!(cross_site(Some("null"), Some("none"), PAGE, URL));
        assert!(cross_site(None, Some("cross-site"), PAGE, URL));
        assert!(cross_site(Some(URL), Some("same-site"), PAGE, URL));
        assert!(cross_site(Some("http://gate.example.com"), None, PAGE, URL));
        assert!(cross_site(
            Some("https://gate.example.com:8443"),
            None,
            PAGE,
            URL
        ));
    }
}
