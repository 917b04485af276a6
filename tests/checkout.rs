//! The resilience syntax exactly as the manual writes it: a checkout with retries and time
//! budgets, a compensated charge, a fan-out, a fallback and two trigger rules. Each case runs
//! compiled and as the compiled workflow's template, with the same outcome.

use std::sync::{Arc, Mutex};

use serde_json::json;
use workflow::prelude::*;
use workflow::{ExecuteError, RunRecord, WorkflowExecutor};

/// The shop: what was called, and what should fail.
#[derive(Default)]
struct Shop {
    calls: Mutex<Vec<String>>,
    /// Skus whose reservation fails.
    out_of_stock: Vec<String>,
    /// Whether the fast shipper is down.
    fast_down: bool,
    /// Whether the card is declined.
    declined: bool,
}

impl Shop {
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

/// An item of an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToolOutput)]
pub struct Item {
    /// Its stock-keeping unit.
    pub sku: String,
}

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, ToolOutput)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// What it costs, in cents.
    pub total: u64,
    /// What is in it.
    pub items: Vec<Item>,
}

/// A charge on the customer's card.
#[derive(Debug, Clone, Serialize, Deserialize, ToolOutput)]
pub struct Charge {
    /// Its id.
    pub id: String,
}

/// A shipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToolOutput)]
pub struct Shipment {
    /// Who carries it.
    pub carrier: String,
}

/// Load an order.
#[tool]
async fn load_order(State(shop): State<Arc<Shop>>, id: String) -> Result<Order, ToolError> {
    shop.log(format!("load_order {id}"));
    let items = ["a", "b", "c"].iter().map(|s| Item { sku: (*s).to_owned() }).collect();
    Ok(Order { id, total: 4200, items })
}

/// Charge an order.
#[tool]
async fn billing_charge(
    State(shop): State<Arc<Shop>>,
    order: String,
    amount: u64,
) -> Result<Charge, ToolError> {
    shop.log(format!("billing_charge {order} {amount}"));
    if shop.declined {
        return Err(ToolError::permanent("card declined"));
    }
    Ok(Charge { id: format!("ch-{order}") })
}

/// Refund a charge.
#[tool]
async fn billing_refund(State(shop): State<Arc<Shop>>, charge_id: String) -> Result<(), ToolError> {
    shop.log(format!("billing_refund {charge_id}"));
    Ok(())
}

/// Reserve one item.
#[tool]
async fn reserve(State(shop): State<Arc<Shop>>, sku: String) -> Result<String, ToolError> {
    shop.log(format!("reserve {sku}"));
    if shop.out_of_stock.contains(&sku) {
        return Err(ToolError::permanent(format!("{sku} is out of stock")));
    }
    Ok(format!("r-{sku}"))
}

/// Ship by the fast carrier.
#[tool]
async fn ship_fast(State(shop): State<Arc<Shop>>, order: String) -> Result<Shipment, ToolError> {
    shop.log(format!("ship_fast {order}"));
    if shop.fast_down {
        return Err(ToolError::permanent("the fast carrier is down"));
    }
    Ok(Shipment { carrier: "fast".into() })
}

/// Ship by the slow carrier.
#[tool]
async fn ship_slow(State(shop): State<Arc<Shop>>, order: String) -> Result<Shipment, ToolError> {
    shop.log(format!("ship_slow {order}"));
    Ok(Shipment { carrier: "slow".into() })
}

/// Page whoever is on call.
#[tool]
async fn page_oncall(State(shop): State<Arc<Shop>>, text: String) -> Result<(), ToolError> {
    shop.log(format!("page_oncall {text}"));
    Ok(())
}

/// Release a lock.
#[tool]
async fn release_lock(State(shop): State<Arc<Shop>>, key: String) -> Result<(), ToolError> {
    shop.log(format!("release_lock {key}"));
    Ok(())
}

