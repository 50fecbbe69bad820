//! The SQL builders' unit tests: quoting, id and email checks, statement shapes.

use super::nodes::{nodes_at, stale_nodes};
use super::*;

#[test]
fn literals_survive_every_quote() {
    assert_eq!(literal("org-1"), "'org-1'");
    assert_eq!(
        literal("o'; DROP TABLE users; --"),
        "'o''; DROP TABLE users; --'"
    );
    assert_eq!(literal("''"), "''''''");
}

#[test]
fn the_reseal_walks_rows_in_key_order_and_writes_only_what_it_read() {
    assert_eq!(
        node_env_page(None, 50),
        "SELECT org_id, service, sealed FROM node_envs ORDER BY org_id, service LIMIT 50"
    );
    assert!(node_env_page(Some(("o'1", "gcs")), 50)
        .contains("WHERE (org_id, service) > ('o''1', 'gcs') ORDER BY"));
    assert_eq!(
        node_env_reseal("org-1", "s3", "tail==", "v1.new"),
        "UPDATE node_envs SET sealed = 'v1.new' WHERE org_id = 'org-1' AND service = 's3' \
         AND substr(sealed, -6) = 'tail==' RETURNING service"
    );
}

#[test]
fn ids_are_checked_before_they_reach_sql() {
    assert!(checked_id("25c4d363-3ac7-4427-954b-187a3b6a7456").is_ok());
    assert!(checked_id("org-1").is_ok());
    for bad in ["", "o'1", "org 1", "a;b", "x\0", &"a".repeat(129)] {
        assert!(checked_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn statements_name_their_organization_once_quoted() {
    assert_eq!(
        set_banned("org-1", true),
        "UPDATE organizations SET banned = 1 WHERE id = 'org-1' RETURNING id"
    );
    assert_eq!(show_org("org-1").matches("'org-1'").count(), 5);
    assert!(key_audit(None, 20).ends_with("LIMIT 20"));
    assert!(key_audit(Some("org-1"), 5).contains("WHERE org_id = 'org-1'"));
    let find = find_org("o'k@acme.io");
    assert!(find.contains("u.email = 'o''k@acme.io'"), "{find}");
    assert!(find.contains("WHERE domain = 'acme.io'; "), "{find}");
    assert!(
        find_org("ann@x.acme.io").ends_with(
            "FROM blocked_domains WHERE domain IN ('x.acme.io', 'acme.io') \
             ORDER BY length(domain) DESC LIMIT 1"
        ),
        "the address's domain and its parents, the nearest block first"
    );
}

#[test]
fn node_env_statements_quote_every_value() {
    let set = node_env_set("o'1", "s3", "v1.AA==", 12, "a-1", 7);
    assert_eq!(set.matches("'o''1'").count(), 4, "{set}");
    assert!(
        set.contains("'ENV_SET', 7") && set.contains("NULL"),
        "{set}"
    );
    let delete = node_env_delete("org-1", "gcs", "a-2", 9);
    assert!(
        delete.ends_with("service = 'gcs' RETURNING service"),
        "{delete}"
    );
    assert!(node_env_list("org-1").contains("org_id = 'org-1'"));
}

#[test]
fn a_role_change_is_audited_first_and_made_only_with_its_entry() {
    let sql = set_role("o'1", "b'ob@acme.io", "ADMINISTRATOR", "a-1", 7);
    let statements: Vec<&str> = sql.split("; ").collect();
    assert_eq!(statements.len(), 3, "{sql}");
    assert!(statements[0].starts_with("SELECT m.role"), "{sql}");
    assert!(
        statements[1].starts_with("INSERT INTO key_audit")
            && statements[1].contains("'a-1', m.org_id, m.user_id, NULL, 'ROLE_ADMINISTRATOR', 7")
            && statements[1].contains("m.role <> 'ADMINISTRATOR'"),
        "{sql}"
    );
    assert!(
        statements[2].starts_with("UPDATE org_members")
            && statements[2].contains("EXISTS (SELECT 1 FROM key_audit WHERE id = 'a-1')"),
        "{sql}"
    );
    assert_eq!(sql.matches("'o''1'").count(), 3, "{sql}");
    assert_eq!(sql.matches("email = 'b''ob@acme.io'").count(), 3, "{sql}");
}

#[test]
fn emails_are_checked_and_lowercased() {
    assert_eq!(checked_email("Ada@Acme.IO").unwrap(), "ada@acme.io");
    for bad in [
        "",
        "ada",
        "@acme.io",
        "ada@",
        "a b@c.d",
        "a@b@c",
        "a\n@b.c",
        "\u{212A}@acme.io",
    ] {
        assert!(checked_email(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn stats_read_names_only_through_the_check() {
    assert!(checked_name("sign_ins").is_ok());
    for bad in ["", "a b", "t'", "x;y", "a-b"] {
        assert!(checked_name(bad).is_err(), "{bad:?}");
    }
    let counts = stats_counts(&[("nodes", vec!["ip", "status"]), ("empty", vec![])], true);
    assert!(counts.contains("'nodes' AS name"), "{counts}");
    assert!(counts.contains("length(CAST(status AS BLOB))"), "{counts}");
    assert_eq!(counts.matches("; ").count(), 1, "{counts}");
    // Without the bytes, a count only: no column of any row is read.
    let counts = stats_counts(&[("nodes", vec!["ip", "status"]), ("empty", vec![])], false);
    assert_eq!(
        counts,
        "SELECT 'nodes' AS name, count(*) AS rows FROM nodes; \
         SELECT 'empty' AS name, count(*) AS rows FROM empty"
    );
    assert_eq!(
        stats_columns(&["a", "b"]),
        "PRAGMA table_info('a'); PRAGMA table_info('b')"
    );
    let at = nodes_at("2001:db8::'7");
    assert!(at.contains("n.ip = '2001:db8::''7'"), "{at}");
    let stale = stale_nodes(1800, 30, 10);
    assert!(
        stale.contains("- 1800000") && stale.contains("+ 2592000000"),
        "{stale}"
    );
}

#[test]
fn an_erasure_quotes_every_value_and_removes_children_before_what_they_refer_to() {
    let plan = erasure_plan("o'k@acme.io");
    assert_eq!(plan.matches("; ").count(), 2, "{plan}");
    assert!(plan.contains("email = 'o''k@acme.io'"), "{plan}");
    let sql = erase_account("u'1", &["org-1", "o'2"]);
    let statements: Vec<&str> = sql.split("; ").collect();
    assert_eq!(statements.len(), 18, "{sql}");
    assert!(!sql.contains("'u'1'"), "{sql}");
    assert!(statements[erased::ORGANIZATIONS].contains("IN ('org-1', 'o''2')"));
    let at = |needle: &str| {
        statements
            .iter()
            .position(|s| s.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle}: {sql}"))
    };
    assert_eq!(
        at("DELETE FROM sign_ins"),
        erased::SIGN_INS,
        "sign-ins end first"
    );
    assert_eq!(at("DELETE FROM nodes"), erased::NODES);
    assert_eq!(at("DELETE FROM org_keys"), erased::ORG_KEYS);
    assert!(at("DELETE FROM nodes") < at("DELETE FROM org_keys"));
    assert!(at("UPDATE organizations") < at("DELETE FROM org_members"));
    // The anchor row keeps nothing personal: the mailbox an alias delivered to neither.
    let anchor = &statements[at("UPDATE users SET email = 'erased:'")];
    for scrubbed in [
        "password_hash = ''",
        "first_name = ''",
        "image_url = NULL",
        "inbox = NULL",
    ] {
        assert!(anchor.contains(scrubbed), "{scrubbed}: {anchor}");
    }
    assert_eq!(at("UPDATE org_members"), erased::NEW_OWNERS);
    assert!(at("UPDATE org_members") < at("DELETE FROM org_members"));
    assert!(at("DELETE FROM org_members") < at("DELETE FROM organizations"));
    assert_eq!(at("UPDATE users"), erased::SCRUBBED);
    assert_eq!(at("DELETE FROM users WHERE id"), erased::DELETED);
    assert_eq!(at("DELETE FROM users WHERE email"), erased::ANCHORS_FREED);
    assert!(erase_account("u-1", &[]).contains("WHERE (id IN () OR (name = 'erased:' || id AND"));
    // A stopped run's leftover goes only once nothing holds it.
    let last = erase_account("u-1", &["o-1"]);
    for table in ["nodes", "org_keys", "key_audit", "subscriptions"] {
        assert!(
            last.contains(&format!(
                "NOT EXISTS (SELECT 1 FROM {table} h WHERE h.org_id = organizations.id)"
            )),
            "{table}"
        );
    }
}

#[test]
fn a_domains_erasure_reads_only_its_addresses_and_passes_no_role_within_it() {
    assert_eq!(
        checked_domain("Spam.Example"),
        Ok("spam.example".to_owned())
    );
    for bad in [
        "x' OR '1'='1",
        "example",
        "a@spam.example",
        "spam%.example",
        "spam_x.example",
        "",
    ] {
        assert!(checked_domain(bad).is_err(), "{bad}");
    }
    let spam = AtDomain {
        name: "spam.example",
        subdomains: false,
    };
    let at = "(substr(u.email, -13) = '@spam.example' AND NOT EXISTS \
         (SELECT 1 FROM free_mail_domains WHERE domain = \
         substr(u.email, instr(u.email, '@') + 1)))";
    let plan = domain_erasure_plan(spam, 50);
    assert_eq!(plan.split("; ").count(), 6, "{plan}");
    assert!(plan.ends_with(&format!("WHERE {at}) LIMIT 50")), "{plan}");
    let sql = erase_domain_accounts(spam, &["u'1", "u-2"], 7);
    let statements: Vec<&str> = sql.split("; ").collect();
    assert_eq!(statements.len(), NEXT_BATCH + 1, "{sql}");
    assert!(statements[erased::SIGN_INS].contains("user_id IN ('u''1', 'u-2')"));
    assert!(
        statements[NEXT_BATCH].starts_with("SELECT id FROM")
            && statements[NEXT_BATCH].ends_with("LIMIT 7")
    );
    // The role passes to nobody at the domain (every one of them leaves), told by each
    // member's own address: no call reads the domain's other accounts for it.
    let hand_over = statements[erased::NEW_OWNERS];
    assert!(
        hand_over.contains("NOT (substr(ou.email, -13) = '@spam.example' AND NOT EXISTS")
            && hand_over.contains("NOT (substr(xu.email, -13) = '@spam.example' AND NOT EXISTS")
            && !hand_over.contains("FROM users u"),
        "{hand_over}"
    );
    assert!(statements[erased::ORGANIZATIONS].contains("WHERE (id IN () OR"));
    // A call's SQL is one argument of wrangler's command line, which Linux bounds at
    // 128 KiB (MAX_ARG_STRLEN), and D1 bounds a statement at 100 KB: 50 ids
    // (--per-call's most) at the longest domain fit both.
    let label = "a".repeat(63);
    let longest = format!("{label}.{label}.{label}.{}", "b".repeat(61));
    assert_eq!(checked_domain(&longest).map(|d| d.len()), Ok(253));
    let ids: Vec<String> = (0..50)
        .map(|i| format!("{i:08}-7f0e-4d55-9a51-0c3d2f1e8b7a"))
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let longest = AtDomain {
        name: &longest,
        subdomains: true,
    };
    let sql = erase_domain_accounts(longest, &ids, 50);
    assert!(sql.len() < 100_000, "{} bytes", sql.len());
    // With its subdomains: the address's suffix `@domain` or `.domain`, also where the
    // role passes to nobody leaving.
    let with_subdomains = domain_erasure_plan(
        AtDomain {
            subdomains: true,
            ..spam
        },
        50,
    );
    assert!(with_subdomains.contains(
        "(substr(u.email, -13) = '@spam.example' OR substr(u.email, -13) = '.spam.example')"
    ));
    assert!(with_subdomains.contains("NOT ((substr(xu.email, -13) = '@spam.example' OR"));
}

#[test]
fn a_domain_block_keeps_the_first_and_its_lifting_names_the_parents_that_still_hold() {
    let block = block_domain("spam.example", 7);
    assert!(block.contains(
        "VALUES ('spam.example', 7) ON CONFLICT (domain) DO NOTHING RETURNING domain; \
         SELECT domain, blocked_at_ms FROM blocked_domains WHERE domain = 'spam.example'"
    ));
    assert!(block.starts_with(
        "SELECT EXISTS (SELECT 1 FROM free_mail_domains WHERE domain = 'spam.example') AS free; "
    ));
    assert_eq!(
        unblock_domain("x.mail.spam.example"),
        "DELETE FROM blocked_domains WHERE domain = 'x.mail.spam.example' RETURNING domain; \
         SELECT domain, blocked_at_ms FROM blocked_domains WHERE domain IN \
         ('mail.spam.example', 'spam.example') ORDER BY length(domain) DESC LIMIT 1"
    );
    // A domain of two labels has no parent a block could be of.
    assert!(block_domain("spam.example", 7).ends_with("SELECT NULL AS domain WHERE 0"));
    assert!(checked_domain("spam.example'; --").is_err());
}
