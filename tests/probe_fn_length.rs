//! No function of the check engine (src/probe/) is longer than about 60
//! lines; this test allows 80 as a margin and lists every offender. A
//! simple brace counter: comments, strings and character literals are
//! blanked first, so braces inside them do not count.

use std::path::{Path, PathBuf};

const LIMIT: usize = 80;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source with comments, strings and char literals replaced by spaces
/// (line breaks kept, so line numbers stay right).
fn code_only(src: &str) -> Vec<char> {
    let c: Vec<char> = src.chars().collect();
    let mut out = c.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in out.iter_mut().take(to.min(c.len())).skip(from) {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        let end = if c[i] == '/' && next == Some('/') {
            (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len())
        } else if c[i] == '/' && next == Some('*') {
            (i + 2..c.len())
                .find(|&j| c[j - 1] == '*' && c[j] == '/' && j > i + 2)
                .map_or(c.len(), |j| j + 1)
        } else if c[i] == 'r'
            && (next == Some('"') || next == Some('#'))
            && !ident(c.get(i.wrapping_sub(1)))
        {
            raw_string_end(&c, i)
        } else if c[i] == '"' {
            string_end(&c, i + 1)
        } else if c[i] == '\'' {
            char_end(&c, i)
        } else {
            i + 1
        };
        if end > i + 1 {
            blank(&mut out, i, end);
        }
        i = end.max(i + 1);
    }
    out
}

fn ident(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

fn string_end(c: &[char], mut j: usize) -> usize {
    while j < c.len() {
        match c[j] {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    c.len()
}

fn raw_string_end(c: &[char], i: usize) -> usize {
    let hashes = c[i + 1..].iter().take_while(|&&x| x == '#').count();
    if c.get(i + 1 + hashes) != Some(&'"') {
        return i + 1;
    }
    let mut j = i + 2 + hashes;
    while j < c.len() {
        if c[j] == '"'
            && c[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&x| x == '#')
                .count()
                == hashes
        {
            return j + 1 + hashes;
        }
        j += 1;
    }
    c.len()
}

/// A char literal ('x', '\n', '\u{7f}'), or a lifetime (left alone).
fn char_end(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        return (i + 2..c.len())
            .find(|&j| c[j] == '\'')
            .map_or(c.len(), |j| j + 1);
    }
    if c.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    i + 1
}

/// Every `fn` with a body: (name, first line, number of lines).
fn functions(src: &str) -> Vec<(String, usize, usize)> {
    let code = code_only(src);
    let line_of = |k: usize| code[..k].iter().filter(|&&x| x == '\n').count() + 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 < code.len() {
        let is_fn = code[i] == 'f'
            && code[i + 1] == 'n'
            && code[i + 2].is_whitespace()
            && !ident(code.get(i.wrapping_sub(1)));
        if !is_fn {
            i += 1;
            continue;
        }
        let name: String = code[i + 3..]
            .iter()
            .skip_while(|c| c.is_whitespace())
            .take_while(|c| ident(Some(c)))
            .collect();
        let Some(open) = (i..code.len()).find(|&j| code[j] == '{' || code[j] == ';') else {
            break;
        };
        if code[open] == ';' {
            i = open;
            continue;
        }
        let mut depth = 0usize;
        let mut close = code.len() - 1;
        for (j, ch) in code.iter().enumerate().skip(open) {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let first = line_of(i);
        out.push((name, first, line_of(close) - first + 1));
        i += 3;
    }
    out
}

#[test]
fn no_function_in_the_engine_is_longer_than_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/probe");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 5, "src/probe has its files");
    let mut long = Vec::new();
    let mut counted = 0;
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        for (name, line, len) in functions(&src) {
            counted += 1;
            if len > LIMIT {
                long.push(format!("{}:{line} fn {name}: {len} lines", f.display()));
            }
        }
    }
    assert!(
        counted > 50,
        "found only {counted} functions: the counter is broken"
    );
    assert!(
        long.is_empty(),
        "functions over {LIMIT} lines in src/probe (split them by step):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_counter_measures_what_it_should() {
    let src = "fn a() {\n    let s = \"}}}\";\n    let c = '}';\n    // }\n    /* { */\n}\nfn b<'x>(v: &'x str) -> &'x str {\n    v\n}\ntrait T { fn c(&self); }\n";
    // A declaration without a body (fn c) is not a function to measure.
    assert_eq!(
        functions(src),
        vec![("a".to_string(), 1, 6), ("b".to_string(), 7, 3)]
    );
}