workflow! {
    pub checkout(order_id: String) {
        order    = load_order(id: <<order_id>>) retry 3 backoff 1s x2 max 10s jitter timeout 2s deadline 20s;
        charge   = billing_charge(order: <<order.id>>, amount: <<order.total>>)
                   compensate billing_refund(charge_id: <<charge.id>>);
        reserved = reserve(sku: <<item.sku>>) for item in <<order.items>> max 4 tolerate 1;
        ship     = ship_fast(order: <<order.id>>) on_error fallback ship_slow(order: <<order.id>>);
        alert    = page_oncall(text: "checkout failed") after charge failed;
        unlock   = release_lock(key: <<order.id>>) after ship always;
    }
}

fn tools(shop: &Arc<Shop>) -> ToolRegistry<Arc<Shop>> {
    let mut tools = ToolRegistry::new(shop.clone());
    tools.register::<load_order>().unwrap();
    tools.register::<billing_charge>().unwrap();
    tools.register::<billing_refund>().unwrap();
    tools.register::<reserve>().unwrap();
    tools.register::<ship_fast>().unwrap();
    tools.register::<ship_slow>().unwrap();
    tools.register::<page_oncall>().unwrap();
    tools.register::<release_lock>().unwrap();
    tools
}

/// Each step's status, in written order.
fn statuses(record: &RunRecord) -> Vec<(String, StepStatus)> {
    ["order", "charge", "reserved", "ship", "alert", "unlock"]
        .iter()
        .map(|id| ((*id).to_owned(), record.step(id).unwrap().status))
        .collect()
}

/// Runs the checkout of order `o-1` both ways in fresh shops made by `shop`: the records of the
/// compiled run and of the run-time run, and what each shop was asked.
async fn both(shop: impl Fn() -> Shop) -> [(Result<RunRecord, RunRecord>, Vec<String>); 2] {
    let compiled_shop = Arc::new(shop());
    let compiled = match checkout("o-1".into()).run(&compiled_shop).await {
        Ok(run) => Ok(run.record),
        Err(err) => Err(err.record),
    };
    let runtime_shop = Arc::new(shop());
    let template = checkout::template();
    let run =
        WorkflowExecutor::new().execute(&template, &tools(&runtime_shop), json!({ "order_id": "o-1" })).await;
    let at_run_time = match run {
        Ok(run) => Ok(run.record),
        Err(ExecuteError::Failed(err)) => Err(err.record),
        Err(other) => panic!("{other:?}"),
    };
    [(compiled, compiled_shop.calls()), (at_run_time, runtime_shop.calls())]
}

