//! Small helpers for text that every layer writes for people.

/// A duration rounded down to whole milliseconds, for messages.
pub fn round_ms(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_millis(d.as_millis() as u64)
}

/// "1 byte", "3 bytes": a count and its noun, grammatical.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The bytes as one lowercase hex string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `s` cut to `n` characters, with "..." when anything was cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}...", s.chars().take(n).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// A duration in seconds with one decimal, as people say it: "2.0 s", "1.5 s".
pub fn seconds(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grammatical() {
        assert_eq!(super::count(1, "byte"), "1 byte");
        assert_eq!(super::count(0, "case"), "0 cases");
        assert_eq!(super::count(2, "more byte"), "2 more bytes");
    }

    #[test]
    fn hex_is_lowercase_and_unbroken() {
        assert_eq!(super::hex(&[0x01, 0xab, 0xff]), "01abff");
    }
}
