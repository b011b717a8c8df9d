//! What a Midjourney submit is admitted with, decided before anything is reserved or sent (issue 15): the body's
//! fields have the types the upstream expects, the speed mode bought is the one paid for, and the price is a
//! per-request price.
//!
//! The route's mode is final: on `/mj-fast`, `/mj-relax`, `/mj-turbo` the body's `accountFilter.modes` is replaced
//! by the route's mode. On plain `/mj` a client may name modes in `accountFilter.modes`; the submit is then priced at
//! the dearest of them, so no filter buys a faster mode than it paid for.

use super::RouteMode;
use crate::catalog::Snapshot;
use crate::error::ApiError;
use api_types::MjMode;
use serde_json::{Map, Value, json};
use store::Price;

/// Fields that are strings when given (`null` counts as not given).
const TEXT_FIELDS: &[&str] = &[
    "prompt",
    "state",
    "customId",
    "taskId",
    "notifyHook",
    "base64",
    "maskBase64",
    "sourceBase64",
    "targetBase64",
    "sourceUrl",
    "targetUrl",
    "link",
    "content",
    "action",
    "botType",
    "dimensions",
];

/// Fields that are arrays of strings when given.
const TEXT_ARRAYS: &[&str] = &["base64Array"];

/// Most task ids one `list-by-condition` may name.
pub const MAX_LISTED_IDS: usize = 1000;

/// What a submit buys: its price, and the mode stored with the task (`None` = the channel's default).
#[derive(Debug, Clone)]
pub struct Purchase {
    pub price: Price,
    pub mode: Option<MjMode>,
}

/// The body fields of a submit of `kind` have the types midjourney-proxy expects, and a follow-up names its task.
pub fn check_fields(kind: &str, body: &Map<String, Value>) -> Result<(), ApiError> {
    for &field in TEXT_FIELDS {
        if body
            .get(field)
            .is_some_and(|v| !v.is_null() && !v.is_string())
        {
            return Err(ApiError::invalid(
                format!("`{field}` must be a string"),
                Some(field),
            ));
        }
    }
    for &field in TEXT_ARRAYS {
        check_text_array(body, field)?;
    }
    for &field in required_fields(kind) {
        if body
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(|v| v.trim().is_empty())
        {
            return Err(ApiError::invalid(
                format!("`{field}` is required"),
                Some(field),
            ));
        }
    }
    Ok(())
}

fn check_text_array(body: &Map<String, Value>, field: &str) -> Result<(), ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => match items.iter().position(|v| !v.is_string()) {
            Some(i) => Err(ApiError::invalid(
                format!("`{field}[{i}]` must be a string"),
                Some(&format!("{field}[{i}]")),
            )),
            None => Ok(()),
        },
        Some(_) => Err(ApiError::invalid(
            format!("`{field}` must be an array of strings"),
            Some(field),
        )),
    }
}

/// The fields a submit of `kind` cannot do without (an imagine's prompt, the parent task of a follow-up, the
/// button pressed).
fn required_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "imagine" => &["prompt"],
        "action" => &["taskId", "customId"],
        "modal" => &["taskId"],
        "change" => &["taskId", "action"],
        "simple-change" => &["content"],
        _ => &[],
    }
}

/// The `ids` of a `list-by-condition` body: absent = none, else an array of at most [`MAX_LISTED_IDS`] strings.
pub fn listed_ids(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let items = match body.get("ids") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= MAX_LISTED_IDS => items,
        Some(_) => {
            return Err(ApiError::invalid(
                format!("`ids` must be an array of at most {MAX_LISTED_IDS} task ids"),
                Some("ids"),
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_owned).ok_or_else(|| {
                ApiError::invalid(
                    format!("`ids[{i}]` must be a string"),
                    Some(&format!("ids[{i}]")),
                )
            })
        })
        .collect()
}

/// Settles `accountFilter.modes` for a submit on the `route` mode and returns the modes the task may run in
/// (empty = any, the channel's default). A mode route overwrites the client's modes with its own, keeping the
/// filter's other fields; plain `/mj` keeps the client's modes, which must be known ones.
pub fn settle_modes(
    body: &mut Map<String, Value>,
    route: RouteMode,
) -> Result<Vec<MjMode>, ApiError> {
    if body.get("accountFilter").is_some_and(Value::is_null) {
        body.remove("accountFilter");
    }
    if body.get("accountFilter").is_some_and(|f| !f.is_object()) {
        return Err(ApiError::invalid(
            "`accountFilter` must be an object",
            Some("accountFilter"),
        ));
    }
    if let Some(mode) = route {
        // midjourney-proxy (plus) picks an account serving this speed through accountFilter.modes.
        let filter = body.entry("accountFilter").or_insert_with(|| json!({}));
        if let Some(filter) = filter.as_object_mut() {
            filter.insert("modes".into(), json!([mode.wire_name()]));
        }
        return Ok(vec![mode]);
    }
    let Some(filter) = body.get_mut("accountFilter").and_then(Value::as_object_mut) else {
        return Ok(Vec::new());
    };
    let modes = client_modes(filter.get("modes"))?;
    if !modes.is_empty() {
        let wire: Vec<&str> = modes.iter().map(|m| m.wire_name()).collect();
        filter.insert("modes".into(), json!(wire));
    }
    Ok(modes)
}

