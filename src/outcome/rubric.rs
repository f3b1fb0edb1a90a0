//! The rubric: which cases earn how many points, and who may see them.
//!
//! A rubric is TOML: a list of `[[item]]`s, each matching cases by id glob (`cases`) or by
//! group (`group`), with the item's `points` shared equally among the cases it matches. A case
//! belongs to the first item that matches it, so a specific item can come before a general
//! one. Cases that no item matches are still run and reported, worth nothing.

use globset::{Glob, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::suite::{CaseKey, Group};

/// A protocol's default rubrics (what `--print-rubric` shows and what `grade` uses without
/// `--rubric`): for its server cases, for server and client cases together, and for the client
/// cases alone.
pub struct Rubrics {
    pub server: &'static str,
    pub with_client: &'static str,
    pub client: &'static str,
}

/// The default rubric for these cases of `protocol`: server cases, client cases, or both.
pub fn default_text(protocol: &crate::protocol::Protocol, cases: &[CaseKey]) -> &'static str {
    let client = cases.iter().any(|c| c.group == Group::Client);
    let server = cases.iter().any(|c| c.group != Group::Client);
    let rubrics = &protocol.rubrics;
    match (server, client) {
        (true, true) => rubrics.with_client,
        (false, true) => rubrics.client,
        _ => rubrics.server,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Visible,
    AfterDueDate,
    AfterPublished,
    Hidden,
}

impl Visibility {
    pub fn name(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::AfterDueDate => "after_due_date",
            Visibility::AfterPublished => "after_published",
            Visibility::Hidden => "hidden",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    item: Vec<Spanned<RawItem>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    name: Option<String>,
    cases: Option<OneOrMany>,
    group: Option<String>,
    points: f64,
    visibility: Option<Visibility>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// What one case is worth.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    pub item: String,
    pub points: f64,
    pub visibility: Visibility,
}

/// `points` shared among `n` cases, in whole hundredths (as Gradescope shows points), so that
/// the shares add up to exactly the points: the first cases get a hundredth more where the
/// points do not divide evenly (10 over 7 cases: 1.43 six times, then 1.42).
pub fn shares(points: f64, n: usize) -> Vec<f64> {
    let cents = (points * 100.0).round() as u64;
    let n64 = n as u64;
    (0..n64)
        .map(|i| (cents / n64 + u64::from(i < cents % n64)) as f64 / 100.0)
        .collect()
}

/// A validated rubric: a weight for each case id (in suite order).
#[derive(Debug, Clone)]
pub struct Rubric {
    pub weights: Vec<(&'static str, Option<Weight>)>,
}

impl Rubric {
    pub fn max_score(&self) -> f64 {
        self.weights
            .iter()
            .filter_map(|(_, w)| w.as_ref().map(|w| w.points))
            .sum()
    }

    pub fn weight(&self, id: &str) -> Option<&Weight> {
        self.weights
            .iter()
            .find(|(case, _)| *case == id)
            .and_then(|(_, w)| w.as_ref())
    }

    /// Parses and checks a rubric. `origin` names it in errors ("rubric.toml").
    pub fn parse(text: &str, origin: &str, cases: &[CaseKey]) -> Result<Rubric, String> {
        let file: File = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        if file.item.is_empty() {
            return Err(format!(
                "{origin}: no [[item]]; `srpc-check grade --print-rubric` shows the default"
            ));
        }
        let mut weights: Vec<(&'static str, Option<Weight>)> =
            cases.iter().map(|c| (c.id, None)).collect();
        for spanned in &file.item {
            let line = text[..spanned.span().start].matches('\n').count() + 1;
            let at = format!("{origin}, line {line}");
            let item = spanned.get_ref();
            if !item.points.is_finite() || item.points < 0.0 {
                return Err(format!("{at}: points must be a number of at least 0"));
            }
            let patterns: Vec<String> = match (&item.cases, &item.group) {
                (Some(_), Some(_)) => {
                    return Err(format!("{at}: give `cases` or `group`, not both"))
                }
                (None, None) => return Err(format!("{at}: the item needs `cases` or `group`")),
                (Some(OneOrMany::One(p)), None) => vec![p.clone()],
                (Some(OneOrMany::Many(ps)), None) => ps.clone(),
                (None, Some(g)) => {
                    if !cases.iter().any(|c| c.group.name() == g) {
                        let groups: Vec<&str> = Group::ALL.map(Group::name).to_vec();
                        return Err(format!(
                            "{at}: there is no group '{g}' (groups: {})",
                            groups.join(", ")
                        ));
                    }
                    vec![format!("{g}/*")]
                }
            };
            let mut set = GlobSetBuilder::new();
            for p in &patterns {
                let glob =
                    Glob::new(p).map_err(|e| format!("{at}: '{p}' is not a valid glob: {e}"))?;
                if !cases.iter().any(|c| glob.compile_matcher().is_match(c.id)) {
                    return Err(format!(
                        "{at}: '{p}' matches no case; `srpc-check list` shows every id"
                    ));
                }
                set.add(glob);
            }
            let set = set.build().map_err(|e| format!("{at}: {e}"))?;
            let mine: Vec<usize> = weights
                .iter()
                .enumerate()
                .filter(|(_, (id, w))| w.is_none() && set.is_match(id))
                .map(|(i, _)| i)
                .collect();
            if mine.is_empty() {
                return Err(format!(
                    "{at}: every case this item matches already belongs to an earlier item"
                ));
            }
            let name = item.name.clone().unwrap_or_else(|| patterns.join(", "));
            for (i, points) in mine.iter().copied().zip(shares(item.points, mine.len())) {
                weights[i].1 = Some(Weight {
                    item: name.clone(),
                    points,
                    visibility: item.visibility.unwrap_or(Visibility::Visible),
                });
            }
        }
        Ok(Rubric { weights })
    }

    pub fn default_for(protocol: &crate::protocol::Protocol, cases: &[CaseKey]) -> Rubric {
        Rubric::parse(default_text(protocol, cases), "default rubric", cases)
            .expect("the default rubric is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srpc::rubrics::{DEFAULT, DEFAULT_CLIENT, DEFAULT_WITH_CLIENT};
    use crate::protocol::srpc::SRPC;

    #[test]
    fn the_default_follows_the_cases_and_a_rubric_sets_the_clients_share() {
        let server = suite::keys(&crate::protocol::srpc::cases::all());
        let client = crate::client::keys(&crate::protocol::srpc::SRPC);
        let both: Vec<CaseKey> = server.iter().chain(&client).copied().collect();
        assert_eq!(default_text(&SRPC, &server), DEFAULT);
        assert_eq!(default_text(&SRPC, &client), DEFAULT_CLIENT);
        assert_eq!(default_text(&SRPC, &both), DEFAULT_WITH_CLIENT);
        for cases in [&server, &client, &both] {
            let r = Rubric::default_for(&SRPC, cases);
            assert!((r.max_score() - 100.0).abs() < 1e-9, "{}", r.max_score());
        }
        let r = Rubric::default_for(&SRPC, &both);
        assert_eq!(r.weight("client/dribble").map(|w| w.points), Some(1.0));
        let text = "[[item]]\ngroup = \"grading\"\npoints = 70\n\n[[item]]\ncases = \"client/header-*\"\npoints = 30\n";
        let r = Rubric::parse(text, "r.toml", &both).unwrap();
        assert_eq!(
            r.weight("client/header-split-1").map(|w| w.points),
            Some(3.75)
        );
        assert!(r.weight("client/one-piece").is_none());
        // Without the client's cases, an item for them matches nothing.
        assert!(Rubric::parse(text, "r.toml", &server)
            .unwrap_err()
            .contains("matches no case"));
    }

    #[test]
    fn shares_are_hundredths_that_add_up_to_the_points() {
        assert_eq!(shares(10.0, 7), [1.43, 1.43, 1.43, 1.43, 1.43, 1.43, 1.42]);
        assert_eq!(shares(60.0, 3), [20.0, 20.0, 20.0]);
        for (points, n) in [(5.0, 19), (10.0, 13), (10.0, 3), (0.0, 4), (33.33, 7)] {
            let s = shares(points, n);
            let cents: i64 = s.iter().map(|x| (x * 100.0).round() as i64).sum();
            assert_eq!(
                cents,
                (points * 100.0_f64).round() as i64,
                "{points} over {n}"
            );
            assert!(s
                .iter()
                .all(|x| (x * 100.0 - (x * 100.0).round()).abs() < 1e-9));
        }
    }
    use crate::suite;

    #[test]
    fn default_rubric_gives_most_weight_to_grading_and_sums_to_100() {
        let cases = suite::keys(&crate::protocol::srpc::cases::all());
        let r = Rubric::default_for(&SRPC, &cases);
        assert!((r.max_score() - 100.0).abs() < 1e-9);
        let grading: f64 = r
            .weights
            .iter()
            .filter(|(id, _)| id.starts_with("grading/"))
            .map(|(_, w)| w.as_ref().unwrap().points)
            .sum();
        assert!(grading > 50.0);
        assert!(r.weights.iter().all(|(_, w)| w.is_some()));
    }

    #[test]
    fn first_item_owns_a_case_and_points_are_shared() {
        let cases = suite::keys(&crate::protocol::srpc::cases::all());
        let text = "[[item]]\ncases = \"grading/put\"\npoints = 7\nvisibility = \"hidden\"\n\n[[item]]\ngroup = \"grading\"\npoints = 4\n";
        let r = Rubric::parse(text, "r.toml", &cases).unwrap();
        let put = r.weight("grading/put").unwrap();
        assert_eq!((put.points, put.visibility), (7.0, Visibility::Hidden));
        assert_eq!(r.weight("grading/get-missing").unwrap().points, 2.0);
        assert!(r.weight("robust/short-header").is_none());
        assert_eq!(r.max_score(), 11.0);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = suite::keys(&crate::protocol::srpc::cases::all());
        let no_match = "[[item]]\ncases = \"grading/*\"\npoints = 1\n\n[[item]]\ncases = \"nope/*\"\npoints = 1\n";
        let e = Rubric::parse(no_match, "r.toml", &cases).unwrap_err();
        assert!(
            e.contains("r.toml, line 5") && e.contains("'nope/*' matches no case"),
            "{e}"
        );
        let syntax = "[[item]]\ncases = \"grading/*\npoints = 1\n";
        let e = Rubric::parse(syntax, "r.toml", &cases).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        let taken = "[[item]]\ngroup = \"grading\"\npoints = 1\n[[item]]\ncases = \"grading/put\"\npoints = 1\n";
        let e = Rubric::parse(taken, "r.toml", &cases).unwrap_err();
        assert!(e.contains("line 4") && e.contains("earlier item"), "{e}");
        let bad_group = "[[item]]\ngroup = \"grade\"\npoints = 1\n";
        assert!(Rubric::parse(bad_group, "r.toml", &cases)
            .unwrap_err()
            .contains("no group 'grade'"));
        let bad_vis = "[[item]]\ngroup = \"grading\"\npoints = 1\nvisibility = \"secret\"\n";
        assert!(Rubric::parse(bad_vis, "r.toml", &cases)
            .unwrap_err()
            .contains("line"));
    }
}
