//! berth.zig: berth plugin tools in Zig, over the C helpers of berth.h
//! (which `berth build` compiles in; it documents every function).
//!
//!     const berth = @import("berth");
//!
//!     fn greet(c: *berth.Call) !void {
//!         const name = c.arg("name") orelse "world";
//!         c.text("Hello, {s}!", .{name});
//!     }
//!
//!     comptime {
//!         berth.tools(&.{
//!             .{ .name = "greet", .description = "Greets someone by name",
//!                .args = "name: string Who to greet", .run = greet, .read_only = true },
//!         });
//!     }
//!
//! Memory: a slice berth returns (arguments, stored values, keys) belongs
//! to the call and stays valid until the tool function returns; what you
//! pass berth is copied. Each call runs in a fresh instance.
//!
//! Errors: `c.fail(kind, fmt, args)` records an error the client sees and
//! returns `error.ToolFailed`; helpers that fail (key-value state without a
//! session, say) record theirs and return `error.ToolFailed` too, so `try`
//! passes them on. Any other error a tool returns reaches the client as a
//! `failed` error naming it. A panic or `unreachable` traps: the client
//! sees only an internal error.

const std = @import("std");

/// A counted string berth hands over (NUL-terminated as well).
pub const Str = extern struct {
    ptr: ?[*]const u8,
    len: usize,

    /// The bytes, or null when absent.
    pub fn slice(s: Str) ?[]const u8 {
        const p = s.ptr orelse return null;
        return p[0..s.len];
    }
};

/// Where key-value state lives.
pub const Scope = enum(c_int) { session = 0, user = 1 };

/// Log levels.
pub const Level = enum(c_int) { debug = 0, info, notice, warning, err, critical, alert, emergency };

/// What `Call.fail` reports.
pub const ErrorKind = enum(c_int) { invalid_params = 0, not_found, denied, failed };

/// Returned once an error is recorded on the call.
pub const Failed = error{ToolFailed};

/// The authenticated caller.
pub const Identity = extern struct {
    subject: Str,
    tenant: Str,
    scopes: [*]const Str,
    scopes_len: usize,
};

extern fn berth_arg_json(c: *Call, key: [*:0]const u8) Str;
extern fn berth_args(c: *Call) Str;
extern fn berth_json_string(c: *Call, json: Str) Str;
extern fn berth_arg_int(c: *Call, key: [*:0]const u8, fallback: c_longlong) c_longlong;
extern fn berth_arg_num(c: *Call, key: [*:0]const u8, fallback: f64) f64;
extern fn berth_arg_bool(c: *Call, key: [*:0]const u8, fallback: bool) bool;
extern fn berth_text_n(c: *Call, text: [*]const u8, len: usize) void;
extern fn berth_error_text_n(c: *Call, text: [*]const u8, len: usize) void;
extern fn berth_structured(c: *Call, json: [*]const u8, len: usize) void;
extern fn berth_fail_n(c: *Call, kind: ErrorKind, message: [*]const u8, len: usize) bool;
extern fn berth_failed(c: *Call) bool;
extern fn berth_log_n(c: *Call, level: Level, message: [*]const u8, len: usize) void;
extern fn berth_progress(c: *Call, progress: f64, total: f64, message: ?[*:0]const u8) void;
extern fn berth_cancelled(c: *Call) bool;
extern fn berth_principal(c: *Call) *const Identity;
extern fn berth_kv_get(c: *Call, scope: Scope, key: [*:0]const u8, value: *Str) c_int;
extern fn berth_kv_set(c: *Call, scope: Scope, key: [*:0]const u8, value: [*]const u8, len: usize, ttl_ms: u64) bool;
extern fn berth_kv_get_int(c: *Call, scope: Scope, key: [*:0]const u8, fallback: c_longlong) c_longlong;
extern fn berth_kv_set_int(c: *Call, scope: Scope, key: [*:0]const u8, value: c_longlong) bool;
extern fn berth_kv_delete(c: *Call, scope: Scope, key: [*:0]const u8) c_int;
extern fn berth_kv_list(c: *Call, scope: Scope, prefix: [*:0]const u8, keys: *?[*]const Str, len: *usize) bool;

