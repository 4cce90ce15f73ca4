//! Trainee and alumni surveys (SPEC §3, the GMTS experience and retention study):
//! Likert-style questions with ordered options, broken down by groups such as
//! specialism and cohort, reported as "n (p%)" per group and option with row
//! totals. Percentages are rounded half up from exact counts, each row's from
//! that row's total; disclosure control applies before anything is shown.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::disclosure::{Link, protect_linked_with};
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
    /// Pairs of dimensions to cross (the GMTS study's Table 3 is specialism × cohort): each
    /// question also gets a table of the first × the second, rows nested by the first. Fixed
    /// with the survey, so its tables are always protected together as one set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crossings: Vec<Vec<String>>,
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
        for (i, pair) in def.crossings.iter().enumerate() {
            let known = |d: &String| def.groups.iter().any(|g| &g.id == d);
            if pair.len() != 2 || pair[0] == pair[1] || !pair.iter().all(known) {
                e.push(format!("crossings[{i}]"), "must name two different groups of this survey");
            }
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
    /// In a crossed table: the group of the first dimension this row is nested in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
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
    tables_crossed(def, counts, &[])
}

/// The counts of one crossing (its index in `def.crossings`): (question, first group value,
/// second group value, answer, n).
pub type CrossCounts = Vec<(String, String, String, String, u64)>;

