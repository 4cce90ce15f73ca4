//! The words pages show for the codes the API takes: answer options, field names, statuses.
//! Codes and their rules live in the core; this is only how they read.

use fasttrack_core::Status;

/// A field of the API's apply body as a person reads it, for error messages.
pub fn field(path: &str) -> String {
    let (root, index) = match path.split_once('[') {
        Some((r, rest)) => (r, rest.trim_end_matches(']').parse::<usize>().ok()),
        None => (path, None),
    };
    let n = index.map(|i| i + 1).unwrap_or(0);
    match root {
        "name" => "Full name".into(),
        "email" => "Email address".into(),
        "phone" => "Phone number".into(),
        "university" => "University".into(),
        "degree_subject" => "Degree subject".into(),
        "degree_class" => "Degree class".into(),
        "degree_status" => "Whether your degree is awarded".into(),
        "graduation_year" => "Year you graduate".into(),
        "right_to_work_uk" => "Whether you have the right to work in the UK".into(),
        "stream_preferences" if index.is_some() => format!("Choice {n}"),
        "stream_preferences" => "Your stream choices".into(),
        "regions" if index.is_some() => format!("Region {n}"),
        "regions" => "Regions you can work in".into(),
        "unavailable_dates" if index.is_some() => format!("Date you cannot attend ({n})"),
        "unavailable_dates" => "Dates you cannot attend".into(),
        "preferred_dates" if index.is_some() => format!("Date you would prefer ({n})"),
        "preferred_dates" => "Dates you would prefer".into(),
        "preferred_venues" if index.is_some() => format!("Venue choice {n}"),
        "preferred_venues" => "Venues you would prefer".into(),
        "adjustments" => "Adjustments".into(),
        "adjustments_detail" => "More about your adjustments".into(),
        "disability_confident" => "Disability Confident".into(),
        "current_employer" => "Current employer".into(),
        r => match r.strip_prefix("equality.").and_then(question) {
            Some(q) => q.title.into(),
            None => r.replace('_', " "),
        },
    }
}

/// A validation message for a person: "Full name is required", "Choice 2 is ranked twice".
pub fn message(path: &str, message: &str) -> String {
    if message.starts_with("is ")
        || message.starts_with("must ")
        || message.starts_with("has ")
        || message.starts_with("names ")
    {
        format!("{} {message}", field(path))
    } else {
        let mut m = message.to_owned();
        if let Some(first) = m.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        m
    }
}

pub const DEGREE_CLASSES: &[(&str, &str)] = &[
    ("first", "First"),
    ("2:1", "Upper second (2:1)"),
    ("2:2", "Lower second (2:2)"),
    ("third", "Third"),
    ("pass", "Pass"),
    ("masters", "Master's degree"),
    ("doctorate", "Doctorate"),
];

pub const ADJUSTMENTS: &[(&str, &str)] = &[
    ("step_free_access", "Step-free access"),
    ("quiet_room", "A quiet room"),
    ("extra_time", "Extra time"),
    ("screen_reader", "A screen reader"),
    ("sign_language_interpreter", "A sign language interpreter"),
    ("other", "Something else (tell us below)"),
];

pub struct QuestionText {
    pub key: &'static str,
    pub title: &'static str,
    pub hint: &'static str,
    pub options: &'static [(&'static str, &'static str)],
}

const PNTS: (&str, &str) = ("prefer_not_to_say", "Prefer not to say");

