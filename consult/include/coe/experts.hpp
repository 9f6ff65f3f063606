// experts.hpp - who the circle consults: experts configured in JSON.
//
//   {"experts": [
//     {"name": "gpt", "provider": "openai", "base_url": "https://api.openai.com/v1",
//      "model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY"},
//     {"name": "local", "provider": "ollama", "base_url": "http://127.0.0.1:11434", "model": "llama3.2"}]}
//
// The API key is never read from the file: `api_key_env` names the
// environment variable that holds it, read when a request is made.  Keys
// never appear in messages, logs or reports; errors name the variable.
// Unknown fields are errors, so a typo never goes unnoticed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coe/resilience.hpp"

namespace coe {

enum class ProviderKind {
    openai,     // OpenAI Chat Completions and every compatible server; base_url includes /v1
    ollama,     // Ollama /api/chat
    anthropic,  // Anthropic Messages /v1/messages
    gemini,     // Google Gemini generateContent / streamGenerateContent
};
const char *to_string(ProviderKind kind);

// How an Anthropic expert sends its key: "x-api-key" (with
// anthropic-version 2023-06-01, the long-standing scheme) or "bearer"
// (Authorization: Bearer, for gateways and newer API versions).
enum class AnthropicAuth { x_api_key, bearer };

struct ExpertConfig {
    std::string name;  // unique; the "expert" of the answer in the panel
    ProviderKind provider = ProviderKind::openai;
    std::string base_url;  // scheme://host[:port][/prefix], no trailing slash
    std::string model;
    std::string api_key_env;    // empty: send no key (e.g. a local server)
    std::string system_prompt;  // empty: the circle's default
    std::uint32_t max_tokens = 1024;
    std::optional<double> temperature;  // provider default when absent
    double weight = 1.0;                // prior confidence in (0, 1]: the answer's confidence in the panel
    double cost_per_1k_input = 0;       // in the user's currency, for the usage report
    double cost_per_1k_output = 0;
    bool stream = true;  // ask for a streamed answer
    // Deadlines of one request, in milliseconds (0: none).
    double connect_timeout_ms = 10000;
    double first_byte_timeout_ms = 60000;  // request sent -> first body byte
    double idle_timeout_ms = 30000;        // longest gap between two body chunks
    double timeout_ms = 120000;            // whole request
    // Retries of one request: connect errors, 408/409/429/5xx/529, honouring
    // retry-after-ms / Retry-After / x-should-retry.  Exponential backoff
    // with full jitter between backoff_initial_ms and backoff_max_ms.
    std::uint32_t max_retries = 2;
    double backoff_initial_ms = 500;
    double backoff_max_ms = 8000;
    // Admission control, shared by every consultation of one Circle.
    std::uint32_t max_concurrent = 4;             // requests in flight at once
    double requests_per_minute = 0;               // 0: unlimited
    std::uint64_t max_response_bytes = 8u << 20;  // a longer body is an error
    std::string ca_file;  // CA file (PEM) used instead of libcurl's default bundle; empty: the default
    AnthropicAuth anthropic_auth = AnthropicAuth::x_api_key;
    std::string anthropic_version = "2023-06-01";
};

// An embedding endpoint: every answer becomes a vector, and the analysis
// compares meanings (dense cosine similarity) instead of words.
struct EmbedderConfig {
    std::string name;
    ProviderKind provider = ProviderKind::openai;  // openai (POST /embeddings) or ollama (POST /api/embed)
    std::string base_url;                          // as for experts: OpenAI's includes /v1
    std::string model;
    std::string api_key_env;        // the key is read from this variable at request time
    std::uint32_t batch_size = 64;  // texts per request
    std::uint32_t dimensions = 0;   // asked of OpenAI models that can shorten; 0: the model's own
    double timeout_ms = 60000;      // per request
    std::string ca_file;
};

struct ExpertsConfig {
    std::vector<ExpertConfig> experts;
    // "embedder" in the file: when present, consultations analyse embeddings.
    std::optional<EmbedderConfig> embedder;
    // Per-expert breaker (the same breaker as the backends'; "breaker" in
    // the file, with the BreakerConfig field names).
    BreakerConfig breaker = default_expert_breaker();
    static BreakerConfig default_expert_breaker();
};

// Parses {"experts": [...], "expert_breaker"?: {...}, "embedder"?: {name,
// provider, base_url, model, api_key_env?, batch_size?, dimensions?,
// timeout_ms?, ca_file?}} (other top-level keys of an
// engine config file are left to the engine).  `source` names the file in
// messages: "<source>: experts[2].timeout_ms: must be a number >= 0".
// Relative ca_file paths are taken relative to `base_dir`.
ExpertsConfig parse_experts(std::string_view json, const std::string &source,
                            const std::filesystem::path &base_dir = {});
// Reads and parses a file; throws coe::Error naming it.
ExpertsConfig load_experts_file(const std::filesystem::path &file);

}  // namespace coe
