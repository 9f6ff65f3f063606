// embedder.hpp - embeddings of texts from an OpenAI or Ollama endpoint,
// for programs that analyse recorded panels semantically (`coe analyze
// --embedder NAME`).  A Circle with an embedder in its config embeds its
// answers by itself.
//
// Owns a network thread; embed() may be called from any thread (calls are
// served one at a time).  Vectors are cached by (model, text) in the user's
// cache folder, so analysing the same panels again asks nothing.
// Errors: embed() throws coe::Error naming the embedder and what failed;
// the API key never appears in it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "coe/experts.hpp"
#include "coe/panel.hpp"

namespace coe {

class Embedder {
public:
    explicit Embedder(EmbedderConfig config);
    ~Embedder();
    Embedder(const Embedder &) = delete;
    Embedder &operator=(const Embedder &) = delete;

    const EmbedderConfig &config() const;
    // One vector per text, in order.
    std::vector<std::vector<float>> embed(const std::vector<std::string> &texts);
    // Fills the embedding of every response of `panel` that has none (one
    // request for all of them, in batches).
    void embed_panel(Panel &panel);

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace coe
