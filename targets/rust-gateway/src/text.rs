//! Small string helpers shared by the loop and the session log.

/// The longest prefix of `s` holding at most `max_chars` Unicode scalar
/// values. Never splits a character.
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((byte_index, _)) => &s[..byte_index],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::truncate_chars;

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("你好世界", 3), "你好世");
        assert_eq!(truncate_chars("🦀🦀", 1), "🦀");
    }

    #[test]
    fn short_strings_are_unchanged() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abc", 10), "abc");
        assert_eq!(truncate_chars("", 0), "");
        assert_eq!(truncate_chars("abc", 0), "");
    }
}
