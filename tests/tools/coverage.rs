//! `dnsbl-check` on modern lists: e-mail addresses by hash, host names cut for the lists that
//! take registrable domains.

use crate::cli::{run, write_config};
use crate::support::TestDns;

/// `user@hbltest.com` (Spamhaus's test address) hashed as Spamhaus HBL asks it.
const TEST_ADDRESS: &str = "f3pdgtmwu6lfigdjc67yniwry5zrm7erletnfo36qaeqpmbpw2da._email";

async fn server() -> TestDns {
    TestDns::builder()
        .zone("hbl.test")
        .a(&format!("{TEST_ADDRESS}.hbl.test"), &["127.0.3.2"], 60)
        .zone("uribl.test")
        .a("test.uribl.test", &["127.0.0.2"], 60)
        .a("spammy.example.uribl.test", &["127.0.0.2"], 60)
        .start()
        .await
}

fn config(dns: &TestDns) -> tempfile::NamedTempFile {
    write_config(&format!(
        r#"
        nameservers = ["{}"]
        timeout = 2

        [[list]]
        zone = "hbl.test"
        kind = "domain"
        filter = "127.0.3.2"
        hash = {{ algorithm = "sha256", encoding = "base32", subzone = "_email" }}
        test_points = {{ listed = "{TEST_ADDRESS}", not_listed = ["invalid"] }}

        [[list]]
        zone = "uribl.test"
        kind = "domain"
        query_form = "registrable"
        test_points = {{ listed = "test", not_listed = ["invalid"] }}
        "#,
        dns.addr
    ))
}

#[tokio::test]
async fn an_e_mail_address_is_checked_by_hash_on_hashed_lists() {
    let dns = server().await;
    let config = config(&dns);
    let path = config.path().to_str().unwrap();
    for args in [
        &["--hash-email", "User+news@HBLtest.com"][..],
        &["user@hbltest.com"][..],
    ] {
        let mut all = vec!["--config", path, "--format", "json"];
        all.extend_from_slice(args);
        let out = run(&all).await;
        assert_eq!(out.code, 1, "{out:?}");
        let report = out.report(TEST_ADDRESS);
        assert_eq!(report["listed"], true, "{out:?}");
        let statuses: Vec<&str> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|result| result["status"].as_str().unwrap())
            .collect();
        // The plain domain list is not asked about a hashed name (skipped, not shown).
        assert_eq!(statuses, ["listed"], "{out:?}");
        assert!(!out.stdout.contains("hbltest.com"), "{out:?}");
    }
    // Another address passes; a host name is cut for the registrable list.
    let out = run(&[
        "--config",
        path,
        "--format",
        "json",
        "--hash-email",
        "a@b.example",
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let out = run(&["--config", path, "--format", "json", "www.spammy.example"]).await;
    assert_eq!(out.code, 1, "{out:?}");
}

#[tokio::test]
async fn an_e_mail_address_without_a_hashed_list_is_an_error_not_clean() {
    let dns = server().await;
    let config = write_config(&format!(
        "nameservers = [\"{}\"]\n[[list]]\nzone = \"uribl.test\"\nkind = \"domain\"\n\
         test_points = {{ listed = \"test\", not_listed = [\"invalid\"] }}\n",
        dns.addr
    ));
    let path = config.path().to_str().unwrap();
    for args in [&["--hash-email", "a@b.example"][..], &["a@b.example"][..]] {
        let mut all = vec!["--config", path];
        all.extend_from_slice(args);
        let out = run(&all).await;
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("hashed lists only"), "{out:?}");
    }
}
