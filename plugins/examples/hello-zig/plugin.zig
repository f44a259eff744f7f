//! hello-zig: greets people. The smallest useful berth plugin, in Zig.

const berth = @import("berth");

fn greet(c: *berth.Call) !void {
    const name = c.arg("name") orelse "world";
    c.log(.debug, "composing a greeting", .{});
    c.log(.info, "greeting {s}", .{name});
    c.text("Hello, {s}!", .{name});
}

comptime {
    berth.tools(&.{
        .{
            .name = "greet",
            .description = "Greets someone by name",
            .args = "name: string Who to greet",
            .run = greet,
            .read_only = true,
        },
    });
}