/// Formats into malloc'd memory (the caller frees it), or returns null.
fn format(comptime fmt: []const u8, args: anytype) ?[]u8 {
    return std.fmt.allocPrint(std.heap.c_allocator, fmt, args) catch null;
}

/// The call being served: arguments in, results out, and the host's context.
pub const Call = opaque {
    /// The string argument `key`, decoded; null when absent or not a string.
    pub fn arg(c: *Call, key: [:0]const u8) ?[]const u8 {
        return berth_json_string(c, berth_arg_json(c, key.ptr)).slice();
    }
    /// The integer argument `key`, or `fallback`.
    pub fn argInt(c: *Call, key: [:0]const u8, fallback: i64) i64 {
        return berth_arg_int(c, key.ptr, fallback);
    }
    /// The number argument `key`, or `fallback`.
    pub fn argNum(c: *Call, key: [:0]const u8, fallback: f64) f64 {
        return berth_arg_num(c, key.ptr, fallback);
    }
    /// The boolean argument `key`, or `fallback`.
    pub fn argBool(c: *Call, key: [:0]const u8, fallback: bool) bool {
        return berth_arg_bool(c, key.ptr, fallback);
    }
    /// The JSON text of argument `key`, or null.
    pub fn argJson(c: *Call, key: [:0]const u8) ?[]const u8 {
        return berth_arg_json(c, key.ptr).slice();
    }
    /// All the arguments, as JSON text.
    pub fn args(c: *Call) []const u8 {
        return berth_args(c).slice() orelse "{}";
    }

    /// Appends a text block to the result (`std.fmt` formatting).
    pub fn text(c: *Call, comptime fmt: []const u8, fmt_args: anytype) void {
        const s = format(fmt, fmt_args) orelse return c.outOfMemory();
        defer std.heap.c_allocator.free(s);
        berth_text_n(c, s.ptr, s.len);
    }
    /// Appends a text block and marks the result an error the model may correct.
    pub fn errorText(c: *Call, comptime fmt: []const u8, fmt_args: anytype) void {
        const s = format(fmt, fmt_args) orelse return c.outOfMemory();
        defer std.heap.c_allocator.free(s);
        berth_error_text_n(c, s.ptr, s.len);
    }
    /// Sets the structured result (JSON text), also appended as text.
    pub fn structured(c: *Call, json: []const u8) void {
        berth_structured(c, json.ptr, json.len);
    }
    /// Records an error the client sees; returns `error.ToolFailed`.
    pub fn fail(c: *Call, kind: ErrorKind, comptime fmt: []const u8, fmt_args: anytype) Failed {
        const s = format(fmt, fmt_args) orelse "out of memory";
        _ = berth_fail_n(c, kind, s.ptr, s.len);
        return error.ToolFailed;
    }
    /// Whether an error is recorded.
    pub fn failed(c: *Call) bool {
        return berth_failed(c);
    }

    /// Logs to the client (if it asked for `level`) and berth's log.
    pub fn log(c: *Call, level: Level, comptime fmt: []const u8, fmt_args: anytype) void {
        const s = format(fmt, fmt_args) orelse return;
        defer std.heap.c_allocator.free(s);
        berth_log_n(c, level, s.ptr, s.len);
    }
    /// Reports progress (`total` null: unknown).
    pub fn progress(c: *Call, done: f64, total: ?f64, message: ?[:0]const u8) void {
        berth_progress(c, done, total orelse 0, if (message) |m| m.ptr else null);
    }
    /// True once the client has cancelled this call.
    pub fn cancelled(c: *Call) bool {
        return berth_cancelled(c);
    }
    /// The authenticated caller.
    pub fn principal(c: *Call) *const Identity {
        return berth_principal(c);
    }

    /// The value at `key`, or null when absent.
    pub fn kvGet(c: *Call, scope: Scope, key: [:0]const u8) Failed!?[]const u8 {
        var v: Str = .{ .ptr = null, .len = 0 };
        return switch (berth_kv_get(c, scope, key.ptr, &v)) {
            1 => v.slice(),
            0 => null,
            else => error.ToolFailed,
        };
    }
    /// Stores `value` (`ttl_ms` 0: until deleted).
    pub fn kvSet(c: *Call, scope: Scope, key: [:0]const u8, value: []const u8, ttl_ms: u64) Failed!void {
        if (!berth_kv_set(c, scope, key.ptr, value.ptr, value.len, ttl_ms)) return error.ToolFailed;
    }
    /// The integer at `key`, or `fallback` when absent or unreadable.
    pub fn kvGetInt(c: *Call, scope: Scope, key: [:0]const u8, fallback: i64) Failed!i64 {
        const n = berth_kv_get_int(c, scope, key.ptr, fallback);
        return if (berth_failed(c)) error.ToolFailed else n;
    }
    /// Stores an integer (as JSON text, as the other SDKs do).
    pub fn kvSetInt(c: *Call, scope: Scope, key: [:0]const u8, value: i64) Failed!void {
        if (!berth_kv_set_int(c, scope, key.ptr, value)) return error.ToolFailed;
    }
    /// Deletes `key`; true when it existed.
    pub fn kvDelete(c: *Call, scope: Scope, key: [:0]const u8) Failed!bool {
        return switch (berth_kv_delete(c, scope, key.ptr)) {
            1 => true,
            0 => false,
            else => error.ToolFailed,
        };
    }
    /// The keys starting with `prefix`, in order (each `Str.slice()`s).
    pub fn kvList(c: *Call, scope: Scope, prefix: [:0]const u8) Failed![]const Str {
        var keys: ?[*]const Str = null;
        var len: usize = 0;
        if (!berth_kv_list(c, scope, prefix.ptr, &keys, &len)) return error.ToolFailed;
        return if (keys) |k| k[0..len] else &.{};
    }

    fn outOfMemory(c: *Call) void {
        const m = "out of memory";
        _ = berth_fail_n(c, .failed, m, m.len);
    }
};

