//! The comments of a design, with their places. The grammar skips comments silently, so the
//! formatter finds them again with a scan that follows the grammar's lexical rules: `//` runs
//! to the end of the line, `/* … */` does not nest, and neither starts inside a string.

/// One comment as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Byte offset of the comment's first `/`.
    pub start: usize,
    /// Byte offset just after the comment (before the newline that ends a `//` comment).
    pub end: usize,
    /// The text as it will be printed: a `//` comment without trailing whitespace, a block
    /// comment with `\r\n` turned into `\n`.
    pub text: String,
}

/// Every comment of `text`, in order. `text` must have passed the parser, so strings and
/// block comments are terminated; an unterminated one would simply run to the end.
pub fn scan(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    // An escape takes the next byte whatever it is; multi-byte characters
                    // never contain `"`, `\` or a newline byte, so bytes are safe to step over.
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                out.push(Comment {
                    start: i,
                    end,
                    text: text[i..end].trim_end().to_string(),
                });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                out.push(Comment {
                    start: i,
                    end,
                    text: text[i..end].replace("\r\n", "\n"),
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        scan(s).into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn strings_hide_comment_markers() {
        assert_eq!(
            texts(r#"image "a//b" /* c */ health "/*x\"//" // d  "#),
            ["/* c */", "// d"]
        );
    }

    #[test]
    fn block_comments_do_not_nest_and_keep_their_lines() {
        assert_eq!(texts("/* a /* b */ c */"), ["/* a /* b */"]);
        assert_eq!(texts("/* a\r\n b */"), ["/* a\n b */"]);
    }

    #[test]
    fn money_slashes_are_not_comments() {
        assert_eq!(texts("cost $1/h //x\n"), ["//x"]);
        let c = &scan("x //y\r\nz")[0];
        assert_eq!((c.start, c.end, c.text.as_str()), (2, 6, "//y"));
    }
}
