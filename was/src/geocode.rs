//! Address search for the console, through Kakao's Local API: an operator types an
//! address and picks the match instead of typing coordinates. Every call is bounded by
//! `KAKAO_TIMEOUT`, so a Kakao outage costs the operator a few seconds and a clear
//! message, never a hung form; the base URL is configuration, so tests point it at a
//! stand-in.

use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use crate::config::GeocodeConfig;
use crate::error::Error;

/// Kakao answers at most this many matches per page.
const RESULTS: &str = "10";

pub struct Geocoder {
    endpoint: Url,
    api_key: secrecy::SecretString,
    http: reqwest::Client,
}

/// One match: Kakao's full address and its coordinates (WGS84).
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Deserialize)]
struct SearchResponse {
    documents: Vec<Document>,
}

#[derive(Deserialize)]
struct Document {
    address_name: String,
    /// Longitude, as a decimal string.
    x: String,
    /// Latitude, as a decimal string.
    y: String,
}

impl Geocoder {
    pub fn new(config: &GeocodeConfig) -> Result<Self, reqwest::Error> {
        let mut endpoint = config.base_url.clone();
        let path = format!(
            "{}/v2/local/search/address.json",
            endpoint.path().trim_end_matches('/')
        );
        endpoint.set_path(&path);
        Ok(Self {
            endpoint,
            api_key: config.api_key.clone(),
            http: reqwest::Client::builder()
                .timeout(config.timeout)
                .connect_timeout(config.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// The addresses matching `query` (already checked: 1 to 100 characters).
    pub async fn search(&self, query: &str) -> Result<Vec<Place>, Error> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("query", query)
            .append_pair("size", RESULTS);
        let unavailable = || {
            Error::upstream_unavailable(
                "geocode_failed",
                "카카오 주소 검색이 지금 응답하지 않습니다. 잠시 후 다시 시도하거나 좌표를 직접 입력해 주세요. \
                 (Kakao address search is not answering; try again shortly or type the coordinates.)",
            )
        };
        let response = self
            .http
            .get(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("KakaoAK {}", self.api_key.expose_secret()),
            )
            .send()
            .await
            .map_err(|e| {
                let timeout = e.is_timeout();
                tracing::warn!(error = %e.without_url(), timeout, "Kakao address search failed");
                unavailable()
            })?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(%status, "Kakao address search answered an error");
            return Err(unavailable());
        }
        let body: SearchResponse = response.json().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "Kakao address search answered something unreadable");
            unavailable()
        })?;
        Ok(body
            .documents
            .into_iter()
            .filter_map(|d| {
                let latitude: f64 = d.y.trim().parse().ok()?;
                let longitude: f64 = d.x.trim().parse().ok()?;
                let valid =
                    (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude);
                valid.then_some(Place {
                    address: d.address_name,
                    latitude,
                    longitude,
                })
            })
            .collect())
    }
}
