//! Who may do what (SPEC §2). Tokens are random secrets shown once and stored
//! only as their SHA-256 hash: they carry 256 bits of entropy, so a fast hash
//! is enough (nothing to brute-force), and lookup by hash is one index probe.
//! The role matrix is one function, `Caller::may`, walked by a test over every route.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ids::{ApplicationId, TokenId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Applicant,
    Recruiter,
    Assessor,
    Hr,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Applicant, Role::Recruiter, Role::Assessor, Role::Hr, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Recruiter => "recruiter",
            Role::Assessor => "assessor",
            Role::Hr => "hr",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: TokenId,
    pub role: Role,
    /// For applicants: the one application their token opens.
    pub application_id: Option<ApplicationId>,
    /// For assessors: who they are in the centres' definitions (their panels).
    pub assessor_id: Option<String>,
    /// For admins: whether this deployment lets them read applications
    /// (`personal_data.admin_reads_applications`, set where the request is authenticated).
    pub admin_reads_applications: bool,
    /// The request this caller made (for the audit log), where known.
    pub request_id: Option<String>,
}

/// Everything a route can ask permission for. Routes of later features add variants here
/// and the matrix test walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateScheme,
    /// Read any scheme's whole definition (closed ones too), change it while safe, close it.
    ManageScheme,
    /// Read an application's status and timeline.
    ReadApplication(ApplicationId),
    /// Withdraw (applicant) or erase (admin) an application.
    WithdrawApplication(ApplicationId),
    /// See, start and answer the application's online tests.
    TakeTests(ApplicationId),
    /// See the application's assessment-centre booking.
    ReadBooking(ApplicationId),
    /// Accept or decline the seat offered (the applicant only).
    AnswerBooking(ApplicationId),
    /// Accept or decline the place offered (the applicant only).
    AnswerOffer(ApplicationId),
    /// Start the sift of a scheme.
    RunSift,
    /// Start the decisions job (offers, reserve, rejections) of a scheme.
    RunDecisions,
    /// See a session's candidates: its panel's assessors (name-blind where the scheme is), and
    /// recruiters. `on_panel`: the caller is an assessor listed on the session.
    ReadSession {
        on_panel: bool,
    },
    /// Record exercise scores and judgements: only assessors on the session's panel.
    ScoreSession {
        on_panel: bool,
    },
    /// See every candidate's AC result and the scores still missing.
    ReadAcResults,
    /// Record placements, in-post checkpoints and leaving.
    RecordOutcome,
    /// Record that a booked candidate did not attend their centre.
    RecordNoShow,
    /// Create and list assessment centres.
    ManageCentres,
    /// Record that the Disability Confident guarantee does not apply to an application.
    OverrideDisabilityConfident,
    /// Watch a background job.
    ReadJob,
    /// Read diversity and outcome statistics (aggregates, disclosure-controlled).
    ReadMetrics,
    /// Create surveys, enter responses and read their tables.
    ManageSurveys,
    ListDeadNotifications,
    RetryNotification,
    CreateToken,
    /// See every worker process and its health.
    ReadWorkers,
    /// Download everything held about the person (subject access).
    ExportData(ApplicationId),
    /// Erase the person's data.
    EraseData(ApplicationId),
    /// See what retention would erase, and run it.
    ManageRetention,
    /// Read the audit log.
    ReadAudit,
    /// List and search a scheme's applicants.
    ListApplications,
    /// Create, list and disable staff accounts.
    ManageStaff,
    /// Post, list, change and withdraw a scheme's vacancies.
    ManageVacancies,
}

/// Why a caller may not do something: 404 hides that another person's application exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Forbidden,
    NotFound,
}

