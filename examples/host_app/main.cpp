// coe_host_example [CONFIG] - embeds the engine: builds a panel in code,
// analyses it, and prints the consensus and which backend served each stage.
#include <iostream>

#include "coe/engine.hpp"
#include "coe/report_format.hpp"

int main(int argc, char **argv) {
    try {
        coe::EngineOptions options;
        if (argc > 1) options.config_file = argv[1];
        const coe::Engine engine(options);

        coe::Panel panel;
        panel.id = "host-example";
        panel.question = "How should a web service store user passwords?";
        panel.responses = {
            {"ann",
             "Hash passwords with argon2id and a unique random salt per user.",
             0.9,
             std::nullopt,
             std::nullopt,
             {}},
            {"bob",
             "Use argon2id or bcrypt with a per-user random salt; never store plain text.",
             0.8,
             std::nullopt,
             std::nullopt,
             {}},
            {"cat",
             "Store a salted argon2id hash of each password, with a random salt per user.",
             0.7,
             std::nullopt,
             std::nullopt,
             {}},
            {"dan",
             "Move the frontend to a single page application and cache assets on a CDN.",
             0.6,
             std::nullopt,
             std::nullopt,
             {}},
        };
        const coe::Report report = engine.analyze(panel.view());
        std::cout << "active backend: " << report.backend << "\n";
        for (const auto &b : engine.backends())
            if (b.name == report.backend) std::cout << "probe: " << (b.probe.empty() ? "-" : b.probe) << "\n";
        for (const auto &[op, backend] : report.served_by) std::cout << "served_by " << op << " " << backend << "\n";
        std::cout << "consensus: " << coe::to_string(report.consensus.level) << ", confidence " << report.confidence
                  << "\n";
        return 0;
    } catch (const coe::Error &e) {
        std::cerr << "coe_host_example: " << e.what() << "\n";
        return 1;
    }
}
