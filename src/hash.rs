//! Hashed lists: lists that publish the hash of what they list (e-mail addresses, crypto
//! wallets, files, URLs) rather than the thing itself, such as Spamhaus HBL.
//!
//! A hashed list is a domain list with a [`HashSpec`] ([`DnsList::with_hash`]): the address
//! is normalised, hashed and encoded, and asked as `<hash>.<sub-zone>.<zone>`, for example
//! `<hash>._email.<key>.hbl.dq.spamhaus.net`. Such a list is asked only about hashed names
//! of its own sub-zone ([`HashSpec::email_target`]), and plain domain lists never about
//! them. The hash is what appears in reports and logs, never the address it came from.
//!
//! | setting | this crate | rspamd `rbl` | SpamAssassin `HashBL` |
//! |---|---|---|---|
//! | hash | `algorithm = "sha1"`, `"sha256"`, `"md5"` | `hash = "sha1"` | `sha1`, `sha256`, `md5` in the options |
//! | encoding | `encoding = "hex"` (lower case), `"base32"` (RFC 4648, no padding) | `hash_format = "hex"`, `base32('rfc')` | hex for md5/sha1, base32 for sha256 |
//! | normalisation | `normalise = "lowercase"`, `"gmail"` | `emails_domainonly`, ... | `notag`, `hashbl_email_domain_alias` |
//! | sub-zone | `subzone = "_email"` | part of the zone | part of the zone |
//!
//! # Examples
//!
//! ```
//! use dnsbl_check::hash::HashSpec;
//!
//! // Spamhaus's published HBL test address.
//! let spec = HashSpec::spamhaus_email();
//! let target = spec.email_target("User@HBLtest.com").unwrap();
//! assert_eq!(
//!     target.to_string(),
//!     "f3pdgtmwu6lfigdjc67yniwry5zrm7erletnfo36qaeqpmbpw2da._email"
//! );
//! ```
//!
//! [`DnsList::with_hash`]: crate::DnsList::with_hash

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::target::{DomainName, Target};

/// The longest e-mail address hashed (RFC 5321's limit on a path is 256 octets).
const MAX_ADDRESS: usize = 254;

/// The digest a hashed list uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// MD5 (16 bytes).
    Md5,
}

/// How a digest is written in the query name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HashEncoding {
    /// Lower-case hexadecimal.
    Hex,
    /// RFC 4648 base32, upper case, without padding (not rspamd's default zbase32). DNS
    /// names compare without regard to case, so the query name carries it in lower case.
    Base32,
}

/// How an e-mail address is normalised before it is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EmailNormalisation {
    /// Lower-cased, nothing more.
    Lowercase,
    /// Lower-cased; `googlemail.com` becomes `gmail.com`; a `+tag` is dropped from the local
    /// part; dots are dropped from a `gmail.com` local part. What Spamhaus's SpamAssassin
    /// plugin (`SH.pm`) does for the HBL.
    #[default]
    Gmail,
}

/// What a hashed list hashes and how: see the [module docs](self).
///
/// # Examples
///
/// ```
/// use dnsbl_check::hash::{EmailNormalisation, HashAlgorithm, HashEncoding, HashSpec};
///
/// let spec = HashSpec::new(HashAlgorithm::Sha1, HashEncoding::Hex, "_email")
///     .unwrap()
///     .with_normalisation(EmailNormalisation::Lowercase);
/// assert_eq!(
///     spec.digest("user@example.com"),
///     "63a710569261a24b3766275b7000ce8d7b32e2f7"
/// );
/// assert!(HashSpec::new(HashAlgorithm::Sha1, HashEncoding::Hex, "email").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "HashSpecConfig")]
pub struct HashSpec {
    algorithm: HashAlgorithm,
    encoding: HashEncoding,
    normalise: EmailNormalisation,
    subzone: String,
}

