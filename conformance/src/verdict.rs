//! Judging, in one place: a case's outcome from its checks, its status from
//! the outcome, the known results and the profile, when a run stops early,
//! and whether a mutant was killed. Renderers and the runner only read what
//! is settled here, so the console, JUnit, HTML and JSON cannot disagree.

use jodo_contract::Profile;

use crate::known_results::KnownResults;
use crate::mutant::Mutant;
use crate::report::{CaseReport, CheckResult, KillVerdict, MutantResult, Outcome, Status};

/// The outcome of a case whose steps all ran, from its checks: a failure
/// of any check but the schema fails it; a schema failure that the compat
/// profile forgives makes it non-strict. `schema_clean` tells whether the
/// events pass the schema check in a profile (asked only when it matters).
pub fn outcome_of(checks: &[CheckResult], schema_clean: impl Fn(Profile) -> bool) -> Outcome {
    let only_schema_failed = checks.iter().all(|c| c.passed || c.name == "schema");
    if !only_schema_failed || !schema_clean(Profile::Compat) {
        Outcome::Fail
    } else if schema_clean(Profile::Strict) {
        Outcome::Pass
    } else {
        Outcome::NonStrict
    }
}

/// What an outcome means for the run.
pub fn status_of(outcome: Outcome, expected: Option<Outcome>, profile: Profile) -> Status {
    match (outcome, expected) {
        (Outcome::NotApplicable, _) => Status::NotApplicable,
        (o, Some(e)) if o == e => Status::Known,
        (Outcome::Pass, Some(_)) => Status::UnexpectedPass,
        (Outcome::Pass, None) => Status::Passed,
        (Outcome::NonStrict, None) if profile == Profile::Compat => Status::AcceptedNonStrict,
        (Outcome::NonStrict, _) => Status::NonStrict,
        (Outcome::Fail, _) => Status::Failed,
        (Outcome::Error, _) => Status::Errored,
        (Outcome::Timeout, _) => Status::TimedOut,
    }
}

/// Settles a finished case's expected outcome and status: called once per
/// case, where the case finishes, before anything reads it.
pub fn settle(report: &mut CaseReport, known: &KnownResults, profile: Profile) {
    report.expected = known.expected(&report.id);
    report.status = status_of(report.outcome, report.expected, profile);
}

/// When a run stops early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailFast {
    /// At the first case whose status fails the run.
    AnyFailure,
    /// At the first case with a failure naming this check (a rule id, or a
    /// prefix such as `return-code` of `return-code:SendChatMessage`): the
    /// self-test needs no more to call a mutant killed.
    Naming(String),
}

impl FailFast {
    /// Whether a case is written to catch what this stops at: it names the
    /// rule, or calls the method whose return code is the check. The
    /// self-test runs such cases first, so a mutant's run is short however
    /// many cases the suite has.
    pub fn aims_at(&self, case: &crate::case::Case) -> bool {
        let FailFast::Naming(check) = self else {
            return false;
        };
        if case.rules.iter().any(|r| r == check) {
            return true;
        }
        let method = check.strip_prefix("return-code:");
        case.steps.iter().any(|s| match s {
            crate::case::Step::Call { call, returns, .. } => {
                returns.is_some() && method == Some(call.as_str())
            }
            crate::case::Step::Eval { rule: Some(r), .. } => r == check,
            _ => false,
        })
    }

    /// Whether this settled case ends the run.
    pub fn stops_at(&self, case: &CaseReport) -> bool {
        match self {
            FailFast::AnyFailure => case.status.is_unexpected(),
            FailFast::Naming(check) => case.fails_naming(check),
        }
    }
}

/// Whether a mutant was killed, from the cases run on it: killed when a
/// case that did not pass names the check the mutant breaks.
pub fn kill_verdict(m: &Mutant, cases: &[CaseReport]) -> MutantResult {
    let failed: Vec<&CaseReport> = cases
        .iter()
        .filter(|c| !matches!(c.outcome, Outcome::Pass | Outcome::NotApplicable))
        .collect();
    let naming: Vec<&&CaseReport> = failed
        .iter()
        .filter(|c| c.fails_naming(&m.breaks))
        .collect();
    let naming_cases: Vec<String> = naming.iter().map(|c| c.id.clone()).collect();
    let mut naming_scenarios: Vec<String> = naming.iter().map(|c| c.scenario.clone()).collect();
    naming_scenarios.sort();
    naming_scenarios.dedup();
    let verdict = if !naming_cases.is_empty() {
        KillVerdict::Killed
    } else if failed.is_empty() {
        KillVerdict::Survived
    } else {
        KillVerdict::KilledUnnamed
    };
    MutantResult {
        name: m.name.clone(),
        area: m.area.clone(),
        breaks: m.breaks.clone(),
        summary: m.summary.clone(),
        engines: m.engines.clone(),
        failed_cases: failed.iter().map(|c| c.id.clone()).collect(),
        naming_cases,
        naming_scenarios,
        verdict,
    }
}

