//! The message reader (`src/mail/message/`): any bytes as a whole message, and any bytes as
//! the decoded text of a plain and of an HTML part.
#![no_main]

use dnsbl_check::mail::MessageReader;
use libfuzzer_sys::fuzz_target;

const CAP: usize = 8;

fuzz_target!(|data: &[u8]| {
    let reader = MessageReader::default().max_domains(CAP);
    check(&reader, data);
    // The same bytes as the body of a plain and of an HTML part, so that the fuzzer explores
    // the URL and address scan rather than the MIME parser.
    for content_type in ["text/plain", "text/html"] {
        let mut message = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
        message.extend_from_slice(data);
        check(&reader, &message);
    }
});

fn check(reader: &MessageReader, message: &[u8]) {
    let targets = reader.read(message, None).targets;
    assert!(targets.domains.len() <= CAP && targets.addresses.len() <= CAP);
    // Every distinct host under the domains is kept, at most the cap in all.
    assert!(targets.hosts.len() <= CAP, "{:?}", targets.hosts);
    for host in &targets.hosts {
        assert!(!host.is_empty() && host.len() <= 255, "{host:?}");
    }
    for domain in &targets.domains {
        assert!(!domain.as_str().is_empty());
    }
    let mut distinct = targets.domains.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), targets.domains.len(), "a domain taken twice");
}
