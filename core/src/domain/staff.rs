//! A staff account as an admin asks for it (the admin page and `fasttrack admin user create`
//! check it here, once): an address, a name, a staff role, and for an assessor the
//! `scheme:assessor` they are in the centres.

use super::auth::Role;
use super::email::Email;
use super::validation::FieldErrors;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub assessor_id: Option<String>,
}

/// Checks the fields of a new account, naming each one that is wrong.
pub fn check(email: &str, name: &str, role: &str, assessor: &str) -> Result<NewStaff, FieldErrors> {
    let mut e = FieldErrors::new();
    let email = match email.trim() {
        "" => {
            e.push("email", "is required");
            None
        }
        s => Email::parse(s).map_err(|m| e.push("email", m)).ok(),
    };
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        e.push("name", "is required");
    } else if name.chars().count() > 200 {
        e.push("name", "must be at most 200 characters");
    }
    let role = match Role::parse(role.trim()) {
        Some(Role::Applicant) | None => {
            e.push("role", "must be one of recruiter, assessor, hr, admin");
            None
        }
        Some(r) => Some(r),
    };
    let assessor = assessor.trim();
    let assessor_id = match (role, assessor) {
        (Some(Role::Assessor), "") => {
            e.push("assessor", "is required for an assessor: scheme:assessor, e.g. london-imt-pilot:as-okafor");
            None
        }
        (Some(Role::Assessor), key) if super::centres::parse_assessor_key(key).is_none() => {
            e.push("assessor", "must be scheme:assessor, e.g. london-imt-pilot:as-okafor");
            None
        }
        (Some(Role::Assessor), key) => Some(key.to_owned()),
        (_, "") => None,
        (_, _) => {
            e.push("assessor", "is only for assessors");
            None
        }
    };
    let (Some(email), Some(role)) = (email, role) else { return Err(e) };
    e.finish(|| NewStaff { email, name, role, assessor_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: Result<NewStaff, FieldErrors>) -> Vec<String> {
        r.unwrap_err().iter().map(|f| f.field.clone()).collect()
    }

    #[test]
    fn a_recruiter_needs_an_address_a_name_and_no_assessor() {
        let ok = check(" Priya.Shah@nhs.net ", "  Priya   Shah ", "recruiter", "").unwrap();
        assert_eq!(ok.email.as_str(), "Priya.Shah@nhs.net");
        assert_eq!(ok.name, "Priya Shah");
        assert_eq!(ok.role, Role::Recruiter);
        assert_eq!(ok.assessor_id, None);
        assert_eq!(fields(check("", "", "applicant", "x:y")), ["email", "name", "role", "assessor"]);
        assert_eq!(fields(check("a@b.nhs.uk", "A", "hr", "london:as-1")), ["assessor"]);
    }

    #[test]
    fn an_assessor_is_bound_to_one_assessor_of_a_scheme() {
        let ok = check("o@nhs.net", "Dr Okafor", "assessor", "london-imt-pilot:as-okafor").unwrap();
        assert_eq!(ok.assessor_id.as_deref(), Some("london-imt-pilot:as-okafor"));
        assert_eq!(fields(check("o@nhs.net", "Dr Okafor", "assessor", "")), ["assessor"]);
        assert_eq!(fields(check("o@nhs.net", "Dr Okafor", "assessor", "no-colon")), ["assessor"]);
    }
}
