//! `GET clients.history?mac=<mac>|id=ip:<addr>&range=hourly|daily|monthly` — one client's bytes
//! per hour (24 h), day (30 d) or month (every month since it was first seen), from the
//! collector's client tiers, with each bucket's coverage (0 s = the collector was not running).

use super::meta::valid_mac;
use crate::actions::{Ctx, now_epoch};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::store::clients as hist;
use crate::store::query::Range;
use crate::store::{Store, config, period, status};
use crate::system::{clock, uci};
use serde_json::json;

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let q = &ctx.req.query;
    q.only(&["mac", "id", "range"])?;
    let key = match (q.get("mac"), q.get("id")) {
        (Some(m), None) => valid_mac("mac", m)?,
        (None, Some(id)) => match id.strip_prefix("ip:") {
            Some(ip) => format!("ip:{}", crate::validate::ipv4("id", ip)?),
            None => valid_mac("id", id)?,
        },
        _ => return Err(ApiError::field("mac", "give mac (or id=ip:<address>)")),
    };
    let range = Range::parse(q.choice("range", &["hourly", "daily", "monthly"], "daily")?)
        .unwrap_or(Range::Daily);
    let root = ctx.root;
    let cfg = config::load(&uci::load(root, "jammonitor")?);
    let tz = clock::tz_rule(root);
    period::set_tz(&tz);
    let now = now_epoch();
    let located = status::locate_db(root, &cfg);
    let store = match &located {
        Some((p, _)) => Some(Store::open_existing(&root.path(p))?),
        None => None,
    };
    let (known, series) = match &store {
        Some(s) => {
            let k = hist::find(s.conn(), &key)?;
            let series = hist::series(
                s.conn(),
                k.as_ref().map(|k| k.id),
                range,
                now as i64,
                &period::utc_offset,
            )?;
            (k, series)
        }
        None => (None, Vec::new()),
    };
    let (mut trx, mut ttx) = (0u64, 0u64);
    let buckets: Vec<_> = series
        .iter()
        .map(|(b, v)| {
            trx += v.rx;
            ttx += v.tx;
            json!({"start": b.start, "label": b.label, "samples": b.samples, "seconds": b.seconds, "rx": v.rx, "tx": v.tx})
        })
        .collect();
    Ok(Response::ok(json!({
        "key": key,
        "range": range.as_str(),
        "generated_at": now,
        "tz": tz,
        "available": store.is_some(),
        "known": known.as_ref().map(|k| json!({"mac": k.mac, "ip": k.ip, "hostname": k.hostname, "first_seen": k.first_seen, "last_seen": k.last_seen})),
        "buckets": buckets,
        "totals": {"rx": trx, "tx": ttx},
    })))
}
