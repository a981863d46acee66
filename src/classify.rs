//! Being written (reply classifier): placeholder with the agreed API so the
//! crate builds meanwhile. Replaced by the real module.
pub struct Match {
    pub cause: String,
    pub confidence: f32,
    pub pattern: String,
}
pub fn classify(_reply: &crate::reply::Reply) -> Vec<Match> {
    Vec::new()
}
pub fn classify_text(_text: &str) -> Vec<Match> {
    Vec::new()
}
