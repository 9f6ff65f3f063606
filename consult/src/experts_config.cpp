// Reading the experts from JSON: every field checked, every error named.
#include <fstream>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "coe/error.hpp"
#include "coe/experts.hpp"
#include "coe/internal/breaker_config_json.hpp"
#include "coe/internal/json_document.hpp"
#include "coe/internal/json_fields.hpp"

namespace coe {

namespace json = boost::json;

const char *to_string(ProviderKind kind) {
    switch (kind) {
    case ProviderKind::openai: return "openai";
    case ProviderKind::ollama: return "ollama";
    case ProviderKind::anthropic: return "anthropic";
    case ProviderKind::gemini: return "gemini";
    }
    return "unknown";
}

BreakerConfig ExpertsConfig::default_expert_breaker() {
    // An expert is a remote service: judge it on few calls, wait longer.
    BreakerConfig b;
    b.window_size = 10;
    b.minimum_calls = 3;
    b.failure_rate_threshold = 0.5;
    b.slow_call_rate_threshold = 1.0;
    b.slow_call_duration_ms = 600000;  // slowness is the request deadlines' job
    b.open_duration_ms = 30000;
    b.max_open_duration_ms = 600000;
    b.half_open_calls = 1;
    return b;
}

namespace {

ProviderKind provider_kind(const std::string &name, const std::string &path) {
    if (name == "openai") return ProviderKind::openai;
    if (name == "ollama") return ProviderKind::ollama;
    if (name == "anthropic") return ProviderKind::anthropic;
    if (name == "gemini") return ProviderKind::gemini;
    throw Error(path + ": unknown provider '" + name + "' (openai, ollama, anthropic, gemini)");
}

void check_base_url(const std::string &url, const std::string &path) {
    const bool http = url.rfind("http://", 0) == 0, https = url.rfind("https://", 0) == 0;
    if (!http && !https) throw Error(path + ": must start with http:// or https://, got '" + url + "'");
    if (url.size() <= (https ? 8u : 7u)) throw Error(path + ": has no host");
    for (char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            throw Error(path + ": contains a space or control character");
}

ExpertConfig read_expert(const json::value &v, const std::string &path, const std::filesystem::path &base_dir) {
    if (!v.is_object()) throw Error(path + ": must be an object");
    const json::object &o = v.get_object();
    ExpertConfig e;
    bool has_name = false, has_provider = false, has_url = false, has_model = false;
    for (const auto &[key, value] : o) {
        const std::string f = path + "." + std::string(key);
        if (key == "name") {
            e.name = internal::string_field(value, f);
            has_name = true;
        } else if (key == "provider") {
            e.provider = provider_kind(internal::string_field(value, f), f);
            has_provider = true;
        } else if (key == "base_url") {
            e.base_url = internal::string_field(value, f);
            while (!e.base_url.empty() && e.base_url.back() == '/') e.base_url.pop_back();
            check_base_url(e.base_url, f);
            has_url = true;
        } else if (key == "model") {
            e.model = internal::string_field(value, f);
            has_model = true;
        } else if (key == "api_key_env") {
            e.api_key_env = internal::string_field(value, f);
        } else if (key == "api_key") {
            throw Error(f +
                        ": keys are never read from a file; put the key in an environment variable and "
                        "name it in api_key_env");
        } else if (key == "system_prompt") {
            e.system_prompt = internal::string_field(value, f);
        } else if (key == "max_tokens") {
            e.max_tokens = static_cast<std::uint32_t>(internal::number_field(value, f, 1, 1e7));
        } else if (key == "temperature") {
            e.temperature = internal::number_field(value, f, 0, 2);
        } else if (key == "weight") {
            e.weight = internal::number_field(value, f, 0, 1);
            if (e.weight == 0) throw Error(f + ": must be > 0");
        } else if (key == "cost_per_1k_input") {
            e.cost_per_1k_input = internal::number_field(value, f, 0, 1e6);
        } else if (key == "cost_per_1k_output") {
            e.cost_per_1k_output = internal::number_field(value, f, 0, 1e6);
        } else if (key == "stream") {
            if (!value.is_bool()) throw Error(f + ": must be true or false");
            e.stream = value.get_bool();
        } else if (key == "connect_timeout_ms") {
            e.connect_timeout_ms = internal::number_field(value, f, 0, 3.6e6);
        } else if (key == "first_byte_timeout_ms") {
            e.first_byte_timeout_ms = internal::number_field(value, f, 0, 3.6e6);
        } else if (key == "idle_timeout_ms") {
            e.idle_timeout_ms = internal::number_field(value, f, 0, 3.6e6);
        } else if (key == "timeout_ms") {
            e.timeout_ms = internal::number_field(value, f, 0, 3.6e6);
        } else if (key == "max_retries") {
            e.max_retries = static_cast<std::uint32_t>(internal::number_field(value, f, 0, 100));
        } else if (key == "backoff_initial_ms") {
            e.backoff_initial_ms = internal::number_field(value, f, 0, 3.6e6);
        } else if (key == "backoff_max_ms") {
            e.backoff_max_ms = internal::number_field(value, f, 0, 3.6e6);
        } else if (key == "max_concurrent") {
            e.max_concurrent = static_cast<std::uint32_t>(internal::number_field(value, f, 1, 100000));
        } else if (key == "requests_per_minute") {
            e.requests_per_minute = internal::number_field(value, f, 0, 1e7);
            if (e.requests_per_minute > 0 && e.requests_per_minute < 1)
                throw Error(f + ": must be 0 (unlimited) or at least 1");
        } else if (key == "max_response_bytes") {
            e.max_response_bytes = static_cast<std::uint64_t>(internal::number_field(value, f, 1, 1e10));
        } else if (key == "ca_file") {
            std::filesystem::path p(internal::string_field(value, f));
            e.ca_file = (p.is_absolute() || base_dir.empty() ? p : base_dir / p).string();
        } else if (key == "anthropic_auth") {
            const std::string a = internal::string_field(value, f);
            if (a == "x-api-key") e.anthropic_auth = AnthropicAuth::x_api_key;
            else if (a == "bearer") e.anthropic_auth = AnthropicAuth::bearer;
            else throw Error(f + ": must be \"x-api-key\" or \"bearer\", got '" + a + "'");
        } else if (key == "anthropic_version") {
            e.anthropic_version = internal::string_field(value, f);
        } else {
            throw Error(f + ": unknown field");
        }
    }
    if (!has_name) throw Error(path + ".name: missing");
    if (e.name.empty()) throw Error(path + ".name: must not be empty");
    if (!has_provider) throw Error(path + ".provider: missing (openai, ollama, anthropic, gemini)");
    if (!has_url) throw Error(path + ".base_url: missing");
    if (!has_model || e.model.empty()) throw Error(path + ".model: missing");
    if (e.backoff_max_ms < e.backoff_initial_ms)
        throw Error(path + ": backoff_max_ms is smaller than backoff_initial_ms");
    if (!e.ca_file.empty() && !std::filesystem::is_regular_file(e.ca_file))
        throw Error(path + ".ca_file: no such file: " + e.ca_file);
    return e;
}

EmbedderConfig read_embedder(const json::value &v, const std::string &path, const std::filesystem::path &base_dir) {
    if (!v.is_object()) throw Error(path + ": must be an object");
    EmbedderConfig e;
    for (const auto &[key, value] : v.get_object()) {
        const std::string f = path + "." + std::string(key);
        if (key == "name") e.name = internal::string_field(value, f);
        else if (key == "provider") {
            e.provider = provider_kind(internal::string_field(value, f), f);
            if (e.provider != ProviderKind::openai && e.provider != ProviderKind::ollama)
                throw Error(f + ": embeddings are spoken by openai and ollama only");
        } else if (key == "base_url") {
            e.base_url = internal::string_field(value, f);
            check_base_url(e.base_url, f);
            while (!e.base_url.empty() && e.base_url.back() == '/') e.base_url.pop_back();
        } else if (key == "model") e.model = internal::string_field(value, f);
        else if (key == "api_key_env") e.api_key_env = internal::string_field(value, f);
        else if (key == "api_key") throw Error(f + ": keys are never read from files; name a variable in api_key_env");
        else if (key == "batch_size")
            e.batch_size = static_cast<std::uint32_t>(internal::number_field(value, f, 1, 4096));
        else if (key == "dimensions")
            e.dimensions = static_cast<std::uint32_t>(internal::number_field(value, f, 0, 65536));
        else if (key == "timeout_ms") e.timeout_ms = internal::number_field(value, f, 1, 3.6e6);
        else if (key == "ca_file") {
            std::filesystem::path p(internal::string_field(value, f));
            e.ca_file = (p.is_absolute() || base_dir.empty() ? p : base_dir / p).string();
        } else throw Error(f + ": unknown field");
    }
    if (e.name.empty()) throw Error(path + ".name: missing");
    if (e.base_url.empty()) throw Error(path + ".base_url: missing");
    if (e.model.empty()) throw Error(path + ".model: missing");
    return e;
}

}  // namespace

ExpertsConfig parse_experts(std::string_view text, const std::string &source, const std::filesystem::path &base_dir) {
    const json::value doc = internal::parse_json(text, source);
    if (!doc.is_object()) throw Error(source + ": the top level must be a JSON object with an \"experts\" array");
    ExpertsConfig cfg;
    bool has_experts = false;
    for (const auto &[key, value] : doc.get_object()) {
        const std::string f = source + ": " + std::string(key);
        if (key == "experts") {
            if (!value.is_array()) throw Error(f + ": must be an array of experts");
            has_experts = true;
            std::set<std::string> names;
            std::size_t i = 0;
            for (const auto &e : value.get_array()) {
                const std::string path = source + ": experts[" + std::to_string(i++) + "]";
                ExpertConfig x = read_expert(e, path, base_dir);
                if (!names.insert(x.name).second) throw Error(path + ".name: '" + x.name + "' is used twice");
                cfg.experts.push_back(std::move(x));
            }
        } else if (key == "expert_breaker") {
            cfg.breaker = internal::read_breaker_config(value, f, cfg.breaker);
        } else if (key == "embedder") {
            cfg.embedder = read_embedder(value, source + ": embedder", base_dir);
        } else if (key == "backend" || key == "plugin_paths" || key == "resilience" || key == "faults") {
            // the engine's part of a shared config file
        } else {
            throw Error(f + ": unknown field (known: experts, expert_breaker, embedder)");
        }
    }
    if (!has_experts) throw Error(source + ": no \"experts\" array");
    return cfg;
}

ExpertsConfig load_experts_file(const std::filesystem::path &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot open file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return parse_experts(buffer.str(), file.string(), file.parent_path());
}

}  // namespace coe
