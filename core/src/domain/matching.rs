//! Matching a talent pool to vacancies (SPEC §8): as many posts filled as possible, then the
//! best total of candidate preference (role family rank) and assessment-centre merit, never a
//! candidate outside their role families or regions. Exact and deterministic, because it is
//! the assessment-centre allocation solved by the same min-cost flow (`allocation::allocate`):
//! a vacancy is a session with its free posts as seats, a candidate cannot sit a vacancy
//! outside their families or regions (the solver's exclusions), and their points for a
//! vacancy are their preference for its family plus their merit. Merit counts once per
//! matched candidate, so when posts are short the solver prefers the stronger candidates;
//! among equals it prefers a candidate's higher-ranked family.

use std::collections::BTreeMap;

use serde::Serialize;

use super::allocation::{self, Candidate, Session};

/// A candidate in the pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolMember {
    pub id: String,
    /// Role families, best first.
    pub families: Vec<String>,
    pub regions: Vec<String>,
    /// The AC score (1–4).
    pub ac_score: f64,
}

/// A vacancy with posts still free.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPost {
    pub vacancy_id: String,
    pub role_family: String,
    pub region: String,
    pub free: u32,
}

/// Points for a role family ranked `rank` (0 = first choice) of `of` ranked.
pub fn family_points(rank: usize) -> u32 {
    // Far enough apart that a better-ranked family outweighs a merit difference of up to 0.4.
    match rank {
        0 => 30,
        1 => 20,
        2 => 12,
        3 => 6,
        4 => 3,
        _ => 1,
    }
}

/// Merit points: the AC score in tenths (1.0–4.0 → 10–40).
pub fn merit_points(ac_score: f64) -> u32 {
    (ac_score.clamp(0.0, 4.0) * 10.0).round() as u32
}

/// Why a candidate got their post, or none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Why {
    Matched {
        vacancy_id: String,
        /// The family's rank in the candidate's list (1 = first choice).
        family_rank: usize,
        family_points: u32,
        merit_points: u32,
    },
    /// No open post is in any of the candidate's families and regions.
    NoPostInTheirFamiliesAndRegions,
    /// Such posts exist, but an optimal plan gave them to others (most posts filled, then
    /// the best total of preference and merit).
    PostsWentToOthers,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matching {
    /// (candidate id, explanation), by candidate.
    pub decisions: Vec<(String, Why)>,
    pub posts_filled: u32,
    pub total_points: u64,
}

pub fn suits(m: &PoolMember, p: &OpenPost) -> bool {
    m.families.contains(&p.role_family) && m.regions.contains(&p.region)
}