impl Caller {
    pub fn may(&self, action: Action) -> Result<(), Denied> {
        use Action::*;
        use Role::*;
        let allowed = match (self.role, action) {
            (Recruiter | Admin, CreateScheme | ManageScheme) => true,
            (
                Applicant,
                ReadApplication(id)
                | WithdrawApplication(id)
                | TakeTests(id)
                | ReadBooking(id)
                | AnswerBooking(id)
                | AnswerOffer(id),
            ) => {
                return if self.application_id == Some(id) { Ok(()) } else { Err(Denied::NotFound) };
            }
            (Recruiter, ReadApplication(_) | ReadBooking(_) | ListApplications) => true,
            // Admins run the service, not the recruitment: they read applications only where
            // the deployment allows it (`personal_data.admin_reads_applications`).
            (Admin, ReadApplication(_) | ReadBooking(_) | ListApplications) => self.admin_reads_applications,
            (Admin, WithdrawApplication(_)) => true,
            // Subject access and erasure: the person themselves, or an admin acting on a request.
            (Applicant, ExportData(id) | EraseData(id)) => {
                return if self.application_id == Some(id) { Ok(()) } else { Err(Denied::NotFound) };
            }
            (Admin, ExportData(_) | EraseData(_) | ManageRetention | ReadAudit) => true,
            (
                Recruiter | Admin,
                RunSift | RunDecisions | OverrideDisabilityConfident | ManageCentres | RecordNoShow | ManageVacancies,
            ) => true,
            (Recruiter | Admin, ReadSession { .. } | ReadAcResults) => true,
            (Assessor, ReadSession { on_panel } | ScoreSession { on_panel }) => on_panel,
            (Recruiter | Hr | Admin, RecordOutcome) => true,
            (Recruiter | Hr | Admin, ReadJob) => true,
            (Hr | Admin, ReadMetrics | ManageSurveys) => true,
            (Admin, ListDeadNotifications | RetryNotification | CreateToken | ReadWorkers | ManageStaff) => true,
            // A recruiter re-sends an email of their applicants that could not be delivered.
            (Recruiter, RetryNotification) => true,
            _ => false,
        };
        if allowed { Ok(()) } else { Err(Denied::Forbidden) }
    }
}

pub const TOKEN_PREFIX: &str = "ft_";

/// A new token from 32 random bytes the caller supplies (the core takes no randomness).
pub fn token_from_bytes(bytes: [u8; 32]) -> String {
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored: hex SHA-256 of the whole token text.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, app: Option<ApplicationId>) -> Caller {
        Caller {
            token_id: TokenId::new_v7(),
            role,
            application_id: app,
            assessor_id: None,
            admin_reads_applications: false,
            request_id: None,
        }
    }

    #[test]
    fn applicants_see_only_their_own_application_and_others_are_not_found() {
        let mine = ApplicationId::new_v7();
        let other = ApplicationId::new_v7();
        let me = caller(Role::Applicant, Some(mine));
        assert_eq!(me.may(Action::ReadApplication(mine)), Ok(()));
        assert_eq!(me.may(Action::ReadApplication(other)), Err(Denied::NotFound));
        assert_eq!(me.may(Action::WithdrawApplication(other)), Err(Denied::NotFound));
        assert_eq!(me.may(Action::CreateScheme), Err(Denied::Forbidden));
    }

    #[test]
    fn hr_and_assessors_cannot_read_applications() {
        let id = ApplicationId::new_v7();
        for role in [Role::Hr, Role::Assessor] {
            assert_eq!(caller(role, None).may(Action::ReadApplication(id)), Err(Denied::Forbidden));
        }
    }

    #[test]
    fn assessors_see_and_score_only_their_own_panels_and_recruiters_never_score() {
        let a = caller(Role::Assessor, None);
        assert_eq!(a.may(Action::ReadSession { on_panel: true }), Ok(()));
        assert_eq!(a.may(Action::ScoreSession { on_panel: true }), Ok(()));
        assert_eq!(a.may(Action::ReadSession { on_panel: false }), Err(Denied::Forbidden));
        assert_eq!(a.may(Action::ScoreSession { on_panel: false }), Err(Denied::Forbidden));
        assert_eq!(a.may(Action::ReadAcResults), Err(Denied::Forbidden));
        let r = caller(Role::Recruiter, None);
        assert_eq!(r.may(Action::ReadSession { on_panel: false }), Ok(()));
        assert_eq!(r.may(Action::ScoreSession { on_panel: true }), Err(Denied::Forbidden));
    }

    #[test]
    fn tokens_hash_stably_and_differ() {
        let a = token_from_bytes([1; 32]);
        let b = token_from_bytes([2; 32]);
        assert!(a.starts_with("ft_"));
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a).len(), 64);
    }
}
