//! `notes`: each user's notes, kept in `user`-scoped state (they follow
//! the caller across sessions and eras).
//!
//! - tools `notes_write` and `notes_delete` change a note, and tell
//!   subscribers of `notes://<id>` that it changed;
//! - every note is a resource `notes://<id>` (template `notes://{id}`),
//!   listed for its owner only;
//! - the prompt `notes_summarize` asks the model to summarise a note;
//! - completion suggests the caller's note ids, for the prompt's `id` and
//!   the template's `{id}`.

use berth_plugin::bindings::exports::berth::plugin::completion::{CompletionResult, Reference};
use berth_plugin::bindings::exports::berth::plugin::resources::Resource as Listed;
use berth_plugin::prelude::*;
use berth_plugin::prompt::{messages, user_resource, user_text};

/// Key prefix of notes in the user scope.
const PREFIX: &str = "note:";
/// Longest note id.
const MAX_ID: usize = 64;
/// Longest note, in bytes.
const MAX_TEXT: usize = 64 * 1024;

/// A note to write.
#[derive(Deserialize, JsonSchema)]
struct Write {
    /// The note's id: 1-64 letters, digits, `-` or `_` (also in the `Mcp-Param-Note-Id` header).
    // Over 2026-07-28 HTTP the id travels in that header too, so a gateway
    // can see which note a call changes without reading the body.
    #[schemars(extend("x-mcp-header" = "Note-Id"))]
    id: String,
    /// Its text (at most 64 KiB).
    text: String,
}

/// A note to delete.
#[derive(Deserialize, JsonSchema)]
struct Delete {
    /// The note's id (also in the `Mcp-Param-Note-Id` header).
    #[schemars(extend("x-mcp-header" = "Note-Id"))]
    id: String,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn uri(id: &str) -> String {
    format!("notes://{id}")
}

fn read_note(id: &str) -> Result<Option<String>, Error> {
    if !valid_id(id) {
        return Ok(None);
    }
    kv::get::<String>(Scope::User, &format!("{PREFIX}{id}"))
}

fn ids() -> Vec<String> {
    kv::list(Scope::User, PREFIX)
        .map(|keys| {
            keys.into_iter()
                .filter_map(|k| k.strip_prefix(PREFIX).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn write(w: Write) -> ToolResult {
    if !valid_id(&w.id) {
        return Ok(error_text("id must be 1-64 letters, digits, '-' or '_'"));
    }
    if w.text.len() > MAX_TEXT {
        return Ok(error_text("a note is at most 64 KiB"));
    }
    kv::set(Scope::User, &format!("{PREFIX}{}", w.id), &w.text)?;
    berth_plugin::resource_updated(&uri(&w.id));
    Ok(text(format!("Saved {}.", uri(&w.id))))
}

fn delete(d: Delete) -> ToolResult {
    let existed = valid_id(&d.id) && kv::delete(Scope::User, &format!("{PREFIX}{}", d.id))?;
    if !existed {
        return Ok(error_text(format!("There is no note {}.", d.id)));
    }
    berth_plugin::resource_updated(&uri(&d.id));
    Ok(text(format!("Deleted {}.", uri(&d.id))))
}

struct Notes;

impl Plugin for Notes {
    fn tools() -> Vec<Tool> {
        vec![
            tool("write", "Creates or replaces one of your notes", write).destructive(),
            tool("delete", "Deletes one of your notes", delete).destructive(),
        ]
    }

    fn list_resources() -> Vec<Listed> {
        ids()
            .into_iter()
            .map(|id| Listed {
                uri: uri(&id),
                name: id,
                title: None,
                description: Some("One of your notes".to_owned()),
                mime_type: Some("text/plain".to_owned()),
                size: None,
                annotations: None,
                icons: Vec::new(),
            })
            .collect()
    }

    fn templates() -> Vec<Template> {
        vec![
            template("notes://{id}", "note", |uri, vars| {
                let id = vars.get("id").unwrap_or_default();
                match read_note(id)? {
                    Some(note) => Ok(vec![text_contents(uri, "text/plain", note)]),
                    None => Err(Error::NotFound(format!("no note {id}"))),
                }
            })
            .mime("text/plain")
            .description("One of your notes, by id"),
        ]
    }

    fn prompts() -> Vec<Prompt> {
        vec![
            prompt(
                "summarize",
                "Asks the model to summarise one of your notes",
                |args| {
                    let id = args.get("id").unwrap_or_default();
                    let note = read_note(id)?
                        .ok_or_else(|| Error::InvalidParams(format!("there is no note {id}")))?;
                    Ok(messages(vec![
                        user_text(format!(
                            "Summarise the note {id} in three sentences or fewer."
                        )),
                        user_resource(text_contents(&uri(id), "text/plain", note)),
                    ]))
                },
            )
            .arg("id", "The note's id", true),
        ]
    }

    fn complete(
        reference: &Reference,
        argument: &str,
        value: &str,
        _context: &[(String, String)],
    ) -> Result<CompletionResult, Error> {
        let wanted = match reference {
            Reference::Prompt(name) => name == "summarize" && argument == "id",
            Reference::ResourceTemplate(t) => t == "notes://{id}" && argument == "id",
        };
        let values = if wanted {
            ids()
                .into_iter()
                .filter(|id| id.starts_with(value))
                .collect()
        } else {
            Vec::new()
        };
        Ok(completions(values))
    }
}

berth_plugin::export!(Notes);
