//! The certification report: one typed value that is `report.json`
//! (`schemas/certify-report.schema.json`), rendered as HTML and JUnit by
//! [`super::render`]. The verdict is derived from the checks here, once.

use serde::{Deserialize, Serialize};

use crate::report::{BrowserInfo, CaseReport, Summary, WidgetInfo};

/// Format version of the certification report.
pub const CERTIFY_REPORT_VERSION: u32 = 1;

/// What the page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certification {
    /// Every required and advisory check passed (or could not apply).
    Certified,
    /// Every required check passed; some advisory one did not.
    CertifiedWithAdvisories,
    /// A required check failed.
    NotCertified,
}

impl Certification {
    /// The words for it.
    pub fn label(self) -> &'static str {
        match self {
            Certification::Certified => "certified",
            Certification::CertifiedWithAdvisories => "certified with advisories",
            Certification::NotCertified => "not certified",
        }
    }
}

/// How much a check weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// A failure means not certified.
    Required,
    /// A failure is listed as an advisory.
    Advisory,
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// The page does what the check asks.
    Pass,
    /// It does not.
    Fail,
    /// The check has nothing to look at on this page (with why).
    NotApplicable,
    /// Listed for a person to verify.
    Manual,
}

impl CheckState {
    /// The words for it.
    pub fn label(self) -> &'static str {
        match self {
            CheckState::Pass => "pass",
            CheckState::Fail => "fail",
            CheckState::NotApplicable => "not applicable",
            CheckState::Manual => "manual",
        }
    }
}

/// One page check's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageCheckResult {
    /// The catalogue's id.
    pub id: String,
    /// Its grade.
    pub grade: Grade,
    /// What it found.
    pub state: CheckState,
    /// What it asks, from the catalogue.
    pub summary: String,
    /// The spec section it comes from.
    pub section: String,
    /// What shows it: events, console lines, request URLs (keys shown by name).
    pub evidence: Vec<String>,
}

/// The page under certification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageInfo {
    /// The URL loaded.
    pub url: String,
    /// Its origin.
    pub origin: String,
    /// SHA-256 of the HTML as served, when the proxy saw it.
    pub sha256: Option<String>,
    /// The page's extdata, keys masked.
    pub extdata: Option<serde_json::Value>,
}

/// A whole certification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertifyReport {
    /// Format version ([`CERTIFY_REPORT_VERSION`]).
    pub report_version: u32,
    /// `jodo-conformance` version.
    pub tool_version: String,
    /// Spec the catalogue was written from.
    pub spec: String,
    /// When it started, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
    /// The verdict.
    pub verdict: Certification,
    /// The page.
    pub page: PageInfo,
    /// The SDK build the page ran.
    pub widget: WidgetInfo,
    /// The browser.
    pub browser: BrowserInfo,
    /// Hosts answered from the mock.
    pub jodo_hosts: Vec<String>,
    /// Every page check, catalogue order.
    pub checks: Vec<PageCheckResult>,
    /// Counts of the cases run on the page.
    pub summary: Summary,
    /// The cases (built-in and trials) run on the page.
    pub cases: Vec<CaseReport>,
    /// The integrator's own journeys, when given.
    #[serde(default)]
    pub journeys: Vec<CaseReport>,
    /// A PNG of the page once the session started, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot_png: Option<String>,
}

/// The verdict of a set of check results.
pub fn certification(checks: &[PageCheckResult]) -> Certification {
    let failed = |grade: Grade| {
        checks
            .iter()
            .any(|c| c.grade == grade && c.state == CheckState::Fail)
    };
    if failed(Grade::Required) {
        Certification::NotCertified
    } else if failed(Grade::Advisory) {
        Certification::CertifiedWithAdvisories
    } else {
        Certification::Certified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(grade: Grade, state: CheckState) -> PageCheckResult {
        PageCheckResult {
            id: "x".into(),
            grade,
            state,
            summary: String::new(),
            section: String::new(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn a_required_failure_decides_and_advisories_only_qualify() {
        use CheckState::*;
        use Grade::*;
        assert_eq!(
            certification(&[check(Required, Pass), check(Advisory, Pass)]),
            Certification::Certified
        );
        assert_eq!(
            certification(&[
                check(Required, Pass),
                check(Advisory, Fail),
                check(Advisory, Manual)
            ]),
            Certification::CertifiedWithAdvisories
        );
        assert_eq!(
            certification(&[check(Required, Fail), check(Advisory, Fail)]),
            Certification::NotCertified
        );
        assert_eq!(
            certification(&[check(Required, NotApplicable), check(Advisory, Manual)]),
            Certification::Certified
        );
    }
}
