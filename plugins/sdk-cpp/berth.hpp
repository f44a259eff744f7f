// berth.hpp: berth plugin tools in C++ (C++20, no exceptions), over the C
// helpers of berth.h (which document every function and the memory rules:
// what berth hands you lives until your tool returns; what you hand berth
// is copied).
//
//     #include "berth.hpp"
//
//     static void greet(berth::Call &c) {
//         std::string name{c.arg("name", "world")};
//         c.text("Hello, " + name + "!");
//     }
//
//     BERTH_TOOLS(
//         berth::tool<greet>("greet", "Greets someone by name",
//                            "name: string Who to greet", BERTH_READ_ONLY),
//     )
//
// A std::string_view berth returns points into memory the call owns: valid
// until the tool function returns.
#ifndef BERTH_HPP
#define BERTH_HPP

#include "berth.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// Where key-value state lives.
enum class Scope { Session = BERTH_SESSION, User = BERTH_USER };

/// Log levels.
enum class Level {
    Debug = BERTH_DEBUG,
    Info = BERTH_INFO,
    Notice = BERTH_NOTICE,
    Warning = BERTH_WARNING,
    Error = BERTH_ERROR,
    Critical = BERTH_CRITICAL,
};

/// What `Call::fail` reports.
enum class Error {
    InvalidParams = BERTH_INVALID_PARAMS,
    NotFound = BERTH_NOT_FOUND,
    Denied = BERTH_DENIED,
    Failed = BERTH_FAILED,
};

/// The authenticated caller.
struct Identity {
    std::string_view subject;
    std::string_view tenant;
    std::vector<std::string_view> scopes;
};

/// The call being served: arguments in, results out, and the host's context.
class Call {
  public:
    explicit Call(berth_call *c) : c_(c) {}

    /// The string argument `key`, or `fallback`.
    std::string_view arg(const std::string &key, std::string_view fallback = {}) const {
        berth_str s = berth_json_string(c_, berth_arg_json(c_, key.c_str()));
        return s.ptr ? std::string_view(s.ptr, s.len) : fallback;
    }
    /// The integer argument `key`, or `fallback`.
    long long arg_int(const std::string &key, long long fallback = 0) const {
        return berth_arg_int(c_, key.c_str(), fallback);
    }
    /// The number argument `key`, or `fallback`.
    double arg_num(const std::string &key, double fallback = 0) const {
        return berth_arg_num(c_, key.c_str(), fallback);
    }
    /// The boolean argument `key`, or `fallback`.
    bool arg_bool(const std::string &key, bool fallback = false) const {
        return berth_arg_bool(c_, key.c_str(), fallback);
    }
    /// The JSON text of argument `key`, if present.
    std::optional<std::string_view> arg_json(const std::string &key) const {
        return view(berth_arg_json(c_, key.c_str()));
    }
    /// All the arguments, as JSON text.
    std::string_view args() const { return *view(berth_args(c_)); }

    /// Appends a text block to the result.
    void text(std::string_view t) { berth_text_n(c_, t.data(), t.size()); }
    /// Appends a text block and marks the result an error the model may correct.
    void error_text(std::string_view t) {
        berth_error_text_n(c_, t.data(), t.size());
    }
    /// Sets the structured result (JSON text), also appended as text.
    void structured(std::string_view json) { berth_structured(c_, json.data(), json.size()); }
    /// Records an error the client sees; returns false.
    bool fail(Error kind, std::string_view message) {
        return berth_fail_n(c_, static_cast<berth_error>(kind), message.data(), message.size());
    }
    /// Whether an error is recorded (by `fail` or a failing kv call).
    bool failed() const { return berth_failed(c_); }

    /// Logs to the client (if it asked for `level`) and berth's log.
    void log(Level level, std::string_view message) {
        berth_log_n(c_, static_cast<berth_level>(level), message.data(), message.size());
    }
    void debug(std::string_view m) { log(Level::Debug, m); }
    void info(std::string_view m) { log(Level::Info, m); }
    void warning(std::string_view m) { log(Level::Warning, m); }
    /// Reports progress (`total` <= 0: unknown).
    void progress(double done, double total = 0, const std::string &message = {}) {
        berth_progress(c_, done, total, message.empty() ? nullptr : message.c_str());
    }
    /// True once the client has cancelled this call.
    bool cancelled() const { return berth_cancelled(c_); }
    /// The authenticated caller.
    Identity principal() const {
        const berth_identity *id = berth_principal(c_);
        Identity out{{id->subject.ptr, id->subject.len}, {id->tenant.ptr, id->tenant.len}, {}};
        for (size_t i = 0; i < id->scopes_len; i++)
            out.scopes.emplace_back(id->scopes[i].ptr, id->scopes[i].len);
        return out;
    }

    /// The value at `key`: nullopt when absent or on failure (see `failed`).
    std::optional<std::string_view> kv_get(Scope scope, const std::string &key) {
        berth_str v{};
        if (berth_kv_get(c_, static_cast<berth_scope>(scope), key.c_str(), &v) != 1)
            return std::nullopt;
        return std::string_view(v.ptr, v.len);
    }
    /// Stores `value` (`ttl_ms` 0: until deleted); false on failure.
    bool kv_set(Scope scope, const std::string &key, std::string_view value,
                std::uint64_t ttl_ms = 0) {
        return berth_kv_set(c_, static_cast<berth_scope>(scope), key.c_str(), value.data(),
                            value.size(), ttl_ms);
    }
    /// The integer at `key`, or `fallback`.
    long long kv_get_int(Scope scope, const std::string &key, long long fallback = 0) {
        return berth_kv_get_int(c_, static_cast<berth_scope>(scope), key.c_str(), fallback);
    }
    bool kv_set_int(Scope scope, const std::string &key, long long value) {
        return berth_kv_set_int(c_, static_cast<berth_scope>(scope), key.c_str(), value);
    }
    /// 1 when the key existed, 0 when not, -1 on failure.
    int kv_delete(Scope scope, const std::string &key) {
        return berth_kv_delete(c_, static_cast<berth_scope>(scope), key.c_str());
    }
    /// The keys starting with `prefix`, in order (empty on failure).
    std::vector<std::string_view> kv_list(Scope scope, const std::string &prefix) {
        const berth_str *keys = nullptr;
        size_t len = 0;
        std::vector<std::string_view> out;
        if (berth_kv_list(c_, static_cast<berth_scope>(scope), prefix.c_str(), &keys, &len))
            for (size_t i = 0; i < len; i++) out.emplace_back(keys[i].ptr, keys[i].len);
        return out;
    }

    /// The C handle, for the functions of berth.h.
    berth_call *raw() const { return c_; }

  private:
    static std::optional<std::string_view> view(berth_str s) {
        if (!s.ptr) return std::nullopt;
        return std::string_view(s.ptr, s.len);
    }
    berth_call *c_;
};

/// Runs a C++ tool function from berth's table.
template <void (*F)(Call &)>
void run(berth_call *c) {
    Call call(c);
    F(call);
}

/// A table entry for `F` (see berth.h for `args` and `flags`).
template <void (*F)(Call &)>
constexpr berth_tool tool(const char *name, const char *description, const char *args = nullptr,
                          unsigned flags = 0, const char *title = nullptr) {
    return berth_tool{name, description, args, &run<F>, flags, title};
}

}  // namespace berth

#endif  // BERTH_HPP
