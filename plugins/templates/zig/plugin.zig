//! {{name}}: a berth plugin in Zig. Each tool is a function and an entry
//! in `berth.tools` below; `berth build` makes {{name}}.wasm. Every helper
//! is described in berth.zig (.berth/sdk/plugins/sdk-zig after a build).

const berth = @import("berth");

fn greet(c: *berth.Call) !void {
    const name = c.arg("name") orelse "world";
    c.text("Hello, {s}!", .{name});
}

fn count(c: *berth.Call) !void {
    const n = try c.kvGetInt(.session, "count", 0) + 1;
    try c.kvSetInt(.session, "count", n);
    c.log(.info, "counted to {d}", .{n});
    c.text("{d}", .{n});
}

comptime {
    berth.tools(&.{
        .{ .name = "greet", .description = "Greets someone by name", .args = "name: string Who to greet", .run = greet, .read_only = true },
        .{ .name = "count", .description = "Counts calls in this session", .run = count, .stateful = true },
    });
}
