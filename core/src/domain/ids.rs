//! Typed identifiers: an `ApplicationId` can never be passed where a
//! `NotificationId` is expected. Generated ids are UUIDv7 (time-ordered, so
//! indexes stay append-mostly); scheme and stream ids are human slugs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id; `uuid` comes from the caller so the core stays free of randomness.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// One application of one person to one scheme.
    ApplicationId
);
uuid_id!(
    /// One email in the outbox.
    NotificationId
);
uuid_id!(
    /// One bearer token (the id, never the secret).
    TokenId
);

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A slug: 1–64 characters of `a-z`, `0-9` and `-`, starting with a letter or digit.
            pub fn parse(s: &str) -> Result<Self, String> {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !s.starts_with('-');
                if ok {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(format!(
                        "must be 1–64 characters of a-z, 0-9 and '-', not starting with '-' (got {s:?})"
                    ))
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// A scheme, e.g. `london-imt-pilot`.
    SchemeId
);
slug_id!(
    /// A stream or specialism within a scheme, e.g. `acute-trusts`.
    StreamId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_reject_capitals_spaces_and_leading_dash() {
        assert!(SchemeId::parse("london-imt-pilot").is_ok());
        assert!(SchemeId::parse("London").is_err());
        assert!(SchemeId::parse("a b").is_err());
        assert!(SchemeId::parse("-a").is_err());
        assert!(SchemeId::parse("").is_err());
        assert!(SchemeId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn uuid_ids_round_trip_through_text() {
        let id = ApplicationId::new_v7();
        assert_eq!(id.to_string().parse::<ApplicationId>().unwrap(), id);
        assert!("not-a-uuid".parse::<ApplicationId>().is_err());
    }
}
