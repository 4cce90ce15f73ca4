//! HTML forms in and out: a posted form as field → values, and the error summary of a page
//! built from the API's own field errors (one source of truth for every message).

use std::collections::BTreeMap;

use fasttrack_core::validation::FieldError;
use serde::Serialize;

/// A posted `application/x-www-form-urlencoded` body: repeated fields (checkboxes) keep
/// every value, in order.
#[derive(Debug, Default, Clone)]
pub struct Posted(pub Vec<(String, String)>);

impl Posted {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty()).collect()
    }
}

/// One line of the NHS error summary: a link to the field, and the message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SummaryItem {
    pub href: String,
    pub text: String,
}

/// What a page shows of a form's errors: the summary at the top, and per field (by its
/// HTML id) the inline message.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Errors {
    pub summary: Vec<SummaryItem>,
    pub inline: BTreeMap<String, String>,
}

impl Errors {
    /// From the API's field errors; `anchor` names the HTML id a field path shows at.
    pub fn from_fields<'a>(errors: impl IntoIterator<Item = &'a FieldError>, anchor: impl Fn(&str) -> String) -> Self {
        let mut out = Errors::default();
        for e in errors {
            let id = anchor(&e.field);
            let text = super::labels::message(&e.field, &e.message);
            out.summary.push(SummaryItem { href: format!("#{id}"), text: text.clone() });
            out.inline.entry(id).or_insert(text);
        }
        out
    }

    /// One message not tied to a field (a conflict such as "already applied").
    pub fn general(text: impl Into<String>, href: &str) -> Self {
        Errors { summary: vec![SummaryItem { href: href.into(), text: text.into() }], inline: BTreeMap::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.summary.is_empty()
    }
}
