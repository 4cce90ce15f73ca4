//! What HR reports group by and count over: the characteristics (equality
//! answers, with the ethnicity groupings, and degree class) and the pipeline
//! stages. Pure: the SQL that counts lives in `store::metrics`.

use super::application::DegreeClass;
use super::equality::{self, PREFER_NOT_TO_SAY, QUESTIONS};
use super::status::Status;

/// The label for "no answer given" (no equality form, or the question left out).
pub const NOT_ANSWERED: &str = "not_answered";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Characteristic {
    /// One of the equality questions, by its column name.
    Question(&'static str),
    /// Ethnicity in the five ONS groups.
    EthnicGroup,
    /// Ethnicity as WRES White / BME.
    WhiteBme,
    DegreeClass,
}

impl Characteristic {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ethnic_group" => Some(Self::EthnicGroup),
            "white_bme" => Some(Self::WhiteBme),
            "degree_class" => Some(Self::DegreeClass),
            other => QUESTIONS.iter().find(|q| q.key == other).map(|q| Self::Question(q.key)),
        }
    }

    pub fn names() -> Vec<&'static str> {
        let mut v: Vec<&'static str> = QUESTIONS.iter().map(|q| q.key).collect();
        v.extend(["ethnic_group", "white_bme", "degree_class"]);
        v
    }

    /// The SQL column the raw value comes from (a fixed list, never user text).
    pub fn column(self) -> &'static str {
        match self {
            Self::Question(key) => match key {
                "sex" => "q.sex",
                "gender_same_as_birth" => "q.gender_same_as_birth",
                "age_band" => "q.age_band",
                "ethnicity" => "q.ethnicity",
                "disability" => "q.disability",
                "sexual_orientation" => "q.sexual_orientation",
                "religion" => "q.religion",
                "socio_economic_background" => "q.socio_economic_background",
                "school_type" => "q.school_type",
                "free_school_meals" => "q.free_school_meals",
                _ => "q.first_generation_university",
            },
            Self::EthnicGroup | Self::WhiteBme => "q.ethnicity",
            Self::DegreeClass => "a.degree_class",
        }
    }

    /// The stored answer this characteristic is read from (a question key or `degree_class`).
    pub fn source(self) -> &'static str {
        match self {
            Self::Question(key) => key,
            Self::EthnicGroup | Self::WhiteBme => "ethnicity",
            Self::DegreeClass => "degree_class",
        }
    }

    /// Every stored answer a report can be built from, one characteristic each.
    pub fn sources() -> Vec<Characteristic> {
        let mut v: Vec<Characteristic> = QUESTIONS.iter().map(|q| Self::Question(q.key)).collect();
        v.push(Self::DegreeClass);
        v
    }

    /// Every category in report order, "prefer not to say" and "not answered" last and apart.
    pub fn categories(self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = match self {
            Self::Question(key) => {
                QUESTIONS.iter().find(|q| q.key == key).map(|q| q.options.to_vec()).unwrap_or_default()
            }
            Self::EthnicGroup => vec!["white", "mixed", "asian", "black", "other", PREFER_NOT_TO_SAY],
            Self::WhiteBme => vec!["white", "bme", PREFER_NOT_TO_SAY],
            Self::DegreeClass => DegreeClass::CODES.iter().map(|(c, _)| *c).collect(),
        };
        v.push(NOT_ANSWERED);
        v
    }

    /// The category of a raw stored value.
    pub fn category(self, raw: Option<&str>) -> &'static str {
        let Some(raw) = raw else { return NOT_ANSWERED };
        match self {
            Self::EthnicGroup | Self::WhiteBme if raw == PREFER_NOT_TO_SAY => PREFER_NOT_TO_SAY,
            Self::EthnicGroup => equality::ethnic_group(Some(raw)),
            Self::WhiteBme => equality::wres_group(Some(raw)),
            _ => self.categories().into_iter().find(|c| *c == raw).unwrap_or(NOT_ANSWERED),
        }
    }
}

/// The stages of the funnel, in pipeline order: reached = has a timeline event into it.
/// They form a chain in the state machine (every way into a stage passes through the ones
/// before it), so "reached `from` and `to`" is simply "reached `to`".
pub const STAGES: &[Status] = &[
    Status::Submitted,
    Status::TestsInvited,
    Status::TestsCompleted,
    Status::Scored,
    Status::Shortlisted,
    Status::AcInvited,
    Status::AcBooked,
    Status::Assessed,
    Status::Offered,
    Status::Accepted,
    Status::Placed,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_characteristic_parses_and_keeps_not_answered_apart() {
        for name in Characteristic::names() {
            let c = Characteristic::parse(name).unwrap();
            let cats = c.categories();
            assert_eq!(cats.last(), Some(&NOT_ANSWERED), "{name}");
            assert_eq!(c.category(None), NOT_ANSWERED);
        }
        assert!(Characteristic::parse("shoe_size").is_none());
    }

    #[test]
    fn ethnicity_groupings() {
        let g = Characteristic::EthnicGroup;
        assert_eq!(g.category(Some("asian_chinese")), "asian");
        assert_eq!(g.category(Some(PREFER_NOT_TO_SAY)), PREFER_NOT_TO_SAY);
        assert_eq!(Characteristic::WhiteBme.category(Some("white_roma")), "white");
        assert_eq!(Characteristic::WhiteBme.category(Some("mixed_other")), "bme");
    }
}
