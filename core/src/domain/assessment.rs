//! Assessor scores and the assessment-centre result (SPEC §3).
//!
//! Each assessor on a session's panel scores a candidate 1–4 on every competency
//! each exercise assesses, and gives an overall judgement: appointable or not yet.
//! An assessor may send their scores in several parts; a later score for the same
//! exercise and competency replaces their earlier one.
//!
//! The AC score — the documented combination:
//! 1. for each (exercise, competency) the session assesses: the mean of the panel's
//!    scores for it;
//! 2. for each exercise: the mean of its competencies' values;
//! 3. the AC score: the mean of the exercise values, so every exercise weighs the
//!    same however many competencies it assesses. It stays on the 1–4 scale.
//!
//! A scoresheet is complete when every (exercise, competency) pair has at least one
//! score and at least one assessor has given a judgement; only then is the candidate
//! `assessed`. The panel's judgement is appointable when more than half of the
//! judgements given are appointable (an even split is "not yet").
//!
//! Offers rank candidates (see `decisions`) by AC score, then online-test composite,
//! then the sift's lottery key.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::centres::{ExerciseKind, SessionDef};
use super::ids::ApplicationId;
use super::validation::{FieldErrors, ObjectReader, one_of};

pub const SCORE_RANGE: std::ops::RangeInclusive<i64> = 1..=4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    Appointable,
    NotYet,
}

impl Judgement {
    pub const CODES: &[(&str, Judgement)] = &[("appointable", Judgement::Appointable), ("not_yet", Judgement::NotYet)];
}

/// One assessor's submission for one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scoresheet {
    pub application_id: ApplicationId,
    /// (exercise, competency, score 1–4)
    pub scores: Vec<(ExerciseKind, String, u8)>,
    pub overall: Option<Judgement>,
}

impl Scoresheet {
    /// `{"application_id", "scores": [{"exercise", "competency", "score"}], "overall"}`; the
    /// exercises and competencies must be ones the session assesses.
    pub fn parse(value: &Value, session: &SessionDef) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let Some(mut r) = ObjectReader::new("", value, &mut e) else { return Err(e) };
        let id = r.text("application_id", 64, true, &mut e);
        let application_id = id.and_then(|s| match s.parse::<ApplicationId>() {
            Ok(id) => Some(id),
            Err(_) => {
                e.push("application_id", "must be an application id");
                None
            }
        });
        let mut scores = Vec::new();
        let mut seen = BTreeSet::new();
        for (path, item) in r.array("scores", 200, &mut e) {
            let Some(mut s) = ObjectReader::new(&path, item, &mut e) else { continue };
            let kinds: Vec<(&str, ExerciseKind)> =
                session.exercises.iter().map(|x| (x.kind.as_str(), x.kind)).collect();
            let exercise = s.required("exercise", &mut e).and_then(|v| one_of(&s.path("exercise"), v, &kinds, &mut e));
            let competency = s.text("competency", 100, true, &mut e);
            let score = s.integer("score", SCORE_RANGE, &mut e);
            s.finish_unknown(&mut e);
            let (Some(exercise), Some(competency), Some(score)) = (exercise, competency, score) else { continue };
            let assessed = session.exercises.iter().any(|x| x.kind == exercise && x.competencies.contains(&competency));
            if !assessed {
                e.push(format!("{path}.competency"), format!("{} does not assess {competency}", exercise.as_str()));
            } else if !seen.insert((exercise.as_str(), competency.clone())) {
                e.push(path, "this exercise and competency are scored twice");
            } else {
                scores.push((exercise, competency, score as u8));
            }
        }
        let overall = r.optional("overall").and_then(|v| one_of("overall", v, Judgement::CODES, &mut e));
        r.finish_unknown(&mut e);
        if scores.is_empty() && overall.is_none() && e.is_empty() {
            e.push("scores", "send at least one score or the overall judgement");
        }
        match application_id {
            Some(application_id) if e.is_empty() => Ok(Self { application_id, scores, overall }),
            _ => Err(e),
        }
    }
}

/// Everything recorded for one candidate, from every assessor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// (exercise, competency, assessor) → score
    pub scores: BTreeMap<(ExerciseKind, String, String), u8>,
    /// assessor → judgement
    pub judgements: BTreeMap<String, Judgement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcResult {
    /// The AC score (1–4) when every pair is scored.
    pub score: Option<f64>,
    /// The panel's judgement once any is given.
    pub appointable: Option<bool>,
    /// "exercise: competency" pairs nobody has scored yet.
    pub missing_scores: Vec<String>,
    pub missing_judgement: bool,
    pub complete: bool,
}

