//! Name rules: Kubernetes names for what gets deployed.

/// An RFC 1035 label, which Kubernetes requires of Service names: lowercase letters, digits and
/// `-`, starting with a letter, not ending with `-`, at most 63 characters.
pub fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && b[b.len() - 1] != b'-'
}

/// The nearest valid label, for a suggestion.
pub fn to_dns_label(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' | '-' => c,
            _ => '-',
        })
        .collect();
    while out.starts_with(|c: char| !c.is_ascii_lowercase()) && !out.is_empty() {
        out.remove(0);
    }
    out.truncate(63);
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "svc".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("api"));
        assert!(is_dns_label("feature-store-2"));
        assert!(!is_dns_label("feature_store"));
        assert!(!is_dns_label("Api"));
        assert!(!is_dns_label("2api"));
        assert!(!is_dns_label("api-"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_dns_label(&"a".repeat(63)));
        assert_eq!(to_dns_label("Feature_Store"), "feature-store");
        assert_eq!(to_dns_label("_x_"), "x");
    }
}