pub const QUESTIONS: &[QuestionText] = &[
    QuestionText {
        key: "sex",
        title: "What is your sex?",
        hint: "",
        options: &[("female", "Female"), ("male", "Male"), PNTS],
    },
    QuestionText {
        key: "gender_same_as_birth",
        title: "Is the gender you identify with the same as your sex registered at birth?",
        hint: "",
        options: &[("yes", "Yes"), ("no", "No"), PNTS],
    },
    QuestionText {
        key: "age_band",
        title: "How old are you?",
        hint: "",
        options: &[
            ("16_24", "16 to 24"),
            ("25_29", "25 to 29"),
            ("30_34", "30 to 34"),
            ("35_39", "35 to 39"),
            ("40_44", "40 to 44"),
            ("45_49", "45 to 49"),
            ("50_54", "50 to 54"),
            ("55_59", "55 to 59"),
            ("60_64", "60 to 64"),
            ("65_plus", "65 or over"),
            PNTS,
        ],
    },
    QuestionText {
        key: "ethnicity",
        title: "What is your ethnic group?",
        hint: "",
        options: &[
            ("white_british", "White: English, Welsh, Scottish, Northern Irish or British"),
            ("white_irish", "White: Irish"),
            ("white_gypsy_or_irish_traveller", "White: Gypsy or Irish Traveller"),
            ("white_roma", "White: Roma"),
            ("white_other", "White: any other White background"),
            ("mixed_white_and_black_caribbean", "Mixed: White and Black Caribbean"),
            ("mixed_white_and_black_african", "Mixed: White and Black African"),
            ("mixed_white_and_asian", "Mixed: White and Asian"),
            ("mixed_other", "Mixed: any other mixed or multiple ethnic background"),
            ("asian_indian", "Asian or Asian British: Indian"),
            ("asian_pakistani", "Asian or Asian British: Pakistani"),
            ("asian_bangladeshi", "Asian or Asian British: Bangladeshi"),
            ("asian_chinese", "Asian or Asian British: Chinese"),
            ("asian_other", "Asian or Asian British: any other Asian background"),
            ("black_caribbean", "Black or Black British: Caribbean"),
            ("black_african", "Black or Black British: African"),
            ("black_other", "Black or Black British: any other Black, Black British or Caribbean background"),
            ("other_arab", "Other ethnic group: Arab"),
            ("other_any", "Other ethnic group: any other ethnic group"),
            PNTS,
        ],
    },
    QuestionText {
        key: "disability",
        title: "Do you have a disability?",
        hint: "The Equality Act 2010 says you are disabled if you have a physical or mental condition that has a substantial and long-term effect on your ability to do normal daily activities.",
        options: &[("yes", "Yes"), ("no", "No"), PNTS],
    },
    QuestionText {
        key: "sexual_orientation",
        title: "What is your sexual orientation?",
        hint: "",
        options: &[
            ("heterosexual", "Straight or heterosexual"),
            ("gay_or_lesbian", "Gay or lesbian"),
            ("bisexual", "Bisexual"),
            ("other", "Another sexual orientation"),
            PNTS,
        ],
    },
    QuestionText {
        key: "religion",
        title: "What is your religion or belief?",
        hint: "",
        options: &[
            ("no_religion", "No religion"),
            ("buddhist", "Buddhist"),
            ("christian", "Christian"),
            ("hindu", "Hindu"),
            ("jewish", "Jewish"),
            ("muslim", "Muslim"),
            ("sikh", "Sikh"),
            ("other", "Another religion or belief"),
            PNTS,
        ],
    },
    QuestionText {
        key: "socio_economic_background",
        title: "When you were about 14, what kind of work did the main earner in your household do?",
        hint: "",
        options: &[
            (
                "professional_or_senior_managerial",
                "Professional or senior management, such as a doctor, teacher or manager",
            ),
            ("intermediate", "Middle or junior management, office work, or self-employed"),
            ("working_class", "Technical, craft, routine or manual work, such as a driver, cleaner or builder"),
            ("long_term_unemployed", "They were not working, or were long-term unemployed"),
            ("other", "Something else"),
            ("dont_know", "I do not know"),
            PNTS,
        ],
    },
    QuestionText {
        key: "school_type",
        title: "What type of school did you mainly attend between the ages of 11 and 16?",
        hint: "",
        options: &[
            ("state_non_selective", "A state school that did not select by ability"),
            ("state_selective", "A state school that selected by ability, such as a grammar school"),
            (
                "independent_with_bursary",
                "An independent or fee-paying school, with a bursary covering most of the fees",
            ),
            ("independent", "An independent or fee-paying school"),
            ("outside_uk", "A school outside the UK"),
            ("dont_know", "I do not know"),
            PNTS,
        ],
    },
    QuestionText {
        key: "free_school_meals",
        title: "Did you get free school meals at any point during your school years?",
        hint: "",
        options: &[
            ("yes", "Yes"),
            ("no", "No"),
            ("not_applicable", "Not applicable: I went to school outside the UK"),
            ("dont_know", "I do not know"),
            PNTS,
        ],
    },
    QuestionText {
        key: "first_generation_university",
        title: "Are you the first person in your family to go to university?",
        hint: "",
        options: &[("yes", "Yes"), ("no", "No"), ("dont_know", "I do not know"), PNTS],
    },
];

pub fn question(key: &str) -> Option<&'static QuestionText> {
    QUESTIONS.iter().find(|q| q.key == key)
}

/// A status as the applicant reads it: the words of its NHS tag and its colour.
pub fn status(s: Status) -> (&'static str, &'static str) {
    use Status::*;
    match s {
        Submitted => ("Received", "blue"),
        TestsInvited => ("Tests to take", "blue"),
        TestsCompleted | Scored => ("Tests done", "blue"),
        Ineligible => ("Not eligible", "grey"),
        Shortlisted => ("Shortlisted", "green"),
        Reserve => ("Reserve list", "yellow"),
        Rejected => ("Not successful", "grey"),
        AcInvited => ("Invited to an assessment centre", "blue"),
        AcBooked => ("Assessment centre booked", "green"),
        NoShow => ("Did not attend", "grey"),
        Assessed => ("Assessed", "blue"),
        Offered => ("Offer made", "green"),
        Accepted => ("Offer accepted", "green"),
        Declined => ("Offer declined", "grey"),
        Placed => ("Placed", "green"),
        Withdrawn => ("Withdrawn", "grey"),
    }
}

