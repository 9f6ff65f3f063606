// libFuzzer: bytes as an experts/engine config file.  Either it is read or
// a coe::Error names what is wrong; nothing else.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "coe/engine.hpp"
#include "coe/experts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    try {
        (void)coe::parse_experts(text, "fuzz.json");
    } catch (const coe::Error &) {}
    // the engine's reader of the same file
    static const std::string path = "/tmp/coe-fuzz-config-" + std::to_string(::getpid()) + ".json";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    try {
        coe::EngineOptions o;
        o.use_environment = false;
        o.use_default_locations = false;
        o.config_file = path;
        const coe::Engine e(o);
    } catch (const coe::Error &) {}
    return 0;
}
