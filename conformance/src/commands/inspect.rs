//! The commands that read the contract and the cases without running a
//! browser: `validate`, `coverage` and `catalog`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use jodo_conformance::coverage::Coverage;
use jodo_contract::Contract;

use crate::cli::{CoverageArgs, ValidateArgs};

/// The contract, or why this build cannot load it.
fn contract() -> anyhow::Result<Contract> {
    Contract::embedded().context("the contract does not load")
}

/// `validate`: 0 every document valid, 1 one is not.
pub fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let schemas = contract()?;
    let (label, input) = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        ("<stdin>".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        (args.file.display().to_string(), text)
    };
    let validation =
        jodo_conformance::validate::run(&schemas, &input, &label, &args.kind, args.profile)?;
    print!("{}", validation.text);
    if validation.documents > 1 {
        println!(
            "{} document(s), {} invalid",
            validation.documents, validation.invalid
        );
    }
    Ok(if validation.invalid == 0 {
        ExitCode::SUCCESS
    } else {
        super::failed()
    })
}

/// `coverage`: 0 every catalogue entry has a case, 1 some has none.
pub fn coverage(args: &CoverageArgs) -> anyhow::Result<ExitCode> {
    let schemas = contract()?;
    if args.fields {
        return field_coverage(&schemas, args);
    }
    let cases = match &args.cases {
        Some(dir) => jodo_conformance::case::from_dir(dir, &schemas)?,
        None => jodo_conformance::case::builtin(&schemas)?,
    };
    let cov = Coverage::of(schemas.catalog(), &cases);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cov)?);
    } else {
        print!("{}", cov.table(args.uncovered));
    }
    let missing = cov.uncovered().count();
    if missing == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("catalogue entries exercised by no case: {missing}");
        Ok(super::failed())
    }
}

/// `coverage --fields`: 0 every field's value is judged or has a reason.
fn field_coverage(
    schemas: &jodo_contract::Contract,
    args: &CoverageArgs,
) -> anyhow::Result<ExitCode> {
    use std::fmt::Write as _;
    let rows = jodo_contract::field_values::rows(schemas.catalog());
    let loose = rows.iter().filter(|r| !r.accounted_for()).count();
    let shown: Vec<_> = rows
        .iter()
        .filter(|r| !args.uncovered || !r.accounted_for())
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        let mut out = String::new();
        for r in &shown {
            let judged = if r.fixed {
                "fixed by its schema".to_owned()
            } else if !r.rules.is_empty() {
                r.rules.join(", ")
            } else if let Some(reason) = &r.reason {
                format!("type only ({reason})")
            } else {
                "NOTHING".to_owned()
            };
            let from = r
                .source
                .as_ref()
                .map(|s| format!("  = {s}"))
                .unwrap_or_default();
            let _ = writeln!(out, "{:<34} {:<15} {judged}{from}", r.event, r.field);
        }
        // Counted as shown: a fixed value first, then rules, then a reason.
        let fixed = rows.iter().filter(|r| r.fixed).count();
        let valued = rows
            .iter()
            .filter(|r| !r.fixed && !r.rules.is_empty())
            .count();
        let reasoned = rows
            .iter()
            .filter(|r| !r.fixed && r.rules.is_empty() && r.reason.is_some())
            .count();
        let _ = writeln!(
            out,
            "{} fields: {valued} judged by a value rule, {fixed} fixed by their schema, {reasoned} type only with a reason, {loose} with nothing",
            rows.len()
        );
        print!("{out}");
    }
    if loose == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("fields whose value nothing judges: {loose}");
        Ok(super::failed())
    }
}

/// `catalog`: the catalogue as tables or JSON.
pub fn catalog(json: bool) -> anyhow::Result<ExitCode> {
    let schemas = contract()?;
    if json {
        println!("{}", serde_json::to_string_pretty(schemas.catalog())?);
    } else {
        print!(
            "{}",
            jodo_conformance::catalog_view::table(schemas.catalog())
        );
    }
    Ok(ExitCode::SUCCESS)
}
