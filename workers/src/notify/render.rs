//! Renders an outbox row into an email: subject, plain text and HTML from the
//! templates in `workers/templates/email` (compiled into the binary). HTML is
//! auto-escaped; the text part is not.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, Message, MultiPart, SinglePart, header};
use minijinja::{AutoEscape, Environment};
use serde_json::Value;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/email/", $name)))),*]
    };
}

/// Every template file; a kind of email is `<kind>.subject`, `<kind>.txt` and `<kind>.html`.
const TEMPLATES: &[(&str, &str)] = templates![
    "layout.html",
    "confirmation.subject",
    "confirmation.txt",
    "confirmation.html",
    "withdrawn.subject",
    "withdrawn.txt",
    "withdrawn.html",
    "tests_invited.subject",
    "tests_invited.txt",
    "tests_invited.html",
    "ineligible.subject",
    "ineligible.txt",
    "ineligible.html",
    "scored.subject",
    "scored.txt",
    "scored.html",
    "shortlisted.subject",
    "shortlisted.txt",
    "shortlisted.html",
    "reserve.subject",
    "reserve.txt",
    "reserve.html",
    "rejected.subject",
    "rejected.txt",
    "rejected.html",
    "ac_invitation.subject",
    "ac_invitation.txt",
    "ac_invitation.html",
    "ac_reminder.subject",
    "ac_reminder.txt",
    "ac_reminder.html",
    "offer.subject",
    "offer.txt",
    "offer.html",
    "ac_reserve.subject",
    "ac_reserve.txt",
    "ac_reserve.html",
    "ac_rejected.subject",
    "ac_rejected.txt",
    "ac_rejected.html",
    "sign_in.subject",
    "sign_in.txt",
    "sign_in.html",
    "staff_sign_in.subject",
    "staff_sign_in.txt",
    "staff_sign_in.html",
    "erased.subject",
    "erased.txt",
    "erased.html",
];

/// What every email's context gains when it is sent: the site's address and a one-time
/// sign-in link (minted then, so no usable secret ever sits in the outbox).
/// `sign_in_path` is the link's path on the site (`/sign-in/…` or `/staff/sign-in/…`).
pub fn with_links(context: &Value, site_url: &str, sign_in_path: &str, valid_for: &str) -> Value {
    let mut c = context.clone();
    if let Some(o) = c.as_object_mut() {
        o.insert("site_url".into(), Value::from(site_url));
        o.insert("sign_in_url".into(), Value::from(format!("{site_url}{sign_in_path}")));
        o.insert("link_valid_for".into(), Value::from(valid_for));
    }
    c
}

