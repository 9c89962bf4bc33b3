//! YAML documents with source positions, so a schema error at a JSON
//! pointer can be reported at its line in the file a person wrote.
//!
//! One parser reads the text: yaml-rust2's marked events build the JSON
//! value and record each node's line as they go, so every data file of the
//! kit (scenarios, cases, mutants, key files, known results, the
//! catalogue) reports problems at lines, with the same rules for what a
//! scalar means (the YAML 1.2 core schema: `true`, `null`, numbers; any
//! quoted or tagged `!!str` scalar is text).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Largest data file the kit reads (scenario, case, mutant, key file):
/// hundreds of times the largest one it ships, and a bound on what a file
/// given by mistake (a log, a binary) can make a loader hold.
pub const MAX_DATA_FILE_BYTES: u64 = 1024 * 1024;

/// The text of a data file, refused past [`MAX_DATA_FILE_BYTES`] before
/// any of it is read (an error of kind `InvalidData` that says so).
///
/// # Errors
/// The file cannot be read, is too large, or is not UTF-8.
pub fn read_data_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let too_large = |len: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{len} bytes or more, over the {MAX_DATA_FILE_BYTES} bytes a data file may have"
            ),
        )
    };
    let len = file.metadata()?.len();
    if len > MAX_DATA_FILE_BYTES {
        return Err(too_large(len));
    }
    let mut text = String::new();
    // The size may grow while it is read (or the file be a pipe): read
    // one byte past the bound at most.
    file.take(MAX_DATA_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_DATA_FILE_BYTES {
        return Err(too_large(text.len() as u64));
    }
    Ok(text)
}

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
            // An empty document has no node: its root is line 1.
            None if pointer.is_empty() || self.lines.is_empty() => format!("line 1, at {shown}"),
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid YAML: {0}")]
pub struct YamlError(String);

/// Parses YAML text into a JSON value and the positions of its nodes. An
/// empty document is `null`; a stream of several documents is refused.
///
/// # Errors
/// [`YamlError`] with the line (and column) of the problem.
pub fn parse(text: &str) -> Result<(Value, Positions), YamlError> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|e| YamlError(e.to_string()))?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    if builder.documents > 1 {
        return Err(YamlError(
            "more than one document (a second `---`): a file holds one".into(),
        ));
    }
    Ok((
        builder.root.unwrap_or(Value::Null),
        Positions {
            lines: builder.lines,
        },
    ))
}

/// Reads YAML text as `T`: parsed with positions, then deserialized, a
/// type error reported at the line of the field it concerns.
///
/// # Errors
/// [`YamlError`] for bad YAML or a document that is not a `T`.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let (value, positions) = parse(text)?;
    from_value(value, &positions)
}

/// Deserializes a parsed document, naming the line of what does not fit.
///
/// # Errors
/// [`YamlError`] with the line and JSON pointer of the mismatch.
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: Value,
    positions: &Positions,
) -> Result<T, YamlError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = pointer_of(e.path());
        YamlError(format!("{}: {}", positions.describe(&pointer), e.inner()))
    })
}

/// The JSON pointer of a serde path (`a.b[2]` is `/a/b/2`).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", escape(key))),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// A container being built.
enum Open {
    Map {
        pointer: String,
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
    },
    Seq {
        pointer: String,
        items: Vec<Value>,
        anchor: usize,
    },
}

/// Builds the value and its positions from the parser's events.
#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Value>,
    lines: HashMap<String, usize>,
    anchors: BTreeMap<usize, Value>,
    documents: usize,
    error: Option<YamlError>,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// What a scalar means: text when quoted or tagged `!!str`, else the YAML
