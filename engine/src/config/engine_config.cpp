#include "engine_config.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "coe/error.hpp"
#include "coe/internal/breaker_config_json.hpp"
#include "coe/internal/json_document.hpp"
#include "coe/internal/json_fields.hpp"

namespace coe::detail {

namespace {

void read_resilience(const boost::json::value &v, const std::string &where, ResilienceOptions &r) {
    if (!v.is_object()) throw Error(where + " must be an object");
    for (const auto &[key, value] : v.as_object()) {
        const std::string field = where + "." + std::string(key);
        if (key == "shadow_rate") {
            r.shadow_rate = internal::bounded_number(value, field, 0, 1);
        } else if (key == "shadow_rates") {
            if (!value.is_object())
                throw Error(field + " must be an object of \"backend\" or \"backend:operation\" -> rate");
            for (const auto &[name, rate] : value.as_object())
                r.shadow_rates[std::string(name)] =
                    internal::bounded_number(rate, field + "." + std::string(name), 0, 1);
        } else if (key == "shadow_probation_calls") {
            r.shadow_probation_calls = static_cast<std::uint32_t>(internal::bounded_number(value, field, 0, 1e9));
        } else if (key == "shadow_spot_multiply_adds") {
            r.shadow_spot_multiply_adds = static_cast<std::uint64_t>(internal::bounded_number(value, field, 0, 9e15));
        } else if (key == "shadow_spot_vectors") {
            r.shadow_spot_vectors = static_cast<std::uint32_t>(internal::bounded_number(value, field, 2, 1e6));
        } else if (key == "seed") {
            r.seed = static_cast<std::uint64_t>(internal::bounded_number(value, field, 0, 9e15));
        } else if (key == "chain") {
            if (!value.is_array()) throw Error(field + " must be an array of backend names");
            r.chain.clear();
            for (const auto &n : value.as_array()) {
                if (!n.is_string()) throw Error(field + " must be an array of backend names");
                r.chain.emplace_back(n.as_string());
            }
        } else if (key == "breaker") {
            r.breaker = internal::read_breaker_config(value, field, r.breaker);
        } else if (key == "breakers") {
            if (!value.is_object()) throw Error(field + " must be an object");
            for (const auto &[name, cfg] : value.as_object())
                r.breakers[std::string(name)] =
                    internal::read_breaker_config(cfg, field + "." + std::string(name), r.breaker);
        } else {
            throw Error(field +
                        ": unknown field (known: shadow_rate, shadow_rates, shadow_probation_calls, "
                        "shadow_spot_multiply_adds, shadow_spot_vectors, seed, chain, breaker, breakers)");
        }
    }
}

void read_plugin_probe(const boost::json::value &v, const std::string &where, const std::filesystem::path &base,
                       PluginProbeOptions &p) {
    if (!v.is_object()) throw Error(where + " must be an object");
    for (const auto &[key, value] : v.as_object()) {
        const std::string field = where + "." + std::string(key);
        if (key == "mode") {
            const std::string m = value.is_string() ? std::string(value.as_string()) : "";
            if (m == "auto") p.mode = PluginProbeMode::automatic;
            else if (m == "required") p.mode = PluginProbeMode::required;
            else if (m == "off") p.mode = PluginProbeMode::off;
            else throw Error(field + " must be one of auto, required, off");
        } else if (key == "timeout_ms") {
            p.timeout =
                std::chrono::milliseconds(static_cast<long long>(internal::bounded_number(value, field, 1, 3.6e6)));
        } else if (key == "executable") {
            if (!value.is_string() || value.as_string().empty()) throw Error(field + " must be a non-empty string");
            const std::filesystem::path exe(std::string(value.as_string()));
            p.executable = exe.is_absolute() ? exe : base / exe;
        } else if (key == "disk_cache") {
            if (!value.is_bool()) throw Error(field + " must be true or false");
            p.disk_cache = value.as_bool();
        } else {
            throw Error(field + ": unknown field (known: mode, timeout_ms, executable, disk_cache)");
        }
    }
}

}  // namespace

ConfigFile read_config_file(const std::filesystem::path &file, ResilienceOptions &resilience,
                            PluginProbeOptions &probe) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("config " + file.string() + ": cannot open file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string where = "config " + file.string();
    boost::json::value doc = internal::parse_json(buffer.str(), where);
    if (!doc.is_object()) throw Error(where + ": the top level must be a JSON object");

    ConfigFile cfg;
    cfg.file = file;
    const std::filesystem::path base = file.parent_path();
    for (const auto &[key, value] : doc.as_object()) {
        if (key == "backend") {
            if (!value.is_string()) throw Error(where + ": field 'backend' must be a string");
            cfg.backend = std::string(value.as_string());
        } else if (key == "plugin_paths") {
            if (!value.is_array()) throw Error(where + ": field 'plugin_paths' must be an array of strings");
            for (const auto &p : value.as_array()) {
                if (!p.is_string()) throw Error(where + ": field 'plugin_paths' must be an array of strings");
                std::filesystem::path path(std::string(p.as_string()));
                cfg.plugin_paths.push_back(path.is_absolute() ? path : base / path);
            }
        } else if (key == "plugin_probe") {
            read_plugin_probe(value, where + ": plugin_probe", base, probe);
        } else if (key == "resilience") {
            read_resilience(value, where + ": resilience", resilience);
        } else if (key == "faults") {
            if (!value.is_array()) throw Error(where + ": field 'faults' must be an array of strings");
            for (const auto &f : value.as_array()) {
                if (!f.is_string()) throw Error(where + ": field 'faults' must be an array of strings");
                try {
                    resilience.faults.push_back(parse_fault_spec(std::string(f.as_string())));
                } catch (const Error &e) {
                    throw Error(where + ": faults: " + e.what());
                }
            }
        } else if (key == "features") {
            const auto kind = value.is_string() ? feature_kind_from_string(value.as_string()) : std::nullopt;
            if (!kind) throw Error(where + ": field 'features' must be one of auto, tfidf, word_vectors, embedding");
            cfg.features = kind;
        } else if (key == "word_vectors_file") {
            if (!value.is_string()) throw Error(where + ": field 'word_vectors_file' must be a string");
            std::filesystem::path path(std::string(value.as_string()));
            cfg.word_vectors_file = path.is_absolute() ? path : base / path;
        } else if (key == "plugin_isolation") {
            const auto mode =
                value.is_string() ? plugin_isolation_from_string(std::string_view(value.as_string())) : std::nullopt;
            if (!mode) throw Error(where + ": field 'plugin_isolation' must be one of auto, in_process, process");
            cfg.plugin_isolation = mode;
        } else if (key == "plugin_call_timeout_ms") {
            cfg.call_timeout = std::chrono::milliseconds(
                static_cast<long long>(internal::bounded_number(value, where + ": plugin_call_timeout_ms", 1, 3.6e6)));
        } else if (key == "device_routing") {
            const auto mode =
                value.is_string() ? device_routing_from_string(std::string_view(value.as_string())) : std::nullopt;
            if (!mode)
                throw Error(where + ": field 'device_routing' must be one of auto, off, got " +
                            boost::json::serialize(value));
            cfg.device_routing = mode;
        } else if (key == "device_min_multiply_adds" || key == "device_start_multiply_adds") {
            // a whole number; JSON numbers above 2^53 would not be exact as doubles
            std::optional<std::uint64_t> n;
            if (value.is_uint64()) n = value.as_uint64();
            else if (value.is_int64() && value.as_int64() >= 0) n = static_cast<std::uint64_t>(value.as_int64());
            else
                throw Error(where + ": field '" + std::string(key) + "' must be a whole number >= 0, got " +
                            boost::json::serialize(value));
            (key == "device_min_multiply_adds" ? cfg.device_min_multiply_adds : cfg.device_start_multiply_adds) = n;
        } else if (key == "experts" || key == "expert_breaker" || key == "embedder") {
            // read by the consultation library (coe/experts.hpp)
        } else {
            throw Error(
                where + ": unknown field '" + std::string(key) +
                "' (known: backend, plugin_paths, plugin_isolation, plugin_call_timeout_ms, plugin_probe, "
                "device_routing, device_min_multiply_adds, device_start_multiply_adds, resilience, faults, features, "
                "word_vectors_file, experts, expert_breaker, embedder)");
        }
    }
    return cfg;
}

std::vector<std::filesystem::path> split_path_list(const std::string &list) {
    std::vector<std::filesystem::path> out;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(':', start);
        if (end == std::string::npos) end = list.size();
        if (end > start) out.emplace_back(list.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace coe::detail
