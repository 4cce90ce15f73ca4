//! Trainee and alumni surveys (SPEC §3, the GMTS experience and retention study):
//! Likert-style questions with ordered options, broken down by groups such as
//! specialism and cohort, reported as "n (p%)" per group and option with row
//! totals. Percentages are rounded half up from exact counts, each row's from
//! that row's total; disclosure control applies before anything is shown.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::disclosure::protect_linked;
use super::reports::{Disclosure, Shown, UNDEFINED};
use super::stats::percent_half_up;
use super::validation::{FieldErrors, ObjectReader};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyDefinition {
    pub title: String,
    pub questions: Vec<Question>,
    /// Dimensions to break down by, e.g. specialism, cohort.
    pub groups: Vec<Dimension>,
    /// Counts from 1 to this − 1 are hidden; 0 turns disclosure control off.
    #[serde(default = "five")]
    pub disclosure_threshold: u32,
}

fn five() -> u32 {
    5
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub text: String,
    /// In order, e.g. strongly agree … strongly disagree.
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub id: String,
    pub name: String,
    pub options: Vec<String>,
}

/// One respondent: their group in each dimension, and their answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResponse {
    pub groups: BTreeMap<String, String>,
    pub answers: BTreeMap<String, String>,
}

impl SurveyDefinition {
    pub fn parse_json(value: Value) -> Result<Self, FieldErrors> {
        let def: Self = serde_json::from_value(value).map_err(|e| {
            let mut f = FieldErrors::new();
            f.push("(body)", e.to_string());
            f
        })?;
        let mut e = FieldErrors::new();
        if def.title.trim().is_empty() {
            e.push("title", "must not be empty");
        }
        if def.questions.is_empty() {
            e.push("questions", "a survey needs at least one question");
        }
        let mut ids = HashSet::new();
        for (i, q) in def.questions.iter().enumerate() {
            if q.id.trim().is_empty() || !ids.insert(q.id.as_str()) {
                e.push(format!("questions[{i}].id"), "must be present and unique");
            }
            check_options(&format!("questions[{i}].options"), &q.options, &mut e);
        }
        let mut dims = HashSet::new();
        for (i, d) in def.groups.iter().enumerate() {
            if d.id.trim().is_empty() || !dims.insert(d.id.as_str()) {
                e.push(format!("groups[{i}].id"), "must be present and unique");
            }
            check_options(&format!("groups[{i}].options"), &d.options, &mut e);
        }
        e.finish(|| def)
    }

    /// `{"groups": {"specialism": "Finance", …}, "answers": {"q1": "Agree", …}}`. Every group
    /// dimension is required; questions may be left unanswered.
    pub fn parse_response(&self, path: &str, value: &Value, e: &mut FieldErrors) -> Option<SurveyResponse> {
        let mut r = ObjectReader::new(path, value, e)?;
        let groups_v = r.required("groups", e);
        let answers_v = r.optional("answers");
        r.finish_unknown(e);
        let mut groups = BTreeMap::new();
        if let Some(g) = groups_v {
            for d in &self.groups {
                let p = format!("{}groups.{}", prefix(path), d.id);
                match g.get(&d.id).and_then(Value::as_str) {
                    Some(v) if d.options.iter().any(|o| o == v) => {
                        groups.insert(d.id.clone(), v.to_owned());
                    }
                    _ => e.push(p, format!("must be one of: {}", d.options.join(", "))),
                }
            }
            if let Some(obj) = g.as_object() {
                for k in obj.keys().filter(|k| !self.groups.iter().any(|d| &d.id == *k)) {
                    e.push(format!("{}groups.{k}", prefix(path)), "is not a group of this survey");
                }
            }
        }
        let mut answers = BTreeMap::new();
        if let Some(a) = answers_v {
            let Some(obj) = a.as_object() else {
                e.push(format!("{}answers", prefix(path)), "must be an object of question id → option");
                return None;
            };
            for (k, v) in obj {
                let p = format!("{}answers.{k}", prefix(path));
                match self.questions.iter().find(|q| &q.id == k) {
                    None => e.push(p, "is not a question of this survey"),
                    Some(q) => match v.as_str().filter(|s| q.options.iter().any(|o| o == s)) {
                        Some(s) => {
                            answers.insert(k.clone(), s.to_owned());
                        }
                        None => e.push(p, format!("must be one of: {}", q.options.join(", "))),
                    },
                }
            }
        }
        (groups.len() == self.groups.len()).then_some(SurveyResponse { groups, answers })
    }
}

fn prefix(path: &str) -> String {
    if path.is_empty() { String::new() } else { format!("{path}.") }
}

