//! Saving over a hand-edited file without losing what the user wrote: the file's own text
//! (comments, layout) is kept for every top-level field whose value did not change, and only
//! the fields that did (weights, history, …) are written anew.

use super::format::Experiment;
use super::io::{parse, to_text};
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

/// One top-level field of the experiment's text.
#[derive(Debug)]
struct Field {
    name: String,
    /// From the field's name to the end of its value.
    span: Range<usize>,
    /// The value alone.
    value: Range<usize>,
    /// The value holds a comment.
    commented: bool,
    /// A comma follows the value.
    comma: bool,
}

/// The top-level fields of an experiment's text, in order, and where the struct opens.
#[derive(Debug)]
struct Outline {
    fields: Vec<Field>,
    /// Just after the outer `(`.
    open: usize,
}

/// `text` with the fields of `new` that differ from `old` (the experiment `text` describes)
/// rewritten, and the names of the rewritten or removed fields whose comments were lost.
/// `None` when the text cannot be followed (then the caller writes `new` as a whole).
pub fn splice(text: &str, old: &Experiment, new: &Experiment) -> Option<(String, Vec<String>)> {
    let original = outline(text)?;
    let old_text = to_text(old);
    let new_text = to_text(new);
    let old_values = values(&old_text)?;
    let new_outline = outline(&new_text)?;
    let changed = |name: &str, value: &str| old_values.get(name).is_none_or(|old| *old != value);
    // (range, replacement), in order.
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut lost = Vec::new();
    for field in &original.fields {
        let new_value = new_outline
            .fields
            .iter()
            .find(|f| f.name == field.name)
            .map(|f| &new_text[f.value.clone()]);
        match new_value {
            Some(value) if !changed(&field.name, value) => {}
            Some(value) => edits.push((field.value.clone(), value.to_string())),
            None => edits.push((removal(text, field), String::new())),
        }
        if field.commented && new_value.is_none_or(|value| changed(&field.name, value)) {
            lost.push(field.name.clone());
        }
    }
    let mut added = String::new();
    for field in &new_outline.fields {
        let value = &new_text[field.value.clone()];
        if !original.fields.iter().any(|f| f.name == field.name) && changed(&field.name, value) {
            added += &format!("\n  {}: {value},", field.name);
        }
    }
    if !added.is_empty() {
        let at = match original.fields.last() {
            Some(last) if !last.comma => {
                added.insert(0, ',');
                last.span.end
            }
            Some(last) => text[last.span.end..]
                .find(',')
                .map_or(last.span.end, |i| last.span.end + i + 1),
            None => original.open,
        };
        edits.push((at..at, added));
        edits.sort_by_key(|(range, _)| range.start);
    }
    let mut out = String::with_capacity(text.len() + new_text.len());
    let mut at = 0;
    for (range, replacement) in edits {
        if range.start < at {
            return None;
        }
        out += &text[at..range.start];
        out += &replacement;
        at = range.end;
    }
    out += &text[at..];
    // Only a text that reads back as exactly `new` is used.
    match parse(&out, Path::new("")) {
        Ok(read) if read == *new => Some((out, lost)),
        _ => None,
    }
}

/// Whether `text` holds a `//` or `/* */` comment (outside strings).
pub fn has_comments(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if matches!(bytes.get(i + 1), Some(b'/' | b'*')) => return true,
            b'"' | b'\'' | b'r' => i = skip_literal(bytes, i),
            _ => i += 1,
        }
    }
    false
}

/// What removing `field` takes out: its line when it stands alone on it, else the field and
/// its comma.
fn removal(text: &str, field: &Field) -> Range<usize> {
    let mut end = field.span.end;
    if field.comma
        && let Some(i) = text[end..].find(',')
    {
        end += i + 1;
    }
    let line_start = text[..field.span.start].rfind('\n').map_or(0, |i| i + 1);
    let alone_before = text[line_start..field.span.start].trim().is_empty();
    let rest_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    let alone_after = text[end..rest_end].trim().is_empty();
    if alone_before && alone_after {
        line_start..rest_end
    } else {
        field.span.start..end
    }
}

/// Field name → value text, for the canonical text `to_text` writes.
fn values(text: &str) -> Option<HashMap<String, &str>> {
    let o = outline(text)?;
    Some(
        o.fields
            .iter()
            .map(|f| (f.name.clone(), &text[f.value.clone()]))
            .collect(),
    )
}

/// Skips white space and comments from `i`; `None` at an unterminated comment.
fn skip_trivia(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) == Some(&b'/') && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b.get(i) == Some(&b'/') && b.get(i + 1) == Some(&b'*') {
            let mut depth = 1;
            i += 2;
            while depth > 0 {
                match (b.get(i)?, b.get(i + 1)) {
                    (b'*', Some(b'/')) => (depth, i) = (depth - 1, i + 2),
                    (b'/', Some(b'*')) => (depth, i) = (depth + 1, i + 2),
                    _ => i += 1,
                }
            }
        } else {
            return Some(i);
        }
    }
}

