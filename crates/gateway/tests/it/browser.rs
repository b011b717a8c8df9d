//! A browser's session on the dashboard API: the cookie of one login and the CSRF token it came with.

use crate::harness::Gw;
use reqwest::Method;
use serde_json::{Value, json};

/// A browser's view of one login: the cookie it holds and the CSRF token the page got.
pub struct Browser<'a> {
    pub gw: &'a Gw,
    pub cookie: String,
    pub csrf: String,
}

impl<'a> Browser<'a> {
    /// Logs in with `body` (a password or the admin token); the session and the login's answer.
    pub async fn login(gw: &'a Gw, body: Value) -> (Browser<'a>, Value) {
        let resp = gw.post_anon("/api/auth/login", &body).await;
        assert_eq!(resp.status(), 200, "login");
        let set = resp
            .headers()
            .get("set-cookie")
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(set.contains("HttpOnly"), "{set}");
        assert!(set.contains("SameSite=Lax"), "{set}");
        let cookie = set.split(';').next().unwrap().to_owned();
        let answer: Value = resp.json().await.unwrap();
        let csrf = answer["csrf_token"].as_str().unwrap().to_owned();
        (Browser { gw, cookie, csrf }, answer)
    }

    /// Logs in user `name` with `password`.
    pub async fn user(gw: &'a Gw, name: &str, password: &str) -> Browser<'a> {
        Self::login(gw, json!({"username": name, "password": password}))
            .await
            .0
    }

    /// `method path` in this session, with its CSRF token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        self.call_csrf(method, path, body, Some(&self.csrf)).await
    }

    /// `method path` in this session, with `csrf` as the CSRF token (or none).
    pub async fn call_csrf(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .gw
            .http
            .request(method, self.gw.url(path))
            .header("cookie", &self.cookie);
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// `GET path` in this session: asserts a 200 and returns the JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.call(Method::GET, path, None).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    /// `PATCH /api/keys/{id}`: the owner changes their own key.
    pub async fn patch_key(&self, id: i64, body: Value) -> reqwest::Response {
        self.call(Method::PATCH, &format!("/api/keys/{id}"), Some(body))
            .await
    }

    /// `POST /api/keys`: the owner creates a key.
    pub async fn create_key(&self, body: Value) -> reqwest::Response {
        self.call(Method::POST, "/api/keys", Some(body)).await
    }

    /// `POST /api/redeem` with `body` (`{"code": ...}`).
    pub async fn redeem(&self, body: Value) -> reqwest::Response {
        self.call(Method::POST, "/api/redeem", Some(body)).await
    }
}
