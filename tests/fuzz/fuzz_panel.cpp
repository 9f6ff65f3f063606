// libFuzzer: bytes as a panel file -> reader -> analysis -> JSON and text.
// Any input must end in panels or named errors, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"

namespace {
coe::EngineOptions scalar_only() {
    coe::EngineOptions o;  // the built-in scalar backend only: no plugin files
    o.use_environment = false;
    o.use_default_locations = false;
    return o;
}

const coe::Engine &engine() {
    static const coe::Engine e(scalar_only());
    return e;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    coe::AnalysisOptions options;
    options.max_experts = 64;  // keeps each run short; limits are part of what is fuzzed
    for (const auto &line : coe::parse_panels(text, "fuzz.jsonl")) {
        const auto *panel = std::get_if<coe::Panel>(&line.panel_or_error);
        if (panel == nullptr) continue;
        try {
            const coe::Report r = engine().analyze(panel->view(), options);
            (void)coe::to_json(r);
            (void)coe::to_text(r);
        } catch (const coe::Error &) {
            // a named error is a valid answer
        }
    }
    return 0;
}