/// 1.2 core schema's null, booleans and numbers, else text.
fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    let tagged = tag.filter(|t| t.handle == "tag:yaml.org,2002:" || t.handle == "!!");
    if style != TScalarStyle::Plain || tagged.is_some_and(|t| t.suffix == "str") {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let integer = |digits: &str, radix: u32| {
        i64::from_str_radix(digits, radix)
            .map(Number::from)
            .ok()
            .or_else(|| u64::from_str_radix(digits, radix).map(Number::from).ok())
    };
    let number = if let Some(hex) = text.strip_prefix("0x") {
        integer(hex, 16)
    } else if let Some(oct) = text.strip_prefix("0o") {
        integer(oct, 8)
    } else {
        integer(text.strip_prefix('+').unwrap_or(&text), 10).or_else(|| {
            let looks_numeric = text.bytes().any(|b| b.is_ascii_digit())
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE_".contains(&b));
            looks_numeric
                .then(|| text.parse::<f64>().ok())
                .flatten()
                .and_then(Number::from_f64)
        })
    };
    number.map_or(Value::String(text), Value::Number)
}

impl Builder {
    /// Pointer of the node about to start, or None when it is a map key.
    fn next_pointer(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Open::Map { key: None, .. }) => None,
            Some(Open::Map {
                pointer,
                key: Some(k),
                ..
            }) => Some(format!("{pointer}/{}", escape(k))),
            Some(Open::Seq { pointer, items, .. }) => Some(format!("{pointer}/{}", items.len())),
        }
    }

    fn fail(&mut self, message: String, line: usize) {
        if self.error.is_none() {
            self.error = Some(YamlError(format!("{message} at line {line}")));
        }
    }

    /// A finished value goes into its parent (or becomes the document).
    fn place(&mut self, value: Value, anchor: usize, line: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Open::Seq { items, .. }) => items.push(value),
            Some(Open::Map { map, key, .. }) => {
                if let Some(k) = key.take() {
                    map.insert(k, value);
                } else {
                    self.fail("a mapping key must be a plain value".into(), line);
                }
            }
        }
    }

    /// A scalar that is a key of the open mapping.
    fn key(&mut self, text: String, line: usize) {
        let duplicate = match self.stack.last_mut() {
            Some(Open::Map {
                pointer, map, key, ..
            }) => {
                let duplicate = map.contains_key(&text);
                self.lines
                    .entry(format!("{pointer}/{}", escape(&text)))
                    .or_insert(line);
                *key = Some(text.clone());
                duplicate
            }
            _ => false,
        };
        if duplicate {
            self.fail(format!("duplicate key {text:?}"), line);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::DocumentStart => self.documents += 1,
            Event::Scalar(text, style, anchor, tag) => match self.next_pointer() {
                None => self.key(text, line),
                Some(p) => {
                    self.lines.entry(p).or_insert(line);
                    self.place(scalar(text, style, tag.as_ref()), anchor, line);
                }
            },
            Event::Alias(anchor) => {
                let value = self.anchors.get(&anchor).cloned().unwrap_or(Value::Null);
                match self.next_pointer() {
                    None => match value {
                        Value::String(k) => self.key(k, line),
                        _ => self.fail("a mapping key must be a plain value".into(), line),
                    },
                    Some(p) => {
                        self.lines.entry(p).or_insert(line);
                        self.place(value, 0, line);
                    }
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let Some(pointer) = self.next_pointer() else {
                    self.fail("a mapping key must be a plain value".into(), line);
                    // Build it anyway under a name no document can have, so
                    // the events stay balanced.
                    self.key("\0".into(), line);
                    return self.on_event(
                        if matches!(event, Event::MappingStart(..)) {
                            Event::MappingStart(anchor, None)
                        } else {
                            Event::SequenceStart(anchor, None)
                        },
                        mark,
                    );
                };
                self.lines.entry(pointer.clone()).or_insert(line);
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Open::Map {
                            pointer,
                            map: Map::new(),
                            key: None,
                            anchor,
                        }
                    } else {
                        Open::Seq {
                            pointer,
                            items: Vec::new(),
                            anchor,
                        }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Open::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                    Some(Open::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    None => return,
                };
                self.place(value, anchor, line);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_data_file_past_the_bound_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, vec![b'#'; MAX_DATA_FILE_BYTES as usize]).unwrap();
        assert_eq!(
            read_data_file(&path).unwrap().len() as u64,
            MAX_DATA_FILE_BYTES
        );
        std::fs::write(&path, vec![b'#'; MAX_DATA_FILE_BYTES as usize + 1]).unwrap();
        let err = read_data_file(&path).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("over the 1048576 bytes"), "{err}");
    }

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

    #[test]
    fn scalars_mean_what_yaml_1_2_says_and_quotes_keep_text() {
        let text = "a: 1\nb: -2.5\nc: true\nd: ~\ne: \"1\"\nf: 'true'\ng: !!str 7\nh: 0x1F\ni: yes\nj: 18446744073709551615\nk: 1e3\nl: 1.2.3\nm:\n";
        let (v, _) = parse(text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": -2.5, "c": true, "d": null, "e": "1", "f": "true",
                               "g": "7", "h": 31, "i": "yes", "j": 18446744073709551615u64,
                               "k": 1000.0, "l": "1.2.3", "m": null})
        );
        let (v, _) = parse("base: &b {x: 1}\nuse: *b\nlist: [*b]\n").unwrap();
        assert_eq!(v["use"], v["base"]);
        assert_eq!(v["list"][0]["x"], 1);
        assert_eq!(parse("").unwrap().0, Value::Null);
    }

    #[test]
    fn bad_documents_say_where() {
        let dup = parse("a: 1\nb: 2\na: 3\n").unwrap_err().to_string();
        assert!(dup.contains("duplicate key \"a\" at line 3"), "{dup}");
        let syntax = parse("a: [1, 2\nb: 3\n").unwrap_err().to_string();
        assert!(syntax.contains("line"), "{syntax}");
        let two = parse("a: 1\n---\nb: 2\n").unwrap_err().to_string();
        assert!(two.contains("more than one document"), "{two}");
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Keys {
            keys: Vec<Pair>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Pair {
            akey: String,
        }
        let typed = from_str::<Keys>("keys:\n  - akey: a\n  - akey: [x]\n")
            .unwrap_err()
            .to_string();
        assert!(typed.contains("line 3, at /keys/1/akey"), "{typed}");
    }
}

