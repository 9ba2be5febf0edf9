//! `spec/openapi.json` against the server's route table: the document names exactly the routes
//! `cli/src/serve/router.rs` serves, declares every path parameter, and gives every operation
//! a success and a client-error answer.
//!
//! The route table is private to the binary's crate, so it is read from the router's source:
//! the `route(Method::X, "/path", …)` entries of `ROUTES`, which rustfmt may spread over lines.
//!
//! Spec: `spec/HTTP.md` §4.

use serde_json::Value;
use std::collections::BTreeSet;

const SPEC: &str = include_str!("../../spec/openapi.json");
const ROUTER: &str = include_str!("../src/serve/router.rs");

/// The methods an OpenAPI path item may hold.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Operations that cannot answer one of the two classes, and why.
const NO_CLIENT_ERROR: &[(&str, &str)] = &[
    ("get", "/healthz"), // needs nothing, takes nothing
    ("get", "/ui"),      // the same
];
const NO_SUCCESS: &[(&str, &str)] = &[("get", "/mcp")]; // always 405: no server-initiated stream

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("spec/openapi.json is JSON")
}

/// `(method, path)` of every `route(Method::X, "/path", …)` in `ROUTES`.
fn router_routes() -> BTreeSet<(String, String)> {
    let start = ROUTER
        .find("pub static ROUTES")
        .expect("router.rs defines ROUTES");
    let table = &ROUTER[start..];
    let end = table.find("];").expect("ROUTES ends");
    let mut routes = BTreeSet::new();
    for entry in table[..end].split("route(").skip(1) {
        let entry = entry.trim_start();
        let rest = entry
            .strip_prefix("Method::")
            .unwrap_or_else(|| panic!("a route starts with its method: {entry}"));
        let method: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        let after = &rest[method.len()..];
        let after = after
            .trim_start()
            .strip_prefix(',')
            .expect("a comma after the method")
            .trim_start()
            .strip_prefix('"')
            .expect("the path is a string literal");
        let path = &after[..after.find('"').expect("the path literal ends")];
        assert!(
            routes.insert((method.to_ascii_lowercase(), path.to_owned())),
            "route listed twice: {method} {path}"
        );
    }
    assert!(routes.len() > 10, "too few routes read: {routes:?}");
    routes
}

/// `(method, path)` of every operation in the document.
fn spec_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for key in item.as_object().expect("path item").keys() {
            if METHODS.contains(&key.as_str()) {
                out.insert((key.clone(), path.clone()));
            }
        }
    }
    out
}

/// The value a local `$ref` points to.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {r} resolves"))
        }
        None => v,
    }
}

/// Every operation: `(method, path, operation, path item)`.
fn operations(doc: &Value) -> Vec<(String, String, &Value, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op, item));
            }
        }
    }
    out
}

#[test]
fn the_document_names_exactly_the_routes_the_server_serves() {
    let doc = spec();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1"
    );
    let served = router_routes();
    let documented = spec_routes(&doc);
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes served but not documented: {missing:?}; documented but not served: {extra:?}"
    );
}

#[test]
fn every_path_parameter_is_declared_and_required() {
    let doc = spec();
    for (method, path, op, item) in operations(&doc) {
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let mut declared = BTreeSet::new();
        for list in [item.get("parameters"), op.get("parameters")]
            .into_iter()
            .flatten()
        {
            for p in list.as_array().expect("parameters is an array") {
                let p = resolve(&doc, p);
                if p["in"] == "path" {
                    let name = p["name"].as_str().expect("a parameter has a name");
                    assert_eq!(
                        p["required"],
                        Value::Bool(true),
                        "{method} {path}: path parameter {name} must be required"
                    );
                    declared.insert(name);
                }
            }
        }
        assert_eq!(
            in_path, declared,
            "{method} {path}: path parameters in the path vs declared"
        );
    }
}

#[test]
fn every_operation_answers_a_success_and_a_client_error() {
    let doc = spec();
    for (method, path, op, _) in operations(&doc) {
        let codes: Vec<&String> = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has responses"))
            .keys()
            .collect();
        let key = (method.as_str(), path.as_str());
        let success = codes.iter().any(|c| c.starts_with('2'));
        let client_error = codes.iter().any(|c| c.starts_with('4'));
        assert_eq!(
            success,
            !NO_SUCCESS.contains(&key),
            "{method} {path}: a 2xx response (unless listed in NO_SUCCESS)"
        );
        assert_eq!(
            client_error,
            !NO_CLIENT_ERROR.contains(&key),
            "{method} {path}: a 4xx response (unless listed in NO_CLIENT_ERROR)"
        );
    }
}

#[test]
fn every_reference_resolves_and_every_operation_id_is_unique() {
    fn walk(doc: &Value, v: &Value) {
        match v {
            Value::Object(o) => {
                if o.contains_key("$ref") {
                    resolve(doc, v);
                }
                o.values().for_each(|x| walk(doc, x));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(doc, x)),
            _ => {}
        }
    }
    let doc = spec();
    walk(&doc, &doc);
    let mut ids = BTreeSet::new();
    for (method, path, op, _) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has an operationId"));
        assert!(ids.insert(id), "operationId {id} used twice");
    }
}
