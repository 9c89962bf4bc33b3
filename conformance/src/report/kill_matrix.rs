//! The kill matrix: how the suite fared against the faulty builds of
//! `fixtures/mutants/`, as it goes into report.json and report.html.

use serde::{Deserialize, Serialize};

/// How one mutant fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillVerdict {
    /// A case failed and named the broken check.
    Killed,
    /// Cases failed, but none named the check the mutant breaks.
    KilledUnnamed,
    /// Every case passed: the suite misses this fault.
    Survived,
    /// The fault shows only in other engines, and here the build passed
    /// every case, as it should.
    Dormant,
    /// The fault should show only in other engines, yet here the build
    /// failed: the mutant's gate or the suite is wrong.
    FailedOutsideEngines,
}

impl KillVerdict {
    /// The words for it, as every renderer shows them.
    pub fn label(self) -> &'static str {
        match self {
            KillVerdict::Killed => "killed",
            KillVerdict::KilledUnnamed => "killed, check not named",
            KillVerdict::Survived => "survived",
            KillVerdict::Dormant => "not in this engine (passed, as it should)",
            KillVerdict::FailedOutsideEngines => "failed outside its engines",
        }
    }

    /// Whether it counts as caught.
    pub fn is_killed(self) -> bool {
        self == KillVerdict::Killed
    }

    /// Whether the self-test's gate accepts it.
    pub fn is_ok(self) -> bool {
        matches!(self, KillVerdict::Killed | KillVerdict::Dormant)
    }
}

/// One row of the kill matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MutantResult {
    /// Mutant name.
    pub name: String,
    /// Its area.
    pub area: String,
    /// The check it breaks.
    pub breaks: String,
    /// The fault.
    pub summary: String,
    /// The engines its fault shows in (empty: every engine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<String>,
    /// Cases that did not pass on it.
    pub failed_cases: Vec<String>,
    /// Of those, the cases whose failures name `breaks`.
    pub naming_cases: Vec<String>,
    /// The scenarios those cases ran, each once: a fault caught in two
    /// situations is not lost when one case changes.
    #[serde(default)]
    pub naming_scenarios: Vec<String>,
    /// The verdict.
    pub verdict: KillVerdict,
}

impl MutantResult {
    /// Killed by at least two naming cases that run different scenarios
    /// (meaningful for a full matrix, where every case ran).
    pub fn deeply_killed(&self) -> bool {
        self.verdict.is_killed() && self.naming_cases.len() >= 2 && self.naming_scenarios.len() >= 2
    }

    /// The cases to credit: those naming the check, else any that failed.
    pub fn caught_by(&self) -> &[String] {
        if self.naming_cases.is_empty() {
            &self.failed_cases
        } else {
            &self.naming_cases
        }
    }
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KillMatrix {
    /// Cases the reference build did not pass (must be none).
    pub reference_failures: Vec<String>,
    /// Every mutant, by name.
    pub mutants: Vec<MutantResult>,
    /// Mutants killed with the broken check named.
    pub killed: usize,
    /// Mutants whose fault shows only in other engines and that passed.
    #[serde(default)]
    pub dormant: usize,
    /// Share of the mutants whose fault shows in this engine that were
    /// killed with the broken check named.
    pub kill_rate: f64,
}

impl KillMatrix {
    /// The matrix of these rows.
    pub fn of(reference_failures: Vec<String>, mutants: Vec<MutantResult>) -> Self {
        let killed = mutants.iter().filter(|r| r.verdict.is_killed()).count();
        let dormant = mutants
            .iter()
            .filter(|r| r.verdict == KillVerdict::Dormant)
            .count();
        let present = mutants.len() - dormant;
        #[allow(clippy::cast_precision_loss)]
        let kill_rate = if present == 0 {
            1.0
        } else {
            killed as f64 / present as f64
        };
        Self {
            reference_failures,
            mutants,
            killed,
            dormant,
            kill_rate,
        }
    }

    /// Mutants killed by two or more naming cases in different scenarios.
    pub fn deeply_killed(&self) -> usize {
        self.mutants.iter().filter(|m| m.deeply_killed()).count()
    }

    /// The gate: the reference passes everything and no mutant escapes.
    pub fn ok(&self) -> bool {
        self.reference_failures.is_empty() && self.mutants.iter().all(|m| m.verdict.is_ok())
    }
}
