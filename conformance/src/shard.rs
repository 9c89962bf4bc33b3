//! `--shard K/N`: a deterministic share of the cases, so several CI
//! machines can split one suite and together run every case exactly once.

use std::fmt;
use std::str::FromStr;

use crate::case::Case;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// Every `count`-th case starting at `index`, in case-id order: the
    /// split depends only on the ids, never on timing or machine.
    pub fn select(self, mut cases: Vec<Case>) -> Vec<Case> {
        cases.sort_by(|a, b| a.id.cmp(&b.id));
        cases
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index - 1)
            .map(|(_, c)| c)
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not K/N (for example 2/4)"))?;
        let index: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("shard index {k:?} is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count {n:?} is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {s:?}: need 1 <= K <= N"));
        }
        Ok(Self { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
        for bad in ["0/3", "4/3", "1/0", "x/2", "2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_the_cases() {
        let schemas = jodo_contract::Contract::embedded().unwrap();
        let all = crate::case::builtin(&schemas).unwrap();
        let mut seen: Vec<String> = Vec::new();
        for k in 1..=3 {
            let shard: Shard = format!("{k}/3").parse().unwrap();
            seen.extend(shard.select(all.clone()).into_iter().map(|c| c.id));
        }
        let mut ids: Vec<String> = all.into_iter().map(|c| c.id).collect();
        ids.sort();
        seen.sort();
        assert_eq!(seen, ids, "every case in exactly one shard");
    }
}
