#include "embedding_wire.hpp"

#include <cmath>

#include <boost/json.hpp>

#include "coe/error.hpp"

namespace coe::consult_detail {

namespace json = boost::json;

net::HttpRequest embeddings_request(const EmbedderConfig &e, const std::vector<std::string> &texts,
                                    const std::string &api_key) {
    net::HttpRequest r;
    json::array input;
    for (const auto &t : texts) input.emplace_back(t);
    json::object body{{"model", e.model}, {"input", std::move(input)}};
    if (e.provider == ProviderKind::openai) {
        r.url = e.base_url + "/embeddings";
        if (e.dimensions > 0) body["dimensions"] = e.dimensions;
    } else {
        r.url = e.base_url + "/api/embed";
    }
    r.headers.emplace_back("Content-Type", "application/json");
    if (!api_key.empty()) r.headers.emplace_back("Authorization", "Bearer " + api_key);
    r.body = json::serialize(body);
    return r;
}

namespace {

std::vector<float> vector_of(const json::value &v, const std::string &where) {
    if (!v.is_array() || v.as_array().empty()) throw Error(where + ": not an array of numbers");
    std::vector<float> out;
    out.reserve(v.as_array().size());
    for (const auto &x : v.as_array()) {
        if (!x.is_number()) throw Error(where + ": not an array of numbers");
        const double d = x.to_number<double>();
        if (!std::isfinite(d)) throw Error(where + ": a value that is not finite");
        out.push_back(static_cast<float>(d));
    }
    return out;
}

}  // namespace

std::vector<std::vector<float>> parse_embeddings(const EmbedderConfig &e, std::string_view body, std::size_t expected) {
    json::error_code ec;
    const json::value doc = json::parse(body, ec);
    if (ec || !doc.is_object()) throw Error("the response is not a JSON object");
    std::vector<std::vector<float>> out;
    if (e.provider == ProviderKind::openai) {
        const json::value *data = doc.as_object().if_contains("data");
        if (!data || !data->is_array()) throw Error("the response has no \"data\" array");
        out.resize(data->as_array().size());
        for (const auto &item : data->as_array()) {
            const auto *o = item.if_object();
            const json::value *index = o ? o->if_contains("index") : nullptr;
            const json::value *emb = o ? o->if_contains("embedding") : nullptr;
            if (!index || !index->is_number() || !emb) throw Error("data[]: needs \"index\" and \"embedding\"");
            const auto i = index->to_number<std::size_t>();
            if (i >= out.size() || !out[i].empty()) throw Error("data[]: index " + std::to_string(i) + " out of place");
            out[i] = vector_of(*emb, "data[" + std::to_string(i) + "].embedding");
        }
    } else {
        const json::value *list = doc.as_object().if_contains("embeddings");
        if (!list || !list->is_array()) throw Error("the response has no \"embeddings\" array");
        for (const auto &v : list->as_array())
            out.push_back(vector_of(v, "embeddings[" + std::to_string(out.size()) + "]"));
    }
    if (out.size() != expected)
        throw Error(std::to_string(out.size()) + " embeddings for " + std::to_string(expected) + " texts");
    for (const auto &v : out)
        if (v.size() != out.front().size()) throw Error("embeddings of different dimensions in one response");
    return out;
}

}  // namespace coe::consult_detail
