//! Coverage: which catalogue entries the cases exercise.
//!
//! A pass score alone says nothing about what was never tried, so reports
//! print the share of the catalogue the cases reach beside it, and
//! `jodo-conformance coverage` lists every entry no case exercises. The
//! entries come from the catalogue; the cases are read as data, not run.

use std::collections::BTreeMap;

use jodo_contract::Catalog;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::{Case, Step};

/// The kinds of catalogue entries, in report order.
pub const KINDS: [&str; 4] = ["method", "event", "return-code", "rule"];

/// One catalogue entry and the cases that exercise it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// `method`, `event`, `return-code` or `rule`.
    pub kind: String,
    /// `SendChatMessage`, `chat/messagesent`, `SendChatMessage=3`, `ack-order`.
    pub id: String,
    /// Ids of the cases that exercise it.
    pub cases: Vec<String>,
}

/// Counts for one kind of entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KindCount {
    /// Entries of this kind in the catalogue.
    pub total: usize,
    /// Of those, exercised by at least one case.
    pub covered: usize,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coverage {
    /// Share of all entries exercised, 0 to 1.
    pub score: f64,
    /// Counts per kind.
    pub by_kind: BTreeMap<String, KindCount>,
    /// Every entry, catalogue order within each kind.
    pub entries: Vec<Entry>,
}

impl Coverage {
    /// What `cases` exercise of `catalog`. A case exercises a method by
    /// calling it, a return code by asserting it, an event by waiting for
    /// it or expecting it to occur, and a rule by naming it in `rules:`.
    pub fn of(catalog: &Catalog, cases: &[Case]) -> Self {
        let mut entries = Vec::new();
        let by = |hit: &dyn Fn(&Case) -> bool| -> Vec<String> {
            cases
                .iter()
                .filter(|c| hit(c))
                .map(|c| c.id.clone())
                .collect()
        };
        for m in &catalog.methods {
            entries.push(Entry {
                kind: "method".into(),
                id: m.name.clone(),
                cases: by(&|c| calls(c).any(|(name, _)| name == m.name)),
            });
        }
        for e in &catalog.events {
            let key = format!("{}/{}", e.media, e.eventtype);
            entries.push(Entry {
                kind: "event".into(),
                cases: by(&|c| events(c).any(|k| k == key)),
                id: key,
            });
        }
        for m in &catalog.methods {
            for code in m.returns.keys() {
                entries.push(Entry {
                    kind: "return-code".into(),
                    id: format!("{}={code}", m.name),
                    cases: by(&|c| {
                        calls(c).any(|(name, returns)| {
                            name == m.name && returns.is_some_and(|r| code_matches(r, code))
                        })
                    }),
                });
            }
        }
        for r in &catalog.rules {
            entries.push(Entry {
                kind: "rule".into(),
                id: r.id.clone(),
                cases: by(&|c| c.rules.contains(&r.id)),
            });
        }
        Self::from_entries(entries)
    }

