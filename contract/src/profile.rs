//! Contract profiles (see `schemas/AMBIGUITIES.md`).

use serde::{Deserialize, Serialize};

/// How strictly the contract is read where the API document is ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// One canonical form for everything.
    #[default]
    Strict,
    /// Every form the document shows is accepted.
    Compat,
}

impl Profile {
    /// Both profiles, strict first.
    pub const ALL: [Profile; 2] = [Profile::Strict, Profile::Compat];

    /// Name as used in paths, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Strict => "strict",
            Profile::Compat => "compat",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Profile::Strict),
            "compat" => Ok(Profile::Compat),
            other => Err(format!("unknown profile {other:?} (strict or compat)")),
        }
    }
}