/// A characteristic the HR reports break figures down by, in words.
pub fn characteristic(name: &str) -> String {
    match name {
        "ethnicity" => "Ethnicity (ONS 2021 categories)".into(),
        "ethnic_group" => "Ethnic group (five groups)".into(),
        "white_bme" => "White and BME".into(),
        "degree_class" => "Degree class".into(),
        "sex" => "Sex".into(),
        "gender_same_as_birth" => "Gender identity same as sex registered at birth".into(),
        "age_band" => "Age".into(),
        "disability" => "Disability".into(),
        "sexual_orientation" => "Sexual orientation".into(),
        "religion" => "Religion or belief".into(),
        "socio_economic_background" => "Socio-economic background".into(),
        "school_type" => "Type of school".into(),
        "free_school_meals" => "Free school meals".into(),
        "first_generation_university" => "First in family to go to university".into(),
        other => {
            let mut t = other.replace('_', " ");
            if let Some(f) = t.get(..1) {
                t = f.to_uppercase() + &t[1..];
            }
            t
        }
    }
}

/// A category of a characteristic (as the core names it) in words.
pub fn category(by: &str, code: &str) -> String {
    let fixed = match code {
        "white" => Some("White"),
        "bme" => Some("Black, Asian and minority ethnic (BME)"),
        "mixed" => Some("Mixed or multiple ethnic groups"),
        "asian" => Some("Asian or Asian British"),
        "black" => Some("Black, Black British, Caribbean or African"),
        "other" if by == "ethnic_group" => Some("Other ethnic group"),
        "prefer_not_to_say" => Some("Prefer not to say"),
        "not_answered" => Some("Not answered"),
        _ => None,
    };
    if let Some(f) = fixed {
        return f.to_owned();
    }
    if by == "degree_class"
        && let Some((_, t)) = DEGREE_CLASSES.iter().find(|(c, _)| *c == code)
    {
        return (*t).to_owned();
    }
    question(by)
        .and_then(|q| q.options.iter().find(|(c, _)| *c == code))
        .map_or_else(|| code.replace('_', " "), |(_, t)| (*t).to_owned())
}

/// A stage as staff read it (the pipeline's own names, in words).
pub fn stage(s: Status) -> &'static str {
    use Status::*;
    match s {
        Submitted => "Submitted",
        TestsInvited => "Tests invited",
        TestsCompleted => "Tests completed",
        Scored => "Scored",
        Ineligible => "Ineligible",
        Shortlisted => "Shortlisted",
        Reserve => "Reserve",
        Rejected => "Rejected",
        AcInvited => "AC invited",
        AcBooked => "AC booked",
        NoShow => "Did not attend",
        Assessed => "Assessed",
        Offered => "Offered",
        Accepted => "Accepted",
        Declined => "Declined",
        Placed => "Placed",
        Withdrawn => "Withdrawn",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_equality_question_of_the_core_has_words_for_every_option() {
        for q in fasttrack_core::equality::QUESTIONS {
            let t = question(q.key).unwrap_or_else(|| panic!("{} has no words", q.key));
            let codes: Vec<&str> = t.options.iter().map(|(c, _)| *c).collect();
            assert_eq!(codes, q.options, "{}", q.key);
        }
        assert_eq!(QUESTIONS.len(), fasttrack_core::equality::QUESTIONS.len());
    }

    #[test]
    fn every_adjustment_and_degree_class_of_the_core_has_words() {
        let adj: Vec<&str> = ADJUSTMENTS.iter().map(|(c, _)| *c).collect();
        assert_eq!(adj, fasttrack_core::application::ADJUSTMENTS);
        let classes: Vec<&str> = DEGREE_CLASSES.iter().map(|(c, _)| *c).collect();
        let core: Vec<&str> = fasttrack_core::application::DegreeClass::CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(classes, core);
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(message("name", "is required"), "Full name is required");
        assert_eq!(message("stream_preferences[1]", "is ranked twice"), "Choice 2 is ranked twice");
        assert_eq!(message("stream_preferences", "rank at least one stream"), "Rank at least one stream");
        assert_eq!(message("equality.sex", "must be one of: female"), "What is your sex? must be one of: female");
    }
}
