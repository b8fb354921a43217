//! The record types [`DnsResolver`] looks up, as types: each transport writes one generic
//! lookup over [`Record`], and [`lookup_methods!`] writes the trait's typed methods on it.

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::resolver::{Answer, DnsResolver, LookupError, MailExchanger};

/// The record types a [`DnsResolver`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RecordKind {
    A,
    Txt,
    Aaaa,
    Ptr,
    Mx,
    Ns,
}

impl RecordKind {
    /// The type's number on the wire (RFC 1035, RFC 3596).
    pub(crate) fn code(self) -> u16 {
        match self {
            RecordKind::A => 1,
            RecordKind::Ns => 2,
            RecordKind::Ptr => 12,
            RecordKind::Mx => 15,
            RecordKind::Txt => 16,
            RecordKind::Aaaa => 28,
        }
    }
}

/// A record type [`DnsResolver`] looks up, and what each of its records becomes.
///
/// PTR, NS and TXT records all become strings; the marker types ([`A`], [`Txt`], [`Aaaa`],
/// [`Ptr`], [`Mx`], [`Ns`]) tell them apart.
pub(crate) trait Record: Send + Sync + 'static {
    /// One record, as [`DnsResolver`] returns it.
    type Value: Clone + Send + Sync + 'static;

    /// Which record type this is.
    const KIND: RecordKind;

    /// `resolver`'s typed method for this record type.
    fn ask<R: DnsResolver>(
        resolver: &R,
        name: &str,
    ) -> impl Future<Output = Result<Answer<Self::Value>, LookupError>> + Send;

    /// What the local mirrors answer about `name`; `None` outside the mirrored zones.
    #[cfg(feature = "mirror")]
    fn mirrored<R>(
        mirror: &crate::resolver::mirror::MirrorResolver<R>,
        name: &str,
    ) -> Option<Answer<Self::Value>>;
}

/// Declares a marker type for a record type and implements [`Record`] for it: the typed
/// method of [`DnsResolver`] that asks for it, and the mirrors' method that answers it.
macro_rules! record_types {
    ($($(#[$doc:meta])* $marker:ident => $value:ty, $method:ident, $mirrored:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct $marker;

        impl Record for $marker {
            type Value = $value;
            const KIND: RecordKind = RecordKind::$marker;

            fn ask<R: DnsResolver>(
                resolver: &R,
                name: &str,
            ) -> impl Future<Output = Result<Answer<$value>, LookupError>> + Send {
                resolver.$method(name)
            }

            #[cfg(feature = "mirror")]
            fn mirrored<R>(
                mirror: &crate::resolver::mirror::MirrorResolver<R>,
                name: &str,
            ) -> Option<Answer<$value>> {
                mirror.$mirrored(name)
            }
        }
    )*};
}

// The mirrors hold A and TXT data; for the other types they answer NODATA for a listed name
// and NXDOMAIN for another, as rbldnsd does.
record_types! {
    /// A records: IPv4 addresses.
    A => Ipv4Addr, lookup_a, mirrored_a;
    /// TXT records, each one string (see [`DnsResolver::lookup_txt`]).
    Txt => String, lookup_txt, mirrored_txt;
    /// AAAA records: IPv6 addresses.
    Aaaa => Ipv6Addr, lookup_aaaa, mirrored_other;
    /// PTR records: host names, lowercase, without trailing dot.
    Ptr => String, lookup_ptr, mirrored_other;
    /// MX records.
    Mx => MailExchanger, lookup_mx, mirrored_other;
    /// NS records: host names, lowercase, without trailing dot.
    Ns => String, lookup_ns, mirrored_other;
}

/// The methods of [`DnsResolver`], each a call of one generic lookup.
///
/// - `lookup_methods!(lookup)` (inside `impl DnsResolver for …`) makes every method
///   `self.lookup::<Kind>(name)`, `lookup` being the type's own generic method over
///   [`Record`].
/// - `lookup_methods!(deref)` makes every method call the same method of `**self`.
macro_rules! lookup_methods {
    ($how:ident) => {
        $crate::resolver::record::lookup_methods!(@one $how, lookup_a, A, std::net::Ipv4Addr);
        $crate::resolver::record::lookup_methods!(@one $how, lookup_txt, Txt, String);
        $crate::resolver::record::lookup_methods!(@one $how, lookup_aaaa, Aaaa, std::net::Ipv6Addr);
        $crate::resolver::record::lookup_methods!(@one $how, lookup_ptr, Ptr, String);
        $crate::resolver::record::lookup_methods!(
            @one $how, lookup_mx, Mx, $crate::resolver::MailExchanger
        );
        $crate::resolver::record::lookup_methods!(@one $how, lookup_ns, Ns, String);
    };
    (@one $how:ident, $method:ident, $kind:ident, $value:ty) => {
        fn $method(
            &self,
            name: &str,
        ) -> impl std::future::Future<
            Output = Result<$crate::resolver::Answer<$value>, $crate::resolver::LookupError>,
        > + Send {
            $crate::resolver::record::lookup_methods!(@call $how, self, name, $method, $kind)
        }
    };
    (@call deref, $this:ident, $name:ident, $method:ident, $kind:ident) => {
        (**$this).$method($name)
    };
    (@call $lookup:ident, $this:ident, $name:ident, $method:ident, $kind:ident) => {
        $this.$lookup::<$crate::resolver::record::$kind>($name)
    };
}
pub(crate) use lookup_methods;
