//! Parsing a large system on two threads. The body of the `system { … }` block is cut at an
//! item boundary near its middle; the two halves and the rest of the file are parsed and
//! lowered at once, then spliced. The result is the AST a sequential parse gives (a test
//! checks it); any problem at all falls back to the sequential parse, which also owns every
//! syntax diagnostic.

use super::lexcheck::TopBlock;
use super::{Grammar, Rule, ast, lower};
use crate::source::FileId;
use pest::Parser as _;

/// Below this size a second thread costs more than it saves.
pub const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// `(open, cut, close)`: the system block's braces and the item boundary to cut at.
pub fn plan(text: &str, blocks: &[TopBlock]) -> Option<(usize, usize, usize)> {
    let mut previous_end = 0;
    for b in blocks {
        let head = &text[previous_end..b.open];
        previous_end = b.close + 1;
        if !names_a_system(head) {
            continue;
        }
        let middle = b.open + (b.close - b.open) / 2;
        let cut = *b.item_ends.iter().min_by_key(|&&e| e.abs_diff(middle))?;
        return (cut < b.close).then_some((b.open, cut, b.close));
    }
    None
}

/// Whether the text before a top-level `{` ends in `system NAME`. Comments are only
/// stripped line by line: a miss costs speed, never correctness.
fn names_a_system(head: &str) -> bool {
    let words: Vec<&str> = head
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .collect();
    matches!(words.as_slice(), [.., "system", _])
}

/// The file parsed in parts, or `None` if any part fails (the caller then parses it whole).
pub fn parse(
    file: FileId,
    text: &str,
    (open, cut, close): (usize, usize, usize),
) -> Option<ast::File> {
    let body = open + 1;
    let outer = format!("{}{}", &text[..body], &text[close..]);
    let items = |from: usize, to: usize| {
        let pairs = Grammar::parse(Rule::system_items, &text[from..to]).ok()?;
        lower::system_items(file, from, pairs).ok()
    };
    let (outer, first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| items(cut, close));
        let outer = Grammar::parse(Rule::file, &outer)
            .ok()
            .and_then(|pairs| lower::file_with_gap(file, pairs, Some((body, close - body))).ok());
        let first = items(body, cut);
        (outer, first, second.join().ok().flatten())
    });
    let (mut outer, mut first, second) = (outer?, first?, second?);
    first.extend(second);
    let system = outer.items.iter_mut().find_map(|item| match item {
        ast::TopItem::System(s)
            if (s.span.start as usize) < open && (s.span.end as usize) > close =>
        {
            Some(s)
        }
        _ => None,
    })?;
    if !system.items.is_empty() {
        return None;
    }
    system.items = first;
    Some(outer)
}
