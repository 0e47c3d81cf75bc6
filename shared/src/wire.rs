//! [`wire_enum!`]: an enum whose wire names are written once. `as_str`,
//! `parse`, `ALL`, `Display`, serde and (feature `schema`) JSON Schema all
//! come from the one table, so no second list of names can drift.

/// Declares a fieldless enum with one wire name per variant:
///
/// ```
/// shared::wire_enum! {
///     /// A colour.
///     pub enum Colour {
///         Red = "RED",
///         DarkBlue = "DARK_BLUE",
///     }
/// }
/// assert_eq!(Colour::DarkBlue.as_str(), "DARK_BLUE");
/// assert_eq!(Colour::parse("RED"), Some(Colour::Red));
/// assert_eq!(Colour::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: [$name; <[&str]>::len(&[$($wire),+])] = [$($name::$variant),+];

            /// The wire name: as the API sends it and the database stores it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }

            /// Reads a wire name; `None` for anything else.
            pub fn parse(value: &str) -> Option<$name> {
                match value {
                    $( $wire => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                $name::parse(&value).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::unknown_variant(&value, &[$($wire),+])
                })
            }
        }

        $crate::wire_enum_schema!($name, $($wire),+);
    };
}

/// The JSON Schema of a [`wire_enum!`] (with the `schema` feature): decided
/// here, in `shared`, so that crates using the macro need no feature of their own.
#[cfg(feature = "schema")]
#[doc(hidden)]
#[macro_export]
macro_rules! wire_enum_schema {
    ($name:ident, $($wire:literal),+) => {
        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({"type": "string", "enum": [$($wire),+]})
            }
        }
    };
}

#[cfg(not(feature = "schema"))]
#[doc(hidden)]
#[macro_export]
macro_rules! wire_enum_schema {
    ($name:ident, $($wire:literal),+) => {};
}

#[cfg(test)]
mod tests {
    wire_enum! {
        enum Sample {
            One = "ONE",
            TwoWords = "TWO_WORDS",
        }
    }

    #[test]
    fn the_one_table_drives_names_parsing_and_serde() {
        assert_eq!(Sample::ALL, [Sample::One, Sample::TwoWords]);
        for value in Sample::ALL {
            assert_eq!(Sample::parse(value.as_str()), Some(value));
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{value}\""));
            assert_eq!(serde_json::from_str::<Sample>(&json).unwrap(), value);
        }
        assert_eq!(Sample::parse("one"), None);
        let error = serde_json::from_str::<Sample>("\"THREE\"").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unknown variant `THREE`, expected `ONE` or `TWO_WORDS`"),
            "{error}"
        );
    }
}