pub struct Templates {
    env: Environment<'static>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no email template named {0:?}")]
    Unknown(String),
    #[error("template {0}: {1}")]
    Template(String, minijinja::Error),
    #[error("invalid address: {0}")]
    Address(String),
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("shipped templates parse (tested)");
        }
        Self { env }
    }

    pub fn render(&self, template: &str, context: &Value) -> Result<Rendered, RenderError> {
        let get = |ext: &str| {
            let name = format!("{template}.{ext}");
            let t = self.env.get_template(&name).map_err(|_| RenderError::Unknown(template.to_owned()))?;
            t.render(context).map_err(|e| RenderError::Template(name, e))
        };
        Ok(Rendered { subject: get("subject")?.trim().to_owned(), text: get("txt")?, html: get("html")? })
    }

    /// The whole message. `message_id` is derived from the outbox row, so a re-send after a
    /// crash carries the same Message-ID and receiving systems can drop the duplicate.
    pub fn message(
        &self,
        from: &str,
        to: &str,
        message_id: &str,
        template: &str,
        context: &Value,
    ) -> Result<Message, RenderError> {
        let r = self.render(template, context)?;
        let kind = HeaderValue::new(HeaderName::new_from_ascii_str("X-Fasttrack-Kind"), template.to_owned());
        let from: Mailbox = from.parse().map_err(|_| RenderError::Address("mail.from".into()))?;
        let to: Mailbox = to.parse().map_err(|_| RenderError::Address("recipient".into()))?;
        let builder = Message::builder()
            .from(from.clone())
            .to(to.clone())
            .subject(r.subject)
            .message_id(Some(message_id.to_owned()))
            .header(header::MIME_VERSION_1_0);
        let mut message = match context.get("ics") {
            // An invitation: multipart/mixed holding the alternatives (plain, HTML and the
            // calendar itself, method=REQUEST) and the same calendar as invite.ics.
            Some(ics) => {
                let event: super::ics::Event =
                    serde_json::from_value(ics.clone()).map_err(|e| RenderError::Address(format!("ics: {e}")))?;
                // The scheme as organiser, at the service's address; the candidate as the
                // attendee asked to answer (the seat is offered, not yet accepted).
                let organiser = context.get("scheme_name").and_then(|v| v.as_str()).unwrap_or("Recruitment team");
                let attendee = super::ics::Attendee {
                    name: context.get("name").and_then(|v| v.as_str()).unwrap_or(""),
                    email: to.email.as_ref(),
                    accepted: false,
                };
                let calendar = super::ics::invitation(&event, organiser, from.email.as_ref(), &attendee);
                let calendar_type = header::ContentType::parse("text/calendar; method=REQUEST; charset=utf-8")
                    .expect("a valid content type");
                builder.multipart(
                    MultiPart::mixed()
                        .multipart(
                            MultiPart::alternative()
                                .singlepart(SinglePart::plain(r.text))
                                .singlepart(SinglePart::html(r.html))
                                .singlepart(SinglePart::builder().header(calendar_type.clone()).body(calendar.clone())),
                        )
                        .singlepart(Attachment::new("invite.ics".to_owned()).body(calendar, calendar_type)),
                )?
            }
            None => builder.multipart(MultiPart::alternative_plain_html(r.text, r.html))?,
        };
        // Lets mail operators (and the tests) tell kinds apart without parsing bodies.
        message.headers_mut().insert_raw(kind);
        Ok(message)
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn confirmation() -> Value {
        links(&json!({"name": "Ada <script>", "scheme_name": "Demo", "application_id": "abc",
               "submitted_on": "1 December 2026", "closes_on": "31 January 2027", "streams": ["Data", "Cyber"]}))
    }

    fn links(c: &Value) -> Value {
        with_links(c, "https://ft.example", "/sign-in/s3cret", "24 hours")
    }

    #[test]
    fn confirmation_has_both_parts_and_escapes_html_only() {
        let r = Templates::new().render("confirmation", &confirmation()).unwrap();
        assert_eq!(r.subject, "We have received your application to the Demo");
        assert!(r.text.contains("Dear Ada <script>,"));
        assert!(r.html.contains("Dear Ada &lt;script&gt;,"));
        assert!(r.text.contains("2. Cyber"));
        assert!(r.text.contains("https://ft.example/sign-in/s3cret"));
        // minijinja escapes '/' in HTML as &#x2f;, which browsers read as '/'.
        assert!(r.html.replace("&#x2f;", "/").contains(r#"href="https://ft.example/sign-in/s3cret""#));
    }

    #[test]
    fn a_missing_context_value_is_an_error_not_a_blank() {
        let err = Templates::new().render("confirmation", &json!({"name": "x"})).err().unwrap();
        assert!(matches!(err, RenderError::Template(..)));
    }

    #[test]
    fn unknown_templates_are_reported() {
        assert!(matches!(Templates::new().render("nope", &json!({})), Err(RenderError::Unknown(_))));
    }

    #[test]
    fn message_is_multipart_alternative_with_a_stable_message_id() {
        let m = Templates::new()
            .message("ft <noreply@example.org>", "ada@example.org", "<n1@example.org>", "confirmation", &confirmation())
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <n1@example.org>"));
        assert!(raw.contains("X-Fasttrack-Kind: confirmation"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/html"));
    }

    /// Every kind, from its typed data only: a template that reads a field its kind does not
    /// carry fails here (undefined variables are errors).
    #[test]
    fn every_kind_renders_from_its_own_data() {
        for mail in fasttrack_core::mail::Mail::examples() {
            let r = Templates::new()
                .render(mail.kind(), &links(&mail.context()))
                .unwrap_or_else(|e| panic!("{}: {e:?}", mail.kind()));
            assert!(!r.subject.trim().is_empty(), "{}", mail.kind());
            // Every email leads to a page, never to an API call.
            for part in [r.text.clone(), r.html.replace("&#x2f;", "/")] {
                assert!(!part.contains("/api/") && !part.contains("token"), "{}: mentions the API", mail.kind());
                if mail.kind() == "erased" {
                    // Sent once the person's details are gone: nothing of them, nothing to sign in to.
                    assert!(!part.contains("Ada Lovelace") && !part.contains("0190-demo") && !part.contains("sign-in"));
                } else if mail.kind() == "staff_sign_in" {
                    // To a member of staff, about no application: their name and their link only.
                    assert!(part.contains("Priya Shah") && !part.contains("0190-demo"), "{part}");
                    assert!(part.contains("https://ft.example/sign-in/s3cret"), "the link minted at send time");
                } else {
                    assert!(part.contains("Ada Lovelace"), "{}: greets by name", mail.kind());
                    assert!(part.contains("https://ft.example/sign-in/s3cret"), "{}: no sign-in link", mail.kind());
                }
            }
            Templates::new()
                .message(
                    "ft <noreply@example.org>",
                    "ada@example.org",
                    "<n1@example.org>",
                    mail.kind(),
                    &links(&mail.context()),
                )
                .unwrap_or_else(|e| panic!("{}: {e:?}", mail.kind()));
        }
    }
}
