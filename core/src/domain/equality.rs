//! Equality monitoring (SPEC §3): the questions, their closed answer sets, and
//! the ethnicity mappings (ONS 2021 → NHS ethnic category code → five groups →
//! WRES White/BME). Answers are stored apart from the application, are never
//! shown to recruiters or assessors and never feed a score.
//!
//! "Not answered" (no value) and `prefer_not_to_say` are different answers and
//! are kept apart all the way to the reports.

use std::collections::BTreeMap;

use serde_json::Value;

use super::validation::{FieldErrors, ObjectReader};

pub const PREFER_NOT_TO_SAY: &str = "prefer_not_to_say";

pub struct Question {
    /// Field name in the API and column name in `equality_answers`.
    pub key: &'static str,
    /// Every allowed answer code, `prefer_not_to_say` last.
    pub options: &'static [&'static str],
}

/// ONS 2021 England ethnic groups, as answer codes, with their NHS ethnic category code.
/// Source: NHS Data Dictionary "Ethnic Category" (2001 codes A–S, Z) with the
/// 2021 additions (Gypsy or Irish Traveller, Roma → C; Arab → S) as NHS England maps them.
pub const ETHNICITIES: &[(&str, char)] = &[
    ("white_british", 'A'),
    ("white_irish", 'B'),
    ("white_gypsy_or_irish_traveller", 'C'),
    ("white_roma", 'C'),
    ("white_other", 'C'),
    ("mixed_white_and_black_caribbean", 'D'),
    ("mixed_white_and_black_african", 'E'),
    ("mixed_white_and_asian", 'F'),
    ("mixed_other", 'G'),
    ("asian_indian", 'H'),
    ("asian_pakistani", 'J'),
    ("asian_bangladeshi", 'K'),
    ("asian_chinese", 'R'),
    ("asian_other", 'L'),
    ("black_caribbean", 'M'),
    ("black_african", 'N'),
    ("black_other", 'P'),
    ("other_arab", 'S'),
    ("other_any", 'S'),
];

macro_rules! opts {
    ($($o:literal),* $(,)?) => { &[$($o,)* PREFER_NOT_TO_SAY] };
}

pub const QUESTIONS: &[Question] = &[
    Question { key: "sex", options: opts!["female", "male"] },
    Question { key: "gender_same_as_birth", options: opts!["yes", "no"] },
    Question {
        key: "age_band",
        options: opts!["16_24", "25_29", "30_34", "35_39", "40_44", "45_49", "50_54", "55_59", "60_64", "65_plus"],
    },
    Question {
        key: "ethnicity",
        options: opts![
            "white_british",
            "white_irish",
            "white_gypsy_or_irish_traveller",
            "white_roma",
            "white_other",
            "mixed_white_and_black_caribbean",
            "mixed_white_and_black_african",
            "mixed_white_and_asian",
            "mixed_other",
            "asian_indian",
            "asian_pakistani",
            "asian_bangladeshi",
            "asian_chinese",
            "asian_other",
            "black_caribbean",
            "black_african",
            "black_other",
            "other_arab",
            "other_any",
        ],
    },
    // Equality Act 2010 definition, as the question text says.
    Question { key: "disability", options: opts!["yes", "no"] },
    Question { key: "sexual_orientation", options: opts!["heterosexual", "gay_or_lesbian", "bisexual", "other"] },
    Question {
        key: "religion",
        options: opts!["no_religion", "buddhist", "christian", "hindu", "jewish", "muslim", "sikh", "other"],
    },
    // Occupation of the main household earner when the applicant was about 14
    // (the Social Mobility Commission's recommended question, grouped).
    Question {
        key: "socio_economic_background",
        options: opts![
            "professional_or_senior_managerial",
            "intermediate",
            "working_class",
            "long_term_unemployed",
            "other",
            "dont_know",
        ],
    },
    Question {
        key: "school_type",
        options: opts![
            "state_non_selective",
            "state_selective",
            "independent_with_bursary",
            "independent",
            "outside_uk",
            "dont_know",
        ],
    },
    Question { key: "free_school_meals", options: opts!["yes", "no", "not_applicable", "dont_know"] },
    Question { key: "first_generation_university", options: opts!["yes", "no", "dont_know"] },
];

