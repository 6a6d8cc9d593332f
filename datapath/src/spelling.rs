//! Enums whose variants each have one OVS spelling (`bond_mode`, `lacp`,
//! `vlan_mode`, `lacp-time`): the variant list and its spellings are
//! written once, in one [`spelled_enum!`], and the configuration layer
//! (`ctl`) uses the same types.

/// Declares an enum whose variants each have one spelling, with:
/// - `ALL`: every variant, in declaration order;
/// - `NAMES`: every spelling, in the same order (schema constraints);
/// - `as_str(self)`: the spelling;
/// - `from_name(&str) -> Option<Self>`;
/// - `Display` (the spelling);
/// - with the `serde` feature, `Serialize`/`Deserialize` as the spelling.
#[macro_export]
macro_rules! spelled_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $spelling:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// Every spelling, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($spelling,)+];

            /// The spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $spelling, )+
                }
            }

            /// The variant spelled `s`, if any.
            pub fn from_name(s: &str) -> Option<$name> {
                match s {
                    $( $spelling => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::from_name(&s)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&s, $name::NAMES))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::spelled_enum! {
        /// A test enum.
        pub enum Colour {
            /// Red.
            Red => "red",
            /// Light blue.
            LightBlue => "light-blue",
        }
    }

    #[test]
    fn spellings_round_trip() {
        assert_eq!(Colour::NAMES, &["red", "light-blue"]);
        for (c, n) in Colour::ALL.iter().zip(Colour::NAMES) {
            assert_eq!(c.as_str(), *n);
            assert_eq!(Colour::from_name(n), Some(*c));
            assert_eq!(c.to_string(), *n);
        }
        assert_eq!(Colour::from_name("blue"), None);
        assert_eq!(Colour::from_name("Red"), None);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_uses_the_spelling() {
        let j = serde_json::to_string(&Colour::LightBlue).unwrap();
        assert_eq!(j, "\"light-blue\"");
        assert_eq!(
            serde_json::from_str::<Colour>("\"red\"").unwrap(),
            Colour::Red
        );
        let e = serde_json::from_str::<Colour>("\"blue\"").unwrap_err();
        assert!(e.to_string().contains("light-blue"), "{e}");
    }
}
