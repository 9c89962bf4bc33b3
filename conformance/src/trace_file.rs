//! Traces recorded elsewhere (`jodo-conformance check-trace`): a browser
//! console as the spec's reference callback handler prints it (`Event data
//! :: {json}` lines, everything else ignored), JSON Lines of eventdata, or
//! a kit `report.json`. Files are read line by line and every record goes
//! straight to the schema check and the rule stream, so a log of any size
//! is checked in the memory of its longest session; a page navigation in a
//! console log begins a new trace.

use std::io::{BufRead, Read};
use std::path::Path;

use jodo_contract::Profile;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::checks::rules::{RuleStream, Seen};
use crate::checks::{CheckContext, schema};
use crate::report::{CheckResult, Failure, Outcome, WidgetInfo};

/// What the spec's reference handler writes before each eventdata.
pub const MARKER: &str = "Event data :: ";

/// How many schema failures one trace keeps.
const SCHEMA_FAILURES_KEPT: usize = 200;

/// How often a long file reports how far it is.
const PROGRESS_EVERY: u64 = 128 << 20;

/// How far the reading of a long file is.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
}

/// How a file holds its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    /// Decide from the file: a report.json, a console log (a marker line
    /// among the first lines), or JSON Lines.
    Auto,
    /// A browser console log with `Event data :: {json}` lines.
    Console,
    /// One eventdata JSON object per line.
    Jsonl,
    /// A kit report.json.
    Report,
}

/// Why a file cannot be checked (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TraceFileError {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// A line that should hold JSON does not (cut short, or not JSON).
    #[error("{path}:{line}: {what}: {message}")]
    BadLine {
        /// The file.
        path: String,
        /// The line.
        line: u64,
        /// What was expected there.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
    /// No event in it at all.
    #[error("{path}: no eventdata in it ({hint})")]
    Empty {
        /// The file.
        path: String,
        /// What the kit looked for.
        hint: &'static str,
    },
    /// A report.json that is not one.
    #[error("{path}: not a jodo-conformance report.json: {message}")]
    NotReport {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// One trace of a file, checked.
#[derive(Debug, Clone)]
pub struct CheckedTrace {
    /// `FILE`, `FILE#2` for the second page of a console log, or
    /// `FILE#case-id` for a case of a report.json.
    pub id: String,
    /// The lines it spans (`lines 3–1 204`), or the case it is.
    pub title: String,
    /// Events checked.
    pub events: usize,
    /// The schema and rule checks.
    pub checks: Vec<CheckResult>,
    /// The outcome, from the checks.
    pub outcome: Outcome,
}

/// One trace as it is read: the rules and the schema so far.
struct Running<'c> {
    ctx: &'c CheckContext<'c>,
    rules: RuleStream,
    schema: Vec<Failure>,
    schema_more: usize,
    strict_clean: bool,
    compat_clean: bool,
    events: usize,
    first_line: u64,
    last_line: u64,
}

impl<'c> Running<'c> {
    fn new(ctx: &'c CheckContext<'c>, first_line: u64) -> Self {
        let mut rules = RuleStream::new();
        rules.see(&Seen::CallsNotRecorded, ctx);
        Self {
            ctx,
            rules,
            schema: Vec::new(),
            schema_more: 0,
            strict_clean: true,
            compat_clean: true,
            events: 0,
            first_line,
            last_line: first_line,
        }
    }

    fn event(&mut self, line: Option<u64>, event: &Value) {
        let index = self.events;
        self.events += 1;
        if let Some(l) = line {
            self.last_line = l;
        }
        let object = event.is_object().then_some(event);
        let js_type = if object.is_some() { "object" } else { "value" };
        let failures =
            schema::event_failures(index, line, object, js_type, self.ctx, self.ctx.profile);
        if !failures.is_empty() {
            // Whether compat forgives it, for a non-strict outcome.
            let other = match self.ctx.profile {
                Profile::Strict => Profile::Compat,
                Profile::Compat => Profile::Strict,
            };
            let in_other =
                schema::event_failures(index, line, object, js_type, self.ctx, other).is_empty();
            match self.ctx.profile {
                Profile::Strict => {
                    self.strict_clean = false;
                    self.compat_clean &= in_other;
                }
                Profile::Compat => self.compat_clean = false,
            }
        } else if self.ctx.profile == Profile::Compat
            && !schema::event_failures(index, line, object, js_type, self.ctx, Profile::Strict)
                .is_empty()
        {
            self.strict_clean = false;
        }
        for f in failures {
            if self.schema.len() < SCHEMA_FAILURES_KEPT {
                self.schema.push(f);
            } else {
                self.schema_more += 1;
            }
        }
        self.rules
            .see(&Seen::Event { index, line, event }, self.ctx);
    }

    fn finish(mut self, id: String, title: Option<String>) -> CheckedTrace {
        if self.schema_more > 0 {
            let more = self.schema_more;
            self.schema.push(Failure::new(
                "schema",
                format!("… and {more} more schema failures"),
            ));
        }
        let checks = vec![
            CheckResult::from_failures("schema", self.schema),
            CheckResult::from_failures("rules", self.rules.finish()),
        ];
        let (strict, compat) = (self.strict_clean, self.compat_clean);
        let outcome = crate::verdict::outcome_of(&checks, |p| match p {
            Profile::Strict => strict,
            Profile::Compat => compat,
        });
        CheckedTrace {
            id,
            title: title.unwrap_or_else(|| format!("lines {}–{}", self.first_line, self.last_line)),
            events: self.events,
            checks,
            outcome,
        }
    }
}

/// The JSON value at the start of `text`, ignoring what follows it (a
/// console's source location after the logged text).
fn leading_json(text: &str) -> Result<Value, serde_json::Error> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match values.next() {
        Some(v) => v,
        None => serde_json::from_str(""),
    }
}

