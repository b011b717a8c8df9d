//! Small helpers for reading JSON answers, shared by the scenarios: the one field of every item of an array, the
//! item of an array with a given field.
use serde_json::Value;

/// The string `field` of every item of the array `list`, in order; panics when `list` is no array or an item's
/// `field` is no string.
pub fn strs<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    items(list)
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("no string {field} in {item}"))
        })
        .collect()
}

/// The first item of the array `list` whose `field` is `value`; panics when there is none.
pub fn find<'a>(list: &'a Value, field: &str, value: &str) -> &'a Value {
    items(list)
        .iter()
        .find(|item| item[field] == value)
        .unwrap_or_else(|| panic!("no item with {field} = {value:?} in {list}"))
}

/// The items of the array `list`; panics when it is no array.
pub fn items(list: &Value) -> &[Value] {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
}
