//! Either built-in resolver, chosen at run time.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::resolver::hickory::HickoryResolver;
use crate::resolver::pooled::PooledUdpResolver;
use crate::resolver::{Answer, DnsResolver, LookupError, MailExchanger};

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
/// use dnsbl_check::{AnyResolver, Checker, HickoryResolver, PooledUdpResolver, presets};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = "127.0.0.1:5353".parse()?;
/// let bulk = true;
/// let resolver = if bulk {
///     AnyResolver::from(PooledUdpResolver::builder().name_server(server).build()?)
/// } else {
///     AnyResolver::from(HickoryResolver::builder().name_server(server).build()?)
/// };
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
}
