//! The message parsers against anything a hostile client can send, a few thousand cases a run:
//! no input panics, and whatever parses writes back to what it read.

use loopback_signal::{FromServer, TabMessage, ToServer};
use proptest::prelude::*;
use serde_json::Value;

/// Real messages of every kind, each as JSON.
fn templates() -> Vec<Value> {
    use serde_json::json;
    let candidate = json!({"kind": "candidate", "candidate": "candidate:1 1 udp 1 192.0.2.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0});
    vec![
        json!({"type": "join", "v": 2, "room": "kitchen"}),
        json!({"type": "join", "v": 2, "room": "kitchen", "name": "Ada", "polite": true}),
        json!({"type": "resume", "v": 2, "room": "kitchen", "token": "AAAAAAAAAAAAAAAAAAAAAA", "received": 3}),
        json!({"type": "signal", "to": 2, "signal": candidate}),
        json!({"type": "signal", "to": 2, "signal": {"kind": "description", "type": "offer", "sdp": "v=0\r\n"}}),
        json!({"type": "signal", "to": 3, "signal": {"kind": "end-of-candidates"}}),
        json!({"type": "name", "name": "Bo"}),
        json!({"type": "ping"}),
        json!({"type": "leave"}),
        json!({"type": "hello", "from": 10, "visit": 1, "seat": 0}),
        json!({"type": "hello", "from": 10, "visit": 1, "seat": 0, "name": "Ada"}),
        json!({"type": "named", "from": 10, "visit": 1, "name": "Bo"}),
        json!({"type": "welcome", "from": 10, "visit": 1, "seat": 2, "to": 20, "toVisit": 3}),
        json!({"type": "away", "from": 10, "visit": 1}),
        json!({"type": "leave", "from": 10, "visit": 2}),
        json!({"type": "signal", "from": 10, "visit": 1, "to": 20, "toVisit": 1, "signal": {"kind": "restart-ice"}}),
        json!({"type": "peer-joined", "peer": 2, "name": "Bo", "polite": true, "iceServers": [{"urls": ["turn:192.0.2.1"], "username": "1:a", "credential": "x"}]}),
        json!({"type": "joined", "v": 2, "peer": 3, "peers": [{"peer": 1, "name": "Ada", "polite": true, "away": true}], "size": 6, "iceServers": [], "resume": "AAAAAAAAAAAAAAAAAAAAAA", "grace": 30}),
        json!({"type": "signal", "from": 1, "signal": {"kind": "restart-ice"}}),
        json!({"type": "peer-left", "peer": 1}),
        json!({"type": "error", "problem": "room-full", "message": "full"}),
    ]
}

/// A real message with one change: a field's value replaced, a field taken out or one added.
fn mutated() -> impl Strategy<Value = Value> {
    let templates = templates();
    (0..templates.len(), 0..4usize, "[a-zA-Z]{1,8}", leaf()).prop_map(
        move |(which, change, key, value)| {
            let mut message = templates[which].clone();
            if let Some(object) = message.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                let target = keys[key.len() % keys.len()].clone();
                match change {
                    0 => {}
                    1 => {
                        object.insert(target, value);
                    }
                    2 => {
                        object.remove(&target);
                    }
                    _ => {
                        object.insert(key, value);
                    }
                }
            }
            message
        },
    )
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..100).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ]
}

/// JSON values shaped like the messages: real ones changed a little, and objects whose keys
/// are mostly the protocol's own, with values of every kind, nested a few levels.
fn message_like() -> impl Strategy<Value = Value> {
    prop_oneof![mutated(), random_like()]
}

fn random_like() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type".to_owned()),
        Just("kind".to_owned()),
        Just("room".to_owned()),
        Just("signal".to_owned()),
        Just("sdp".to_owned()),
        Just("candidate".to_owned()),
        Just("token".to_owned()),
        Just("received".to_owned()),
        Just("polite".to_owned()),
        Just("from".to_owned()),
        Just("to".to_owned()),
        Just("sdpMLineIndex".to_owned()),
        "[a-zA-Z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("join".to_owned()),
            Just("signal".to_owned()),
            Just("resume".to_owned()),
            Just("candidate".to_owned()),
            Just("description".to_owned()),
            Just("offer".to_owned()),
            Just("hello".to_owned()),
            Just("welcome".to_owned()),
            ".{0,40}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_text_is_a_message_or_an_error(text in ".{0,400}") {
        let _ = serde_json::from_str::<ToServer>(&text);
        let _ = serde_json::from_str::<FromServer>(&text);
        let _ = serde_json::from_str::<TabMessage>(&text);
    }

    #[test]
    fn what_parses_writes_back_as_read(value in message_like()) {
        if let Ok(message) = serde_json::from_value::<ToServer>(value.clone()) {
            let again: ToServer = serde_json::from_value(serde_json::to_value(&message).unwrap()).unwrap();
            prop_assert_eq!(again, message);
        }
        if let Ok(message) = serde_json::from_value::<TabMessage>(value.clone()) {
            let again: TabMessage = serde_json::from_value(serde_json::to_value(&message).unwrap()).unwrap();
            prop_assert_eq!(again, message);
        }
        if let Ok(message) = serde_json::from_value::<FromServer>(value) {
            let again: FromServer = serde_json::from_value(serde_json::to_value(&message).unwrap()).unwrap();
            prop_assert_eq!(again, message);
        }
    }
}

/// The generator reaches messages that parse, or the round trip above would test nothing.
#[test]
fn the_generator_makes_messages_that_parse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = message_like();
    let mut parsed = 0;
    for _ in 0..20_000 {
        let value = strategy.new_tree(&mut runner).unwrap().current();
        parsed += usize::from(serde_json::from_value::<ToServer>(value.clone()).is_ok())
            + usize::from(serde_json::from_value::<TabMessage>(value.clone()).is_ok())
            + usize::from(serde_json::from_value::<FromServer>(value).is_ok());
    }
    assert!(parsed >= 20, "only {parsed} of 20,000 parsed");
}
