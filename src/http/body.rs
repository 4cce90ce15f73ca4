//! Reads a JSON request body ourselves, so that too-large (413), malformed (400) and
//! ambiguous (400: a key twice in one object) bodies get problem details like every other
//! error.

use std::time::Duration;

use actix_web::web;
use fasttrack_core::settings::ServerSettings;
use futures::StreamExt;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::error::ApiError;

pub async fn json(payload: web::Payload, server: &ServerSettings) -> Result<Value, ApiError> {
    json_up_to(payload, server, server.max_body_bytes).await
}

/// As `json`, with its own size limit.
pub async fn json_up_to(payload: web::Payload, server: &ServerSettings, limit: usize) -> Result<Value, ApiError> {
    let body = read(payload, limit, server.body_timeout()).await?;
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request body is empty; send a JSON object".into()));
    }
    parse(&body)
}

/// The raw body: at most `limit` bytes (413), arriving within `within` (408).
pub async fn read(mut payload: web::Payload, limit: usize, within: Duration) -> Result<web::BytesMut, ApiError> {
    let reading = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("could not read the request body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(within, reading).await.map_err(|_| ApiError::RequestTimeout(within.as_secs()))?
}

/// JSON text as a value, refusing a key that appears twice in one object (which parsers
/// resolve differently: "last one wins" would store what a reviewer of the first never saw).
pub fn parse(body: &[u8]) -> Result<Value, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Unambiguous::deserialize(&mut de).map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// Walks a JSON document and fails on a duplicate key; keeps nothing.
struct Unambiguous;

impl<'de> Deserialize<'de> for Unambiguous {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Walk)
    }
}

struct Walk;

impl<'de> Visitor<'de> for Walk {
    type Value = Unambiguous;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_unit<E>(self) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_none<E>(self) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Unambiguous, D::Error> {
        Unambiguous::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unambiguous, A::Error> {
        while seq.next_element::<Unambiguous>()?.is_some() {}
        Ok(Unambiguous)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unambiguous, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let shown: String = key.chars().take(40).flat_map(char::escape_default).collect();
                return Err(de::Error::custom(format!("the key \"{shown}\" appears twice in one object")));
            }
            map.next_value::<Unambiguous>()?;
        }
        Ok(Unambiguous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_in_one_object_is_refused_anywhere_in_the_document() {
        assert!(parse(br#"{"email": "a@b.c", "right_to_work_uk": true}"#).is_ok());
        for body in [
            &br#"{"email": "a@b.c", "email": "x@y.z"}"#[..],
            br#"{"equality": {"sex": "female", "sex": "male"}}"#,
            br#"[{"a": 1}, {"b": 2, "b": 3}]"#,
        ] {
            let e = parse(body).unwrap_err();
            assert!(e.to_string().contains("appears twice"), "{e}");
        }
        // The same key in different objects is fine.
        assert!(parse(br#"[{"a": 1}, {"a": 2}]"#).is_ok());
        assert!(parse(b"{nope").unwrap_err().to_string().contains("not valid JSON"));
    }
}
