//! Text → [`ast::File`]. The pest grammar lives in `grammar/kendall.pest`; pest's pairs are
//! lowered to the spanned AST here and never leave this module.

pub mod ast;
mod expected;
mod lexcheck;
mod lower;
mod split;

use crate::diagnostics::{Diagnostic, codes};
use crate::source::{FileId, Span};
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/kendall.pest"]
struct Grammar;

pub use lexcheck::MAX_DEPTH;
pub use split::PARALLEL_MIN_BYTES;

/// Parses one file. Returns the AST when the text is well-formed, else the syntax errors.
/// An empty file parses to an empty AST: whether that is an error is the resolver's call.
pub fn parse(file: FileId, text: &str) -> Result<ast::File, Vec<Diagnostic>> {
    parse_with(file, text, split::PARALLEL_MIN_BYTES)
}

/// [`parse`], splitting a system over two threads when the file has at least `parallel_from`
/// bytes. Tests call it with 0 to check that splitting changes nothing.
pub fn parse_with(
    file: FileId,
    text: &str,
    parallel_from: usize,
) -> Result<ast::File, Vec<Diagnostic>> {
    let (lexical, blocks) = lexcheck::check(file, text);
    if !lexical.is_empty() {
        return Err(lexical);
    }
    if text.len() >= parallel_from {
        if let Some(ast) =
            split::plan(text, &blocks).and_then(|plan| split::parse(file, text, plan))
        {
            return Ok(ast);
        }
    }
    let pairs =
        Grammar::parse(Rule::file, text).map_err(|e| vec![expected::diagnose(file, text, e)])?;
    lower::file(file, pairs)
}

/// Only the split parse: `None` where [`parse_with`] would fall back to the sequential one.
/// For tests, which check that the split path is taken and agrees.
#[doc(hidden)]
pub fn parse_split(file: FileId, text: &str) -> Option<ast::File> {
    let (lexical, blocks) = lexcheck::check(file, text);
    if !lexical.is_empty() {
        return None;
    }
    split::plan(text, &blocks).and_then(|plan| split::parse(file, text, plan))
}

/// The diagnostic for bytes that are not UTF-8; `valid_up_to` is where decoding failed.
pub fn not_utf8(file: FileId, valid_up_to: usize, binary: bool) -> Diagnostic {
    let d = Diagnostic::new(codes::NOT_UTF8, "file is not valid utf-8").at(
        Span::new(file, valid_up_to, valid_up_to + 1),
        "this byte is not utf-8",
    );
    if binary {
        d.help("this looks like a binary file, not a design: check the path")
    } else {
        d.help("save the file as utf-8; `.arch` files are text")
    }
}