pub fn match_pool(pool: &[PoolMember], posts: &[OpenPost]) -> Matching {
    let day: jiff::civil::Date = jiff::civil::date(2000, 1, 1);
    let sessions: Vec<Session> = posts
        .iter()
        .filter(|p| p.free > 0)
        .map(|p| Session {
            id: p.vacancy_id.clone(),
            date: day,
            preference_key: p.vacancy_id.clone(),
            capacity: p.free,
            booked: 0,
            min_group: 0,
            provisions: Vec::new(),
            assessors: Vec::new(),
        })
        .collect();
    let candidates: Vec<Candidate> = pool
        .iter()
        .map(|m| {
            let merit = merit_points(m.ac_score);
            let mut preferences = BTreeMap::new();
            let mut exclude = Vec::new();
            for p in posts.iter().filter(|p| p.free > 0) {
                match m.families.iter().position(|f| *f == p.role_family) {
                    Some(rank) if suits(m, p) => {
                        preferences.insert(p.vacancy_id.clone(), family_points(rank) + merit);
                    }
                    _ => exclude.push(p.vacancy_id.clone()),
                }
            }
            Candidate {
                id: m.id.clone(),
                unavailable: Vec::new(),
                adjustments: Vec::new(),
                employer: None,
                conflicts: Vec::new(),
                exclude,
                preferences,
            }
        })
        .collect();
    let plan = allocation::allocate(&candidates, &sessions);
    let given: BTreeMap<&str, &str> = plan.assigned.iter().map(|(c, s)| (c.as_str(), s.as_str())).collect();
    let mut decisions: Vec<(String, Why)> = pool
        .iter()
        .map(|m| {
            let why = match given.get(m.id.as_str()) {
                Some(v) => {
                    let post = posts.iter().find(|p| p.vacancy_id == *v).expect("a post the plan used");
                    let rank = m.families.iter().position(|f| *f == post.role_family).unwrap_or(0);
                    Why::Matched {
                        vacancy_id: (*v).to_owned(),
                        family_rank: rank + 1,
                        family_points: family_points(rank),
                        merit_points: merit_points(m.ac_score),
                    }
                }
                None if posts.iter().any(|p| p.free > 0 && suits(m, p)) => Why::PostsWentToOthers,
                None => Why::NoPostInTheirFamiliesAndRegions,
            };
            (m.id.clone(), why)
        })
        .collect();
    decisions.sort_by(|a, b| a.0.cmp(&b.0));
    Matching { posts_filled: plan.assigned.len() as u32, total_points: plan.total_preference, decisions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(id: &str, families: &[&str], regions: &[&str], ac: f64) -> PoolMember {
        PoolMember {
            id: id.into(),
            families: families.iter().map(|s| (*s).into()).collect(),
            regions: regions.iter().map(|s| (*s).into()).collect(),
            ac_score: ac,
        }
    }

    fn post(id: &str, family: &str, region: &str, free: u32) -> OpenPost {
        OpenPost { vacancy_id: id.into(), role_family: family.into(), region: region.into(), free }
    }

    fn matched(m: &Matching, who: &str) -> Option<String> {
        m.decisions.iter().find(|(c, _)| c == who).and_then(|(_, w)| match w {
            Why::Matched { vacancy_id, .. } => Some(vacancy_id.clone()),
            _ => None,
        })
    }

    #[test]
    fn never_outside_families_or_regions_and_scarce_posts_go_to_merit() {
        let pool = [
            member("a", &["data"], &["london"], 3.9),
            member("b", &["data"], &["london"], 2.5),
            member("c", &["cyber"], &["north-west"], 3.0),
            member("d", &["data", "cyber"], &["london"], 3.1),
        ];
        let posts = [post("v-data-ldn", "data", "london", 1), post("v-cyber-ldn", "cyber", "london", 1)];
        let m = match_pool(&pool, &posts);
        assert_eq!(m.posts_filled, 2);
        assert_eq!(matched(&m, "a").as_deref(), Some("v-data-ldn"), "the stronger candidate takes the one data post");
        assert_eq!(matched(&m, "d").as_deref(), Some("v-cyber-ldn"), "d's second family still fills the cyber post");
        assert_eq!(m.decisions.iter().find(|(c, _)| c == "b").unwrap().1, Why::PostsWentToOthers);
        assert_eq!(m.decisions.iter().find(|(c, _)| c == "c").unwrap().1, Why::NoPostInTheirFamiliesAndRegions);
    }

    #[test]
    fn more_posts_filled_beats_a_better_first_choice() {
        // x prefers data, but only x can take the cyber post: both posts are filled only if x
        // takes cyber and y takes data.
        let pool = [member("x", &["data", "cyber"], &["london"], 4.0), member("y", &["data"], &["london"], 1.0)];
        let posts = [post("data", "data", "london", 1), post("cyber", "cyber", "london", 1)];
        let m = match_pool(&pool, &posts);
        assert_eq!(m.posts_filled, 2);
        assert_eq!(matched(&m, "x").as_deref(), Some("cyber"));
        assert_eq!(matched(&m, "y").as_deref(), Some("data"));
    }

    /// Every assignment of candidates to posts (or none), by brute force.
    fn best_by_brute_force(pool: &[PoolMember], posts: &[OpenPost]) -> (u32, u64) {
        fn go(
            i: usize,
            pool: &[PoolMember],
            posts: &[OpenPost],
            free: &mut Vec<u32>,
            filled: u32,
            points: u64,
            best: &mut (u32, u64),
        ) {
            if i == pool.len() {
                if (filled, points) > *best {
                    *best = (filled, points);
                }
                return;
            }
            go(i + 1, pool, posts, free, filled, points, best);
            for (j, p) in posts.iter().enumerate() {
                if free[j] > 0 && suits(&pool[i], p) {
                    let rank = pool[i].families.iter().position(|f| *f == p.role_family).unwrap();
                    free[j] -= 1;
                    let pts = u64::from(family_points(rank) + merit_points(pool[i].ac_score));
                    go(i + 1, pool, posts, free, filled + 1, points + pts, best);
                    free[j] += 1;
                }
            }
        }
        let mut free: Vec<u32> = posts.iter().map(|p| p.free).collect();
        let mut best = (0, 0);
        go(0, pool, posts, &mut free, 0, 0, &mut best);
        best
    }

    proptest! {
        #[test]
        fn the_matching_is_optimal_and_respects_families_and_regions(
            people in proptest::collection::vec((proptest::collection::vec(0..3usize, 1..3), proptest::collection::vec(0..2usize, 1..3), 10..40u32), 0..6),
            vacancies in proptest::collection::vec((0..3usize, 0..2usize, 1..3u32), 0..4),
        ) {
            let families = ["data", "cyber", "dev"];
            let regions = ["london", "north-west"];
            let pool: Vec<PoolMember> = people.iter().enumerate().map(|(i, (f, r, ac))| {
                let mut fams: Vec<String> = Vec::new();
                for x in f { if !fams.contains(&families[*x].to_owned()) { fams.push(families[*x].to_owned()); } }
                let mut regs: Vec<String> = Vec::new();
                for x in r { if !regs.contains(&regions[*x].to_owned()) { regs.push(regions[*x].to_owned()); } }
                PoolMember { id: format!("c{i}"), families: fams, regions: regs, ac_score: f64::from(*ac) / 10.0 }
            }).collect();
            let posts: Vec<OpenPost> = vacancies.iter().enumerate()
                .map(|(i, (f, r, n))| post(&format!("v{i}"), families[*f], regions[*r], *n)).collect();
            let m = match_pool(&pool, &posts);
            let mut used: BTreeMap<String, u32> = BTreeMap::new();
            for (c, why) in &m.decisions {
                if let Why::Matched { vacancy_id, .. } = why {
                    let member = pool.iter().find(|p| &p.id == c).unwrap();
                    let p = posts.iter().find(|p| &p.vacancy_id == vacancy_id).unwrap();
                    prop_assert!(suits(member, p), "{c} outside their families or regions");
                    *used.entry(vacancy_id.clone()).or_default() += 1;
                }
            }
            for p in &posts {
                prop_assert!(used.get(&p.vacancy_id).copied().unwrap_or(0) <= p.free, "a post filled twice");
            }
            prop_assert_eq!((m.posts_filled, m.total_points), best_by_brute_force(&pool, &posts));
            // Deterministic: the same input gives the same matching.
            prop_assert_eq!(&m, &match_pool(&pool, &posts));
        }
    }
}
