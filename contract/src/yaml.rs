//! YAML documents with source positions, so a schema error at a JSON
//! pointer can be reported at its line in the file a person wrote.
//!
//! serde_norway parses the value; yaml-rust2's marked events give each
//! node's line. Both read the same text.

use std::collections::HashMap;

use serde_json::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Lines (1-based) of the nodes of a YAML document, by JSON pointer.
#[derive(Debug, Default, Clone)]
pub struct Positions {
    lines: HashMap<String, usize>,
}

impl Positions {
    /// The line of the node at `pointer`, or of its nearest ancestor.
    pub fn line(&self, pointer: &str) -> Option<usize> {
        let mut p = pointer;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            let cut = p.rfind('/')?;
            p = &p[..cut];
        }
    }

    /// `line N, at POINTER` (or just the pointer when no line is known).
    pub fn describe(&self, pointer: &str) -> String {
        let shown = if pointer.is_empty() {
            "(root)"
        } else {
            pointer
        };
        match self.line(pointer) {
            Some(line) => format!("line {line}, at {shown}"),
            None => format!("at {shown}"),
        }
    }

    /// Schema errors as `line N, at POINTER: message`, the form every data
    /// file loader (scenarios, cases, mutants) reports them in.
    pub fn describe_errors(&self, errors: &[crate::SchemaError]) -> Vec<String> {
        errors
            .iter()
            .map(|e| format!("{}: {}", self.describe(&e.pointer), e.message))
            .collect()
    }
}

impl Positions {
    /// Puts the line in front of a problem written as `at POINTER: message`;
    /// other text is returned unchanged.
    pub fn locate(&self, problem: String) -> String {
        match problem
            .strip_prefix("at ")
            .and_then(|rest| rest.split_once(": "))
        {
            Some((pointer, message)) => format!("{}: {message}", self.describe(pointer)),
            None => problem,
        }
    }
}

/// Why a YAML document could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not valid YAML: {0}")]
pub struct YamlError(String);

/// Parses YAML text into a JSON value and the positions of its nodes.
///
/// # Errors
/// [`YamlError`] with the parser's line and column.
pub fn parse(text: &str) -> Result<(Value, Positions), YamlError> {
    let value: Value = serde_norway::from_str(text).map_err(|e| YamlError(e.to_string()))?;
    let mut collector = Collector::default();
    // Positions are a help for messages: a document serde_norway accepted
    // but this parser does not simply gets none.
    let _ = Parser::new_from_str(text).load(&mut collector, false);
    Ok((
        value,
        Positions {
            lines: collector.lines,
        },
    ))
}

enum Container {
    Map {
        pointer: String,
        key: Option<String>,
    },
    Seq {
        pointer: String,
        index: usize,
    },
}

#[derive(Default)]
struct Collector {
    stack: Vec<Container>,
    lines: HashMap<String, usize>,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Collector {
    /// Pointer of the node about to start, or None when it is a map key.
    fn next_pointer(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Container::Map { key: None, .. }) => None,
            Some(Container::Map {
                pointer,
                key: Some(k),
            }) => Some(format!("{pointer}/{}", escape(k))),
            Some(Container::Seq { pointer, index }) => Some(format!("{pointer}/{index}")),
        }
    }

    /// A value finished: the parent moves to its next key or item.
    fn advance(&mut self) {
        match self.stack.last_mut() {
            Some(Container::Map { key, .. }) => *key = None,
            Some(Container::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::Scalar(text, ..) => match self.next_pointer() {
                None => {
                    if let Some(Container::Map { pointer, key }) = self.stack.last_mut() {
                        self.lines
                            .entry(format!("{pointer}/{}", escape(&text)))
                            .or_insert(line);
                        *key = Some(text);
                    }
                }
                Some(p) => {
                    self.lines.entry(p).or_insert(line);
                    self.advance();
                }
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let pointer = self.next_pointer().unwrap_or_default();
                self.lines.entry(pointer.clone()).or_insert(line);
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Container::Map { pointer, key: None }
                    } else {
                        Container::Seq { pointer, index: 0 }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.advance();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_map_to_lines_in_block_and_flow_style() {
        let text = "name: x\nstates:\n  a:\n    on:\n      - when: opened\n        do: [{send: {media: chat}}, {delay_ms: 5}]\n      - {when: {frame: chat.send}, match: {/data/text: hi}}\n";
        let (value, pos) = parse(text).unwrap();
        assert_eq!(value["states"]["a"]["on"][1]["when"]["frame"], "chat.send");
        assert_eq!(pos.line("/name"), Some(1));
        assert_eq!(pos.line("/states/a/on/0/when"), Some(5));
        assert_eq!(pos.line("/states/a/on/0/do/1/delay_ms"), Some(6));
        assert_eq!(pos.line("/states/a/on/1/match/~1data~1text"), Some(7));
        assert_eq!(
            pos.line("/states/a/on/1/nothing/deeper"),
            Some(7),
            "falls back to the nearest ancestor"
        );
        assert_eq!(
            pos.describe("/states/a/on/0/when"),
            "line 5, at /states/a/on/0/when"
        );
        assert_eq!(pos.locate("at /name: bad".into()), "line 1, at /name: bad");
        assert_eq!(pos.locate("no pointer here".into()), "no pointer here");
    }
}
