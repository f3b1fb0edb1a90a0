//! Small helpers for text that every layer writes for people.

/// "1 byte", "3 bytes": a count and its noun, grammatical.
/// A duration rounded down to whole milliseconds, for messages.
pub fn round_ms(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_millis(d.as_millis() as u64)
}

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
