//! A pass over the raw text before the grammar runs. It finds the mistakes that a PEG parser
//! reports badly, far from their cause: unterminated strings and comments, unbalanced
//! delimiters, and nesting deep enough to exhaust the parser's stack.

use crate::diagnostics::{Diagnostic, codes};
use crate::source::{FileId, Span};

/// Deeper than any valid file can be: a system, a service, an endpoint and 256 nested
/// `parallel` groups.
pub const MAX_DEPTH: usize = 260;

/// A `{ … }` block at the top level of a file, as the scan saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopBlock {
    /// Byte offset of the `{`.
    pub open: usize,
    /// Byte offset of the matching `}`.
    pub close: usize,
    /// Offsets just after each `}` that closes a block directly inside this one: where one
    /// braced item ends and the next may start.
    pub item_ends: Vec<usize>,
}

/// The lexical diagnostics of `text`, and its top-level blocks when there are none.
pub fn check(file: FileId, text: &str) -> (Vec<Diagnostic>, Vec<TopBlock>) {
    let mut blocks: Vec<TopBlock> = Vec::new();
    let bytes = text.as_bytes();
    let span = |a: usize, b: usize| Span::new(file, a, b);
    let mut out = Vec::new();
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr(bytes, i, b'\n').unwrap_or(bytes.len());
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(end) => i = i + 2 + end + 2,
                None => {
                    out.push(
                        Diagnostic::new(codes::UNTERMINATED_COMMENT, "unterminated block comment")
                            .at(span(i, i + 2), "this comment is never closed")
                            .help("close the comment with `*/`; block comments do not nest"),
                    );
                    return (out, Vec::new());
                }
            },
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(b'\n') | None => {
                            let end = if bytes.get(i.saturating_sub(1)) == Some(&b'\r') {
                                i - 1
                            } else {
                                i.min(bytes.len())
                            };
                            out.push(
                                Diagnostic::new(codes::UNTERMINATED_STRING, "unterminated string")
                                    .at(span(start, end.max(start + 1)), "this string is never closed")
                                    .help("end the string with `\"` on the same line; strings cannot span lines (write `\\n` for a line break)"),
                            );
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            open @ (b'{' | b'(') => {
                if stack.is_empty() && open == b'{' {
                    blocks.push(TopBlock {
                        open: i,
                        ..TopBlock::default()
                    });
                }
                stack.push((open, i));
                if stack.len() > MAX_DEPTH {
                    out.push(
                        Diagnostic::new(codes::NESTING_TOO_DEEP, "blocks nested too deeply")
                            .at(span(i, i + 1), "too deep here")
                            .help("`parallel` groups may nest at most 256 levels; a group directly inside another adds nothing, so flatten them"),
                    );
                    return (out, Vec::new());
                }
            }
            close @ (b'}' | b')') => {
                let want = if close == b'}' { b'{' } else { b'(' };
                match stack.pop() {
                    Some((open, _)) if open == want => {
                        if open == b'{' {
                            match stack.as_slice() {
                                [] => blocks.last_mut().expect("opened").close = i,
                                [(b'{', _)] => {
                                    blocks.last_mut().expect("opened").item_ends.push(i + 1)
                                }
                                _ => {}
                            }
                        }
                    }
                    Some((open, at)) => {
                        out.push(
                            Diagnostic::new(
                                codes::UNMATCHED_DELIMITER,
                                format!("`{}` closes `{}`", close as char, open as char),
                            )
                            .at(span(i, i + 1), format!("expected `{}`", matching(open)))
                            .with(span(at, at + 1), "opened here")
                            .help(format!(
                                "close `{}` with `{}` first",
                                open as char,
                                matching(open)
                            )),
                        );
                        return (out, Vec::new());
                    }
                    None => {
                        out.push(
                            Diagnostic::new(
                                codes::UNMATCHED_DELIMITER,
                                format!("unmatched `{}`", close as char),
                            )
                            .at(span(i, i + 1), "nothing to close")
                            .help("remove it, or add the opening delimiter it belongs to"),
                        );
                        return (out, Vec::new());
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if out.is_empty() {
        if let Some(&(open, at)) = stack.last() {
            let end = text.trim_end().len();
            out.push(
                Diagnostic::new(
                    codes::UNCLOSED_DELIMITER,
                    format!("unclosed `{}`", open as char),
                )
                .at(span(at, at + 1), "opened here and never closed")
                .with(span(end, end), "the file ends here")
                .help(format!(
                    "add `{}` where the block should end",
                    matching(open)
                )),
            );
        }
    }
    (out, blocks)
}

fn matching(open: u8) -> char {
    if open == b'{' { '}' } else { ')' }
}

fn memchr(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}
