// wasm_exports.cpp - the C functions the WebAssembly module exports; coe.mjs
// (wasm/js/) wraps them.  Each returns a NUL-terminated UTF-8 string owned
// by the module, valid until the next call of any of them.  Nothing throws
// across: every error becomes {"error": "..."}.
#include <emscripten/emscripten.h>

#include <cstddef>
#include <new>
#include <string>
#include <string_view>

#include "coe/analysis.hpp"
#include "coe/report_format.hpp"
#include "wasm_analyzer.hpp"

namespace {

std::string result;

// The kind named `name` (as `coe analyze --features` takes it), or nullptr
// with `result` set to the CLI's error.
const coe::FeatureKind *features_named(const char *name) {
    static coe::FeatureKind kind;
    const std::string_view n = name != nullptr && *name != '\0' ? name : "auto";
    if (auto k = coe::feature_kind_from_string(n)) {
        kind = *k;
        return &kind;
    }
    result =
        coe::error_json(0, "--features: '" + std::string(n) + "' is not one of auto, tfidf, word_vectors, embedding");
    return nullptr;
}

template <class Run>
const char *guarded(Run &&run) {
    try {
        result = run();
    } catch (const std::bad_alloc &) {
        result = coe::error_json(0, "out of memory");
    } catch (const std::exception &e) {
        result = coe::error_json(0, e.what());
    }
    return result.c_str();
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE const char *coe_wasm_analyze(const char *text, std::size_t length, const char *source,
                                                  const char *features) {
    const coe::FeatureKind *kind = features_named(features);
    if (kind == nullptr) return result.c_str();
    return guarded([&] { return coe::wasm::Analyzer(*kind).analyze(std::string_view(text, length), source); });
}

EMSCRIPTEN_KEEPALIVE const char *coe_wasm_analyze_lines(const char *text, std::size_t length, const char *source,
                                                        const char *features) {
    const coe::FeatureKind *kind = features_named(features);
    if (kind == nullptr) return result.c_str();
    return guarded([&] { return coe::wasm::Analyzer(*kind).analyze_lines(std::string_view(text, length), source); });
}

EMSCRIPTEN_KEEPALIVE const char *coe_wasm_backend() { return coe::wasm::Analyzer::backend(); }

EMSCRIPTEN_KEEPALIVE const char *coe_wasm_version() { return COE_VERSION; }

}  // extern "C"