/// Past a string, raw string or char literal starting at `i` (or past one byte if none does).
fn skip_literal(b: &[u8], i: usize) -> usize {
    match b[i] {
        b'"' | b'\'' => {
            let quote = b[i];
            let mut j = i + 1;
            while j < b.len() && b[j] != quote {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            (j + 1).min(b.len())
        }
        b'r' if !(i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) => {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                return i + 1;
            }
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let start = i + 2 + hashes;
            b[start..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| start + p + close.len())
        }
        _ => i + 1,
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The outline of an experiment text: `#![enable(…)]` lines, an optional struct name, `(`,
/// then `name: value` pairs.
fn outline(text: &str) -> Option<Outline> {
    let b = text.as_bytes();
    let mut i = skip_trivia(b, 0)?;
    while b.get(i) == Some(&b'#') {
        i = b[i..].iter().position(|&c| c == b']').map(|p| i + p + 1)?;
        i = skip_trivia(b, i)?;
    }
    while b.get(i).is_some_and(|&c| is_ident(c)) {
        i += 1;
    }
    i = skip_trivia(b, i)?;
    if b.get(i) != Some(&b'(') {
        return None;
    }
    let open = i + 1;
    i = open;
    let mut fields = Vec::new();
    loop {
        i = skip_trivia(b, i)?;
        match b.get(i)? {
            b')' => break,
            c if is_ident(*c) => {}
            _ => return None,
        }
        let start = i;
        while b.get(i).is_some_and(|&c| is_ident(c)) {
            i += 1;
        }
        let name = text[start..i].to_string();
        i = skip_trivia(b, i)?;
        if b.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_trivia(b, i + 1)?;
        i = value_start;
        let (mut depth, mut value_end) = (0usize, value_start);
        loop {
            i = skip_trivia(b, i)?;
            match *b.get(i)? {
                b',' | b')' | b']' | b'}' if depth == 0 => break,
                b'(' | b'[' | b'{' => (depth, i) = (depth + 1, i + 1),
                b')' | b']' | b'}' => (depth, i) = (depth - 1, i + 1),
                b'"' | b'\'' | b'r' => i = skip_literal(b, i),
                _ => i += 1,
            }
            value_end = i;
        }
        // Comments just before the comma belong to the gap, not the value.
        let comma = b[i] == b',';
        if comma {
            i += 1;
        }
        fields.push(Field {
            name,
            span: start..value_end,
            value: value_start..value_end,
            commented: has_comments(&text[value_start..value_end]),
            comma,
        });
        if !comma {
            i = skip_trivia(b, i)?;
            if b.get(i) != Some(&b')') {
                return None;
            }
            break;
        }
    }
    Some(Outline { fields, open })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HAND_WRITTEN: &str = "// A hand-written experiment.\n(\n  version: 1,\n  name: \"demo\", // its name\n  seed: 7,\n  \
         input: (height: 12, width: 12, channels: 1),\n  // the data\n  dataset: Bundled(\"shapes\"),\n  layers: [\n    \
         // one filter bank\n    Conv2D(filters: 2, kernel_size: (3, 3)),\n    Flatten,\n    Dense(units: 6),\n  ],\n  \
         training: (epochs: 1, /* short */ batch_size: 8)\n)\n";

    #[test]
    fn changed_fields_are_rewritten_and_comments_elsewhere_kept() {
        let old = parse(HAND_WRITTEN, Path::new("x.ron")).unwrap();
        let mut new = old.clone();
        new.class_names = vec!["a".into(), "b".into()];
        new.seed = 9;
        let (text, lost) = splice(HAND_WRITTEN, &old, &new).unwrap();
        for comment in [
            "// A hand-written",
            "// its name",
            "// the data",
            "// one filter bank",
            "/* short */",
        ] {
            assert!(text.contains(comment), "{comment} lost:\n{text}");
        }
        assert!(lost.is_empty(), "{lost:?}");
        assert_eq!(parse(&text, Path::new("x.ron")).unwrap(), new);
        assert!(text.contains("seed: 9"), "{text}");

        // A change inside a commented field loses its comments, and says so.
        let mut changed = new.clone();
        changed.layers.pop();
        let (text2, lost) = splice(&text, &new, &changed).unwrap();
        assert_eq!(lost, vec!["layers".to_string()]);
        assert!(text2.contains("// the data"), "{text2}");
        // Removing a field takes its line.
        let mut back = changed.clone();
        back.class_names.clear();
        let (text3, _) = splice(&text2, &changed, &back).unwrap();
        assert!(!text3.contains("class_names"), "{text3}");
        assert_eq!(parse(&text3, Path::new("x.ron")).unwrap(), back);
    }

    #[test]
    fn strings_that_look_like_comments_or_brackets_are_not() {
        let text = "(name: \"a // b ) ]\", version: 1, seed: 1, input: (height: 4, width: 4, channels: 1), \
                    dataset: Path(r#\"x\"/*\"#), layers: [])";
        let old = parse(text, Path::new("x.ron")).unwrap();
        assert!(!has_comments("(name: \"a // b\")"));
        let mut new = old.clone();
        new.seed = 2;
        let (out, lost) = splice(text, &old, &new).unwrap();
        assert!(lost.is_empty());
        assert_eq!(parse(&out, Path::new("x.ron")).unwrap(), new);
    }
}