/// `accountFilter.modes` as sent on plain `/mj`: absent or an array of FAST / RELAX / TURBO (any case).
fn client_modes(modes: Option<&Value>) -> Result<Vec<MjMode>, ApiError> {
    const FIELD: &str = "accountFilter.modes";
    let items = match modes {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid(
                "`accountFilter.modes` must be an array of FAST, RELAX or TURBO",
                Some(FIELD),
            ));
        }
    };
    let mut out = Vec::new();
    for item in items {
        let mode = item.as_str().and_then(|m| m.parse().ok()).ok_or_else(|| {
            ApiError::invalid(
                format!(
                    "`accountFilter.modes` has an unknown mode {item}; use FAST, RELAX or TURBO"
                ),
                Some(FIELD),
            )
        })?;
        if !out.contains(&mode) {
            out.push(mode);
        }
    }
    Ok(out)
}

/// The modes a submit is priced at: those it asked for, plus the mode its parent task was bought in — a follow-up
/// (upscale, variation…) runs on the parent's account at the parent's speed, so an action on a fast task is never
/// sold at the relax price by sending it through `/mj-relax`.
pub fn with_parent_mode(mut modes: Vec<MjMode>, parent: Option<MjMode>) -> Vec<MjMode> {
    if let Some(m) = parent
        && !modes.contains(&m)
    {
        modes.push(m);
    }
    modes
}

/// The price of `model` in the dearest of `modes` (each mode's own `model:mode` price, else the mode-less one);
/// with no modes, the mode-less price. Only per-request prices sell a task: a token price would make it free.
pub fn purchase(snap: &Snapshot, model: &str, modes: &[MjMode]) -> Result<Purchase, ApiError> {
    let not_priced = || ApiError::ModelNotPriced {
        model: model.to_owned(),
    };
    let per_request = |p: &Price| p.per_request.ok_or_else(not_priced);
    if modes.is_empty() {
        let price = snap.price(model).ok_or_else(not_priced)?;
        per_request(price)?;
        return Ok(Purchase {
            price: price.clone(),
            mode: None,
        });
    }
    let mut best: Option<(i64, Purchase)> = None;
    for &mode in modes {
        let price = snap
            .price_exact(&format!("{model}:{mode}"))
            .or_else(|| snap.price(model))
            .ok_or_else(not_priced)?;
        let amount = per_request(price)?;
        if best.as_ref().is_none_or(|(top, _)| amount > *top) {
            let purchase = Purchase {
                price: price.clone(),
                mode: Some(mode),
            };
            best = Some((amount, purchase));
        }
    }
    best.map(|(_, p)| p).ok_or_else(not_priced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn mode_routes_overwrite_the_clients_modes_and_keep_the_rest() {
        let mut body = obj(json!({"accountFilter": {"modes": ["FAST"], "instanceId": "a"}}));
        assert_eq!(
            settle_modes(&mut body, Some(MjMode::Relax)).unwrap(),
            [MjMode::Relax]
        );
        assert_eq!(
            body["accountFilter"],
            json!({"modes": ["RELAX"], "instanceId": "a"})
        );
        let mut body = obj(json!({"accountFilter": null}));
        settle_modes(&mut body, Some(MjMode::Turbo)).unwrap();
        assert_eq!(body["accountFilter"], json!({"modes": ["TURBO"]}));
    }

    #[test]
    fn a_follow_up_is_priced_at_its_parents_mode_too() {
        assert_eq!(
            with_parent_mode(vec![MjMode::Relax], Some(MjMode::Fast)),
            [MjMode::Relax, MjMode::Fast]
        );
        assert_eq!(
            with_parent_mode(vec![], Some(MjMode::Relax)),
            [MjMode::Relax]
        );
        assert_eq!(
            with_parent_mode(vec![MjMode::Fast], Some(MjMode::Fast)),
            [MjMode::Fast]
        );
        assert_eq!(with_parent_mode(vec![MjMode::Fast], None), [MjMode::Fast]);
    }

    #[test]
    fn plain_route_reads_known_modes_only() {
        let mut body = obj(json!({"accountFilter": {"modes": ["fast", "RELAX", "FAST"]}}));
        assert_eq!(
            settle_modes(&mut body, None).unwrap(),
            [MjMode::Fast, MjMode::Relax]
        );
        assert_eq!(body["accountFilter"]["modes"], json!(["FAST", "RELAX"]));
        let mut none = obj(json!({}));
        assert!(settle_modes(&mut none, None).unwrap().is_empty());
        assert!(!none.contains_key("accountFilter"));
        for bad in [
            json!({"accountFilter": {"modes": ["WARP"]}}),
            json!({"accountFilter": {"modes": [1]}}),
            json!({"accountFilter": {"modes": "FAST"}}),
            json!({"accountFilter": "FAST"}),
        ] {
            assert!(settle_modes(&mut obj(bad.clone()), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn fields_have_their_types() {
        assert!(check_fields("imagine", &obj(json!({"prompt": "cat", "state": null}))).is_ok());
        assert!(check_fields("action", &obj(json!({"customId": "MJ::x", "taskId": 1}))).is_err());
        assert!(check_fields("action", &obj(json!({"customId": "MJ::x"}))).is_err());
        assert!(check_fields("imagine", &obj(json!({"prompt": ["cat"]}))).is_err());
        assert!(check_fields("blend", &obj(json!({"base64Array": ["a", 2]}))).is_err());
        assert!(check_fields("imagine", &obj(json!({"notifyHook": {"url": "x"}}))).is_err());
        assert!(listed_ids(&obj(json!({"ids": ["1", 2]}))).is_err());
        assert!(listed_ids(&obj(json!({"ids": vec!["1"; MAX_LISTED_IDS + 1]}))).is_err());
        assert_eq!(listed_ids(&obj(json!({"ids": ["1"]}))).unwrap(), ["1"]);
    }
}
