//! The travel-agency conversation the request benchmarks send (`providers` `anthropic`, `tollgate` `request`): a
//! system prompt, a few turns with one tool round trip, and the tool's definition; about 2 KB as JSON.

use serde_json::{Value, json};

/// The turns, ending with the customer's last question, to which `more` is appended.
pub fn messages(more: &str) -> Value {
    let question = format!(
        "Which of the two options would you recommend, and what would the Sintra day trip add to the total?{more}"
    );
    json!([
        {"role": "system", "content": "You are a helpful assistant for a travel agency. Answer briefly and \
          politely, in the customer's language. When the customer asks about prices or availability, call the \
          search_trips tool instead of guessing. Never invent booking references."},
        {"role": "user", "content": "Hello! I would like to travel from Lyon to Lisbon in the second week of \
          May with my partner. We prefer direct flights and a hotel close to the old town."},
        {"role": "assistant", "content": "Happy to help! Do you have a budget in mind, and how many nights \
          would you like to stay in Lisbon?"},
        {"role": "user", "content": "Around 1500 euros for both of us, five nights. We would also like a \
          day trip to Sintra if that is possible."},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_8a7f", "type": "function",
          "function": {"name": "search_trips", "arguments": "{\"from\":\"LYS\",\"to\":\"LIS\",\
          \"depart\":\"2026-05-11\",\"nights\":5,\"travellers\":2,\"direct\":true}"}}]},
        {"role": "tool", "tool_call_id": "call_8a7f", "content": "[{\"flight\":\"TP 443\",\"price\":412,\
          \"hotel\":\"Casa Alfama\",\"hotel_price\":780},{\"flight\":\"TP 445\",\"price\":398,\
          \"hotel\":\"Baixa House\",\"hotel_price\":845}]"},
        {"role": "user", "content": question}
    ])
}

/// The one tool the assistant may call.
pub fn tools() -> Value {
    json!([{"type": "function", "function": {
        "name": "search_trips",
        "description": "Search flights and hotels for a trip",
        "parameters": {"type": "object", "properties": {
            "from": {"type": "string", "description": "IATA code of the departure airport"},
            "to": {"type": "string", "description": "IATA code of the arrival airport"},
            "depart": {"type": "string", "format": "date"},
            "nights": {"type": "integer", "minimum": 1},
            "travellers": {"type": "integer", "minimum": 1},
            "direct": {"type": "boolean"}
        }, "required": ["from", "to", "depart"]}
    }}])
}
