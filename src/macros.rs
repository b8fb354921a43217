//! Macros the crate's modules share.

/// Builder setters written once: each `name(value: Type) => field = expression;`, with its
/// doc comment (and any other attributes), becomes `pub fn name(mut self, value: Type) ->
/// Self` that sets `self.field` to the expression and returns the builder.
macro_rules! setters {
    ($($(#[$meta:meta])* $name:ident($value:ident: $ty:ty) => $field:ident = $set:expr;)*) => {$(
        $(#[$meta])*
        pub fn $name(mut self, $value: $ty) -> Self {
            self.$field = $set;
            self
        }
    )*};
}