/// One tool: see berth.h for `args` (a JSON Schema, or
/// "name: type description; name?: type description").
pub const Tool = struct {
    name: [:0]const u8,
    description: [:0]const u8,
    args: ?[:0]const u8 = null,
    run: *const fn (*Call) anyerror!void,
    stateful: bool = false,
    read_only: bool = false,
    destructive: bool = false,
    idempotent: bool = false,
    open_world: bool = false,
    title: ?[:0]const u8 = null,
};

/// berth.h's `berth_tool`.
const CTool = extern struct {
    name: [*:0]const u8,
    description: [*:0]const u8,
    args: ?[*:0]const u8,
    run: *const fn (*Call) callconv(.c) void,
    flags: c_uint,
    title: ?[*:0]const u8,
};

fn wrap(comptime f: *const fn (*Call) anyerror!void) *const fn (*Call) callconv(.c) void {
    return &struct {
        fn run(c: *Call) callconv(.c) void {
            f(c) catch |e| {
                if (e != error.ToolFailed) {
                    const name = @errorName(e);
                    _ = berth_fail_n(c, .failed, name.ptr, name.len);
                }
            };
        }
    }.run;
}

fn Table(comptime list: []const Tool) type {
    return struct {
        const entries: [list.len]CTool = blk: {
            var t: [list.len]CTool = undefined;
            for (list, 0..) |tool, i| {
                var flags: c_uint = 0;
                if (tool.stateful) flags |= 1;
                if (tool.read_only) flags |= 2;
                if (tool.destructive) flags |= 4;
                if (tool.idempotent) flags |= 8;
                if (tool.open_world) flags |= 16;
                t[i] = .{
                    .name = tool.name.ptr,
                    .description = tool.description.ptr,
                    .args = if (tool.args) |a| a.ptr else null,
                    .run = wrap(tool.run),
                    .flags = flags,
                    .title = if (tool.title) |t_| t_.ptr else null,
                };
            }
            break :blk t;
        };
        const len: usize = list.len;
    };
}

/// Exports `list` as the plugin's tools. Call it once, in a `comptime`
/// block of the root file.
pub fn tools(comptime list: []const Tool) void {
    const T = Table(list);
    @export(&T.entries, .{ .name = "berth_tools" });
    @export(&T.len, .{ .name = "berth_tools_len" });
}
