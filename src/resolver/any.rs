//! Either built-in resolver, chosen at run time.

use std::fmt;
use std::str::FromStr;

use crate::resolver::hickory::HickoryResolver;
#[cfg(feature = "mirror")]
use crate::resolver::mirror::MirrorResolver;
use crate::resolver::pooled::PooledUdpResolver;
use crate::resolver::record::{self, Record};
use crate::resolver::{Answer, DnsResolver, LookupError, ResolverBuildError, ResolverOptions};

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
    /// Local mirrors answered in-process, every other name asked through the resolver inside.
    #[cfg(feature = "mirror")]
    #[cfg_attr(docsrs, doc(cfg(feature = "mirror")))]
    Mirror(Box<MirrorResolver<AnyResolver>>),
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

#[cfg(feature = "mirror")]
impl From<MirrorResolver<AnyResolver>> for AnyResolver {
    fn from(resolver: MirrorResolver<AnyResolver>) -> Self {
        AnyResolver::Mirror(Box::new(resolver))
    }
}

impl AnyResolver {
    /// The zones that local mirrors answer in-process (lowercase, without trailing dots);
    /// none when this resolver holds no mirror.
    ///
    /// A cache in front of the resolver should pass these through
    /// ([`AnswerCache::pass_through`](crate::resolver::cache::AnswerCache::pass_through)), so
    /// that a reloaded file is seen at once rather than after the cached answers' TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::ResolverOptions;
    /// use dnsbl_check::resolver::any::{AnyResolver, Transport};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = ResolverOptions::default().name_server("127.0.0.1:5353".parse()?);
    /// let resolver = AnyResolver::build(Transport::Pooled, options)?;
    /// assert!(resolver.mirrored_zones().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn mirrored_zones(&self) -> Vec<String> {
        #[cfg(feature = "mirror")]
        {
            let mut zones = Vec::new();
            let mut current = self;
            while let AnyResolver::Mirror(mirror) = current {
                zones.extend(mirror.zones().map(str::to_owned));
                current = mirror.inner();
            }
            zones
        }
        #[cfg(not(feature = "mirror"))]
        Vec::new()
    }

    /// The mirrors' answer, if a mirror holds `name`; else the resolver below the mirrors.
    /// A loop rather than a call through the mirror's own lookup: a future that contains
    /// itself would have no size.
    #[cfg(feature = "mirror")]
    fn below_mirrors<T>(
        &self,
        name: &str,
        mirrored: impl Fn(&MirrorResolver<AnyResolver>) -> Option<Answer<T>>,
    ) -> Result<Result<Answer<T>, &AnyResolver>, LookupError> {
        let mut current = self;
        while let AnyResolver::Mirror(mirror) = current {
            crate::resolver::mirror::check_name(name)?;
            if let Some(answer) = mirrored(mirror) {
                return Ok(Ok(answer));
            }
            current = mirror.inner();
        }
        Ok(Err(current))
    }
}

impl AnyResolver {
    /// The one lookup behind every [`DnsResolver`] method: the mirrors' answer, if a mirror
    /// holds `name`, else the answer of the resolver below them.
    async fn lookup<K: Record>(&self, name: &str) -> Result<Answer<K::Value>, LookupError> {
        #[cfg(feature = "mirror")]
        let resolver = match self.below_mirrors(name, |mirror| K::mirrored(mirror, name))? {
            Ok(answer) => return Ok(answer),
            Err(below) => below,
        };
        #[cfg(not(feature = "mirror"))]
        let resolver = self;
        match resolver {
            // Boxed: the stock resolver's lookup state is large, and every lookup's future
            // would otherwise be as large, the bulk path's included, which moves it as it is
            // queued. A box is little beside what a stock lookup costs (a socket of its own).
            AnyResolver::Hickory(resolver) => Box::pin(K::ask(&**resolver, name)).await,
            AnyResolver::Pooled(resolver) => K::ask(resolver, name).await,
            #[cfg(feature = "mirror")]
            AnyResolver::Mirror(_) => unreachable!("below_mirrors stops below the mirrors"),
        }
    }

    /// The mirrors' answer at once, if a mirror holds `name`; `None` when it takes a lookup
    /// (the transports below the mirrors answer nothing at once).
    fn now<K: Record>(&self, name: &str) -> Option<Result<Answer<K::Value>, LookupError>> {
        #[cfg(feature = "mirror")]
        match self.below_mirrors(name, |mirror| K::mirrored(mirror, name)) {
            Ok(Ok(answer)) => Some(Ok(answer)),
            Ok(Err(_below)) => None,
            Err(error) => Some(Err(error)),
        }
        #[cfg(not(feature = "mirror"))]
        {
            let _ = name;
            None
        }
    }
}

impl DnsResolver for AnyResolver {
    record::lookup_methods!(lookup, now);

    fn wakes_within(&self) -> Option<std::time::Duration> {
        match self {
            AnyResolver::Hickory(resolver) => resolver.wakes_within(),
            AnyResolver::Pooled(resolver) => resolver.wakes_within(),
            // Mirrored names are answered at once: the resolver below keeps the bound.
            #[cfg(feature = "mirror")]
            AnyResolver::Mirror(mirror) => mirror.wakes_within(),
        }
    }
}
