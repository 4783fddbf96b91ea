//! `layer_kinds!`: turns the list of layer kinds (in `layers/mod.rs`, one line per kind) into
//! the `LayerSpec` enum, its delegation to [`LayerKind`](super::LayerKind), the palette, and its
//! serde form (each kind writes and reads its own variant, so older files keep loading).

/// Declares `LayerSpec` with one variant per `Name(module::Config)` line, in palette order, and
/// the module `module` (the kind's file). `Name` is the Keras class name, written in `.ron`
/// files; `Config` implements `LayerKind`.
macro_rules! layer_kinds {
    ($( $(#[$doc:meta])* $variant:ident($module:ident :: $config:ident), )+) => {
        $( pub mod $module; )+

        /// One layer as the user wrote it. Variant names are Keras class names.
        #[derive(Clone, Debug, PartialEq)]
        pub enum LayerSpec {
            $( $(#[$doc])* $variant($module::$config), )+
        }

        impl LayerSpec {
            /// Every kind's Keras class name, in palette order.
            pub const KINDS: &'static [&'static str] = &[$( stringify!($variant) ),+];

            /// The Keras class name.
            pub fn kind(&self) -> &'static str {
                match self {
                    $( LayerSpec::$variant(_) => stringify!($variant), )+
                }
            }

            /// The kind's configuration, through the trait every kind implements.
            pub fn config(&self) -> &dyn $crate::cnn::layers::LayerKind {
                match self {
                    $( LayerSpec::$variant(config) => config, )+
                }
            }

            pub fn config_mut(&mut self) -> &mut dyn $crate::cnn::layers::LayerKind {
                match self {
                    $( LayerSpec::$variant(config) => config, )+
                }
            }

            /// One layer of every kind with its palette defaults, in palette order.
            pub fn palette() -> Vec<LayerSpec> {
                vec![$( LayerSpec::$variant(<$module::$config as $crate::cnn::layers::LayerKind>::palette_default()) ),+]
            }
        }

        impl serde::Serialize for LayerSpec {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use $crate::cnn::layers::LayerKind;
                let kind = self.kind();
                let index = LayerSpec::KINDS.iter().position(|k| *k == kind).unwrap_or(0) as u32;
                match self {
                    $( LayerSpec::$variant(config) => config.write_variant(serializer, index, kind), )+
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for LayerSpec {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct SpecVisitor;
                impl<'de> serde::de::Visitor<'de> for SpecVisitor {
                    type Value = LayerSpec;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a layer such as Conv2D(...), MaxPooling2D(...), Flatten or Dense(...)")
                    }
                    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<LayerSpec, A::Error> {
                        use $crate::cnn::layers::LayerKind;
                        let (kind, access) = data.variant_seed($crate::cnn::layers::registry::KindName)?;
                        match kind {
                            $( stringify!($variant) => <$module::$config>::read_variant(access).map(LayerSpec::$variant), )+
                            other => Err(serde::de::Error::unknown_variant(other, LayerSpec::KINDS)),
                        }
                    }
                }
                deserializer.deserialize_enum("LayerSpec", LayerSpec::KINDS, SpecVisitor)
            }
        }
    };
}

pub(crate) use layer_kinds;

/// Reads a variant name and finds it among the known kinds.
pub struct KindName;

impl<'de> serde::de::DeserializeSeed<'de> for KindName {
    type Value = &'static str;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl serde::de::Visitor<'_> for KindName {
    type Value = &'static str;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a layer kind")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
        let kinds = super::LayerSpec::KINDS;
        kinds
            .iter()
            .find(|k| **k == name)
            .copied()
            .ok_or_else(|| E::unknown_variant(name, kinds))
    }

    fn visit_u64<E: serde::de::Error>(self, index: u64) -> Result<Self::Value, E> {
        let kinds = super::LayerSpec::KINDS;
        usize::try_from(index)
            .ok()
            .and_then(|i| kinds.get(i))
            .copied()
            .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(index), &"a layer kind index"))
    }
}
