//! Conformance cases: data files in `conformance/cases/` (schema
//! `schemas/case.schema.json`), so an integrator adds one without Rust;
//! where cases form a matrix, one file in `cases/matrices/` stands for
//! them all ([`matrix`]).

use std::path::Path;

use include_dir::{Dir, include_dir};
use jodo_contract::Contract;
use serde::{Deserialize, Serialize};
use serde_json::Value;

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/cases");

/// Default whole-case limit.
pub const DEFAULT_CASE_TIMEOUT_MS: u64 = 15_000;
/// Default limit of one `wait` step.
pub const DEFAULT_WAIT_MS: u64 = 5_000;

/// One case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// Stable id, equal to the file name.
    pub id: String,
    /// What the case shows, in a sentence.
    pub title: String,
    /// Report grouping.
    pub area: String,
    /// Spec section, shown beside failures.
    #[serde(default)]
    pub spec: String,
    /// Contract rules exercised.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Scenario the mock runs.
    pub scenario: String,
    /// What the case needs from its backend, when written; see [`Case::needs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<Vec<Capability>>,
    /// Whole-case limit in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Steps done in the page, in order.
    pub steps: Vec<Step>,
    /// What the trace must show.
    #[serde(default)]
    pub expect: Expect,
    /// Whether the normalised event trace must equal the golden one kept
    /// in `snapshots/<id>.snap` beside the case.
    #[serde(default)]
    pub golden: bool,
    /// The golden snapshot file's text, when there is one.
    #[serde(skip)]
    pub golden_snapshot: Option<String>,
}

/// Text typed into an element.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Typing {
    /// CSS selector of the element.
    pub into: String,
    /// The text.
    pub text: String,
}

/// Something a backend may or may not be able to give a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// It runs the scenario the case names.
    Scenario,
    /// It fires the scenario's control triggers on the case's session.
    Control,
    /// It can be made to misbehave (drops, refusals, malformed frames).
    Faults,
}

impl Capability {
    /// The name used in case files and reasons.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Scenario => "scenario",
            Capability::Control => "control",
            Capability::Faults => "faults",
        }
    }
}

/// One step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    /// Call an SDK method.
    Call {
        /// Method name from the catalogue.
        call: String,
        /// Arguments (after `$repeat` expansion).
        #[serde(default)]
        args: Vec<Value>,
        /// Value it must return.
        #[serde(default)]
        returns: Option<Value>,
        /// Make the call from the click of a real WebDriver action, so it
        /// carries user activation (Firefox grants screen capture only then).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        gesture: bool,
    },
    /// Click an element of the page, as a user would (a real WebDriver
    /// action, with user activation).
    Click {
        /// CSS selector of the element.
        click: String,
    },
    /// Type text into an element of the page, as a user would.
    Type {
        /// Where and what.
        #[serde(rename = "type")]
        typing: Typing,
    },
    /// Wait until an element of the page is displayed.
    WaitVisible {
        /// CSS selector of the element.
        wait_visible: String,
        /// Limit in milliseconds.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// Wait for an event.
    Wait {
        /// `media/eventtype`.
        wait: String,
        /// Limit in milliseconds.
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// Fire a control trigger of the scenario on the case's live session:
    /// the agent's side of the conversation (request video, mute, hang up).
    Control {
        /// Trigger name, as the scenario's `when: {control: NAME}`.
        control: String,
    },
    /// Evaluate a JavaScript expression in the page, to look at what the
    /// widget did to it (tracks, elements, stylesheets).
    Eval {
        /// The expression.
        eval: String,
        /// Value it must have.
        #[serde(default)]
        returns: Option<Value>,
        /// The contract rule a wrong value breaks, for the failure message.
        #[serde(default)]
        rule: Option<String>,
    },
}

impl Step {
    /// The step as people read it in reports, arguments shortened.
    pub fn describe(&self) -> String {
        let want = |r: &Option<Value>| {
            r.as_ref()
                .map(|r| format!(" → expect {r}"))
                .unwrap_or_default()
        };
        let short = |v: &Value| {
            let text = v.to_string();
            if text.chars().count() <= 60 {
                text
            } else {
                let cut: String = text.chars().take(60).collect();
                format!("{cut}… ({} chars)", text.chars().count())
            }
        };
        match self {
            Step::Call {
                call,
                args,
                returns,
                ..
            } => {
                let args: Vec<String> = args.iter().map(short).collect();
                format!("call {call}({}){}", args.join(", "), want(returns))
            }
            Step::Wait { wait, .. } => format!("wait for {wait}"),
            Step::Control { control } => format!("agent side: {control}"),
            Step::Click { click } => format!("click {click}"),
            Step::Type { typing } => format!("type {:?} into {}", typing.text, typing.into),
            Step::WaitVisible { wait_visible, .. } => format!("wait until {wait_visible} is shown"),
            Step::Eval { eval, returns, .. } => {
                format!("look at the page: {eval}{}", want(returns))
            }
        }
    }

    /// Whether the runner does the step itself, through WebDriver or the
    /// backend, rather than the probe in the page.
    pub fn is_driver_step(&self) -> bool {
        matches!(
            self,
            Step::Control { .. }
                | Step::Click { .. }
                | Step::Type { .. }
                | Step::WaitVisible { .. }
                | Step::Call { gesture: true, .. }
        )
    }

    /// How reports name the step: the method called or the event awaited.
    pub fn label(&self) -> String {
        match self {
            Step::Call { call, .. } => call.clone(),
            Step::Wait { wait, .. } => format!("wait {wait}"),
            Step::Control { control } => format!("control {control}"),
            Step::Click { click } => format!("click {click}"),
            Step::Type { typing } => format!("type into {}", typing.into),
            Step::WaitVisible { wait_visible, .. } => format!("wait visible {wait_visible}"),
            Step::Eval { eval, .. } => format!("eval {eval}"),
        }
    }
}

/// Expectations over the event trace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Expect {
    /// Events that must occur in this order.
    #[serde(default)]
    pub in_order: Vec<ExpectedEvent>,
    /// Events that must not occur.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Events that must occur exactly this many times.
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, usize>,
}

