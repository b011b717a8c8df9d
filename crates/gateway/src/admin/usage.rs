//! `GET /api/admin/usage?group_by=day,model,user,channel&since=&until=`: request, token and cost totals per
//! bucket. Each bucket carries only the dimensions asked for (`day`, `model`, `user_id`, `channel_id`); no
//! `group_by` gives one grand-total bucket.

use super::extract::{List, Params};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use serde_json::{Map, Value, json};
use store::{UsageBucket, UsageDim};

pub fn dims(spec: Option<&str>) -> Result<Vec<UsageDim>, ApiError> {
    let mut out = Vec::new();
    for d in spec.unwrap_or_default().split(',').map(str::trim) {
        let dim = match d {
            "" => continue,
            "day" => UsageDim::Day,
            "model" => UsageDim::Model,
            "user" => UsageDim::User,
            "channel" => UsageDim::Channel,
            other => {
                return Err(ApiError::invalid(
                    format!(
                        "Unknown `group_by` dimension `{other}`; expected some of day, model, user, channel."
                    ),
                    Some("group_by"),
                ));
            }
        };
        if !out.contains(&dim) {
            out.push(dim);
        }
    }
    Ok(out)
}

pub fn bucket(b: UsageBucket, dims: &[UsageDim]) -> Value {
    let mut m = Map::new();
    for d in dims {
        let (k, v) = match d {
            UsageDim::Day => ("day", json!(b.day)),
            UsageDim::Model => ("model", json!(b.model)),
            UsageDim::User => ("user_id", json!(b.user_id)),
            UsageDim::Channel => ("channel_id", json!(b.channel_id)),
        };
        m.insert(k.to_owned(), v);
    }
    m.insert("requests".to_owned(), json!(b.requests));
    m.insert("prompt_tokens".to_owned(), json!(b.prompt_tokens));
    m.insert("completion_tokens".to_owned(), json!(b.completion_tokens));
    m.insert("cost".to_owned(), json!(b.cost));
    Value::Object(m)
}

/// Request, token and cost totals per bucket of the `group_by` dimensions.
pub(super) async fn usage(state: &AppState, params: Params) -> Result<Json<List<Value>>, ApiError> {
    let params = params.only(&["group_by", "since", "until"])?;
    let dims = dims(params.text("group_by"))?;
    let since = params.time("since")?;
    let until = params.time("until")?;
    let buckets = state.store.usage(&dims, since, until).await?;
    Ok(Json(List::all(
        buckets.into_iter().map(|b| bucket(b, &dims)).collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::dims;
    use store::UsageDim;

    #[test]
    fn parses_dimensions() {
        assert_eq!(
            dims(Some("day, model,day")).ok(),
            Some(vec![UsageDim::Day, UsageDim::Model])
        );
        assert_eq!(dims(None).ok(), Some(vec![]));
        assert!(dims(Some("week")).is_err());
    }
}