/// As `tables`, with each question's crossed tables after its one-way tables. A crossed
/// table's rows for one group of the first dimension add up to that group's row of the
/// one-way table, and for one group of the second to that one's: the audit knows these sums,
/// so a count hidden in one table cannot be worked out from the others.
pub fn tables_crossed(
    def: &SurveyDefinition,
    counts: &[(String, String, String, String, u64)],
    crossed: &[CrossCounts],
) -> Vec<QuestionTable> {
    let threshold = u64::from(def.disclosure_threshold);
    let dim = |id: &str| def.groups.iter().position(|d| d.id == id);
    let mut out = Vec::new();
    for q in &def.questions {
        let cols = q.options.len();
        let answer = |a: &str| q.options.iter().position(|o| o == a);
        let mut raw: Vec<Vec<Vec<u64>>> = def
            .groups
            .iter()
            .map(|d| {
                let mut table = vec![vec![0u64; cols]; d.options.len()];
                for (qid, dim, value, ans, n) in counts {
                    if qid == &q.id
                        && dim == &d.id
                        && let (Some(r), Some(c)) = (d.options.iter().position(|o| o == value), answer(ans))
                    {
                        table[r][c] += n;
                    }
                }
                table
            })
            .collect();
        let mut links: Vec<Link> = Vec::new();
        let mut crossings = Vec::new();
        for (i, pair) in def.crossings.iter().enumerate() {
            let (Some(da), Some(db)) = (pair.first().and_then(|a| dim(a)), pair.get(1).and_then(|b| dim(b))) else {
                continue;
            };
            let (a, b) = (&def.groups[da], &def.groups[db]);
            let nb = b.options.len();
            let mut table = vec![vec![0u64; cols]; a.options.len() * nb];
            for (qid, va, vb, ans, n) in crossed.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                if qid == &q.id
                    && let (Some(ra), Some(rb), Some(c)) =
                        (a.options.iter().position(|o| o == va), b.options.iter().position(|o| o == vb), answer(ans))
                {
                    table[ra * nb + rb][c] += n;
                }
            }
            let k = raw.len();
            for c in 0..=cols {
                for ra in 0..a.options.len() {
                    let mut l: Link = (0..nb).map(|rb| ((k, ra * nb + rb, c), 1.0)).collect();
                    l.push(((da, ra, c), -1.0));
                    links.push(l);
                }
                for rb in 0..nb {
                    let mut l: Link = (0..a.options.len()).map(|ra| ((k, ra * nb + rb, c), 1.0)).collect();
                    l.push(((db, rb, c), -1.0));
                    links.push(l);
                }
            }
            raw.push(table);
            crossings.push((a, b));
        }
        let protected = protect_linked_with(&raw, threshold, &links);
        let row = |p: &crate::domain::disclosure::Protected, r: usize, within: Option<String>, label: String| {
            let total = p.shown(r, cols);
            TableRow {
                within,
                group: label,
                cells: (0..cols)
                    .map(|c| {
                        let n = Shown::from_option(p.shown(r, c));
                        let percent = n.zip(Shown::from_option(total)).and_then(|(n, t)| percent_half_up(n, t));
                        CellView { n, percent }
                    })
                    .collect(),
                total: Shown::from_option(total),
            }
        };
        for (d, p) in def.groups.iter().zip(&protected) {
            out.push(QuestionTable {
                question_id: q.id.clone(),
                question: q.text.clone(),
                by: d.name.clone(),
                options: q.options.clone(),
                rows: d.options.iter().enumerate().map(|(r, o)| row(p, r, None, o.clone())).collect(),
                all: row(p, d.options.len(), None, "All respondents".to_owned()),
            });
        }
        for ((a, b), p) in crossings.iter().zip(&protected[def.groups.len()..]) {
            let rows = a
                .options
                .iter()
                .enumerate()
                .flat_map(|(ra, oa)| {
                    b.options
                        .iter()
                        .enumerate()
                        .map(move |(rb, ob)| (ra * b.options.len() + rb, oa.clone(), ob.clone()))
                })
                .map(|(r, oa, ob)| row(p, r, Some(oa), ob))
                .collect::<Vec<_>>();
            out.push(QuestionTable {
                question_id: q.id.clone(),
                question: q.text.clone(),
                by: format!("{} × {}", a.name, b.name),
                options: q.options.clone(),
                all: row(p, rows.len(), None, "All respondents".to_owned()),
                rows,
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

    fn crossed_def(threshold: u32) -> SurveyDefinition {
        SurveyDefinition::parse_json(json!({
            "title": "GMTS experience and retention",
            "disclosure_threshold": threshold,
            "questions": [{"id": "q1", "text": "I would recommend the scheme", "options": ["Agree", "Neither", "Disagree"]}],
            "groups": [
                {"id": "specialism", "name": "Specialism", "options": ["Finance", "HR", "General management"]},
                {"id": "cohort", "name": "Cohort", "options": ["Current", "Alumni"]}
            ],
            "crossings": [["specialism", "cohort"]]
        }))
        .unwrap()
    }

    const SPECIALISMS: [&str; 3] = ["Finance", "HR", "General management"];
    const COHORTS: [&str; 2] = ["Current", "Alumni"];
    const ANSWERS: [&str; 3] = ["Agree", "Neither", "Disagree"];

    /// The SQL's counts for respondents (specialism, cohort, answer), and the raw tables.
    #[allow(clippy::type_complexity)]
    fn survey_of(
        people: &[(usize, usize, usize)],
    ) -> (Vec<(String, String, String, String, u64)>, Vec<CrossCounts>, Vec<Vec<Vec<u64>>>) {
        let mut by_s = vec![vec![0u64; 3]; 3];
        let mut by_c = vec![vec![0u64; 3]; 2];
        let mut crossed = vec![vec![0u64; 3]; 6];
        for &(s, c, a) in people {
            by_s[s][a] += 1;
            by_c[c][a] += 1;
            crossed[s * 2 + c][a] += 1;
        }
        let mut counts = Vec::new();
        for (dim, names, table) in [("specialism", &SPECIALISMS[..], &by_s), ("cohort", &COHORTS[..], &by_c)] {
            for (g, row) in names.iter().zip(table) {
                for (a, n) in ANSWERS.iter().zip(row) {
                    counts.push(("q1".to_owned(), dim.to_owned(), (*g).to_owned(), (*a).to_owned(), *n));
                }
            }
        }
        let mut cross = Vec::new();
        for (s, sn) in SPECIALISMS.iter().enumerate() {
            for (c, cn) in COHORTS.iter().enumerate() {
                for (a, an) in ANSWERS.iter().enumerate() {
                    cross.push((
                        "q1".to_owned(),
                        (*sn).to_owned(),
                        (*cn).to_owned(),
                        (*an).to_owned(),
                        crossed[s * 2 + c][a],
                    ));
                }
            }
        }
        (counts, vec![cross], vec![by_s, by_c, crossed])
    }

    /// The sums a crossed table keeps with the one-way tables (stated here independently).
    fn crossing_sums() -> Vec<Link> {
        let mut links = Vec::new();
        for c in 0..=3 {
            for s in 0..3 {
                links.push(vec![((2, s * 2, c), 1.0), ((2, s * 2 + 1, c), 1.0), ((0, s, c), -1.0)]);
            }
            for k in 0..2 {
                links.push(vec![((2, k, c), 1.0), ((2, 2 + k, c), 1.0), ((2, 4 + k, c), 1.0), ((1, k, c), -1.0)]);
            }
        }
        links
    }

    #[test]
    fn a_crossed_table_nests_its_rows_by_the_first_grouping() {
        let people: Vec<(usize, usize, usize)> =
            (0..60).map(|i| (i % 3, (i / 3) % 2, if i % 5 == 0 { 2 } else { i % 2 })).collect();
        let (counts, crossed, raw) = survey_of(&people);
        let t = tables_crossed(&crossed_def(0), &counts, &crossed);
        assert_eq!(t.len(), 3, "by specialism, by cohort, and specialism × cohort");
        let x = &t[2];
        assert_eq!(x.by, "Specialism × Cohort");
        let labels: Vec<(Option<&str>, &str)> =
            x.rows.iter().map(|r| (r.within.as_deref(), r.group.as_str())).collect();
        assert_eq!(labels[0], (Some("Finance"), "Current"));
        assert_eq!(labels[1], (Some("Finance"), "Alumni"));
        assert_eq!(labels[5], (Some("General management"), "Alumni"));
        for (r, row) in x.rows.iter().enumerate() {
            let n: u64 = raw[2][r].iter().sum();
            assert_eq!(row.total, Shown::Value(n));
            assert_eq!(row.cells[0].n, Shown::Value(raw[2][r][0]));
        }
        assert_eq!(x.all.total, Shown::Value(60));
        assert!(matches!(t[0].all.cells[0].n, Shown::Value(_)));
        assert_eq!(x.all.cells[0].text(), t[0].all.cells[0].text(), "the same respondents in every table");
    }

    #[test]
    fn without_the_crossing_sums_a_crossed_table_would_leak() {
        // Protected as if the crossed table shared only its totals with the others, some set
        // of respondents gives a hidden count away through the one-way tables.
        let mut leaked = false;
        for seed in 0..400u64 {
            let people: Vec<(usize, usize, usize)> = (0..(seed % 40 + 5))
                .map(|i| {
                    let h = (i + 1)
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        .wrapping_add(seed.wrapping_mul(0xBF58_476D_1CE4_E5B9));
                    (((h >> 7) % 3) as usize, ((h >> 17) % 2) as usize, ((h >> 29) % 3) as usize)
                })
                .collect();
            let (_, _, raw) = survey_of(&people);
            let apart = crate::domain::disclosure::protect_linked(&raw, 5);
            if crate::domain::disclosure::determined_linked_with(&apart, &crossing_sums()).is_some() {
                leaked = true;
                break;
            }
        }
        assert!(leaked, "the crossing sums matter");
    }

    proptest::proptest! {
        /// Whatever the respondents, no count hidden in any table of the set (one-way by each
        /// grouping, and crossed) follows from what the others show.
        #[test]
        fn no_hidden_count_of_a_crossed_survey_can_be_worked_out(
            people in proptest::collection::vec((0..3usize, 0..2usize, 0..3usize), 0..50)
        ) {
            let (counts, crossed, raw) = survey_of(&people);
            let t = tables_crossed(&crossed_def(5), &counts, &crossed);
            let audit = published(&t, &raw);
            proptest::prop_assert_eq!(crate::domain::disclosure::determined_linked_with(&audit, &crossing_sums()), None);
            for p in &audit {
                for r in 0..p.rows {
                    for c in 0..p.cols {
                        if (1..5).contains(&p.grid[r][c]) {
                            proptest::prop_assert!(p.hidden[r][c].is_some(), "a small count is hidden");
                        }
                    }
                }
            }
        }
    }
}