/// The verdict on a mutant run in an engine its fault does not show in:
/// it must pass every case there.
pub fn dormant_verdict(m: &Mutant, cases: &[CaseReport]) -> MutantResult {
    let mut result = kill_verdict(m, cases);
    result.verdict = if result.failed_cases.is_empty() {
        KillVerdict::Dormant
    } else {
        KillVerdict::FailedOutsideEngines
    };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Failure;

    fn case(id: &str, outcome: Outcome, rules: &[&str]) -> CaseReport {
        CaseReport {
            id: id.into(),
            title: String::new(),
            area: String::new(),
            spec: String::new(),
            scenario: String::new(),
            outcome,
            status: Status::Errored,
            duration_ms: 0,
            overhead_ms: 0,
            reason: None,
            expected: None,
            checks: vec![CheckResult::from_failures(
                "rules",
                rules.iter().map(|r| Failure::new(*r, "broken")).collect(),
            )],
            steps: Vec::new(),
            probe: Default::default(),
            wire: Vec::new(),
            console: Vec::new(),
        }
    }

    fn settled(id: &str, outcome: Outcome, known: &KnownResults, profile: Profile) -> CaseReport {
        let mut c = case(id, outcome, &[]);
        settle(&mut c, known, profile);
        c
    }

    #[test]
    fn kill_depth_counts_the_naming_cases_scenarios_once_each() {
        let m = Mutant {
            name: "m".into(),
            area: "values".into(),
            breaks: "server-values".into(),
            summary: String::new(),
            engines: Vec::new(),
            edits: Vec::new(),
        };
        let on = |id: &str, scenario: &str, rules: &[&str]| CaseReport {
            scenario: scenario.into(),
            ..case(id, Outcome::Fail, rules)
        };
        let one_situation = [
            on("a", "allocated", &["server-values"]),
            on("b", "allocated", &["server-values"]),
            on("c", "agent", &["ack-order"]),
        ];
        let r = kill_verdict(&m, &one_situation);
        assert_eq!(r.naming_cases, ["a", "b"]);
        assert_eq!(r.naming_scenarios, ["allocated"]);
        assert!(r.verdict.is_killed() && !r.deeply_killed());
        let two = [
            on("a", "allocated", &["server-values"]),
            on("d", "agent-content", &["server-values"]),
        ];
        assert!(kill_verdict(&m, &two).deeply_killed());
    }

    #[test]
    fn a_mutant_outside_its_engines_must_pass_and_does_not_count_against_the_kill_rate() {
        use crate::report::KillMatrix;
        let gated = Mutant {
            name: "gated".into(),
            area: "schema".into(),
            breaks: "schema".into(),
            summary: String::new(),
            engines: vec!["chromium".into()],
            edits: Vec::new(),
        };
        assert!(gated.shows_in("chromium") && !gated.shows_in("firefox"));
        let passed = [case("a", Outcome::Pass, &[])];
        let failed = [case("a", Outcome::Fail, &["schema"])];
        let dormant = dormant_verdict(&gated, &passed);
        assert_eq!(dormant.verdict, KillVerdict::Dormant);
        let woke = dormant_verdict(&gated, &failed);
        assert_eq!(woke.verdict, KillVerdict::FailedOutsideEngines);
        let killed = kill_verdict(&gated, &failed);
        let matrix = KillMatrix::of(Vec::new(), vec![killed.clone(), dormant]);
        assert!(matrix.ok());
        assert_eq!((matrix.killed, matrix.dormant), (1, 1));
        assert!((matrix.kill_rate - 1.0).abs() < f64::EPSILON);
        assert!(!KillMatrix::of(Vec::new(), vec![killed, woke]).ok());
    }

    #[test]
    fn every_outcome_and_expectation_has_one_status() {
        use Outcome::*;
        let s = |o, e, p| status_of(o, e, p);
        assert_eq!(s(Pass, None, Profile::Strict), Status::Passed);
        assert_eq!(s(Pass, Some(Fail), Profile::Strict), Status::UnexpectedPass);
        assert_eq!(s(Fail, Some(Fail), Profile::Strict), Status::Known);
        assert_eq!(s(Timeout, Some(Fail), Profile::Strict), Status::TimedOut);
        assert_eq!(
            s(NonStrict, None, Profile::Compat),
            Status::AcceptedNonStrict
        );
        assert_eq!(s(NonStrict, None, Profile::Strict), Status::NonStrict);
        assert_eq!(
            s(NonStrict, Some(NonStrict), Profile::Strict),
            Status::Known
        );
        assert_eq!(s(NonStrict, Some(Fail), Profile::Compat), Status::NonStrict);
        assert_eq!(s(Error, None, Profile::Compat), Status::Errored);
        assert_eq!(
            s(NotApplicable, Some(Fail), Profile::Strict),
            Status::NotApplicable
        );
    }

    #[test]
    fn fail_fast_in_compat_runs_past_an_accepted_non_strict_case_and_stops_at_a_failure() {
        let none = KnownResults::default();
        let any = FailFast::AnyFailure;
        // The bug this guards: fail-fast once compared outcomes against
        // "pass" before the status was known, and stopped here.
        let lenient = settled("a", Outcome::NonStrict, &none, Profile::Compat);
        assert_eq!(lenient.status, Status::AcceptedNonStrict);
        assert!(!any.stops_at(&lenient));
        let strict = settled("a", Outcome::NonStrict, &none, Profile::Strict);
        assert!(any.stops_at(&strict));
        assert!(any.stops_at(&settled("b", Outcome::Fail, &none, Profile::Compat)));
        assert!(any.stops_at(&settled("b", Outcome::Timeout, &none, Profile::Compat)));
        assert!(!any.stops_at(&settled("b", Outcome::Pass, &none, Profile::Compat)));
        assert!(!any.stops_at(&settled(
            "n",
            Outcome::NotApplicable,
            &none,
            Profile::Strict
        )));
    }

    #[test]
    fn fail_fast_stops_at_the_first_case_not_ending_as_expected() {
        let known = KnownResults::parse("known: fail\n").unwrap();
        let any = FailFast::AnyFailure;
        // A known failure is what the file says: the run goes on...
        assert!(!any.stops_at(&settled("known", Outcome::Fail, &known, Profile::Strict)));
        // ...but a known failure that now passes is news.
        assert!(any.stops_at(&settled("known", Outcome::Pass, &known, Profile::Strict)));
    }

    #[test]
    fn fail_fast_on_a_check_stops_only_where_a_failure_names_it() {
        let naming = FailFast::Naming("return-code".into());
        let named = case("a", Outcome::Fail, &["return-code:SendChatMessage"]);
        assert!(naming.stops_at(&named));
        let other = case("a", Outcome::Fail, &["return-codes-extra", "schema"]);
        assert!(!naming.stops_at(&other));
        assert!(!naming.stops_at(&case("a", Outcome::Pass, &[])));
    }

    #[test]
    fn a_check_is_named_exactly_or_as_a_prefix() {
        let names = |rule: &str, check: &str| Failure::new(rule, "").names(check);
        assert!(names("schema", "schema"));
        assert!(names("schema:chat/messagesent", "schema"));
        assert!(names(
            "return-code:SendChatMessage",
            "return-code:SendChatMessage"
        ));
        assert!(!names("schemax", "schema"));
        assert!(!names(
            "return-code:SendDocument",
            "return-code:SendChatMessage"
        ));
    }

    #[test]
    fn only_schema_failures_the_compat_profile_forgives_make_a_case_non_strict() {
        let schema = CheckResult::from_failures("schema", vec![Failure::new("schema:x", "m")]);
        let rules = CheckResult::from_failures("rules", vec![Failure::new("ack-order", "m")]);
        let clean = CheckResult::from_failures("rules", vec![]);
        let compat_only = |p| p == Profile::Compat;
        assert_eq!(
            outcome_of(std::slice::from_ref(&clean), |_| true),
            Outcome::Pass
        );
        assert_eq!(
            outcome_of(&[schema.clone(), clean.clone()], compat_only),
            Outcome::NonStrict
        );
        assert_eq!(
            outcome_of(std::slice::from_ref(&schema), |_| false),
            Outcome::Fail
        );
        assert_eq!(outcome_of(&[schema, rules], compat_only), Outcome::Fail);
    }
}
