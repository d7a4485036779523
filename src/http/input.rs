//! Typed access to a JSON request body. Every getter names the field in its error, and
//! `Fields::parse` + `only` refuse anything the action did not ask for.

use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// The body must be one JSON object, with no key given twice at any depth (serde_json would
    /// keep the last one silently: `{"name":"wan2","name":"wan1"}` must not change wan1).
    pub fn parse(body: &[u8]) -> ApiResult<Fields> {
        if body.is_empty() {
            return Err(ApiError::bad_request("request body must be a JSON object"));
        }
        match strict::from_slice(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
            Err(strict::Error::Duplicate(path)) => {
                Err(ApiError::field(&path, "is given more than once"))
            }
            Err(strict::Error::Json(e)) => Err(ApiError::bad_request(format!(
                "request body is not valid JSON: {e}"
            ))),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Fields {
        Fields(map)
    }

    pub fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::field(k, "unknown field")),
            None => Ok(()),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    fn required(&self, key: &str) -> ApiResult<&Value> {
        self.0
            .get(key)
            .ok_or_else(|| ApiError::field(key, "is required"))
    }

    pub fn str(&self, key: &str) -> ApiResult<&str> {
        self.required(key)?
            .as_str()
            .ok_or_else(|| ApiError::field(key, "must be a string"))
    }

    pub fn opt_str(&self, key: &str) -> ApiResult<Option<&str>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| ApiError::field(key, "must be a string")),
        }
    }

    pub fn bool(&self, key: &str) -> ApiResult<bool> {
        self.required(key)?
            .as_bool()
            .ok_or_else(|| ApiError::field(key, "must be true or false"))
    }

    /// A JSON integer (not a float, not a string) within `range`.
    pub fn int(&self, key: &str, range: std::ops::RangeInclusive<i64>) -> ApiResult<i64> {
        let v = self.required(key)?;
        match v.as_i64() {
            Some(n) if v.is_i64() || v.is_u64() => {
                if range.contains(&n) {
                    Ok(n)
                } else {
                    Err(ApiError::field(
                        key,
                        format!("must be from {} to {}", range.start(), range.end()),
                    ))
                }
            }
            _ => Err(ApiError::field(key, "must be an integer")),
        }
    }

    pub fn object(&self, key: &str) -> ApiResult<Fields> {
        match self.required(key)? {
            Value::Object(m) => Ok(Fields(m.clone())),
            _ => Err(ApiError::field(key, "must be an object")),
        }
    }

    pub fn array(&self, key: &str) -> ApiResult<&Vec<Value>> {
        self.required(key)?
            .as_array()
            .ok_or_else(|| ApiError::field(key, "must be an array"))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }
}

/// A JSON parser that refuses duplicate object keys and names the first one (`a.b`, `a[2].b`).
pub mod strict {
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};
    use std::cell::RefCell;
    use std::fmt;

    pub enum Error {
        Duplicate(String),
        Json(serde_json::Error),
    }

    thread_local! {
        static DUPLICATE: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    pub fn from_slice(body: &[u8]) -> Result<Value, Error> {
        DUPLICATE.with(|d| d.borrow_mut().take());
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed = Seed {
            path: String::new(),
        }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v));
        match parsed {
            Ok(v) => Ok(v),
            Err(e) => match DUPLICATE.with(|d| d.borrow_mut().take()) {
                Some(path) => Err(Error::Duplicate(path)),
                None => Err(Error::Json(e)),
            },
        }
    }

    struct Seed {
        path: String,
    }

    impl<'de> DeserializeSeed<'de> for Seed {
        type Value = Value;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Seed {
        type Value = Value;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            loop {
                let path = format!("{}[{}]", self.path, out.len());
                match seq.next_element_seed(Seed { path })? {
                    Some(v) => out.push(v),
                    None => return Ok(Value::Array(out)),
                }
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = if self.path.is_empty() {
                    key.clone()
                } else {
                    format!("{}.{key}", self.path)
                };
                if out.contains_key(&key) {
                    DUPLICATE.with(|d| *d.borrow_mut() = Some(path.clone()));
                    return Err(de::Error::custom(format!("duplicate key {path}")));
                }
                let v = map.next_value_seed(Seed { path })?;
                out.insert(key, v);
            }
            Ok(Value::Object(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields() {
        let f = Fields::parse(br#"{"a":"x","n":5,"f":5.5,"s":"5","b":true}"#).unwrap();
        assert_eq!(f.str("a").unwrap(), "x");
        assert_eq!(f.int("n", 1..=9).unwrap(), 5);
        assert_eq!(f.int("n", 6..=9).unwrap_err().field.as_deref(), Some("n"));
        assert_eq!(f.int("f", 1..=9).unwrap_err().field.as_deref(), Some("f"));
        assert_eq!(f.int("s", 1..=9).unwrap_err().field.as_deref(), Some("s"));
        assert!(f.bool("b").unwrap());
        assert_eq!(f.str("zz").unwrap_err().message, "is required");
        assert_eq!(
            f.only(&["a", "n", "f", "s"]).unwrap_err().field.as_deref(),
            Some("b")
        );
        assert_eq!(Fields::parse(b"[1]").unwrap_err().status, 400);
        assert_eq!(Fields::parse(b"{bad").unwrap_err().code, "bad_request");
        assert_eq!(Fields::parse(b"").unwrap_err().code, "bad_request");
    }

    /// Finding 11b: duplicate keys were accepted, the last one winning.
    #[test]
    fn finding_11_duplicate_json_keys_refused() {
        let e = Fields::parse(br#"{"name":"wan2","name":"wan1"}"#).unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (400, Some("name")));
        let e = Fields::parse(br#"{"roles":{"wan1":"on","wan1":"master"}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("roles.wan1"));
        let e = Fields::parse(br#"{"a":[{"x":1},{"x":1,"x":2}]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("a[1].x"));
        // Same key in different objects is fine; values keep their types.
        let f = Fields::parse(br#"{"a":{"x":1},"b":{"x":-2.5},"c":[null,true,"s"]}"#).unwrap();
        assert_eq!(
            f.object("b").unwrap().raw("x"),
            Some(&serde_json::json!(-2.5))
        );
        assert_eq!(f.raw("c"), Some(&serde_json::json!([null, true, "s"])));
        assert_eq!(
            Fields::parse(br#"{"a":1} x"#).unwrap_err().code,
            "bad_request"
        );
    }
}
