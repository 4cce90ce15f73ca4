//! Every email the service sends, as one kind with the data its templates read
//! (`workers/templates/email/<kind>.{subject,txt,html}`). An email can only be
//! made from these types, and the render test renders every kind from a typed
//! example with undefined variables as errors, so a template and its data
//! cannot drift apart.

use serde::{Deserialize, Serialize};

/// Who an email is to and about: every template greets by name and quotes the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Addressee {
    pub name: String,
    pub scheme_name: String,
    pub application_id: String,
}

impl Addressee {
    pub fn new(name: &str, scheme_name: &str, application_id: &str) -> Self {
        Self { name: name.into(), scheme_name: scheme_name.into(), application_id: application_id.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestInvite {
    pub name: String,
    /// The time limit once started; None for an untimed test.
    pub minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub name: String,
    pub sten: u8,
}

/// An iCalendar event for an assessment-centre seat; it travels in the email's context as
/// `ics` and becomes the calendar part and `invite.ics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarEvent {
    pub uid: String,
    pub sequence: i64,
    /// UTC, formatted `YYYYMMDDTHHMMSSZ`.
    pub start_utc: String,
    pub end_utc: String,
    pub stamp_utc: String,
    pub summary: String,
    pub location: String,
    pub description: String,
}

/// A session as an email tells it: where and when, in local time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionText {
    pub centre_name: String,
    pub venue: String,
    pub date_text: String,
    pub start_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Mail {
    /// The application is in.
    Confirmation {
        #[serde(flatten)]
        to: Addressee,
        submitted_on: String,
        closes_on: String,
        /// The streams ranked, by name.
        streams: Vec<String>,
    },
    Withdrawn {
        #[serde(flatten)]
        to: Addressee,
        withdrawn_on: String,
    },
    /// Screened out at once (right to work, degree class), with the reason.
    Ineligible {
        #[serde(flatten)]
        to: Addressee,
        reason: String,
    },
    TestsInvited {
        #[serde(flatten)]
        to: Addressee,
        tests: Vec<TestInvite>,
    },
    /// Results per test; the outcome comes with the sift.
    Scored {
        #[serde(flatten)]
        to: Addressee,
        passed: bool,
        tests: Vec<TestResult>,
        /// Tests sent after their time limit, by name.
        late_tests: Vec<String>,
    },
    Shortlisted {
        #[serde(flatten)]
        to: Addressee,
        stream: String,
    },
    Reserve {
        #[serde(flatten)]
        to: Addressee,
        stream: String,
    },
    /// Not shortlisted: below a cut score (`below_standard`), or outranked.
    Rejected {
        #[serde(flatten)]
        to: Addressee,
        stream: String,
        below_standard: bool,
    },
    /// A seat offered (or, `moved`, the updated seat after a move), with its calendar.
    AcInvitation {
        #[serde(flatten)]
        to: Addressee,
        #[serde(flatten)]
        session: SessionText,
        end_text: String,
        moved: bool,
        ics: Box<CalendarEvent>,
    },
    AcReminder {
        #[serde(flatten)]
        to: Addressee,
        #[serde(flatten)]
        session: SessionText,
    },
    Offer {
        #[serde(flatten)]
        to: Addressee,
        stream: String,
        organisation: Option<String>,
    },
    AcReserve {
        #[serde(flatten)]
        to: Addressee,
        stream: String,
        organisation: Option<String>,
    },
    AcRejected {
        #[serde(flatten)]
        to: Addressee,
        stream: String,
        organisation: Option<String>,
    },
    /// A new sign-in link, asked for on the sign-in page.
    SignIn {
        #[serde(flatten)]
        to: Addressee,
        /// How long the link works, in words ("24 hours").
        valid_for: String,
    },
    /// A sign-in link for a member of staff (asked for on the staff sign-in page). It goes
    /// to their account's address; `staff_id` is whose link is minted when it is sent.
    StaffSignIn {
        name: String,
        staff_id: String,
        /// The account's role, in words ("recruiter").
        role: String,
        valid_for: String,
        /// The staff page the link lands on.
        next: String,
    },
    /// The person's data has been erased. Sent after the erasure, to the address it had: no
    /// name, no reference and no sign-in link (there is nothing left to sign in to).
    Erased {
        scheme_name: String,
        erased_on: String,
        /// Why, in words: "you asked us to" or the retention rule.
        because: String,
    },
}

/// The page an email's sign-in link lands on: every email to an applicant carries a
/// one-time link (`sign_in_url`, minted when it is sent) to the page it is about.
pub fn landing_page(kind: &str, application_id: &str) -> String {
    let suffix = match kind {
        "tests_invited" => "/tests",
        "ac_invitation" | "ac_reminder" => "/booking",
        "offer" => "/offer",
        _ => "",
    };
    format!("/applications/{application_id}{suffix}")
}

impl Mail {
    /// The kind: the outbox's `kind`, the template's name, and the `X-Fasttrack-Kind` header.
    pub fn kind(&self) -> &'static str {
        match self {
            Mail::Confirmation { .. } => "confirmation",
            Mail::Withdrawn { .. } => "withdrawn",
            Mail::Ineligible { .. } => "ineligible",
            Mail::TestsInvited { .. } => "tests_invited",
            Mail::Scored { .. } => "scored",
            Mail::Shortlisted { .. } => "shortlisted",
            Mail::Reserve { .. } => "reserve",
            Mail::Rejected { .. } => "rejected",
            Mail::AcInvitation { .. } => "ac_invitation",
            Mail::AcReminder { .. } => "ac_reminder",
            Mail::Offer { .. } => "offer",
            Mail::AcReserve { .. } => "ac_reserve",
            Mail::AcRejected { .. } => "ac_rejected",
            Mail::SignIn { .. } => "sign_in",
            Mail::StaffSignIn { .. } => "staff_sign_in",
            Mail::Erased { .. } => "erased",
        }
    }

    /// What the templates read.
    pub fn context(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an email's data always serialises")
    }

    /// One example of every kind, for tests that render them all.
    pub fn examples() -> Vec<Mail> {
        let to = || Addressee {
            name: "Ada Lovelace".into(),
            scheme_name: "Demo scheme".into(),
            application_id: "0190-demo".into(),
        };
        let session = || SessionText {
            centre_name: "Leeds centre".into(),
            venue: "Quarry House, Leeds".into(),
            date_text: "Monday 1 March 2027".into(),
            start_text: "09:00".into(),
        };
        let ics = CalendarEvent {
            uid: "0190-demo.demo.ac@fasttrack".into(),
            sequence: 0,
            start_utc: "20270301T090000Z".into(),
            end_utc: "20270301T120000Z".into(),
            stamp_utc: "20270101T090000Z".into(),
            summary: "Demo scheme: Leeds centre".into(),
            location: "Quarry House, Leeds".into(),
            description: "Assessment centre.".into(),
        };
        let stream = || "Data".to_owned();
        let organisation = || Some("Barts Health NHS Trust".to_owned());
        vec![
            Mail::Confirmation {
                to: to(),
                submitted_on: "1 December 2026".into(),
                closes_on: "31 January 2027".into(),
                streams: vec![stream()],
            },
            Mail::Withdrawn { to: to(), withdrawn_on: "2 December 2026".into() },
            Mail::Ineligible { to: to(), reason: "the right to work in the UK is required".into() },
            Mail::TestsInvited {
                to: to(),
                tests: vec![
                    TestInvite { name: "Numerical".into(), minutes: Some(20) },
                    TestInvite { name: "Judgement".into(), minutes: None },
                ],
            },
            Mail::Scored {
                to: to(),
                passed: true,
                tests: vec![TestResult { name: "Numerical".into(), sten: 6 }],
                late_tests: vec!["Verbal".into()],
            },
            Mail::Shortlisted { to: to(), stream: stream() },
            Mail::Reserve { to: to(), stream: stream() },
            Mail::Rejected { to: to(), stream: stream(), below_standard: true },
            Mail::AcInvitation {
                to: to(),
                session: session(),
                end_text: "12:00".into(),
                moved: false,
                ics: Box::new(ics),
            },
            Mail::AcReminder { to: to(), session: session() },
            Mail::Offer { to: to(), stream: stream(), organisation: organisation() },
            Mail::AcReserve { to: to(), stream: stream(), organisation: None },
            Mail::AcRejected { to: to(), stream: stream(), organisation: None },
            Mail::SignIn { to: to(), valid_for: "24 hours".into() },
            Mail::StaffSignIn {
                name: "Priya Shah".into(),
                staff_id: "0190-staff".into(),
                role: "recruiter".into(),
                valid_for: "24 hours".into(),
                next: "/staff".into(),
            },
            Mail::Erased {
                scheme_name: "Demo scheme".into(),
                erased_on: "2 December 2026".into(),
                because: "you asked us to".into(),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_example_and_a_flat_context() {
        let examples = Mail::examples();
        let mut kinds: Vec<&str> = examples.iter().map(Mail::kind).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), examples.len(), "one example per kind");
        assert_eq!(kinds.len(), 16);
        let invitation = examples.iter().find(|m| m.kind() == "ac_invitation").unwrap().context();
        assert_eq!(invitation["name"], "Ada Lovelace");
        assert_eq!(invitation["venue"], "Quarry House, Leeds");
        assert_eq!(invitation["ics"]["sequence"], 0);
    }

    #[test]
    fn sign_in_links_land_on_the_page_the_email_is_about() {
        assert_eq!(landing_page("tests_invited", "a1"), "/applications/a1/tests");
        assert_eq!(landing_page("ac_reminder", "a1"), "/applications/a1/booking");
        assert_eq!(landing_page("offer", "a1"), "/applications/a1/offer");
        assert_eq!(landing_page("confirmation", "a1"), "/applications/a1");
    }
}
