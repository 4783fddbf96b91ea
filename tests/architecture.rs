//! The house rules ARCHITECTURE.md states, checked on the source itself: no file of `src/` over
//! 700 lines (except the AVX-512 kernel), and no import circle between the files of one folder
//! (a subfolder counts as one file of its parent).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 700;
const LONG_FILES_ALLOWED: [&str; 1] = ["src/cnn/gemm/avx512.rs"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(src().parent().unwrap())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn no_source_file_is_over_700_lines() {
    let long: Vec<String> = rust_files(&src())
        .into_iter()
        .map(|p| (relative(&p), fs::read_to_string(&p).unwrap().lines().count()))
        .filter(|(path, lines)| *lines > MAX_LINES && !LONG_FILES_ALLOWED.contains(&path.as_str()))
        .map(|(path, lines)| format!("{path}: {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "split these files (at most {MAX_LINES} lines):\n{}",
        long.join("\n")
    );
}

/// The module path of a file: `src/app/rooms/maps.rs` → `["app", "rooms", "maps"]`;
/// `mod.rs`, `lib.rs` and `main.rs` stand for their folder.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a file without comments and string literals (so doc text never counts as a use).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        return vec![path.to_string()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(expand_use)
        .map(|rest| {
            if rest == "self" {
                prefix.to_string()
            } else {
                format!("{prefix}::{rest}")
            }
        })
        .collect()
}

/// Every path a file names: its `use` trees, expanded, and `super::…`/`crate::…` paths in
/// code. Re-exports (`pub use`) and module declarations are left out: they declare what a
/// folder offers, they do not depend on it.
fn paths_named(code: &str) -> Vec<(String, bool)> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let boundary = before.chars().last().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
        if boundary {
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let reexport = before[line_start..].trim_start().starts_with("pub");
            if !reexport {
                paths.extend(expand_use(&rest[at + 4..end]).into_iter().map(|p| (p, true)));
            }
        }
        rest = &rest[end.min(rest.len())..];
        if rest.is_empty() {
            break;
        }
        rest = &rest[1..];
    }
    // Inline paths such as `super::canvas::unit_rect(…)` or `crate::app::document::X`.
    for root in ["super::", "crate::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(root) {
            let start = from + i;
            let boundary = code[..start]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            let len = code[start..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - start);
            if boundary {
                paths.push((code[start..start + len].trim_end_matches(':').to_string(), false));
            }
            from = start + len.max(1);
        }
    }
    paths
}

/// Resolves `path` named in a file whose module is `module` (`is_folder`: the file is a
/// `mod.rs`) to an absolute module path.
fn resolve(path: &str, module: &[String], is_folder: bool, in_use: bool) -> Option<Vec<String>> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    let mut base: Vec<String> = match *parts.first()? {
        "crate" => Vec::new(),
        "super" => {
            let mut b = module.to_vec();
            b.pop()?;
            b
        }
        "self" => module.to_vec(),
        // In a `use`, a bare first segment is a child module of this file's module (or an
        // external crate, which never matches a folder of ours).
        _ if in_use && is_folder => module.to_vec(),
        _ => return None,
    };
    let mut parts = parts.as_slice();
    if matches!(parts.first(), Some(&"crate") | Some(&"self")) {
        parts = &parts[1..];
    } else if parts.first() == Some(&"super") {
        parts = &parts[1..];
        while parts.first() == Some(&"super") {
            base.pop()?;
            parts = &parts[1..];
        }
    }
    base.extend(parts.iter().map(|s| s.to_string()));
    Some(base)
}

#[test]
fn no_import_circles_between_files_of_one_folder() {
    let files = rust_files(&src());
    // Folder module path → its members (file stems and subfolders) → the members each names.
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_path(file);
        let is_folder = matches!(
            file.file_name().unwrap().to_str().unwrap(),
            "mod.rs" | "lib.rs" | "main.rs"
        );
        let text = fs::read_to_string(file).unwrap();
        // Unit tests (`#[cfg(test)] mod tests`, at the end of a file) may use anything.
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let code = code_only(text);
        for (path, in_use) in paths_named(&code) {
            let Some(target) = resolve(&path, &module, is_folder, in_use) else {
                continue;
            };
            // Compare with every folder that contains the file: the member of that folder the
            // file belongs to, and the member the path points at.
            for depth in 0..=module.len() {
                let folder = &module[..depth];
                let from = if depth < module.len() {
                    module[depth].clone()
                } else {
                    "mod".into()
                };
                if target.len() < depth || target[..depth] != *folder {
                    continue;
                }
                let to = if target.len() > depth {
                    target[depth].clone()
                } else {
                    "mod".into()
                };
                let is_member = |name: &str| {
                    let mut dir = src();
                    dir.extend(folder);
                    dir.join(format!("{name}.rs")).exists() || dir.join(name).join("mod.rs").exists()
                };
                // An item of the folder's own mod.rs (not a member file) counts as "mod".
                let to = if to != "mod" && !is_member(&to) {
                    "mod".to_string()
                } else {
                    to
                };
                if from != to {
                    graphs
                        .entry(folder.to_vec())
                        .or_default()
                        .entry(from.clone())
                        .or_default()
                        .insert(to);
                }
            }
        }
    }
    let mut circles = Vec::new();
    for (folder, graph) in &graphs {
        for start in graph.keys() {
            // A path from `start` back to itself, found depth-first; report each circle once,
            // from its smallest member.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in graph.get(&node).into_iter().flatten() {
                    if next == start {
                        if path.iter().all(|m| m >= start) {
                            let folder = if folder.is_empty() {
                                "src".into()
                            } else {
                                format!("src/{}", folder.join("/"))
                            };
                            circles.push(format!("{folder}: {} → {start}", path.join(" → ")));
                        }
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles (\"mod\" is the folder's mod.rs):\n{}",
        circles.join("\n")
    );
}