fn check_options(path: &str, options: &[String], e: &mut FieldErrors) {
    let unique: HashSet<&String> = options.iter().collect();
    if options.len() < 2 || unique.len() != options.len() || options.iter().any(|o| o.trim().is_empty()) {
        e.push(path, "needs at least two different, non-empty options");
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CellView {
    pub n: Shown<u64>,
    /// Of the row total, rounded half up; undefined (`null`) when the row total is 0.
    pub percent: Shown<u64>,
}

impl CellView {
    /// "n (p%)", as the study's tables print it.
    pub fn text(&self) -> String {
        match (&self.n, &self.percent) {
            (Shown::Value(n), Shown::Value(p)) => format!("{n} ({p}%)"),
            (Shown::Value(n), Shown::Undefined) => format!("{n} ({UNDEFINED})"),
            (Shown::Value(n), Shown::Hidden(_)) => n.to_string(),
            (n, _) => n.text(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    pub group: String,
    pub cells: Vec<CellView>,
    pub total: Shown<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionTable {
    pub question_id: String,
    pub question: String,
    pub by: String,
    pub options: Vec<String>,
    pub rows: Vec<TableRow>,
    /// Every respondent who answered, across groups.
    pub all: TableRow,
}

/// `counts`: (question, dimension, group value, answer, n) as the SQL gives them.
///
/// One table per question and dimension. A question's tables break the same answers down by
/// different groupings, so their "All respondents" rows (the option totals) and grand totals
/// are the same numbers: a total shown in one table would give away what another hides. They
/// are protected together (`disclosure::protect_linked`). Tables of different questions share
/// no total (each counts who answered that question), so each question is protected apart.
pub fn tables(def: &SurveyDefinition, counts: &[(String, String, String, String, u64)]) -> Vec<QuestionTable> {
    let threshold = u64::from(def.disclosure_threshold);
    let mut out = Vec::new();
    for q in &def.questions {
        let raw: Vec<Vec<Vec<u64>>> = def
            .groups
            .iter()
            .map(|d| {
                let mut table = vec![vec![0u64; q.options.len()]; d.options.len()];
                for (qid, dim, value, answer, n) in counts {
                    if qid == &q.id
                        && dim == &d.id
                        && let (Some(r), Some(c)) =
                            (d.options.iter().position(|o| o == value), q.options.iter().position(|o| o == answer))
                    {
                        table[r][c] += n;
                    }
                }
                table
            })
            .collect();
        for (d, p) in def.groups.iter().zip(protect_linked(&raw, threshold)) {
            let row = |r: usize, label: String| {
                let total = p.shown(r, q.options.len());
                TableRow {
                    group: label,
                    cells: (0..q.options.len())
                        .map(|c| {
                            let n = Shown::from_option(p.shown(r, c));
                            let percent = n.zip(Shown::from_option(total)).and_then(|(n, t)| percent_half_up(n, t));
                            CellView { n, percent }
                        })
                        .collect(),
                    total: Shown::from_option(total),
                }
            };
            out.push(QuestionTable {
                question_id: q.id.clone(),
                question: q.text.clone(),
                by: d.name.clone(),
                options: q.options.clone(),
                rows: d.options.iter().enumerate().map(|(r, o)| row(r, o.clone())).collect(),
                all: row(d.options.len(), "All respondents".to_owned()),
            });
        }
    }
    out
}

pub fn disclosure(def: &SurveyDefinition) -> Disclosure {
    Disclosure::new(u64::from(def.disclosure_threshold))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::disclosure::{Protected, Why, determined_linked, protect};
    use serde_json::json;

    fn def(threshold: u32) -> SurveyDefinition {
        SurveyDefinition::parse_json(json!({
            "title": "Trainee experience",
            "disclosure_threshold": threshold,
            "questions": [{"id": "q1", "text": "The scheme met my expectations", "options": ["Agree", "Neutral", "Disagree"]}],
            "groups": [{"id": "cohort", "name": "Cohort", "options": ["Current trainee", "Alumni under 2 years"]}]
        }))
        .unwrap()
    }

    fn c(value: &str, answer: &str, n: u64) -> (String, String, String, String, u64) {
        ("q1".into(), "cohort".into(), value.into(), answer.into(), n)
    }

    #[test]
    fn n_and_percent_of_the_row_rounded_half_up() {
        // Current trainees: 8 agree, 5 neutral, 3 disagree (16): 50%, 31.25% → 31%, 18.75% → 19%.
        let t = tables(
            &def(0),
            &[
                c("Current trainee", "Agree", 8),
                c("Current trainee", "Neutral", 5),
                c("Current trainee", "Disagree", 3),
            ],
        );
        let row = &t[0].rows[0];
        let texts: Vec<String> = row.cells.iter().map(CellView::text).collect();
        assert_eq!(texts, ["8 (50%)", "5 (31%)", "3 (19%)"]);
        assert!(matches!(row.total, Shown::Value(16)));
        assert_eq!(t[0].all.cells[0].text(), "8 (50%)");
    }

    #[test]
    fn a_group_with_no_respondents_has_undefined_not_suppressed_percentages() {
        let t = tables(&def(5), &[c("Current trainee", "Agree", 12), c("Current trainee", "Neutral", 9)]);
        let alumni = &t[0].rows[1];
        assert!(matches!(alumni.total, Shown::Value(0)));
        for cell in &alumni.cells {
            assert_eq!(serde_json::to_value(cell).unwrap(), json!({"n": 0, "percent": null}));
            assert_eq!(cell.text(), "0 (–)");
        }
    }

    #[test]
    fn small_cells_hide_their_percentages_too() {
        let t = tables(
            &def(5),
            &[
                c("Current trainee", "Agree", 12),
                c("Current trainee", "Neutral", 2),
                c("Current trainee", "Disagree", 9),
            ],
        );
        let row = &t[0].rows[0];
        assert_eq!(row.cells[1].text(), "[c]");
        assert!(row.cells.iter().filter(|c| c.text() == "[c]").count() >= 2, "a lone [c] would follow from the total");
    }

    /// What one survey question by specialism and by cohort publishes, as tables of what is
    /// hidden, for `disclosure::determined_linked` to audit.
    fn published(tables: &[QuestionTable], counts: &[Vec<Vec<u64>>]) -> Vec<Protected> {
        tables
            .iter()
            .zip(counts)
            .map(|(t, c)| {
                let mut p = protect(c, 0);
                p.threshold = 5;
                for (r, row) in t.rows.iter().chain(std::iter::once(&t.all)).enumerate() {
                    for (i, n) in row.cells.iter().map(|x| &x.n).chain(std::iter::once(&row.total)).enumerate() {
                        p.hidden[r][i] = matches!(n, Shown::Hidden(_)).then_some(Why::Secondary);
                    }
                }
                p
            })
            .collect()
    }

    #[test]
    fn a_hidden_cell_cannot_be_worked_out_from_another_groupings_totals() {
        let d = SurveyDefinition::parse_json(json!({
            "title": "Trainee experience",
            "questions": [{"id": "q1", "text": "The scheme met my expectations", "options": ["Agree", "Neither", "Disagree"]}],
            "groups": [
                {"id": "specialism", "name": "Specialism", "options": ["Finance", "Human resources"]},
                {"id": "cohort", "name": "Cohort", "options": ["Current trainee", "Alumni"]}
            ]
        }))
        .unwrap();
        // 36 respondents. By specialism: Finance 7, 11, 0; HR 10, 4, 4. By cohort: current 4, 6, 0;
        // alumni 13, 9, 4. Protected apart, the specialism table showed "All: Agree 17" and the
        // cohort table "All: Neither 15", both with 36 in all: Disagree = 36 − 17 − 15 = 4, and
        // Finance's shown 0 then gives away HR's 4 who disagree (and the cohort table the alumni's).
        let by_specialism = vec![vec![7, 11, 0], vec![10, 4, 4]];
        let by_cohort = vec![vec![4, 6, 0], vec![13, 9, 4]];
        let mut counts = Vec::new();
        for (dim, groups, table) in [
            ("specialism", ["Finance", "Human resources"], &by_specialism),
            ("cohort", ["Current trainee", "Alumni"], &by_cohort),
        ] {
            for (g, row) in groups.iter().zip(table) {
                for (a, n) in ["Agree", "Neither", "Disagree"].iter().zip(row) {
                    counts.push(("q1".to_owned(), dim.to_owned(), (*g).to_owned(), (*a).to_owned(), *n));
                }
            }
        }
        let t = tables(&d, &counts);
        assert_eq!(t[0].rows[1].cells[2].text(), "[c]", "HR: 4 disagree");
        assert_eq!(t[1].rows[1].cells[2].text(), "[c]", "alumni: 4 disagree");
        let audit = published(&t, &[by_specialism.clone(), by_cohort.clone()]);
        assert_eq!(determined_linked(&audit), None, "{:?}", audit.iter().map(|p| &p.hidden).collect::<Vec<_>>());
        // Protected apart, the same figures leak.
        let apart = [protect(&by_specialism, 5), protect(&by_cohort, 5)];
        assert!(determined_linked(&apart).is_some());
    }

    #[test]
    fn responses_are_checked_against_the_survey() {
        let d = def(5);
        let mut e = FieldErrors::new();
        let ok =
            d.parse_response("", &json!({"groups": {"cohort": "Current trainee"}, "answers": {"q1": "Agree"}}), &mut e);
        assert!(ok.is_some() && e.is_empty());
        let mut e = FieldErrors::new();
        d.parse_response(
            "",
            &json!({"groups": {"cohort": "Martians"}, "answers": {"q1": "Maybe", "q9": "Agree"}}),
            &mut e,
        );
        let fields: Vec<_> = e.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["groups.cohort", "answers.q1", "answers.q9"]);
    }
}
