// The top two chains the pattern miner finds in `tests/data/traces/taubench.jsonl`, as
// `workflow mine tests/data/traces/taubench.jsonl --top 2 --format dsl` prints them, each inside
// `workflow! { … }` (`tests/mined_roundtrip.rs` checks that the miner still prints exactly
// this), and their tools as the log shows them: JSON in, JSON out, answered from a replay of
// the log.

workflow! {
    /// Mined chain: get_user_details -> get_reservation_details.
    /// Support 128 sessions, success rate 100.0 %, score 128.0.
    /// Example session: `tau-bench/gpt-4o-airline/task-2/trial-0`.
    get_user_details_to_get_reservation_details(user_id: serde_json::Value) {
        get_user_details = get_user_details(user_id: <<user_id>>);
        get_reservation_details = get_reservation_details(reservation_id: <<get_user_details.reservations[0]>>);
    }
}

workflow! {
    /// Mined chain: get_user_details -> get_order_details.
    /// Support 98 sessions, success rate 99.0 %, score 97.0.
    /// Example session: `tau2-bench/toolorchestra-retail/sim-a3ca649a-9981-4268-bf0c-b45c96cd8dba`.
    get_user_details_to_get_order_details(user_id: serde_json::Value) {
        get_user_details = get_user_details(user_id: <<user_id>>);
        get_order_details = get_order_details(order_id: <<get_user_details.orders[0]>>);
    }
}

/// Get a user's details (replayed from the log).
#[tool]
async fn get_user_details(State(replay): State<Replay>, user_id: serde_json::Value) -> Result<serde_json::Value, ToolError> {
    replay.answer("get_user_details", serde_json::json!({ "user_id": user_id }))
}

/// Get a reservation's details (replayed from the log).
#[tool]
async fn get_reservation_details(
    State(replay): State<Replay>,
    reservation_id: serde_json::Value,
) -> Result<serde_json::Value, ToolError> {
    replay.answer("get_reservation_details", serde_json::json!({ "reservation_id": reservation_id }))
}

/// Get an order's details (replayed from the log).
#[tool]
async fn get_order_details(State(replay): State<Replay>, order_id: serde_json::Value) -> Result<serde_json::Value, ToolError> {
    replay.answer("get_order_details", serde_json::json!({ "order_id": order_id }))
}
