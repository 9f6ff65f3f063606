#include "directives.hpp"

#include <cstdlib>
#include <set>

namespace coe::test {

namespace {

// key -> the largest value a numeric directive takes (every one is >= 0)
const std::map<std::string, long> &numeric() {
    static const std::map<std::string, long> limits = {
        {"fail", 1000000},       {"fail_every", 1000000}, {"status", 599},       {"retry_after", 86400}, {"retry_after_ms", 86400000},
        {"stall_first", 600000}, {"stall_mid", 600000}, {"split", 1 << 20},     {"oversize", 64L << 20},
        {"delay", 60000},        {"dims", 4096},
    };
    return limits;
}

const std::set<std::string> &flags() {
    static const std::set<std::string> names = {
        "reply", "retry_after_date", "should_retry", "reset_mid", "malformed", "no_done", "error_event", "crlf",
        "cr",    "multiline_data",   "content_type", "auth",      "review"};
    return names;
}

bool parse_number(const std::string &s, long &out) {
    if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::atol(s.c_str());
    return true;
}

}  // namespace

std::string Directives::text(const std::string &key, const std::string &fallback) const {
    const auto it = values.find(key);
    return it == values.end() ? fallback : it->second;
}

long Directives::number(const std::string &key, long fallback) const {
    const auto it = values.find(key);
    return it == values.end() ? fallback : std::atol(it->second.c_str());
}

const std::string *canned_reply(const std::string &key) {
    static const std::map<std::string, std::string> replies = {
        {"cache_a",
         "Put a caching layer in front of the API. Cache the hot read endpoints in Redis with a short TTL and "
         "invalidate entries on every write.\n\n## Recommendations\n- Add a Redis cache for hot read endpoints\n"
         "- Invalidate cached entries on write\n- Measure the cache hit rate\n"},
        {"cache_b",
         "Caching is the answer here: keep the hot read endpoints in a Redis cache with a short TTL, and "
         "invalidate on write so nobody reads stale data.\n\n## Recommendations\n- Cache hot read endpoints in "
         "Redis\n- Invalidate the cache on every write\n- Watch the hit rate of the cache\n"},
        {"cache_c",
         "Add a Redis caching layer for the hot read endpoints, with a short TTL and invalidation on write; "
         "then measure the hit rate.\n\n## Recommendations\n- Use Redis to cache the hot read endpoints\n"
         "- Invalidate on write\n"},
        {"rewrite",
         "Rewrite the whole service in Rust. The garbage collector of the current runtime causes the pauses, "
         "and no cache fixes that.\n\n## Recommendations\n- Rewrite the service in Rust\n"},
        {"index",
         "The slow part is a missing database index on the orders table; add a composite index on customer "
         "and date.\n\n## Recommendations\n- Add a composite index on orders (customer, date)\n"},
        {"short", "Yes."},
    };
    const auto it = replies.find(key);
    return it == replies.end() ? nullptr : &it->second;
}

std::string parse_directives(const std::string &model, Directives &out) {
    out.values.clear();
    std::size_t start = 0;
    while (start < model.size()) {
        std::size_t end = model.find(',', start);
        if (end == std::string::npos) end = model.size();
        const std::string item = model.substr(start, end - start);
        start = end + 1;
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        const auto limit = numeric().find(key);
        long n = 0;
        if (limit != numeric().end()) {
            if (!parse_number(value, n) || n > limit->second)
                return "directive '" + key + "' needs a number from 0 to " + std::to_string(limit->second) + ", got '" +
                       value + "'";
        } else if (flags().count(key) == 0) {
            return "unknown directive '" + key + "' in the model";
        }
        out.values[key] = value;
    }
    if (out.has("status") && out.number("status") < 100) return "directive 'status' needs an HTTP status (100-599)";
    if (out.has("split") && out.number("split") == 0) return "directive 'split' needs at least 1 byte";
    if (out.has("fail_every") && out.number("fail_every") == 0)
        return "directive 'fail_every' needs at least 1 (every request)";
    const std::string reply = out.text("reply", "cache_a");
    if (reply != "echo" && canned_reply(reply) == nullptr) return "unknown reply '" + reply + "' (directive 'reply')";
    const std::string retry = out.text("should_retry", "true");
    if (retry != "true" && retry != "false") return "directive 'should_retry' needs true or false";
    const std::string type = out.text("content_type", "x");
    if (type.empty() || type.find_first_of("\r\n") != std::string::npos)
        return "directive 'content_type' needs a value";
    return "";
}

}  // namespace coe::test
