//! Helper macros for newtypes that encode exactly like the type they wrap.

/// Implements `DecodeValue`, `EncodeValue`, `FixedTag` and `From<inner>` for a tuple struct
/// `$name(pub $inner)`, delegating to `$inner` (whose decode error must be `der::Error`).
macro_rules! der_newtype {
    ($name:ident($inner:ty)) => {
        impl<'a> ::der::DecodeValue<'a> for $name {
            type Error = ::der::Error;

            fn decode_value<R: ::der::Reader<'a>>(
                reader: &mut R,
                header: ::der::Header,
            ) -> ::der::Result<Self> {
                <$inner as ::der::DecodeValue<'a>>::decode_value(reader, header).map(Self)
            }
        }

        impl ::der::EncodeValue for $name {
            fn value_len(&self) -> ::der::Result<::der::Length> {
                ::der::EncodeValue::value_len(&self.0)
            }

            fn encode_value(&self, writer: &mut impl ::der::Writer) -> ::der::Result<()> {
                ::der::EncodeValue::encode_value(&self.0, writer)
            }
        }

        impl ::der::FixedTag for $name {
            const TAG: ::der::Tag = <$inner as ::der::FixedTag>::TAG;
        }

        impl From<$inner> for $name {
            fn from(inner: $inner) -> Self {
                Self(inner)
            }
        }
    };
}

/// Lets a `Vec<crate::BodyPartId>` newtype be read as a slice.
macro_rules! body_part_slice {
    ($name:ident) => {
        impl core::ops::Deref for $name {
            type Target = [crate::BodyPartId];

            fn deref(&self) -> &[crate::BodyPartId] {
                &self.0
            }
        }
    };
}