#[tokio::test(start_paused = true)]
async fn a_checkout_that_goes_well() {
    let shop = Arc::new(Shop::default());
    let run = checkout("o-1".into()).run(&shop).await.unwrap();
    assert_eq!(run.reserved, [Some("r-a".to_owned()), Some("r-b".into()), Some("r-c".into())]);
    assert_eq!(run.ship, Shipment { carrier: "fast".into() });
    assert_eq!(run.alert, None, "the charge did not fail");
    assert_eq!(run.unlock, Some(()));
    for (record, calls) in both(Shop::default).await {
        let record = record.unwrap();
        use StepStatus::*;
        let expected = [
            ("order", Succeeded),
            ("charge", Succeeded),
            ("reserved", Succeeded),
            ("ship", Succeeded),
            ("alert", Skipped),
            ("unlock", Succeeded),
        ];
        assert_eq!(statuses(&record), expected.map(|(s, st)| (s.to_owned(), st)));
        assert!(!calls.iter().any(|c| c.starts_with("billing_refund")), "{calls:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_fast_carrier_that_is_down_falls_back_to_the_slow_one() {
    let shop = Arc::new(Shop { fast_down: true, ..Shop::default() });
    let run = checkout("o-1".into()).run(&shop).await.unwrap();
    assert_eq!(run.ship, Shipment { carrier: "slow".into() });
    for (record, calls) in both(|| Shop { fast_down: true, ..Shop::default() }).await {
        let record = record.unwrap();
        let ship = record.step("ship").unwrap();
        assert!(ship.fallback && ship.status == StepStatus::Succeeded && ship.attempts.len() == 2);
        assert!(calls.contains(&"ship_slow o-1".to_owned()), "{calls:?}");
        assert_eq!(record.step("unlock").unwrap().status, StepStatus::Succeeded);
    }
}

#[tokio::test(start_paused = true)]
async fn one_item_out_of_stock_is_tolerated_two_undo_the_charge() {
    let one = || Shop { out_of_stock: vec!["b".into()], ..Shop::default() };
    let shop = Arc::new(one());
    let run = checkout("o-1".into()).run(&shop).await.unwrap();
    assert_eq!(run.reserved, [Some("r-a".to_owned()), None, Some("r-c".into())]);

    let two = || Shop { out_of_stock: vec!["a".into(), "c".into()], ..Shop::default() };
    for (record, calls) in both(two).await {
        let record = record.unwrap_err();
        assert_eq!(record.step("reserved").unwrap().status, StepStatus::Failed);
        assert_eq!(record.step("charge").unwrap().status, StepStatus::Compensated);
        assert!(calls.contains(&"billing_refund ch-o-1".to_owned()), "{calls:?}");
        // The lock is released whatever happened to the shipment; nobody is paged, since the
        // charge went through.
        assert!(calls.contains(&"release_lock o-1".to_owned()), "{calls:?}");
        assert_eq!(record.step("alert").unwrap().status, StepStatus::Skipped);
    }
}

#[tokio::test(start_paused = true)]
async fn a_declined_card_pages_the_on_call_engineer() {
    let declined = || Shop { declined: true, ..Shop::default() };
    for (record, calls) in both(declined).await {
        let record = record.unwrap_err();
        assert_eq!(record.step("charge").unwrap().status, StepStatus::Failed);
        assert_eq!(record.step("alert").unwrap().status, StepStatus::Succeeded);
        assert!(calls.contains(&"page_oncall checkout failed".to_owned()), "{calls:?}");
        assert!(!calls.iter().any(|c| c.starts_with("billing_refund")), "nothing to refund: {calls:?}");
        assert!(calls.contains(&"release_lock o-1".to_owned()), "{calls:?}");
    }
}

workflow! {
    /// The same checkout, each step started as soon as what it needs has ended.
    #[schedule(eager)]
    pub checkout_eager(order_id: String) {
        order    = load_order(id: <<order_id>>) retry 3 backoff 1s x2 max 10s jitter timeout 2s deadline 20s;
        charge   = billing_charge(order: <<order.id>>, amount: <<order.total>>)
                   compensate billing_refund(charge_id: <<charge.id>>);
        reserved = reserve(sku: <<item.sku>>) for item in <<order.items>> max 4 tolerate 1;
        ship     = ship_fast(order: <<order.id>>) on_error fallback ship_slow(order: <<order.id>>);
        alert    = page_oncall(text: "checkout failed") after charge failed;
        unlock   = release_lock(key: <<order.id>>) after ship always;
    }
}

#[tokio::test(start_paused = true)]
async fn the_eager_checkout_ends_every_step_as_the_level_one_does() {
    let shops: [fn() -> Shop; 4] = [
        Shop::default,
        || Shop { fast_down: true, ..Shop::default() },
        || Shop { out_of_stock: vec!["a".into(), "c".into()], ..Shop::default() },
        || Shop { declined: true, ..Shop::default() },
    ];
    for (case, shop) in shops.iter().enumerate() {
        let (levels_shop, eager_shop) = (Arc::new(shop()), Arc::new(shop()));
        let levels = match checkout("o-1".into()).run(&levels_shop).await {
            Ok(run) => run.record,
            Err(err) => err.record,
        };
        let eager = match checkout_eager("o-1".into()).run(&eager_shop).await {
            Ok(run) => run.record,
            Err(err) => err.record,
        };
        assert_eq!(statuses(&eager), statuses(&levels), "case {case}");
        let (mut a, mut b) = (levels_shop.calls(), eager_shop.calls());
        a.sort();
        b.sort();
        assert_eq!(a, b, "case {case}: the same calls");
    }
}
