//! `extract_json`: the first JSON object in free-form model output
//! (contract §1).

use serde_json::Value;

const FENCE: &str = "```";

/// Pulls the first JSON object out of `raw`.
///
/// 1. Fenced blocks, left to right: the body of a block starts after the
///    first newline following the opening fence (so an info string such as
///    `json` is skipped) and ends at the next fence; it is trimmed with
///    [`str::trim`]. The first body that parses as an object wins.
/// 2. Otherwise a byte-level brace scan over the whole text: when the depth
///    returns to zero, the slice from the first recorded `{` is parsed; an
///    object wins, anything else drops the recorded start.
///
/// Two quirks are kept on purpose because they are part of the parity
/// contract: braces inside JSON strings count like any other brace, and a
/// stray `}` drives the depth negative so that it never returns to zero.
///
/// The returned value, when there is one, is always a [`Value::Object`].
pub fn extract_json(raw: &str) -> Option<Value> {
    fenced_candidates(raw)
        .into_iter()
        .find_map(parse_object)
        .or_else(|| scan_braces(raw))
}

/// The trimmed bodies of every closed fenced block, in order.
fn fenced_candidates(raw: &str) -> Vec<&str> {
    let mut candidates = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.find(FENCE) {
        let after_fence = &rest[open + FENCE.len()..];
        let body_start = after_fence.find('\n').map_or(0, |newline| newline + 1);
        let body = &after_fence[body_start..];
        let Some(close) = body.find(FENCE) else {
            // An opening fence without a closing one ends the fenced scan.
            break;
        };
        candidates.push(body[..close].trim());
        rest = &body[close + FENCE.len()..];
    }
    candidates
}

