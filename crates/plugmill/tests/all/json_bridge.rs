//! The JSON bridge: every kind of component value to and from JSON, through a real export.

use plugmill::CallError;
use serde_json::json;

use super::load;

fn item() -> serde_json::Value {
    json!({
        "name": "widget",
        "tags": ["a", "b"],
        "color": "green",
        "perms": ["read", "exec"],
        "origin": {"x": 1.5, "y": -2.0},
        "size": [7, 65535],
        "count": 18446744073709551615u64,
        "ratio": 0.25,
        "initial": "w",
        "ok": true,
        "delta": -9007199254740993i64,
        "small": -128,
        "shape": {"rect": {"x": 0.0, "y": 3.0}}
    })
}

#[tokio::test]
async fn every_value_kind_round_trips() {
    let (manager, _, _dir) = load(&[("valid.wasm", test_plugins::VALID)]).await;
    let outcome = manager
        .call_hook_json("describe", &[item()])
        .await
        .remove(0);
    let mut expected = item();
    expected["name"] = json!("WIDGET");
    assert_eq!(outcome.result.unwrap(), vec![json!({ "ok": expected })]);
}

#[tokio::test]
async fn options_may_be_null_or_absent_and_cases_without_payload_are_names() {
    let (manager, _, _dir) = load(&[("valid.wasm", test_plugins::VALID)]).await;
    let mut input = item();
    input.as_object_mut().unwrap().remove("origin");
    input["shape"] = json!("empty");
    let outcome = manager.call_hook_json("describe", &[input]).await.remove(0);
    let result = outcome.result.unwrap().remove(0);
    assert_eq!(result["ok"]["origin"], json!(null));
    assert_eq!(result["ok"]["shape"], json!({"empty": null}));
}

#[tokio::test]
async fn an_err_result_comes_back_tagged() {
    let (manager, _, _dir) = load(&[("valid.wasm", test_plugins::VALID)]).await;
    let mut input = item();
    input["name"] = json!("");
    let outcome = manager.call_hook_json("describe", &[input]).await.remove(0);
    assert_eq!(outcome.result.unwrap(), vec![json!({"err": "empty name"})]);
}

#[tokio::test]
async fn json_that_does_not_fit_the_signature_says_where() {
    let (manager, _, _dir) = load(&[("valid.wasm", test_plugins::VALID)]).await;
    let cases = [
        (
            "origin",
            json!({"x": "a", "y": 1.0}),
            "argument 1 (`input`).origin.x: expected f64, got \"a\"",
        ),
        (
            "small",
            json!(200),
            "argument 1 (`input`).small: 200 is out of range for s8",
        ),
        (
            "color",
            json!("purple"),
            "argument 1 (`input`).color: `purple` is not a case of enum { red, green, blue }",
        ),
        (
            "perms",
            json!(["fly"]),
            "argument 1 (`input`).perms: `fly` is not a flag of flags { read, write, exec }",
        ),
        (
            "initial",
            json!("ab"),
            "argument 1 (`input`).initial: expected one character, got \"ab\"",
        ),
        (
            "size",
            json!([1]),
            "argument 1 (`input`).size: expected a tuple of 2, got 1 element(s)",
        ),
        (
            "shape",
            json!({"hexagon": 1}),
            "argument 1 (`input`).shape: `hexagon` is not a case of variant",
        ),
    ];
    for (field, value, expected) in cases {
        let mut input = item();
        input[field] = value;
        let outcome = manager.call_hook_json("describe", &[input]).await.remove(0);
        match outcome.result {
            Err(CallError::BadArguments { reason, .. }) => {
                assert!(reason.starts_with(expected), "{field}: {reason}")
            }
            other => panic!("{field}: expected bad arguments, got {other:?}"),
        }
    }
    let mut input = item();
    input["extra"] = json!(1);
    let outcome = manager.call_hook_json("describe", &[input]).await.remove(0);
    assert!(
        matches!(outcome.result, Err(CallError::BadArguments { reason, .. }) if reason.contains("unknown field `extra`"))
    );
}
