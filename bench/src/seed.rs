//! What the benchmark's requests need in the database: a region of stores, and renters
//! signed up with a session each.

use serde_json::json;
use stack::Stack;
use stack::seed::StoreSeed;

pub struct Seeded {
    pub region: i64,
    pub cookie: String,
    /// Whom `cookie` is logged in as.
    pub user_id: i64,
    pub users: Vec<(reqwest::Client, i64, i64)>,
}

pub async fn seed(s: &Stack) -> Result<Seeded, String> {
    let region = s.seed_region("bench").map_err(|e| e.to_string())?;
    let users_store = s
        .seed_store(
            region,
            &StoreSeed {
                name: "bench",
                umbrellas: 1000..1016,
                ..StoreSeed::default()
            },
        )
        .map_err(|e| e.to_string())?;
    for i in 0..8 {
        let name = format!("store {i}");
        let seed = StoreSeed {
            name: &name,
            ..StoreSeed::default()
        };
        s.seed_store(region, &seed).map_err(|e| e.to_string())?;
    }
    let base = s.was[0].url("");
    let mut users = Vec::new();
    let mut cookie = String::new();
    let mut user_id = 0;
    for i in 0..16 {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .map_err(|e| e.to_string())?;
        let r = client
            .post(format!("{base}/api/auth/signup"))
            .json(&json!({"email": format!("bench{i}@example.com"), "password": "password123", "name": "벤치", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if i == 0 {
            cookie = r
                .headers()
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .unwrap_or_default()
                .to_owned();
            let me: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            user_id = me["id"]
                .as_i64()
                .ok_or_else(|| format!("sign-up answered without an id: {me}"))?;
        }
        client
            .put(format!("{base}/api/me/bank-account"))
            .json(&json!({"bank_name": "신한", "account_number": "110123456789"}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        users.push((client, users_store.umbrellas[i], users_store.id));
    }
    Ok(Seeded {
        region,
        cookie,
        user_id,
        users,
    })
}