/// Combines the panel's scores as the module documentation says.
pub fn combine(session: &SessionDef, recorded: &Recorded) -> AcResult {
    let mut missing = Vec::new();
    let mut exercise_values = Vec::new();
    for x in &session.exercises {
        let mut comp_values = Vec::new();
        for c in &x.competencies {
            let given: Vec<f64> = recorded
                .scores
                .iter()
                .filter(|((k, comp, _), _)| *k == x.kind && comp == c)
                .map(|(_, s)| f64::from(*s))
                .collect();
            if given.is_empty() {
                missing.push(format!("{}: {c}", x.kind.as_str()));
            } else {
                comp_values.push(mean(&given));
            }
        }
        if comp_values.len() == x.competencies.len() {
            exercise_values.push(mean(&comp_values));
        }
    }
    let score = missing.is_empty().then(|| mean(&exercise_values));
    let yes = recorded.judgements.values().filter(|j| **j == Judgement::Appointable).count();
    let judged = recorded.judgements.len();
    let appointable = (judged > 0).then_some(2 * yes > judged);
    AcResult {
        score,
        appointable,
        missing_judgement: judged == 0,
        complete: missing.is_empty() && judged > 0,
        missing_scores: missing,
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::centres::Exercise;
    use proptest::prelude::*;
    use serde_json::json;

    fn session() -> SessionDef {
        SessionDef {
            id: "am".into(),
            start: jiff::civil::time(9, 0, 0, 0),
            end: jiff::civil::time(12, 0, 0, 0),
            capacity: 4,
            min_group: None,
            exercises: vec![
                Exercise {
                    kind: ExerciseKind::Interview,
                    competencies: vec!["motivation".into(), "communication".into()],
                },
                Exercise { kind: ExerciseKind::CaseStudy, competencies: vec!["analysis".into()] },
            ],
            assessors: vec![],
            provisions: vec![],
        }
    }

    fn rec(scores: &[(ExerciseKind, &str, &str, u8)], judgements: &[(&str, Judgement)]) -> Recorded {
        Recorded {
            scores: scores.iter().map(|(k, c, a, s)| ((*k, (*c).to_owned(), (*a).to_owned()), *s)).collect(),
            judgements: judgements.iter().map(|(a, j)| ((*a).to_owned(), *j)).collect(),
        }
    }

    #[test]
    fn the_ac_score_is_the_mean_of_exercise_means_of_panel_means() {
        use ExerciseKind::*;
        // interview: motivation (3 + 4) / 2 = 3.5, communication 2 → exercise 2.75;
        // case study: analysis 4 → 4. AC score (2.75 + 4) / 2 = 3.375.
        let r = rec(
            &[
                (Interview, "motivation", "a", 3),
                (Interview, "motivation", "b", 4),
                (Interview, "communication", "a", 2),
                (CaseStudy, "analysis", "b", 4),
            ],
            &[("a", Judgement::Appointable), ("b", Judgement::Appointable)],
        );
        let out = combine(&session(), &r);
        assert_eq!(out.score, Some(3.375));
        assert_eq!(out.appointable, Some(true));
        assert!(out.complete);
    }

    #[test]
    fn missing_pairs_and_judgements_are_listed_and_an_even_split_is_not_yet() {
        use ExerciseKind::*;
        let r = rec(&[(Interview, "motivation", "a", 3)], &[("a", Judgement::Appointable), ("b", Judgement::NotYet)]);
        let out = combine(&session(), &r);
        assert_eq!(out.score, None);
        assert_eq!(out.missing_scores, ["interview: communication", "case_study: analysis"]);
        assert_eq!(out.appointable, Some(false));
        assert!(!out.complete);
        let none = combine(&session(), &Recorded::default());
        assert!(none.missing_judgement && none.appointable.is_none());
    }

    #[test]
    fn a_scoresheet_is_checked_against_the_session_field_by_field() {
        let id = ApplicationId::new_v7().to_string();
        let ok = json!({"application_id": id, "scores": [
            {"exercise": "interview", "competency": "motivation", "score": 4}], "overall": "not_yet"});
        let s = Scoresheet::parse(&ok, &session()).unwrap();
        assert_eq!(s.scores, [(ExerciseKind::Interview, "motivation".to_owned(), 4)]);
        assert_eq!(s.overall, Some(Judgement::NotYet));

        let bad = json!({"application_id": "x", "scores": [
            {"exercise": "presentation", "competency": "motivation", "score": 4},
            {"exercise": "interview", "competency": "analysis", "score": 2},
            {"exercise": "interview", "competency": "motivation", "score": 5},
            {"exercise": "case_study", "competency": "analysis", "score": 1},
            {"exercise": "case_study", "competency": "analysis", "score": 2}], "overall": "maybe", "extra": 1});
        let e = Scoresheet::parse(&bad, &session()).unwrap_err();
        let fields: Vec<_> = e.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "application_id",
                "scores[0].exercise",
                "scores[1].competency",
                "scores[2].score",
                "scores[4]",
                "overall",
                "extra"
            ]
        );
        let empty = json!({"application_id": id});
        assert_eq!(Scoresheet::parse(&empty, &session()).unwrap_err().iter().next().unwrap().field, "scores");
    }

    proptest! {
        /// The AC score of a complete sheet stays within 1–4 and between the lowest and
        /// highest score given; raising any one score never lowers it.
        #[test]
        fn the_score_is_bounded_and_monotone(
            scores in proptest::collection::vec((0usize..3, 0usize..2, 1u8..=4), 3..12),
            bump in 0usize..12,
        ) {
            use ExerciseKind::*;
            let pairs = [(Interview, "motivation"), (Interview, "communication"), (CaseStudy, "analysis")];
            let assessors = ["a", "b"];
            let mut r = Recorded::default();
            for (i, (p, a, s)) in scores.iter().enumerate() {
                let (k, c) = pairs[if i < 3 { i } else { *p }];
                r.scores.insert((k, c.to_owned(), assessors[*a].to_owned()), *s);
            }
            r.judgements.insert("a".into(), Judgement::Appointable);
            let out = combine(&session(), &r);
            let score = out.score.unwrap();
            let lo = f64::from(*r.scores.values().min().unwrap());
            let hi = f64::from(*r.scores.values().max().unwrap());
            prop_assert!((1.0..=4.0).contains(&score) && lo - 1e-9 <= score && score <= hi + 1e-9);
            let key = r.scores.keys().nth(bump % r.scores.len()).unwrap().clone();
            let v = r.scores[&key];
            if v < 4 {
                r.scores.insert(key, v + 1);
                prop_assert!(combine(&session(), &r).score.unwrap() > score);
            }
        }
    }
}