/// Whether a console line is a page navigation (Chromium: `Navigated to
/// URL`; Firefox: `Navigated to URL` too, in saved logs).
fn is_navigation(line: &str) -> bool {
    line.trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ':' || c == '.' || c == ' ')
        .starts_with("Navigated to ")
}

/// Checks files one after the other, hashing what it reads so the report
/// says exactly which bytes were checked.
pub struct Checker<'c> {
    ctx: &'c CheckContext<'c>,
    format: TraceFormat,
    digest: Sha256,
    files: Vec<String>,
}

/// A reader that hashes every byte it hands on.
struct Hashing<'d, R> {
    inner: R,
    digest: &'d mut Sha256,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

impl<'c> Checker<'c> {
    /// A checker for files of `format`, in the context's profile.
    pub fn new(ctx: &'c CheckContext<'c>, format: TraceFormat) -> Self {
        Self {
            ctx,
            format,
            digest: Sha256::new(),
            files: Vec::new(),
        }
    }

    /// Checks every trace of one file.
    ///
    /// # Errors
    /// [`TraceFileError`] for an unreadable file, a line of JSON cut short, a
    /// file with no event, or a report.json that is not one.
    pub fn file(
        &mut self,
        path: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<CheckedTrace>, TraceFileError> {
        self.files.push(path.display().to_string());
        let file = std::fs::File::open(path).map_err(|source| TraceFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let reader = Hashing {
            inner: file,
            digest: &mut self.digest,
        };
        check_reader(reader, path, self.format, self.ctx, progress)
    }

    /// The run report of the traces of every file checked: one case per
    /// trace, each settled as a run's cases are, so `check-trace` writes
    /// the reports `run` writes.
    pub fn report(
        self,
        traces: Vec<CheckedTrace>,
        started_at: String,
        wall: std::time::Duration,
    ) -> crate::report::RunReport {
        run_report(
            traces,
            self.ctx,
            WidgetInfo {
                file: self.files.join(", "),
                sha256: hex::encode(self.digest.finalize()),
                sdk_version: None,
            },
            started_at,
            wall,
        )
    }
}

fn check_reader(
    file: impl Read,
    path: &Path,
    format: TraceFormat,
    ctx: &CheckContext<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<CheckedTrace>, TraceFileError> {
    let shown = path.display().to_string();
    let read_err = |source| TraceFileError::Read {
        path: shown.clone(),
        source,
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let format = match format {
        TraceFormat::Auto => detect(&mut reader).map_err(read_err)?,
        other => other,
    };
    if format == TraceFormat::Report {
        return check_report(reader, &shown, ctx);
    }
    let mut traces = Vec::new();
    let mut current = Running::new(ctx, 1);
    let mut segment = 1;
    let mut line_no = 0u64;
    let (mut read, mut next_progress) = (0u64, PROGRESS_EVERY);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(read_err)? == 0 {
            break;
        }
        line_no += 1;
        read += line.len() as u64;
        if read >= next_progress {
            next_progress = read + PROGRESS_EVERY;
            progress(Progress {
                bytes: read,
                lines: line_no,
            });
        }
        let text = line.trim_end_matches(['\n', '\r']);
        match format {
            TraceFormat::Console => {
                if let Some(at) = text.find(MARKER) {
                    let event = leading_json(&text[at + MARKER.len()..]).map_err(|e| {
                        TraceFileError::BadLine {
                            path: shown.clone(),
                            line: line_no,
                            what: "the JSON after 'Event data ::' does not parse",
                            message: e.to_string(),
                        }
                    })?;
                    current.event(Some(line_no), &event);
                } else if is_navigation(text) && current.events > 0 {
                    let id = format!("{shown}#{segment}");
                    traces.push(
                        std::mem::replace(&mut current, Running::new(ctx, line_no + 1))
                            .finish(id, None),
                    );
                    segment += 1;
                }
            }
            _ => {
                if text.trim().is_empty() {
                    continue;
                }
                let event: Value =
                    serde_json::from_str(text).map_err(|e| TraceFileError::BadLine {
                        path: shown.clone(),
                        line: line_no,
                        what: "not one JSON eventdata per line",
                        message: e.to_string(),
                    })?;
                current.event(Some(line_no), &event);
            }
        }
    }
    if current.events > 0 {
        let id = if segment == 1 {
            shown.clone()
        } else {
            format!("{shown}#{segment}")
        };
        traces.push(current.finish(id, None));
    }
    if traces.is_empty() {
        return Err(TraceFileError::Empty {
            path: shown,
            hint: match format {
                TraceFormat::Console => "no line holds 'Event data :: ' followed by the eventdata",
                _ => "no JSON line",
            },
        });
    }
    Ok(traces)
}

/// Looks at the start of the file: `{"report_version"` is a report, a
/// marker among the first lines or a first line that is not JSON a console
/// log, anything else JSON Lines.
fn detect(reader: &mut impl BufRead) -> std::io::Result<TraceFormat> {
    let head = reader.fill_buf()?;
    let text = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("").trim_start();
    let second = lines.next().unwrap_or("").trim_start();
    if first.starts_with('{') && !second.starts_with('{') && text.contains("\"report_version\"") {
        Ok(TraceFormat::Report)
    } else if text.contains(MARKER) || !first.starts_with('{') {
        Ok(TraceFormat::Console)
    } else {
        Ok(TraceFormat::Jsonl)
    }
}

/// The cases of a report.json, each fed through the same checks.
fn check_report(
    reader: impl Read,
    shown: &str,
    ctx: &CheckContext<'_>,
) -> Result<Vec<CheckedTrace>, TraceFileError> {
    let report: crate::report::RunReport =
        serde_json::from_reader(reader).map_err(|e| TraceFileError::NotReport {
            path: shown.to_owned(),
            message: e.to_string(),
        })?;
    let mut traces = Vec::new();
    for case in &report.cases {
        let trace = crate::trace::CaseTrace {
            steps: case.steps.clone(),
            probe: case.probe.clone(),
            stopped: false,
        };
        let checks = vec![
            CheckResult::from_failures("schema", schema::check(&trace, ctx)),
            CheckResult::from_failures("rules", crate::checks::rules::check(&trace, ctx)),
        ];
        let outcome =
            crate::verdict::outcome_of(&checks, |p| schema::check_in(&trace, ctx, p).is_empty());
        traces.push(CheckedTrace {
            id: format!("{shown}#{}", case.id),
            title: case.title.clone(),
            events: case.probe.events.len(),
            checks,
            outcome,
        });
    }
    if traces.iter().all(|t| t.events == 0) {
        return Err(TraceFileError::Empty {
            path: shown.to_owned(),
            hint: "its cases recorded no event",
        });
    }
    Ok(traces)
}

fn run_report(
    traces: Vec<CheckedTrace>,
    ctx: &CheckContext<'_>,
    widget: WidgetInfo,
    started_at: String,
    wall: std::time::Duration,
) -> crate::report::RunReport {
    use crate::report::{BrowserInfo, CaseReport, REPORT_VERSION, Summary, Timing};
    let cases: Vec<CaseReport> = traces
        .into_iter()
        .map(|t| CaseReport {
            id: t.id,
            title: format!("{} ({} events)", t.title, t.events),
            area: "recorded trace".into(),
            spec: String::new(),
            scenario: "recorded".into(),
            outcome: t.outcome,
            status: crate::verdict::status_of(t.outcome, None, ctx.profile),
            duration_ms: 0,
            overhead_ms: 0,
            reason: None,
            expected: None,
            checks: t.checks,
            steps: Vec::new(),
            probe: crate::trace::ProbeRecord::default(),
            wire: Vec::new(),
            console: Vec::new(),
        })
        .collect();
    crate::report::RunReport {
        report_version: REPORT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        spec: ctx.schemas.catalog().spec.clone(),
        started_at,
        duration_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        profile: ctx.profile.name().into(),
        widget,
        browser: BrowserInfo {
            name: "recorded".into(),
            version: "-".into(),
        },
        jobs: 1,
        summary: Summary::of(&cases),
        timing: Timing::of(&cases, wall),
        coverage: crate::coverage::Coverage::of(ctx.schemas.catalog(), &[]),
        cases,
        kill_matrix: None,
        interrupted: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_give_their_json_and_navigations_split_pages() {
        let v = leading_json(r#"{"media":"chat","eventtype":"typing"} index.html:419:11"#).unwrap();
        assert_eq!(v["eventtype"], "typing");
        assert!(leading_json(r#"{"media":"chat","eventty"#).is_err());
        assert!(is_navigation("Navigated to http://localhost:3000/help"));
        assert!(is_navigation("12:00:01.123 Navigated to http://x/"));
        assert!(!is_navigation("Event data :: {}"));
    }
}
