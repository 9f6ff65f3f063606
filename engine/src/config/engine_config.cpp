#include "engine_config.hpp"

#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "coe/error.hpp"
#include "json_document.hpp"

namespace coe::detail {

ConfigFile read_config_file(const std::filesystem::path &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("config " + file.string() + ": cannot open file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string where = "config " + file.string();
    boost::json::value doc = parse_json(buffer.str(), where);
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
        } else {
            throw Error(where + ": unknown field '" + std::string(key) + "' (known: backend, plugin_paths)");
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
