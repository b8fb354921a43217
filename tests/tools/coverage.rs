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
        .healthy_domain_zone("uribl.test")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs postfix"]
async fn postfix_with_the_milter_refuses_a_hashed_address_in_the_message() {
    use crate::milter::html_message_text;
    use crate::support::postfix::Postfix;
    use crate::support::tool::{Tool, ToolProcess};
    use dnsbl_check::hash::HashSpec;

    let hashed = HashSpec::spamhaus_email()
        .email_target("fraud.desk@example.net")
        .unwrap()
        .to_string();
    let dns = TestDns::builder()
        .zone("hbl.test")
        .a(&format!("{TEST_ADDRESS}.hbl.test"), &["127.0.3.2"], 60)
        .a(&format!("{hashed}.hbl.test"), &["127.0.3.2"], 60)
        .healthy_domain_zone("uribl.test")
        .start()
        .await;
    let config = config(&dns);
    let milter =
        ToolProcess::serve(Tool::Milter, &["--config", config.path().to_str().unwrap()]).await;
    let postfix = Postfix::with_milter(milter.port()).await;

    // The address in a mailto link of a base64 HTML part, in mixed case.
    let listed = html_message_text("hash-message", "mailto:Fraud.Desk@Example.net");
    let refused = postfix.send_message("198.51.100.7", &listed).await;
    let text = String::from_utf8_lossy(&refused.stdout).into_owned();
    let expected = format!(
        "550 5.7.1 Service unavailable; e-mail address in the message (hash {hashed}) blocked \
         using hbl.test"
    );
    assert!(text.contains(&expected), "{text}\n{}", postfix.maillog());
    assert!(!postfix.maillog().to_lowercase().contains("fraud.desk"));
    // swaks: 26 is "the server did not accept the mail after DATA".
    assert_eq!(refused.status.code(), Some(26), "{text}");

    let clean = html_message_text("clean-message", "mailto:someone@example.net");
    let accepted = postfix.send_message("198.51.100.7", &clean).await;
    let text = String::from_utf8_lossy(&accepted.stdout).into_owned();
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{text}\n{}",
        postfix.maillog()
    );
}
