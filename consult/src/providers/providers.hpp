// providers.hpp - the four built-in wire formats (one file each).
#pragma once

#include <memory>

#include "providers/provider.hpp"

namespace coe::net {

std::unique_ptr<Provider> make_openai_provider();
std::unique_ptr<Provider> make_ollama_provider();
std::unique_ptr<Provider> make_anthropic_provider();
std::unique_ptr<Provider> make_gemini_provider();

}  // namespace coe::net
