// embedding_wire.hpp - the embeddings request and response of OpenAI
// (POST <base>/embeddings) and Ollama (POST <base>/api/embed).  No I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "coe/experts.hpp"
#include "providers/provider.hpp"

namespace coe::consult_detail {

// `api_key` may be empty (no Authorization header); it goes only into a header.
net::HttpRequest embeddings_request(const EmbedderConfig &e, const std::vector<std::string> &texts,
                                    const std::string &api_key);

// One vector per text, in order; throws coe::Error naming what is wrong
// (not JSON, a count or dimension that does not match, a non-finite value).
std::vector<std::vector<float>> parse_embeddings(const EmbedderConfig &e, std::string_view body, std::size_t expected);

}  // namespace coe::consult_detail