/// One expected event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectedEvent {
    /// `media/eventtype`.
    pub event: String,
    /// Fields that must have exactly these values.
    #[serde(default)]
    pub fields: serde_json::Map<String, Value>,
}

impl Case {
    /// What the case needs from its backend: as written, or else the
    /// scenario it names, and control if it has control steps.
    pub fn needs(&self) -> Vec<Capability> {
        if let Some(needs) = &self.needs {
            return needs.clone();
        }
        let mut needs = vec![Capability::Scenario];
        if self.steps.iter().any(|s| matches!(s, Step::Control { .. })) {
            needs.push(Capability::Control);
        }
        needs
    }

    /// Whole-case limit.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms.unwrap_or(DEFAULT_CASE_TIMEOUT_MS))
    }
}

/// Why cases could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A case directory could not be read.
    #[error("cannot read cases from {path}: {source}")]
    Read {
        /// Directory or file.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// A case file is broken; every problem is listed with its field.
    #[error("{origin}: {}", problems.join("; "))]
    Invalid {
        /// File name.
        origin: String,
        /// Problems with JSON pointers.
        problems: Vec<String>,
    },
}

/// The cases built into this binary, sorted by id.
///
/// # Errors
/// [`CaseError::Invalid`] for a broken built-in case (a test loads them all).
pub fn builtin(schemas: &Contract) -> Result<Vec<Case>, CaseError> {
    let mut cases = Vec::new();
    for file in BUILTIN.files() {
        let name = file.path().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".yaml") {
            let text = file.contents_utf8().unwrap_or_default();
            let mut case = parse(text, &name, Some(id), schemas)?;
            case.golden_snapshot = BUILTIN
                .get_file(format!("snapshots/{id}.snap"))
                .and_then(|f| f.contents_utf8())
                .map(str::to_owned);
            cases.push(case);
        }
    }
    if let Some(matrices) = BUILTIN.get_dir("matrices") {
        for file in matrices.files() {
            let name = file.path().to_string_lossy().into_owned();
            if let Some(stem) = name
                .strip_prefix("matrices/")
                .and_then(|n| n.strip_suffix(".yaml"))
            {
                let text = file.contents_utf8().unwrap_or_default();
                cases.extend(matrix::expand(text, &name, Some(stem), schemas)?);
            }
        }
    }
    finish(cases)
}