/// An applicant's answers: question key → answer code. A question absent here was not answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EqualityAnswers(BTreeMap<&'static str, &'static str>);

impl EqualityAnswers {
    pub fn parse(path: &str, value: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let mut reader = ObjectReader::new(path, value, errors)?;
        let mut answers = BTreeMap::new();
        for q in QUESTIONS {
            if let Some(v) = reader.optional(q.key) {
                match v.as_str().and_then(|s| q.options.iter().find(|o| **o == s)) {
                    Some(code) => {
                        answers.insert(q.key, *code);
                    }
                    None => errors.push(reader.path(q.key), format!("must be one of: {}", q.options.join(", "))),
                }
            }
        }
        reader.finish_unknown(errors);
        Some(Self(answers))
    }

    pub fn get(&self, key: &str) -> Option<&'static str> {
        self.0.get(key).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.0.iter().map(|(k, v)| (*k, *v))
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut answers = BTreeMap::new();
        for (k, v) in pairs {
            if let Some(q) = QUESTIONS.iter().find(|q| q.key == k)
                && let Some(code) = q.options.iter().find(|o| **o == v)
            {
                answers.insert(q.key, *code);
            }
        }
        Self(answers)
    }
}

/// NHS ethnic category code (A–S; Z = not stated) for an ethnicity answer.
pub fn nhs_ethnic_code(ethnicity: Option<&str>) -> char {
    ethnicity.and_then(|e| ETHNICITIES.iter().find(|(c, _)| *c == e)).map(|(_, code)| *code).unwrap_or('Z')
}

/// The five ONS high-level groups.
pub fn ethnic_group(ethnicity: Option<&str>) -> &'static str {
    match nhs_ethnic_code(ethnicity) {
        'A' | 'B' | 'C' => "white",
        'D' | 'E' | 'F' | 'G' => "mixed",
        'H' | 'J' | 'K' | 'L' | 'R' => "asian",
        'M' | 'N' | 'P' => "black",
        'S' => "other",
        _ => "not_stated",
    }
}

/// WRES split: White = White British, White Irish, any other White background; BME = every
/// other stated ethnicity; not stated stays apart (it is in neither denominator).
pub fn wres_group(ethnicity: Option<&str>) -> &'static str {
    match ethnic_group(ethnicity) {
        "white" => "white",
        "not_stated" => "not_stated",
        _ => "bme",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_question_offers_prefer_not_to_say() {
        for q in QUESTIONS {
            assert_eq!(q.options.last(), Some(&PREFER_NOT_TO_SAY), "{}", q.key);
        }
    }

    #[test]
    fn every_ethnicity_option_has_an_nhs_code() {
        let q = QUESTIONS.iter().find(|q| q.key == "ethnicity").unwrap();
        for o in q.options.iter().filter(|o| **o != PREFER_NOT_TO_SAY) {
            assert_ne!(nhs_ethnic_code(Some(o)), 'Z', "{o}");
        }
        assert_eq!(nhs_ethnic_code(Some(PREFER_NOT_TO_SAY)), 'Z');
        assert_eq!(nhs_ethnic_code(None), 'Z');
    }

    #[test]
    fn wres_white_is_british_irish_and_other_white_only() {
        for (code, _) in ETHNICITIES {
            let white = code.starts_with("white_");
            assert_eq!(wres_group(Some(code)) == "white", white, "{code}");
        }
        assert_eq!(wres_group(Some("asian_chinese")), "bme");
        assert_eq!(wres_group(Some(PREFER_NOT_TO_SAY)), "not_stated");
    }

    #[test]
    fn prefer_not_to_say_and_not_answered_differ() {
        let mut errors = FieldErrors::new();
        let a = EqualityAnswers::parse("equality", &json!({"sex": "prefer_not_to_say"}), &mut errors).unwrap();
        assert!(errors.is_empty());
        assert_eq!(a.get("sex"), Some(PREFER_NOT_TO_SAY));
        assert_eq!(a.get("religion"), None);
    }

    #[test]
    fn unknown_codes_and_questions_are_errors() {
        let mut errors = FieldErrors::new();
        EqualityAnswers::parse("equality", &json!({"sex": "x", "shoe_size": "9"}), &mut errors);
        let fields: Vec<_> = errors.iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["equality.sex", "equality.shoe_size"]);
    }
}
