//! JSON Schema (as OpenAI clients write tool parameters and `json_schema` formats) narrowed to the OpenAPI-3.0
//! subset Gemini accepts: unknown keys such as `$schema`, `additionalProperties`, `default`, `title` or `strict`
//! make Gemini answer 400 "Invalid JSON payload received. Unknown name …", so everything outside a short allow-list
//! is dropped. Local `$ref`s into `$defs`/`definitions` are inlined (Gemini cannot follow them); `["string","null"]`
//! types and `anyOf` with a `null` member become `nullable`. Not a validator: a schema Gemini still dislikes comes
//! back as the upstream's 400.

use serde_json::{Map, Value};

/// How deep `$ref`s are inlined; a recursive schema is cut there (the innermost reference becomes `{}`).
const MAX_REF_DEPTH: usize = 8;

/// `format` values Gemini accepts (`enum`/`date-time` on strings, widths on numbers); others get a 400.
const FORMATS: [&str; 6] = ["enum", "date-time", "int32", "int64", "float", "double"];

/// Keys copied as they are (the structural ones are handled one by one below).
const PLAIN_KEYS: [&str; 7] = [
    "description",
    "nullable",
    "required",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
];

/// The cleaned copy of `schema`.
pub fn clean_schema(schema: &Value) -> Value {
    let mut defs = Map::new();
    for key in ["definitions", "$defs"] {
        if let Some(Value::Object(d)) = schema.get(key) {
            defs.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Value::Object(clean(schema, &defs, 0))
}

/// Tool `parameters`: `None` when the function takes no arguments, because Gemini rejects an `OBJECT` schema with
/// empty `properties` ("should be non-empty for OBJECT type").
pub fn clean_parameters(schema: &Value) -> Option<Value> {
    let cleaned = clean_schema(schema);
    let no_properties = cleaned
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    let is_object = cleaned
        .get("type")
        .is_none_or(|t| t.as_str() == Some("object"));
    if no_properties && is_object && cleaned.get("anyOf").is_none() {
        None
    } else {
        Some(cleaned)
    }
}

fn clean(schema: &Value, defs: &Map<String, Value>, depth: usize) -> Map<String, Value> {
    let Some(obj) = schema.as_object() else {
        return Map::new(); // `true`/`false` schemas: nothing Gemini can express
    };
    let mut out = Map::new();
    if let Some(target) = obj.get("$ref").and_then(Value::as_str).and_then(|r| {
        r.strip_prefix("#/$defs/")
            .or_else(|| r.strip_prefix("#/definitions/"))
            .and_then(|name| defs.get(name))
    }) && depth < MAX_REF_DEPTH
    {
        out = clean(target, defs, depth + 1);
    }
    // `allOf: [{$ref}]` is how generators attach a description to a referenced model: merge the members.
    if let Some(Value::Array(members)) = obj.get("allOf") {
        for member in members {
            merge(&mut out, clean(member, defs, depth));
        }
    }
    for (key, value) in obj {
        match key.as_str() {
            "type" => set_type(&mut out, value),
            "properties" => {
                if let Some(props) = value.as_object() {
                    let cleaned = props
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::Object(clean(v, defs, depth))))
                        .collect();
                    out.insert(key.clone(), Value::Object(cleaned));
                }
            }
            // An array of schemas is the tuple form, which Gemini cannot express.
            "items" if value.is_object() => {
                out.insert(key.clone(), Value::Object(clean(value, defs, depth)));
            }
            "anyOf" | "oneOf" => {
                if let Some(members) = value.as_array() {
                    set_any_of(&mut out, members, defs, depth);
                }
            }
            "enum" => {
                if let Some(values) = value.as_array().filter(|v| v.iter().all(Value::is_string)) {
                    out.insert(key.clone(), Value::Array(values.clone()));
                }
            }
            "const" if value.is_string() => {
                out.insert("enum".to_owned(), Value::Array(vec![value.clone()]));
            }
            "format" if value.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                out.insert(key.clone(), value.clone());
            }
            k if PLAIN_KEYS.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    keep_known_required(&mut out);
    out
}

/// `type: "x"` as is; `type: ["x", "null"]` → `x` + `nullable`; several non-null types → `anyOf`.
fn set_type(out: &mut Map<String, Value>, value: &Value) {
    match value {
        Value::String(_) => {
            out.insert("type".to_owned(), value.clone());
        }
        Value::Array(types) => {
            let mut real: Vec<&Value> = Vec::new();
            for t in types {
                if t.as_str() == Some("null") {
                    out.insert("nullable".to_owned(), Value::Bool(true));
                } else if t.is_string() {
                    real.push(t);
                }
            }
            match real.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".to_owned(), (*one).clone());
                }
                several => {
                    let members = several
                        .iter()
                        .map(|t| serde_json::json!({ "type": t }))
                        .collect();
                    out.insert("anyOf".to_owned(), Value::Array(members));
                }
            }
        }
        _ => {}
    }
}

/// `anyOf`/`oneOf`: `{type: null}` members become `nullable`; a single remaining member is merged into the parent.
fn set_any_of(
    out: &mut Map<String, Value>,
    members: &[Value],
    defs: &Map<String, Value>,
    depth: usize,
) {
    let mut kept: Vec<Map<String, Value>> = Vec::new();
    for member in members {
        let cleaned = clean(member, defs, depth);
        if member.get("type").and_then(Value::as_str) == Some("null") {
            out.insert("nullable".to_owned(), Value::Bool(true));
        } else {
            kept.push(cleaned);
        }
    }
    if kept.len() == 1 {
        if let Some(only) = kept.pop() {
            merge(out, only);
        }
    } else if !kept.is_empty() {
        let members = kept.into_iter().map(Value::Object).collect();
        out.insert("anyOf".to_owned(), Value::Array(members));
    }
}

/// Copies `from` into `out` without overriding what `out` already says; `properties` and `required` are unioned.
fn merge(out: &mut Map<String, Value>, from: Map<String, Value>) {
    for (key, value) in from {
        match (out.get_mut(&key), value) {
            (Some(Value::Object(mine)), Value::Object(theirs)) if key == "properties" => {
                for (k, v) in theirs {
                    mine.entry(k).or_insert(v);
                }
            }
            (Some(Value::Array(mine)), Value::Array(theirs)) if key == "required" => {
                for v in theirs {
                    if !mine.contains(&v) {
                        mine.push(v);
                    }
                }
            }
            (Some(_), _) => {}
            (None, value) => {
                out.insert(key, value);
            }
        }
    }
}

/// Gemini rejects `required` names that are not in `properties`, and an empty `properties` object.
fn keep_known_required(out: &mut Map<String, Value>) {
    if out
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        out.remove("properties");
    }
    let Some(Value::Array(required)) = out.remove("required") else {
        return;
    };
    let Some(props) = out.get("properties").and_then(Value::as_object) else {
        return;
    };
    let known: Vec<Value> = required
        .into_iter()
        .filter(|r| r.as_str().is_some_and(|name| props.contains_key(name)))
        .collect();
    if !known.is_empty() {
        out.insert("required".to_owned(), Value::Array(known));
    }
}
