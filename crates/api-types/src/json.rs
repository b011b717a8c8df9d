//! Readers of raw JSON that the crates share (requests are kept as `serde_json` values, not modelled).

use serde_json::Value;

/// The elements of `value` when it is an array; none when it is absent or anything else. For the optional list
/// fields of a request: `for tool in items(body.get("tools"))`.
pub fn items(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::items;
    use serde_json::json;

    #[test]
    fn an_array_gives_its_elements_anything_else_none() {
        let v = json!({"a": [1, 2], "b": {"c": 3}});
        assert_eq!(items(v.get("a")).count(), 2);
        assert_eq!(items(v.get("b")).count(), 0);
        assert_eq!(items(v.get("missing")).count(), 0);
    }
}
