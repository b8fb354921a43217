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

    /// `resolver`'s answer at once, for the types it can give one for (A and TXT); `None`
    /// when it takes a lookup.
    fn ask_now<R: DnsResolver>(
        resolver: &R,
        name: &str,
    ) -> Option<Result<Answer<Self::Value>, LookupError>>;

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
    (@now $resolver:ident, $name:ident, $now:ident) => {
        $resolver.$now($name)
    };
    (@now $resolver:ident, $name:ident) => {{
        let _ = ($resolver, $name);
        None
    }};
    ($(
        $(#[$doc:meta])*
        $marker:ident => $value:ty, $method:ident $(/ $now:ident)?, $mirrored:ident;
    )*) => {$(
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

            fn ask_now<R: DnsResolver>(
                resolver: &R,
                name: &str,
            ) -> Option<Result<Answer<$value>, LookupError>> {
                record_types!(@now resolver, name $(, $now)?)
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

// `lookup / lookup_now`: the typed method, and the one that answers at once where the trait
// has one. The mirrors hold A and TXT data; for the other types they answer NODATA for a
// listed name and NXDOMAIN for another, as rbldnsd does.
record_types! {
    /// A records: IPv4 addresses.
    A => Ipv4Addr, lookup_a / lookup_a_now, mirrored_a;
    /// TXT records, each one string (see [`DnsResolver::lookup_txt`]).
    Txt => String, lookup_txt / lookup_txt_now, mirrored_txt;
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
/// - `lookup_methods!(lookup, now)` does the same, and makes the methods that answer at once
///   (`lookup_a_now`, `lookup_txt_now`) `self.now::<Kind>(name)`; without `now` they keep
///   their default (nothing answered at once).
/// - `lookup_methods!(deref)` makes every method call the same method of `**self`.
macro_rules! lookup_methods {
    (deref) => {
        $crate::resolver::record::lookup_methods!(@lookups deref);
        $crate::resolver::record::lookup_methods!(@nows deref);
    };
    ($how:ident, $now:ident) => {
        $crate::resolver::record::lookup_methods!(@lookups $how);
        $crate::resolver::record::lookup_methods!(@nows $now);
    };
    ($how:ident) => {
        $crate::resolver::record::lookup_methods!(@lookups $how);
    };
    (@nows $how:ident) => {
        $crate::resolver::record::lookup_methods!(@now $how, lookup_a_now, A, std::net::Ipv4Addr);
        $crate::resolver::record::lookup_methods!(@now $how, lookup_txt_now, Txt, String);
    };
    (@lookups $how:ident) => {
        $crate::resolver::record::lookup_methods!(@one $how, lookup_a, A, std::net::Ipv4Addr);
        $crate::resolver::record::lookup_methods!(@one $how, lookup_txt, Txt, String);
        $crate::resolver::record::lookup_methods!(@one $how, lookup_aaaa, Aaaa, std::net::Ipv6Addr);
        $crate::resolver::record::lookup_methods!(@one $how, lookup_ptr, Ptr, String);
        $crate::resolver::record::lookup_methods!(
            @one $how, lookup_mx, Mx, $crate::resolver::MailExchanger
        );
        $crate::resolver::record::lookup_methods!(@one $how, lookup_ns, Ns, String);
    };
    (@now $how:ident, $method:ident, $kind:ident, $value:ty) => {
        fn $method(
            &self,
            name: &str,
        ) -> Option<Result<$crate::resolver::Answer<$value>, $crate::resolver::LookupError>> {
            $crate::resolver::record::lookup_methods!(@call_now $how, self, name, $method, $kind)
        }
    };
    (@call_now deref, $this:ident, $name:ident, $method:ident, $kind:ident) => {
        (**$this).$method($name)
    };
    (@call_now $now:ident, $this:ident, $name:ident, $method:ident, $kind:ident) => {
        $this.$now::<$crate::resolver::record::$kind>($name)
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
