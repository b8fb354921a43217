//! Either built-in resolver, chosen at run time.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::resolver::hickory::HickoryResolver;
use crate::resolver::pooled::PooledUdpResolver;
use crate::resolver::{
    Answer, DnsResolver, LookupError, MailExchanger, ResolverBuildError, ResolverOptions,
};

/// One of the crate's two resolvers, for programs that let their users choose the transport
/// (a command-line flag, a config setting) without making everything generic over it.
///
/// - [`HickoryResolver`]: hickory-resolver's stock transport, a new UDP socket (and so a new
///   random source port) for every query.
/// - [`PooledUdpResolver`]: queries multiplexed over a few long-lived sockets; several times
///   faster for bulk work.
///
/// Both give the same answers.
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::any::{AnyResolver, Transport};
/// use dnsbl_check::{Checker, ResolverOptions, presets};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let options = ResolverOptions::default().name_server("127.0.0.1:5353".parse()?);
/// let transport: Transport = "pooled".parse()?; // from a command line, say
/// let resolver = AnyResolver::build(transport, options)?;
/// let checker = Checker::builder().lists(presets::default_lists()).build_with(resolver)?;
/// # let _ = checker;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyResolver {
    /// hickory-resolver's stock transport (boxed: it is several times the size of the other).
    Hickory(Box<HickoryResolver>),
    /// UDP multiplexed over long-lived sockets.
    Pooled(PooledUdpResolver),
}

impl AnyResolver {
    /// The resolver of `transport`, built with `options`.
    pub fn build(
        transport: Transport,
        options: ResolverOptions,
    ) -> Result<AnyResolver, ResolverBuildError> {
        Ok(match transport {
            Transport::Hickory => HickoryResolver::builder().options(options).build()?.into(),
            Transport::Pooled => PooledUdpResolver::builder()
                .options(options)
                .build()?
                .into(),
        })
    }
}

/// Which of the built-in resolvers an [`AnyResolver`] is: `hickory` or `pooled` as text.
///
/// # Examples
///
/// ```
/// use dnsbl_check::resolver::any::Transport;
///
/// assert_eq!("pooled".parse::<Transport>().unwrap(), Transport::Pooled);
/// assert_eq!(Transport::Hickory.to_string(), "hickory");
/// assert!("tcp".parse::<Transport>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// [`HickoryResolver`]: a new UDP socket, and so a new random source port, per query.
    Hickory,
    /// [`PooledUdpResolver`]: UDP multiplexed over a few long-lived sockets.
    Pooled,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Hickory => "hickory",
            Transport::Pooled => "pooled",
        })
    }
}

impl FromStr for Transport {
    type Err = UnknownTransport;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "hickory" => Ok(Transport::Hickory),
            "pooled" => Ok(Transport::Pooled),
            _ => Err(UnknownTransport),
        }
    }
}

/// Text that names no [`Transport`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport: expected \"hickory\" or \"pooled\"")]
#[non_exhaustive]
pub struct UnknownTransport;

impl From<HickoryResolver> for AnyResolver {
    fn from(resolver: HickoryResolver) -> Self {
        AnyResolver::Hickory(Box::new(resolver))
    }
}

impl From<PooledUdpResolver> for AnyResolver {
    fn from(resolver: PooledUdpResolver) -> Self {
        AnyResolver::Pooled(resolver)
    }
}

impl DnsResolver for AnyResolver {
    async fn lookup_a(&self, name: &str) -> Result<Answer<Ipv4Addr>, LookupError> {
        match self {
            AnyResolver::Hickory(resolver) => resolver.lookup_a(name).await,
            AnyResolver::Pooled(resolver) => resolver.lookup_a(name).await,
        }
    }

    async fn lookup_txt(&self, name: &str) -> Result<Answer<String>, LookupError> {
        match self {
            AnyResolver::Hickory(resolver) => resolver.lookup_txt(name).await,
            AnyResolver::Pooled(resolver) => resolver.lookup_txt(name).await,
        }
    }

    async fn lookup_aaaa(&self, name: &str) -> Result<Answer<Ipv6Addr>, LookupError> {
        match self {
            AnyResolver::Hickory(resolver) => resolver.lookup_aaaa(name).await,
            AnyResolver::Pooled(resolver) => resolver.lookup_aaaa(name).await,
        }
    }

    async fn lookup_ptr(&self, name: &str) -> Result<Answer<String>, LookupError> {
        match self {
            AnyResolver::Hickory(resolver) => resolver.lookup_ptr(name).await,
            AnyResolver::Pooled(resolver) => resolver.lookup_ptr(name).await,
        }
    }

    async fn lookup_mx(&self, name: &str) -> Result<Answer<MailExchanger>, LookupError> {
        match self {
            AnyResolver::Hickory(resolver) => resolver.lookup_mx(name).await,
            AnyResolver::Pooled(resolver) => resolver.lookup_mx(name).await,
        }
    }

    async fn lookup_ns(&self, name: &str) -> Result<Answer<String>, LookupError> {
        match self {
            AnyResolver::Hickory(resolver) => resolver.lookup_ns(name).await,
            AnyResolver::Pooled(resolver) => resolver.lookup_ns(name).await,
        }
    }
}