fn scan_braces(raw: &str) -> Option<Value> {
    let mut depth: i64 = 0;
    let mut start: Option<usize> = None;
    for (i, byte) in raw.bytes().enumerate() {
        match byte {
            b'{' => {
                start.get_or_insert(i);
                depth += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    if let Some(s) = start.take() {
                        // Both ends are ASCII braces, so these are char boundaries.
                        if let Some(object) = parse_object(&raw[s..=i]) {
                            return Some(object);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_object(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text).ok().filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::extract_json;
    use serde_json::{Value, json};

    fn nested(depth: usize) -> String {
        // `depth` levels, the outermost being the object itself.
        let mut text = String::from("{\"a\":");
        for _ in 1..depth {
            text.push('[');
        }
        text.push('0');
        for _ in 1..depth {
            text.push(']');
        }
        text.push('}');
        text
    }

    #[test]
    fn fenced_block_with_info_string() {
        let raw = "Here's my answer:\n```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```\nDone.";
        assert_eq!(extract_json(raw), Some(json!({"fills": [{"candidate_id": "W-1"}]})));
    }

    #[test]
    fn fenced_block_without_newline_starts_after_fence() {
        assert_eq!(extract_json("```{\"a\":1}```"), Some(json!({"a": 1})));
    }

    #[test]
    fn newline_rule_can_skip_into_the_body() {
        // The body starts after the first newline following the opening
        // fence, even when that newline lies beyond the closing fence.
        let raw = "```{\"a\":1}```\n{\"b\":2}```";
        assert_eq!(extract_json(raw), Some(json!({"b": 2})));
    }

    #[test]
    fn first_fenced_object_wins_over_earlier_bare_object() {
        let raw = "{\"bare\":true}\n```json\n{\"fenced\":true}\n```";
        assert_eq!(extract_json(raw), Some(json!({"fenced": true})));
    }

    #[test]
    fn fenced_non_object_is_skipped() {
        let raw = "```\n[1,2]\n```\n```\n{\"second\":1}\n```";
        assert_eq!(extract_json(raw), Some(json!({"second": 1})));
    }

    #[test]
    fn unclosed_fence_falls_back_to_brace_scan() {
        let raw = "```json\n{\"a\": 1}";
        assert_eq!(extract_json(raw), Some(json!({"a": 1})));
    }

    #[test]
    fn fenced_body_is_trimmed_with_unicode_whitespace() {
        let raw = "```\n\u{3000}{\"a\":1}\u{a0}\n```";
        assert_eq!(extract_json(raw), Some(json!({"a": 1})));
    }

    #[test]
    fn information_separators_are_not_trimmed() {
        // U+001F is not White_Space (Python's strip() would remove it), so
        // the fenced candidate keeps it and does not parse ...
        let raw = "```\n\u{1f}{\"a\":1}\n```";
        assert!(
            super::fenced_candidates(raw)
                .into_iter()
                .find_map(super::parse_object)
                .is_none()
        );
        // ... and the object is found by the brace scan instead.
        assert_eq!(extract_json(raw), Some(json!({"a": 1})));
    }

    #[test]
    fn bare_object_in_prose() {
        let raw = "Here you go: {\"fills\": [{\"candidate_id\": \"W-2\"}]} hope that helps";
        assert_eq!(extract_json(raw), Some(json!({"fills": [{"candidate_id": "W-2"}]})));
    }

    #[test]
    fn nested_objects() {
        let raw = "x {\"a\": {\"b\": {\"c\": [1, {\"d\": null}]}}} y";
        assert_eq!(extract_json(raw), Some(json!({"a": {"b": {"c": [1, {"d": null}]}}})));
    }

    #[test]
    fn unicode_content() {
        let raw = "Réponse : {\"name\": \"Chloé 你好 🦀\"} fin";
        assert_eq!(extract_json(raw), Some(json!({"name": "Chloé 你好 🦀"})));
    }

    #[test]
    fn escaped_quotes_in_strings() {
        let raw = r#"{"quote": "she said \"hi\""}"#;
        assert_eq!(extract_json(raw), Some(json!({"quote": "she said \"hi\""})));
    }

    #[test]
    fn balanced_braces_inside_strings_are_harmless() {
        let raw = r#"{"text": "a {b} c"}"#;
        assert_eq!(extract_json(raw), Some(json!({"text": "a {b} c"})));
    }

    #[test]
    fn unbalanced_brace_inside_string_breaks_the_scan() {
        // Quirk: the `}` inside the string closes the depth early.
        assert_eq!(extract_json(r#"{"text": "}"}"#), None);
    }

    #[test]
    fn top_level_array_is_not_an_object() {
        assert_eq!(extract_json("[1, 2, 3]"), None);
        // ... but an object inside one is found by the brace scan.
        assert_eq!(extract_json("[{\"a\":1}]"), Some(json!({"a": 1})));
    }

    #[test]
    fn malformed_json_is_rejected() {
        assert_eq!(extract_json("{\"a\": 1,}"), None);
        assert_eq!(extract_json("{'a': 1}"), None);
        assert_eq!(extract_json("{\"a\": NaN}"), None);
        assert_eq!(extract_json("{\"a\": 1 /* c */}"), None);
    }

    #[test]
    fn malformed_first_object_then_valid_one() {
        assert_eq!(extract_json("{oops} then {\"b\":2}"), Some(json!({"b": 2})));
    }

    #[test]
    fn first_of_several_objects_wins() {
        assert_eq!(extract_json("{\"a\":1} then {\"b\":2}"), Some(json!({"a": 1})));
    }

    #[test]
    fn no_json_at_all() {
        assert_eq!(extract_json("just prose, no json"), None);
        assert_eq!(extract_json(""), None);
    }

    #[test]
    fn stray_closing_brace_blocks_later_objects() {
        assert_eq!(extract_json("oops } {\"a\":1}"), None);
        // A stray `}` after the first object does not matter.
        assert_eq!(extract_json("{\"a\":1} }"), Some(json!({"a": 1})));
    }

    #[test]
    fn number_model() {
        let v = extract_json("{\"i\": 1, \"f\": 1.0, \"e\": 1E2, \"z\": -0, \"big\": 18446744073709551616}").unwrap();
        assert!(v["i"].is_u64());
        assert!(v["f"].is_f64());
        assert_eq!(v["e"].as_f64(), Some(100.0));
        let z = v["z"].as_f64().unwrap();
        assert!(z == 0.0 && z.is_sign_negative());
        assert!(v["big"].is_f64());
        assert_eq!(extract_json("{\"a\": 1e400}"), None);
    }

    #[test]
    fn lone_surrogate_and_duplicates() {
        assert_eq!(extract_json(r#"{"a": "\ud800"}"#), None);
        assert_eq!(extract_json(r#"{"a": 1, "a": 2}"#), Some(json!({"a": 2})));
        assert_eq!(extract_json(r#"{"a": "\ud800", "a": 2}"#), None);
    }

    #[test]
    fn nesting_limit_is_127_levels() {
        let ok = nested(127);
        let too_deep = nested(128);
        assert!(matches!(extract_json(&ok), Some(Value::Object(_))));
        assert_eq!(extract_json(&too_deep), None);
    }
}
