//! The SMTP probe (`dnsbl_check::smtp`) against a tiny scripted SMTP responder on loopback:
//! open and closed relays, STARTTLS, the banner name, and hostile or silent servers.

use std::time::Duration;

use crate::support::smtp::{Responder, Script, closed_relay, open_relay, responder};
use dnsbl_check::ReverseDns;
use dnsbl_check::smtp::{BannerName, ProbeConfig, Relay, SmtpTrouble, Stage, probe};

fn quick() -> ProbeConfig {
    ProbeConfig {
        timeout: Duration::from_millis(500),
        ..ProbeConfig::default()
    }
}

fn verbs(responder: &Responder) -> Vec<String> {
    responder
        .commands
        .lock()
        .unwrap()
        .iter()
        .map(|line| line.split([' ', ':']).next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_open_relay_is_found_and_data_is_never_sent() {
    let server = responder(Script {
        banner: Some(b"220 mx.example.test ESMTP ready\r\n".to_vec()),
        replies: open_relay,
    })
    .await;
    let report = probe(server.addr, &quick()).await;
    assert_eq!(report.relay, Relay::Open, "{report:?}");
    assert_eq!(report.trouble, None);
    assert_eq!(report.starttls, Some(true));
    assert_eq!(report.banner_host.as_deref(), Some("mx.example.test"));
    assert_eq!(verbs(&server), ["EHLO", "MAIL", "RCPT", "RSET", "QUIT"]);
    let sent = server.commands.lock().unwrap().clone();
    // Real, foreign, reserved domains: a server that refuses unknown domains still answers
    // the question about relaying.
    assert_eq!(sent[1], "MAIL FROM:<relay-probe@example.net>", "{sent:?}");
    assert_eq!(sent[2], "RCPT TO:<relay-probe@example.com>", "{sent:?}");

    let confirmed = ReverseDns::Confirmed(vec!["mx.example.test".parse().unwrap()]);
    assert_eq!(report.banner_name(&confirmed), BannerName::Matches);
    let other = ReverseDns::NotConfirmed(vec!["host-1.isp.test".into()]);
    assert_eq!(report.banner_name(&other), BannerName::Differs);
    assert_eq!(report.banner_name(&ReverseDns::NoPtr), BannerName::NoPtr);
}

#[tokio::test]
async fn a_closed_relay_refuses_the_foreign_recipient() {
    let server = responder(Script {
        banner: Some(b"220-mx.example.test ESMTP\r\n220 second line\r\n".to_vec()),
        replies: closed_relay,
    })
    .await;
    let report = probe(server.addr, &quick()).await;
    assert_eq!(report.relay, Relay::Closed { code: 554 }, "{report:?}");
    assert_eq!(report.trouble, None);
    assert_eq!(report.starttls, Some(false));
    assert_eq!(verbs(&server), ["EHLO", "MAIL", "RCPT", "RSET", "QUIT"]);
}

#[tokio::test]
async fn a_server_without_ehlo_falls_back_to_helo() {
    let server = responder(Script {
        banner: Some(b"220 old.example.test SMTP\r\n".to_vec()),
        replies: |verb| match verb {
            "EHLO" => b"502 command not implemented\r\n".to_vec(),
            "RCPT" => b"550 no relaying\r\n".to_vec(),
            _ => b"250 ok\r\n".to_vec(),
        },
    })
    .await;
    let report = probe(server.addr, &quick()).await;
    assert_eq!(report.relay, Relay::Closed { code: 550 });
    assert_eq!(report.starttls, Some(false));
    assert_eq!(
        verbs(&server),
        ["EHLO", "HELO", "MAIL", "RCPT", "RSET", "QUIT"]
    );
}

#[tokio::test]
async fn silence_refusals_and_hostile_servers_are_trouble() {
    // Silent after connecting.
    let silent = responder(Script {
        banner: None,
        replies: open_relay,
    })
    .await;
    let report = probe(silent.addr, &quick()).await;
    assert_eq!(report.trouble, Some(SmtpTrouble::Timeout(Stage::Banner)));
    assert_eq!(report.relay, Relay::NotTested);

    // Nothing listens.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let report = probe(closed_port, &quick()).await;
    assert!(
        matches!(report.trouble, Some(SmtpTrouble::Connect(_))),
        "{report:?}"
    );

    // A 554 greeting: the server refuses this client outright.
    let refusing = responder(Script {
        banner: Some(b"554 5.7.1 no thanks\r\n".to_vec()),
        replies: open_relay,
    })
    .await;
    let report = probe(refusing.addr, &quick()).await;
    assert!(
        matches!(
            report.trouble,
            Some(SmtpTrouble::Refused {
                stage: Stage::Banner,
                code: 554,
                ..
            })
        ),
        "{report:?}"
    );

    // An endless line, endless continuation lines, and no reply code at all.
    let endless: Vec<u8> = std::iter::repeat_n(b'x', 100_000).collect();
    let mut flood = Vec::new();
    for _ in 0..500 {
        flood.extend_from_slice(b"220-more\r\n");
    }
    for (banner, detail) in [
        ([b"220 ".to_vec(), endless].concat(), "reply line too long"),
        (flood, "reply longer than 100 lines"),
        (b"hello there\r\n".to_vec(), "no reply code"),
    ] {
        let hostile = responder(Script {
            banner: Some(banner),
            replies: open_relay,
        })
        .await;
        let report = probe(hostile.addr, &quick()).await;
        assert_eq!(
            report.trouble,
            Some(SmtpTrouble::Protocol {
                stage: Stage::Banner,
                detail
            }),
            "{report:?}"
        );
        assert_eq!(report.relay, Relay::NotTested);
    }

    // MAIL FROM refused: the relay test could not be made, and says so.
    let picky = responder(Script {
        banner: Some(b"220 mx.example.test\r\n".to_vec()),
        replies: |verb| match verb {
            "MAIL" => b"553 sender rejected\r\n".to_vec(),
            _ => b"250 ok\r\n".to_vec(),
        },
    })
    .await;
    let report = probe(picky.addr, &quick()).await;
    assert_eq!(report.relay, Relay::Inconclusive { code: 553 });
    assert!(matches!(
        report.trouble,
        Some(SmtpTrouble::Refused {
            stage: Stage::MailFrom,
            code: 553,
            ..
        })
    ));
}

#[tokio::test]
async fn a_refused_sender_is_inconclusive_never_closed() {
    let server = responder(Script {
        banner: Some(b"220 mx.example.test ESMTP\r\n".to_vec()),
        replies: |verb| match verb {
            "MAIL" => b"553 5.1.8 sender address rejected: domain not found\r\n".to_vec(),
            _ => b"250 ok\r\n".to_vec(),
        },
    })
    .await;
    let report = probe(server.addr, &quick()).await;
    assert_eq!(
        report.relay,
        Relay::Inconclusive { code: 553 },
        "{report:?}"
    );
    match &report.trouble {
        Some(SmtpTrouble::Refused { stage, code, .. }) => {
            assert_eq!((*stage, *code), (Stage::MailFrom, 553));
        }
        other => panic!("{other:?}"),
    }
    // RCPT TO was never sent, DATA never.
    assert_eq!(verbs(&server), ["EHLO", "MAIL", "QUIT"]);
}

#[tokio::test]
async fn the_sender_and_recipient_can_be_chosen_and_are_never_injected() {
    let server = responder(Script {
        banner: Some(b"220 mx.example.test ESMTP\r\n".to_vec()),
        replies: closed_relay,
    })
    .await;
    let config = ProbeConfig {
        mail_from: "probe@sender.example".into(),
        rcpt_to: "someone@elsewhere.example".into(),
        ..quick()
    };
    let report = probe(server.addr, &config).await;
    assert_eq!(report.relay, Relay::Closed { code: 554 });
    let sent = server.commands.lock().unwrap().clone();
    assert_eq!(sent[1], "MAIL FROM:<probe@sender.example>");
    assert_eq!(sent[2], "RCPT TO:<someone@elsewhere.example>");

    let hostile = ProbeConfig {
        rcpt_to: "a@example.com>\r\nDATA".into(),
        ..quick()
    };
    let report = probe(server.addr, &hostile).await;
    assert_eq!(report.relay, Relay::NotTested);
    assert!(matches!(report.trouble, Some(SmtpTrouble::Protocol { .. })));
}
