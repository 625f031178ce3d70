//! Small string helpers shared by the loop, the session log and the
//! Langfuse emitter.

use std::error::Error as StdError;

/// The longest prefix of `s` holding at most `max_chars` Unicode scalar
/// values. Never splits a character.
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((byte_index, _)) => &s[..byte_index],
        None => s,
    }
}

/// An error and its sources, joined with `": "` (reqwest's own message
/// leaves the cause to its sources).
pub fn error_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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
