//! counter-zig: counts calls per session, in session-scoped state.
//!
//! Each session (a legacy connection, or a modern handle from
//! `berth_session_open`) starts at zero.

const berth = @import("berth");

fn increment(c: *berth.Call) !void {
    const count = try c.kvGetInt(.session, "count", 0) + 1;
    try c.kvSetInt(.session, "count", count);
    c.text("{d}", .{count});
}

fn get(c: *berth.Call) !void {
    c.text("{d}", .{try c.kvGetInt(.session, "count", 0)});
}

fn reset(c: *berth.Call) !void {
    _ = try c.kvDelete(.session, "count");
    c.text("0", .{});
}

comptime {
    berth.tools(&.{
        .{ .name = "increment", .description = "Adds one to this session's counter and returns it", .run = increment, .stateful = true },
        .{ .name = "get", .description = "Returns this session's counter", .run = get, .stateful = true, .read_only = true },
        .{ .name = "reset", .description = "Sets this session's counter back to zero", .run = reset, .stateful = true },
    });
}
