//! Puts the comments back among the canonical lines and renders the text.
//!
//! A comment that ends a source line after code stays at the end of that code's line; any
//! other comment goes on its own line above the next line of code, at that line's depth
//! (inside a block when the next line is the block's `}`). Trailing comments on consecutive
//! lines are aligned one column block. At most one blank line is kept wherever the source had
//! at least one, except just inside a block's braces.

use super::comments::Comment;
use super::lines::{Kind, Line};

enum Out<'a> {
    Blank,
    Comment {
        depth: usize,
        text: &'a str,
    },
    Code {
        line: &'a Line,
        trailing: Vec<&'a str>,
    },
}

pub fn render(src: &str, lines: &[Line], comments: &[Comment]) -> String {
    let mut out: Vec<Out> = Vec::new();
    let mut next = 0; // the first comment not yet placed
    let mut last_end = 0; // the source offset just after what was placed last
    // Whether a blank line goes before a thing that starts at `start` in the source.
    let blank_before = |out: &[Out], last_end: usize, start: usize, closing: bool| {
        let after_open =
            matches!(out.last(), Some(Out::Code { line, .. }) if line.kind == Kind::Open);
        !out.is_empty()
            && !after_open
            && !closing
            && start > last_end
            && src[last_end..start].matches('\n').count() >= 2
    };
    for (k, line) in lines.iter().enumerate() {
        let inside = usize::from(line.kind == Kind::Close);
        while next < comments.len() && comments[next].start < line.end {
            let c = &comments[next];
            if blank_before(&out, last_end, c.start, false) {
                out.push(Out::Blank);
            }
            out.push(Out::Comment {
                depth: line.depth + inside,
                text: &c.text,
            });
            last_end = c.end;
            next += 1;
        }
        if blank_before(&out, last_end, line.start, line.kind == Kind::Close) {
            out.push(Out::Blank);
        }
        last_end = last_end.max(line.end);
        let limit = lines.get(k + 1).map_or(usize::MAX, |l| l.start);
        let mut trailing = Vec::new();
        while let Some(c) = comments.get(next) {
            if c.start < limit && c.start >= last_end && !src[last_end..c.start].contains('\n') {
                trailing.push(c.text.as_str());
                last_end = c.end;
                next += 1;
            } else {
                break;
            }
        }
        out.push(Out::Code { line, trailing });
    }
    for c in &comments[next..] {
        if blank_before(&out, last_end, c.start, false) {
            out.push(Out::Blank);
        }
        out.push(Out::Comment {
            depth: 0,
            text: &c.text,
        });
        last_end = c.end;
    }
    write(&out)
}

fn width(line: &Line) -> usize {
    2 * line.depth + line.code.chars().count()
}

fn write(out: &[Out]) -> String {
    let mut text = String::new();
    let mut i = 0;
    while i < out.len() {
        // A run of code lines with trailing comments shares one comment column.
        let run = out[i..]
            .iter()
            .take_while(|o| matches!(o, Out::Code { trailing, .. } if !trailing.is_empty()))
            .count();
        let column = out[i..i + run]
            .iter()
            .filter_map(|o| match o {
                Out::Code { line, .. } => Some(width(line)),
                _ => None,
            })
            .max()
            .map_or(0, |w| w + 2);
        for o in &out[i..i + run.max(1)] {
            match o {
                Out::Blank => {}
                Out::Comment { depth, text: c } => {
                    push_indent(&mut text, *depth);
                    text.push_str(c);
                }
                Out::Code { line, trailing } => {
                    push_indent(&mut text, line.depth);
                    text.push_str(&line.code);
                    if !trailing.is_empty() {
                        let pad = column - width(line);
                        text.extend(std::iter::repeat_n(' ', pad));
                        text.push_str(&trailing.join(" "));
                    }
                }
            }
            text.push('\n');
        }
        i += run.max(1);
    }
    text
}

fn push_indent(text: &mut String, depth: usize) {
    text.extend(std::iter::repeat_n(' ', 2 * depth));
}
