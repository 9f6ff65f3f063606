// libFuzzer: bytes as a panel file -> reader -> analysis -> JSON and text.
// Any input must end in panels or named errors, never a crash or a hang.
// The bytes as one document also go to both panel readers: whatever the
// direct reader takes, the document reader must read to the same panel.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "analysis/panel_reader.hpp"
#include "panel_equality.hpp"

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

void check_direct_reader(std::string_view text) {
    coe::Panel direct;
    if (!coe::detail::read_panel_directly(text, direct)) return;
    try {
        const coe::Panel document = coe::detail::parse_panel_with_document(text, "fuzz");
        if (!coe::test::same_panel(direct, document)) std::abort();
    } catch (const coe::Error &e) {
        // validate() refusing the panel is for both readers alike; invalid JSON taken is a bug
        if (std::string_view(e.what()).find("invalid JSON") != std::string_view::npos) std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    check_direct_reader(text);
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
