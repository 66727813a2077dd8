//! Setup shared by the simulator's tests and benches: a service-account token over plain HTTP,
//! the project's base path, and an sdk client configured for the simulator. Each test binary
//! uses only part of it.
#![allow(dead_code)]

use atlas_network_peering::{Client, Config};
use atlas_network_peering_sim::Simulator;
use serde_json::Value;

/// A service-account token from `base`'s `/api/oauth/token` (client credentials grant).
pub async fn token(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> String {
    let answer = json_of(
        http.post(format!("{base}/api/oauth/token"))
            .basic_auth(id, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials"),
    )
    .await;
    answer["access_token"].as_str().unwrap().to_owned()
}

/// Sends `request` and reads its answer as JSON.
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// Sends `method url` with the bearer `token` and, when given, the JSON `body`.
pub async fn send(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = http
        .request(method.parse().unwrap(), url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// A token of the simulator's service account.
pub async fn sim_token(http: &reqwest::Client, sim: &Simulator) -> String {
    token(http, sim.base_url(), &sim.client_id(), &sim.client_secret()).await
}

/// The URL of the simulator's project: `{base}/api/atlas/v1.0/groups/{project}`.
pub fn group_url(sim: &Simulator) -> String {
    format!(
        "{}/api/atlas/v1.0/groups/{}",
        sim.base_url(),
        sim.project_id()
    )
}

/// An sdk configuration pointed at the simulator, without credentials.
pub fn config(sim: &Simulator) -> Config {
    Config::new().with_base_url(sim.base_url()).unwrap()
}

/// An sdk client of the simulator with its API key.
pub fn api_key_client(sim: &Simulator) -> Client {
    Client::from_config(config(sim).with_api_key(sim.public_key(), sim.private_key())).unwrap()
}

/// A new local Atlas and an sdk client of it with its API key.
pub async fn start_with_client() -> (Simulator, Client) {
    let sim = Simulator::start().await.unwrap();
    let client = api_key_client(&sim);
    (sim, client)
}
