//! The command line itself, as a user meets it (no worker needed): help on every
//! command, the version, completions, refusals that name the flag, timestamps the
//! worker accepts, and which half of a key pair goes where.

mod common;

use common::{assert_refused, cli, cli_with, keygen, now_seconds, stderr, text, FIELDS};
use serde_json::Value;

/// Every command and subcommand a user can ask for help on.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["keygen"],
    &["sign"],
    &["register"],
    &["unregister"],
    &["upload-key"],
    &["demo"],
    &["admin"],
    &["admin", "ban"],
    &["admin", "unban"],
    &["admin", "mark-provider"],
    &["admin", "unmark-provider"],
    &["admin", "show-org"],
    &["admin", "key-audit"],
    &["admin", "find-org"],
    &["admin", "node-env-set"],
    &["admin", "node-env-list"],
    &["admin", "node-env-delete"],
    &["admin", "revoke-key"],
    &["admin", "end-sign-ins"],
    &["admin", "stats"],
    &["admin", "stale-nodes"],
    &["admin", "node-env-reseal"],
    &["admin", "delete-account"],
    &["admin", "delete-accounts-at"],
    &["admin", "export-account"],
    &["admin", "set-role"],
    &["admin", "block-domain"],
    &["admin", "unblock-domain"],
    &["admin", "blocked-domains"],
    &["admin", "purge-node-secrets"],
    &["completions"],
];

