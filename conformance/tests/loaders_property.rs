//! Any text, and any damage to a real file, given to the scenario, case,
//! case matrix, mutant and dialect loaders gives a value or an error that names a line: never
//! a panic, never an error that leaves the author to search the file.

use std::sync::LazyLock;

use jodo_contract::Contract;
use proptest::prelude::*;

static SCHEMAS: LazyLock<Contract> = LazyLock::new(|| Contract::embedded().unwrap());

const SCENARIO: &str = include_str!("../../scenarios/video-request.yaml");
const CASE: &str = include_str!("../cases/video-request-accept.yaml");
const MATRIX: &str = include_str!("../cases/matrices/media-consent.yaml");
const MUTANT: &str = include_str!("../../fixtures/mutants/akey-in-error.yaml");
const DIALECT: &str = include_str!("../../schemas/dialects/jsonrpc-2.yaml");

/// `real` with a few spans replaced by short random text.
fn damaged(real: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec((0usize..real.len(), 0usize..12, ".{0,6}"), 1..4).prop_map(
        move |edits| {
            let mut text = real.to_owned();
            for (at, cut, insert) in edits {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + cut).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, &insert);
            }
            text
        },
    )
}

fn any_text(real: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z:\\[\\]{}, \\n-]{0,80}", damaged(real)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_scenario_file_loads_or_names_a_line(text in any_text(SCENARIO)) {
        if let Err(e) = jodo_mock::scenario::parse(&text, "s.yaml", &SCHEMAS) {
            let shown = e.to_string();
            prop_assert!(shown.contains("line "), "{shown}\n--- for ---\n{text}");
        }
    }

    #[test]
    fn a_case_file_loads_or_names_a_line(text in any_text(CASE)) {
        if let Err(e) = jodo_conformance::case::parse(&text, "c.yaml", None, &SCHEMAS) {
            let shown = e.to_string();
            prop_assert!(shown.contains("line "), "{shown}\n--- for ---\n{text}");
        }
    }

    #[test]
    fn a_case_matrix_loads_or_names_a_line_or_the_combination(text in any_text(MATRIX)) {
        if let Err(e) = jodo_conformance::case::matrix::expand(&text, "m.yaml", None, &SCHEMAS) {
            let shown = e.to_string();
            // A problem of the file has its line; one of a generated case
            // names the combination (`media=voice, answer=accept: at /steps/3`)
            // or the id two combinations share.
            prop_assert!(
                shown.contains("line ") || shown.contains("=") || shown.contains("case id"),
                "{shown}\n--- for ---\n{text}"
            );
        }
    }

    #[test]
    fn a_mutant_file_loads_or_names_a_line(text in any_text(MUTANT)) {
        if let Err(e) = jodo_conformance::mutant::parse(&text, "m.yaml", None, &SCHEMAS) {
            let shown = e.to_string();
            prop_assert!(shown.contains("line "), "{shown}\n--- for ---\n{text}");
        }
    }

    #[test]
    fn a_dialect_file_loads_or_names_a_line_for_every_problem(text in any_text(DIALECT)) {
        use jodo_contract::dialect::{Dialect, DialectError};
        match Dialect::parse(&text, "d.yaml", &SCHEMAS) {
            Ok(_) | Err(DialectError::NotFound { .. } | DialectError::Read { .. }) => {}
            Err(DialectError::Invalid { problems, .. }) => {
                prop_assert!(!problems.is_empty());
                for p in &problems {
                    prop_assert!(p.contains("line "), "{p}\n--- for ---\n{text}");
                }
            }
        }
    }
}