/// Sorted by id, each id once: a matrix can make an id a file has.
fn finish(mut cases: Vec<Case>) -> Result<Vec<Case>, CaseError> {
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    let twice: Vec<String> = cases
        .windows(2)
        .filter(|w| w[0].id == w[1].id)
        .map(|w| {
            format!(
                "the case id {:?} is made twice (by a file and a matrix, or two matrices)",
                w[0].id
            )
        })
        .collect();
    if twice.is_empty() {
        Ok(cases)
    } else {
        Err(CaseError::Invalid {
            origin: "cases".into(),
            problems: twice,
        })
    }
}

/// Where a case in `dir` keeps its golden trace.
pub fn golden_path(dir: &Path, id: &str) -> std::path::PathBuf {
    dir.join("snapshots").join(format!("{id}.snap"))
}

/// One case file (a journey given on the command line); its golden trace
/// is looked for beside it, as for a folder of cases.
///
/// # Errors
/// [`CaseError`] for an unreadable or broken file.
pub fn from_file(path: &Path, schemas: &Contract) -> Result<Case, CaseError> {
    let text = jodo_contract::yaml::read_data_file(path).map_err(|source| CaseError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let mut case = parse(&text, &path.display().to_string(), id.as_deref(), schemas)?;
    if let Some(dir) = path.parent() {
        case.golden_snapshot = std::fs::read_to_string(golden_path(dir, &case.id)).ok();
    }
    Ok(case)
}

/// Every `*.yaml` case in a directory, sorted by id.
///
/// # Errors
/// [`CaseError`] for an unreadable directory or a broken case.
pub fn from_dir(dir: &Path, schemas: &Contract) -> Result<Vec<Case>, CaseError> {
    let mut cases = Vec::new();
    for (path, stem, text) in yaml_files(dir)? {
        let mut case = parse(&text, &path.display().to_string(), Some(&stem), schemas)?;
        case.golden_snapshot = std::fs::read_to_string(golden_path(dir, &case.id)).ok();
        cases.push(case);
    }
    let matrices = dir.join("matrices");
    if matrices.is_dir() {
        for (path, stem, text) in yaml_files(&matrices)? {
            cases.extend(matrix::expand(
                &text,
                &path.display().to_string(),
                Some(&stem),
                schemas,
            )?);
        }
    }
    finish(cases)
}

/// The `*.yaml` files of a folder: path, name without `.yaml`, text.
fn yaml_files(dir: &Path) -> Result<Vec<(std::path::PathBuf, String, String)>, CaseError> {
    let read_err = |source| CaseError::Read {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text =
                jodo_contract::yaml::read_data_file(&path).map_err(|source| CaseError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((path, stem, text));
        }
    }
    Ok(files)
}

/// Parses one case and checks it: YAML, the case schema, then the
/// catalogue (methods exist, expected return codes are documented ones,
/// events exist) and that the id matches the file name.
///
/// # Errors
/// [`CaseError::Invalid`] listing every problem.
pub fn parse(
    text: &str,
    origin: &str,
    file_id: Option<&str>,
    schemas: &Contract,
) -> Result<Case, CaseError> {
    let invalid = |problems| CaseError::Invalid {
        origin: origin.to_owned(),
        problems,
    };
    use jodo_contract::checked::{self, CheckedError};
    let checked::Checked {
        value: mut case,
        positions,
    } = checked::load::<Case>(text, "case.schema.json", schemas).map_err(|e| match e {
        CheckedError::Syntax(e) => invalid(vec![e.to_string()]),
        CheckedError::Invalid(problems) => invalid(problems),
    })?;
    let mut problems = Vec::new();
    if let Some(id) = file_id {
        if id != case.id {
            problems.push(format!(
                "id {:?} does not match the file name {id:?}",
                case.id
            ));
        }
    }
    problems.extend(against_catalog(&mut case, schemas));
    if problems.is_empty() {
        Ok(case)
    } else {
        Err(invalid(
            problems.into_iter().map(|p| positions.locate(p)).collect(),
        ))
    }
}

/// A case made by the kit rather than read from text (a matrix's
/// combination), checked as a file is: the case schema, then the
/// catalogue.
///
/// # Errors
/// Every problem, each `at POINTER: message`.
pub fn from_value(value: Value, schemas: &Contract) -> Result<Case, Vec<String>> {
    let errors = schemas.validate("case.schema.json", &value);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| {
                let at = if e.pointer.is_empty() {
                    "(root)"
                } else {
                    &e.pointer
                };
                format!("at {at}: {}", e.message)
            })
            .collect());
    }
    let mut case: Case = serde_json::from_value(value).map_err(|e| vec![e.to_string()])?;
    let problems = against_catalog(&mut case, schemas);
    if problems.is_empty() {
        Ok(case)
    } else {
        Err(problems)
    }
}

