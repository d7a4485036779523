//! Typed access to a JSON request body. Every getter names the field in its error, and
//! `Fields::parse` + `only` refuse anything the action did not ask for.

use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// The body must be one JSON object.
    pub fn parse(body: &[u8]) -> ApiResult<Fields> {
        if body.is_empty() {
            return Err(ApiError::bad_request("request body must be a JSON object"));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request(format!(
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
}