#[test]
fn help_on_every_command_exits_0_with_an_example() {
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let out = cli(&args);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(help.contains("Usage: gatehouse-cli"), "{args:?}: {help}");
        assert!(
            help.contains("Example"),
            "{args:?} shows no example: {help}"
        );
        if !matches!(command, [] | ["admin"]) {
            assert!(help.contains("e.g."), "{args:?} explains no flag: {help}");
        }
    }
    // `help <command>` is the same text.
    let out = cli(&["help", "register"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--node-services"));
}

#[test]
fn version_and_usage_errors_have_their_exit_codes() {
    let out = cli(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("gatehouse-cli {}", env!("CARGO_PKG_VERSION"))
    );
    let out = cli(&[]);
    assert_eq!(out.status.code(), Some(2), "no command is a usage error");
    assert!(stderr(&out).contains("Usage:"));
    let out = cli(&["regster"]);
    assert_refused(&out, 2, "'register'");
    // A missing sealing key names the environment variable it is also read from.
    let set = [
        "admin",
        "node-env-set",
        "org",
        "s3",
        "--file",
        "s3.env",
        "--local",
        "--url",
        "http://127.0.0.1:8787",
    ];
    assert_refused(&cli(&set), 2, "--node-env-key <NODE_ENV_KEY>");
    let reseal = [
        "admin",
        "node-env-reseal",
        "--local",
        "--url",
        "http://127.0.0.1:8787",
    ];
    assert_refused(
        &cli(&reseal),
        2,
        "--previous-node-env-key <NODE_ENV_KEY_PREVIOUS>",
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = cli(&["completions", shell]);
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{shell}: {}", text(&out));
        for word in ["gatehouse-cli", "register", "find-org", "node-services"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = cli(&["completions", "powershell"]);
    assert_refused(&out, 2, "[possible values: bash, zsh, fish]");
}

/// Output into a pipe whose reader has gone (`| head` that has read enough, `| jq`
/// that stopped) ends the command quietly with 141, as SIGPIPE would: no panic,
/// nothing on stderr, and no success claimed for a command cut short. The pipe's
/// reading end is closed before the CLI starts, so its first write fails.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("{}.key.pem", keygen(dir.path()));
    let signing = [&["sign", "--key", &key][..], &FIELDS[..]].concat();
    // (`--help` is clap's own: it ignores the failed write and exits 0.)
    for args in [&["completions", "bash"][..], &signing[..]] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run gatehouse-cli");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// Signs with `extra` flags into a fresh key; the CLI's output.
fn sign(extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("{}.key.pem", keygen(dir.path()));
    let mut args = vec!["sign", "--key", &key];
    args.extend(FIELDS);
    args.extend(extra);
    cli(&args)
}

#[test]
fn unknown_and_mistyped_options_are_refused_naming_the_closest() {
    for (typo, meant) in [
        (&["--id_org", "X"][..], "--id-org"),
        (&["--node-service", "5"], "--node-services"),
        (&["--timestmp", "1700000000"], "--timestamp"),
    ] {
        let out = sign(typo);
        assert_eq!(out.status.code(), Some(2), "{typo:?}: {}", text(&out));
        assert!(out.stdout.is_empty(), "nothing signed for {typo:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("unexpected argument '{}'", typo[0])),
            "{err}"
        );
        assert!(
            err.contains(&format!("a similar argument exists: '{meant}'")),
            "{err}"
        );
    }
    let out = sign(&["--provider", "S3"]);
    assert_eq!(out.status.code(), Some(2), "a flag given twice is refused");
    let out = sign(&["--node-services", "2147483648"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "above the worker's largest mask"
    );
    assert!(stderr(&out).contains("--node-services"), "{}", stderr(&out));
}

#[test]
fn timestamps_are_sent_as_the_worker_reads_them() {
    let seconds = now_seconds().to_string();
    let out = sign(&["--timestamp", &seconds, "--node-services", "5"]);
    assert!(out.status.success(), "{}", text(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    let as_integer: u64 = seconds.parse().unwrap();
    assert_eq!(body["timestamp"], Value::from(as_integer), "an integer");
    assert_eq!(body["nodeServices"], 5);

    let rfc = "2024-01-15T10:30:00.000Z";
    let out = sign(&["--timestamp", rfc]);
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["timestamp"], rfc);

    for bad in ["yesterday", "2024-13-01T00:00:00Z", "17e8"] {
        let out = sign(&["--timestamp", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        let err = stderr(&out);
        assert!(err.contains("--timestamp"), "{err}");
        assert!(err.contains("Invalid timestamp"), "{err}");
    }
}

#[test]
fn each_half_of_a_key_pair_goes_where_it_belongs() {
    let dir = tempfile::tempdir().unwrap();
    let base = keygen(dir.path());
    let public = format!("{base}.pub.pem");
    let mut args = vec!["sign", "--key", &public];
    args.extend(FIELDS);
    let out = cli(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("is a public key, but --key needs the node's private key"),
        "{err}"
    );
    assert!(
        err.contains("the node signs with the private half"),
        "{err}"
    );

    let private = format!("{base}.key.pem");
    let out = cli(&[
        "upload-key",
        "--url",
        "http://127.0.0.1:9",
        "--token",
        "t",
        "--org",
        "o",
        "--public-key",
        &private,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("is a private key, but --public-key needs the public half"),
        "{err}"
    );
    assert!(
        !err.contains("127.0.0.1"),
        "refused before anything is sent: {err}"
    );
}

#[test]
fn a_failed_connection_names_the_url_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("{}.key.pem", keygen(dir.path()));
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let mut args = vec![
        "register",
        "--url",
        "http://127.0.0.1:9/",
        "--key",
        &key,
        "--id-org",
        "o",
    ];
    args.extend(FIELDS);
    let out = cli(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err.matches("http://127.0.0.1:9/register").count(),
        1,
        "{err}"
    );
    assert_eq!(err.matches("127.0.0.1:9").count(), 1, "{err}");
    assert!(out.stdout.is_empty());
}

/// An operator who meant --local but typed --remote, or a script, changes nothing in
/// production without saying so: without a terminal to confirm on, --yes is required
/// (and nothing runs before it: no wrangler is started).
#[test]
fn what_takes_something_away_in_production_asks_first() {
    for args in [
        &["admin", "ban", "org-x", "--remote"][..],
        &["admin", "revoke-key", "org-x", "key-1", "--remote"],
        &["admin", "end-sign-ins", "ada@acme.io", "--remote"],
        &["admin", "delete-account", "ada@acme.io", "--remote"],
        &["admin", "node-env-delete", "org-x", "s3", "--remote"],
        &["admin", "purge-node-secrets", "2001:db8:1::/48", "--remote"],
        &[
            "admin",
            "node-env-set",
            "org-x",
            "s3",
            "--file",
            "s3.env",
            "--remote",
            "--no-worker-check",
        ],
    ] {
        // Were the question skipped, `false` would stand in for wrangler (no network).
        // A well-formed key: the input is checked before the question.
        let key: String = (0..32u8).map(|i| format!("{:02x}", i * 7)).collect();
        let out = cli_with(args, &[("WRANGLER", "false"), ("NODE_ENV_KEY", &key)], None);
        assert!(!out.status.success(), "{args:?}");
        let said = stderr(&out);
        assert!(
            said.contains("nothing changed; add --yes"),
            "{args:?}: {said}"
        );
    }
}
