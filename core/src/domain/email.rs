//! An email address that has been checked: one `@`, a plausible local part and
//! a dotted domain, no spaces, at most 254 characters. Compared case-insensitively
//! (`normalised`) so one person cannot apply twice by changing capitals.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim();
        if s.len() > 254 {
            return Err("must be at most 254 characters");
        }
        let (local, domain) = s.rsplit_once('@').ok_or("must contain '@'")?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        if !local_ok {
            return Err("has an invalid part before '@'");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err("has an invalid domain after '@'");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key for "one application per email per scheme".
    pub fn normalised(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@b.co", "first.last+tag@nhs.net", "X_Y@sub.example.ac.uk"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in ["", "a", "@b.com", "a@", "a@b", "a b@c.com", "a@b..com", ".a@b.com", "a@-b.com", "a@@b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalised_ignores_case() {
        assert_eq!(Email::parse("Ada@NHS.net").unwrap().normalised(), "ada@nhs.net");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepted_addresses_have_one_at(s in ".{0,80}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(e.as_str().matches('@').count(), 1);
                prop_assert!(!e.as_str().contains(' '));
            }
        }
    }
}