/// What the schema cannot say, each `at POINTER: message`: methods,
/// return codes, events and rules exist in the catalogue. `$repeat`
/// arguments are expanded on the way.
fn against_catalog(case: &mut Case, schemas: &Contract) -> Vec<String> {
    let mut problems = Vec::new();
    let catalog = schemas.catalog();
    let check_event = |key: &str, at: String, problems: &mut Vec<String>| {
        let known = key
            .split_once('/')
            .is_some_and(|(m, e)| catalog.event(m, e).is_some());
        if !known {
            problems.push(format!("at {at}: {key} is not an event of the catalogue"));
        }
    };
    for (i, step) in case.steps.iter_mut().enumerate() {
        match step {
            Step::Call {
                call,
                args,
                returns,
                ..
            } => {
                match catalog.method(call) {
                    None => problems.push(format!(
                        "at /steps/{i}/call: {call} is not a method of the catalogue"
                    )),
                    Some(m) => {
                        if let (Some(code), false) = (
                            returns.as_ref().and_then(Value::as_i64),
                            m.returns.is_empty(),
                        ) {
                            if m.return_meaning(code).is_none() {
                                problems.push(format!(
                                    "at /steps/{i}/returns: {code} is not a documented return code of {call} ({})",
                                    m.returns.keys().cloned().collect::<Vec<_>>().join(", ")
                                ));
                            }
                        }
                    }
                }
                for arg in args.iter_mut() {
                    expand_repeat(arg);
                }
            }
            Step::Wait { wait, .. } => check_event(wait, format!("/steps/{i}/wait"), &mut problems),
            Step::Control { .. }
            | Step::Click { .. }
            | Step::Type { .. }
            | Step::WaitVisible { .. } => {}
            Step::Eval {
                rule: Some(rule), ..
            } if catalog.rule(rule).is_none() => {
                problems.push(format!(
                    "at /steps/{i}/rule: {rule} is not a rule of the catalogue"
                ));
            }
            Step::Eval { .. } => {}
        }
    }
    for (i, e) in case.expect.in_order.iter().enumerate() {
        check_event(
            &e.event,
            format!("/expect/in_order/{i}/event"),
            &mut problems,
        );
    }
    for (i, key) in case.expect.absent.iter().enumerate() {
        check_event(key, format!("/expect/absent/{i}"), &mut problems);
    }
    for key in case.expect.counts.keys() {
        check_event(key, format!("/expect/counts/{key}"), &mut problems);
    }
    for (i, rule) in case.rules.iter().enumerate() {
        if catalog.rule(rule).is_none() {
            problems.push(format!(
                "at /rules/{i}: {rule:?} is not a rule of the catalogue ({})",
                catalog
                    .rules
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    problems
}

/// Replaces `{"$repeat": TEXT, "times": N}` with TEXT repeated N times.
fn expand_repeat(arg: &mut Value) {
    let repeated = arg.as_object().and_then(|o| {
        let text = o.get("$repeat")?.as_str()?;
        let times = o.get("times")?.as_u64()?;
        Some(text.repeat(usize::try_from(times).ok()?))
    });
    if let Some(s) = repeated {
        *arg = Value::String(s);
    }
}

pub mod matrix;

#[cfg(test)]
mod tests;
