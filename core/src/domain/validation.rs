//! Field-by-field validation: parsers push every problem they find into a
//! `FieldErrors`, so a user sees all bad fields of a request at once (RFC 9457
//! problem details list them on a 422).

use serde::Serialize;
use serde_json::{Map, Value};

/// One bad field: a JSON-pointer-like path (`equality.sex`, `stream_preferences[1]`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }
    /// `Ok(value)` when nothing was pushed, otherwise every error collected.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.0.is_empty() { Ok(value()) } else { Err(self) }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// Reads fields out of a JSON object, recording problems instead of stopping at the first.
/// Fields that are read are remembered, so `finish_unknown` can flag typos such as `emial`.
pub struct ObjectReader<'a> {
    prefix: String,
    map: &'a Map<String, Value>,
    seen: Vec<&'static str>,
}

impl<'a> ObjectReader<'a> {
    /// `None` (with an error recorded) when `value` is not an object.
    pub fn new(prefix: &str, value: &'a Value, errors: &mut FieldErrors) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self { prefix: prefix.to_owned(), map, seen: Vec::new() }),
            _ => {
                errors.push(if prefix.is_empty() { "(body)" } else { prefix }, "must be a JSON object");
                None
            }
        }
    }

    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_owned() } else { format!("{}.{key}", self.prefix) }
    }

    /// The raw value of an optional field; JSON `null` counts as absent.
    pub fn optional(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn required(&mut self, key: &'static str, errors: &mut FieldErrors) -> Option<&'a Value> {
        let v = self.optional(key);
        if v.is_none() {
            errors.push(self.path(key), "is required");
        }
        v
    }

    /// A trimmed, non-empty string of at most `max` characters.
    pub fn text(&mut self, key: &'static str, max: usize, required: bool, errors: &mut FieldErrors) -> Option<String> {
        let v = if required { self.required(key, errors)? } else { self.optional(key)? };
        let path = self.path(key);
        match v.as_str().map(str::trim) {
            None => errors.push(path, "must be a string"),
            Some("") if required => errors.push(path, "must not be empty"),
            Some("") => return None,
            Some(s) if s.chars().count() > max => errors.push(path, format!("must be at most {max} characters")),
            Some(s) if s.chars().any(|c| c.is_control()) => errors.push(path, "must not contain control characters"),
            Some(s) if has_invisible(s) => {
                errors.push(path, "must not contain invisible formatting characters (such as U+200B or U+202E)")
            }
            Some(s) => return Some(s.to_owned()),
        }
        None
    }

    pub fn boolean(&mut self, key: &'static str, required: bool, errors: &mut FieldErrors) -> Option<bool> {
        let v = if required { self.required(key, errors)? } else { self.optional(key)? };
        let b = v.as_bool();
        if b.is_none() {
            errors.push(self.path(key), "must be true or false");
        }
        b
    }

    pub fn integer(
        &mut self,
        key: &'static str,
        range: std::ops::RangeInclusive<i64>,
        errors: &mut FieldErrors,
    ) -> Option<i64> {
        let v = self.required(key, errors)?;
        match v.as_i64() {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                errors
                    .push(self.path(key), format!("must be a whole number from {} to {}", range.start(), range.end()));
                None
            }
        }
    }

    /// An array field (absent = empty); each element goes to `each` with its path.
    pub fn array(&mut self, key: &'static str, max_len: usize, errors: &mut FieldErrors) -> Vec<(String, &'a Value)> {
        let Some(v) = self.optional(key) else {
            return Vec::new();
        };
        let path = self.path(key);
        match v.as_array() {
            None => {
                errors.push(path, "must be an array");
                Vec::new()
            }
            Some(items) if items.len() > max_len => {
                errors.push(path, format!("must have at most {max_len} entries"));
                Vec::new()
            }
            Some(items) => items.iter().enumerate().map(|(i, v)| (format!("{path}[{i}]"), v)).collect(),
        }
    }

    /// Flags every field that no reader asked for.
    pub fn finish_unknown(self, errors: &mut FieldErrors) {
        let mut unknown: Vec<&String> = self.map.keys().filter(|k| !self.seen.contains(&k.as_str())).collect();
        unknown.sort();
        for k in unknown {
            errors.push(self.path(k), "is not a known field");
        }
    }
}

/// Parses a string value into one of a closed set of codes, listing them on error.
pub fn one_of<T: Copy>(path: &str, value: &Value, options: &[(&str, T)], errors: &mut FieldErrors) -> Option<T> {
    let found = value.as_str().and_then(|s| options.iter().find(|(code, _)| *code == s).map(|(_, t)| *t));
    if found.is_none() {
        let codes: Vec<&str> = options.iter().map(|(c, _)| *c).collect();
        errors.push(path, format!("must be one of: {}", codes.join(", ")));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reader_collects_every_problem_and_flags_unknown_fields() {
        let body = json!({"name": "", "age": "x", "emial": "a@b.c"});
        let mut errors = FieldErrors::new();
        let mut r = ObjectReader::new("", &body, &mut errors).unwrap();
        r.text("name", 10, true, &mut errors);
        r.integer("age", 0..=5, &mut errors);
        r.text("email", 10, true, &mut errors);
        r.finish_unknown(&mut errors);
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "age", "email", "emial"]);
    }

    #[test]
    fn null_counts_as_absent() {
        let body = json!({"phone": null});
        let mut errors = FieldErrors::new();
        let mut r = ObjectReader::new("", &body, &mut errors).unwrap();
        assert_eq!(r.text("phone", 10, false, &mut errors), None);
        assert!(errors.is_empty());
    }
}

/// Whether text holds characters that change how it shows without showing themselves:
/// Unicode format characters (general category Cf) such as zero-width spaces and
/// bidirectional overrides, which let a name read one way and sort or match another.
pub fn has_invisible(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{070F}' | '\u{180E}' | '\u{FEFF}'
            | '\u{0600}'..='\u{0605}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
    })
}

#[cfg(test)]
mod invisible_tests {
    use super::*;

    #[test]
    fn zero_width_and_bidi_override_characters_are_invisible() {
        assert!(has_invisible("Ada\u{200B}"));
        assert!(has_invisible("\u{202E}ecalevoL"));
        assert!(!has_invisible("Zoë O'Brien-Łukasz 李"));
    }
}
