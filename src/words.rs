//! Small helpers for text that every layer writes for people.

/// "1 byte", "3 bytes": a count and its noun, grammatical.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grammatical() {
        assert_eq!(super::count(1, "byte"), "1 byte");
        assert_eq!(super::count(0, "case"), "0 cases");
        assert_eq!(super::count(2, "more byte"), "2 more bytes");
    }
}
