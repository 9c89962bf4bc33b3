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