/// A hash specification that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash sub-zone {0:?}: one label starting with '_', such as \"_email\"")]
#[non_exhaustive]
pub struct HashSpecError(String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashSpecConfig {
    algorithm: HashAlgorithm,
    encoding: HashEncoding,
    #[serde(default)]
    normalise: EmailNormalisation,
    #[serde(default = "default_subzone")]
    subzone: String,
}

fn default_subzone() -> String {
    "_email".into()
}

impl TryFrom<HashSpecConfig> for HashSpec {
    type Error = HashSpecError;

    fn try_from(config: HashSpecConfig) -> Result<Self, Self::Error> {
        Ok(
            HashSpec::new(config.algorithm, config.encoding, &config.subzone)?
                .with_normalisation(config.normalise),
        )
    }
}

impl HashSpec {
    /// A specification hashing with `algorithm`, written in `encoding`, asked under
    /// `subzone` (one label starting with `_`: `_email`, `_cw`, `_file`, `_url`), with
    /// [`EmailNormalisation::Gmail`].
    pub fn new(
        algorithm: HashAlgorithm,
        encoding: HashEncoding,
        subzone: &str,
    ) -> Result<Self, HashSpecError> {
        let subzone = subzone.trim().to_ascii_lowercase();
        let valid = subzone.len() > 1
            && subzone.len() <= 63
            && subzone.starts_with('_')
            && subzone[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(HashSpecError(subzone));
        }
        Ok(HashSpec {
            algorithm,
            encoding,
            normalise: EmailNormalisation::Gmail,
            subzone,
        })
    }

    /// Spamhaus HBL's e-mail form as Spamhaus's SpamAssassin plugin (`SH.pm`) asks it, and
    /// as its published test data (`user@hbltest.com`) is given: SHA-256, RFC 4648 base32,
    /// [`EmailNormalisation::Gmail`], sub-zone `_email`.
    pub fn spamhaus_email() -> Self {
        HashSpec::new(HashAlgorithm::Sha256, HashEncoding::Base32, "_email")
            .expect("a valid sub-zone")
    }

    /// The normalisation, replacing [`EmailNormalisation::Gmail`].
    pub fn with_normalisation(mut self, normalise: EmailNormalisation) -> Self {
        self.normalise = normalise;
        self
    }

    /// The digest.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The encoding.
    pub fn encoding(&self) -> HashEncoding {
        self.encoding
    }

    /// The normalisation.
    pub fn normalisation(&self) -> EmailNormalisation {
        self.normalise
    }

    /// The sub-zone (`_email`).
    pub fn subzone(&self) -> &str {
        &self.subzone
    }

    /// `address` normalised as the list wants it; `None` for something that is not an
    /// address (no `@`, an empty part, spaces or control characters, over 254 bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::hash::HashSpec;
    ///
    /// let spec = HashSpec::spamhaus_email();
    /// let normal = |a| spec.normalise_email(a);
    /// assert_eq!(normal("J.Doe+news@GoogleMail.com").as_deref(), Some("jdoe@gmail.com"));
    /// assert_eq!(normal("j.doe+news@example.com").as_deref(), Some("j.doe@example.com"));
    /// assert_eq!(normal("not an address"), None);
    /// ```
    pub fn normalise_email(&self, address: &str) -> Option<String> {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        if address.len() > MAX_ADDRESS
            || address
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return None;
        }
        let lower = address.to_lowercase();
        let (local, domain) = lower.rsplit_once('@')?;
        let domain = domain.trim_end_matches('.');
        if local.is_empty() || domain.is_empty() || local.contains('@') {
            return None;
        }
        match self.normalise {
            EmailNormalisation::Lowercase => Some(format!("{local}@{domain}")),
            EmailNormalisation::Gmail => {
                let domain = if domain == "googlemail.com" {
                    "gmail.com"
                } else {
                    domain
                };
                let local = local.split_once('+').map_or(local, |(base, _)| base);
                let local = if domain == "gmail.com" {
                    local.replace('.', "")
                } else {
                    local.to_owned()
                };
                (!local.is_empty()).then(|| format!("{local}@{domain}"))
            }
        }
    }

    /// The encoded digest of `input`, as it is (no normalisation).
    pub fn digest(&self, input: &str) -> String {
        use sha2::Digest as _;
        let bytes: Vec<u8> = match self.algorithm {
            HashAlgorithm::Sha1 => sha1::Sha1::digest(input.as_bytes()).to_vec(),
            HashAlgorithm::Sha256 => sha2::Sha256::digest(input.as_bytes()).to_vec(),
            HashAlgorithm::Md5 => md5::Md5::digest(input.as_bytes()).to_vec(),
        };
        match self.encoding {
            HashEncoding::Hex => data_encoding::HEXLOWER.encode(&bytes),
            HashEncoding::Base32 => data_encoding::BASE32_NOPAD.encode(&bytes),
        }
    }

    /// The target to ask the list about for the e-mail address `address`:
    /// `<hash>.<sub-zone>`; `None` if it is not an address.
    pub fn email_target(&self, address: &str) -> Option<Target> {
        let normal = self.normalise_email(address)?;
        let name = format!("{}.{}", self.digest(&normal), self.subzone);
        DomainName::new(&name).ok().map(Target::Domain)
    }

    /// Whether `target` is a hashed name of this sub-zone.
    pub(crate) fn takes(&self, target: &Target) -> bool {
        hashed_subzone(target) == Some(self.subzone.as_str())
    }
}

