//! RFC 6570 level-1 URI templates, matched against URIs.
//!
//! std only: the host includes this same file to route `resources/read`
//! (and tests it there), so plugins and host agree on what matches.

/// Matches `uri` against a level-1 template; each `{name}` takes one or
/// more characters up to the next literal (never a `/`).
pub fn match_template(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    let mut vars = Vec::new();
    let mut rest = uri;
    let mut t = template;
    while !t.is_empty() {
        if let Some(after) = t.strip_prefix('{') {
            let close = after.find('}')?;
            let name = &after[..close];
            t = &after[close + 1..];
            let literal_end = t.find('{').unwrap_or(t.len());
            let literal = &t[..literal_end];
            let end = if literal.is_empty() {
                rest.find('/').unwrap_or(rest.len())
            } else {
                rest.find(literal)?
            };
            let value = &rest[..end];
            if value.is_empty() || value.contains('/') {
                return None;
            }
            vars.push((name.to_owned(), value.to_owned()));
            rest = &rest[end..];
        } else {
            let literal_end = t.find('{').unwrap_or(t.len());
            rest = rest.strip_prefix(&t[..literal_end])?;
            t = &t[literal_end..];
        }
    }
    rest.is_empty().then_some(vars)
}