    /// What several runs over shares of the cases exercised together:
    /// each entry with the cases of every part (shards of one suite).
    pub fn union<'a>(parts: impl IntoIterator<Item = &'a Coverage>) -> Self {
        let mut entries: Vec<Entry> = Vec::new();
        for part in parts {
            for e in &part.entries {
                match entries
                    .iter_mut()
                    .find(|x| x.kind == e.kind && x.id == e.id)
                {
                    Some(x) => {
                        x.cases.extend(e.cases.iter().cloned());
                        x.cases.sort();
                        x.cases.dedup();
                    }
                    None => entries.push(e.clone()),
                }
            }
        }
        Self::from_entries(entries)
    }

    /// Counts and score of these entries.
    fn from_entries(entries: Vec<Entry>) -> Self {
        let mut by_kind: BTreeMap<String, KindCount> = BTreeMap::new();
        for e in &entries {
            let k = by_kind.entry(e.kind.clone()).or_default();
            k.total += 1;
            k.covered += usize::from(!e.cases.is_empty());
        }
        let covered = entries.iter().filter(|e| !e.cases.is_empty()).count();
        Self {
            score: if entries.is_empty() {
                0.0
            } else {
                covered as f64 / entries.len() as f64
            },
            by_kind,
            entries,
        }
    }

    /// Entries no case exercises.
    pub fn uncovered(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.cases.is_empty())
    }

    /// A plain-text matrix: one line per entry, then the totals.
    pub fn table(&self, only_uncovered: bool) -> String {
        let mut out = String::new();
        for kind in KINDS {
            for e in self.entries.iter().filter(|e| e.kind == kind) {
                if only_uncovered && !e.cases.is_empty() {
                    continue;
                }
                let cases = if e.cases.is_empty() {
                    "-- no case --".to_owned()
                } else {
                    e.cases.join(", ")
                };
                out.push_str(&format!("{kind:<12} {:<44} {cases}\n", e.id));
            }
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// `coverage 12.3% (method 3/28, event 9/76, …)`.
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = KINDS
            .iter()
            .filter_map(|k| {
                self.by_kind
                    .get(*k)
                    .map(|c| format!("{k} {}/{}", c.covered, c.total))
            })
            .collect();
        format!(
            "coverage {:.1}% of the catalogue ({})",
            self.score * 100.0,
            parts.join(", ")
        )
    }
}

fn calls(case: &Case) -> impl Iterator<Item = (&str, Option<&Value>)> {
    case.steps.iter().filter_map(|s| match s {
        Step::Call { call, returns, .. } => Some((call.as_str(), returns.as_ref())),
        _ => None,
    })
}

fn events(case: &Case) -> impl Iterator<Item = &str> {
    let waits = case.steps.iter().filter_map(|s| match s {
        Step::Wait { wait, .. } => Some(wait.as_str()),
        _ => None,
    });
    waits
        .chain(case.expect.in_order.iter().map(|e| e.event.as_str()))
        .chain(
            case.expect
                .counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, _)| k.as_str()),
        )
}

fn code_matches(returned: &Value, code: &str) -> bool {
    match returned {
        Value::Number(n) => n.to_string() == code,
        Value::String(s) => s == code,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_the_cases_exercise() {
        let schemas = jodo_contract::Contract::embedded().unwrap();
        let case = |id: &str, text: &str| {
            crate::case::parse(text, &format!("{id}.yaml"), Some(id), &schemas).unwrap()
        };
        let cases = vec![
            case(
                "round",
                "id: round\ntitle: t\narea: chat\nscenario: allocated\nrules: [ack-order]\nsteps:\n  - call: SendChatMessage\n    args: [hi]\n    returns: 1\n  - wait: chat/messagedeliveredack\n",
            ),
            case(
                "long",
                "id: long\ntitle: t\narea: chat\nscenario: allocated\nsteps:\n  - call: SendChatMessage\n    args: [{$repeat: a, times: 256}]\n    returns: 3\n",
            ),
        ];
        let cov = Coverage::of(schemas.catalog(), &cases);
        let find = |kind: &str, id: &str| {
            cov.entries
                .iter()
                .find(|e| e.kind == kind && e.id == id)
                .unwrap_or_else(|| panic!("{kind} {id} is an entry"))
        };
        assert_eq!(find("method", "SendChatMessage").cases, ["round", "long"]);
        assert_eq!(find("return-code", "SendChatMessage=3").cases, ["long"]);
        assert_eq!(find("event", "chat/messagedeliveredack").cases, ["round"]);
        assert_eq!(find("rule", "ack-order").cases, ["round"]);
        assert!(find("method", "StartBrowsing").cases.is_empty());
        let total: usize = cov.by_kind.values().map(|k| k.total).sum();
        assert_eq!(total, cov.entries.len());
        let catalog = schemas.catalog();
        assert_eq!(cov.by_kind["method"].total, catalog.methods.len());
        assert_eq!(cov.by_kind["event"].total, catalog.events.len());
        assert!(cov.score > 0.0 && cov.score < 1.0);
        assert!(cov.uncovered().any(|e| e.id == "StartBrowsing"));
    }
}
