//! `kendall fmt`: one canonical layout for a design, comments kept. Pure: text in, text out.
//!
//! The parser builds the AST; [`lines`] prints it as canonical lines, each tied to its source
//! range; [`comments`] finds the comments (the grammar skips them) and [`layout`] puts each
//! back next to the code it was written beside. Tokens are printed as written (numbers,
//! units, strings with their escapes), so formatting never changes what a design means; the
//! rules are in docs/fmt.md.

mod comments;
mod layout;
mod lines;

use crate::diagnostics::Diagnostic;
use crate::source::FileId;

pub use comments::{Comment, scan as scan_comments};
pub use lines::MAX_WIDTH;

/// The canonical text of a design, or the parser's diagnostics when it does not parse (the
/// caller then leaves the file alone). `file` only labels the diagnostics' spans.
pub fn format(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let ast = crate::syntax::parse(file, text)?;
    let comments = comments::scan(text);
    let mut printer = lines::Printer::new(text, &comments);
    printer.file(&ast);
    Ok(layout::render(text, &printer.lines, &comments))
}
