//! OpenAI-compatible wire types the gateway reads or writes itself: the error body, the usage object, the model
//! list, and the few chat request fields Tollgate acts on. Serde only, no I/O. Everything else in a request is
//! passed through as raw JSON and never modelled here. Also the [`ChannelKind`] and [`MjMode`] enums, shared by the adapters, the
//! store and the gateway.

/// The methods of a closed set that is text everywhere outside Rust (the database, JSON, TOML): `ALL`, `as_str`
/// (its one spelling, which serde must agree with), `Display`, and `FromStr`, which compares `normalize(text)`
/// with each spelling and names every accepted value when it refuses one.
macro_rules! text_enum {
    ($ty:ident, $what:literal, $quantity:literal, normalize = $normalize:expr,
     { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: [$ty; [$($text),+].len()] = [$(Self::$variant),+];

            /// The text stored, sent and accepted for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let normalize: fn(&str) -> String = $normalize;
                let wanted = normalize(s);
                Self::ALL.into_iter().find(|v| v.as_str() == wanted).ok_or_else(|| {
                    format!(
                        "unknown {} `{s}`; expected {} of {}",
                        $what,
                        $quantity,
                        Self::ALL.map(Self::as_str).join(", ")
                    )
                })
            }
        }
    };
}

/// The test of every [`text_enum!`] type: each value's serde text is its `as_str`, serde and `FromStr` read that
/// text back to the value, and `Display` writes it.
#[cfg(test)]
fn assert_text_round_trip<T>(all: &[T], as_str: fn(T) -> &'static str)
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + serde::Serialize,
    T: serde::de::DeserializeOwned + std::str::FromStr<Err = String>,
{
    for &value in all {
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, format!("\"{}\"", as_str(value)));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
        assert_eq!(as_str(value).parse::<T>(), Ok(value));
        assert_eq!(value.to_string(), as_str(value));
    }
}

pub mod channel_kind;
pub mod chat;
pub mod error;
pub mod json;
pub mod mj_mode;
pub mod models;
pub mod usage;

pub use channel_kind::ChannelKind;
pub use error::{ErrorBody, ErrorObject};
pub use mj_mode::MjMode;
pub use models::{ModelList, ModelObject};
pub use usage::Usage;