/// A JSON value as YAML text, for files the kit writes for people to read
/// and edit (a scenario made from a recording). Keys come out sorted.
pub fn to_text(value: &Value) -> String {
    fn yaml(v: &Value) -> yaml_rust2::Yaml {
        use yaml_rust2::Yaml;
        match v {
            Value::Null => Yaml::Null,
            Value::Bool(b) => Yaml::Boolean(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Yaml::Integer(i),
                None => Yaml::Real(n.to_string()),
            },
            Value::String(s) => Yaml::String(s.clone()),
            Value::Array(a) => Yaml::Array(a.iter().map(yaml).collect()),
            Value::Object(m) => {
                let mut hash = yaml_rust2::yaml::Hash::new();
                for (k, v) in m {
                    hash.insert(Yaml::String(k.clone()), yaml(v));
                }
                Yaml::Hash(hash)
            }
        }
    }
    let mut out = String::new();
    let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
    // Writing to a String cannot fail.
    let _ = emitter.dump(&yaml(value));
    out.push('\n');
    out
}

#[cfg(test)]
mod to_text_tests {
    use serde_json::json;

    #[test]
    fn what_is_written_reads_back_as_it_was() {
        let v = json!({"name": "r", "n": 3, "x": 1.5, "ok": true, "none": null,
                       "list": [{"send": {"msg": "a: b # c", "empty": "", "num": "12"}}, "drop"]});
        let text = super::to_text(&v);
        assert_eq!(super::parse(&text).unwrap().0, v, "{text}");
    }
}
