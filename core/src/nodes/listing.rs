//! An organization's own node list (`GET /organization/{idOrg}/nodes`), a page at a
//! time. An organization may hold `NODES_MAX` nodes (10,000 by default): read whole,
//! ordered by last seen, each request read and sorted every one of them (a dashboard's
//! refresh, or a script's loop, ~10,000 rows of the D1 primary each). A page is a range
//! of the table's key (organization, address), so it reads its own rows and no more,
//! however many nodes there are; within it, last seen first as before. An organization
//! with no more nodes than a page gets them all in one answer, in the same order as
//! before pages existed.

use crate::http::query::{Param, Undecodable};

/// Nodes in one page when the caller does not say (the most one may ask for).
pub const NODES_PAGE_MAX: u32 = 1000;

/// What a page of the list asks for: at most `limit` nodes whose address comes after
/// `after` (the previous page's `next`), or from the first.
#[derive(Debug, PartialEq, Eq)]
pub struct NodePage {
    pub limit: u32,
    pub after: Option<String>,
}

/// The page the query asks for: `limit` 1 to [`NODES_PAGE_MAX`] in digits (as sent),
/// `after` an address as the previous page's `next` gave it (decoded: an IPv6 one's
/// colons may come escaped). Err: what is wrong, for a 400.
pub fn node_page(limit: Option<&str>, after: Param) -> Result<NodePage, String> {
    let limit = crate::http::query::page_limit(limit, NODES_PAGE_MAX, NODES_PAGE_MAX)?;
    // One that does not decode is as wrong as any other: read as absent, it would
    // answer the first page, and a client paging with it would start over for ever.
    let after = match after {
        Ok(None) => None,
        Ok(Some(raw)) if raw.parse::<std::net::IpAddr>().is_ok() => Some(raw),
        Ok(Some(_)) | Err(Undecodable) => {
            return Err("after must be the `next` of a previous page, as given".to_owned())
        }
    };
    Ok(NodePage { limit, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_page_is_bounded_and_starts_after_an_address() {
        let page = |limit, after: Option<&str>| node_page(limit, Ok(after.map(str::to_owned)));
        assert_eq!(
            page(None, None),
            Ok(NodePage {
                limit: NODES_PAGE_MAX,
                after: None
            })
        );
        assert_eq!(
            page(Some("1"), Some("2001:db8::7")),
            Ok(NodePage {
                limit: 1,
                after: Some("2001:db8::7".into())
            })
        );
        assert_eq!(page(Some("1000"), Some("10.0.0.9")).unwrap().limit, 1000);
        for limit in ["0", "1001", "", "-1", "+5", "1e3", "٣"] {
            assert!(page(Some(limit), None).is_err(), "{limit:?}");
        }
        for after in ["", "10.0.0", "node-1", "10.0.0.9;", "' OR 1=1"] {
            assert!(page(None, Some(after)).is_err(), "{after:?}");
        }
        assert!(
            node_page(None, Err(Undecodable)).is_err(),
            "sent, not absent"
        );
    }
}