impl fmt::Display for HashSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}/{:?} {}",
            self.algorithm, self.encoding, self.subzone
        )
    }
}

/// The sub-zone of a hashed name (`_email` of `<hash>._email`): a domain target whose last
/// label starts with `_`, which no registrable domain does.
pub(crate) fn hashed_subzone(target: &Target) -> Option<&str> {
    match target {
        Target::Domain(name) => {
            let (_, last) = name.as_str().rsplit_once('.')?;
            last.starts_with('_').then_some(last)
        }
        Target::Ip(_) => None,
    }
}

/// Why an e-mail address cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailTargetError {
    /// No hashed list is in use: the address would be checked nowhere, which is not clean.
    #[error(
        "{0:?}: e-mail addresses are checked on hashed lists only (such as --preset \
         spamhaus-hbl with --dqs-key), and none is in use"
    )]
    NoHashedList(String),
    /// The text is not an e-mail address.
    #[error("{0:?} is not an e-mail address")]
    NotAnAddress(String),
}

/// The targets an e-mail address is checked as on `lists`: one per distinct hashing scheme
/// of the hashed lists among them.
///
/// # Examples
///
/// ```
/// use dnsbl_check::hash::{EmailTargetError, email_targets};
/// use dnsbl_check::presets;
///
/// let hbl = presets::list("spamhaus-hbl", Some("abcdefghijklmnopqrstuvwxyz")).unwrap();
/// let targets = email_targets([&hbl], "Someone@Example.org").unwrap();
/// assert_eq!(targets.len(), 1);
/// assert!(matches!(
///     email_targets(&presets::default_lists(), "someone@example.org"),
///     Err(EmailTargetError::NoHashedList(_))
/// ));
/// ```
pub fn email_targets<'a>(
    lists: impl IntoIterator<Item = &'a crate::DnsList>,
    address: &str,
) -> Result<Vec<Target>, EmailTargetError> {
    let mut specs: Vec<&HashSpec> = Vec::new();
    for spec in lists.into_iter().filter_map(crate::DnsList::hash) {
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    if specs.is_empty() {
        return Err(EmailTargetError::NoHashedList(address.to_owned()));
    }
    specs
        .iter()
        .map(|spec| {
            spec.email_target(address)
                .ok_or_else(|| EmailTargetError::NotAnAddress(address.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(algorithm: HashAlgorithm, encoding: HashEncoding) -> HashSpec {
        HashSpec::new(algorithm, encoding, "_email").unwrap()
    }

    #[test]
    fn digests_and_encodings_of_published_examples() {
        use HashAlgorithm::*;
        use HashEncoding::*;
        let cases = [
            // Spamhaus's HBL test address (hbltest.sh, SH.pm: SHA-256, RFC 4648 base32).
            (
                Sha256,
                Base32,
                "user@hbltest.com",
                "F3PDGTMWU6LFIGDJC67YNIWRY5ZRM7ERLETNFO36QAEQPMBPW2DA",
            ),
            // FIPS 180 and RFC 1321 test vectors.
            (Sha1, Hex, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                Sha256,
                Hex,
                "abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (Md5, Hex, "abc", "900150983cd24fb0d6963f7d28e17f72"),
            (Md5, Hex, "", "d41d8cd98f00b204e9800998ecf8427e"),
            // RFC 4648's base32 test vectors are of raw bytes; SHA-1 of "" in base32.
            (Sha1, Base32, "", "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"),
        ];
        for (algorithm, encoding, input, expected) in cases {
            assert_eq!(
                spec(algorithm, encoding).digest(input),
                expected,
                "{algorithm:?} {encoding:?} {input:?}"
            );
        }
        let target = HashSpec::spamhaus_email()
            .email_target("user@hbltest.com")
            .unwrap();
        assert_eq!(
            target.to_string(),
            "f3pdgtmwu6lfigdjc67yniwry5zrm7erletnfo36qaeqpmbpw2da._email"
        );
    }

    #[test]
    fn normalisation_table() {
        let gmail = HashSpec::spamhaus_email();
        let plain = gmail
            .clone()
            .with_normalisation(EmailNormalisation::Lowercase);
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            (
                "User@HBLtest.com",
                Some("user@hbltest.com"),
                Some("user@hbltest.com"),
            ),
            (
                "<user@hbltest.com>",
                Some("user@hbltest.com"),
                Some("user@hbltest.com"),
            ),
            (
                "J.Doe+x@gmail.com",
                Some("jdoe@gmail.com"),
                Some("j.doe+x@gmail.com"),
            ),
            (
                "j.doe@googlemail.com",
                Some("jdoe@gmail.com"),
                Some("j.doe@googlemail.com"),
            ),
            (
                "a.b+c@example.org.",
                Some("a.b@example.org"),
                Some("a.b+c@example.org"),
            ),
            ("+tag@example.org", None, Some("+tag@example.org")),
            ("no-at-sign", None, None),
            ("@example.org", None, None),
            ("user@", None, None),
            ("a b@example.org", None, None),
            ("a@b@example.org", None, None),
        ];
        for (address, with_gmail, lowercase) in cases {
            assert_eq!(
                gmail.normalise_email(address).as_deref(),
                *with_gmail,
                "{address}"
            );
            assert_eq!(
                plain.normalise_email(address).as_deref(),
                *lowercase,
                "{address}"
            );
        }
        let long = format!("{}@example.org", "a".repeat(300));
        assert_eq!(gmail.normalise_email(&long), None);
    }

    #[test]
    fn hashed_names_belong_to_their_sub_zone_only() {
        let spec = HashSpec::spamhaus_email();
        let target = spec.email_target("user@hbltest.com").unwrap();
        assert!(spec.takes(&target));
        let wallets = HashSpec::new(HashAlgorithm::Sha256, HashEncoding::Base32, "_cw").unwrap();
        assert!(!wallets.takes(&target));
        assert!(!spec.takes(&"example.com".parse().unwrap()));
        assert!(!spec.takes(&"192.0.2.1".parse().unwrap()));
        for bad in ["email", "_", "_a.b", "_é"] {
            assert!(
                HashSpec::new(HashAlgorithm::Sha1, HashEncoding::Hex, bad).is_err(),
                "{bad}"
            );
        }
        let config: HashSpec =
            toml::from_str("algorithm = \"sha1\"\nencoding = \"hex\"\nnormalise = \"lowercase\"\n")
                .unwrap();
        assert_eq!(config.subzone(), "_email");
        assert_eq!(config.normalisation(), EmailNormalisation::Lowercase);
        assert!(toml::from_str::<HashSpec>("algorithm = \"crc32\"\nencoding = \"hex\"\n").is_err());
    }
}
