//! JSON pointers (RFC 6901) as a dialect uses them: split once when the
//! dialect is loaded, then read, taken out of, and written into frames.

use serde_json::{Map, Value};

/// A pointer split into its reference tokens, unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pointer {
    text: String,
    tokens: Vec<String>,
}

impl Pointer {
    /// A pointer from its text; `None` for the root or a text that is not
    /// a pointer (the dialect schema allows neither).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('/')?;
        let tokens = rest
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        Some(Self {
            text: text.to_owned(),
            tokens,
        })
    }

    /// As written in the dialect file.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `self` is `other` or lies inside it: two fields at such
    /// pointers would overwrite each other.
    pub fn overlaps(&self, other: &Pointer) -> bool {
        let n = self.tokens.len().min(other.tokens.len());
        self.tokens[..n] == other.tokens[..n]
    }

    /// The value at the pointer.
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.tokens.iter().try_fold(value, |v, t| match v {
            Value::Object(m) => m.get(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    }

    /// Takes the value at the pointer out of `value` (objects only).
    pub fn take(&self, value: &mut Value) -> Option<Value> {
        let (last, parents) = self.tokens.split_last()?;
        let mut at = value;
        for t in parents {
            at = at.as_object_mut()?.get_mut(t)?;
        }
        at.as_object_mut()?.remove(last)
    }

    /// Puts `new` at the pointer, making the objects on the way; a member
    /// on the way that is not an object is replaced by one.
    pub fn set(&self, value: &mut Value, new: Value) {
        let Some((last, parents)) = self.tokens.split_last() else {
            *value = new;
            return;
        };
        let mut at = value;
        for t in parents {
            at = object(at)
                .entry(t.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        object(at).insert(last.clone(), new);
    }
}

fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(m) => m,
        _ => unreachable!("made an object just above"),
    }
}

/// Pointers of every leaf of a template (a member that is not a non-empty
/// object), for the overlap check.
pub fn leaves(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    walk(
                        v,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            _ if !at.is_empty() => out.push(at),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_read_take_and_write() {
        let p = Pointer::parse("/params/a~1b").unwrap();
        let mut v = json!({"params": {"a/b": 3, "c": 4}});
        assert_eq!(p.get(&v), Some(&json!(3)));
        assert_eq!(p.take(&mut v), Some(json!(3)));
        assert_eq!(v, json!({"params": {"c": 4}}));
        p.set(&mut v, json!("x"));
        assert_eq!(v, json!({"params": {"a/b": "x", "c": 4}}));
        Pointer::parse("/params/c/d").unwrap().set(&mut v, json!(1));
        assert_eq!(v["params"]["c"], json!({"d": 1}));
        assert!(Pointer::parse("").is_none());
        assert!(Pointer::parse("params").is_none());
    }

    #[test]
    fn overlap_is_equality_or_nesting() {
        let p = |s| Pointer::parse(s).unwrap();
        assert!(p("/params").overlaps(&p("/params/n")));
        assert!(p("/params/n").overlaps(&p("/params")));
        assert!(p("/a").overlaps(&p("/a")));
        assert!(!p("/params/n").overlaps(&p("/params/ref")));
        assert_eq!(
            leaves(&json!({"a": {"b": 1, "c": {}}, "d": "x"})),
            ["/a/b", "/a/c", "/d"]
        );
    }
}
