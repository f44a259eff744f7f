//! Host bindings generated from `wit/` by wasmtime's `bindgen!`.
//!
//! Generated types never leave `plugin/`: the rest of berth sees the
//! conversions in `convert.rs`.
#![allow(missing_docs, unsafe_code, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: {
        "berth:plugin/context.kv-get": async | trappable,
        "berth:plugin/context.kv-set": async | trappable,
        "berth:plugin/context.kv-delete": async | trappable,
        "berth:plugin/context.kv-list": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});
